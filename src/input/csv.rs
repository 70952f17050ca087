//! CSV exports as warehouses write them: any one-byte delimiter, with or without a header
//! row, null markers such as `\N`; each row read with its raw text, so a row that cannot be
//! a record is rejected as written while the rows around it load.

use std::collections::HashSet;
use std::io::{self, BufRead};

use serde_json::value::RawValue;

use super::MAX_LINE_BYTES;

/// Rows read before the first check for columns of unmarked null spellings.
const NULL_CHECK_ROWS: u64 = 1000;
/// Spellings of a missing value that warehouses write; a column mostly made of them, when
/// they are not null markers, is probably missing its `--null`.
const NULL_SPELLINGS: [&str; 3] = ["\\N", "NULL", "null"];

/// How a CSV export is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialect {
    /// The byte between cells.
    pub delimiter: u8,
    /// The column names, for files without a header row (`None`: the first row is the header).
    pub columns: Option<Vec<String>>,
    /// Unquoted cells equal to one of these are blank values (`\N` unless told otherwise).
    pub nulls: Vec<String>,
    /// Postgres and Hive text format: no quoting; a backslash escapes (`\t`, `\n`, `\r`,
    /// `\b`, `\f`, `\v`, `\\`, and the delimiter).
    pub backslash_escapes: bool,
}

impl Default for Dialect {
    fn default() -> Self {
        Self {
            delimiter: b',',
            columns: None,
            nulls: vec!["\\N".into()],
            backslash_escapes: false,
        }
    }
}

/// Reads `--delimiter`: one ASCII character, or `\t` (or `tab`) for a tab.
pub fn parse_delimiter(arg: &str) -> Result<u8, String> {
    match arg {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        _ if arg.len() == 1 && arg.is_ascii() && !matches!(arg, "\"" | "\n" | "\r") => {
            Ok(arg.as_bytes()[0])
        }
        _ => Err(format!(
            "'{arg}' is not one ASCII character (other than a quote or a newline); use e.g. ',', '|', ';' or '\\t'"
        )),
    }
}

/// One row as read: its first line, its raw bytes and its cells.
#[derive(Debug, Default)]
pub struct Row {
    /// The 1-based line of the file it starts on.
    pub line: u64,
    /// The row exactly as written (with the blank lines before it).
    raw: Vec<u8>,
    /// The cells' unquoted bytes, one after the other.
    cells: Vec<u8>,
    /// Where each cell ends in `cells`.
    ends: Vec<usize>,
}

impl Row {
    /// The cells' bytes.
    pub fn cells(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let cell = &self.cells[start..end];
            start = end;
            cell
        })
    }

    /// How many cells it has.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether it has no cell.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The row as written, without its line ending, for the rejected file.
    pub fn raw_text(&self) -> String {
        let mut raw = self.raw.as_slice();
        while let [rest @ .., b'\n' | b'\r'] = raw {
            raw = rest;
        }
        while let [b'\n' | b'\r', rest @ ..] = raw {
            raw = rest;
        }
        String::from_utf8_lossy(raw).into_owned()
    }
}

/// Rows of one CSV file.
pub struct Rows<R> {
    src: R,
    core: csv_core::Reader,
    delimiter: u8,
    /// Whether a cell may be quoted (not in text format).
    quoting: bool,
    /// Lines before the next row.
    lines: u64,
    done: bool,
}

impl<R: BufRead> Rows<R> {
    /// Rows of `src` as `dialect` writes them.
    pub fn new(src: R, dialect: &Dialect) -> Self {
        Self {
            src,
            core: csv_core::ReaderBuilder::new()
                .delimiter(dialect.delimiter)
                .quoting(!dialect.backslash_escapes)
                .build(),
            delimiter: dialect.delimiter,
            quoting: !dialect.backslash_escapes,
            lines: 0,
            done: false,
        }
    }

    /// The next row; `None` at the end of the file. An error is fatal: the file cannot be
    /// read, or a quoted cell is never closed (it would swallow the rest of the file).
    pub fn next_row(&mut self) -> io::Result<Option<Row>> {
        use csv_core::ReadRecordResult as R;
        if self.done {
            return Ok(None);
        }
        let mut row = Row {
            cells: vec![0; 1024],
            ends: vec![0; 32],
            ..Row::default()
        };
        let (mut out, mut ends) = (0, 0);
        loop {
            let input = self.src.fill_buf()?;
            let at_end = input.is_empty();
            let (result, nin, nout, nend) =
                self.core
                    .read_record(input, &mut row.cells[out..], &mut row.ends[ends..]);
            row.raw.extend_from_slice(&input[..nin]);
            self.src.consume(nin);
            out += nout;
            ends += nend;
            if row.raw.len() > MAX_LINE_BYTES {
                let start = self.lines + 1 + leading_newlines(&row.raw);
                return Err(io::Error::other(format!(
                    "line {start}: a row longer than {} MiB, more than any record can use (or a quoted cell that begins on it is never closed); not read further",
                    MAX_LINE_BYTES >> 20
                )));
            }
            match result {
                R::InputEmpty => {}
                R::OutputFull => row.cells.resize(row.cells.len() * 2, 0),
                R::OutputEndsFull => row.ends.resize(row.ends.len() * 2, 0),
                R::Record => {
                    row.cells.truncate(out);
                    row.ends.truncate(ends);
                    let skipped = leading_newlines(&row.raw);
                    row.line = self.lines + 1 + skipped;
                    if at_end
                        && self.quoting
                        && let Some(opened) = open_quote(&row.raw, self.delimiter)
                    {
                        return Err(io::Error::other(format!(
                            "line {}: a quoted cell begins here and is never closed, so it would take in the rest of the file",
                            row.line + opened
                        )));
                    }
                    self.lines += row.raw.iter().filter(|&&b| b == b'\n').count() as u64;
                    return Ok(Some(row));
                }
                R::End => {
                    self.done = true;
                    return Ok(None);
                }
            }
        }
    }
}

/// Lines that end before the row's first byte (blank lines the reader skips).
fn leading_newlines(raw: &[u8]) -> u64 {
    raw.iter()
        .take_while(|b| matches!(b, b'\n' | b'\r'))
        .filter(|&&b| b == b'\n')
        .count() as u64
}

/// Per cell, whether it was quoted; and, when a quote is still open at the end, how many
/// lines into the row the cell holding it began.
fn scan(raw: &[u8], delimiter: u8) -> (Vec<bool>, Option<u64>) {
    #[derive(PartialEq)]
    enum At {
        Start,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let start = raw
        .iter()
        .take_while(|b| matches!(b, b'\n' | b'\r'))
        .count();
    let mut quoted = Vec::new();
    let mut at = At::Start;
    let (mut line, mut opened) = (0, 0);
    for &b in &raw[start..] {
        let newline = matches!(b, b'\n' | b'\r');
        at = match at {
            At::Start if b == b'"' => {
                quoted.push(true);
                opened = line;
                At::Quoted
            }
            At::Start if b == delimiter => {
                quoted.push(false);
                At::Start
            }
            At::Start if newline => break,
            At::Start => {
                quoted.push(false);
                At::Unquoted
            }
            At::Unquoted | At::QuoteInQuoted if b == delimiter => At::Start,
            At::Unquoted | At::QuoteInQuoted if newline => break,
            At::Unquoted => At::Unquoted,
            At::Quoted if b == b'"' => At::QuoteInQuoted,
            At::Quoted => At::Quoted,
            At::QuoteInQuoted if b == b'"' => At::Quoted,
            At::QuoteInQuoted => At::Unquoted,
        };
        if b == b'\n' {
            line += 1;
        }
    }
    let open = (at == At::Quoted).then_some(opened);
    (quoted, open)
}

fn open_quote(raw: &[u8], delimiter: u8) -> Option<u64> {
    scan(raw, delimiter).1
}

/// Turns the rows of an export into records: a header (read or given), null markers, and
/// what makes a row unreadable.
#[derive(Debug)]
pub struct Records {
    /// Column names, each as JSON text (escaped once).
    names: Vec<String>,
    /// Where the names come from, for messages.
    source: &'static str,
    nulls: Vec<String>,
    delimiter: u8,
    backslash_escapes: bool,
    /// Whether a tab-delimited cell with a backslash escape was warned about.
    escapes_warned: bool,
    /// Cells per column spelled like a null without being a null marker.
    null_like: Vec<u64>,
    rows: u64,
    warned: HashSet<String>,
}

impl Records {
    /// Records keyed by `names` (the header row, or `--columns`).
    /// `warned`: the columns already warned about (by an earlier file of the input).
    pub fn new(
        names: &[String],
        from_header: bool,
        dialect: &Dialect,
        warned: HashSet<String>,
    ) -> Self {
        Self {
            names: names
                .iter()
                .map(|n| Value::from(n.as_str()).to_string())
                .collect(),
            source: if from_header {
                "the header"
            } else {
                "--columns"
            },
            nulls: dialect.nulls.clone(),
            delimiter: dialect.delimiter,
            backslash_escapes: dialect.backslash_escapes,
            escapes_warned: false,
            null_like: vec![0; names.len()],
            rows: 0,
            warned,
        }
    }

    /// The record `row` is, as JSON; or why it cannot be one.
    pub fn record(&mut self, row: &Row) -> Result<Box<RawValue>, String> {
        if row.len() != self.names.len() {
            return Err(format!(
                "the row has {} cell(s) but {} names {} column(s)",
                row.len(),
                self.source,
                self.names.len()
            ));
        }
        let mut quoted: Option<Vec<bool>> = None;
        let mut json = String::with_capacity(row.cells.len() + 16 * self.names.len());
        json.push('{');
        for (i, (name, cell)) in self.names.iter().zip(row.cells()).enumerate() {
            let Ok(cell) = std::str::from_utf8(cell) else {
                return Err(format!(
                    "cell {} (column {name}) is not valid UTF-8: convert the file to UTF-8 (e.g. with iconv)",
                    i + 1
                ));
            };
            if i > 0 {
                json.push(',');
            }
            json.push_str(name);
            json.push(':');
            let marker = self.nulls.iter().any(|n| n == cell)
                && (self.backslash_escapes
                    || !quoted
                        .get_or_insert_with(|| scan(&row.raw, self.delimiter).0)
                        .get(i)
                        .copied()
                        .unwrap_or(false));
            if marker {
                json.push_str("null");
                continue;
            }
            if NULL_SPELLINGS.contains(&cell) {
                self.null_like[i] += 1;
            }
            if !self.backslash_escapes
                && !self.escapes_warned
                && self.delimiter == b'\t'
                && ["\\t", "\\n", "\\\\"].iter().any(|e| cell.contains(e))
            {
                self.escapes_warned = true;
                tracing::warn!(
                    "line {}, column {name}: a cell holds a backslash escape (\\t, \\n or \\\\) and is loaded as written; if the file is in Postgres's or Hive's text format (COPY … TO without CSV), pass --backslash-escapes",
                    row.line
                );
            }
            if self.backslash_escapes && cell.contains('\\') {
                super::push_json_string(&mut json, &unescape(cell, self.delimiter));
            } else {
                super::push_json_string(&mut json, cell);
            }
        }
        json.push('}');
        self.rows += 1;
        if self.rows == NULL_CHECK_ROWS {
            self.warn_null_like();
        }
        RawValue::from_string(json).map_err(|e| format!("cannot be written as JSON: {e}"))
    }

    /// The file is over: warns about its columns, and gives the columns warned about.
    pub fn finish(mut self) -> HashSet<String> {
        self.warn_null_like();
        self.warned
    }

    /// Warns, once per column, when most of a column's cells spell a null that is not a
    /// null marker (they are loaded as text).
    fn warn_null_like(&mut self) {
        for (name, &n) in self.names.iter().zip(&self.null_like) {
            if self.rows > 0 && n * 2 > self.rows && self.warned.insert(name.clone()) {
                tracing::warn!(
                    "column {name}: {n} of {} cells read so far are written \\N, NULL or null and are loaded as that text; if they mark missing values, pass --null with that spelling (e.g. --null NULL)",
                    self.rows
                );
            }
        }
    }
}

use serde_json::Value;

/// A text-format cell with its backslash escapes read (`\t` → a tab, `\\` → a backslash; a
/// backslash before any other character stands for that character, as Postgres reads it).
fn unescape(cell: &str, delimiter: u8) -> String {
    let mut out = String::with_capacity(cell.len());
    let mut chars = cell.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('v') => out.push('\u{b}'),
            Some(other) => out.push(other),
            // A lone backslash at the end (the delimiter it escaped ends the cell in csv-core).
            None => out.push(delimiter as char),
        }
    }
    out
}

/// A hint when a header does not look like one: a single column cut at another delimiter,
/// or names that look like data (an email, a number), as a file without a header row gives.
pub fn delimiter_hint(header: &[String], delimiter: u8) -> Option<String> {
    let data = header.iter().find(|h| {
        h.contains('@') || (!h.is_empty() && h.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
    });
    if let Some(cell) = data
        && !matches!(header, [_])
    {
        return Some(format!(
            "the header row holds `{}`, which looks like data: if the file has no header row, name its columns with --columns",
            crate::mapping::brief(cell)
        ));
    }
    let [only] = header else { return None };
    let other = [b';', b'|', b'\t', b',']
        .into_iter()
        .find(|&d| d != delimiter && only.as_bytes().contains(&d))?;
    let shown = if other == b'\t' {
        "\\t".to_string()
    } else {
        (other as char).to_string()
    };
    Some(format!(
        "the header has one column `{}`: is the delimiter `{shown}`? (pass --delimiter '{shown}')",
        crate::mapping::brief(only)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str, delimiter: u8) -> io::Result<Vec<Row>> {
        let dialect = Dialect {
            delimiter,
            ..Dialect::default()
        };
        let mut r = Rows::new(text.as_bytes(), &dialect);
        let mut out = Vec::new();
        while let Some(row) = r.next_row()? {
            out.push(row);
        }
        Ok(out)
    }

    fn cells(row: &Row) -> Vec<String> {
        row.cells()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect()
    }

    #[test]
    fn rows_keep_their_first_line_and_raw_text() {
        let rows = rows("a|b\n\n\"x\ny\"|2\r\n3|4", b'|').unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            (rows[1].line, cells(&rows[1])),
            (3, vec!["x\ny".into(), "2".into()])
        );
        assert_eq!(rows[1].raw_text(), "\"x\ny\"|2");
        assert_eq!((rows[2].line, rows[2].raw_text()), (5, "3|4".into()));
    }

    #[test]
    fn a_quote_never_closed_is_fatal_naming_where_it_began() {
        let e = rows("a,b\n1,2\n3,\"four\n5,6\n", b',').unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 3: a quoted cell begins here and is never closed, so it would take in the rest of the file"
        );
    }

    #[test]
    fn null_markers_apply_to_unquoted_cells_only() {
        let rows = rows("\\N,\"\\N\",x\n", b',').unwrap();
        let names = ["a".to_string(), "b".to_string(), "c".to_string()];
        let mut records = Records::new(&names, false, &Dialect::default(), HashSet::new());
        let record = records.record(&rows[0]).unwrap();
        assert_eq!(record.get(), r#"{"a":null,"b":"\\N","c":"x"}"#);
    }

    #[test]
    fn a_ragged_row_or_bad_utf8_is_refused_with_the_reason() {
        let names = ["a".to_string(), "b".to_string()];
        let dialect = Dialect {
            nulls: Vec::new(),
            ..Dialect::default()
        };
        let mut records = Records::new(&names, true, &dialect, HashSet::new());
        let rows = rows("1,2,3\n", b',').unwrap();
        assert_eq!(
            records.record(&rows[0]).unwrap_err(),
            "the row has 3 cell(s) but the header names 2 column(s)"
        );
        let mut r = Rows::new(&b"\xff,1\n"[..], &Dialect::default());
        let row = r.next_row().unwrap().unwrap();
        assert!(
            records
                .record(&row)
                .unwrap_err()
                .contains("not valid UTF-8")
        );
    }

    #[test]
    fn text_format_cells_are_unescaped_and_never_quoted() {
        let dialect = Dialect {
            delimiter: b'\t',
            backslash_escapes: true,
            ..Dialect::default()
        };
        let text =
            "a@x.io\tTab\\there \"q\", back\\\\slash\t\\N\nb@x.io\tmulti\\nline\t\"\\\\N\"\n";
        let mut r = Rows::new(text.as_bytes(), &dialect);
        let names = ["email".to_string(), "name".to_string(), "city".to_string()];
        let mut records = Records::new(&names, false, &dialect, HashSet::new());
        let first = records.record(&r.next_row().unwrap().unwrap()).unwrap();
        assert_eq!(
            first.get(),
            r#"{"email":"a@x.io","name":"Tab\there \"q\", back\\slash","city":null}"#
        );
        let second = records.record(&r.next_row().unwrap().unwrap()).unwrap();
        assert_eq!(
            second.get(),
            r#"{"email":"b@x.io","name":"multi\nline","city":"\"\\N\""}"#
        );
    }

    #[test]
    fn delimiters_are_read_and_a_wrong_one_is_hinted() {
        assert_eq!(parse_delimiter("\\t"), Ok(b'\t'));
        assert_eq!(parse_delimiter("|"), Ok(b'|'));
        assert!(parse_delimiter("ab").is_err());
        let hint = delimiter_hint(&["email;first_name".to_string()], b',').unwrap();
        assert!(hint.contains("`;`"), "{hint}");
        assert_eq!(delimiter_hint(&["email".to_string()], b','), None);
        let headerless = delimiter_hint(&["a@example.com".to_string(), "Ann".to_string()], b',');
        assert!(headerless.unwrap().contains("--columns"));
    }
}

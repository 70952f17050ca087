//! Where lines come from: a Singer stream, or a warehouse export (JSONL, CSV or Parquet;
//! one file, a folder of parts, a glob or stdin; compressed or not) turned into one — a
//! SCHEMA, then a RECORD per row — so reverse-ETL needs no tap.

pub mod compression;
pub mod csv;
pub mod files;
pub mod parquet;

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{BufRead, Read};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::ValueEnum;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::mapping::published::{Premapped, Published};
use crate::model::Line;
use crate::model::line::FileName;
use crate::singer::{InputError, Message, parse_line};
pub use files::{InputFile, Inputs};

/// The most lines handed to the main loop at once.
const CHUNK_LINES: usize = 1024;
/// The most bytes of lines in one chunk: with [`BUFFERED_CHUNKS`], what the reader holds
/// ahead of the loop is bounded in bytes too, whatever the lines' lengths.
const CHUNK_BYTES: usize = 4 << 20;
/// The longest line read (Singer and JSONL). A record is at most a few hundred properties of
/// 65,536 characters; a longer line is refused rather than held whole in memory.
pub const MAX_LINE_BYTES: usize = 64 << 20;
/// Chunks buffered between the reader and the main loop.
const BUFFERED_CHUNKS: usize = 8;

/// The shape of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// Singer messages, one JSON object per line.
    Singer,
    /// One JSON object per line, each a record of `--stream`.
    Jsonl,
    /// CSV (a header row, or `--columns`); each row a record of `--stream` (cells are
    /// strings; an empty cell or a `--null` marker is a blank value, as `blank_values` says).
    Csv,
    /// Parquet; each row a record of `--stream`, its typed values written exactly.
    Parquet,
}

/// How an export's rows become records of one stream.
#[derive(Debug, Clone, Default)]
pub struct Export {
    /// The stream its rows belong to.
    pub stream: String,
    /// The SCHEMA's `key_properties`.
    pub key_properties: Vec<String>,
    /// How a CSV export is written.
    pub dialect: csv::Dialect,
}

/// One line of input, parsed.
#[derive(Debug)]
pub struct Parsed {
    /// Where it was read.
    pub line: Line,
    /// Its message (`None` for a blank line), or why it is not a Singer message.
    pub message: Result<Option<Message<'static>>, InputError>,
    /// A RECORD mapped as it was parsed, when its stream's mapping was published by then.
    pub premapped: Option<Premapped>,
}

/// Consecutive lines of input, or the error that ends it.
pub type Chunk = std::io::Result<Vec<Parsed>>;

/// Parsed lines of input in chunks; an `Err` ends the input.
#[derive(Debug)]
pub struct Lines {
    rx: mpsc::Receiver<JoinHandle<Chunk>>,
    /// The chunk being mapped that comes next, once received.
    next: Option<JoinHandle<Chunk>>,
    published: Arc<Published>,
}

impl Lines {
    /// The next chunk, in input order; `None` once the input is over. Cancel-safe: a chunk
    /// whose mapping is awaited stays next.
    pub async fn recv(&mut self) -> Option<Chunk> {
        if self.next.is_none() {
            self.next = Some(self.rx.recv().await?);
        }
        let job = self.next.as_mut()?;
        let chunk = job
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(format!("mapping input failed: {e}"))));
        self.next = None;
        Some(chunk)
    }

    /// Where the main loop publishes stream mappings for records to be mapped as they are
    /// parsed.
    pub fn published(&self) -> Arc<Published> {
        self.published.clone()
    }
}

/// Lines read and parsed but not yet handed over, and the channel they go to.
struct Outbox {
    /// Chunks being mapped, in input order.
    tx: mpsc::Sender<JoinHandle<Chunk>>,
    published: Arc<Published>,
    pending: Vec<Parsed>,
    /// Bytes of the lines in `pending`.
    pending_bytes: usize,
    closed: bool,
}

impl Outbox {
    /// Parses and queues a Singer line; false once the main loop has stopped listening.
    fn push(&mut self, line: Line, text: &str) -> bool {
        let message = parse_line(line.number, text)
            .map(|m| m.map(Message::into_owned))
            .map_err(|e| InputError {
                line: line.clone(),
                reason: e.reason,
            });
        self.queue(line, message, text.len())
    }

    /// Queues a message an export's row became (`bytes`: its size, for the chunk bound).
    fn queue(
        &mut self,
        line: Line,
        message: Result<Option<Message<'static>>, InputError>,
        bytes: usize,
    ) -> bool {
        self.pending_bytes += bytes;
        self.pending.push(Parsed {
            line,
            message,
            premapped: None,
        });
        if self.pending.len() >= CHUNK_LINES || self.pending_bytes >= CHUNK_BYTES {
            self.flush();
        }
        !self.closed
    }

    /// Hands over the queued lines, their records mapped on a blocking thread of their own
    /// with the mappings published by then (chunks are mapped side by side, and received in
    /// order).
    fn flush(&mut self) {
        if !self.pending.is_empty() && !self.closed {
            self.pending_bytes = 0;
            let mut chunk = std::mem::take(&mut self.pending);
            let mappings = self.published.snapshot();
            let job = tokio::task::spawn_blocking(move || {
                for line in &mut chunk {
                    if let Ok(Some(Message::Record { stream, record, .. })) = &line.message {
                        line.premapped = mappings.premap(stream, record);
                    }
                }
                Ok(chunk)
            });
            self.closed = self.tx.blocking_send(job).is_err();
        }
    }

    /// Hands over the queued lines, then the error that ends the input.
    fn fail(&mut self, e: std::io::Error) {
        self.flush();
        if !self.closed {
            let job = tokio::task::spawn_blocking(move || Err(e));
            self.closed = self.tx.blocking_send(job).is_err();
        }
    }
}

/// The input's source, which hands over the lines parsed so far before every read, since a
/// read may block (a tap that is slow to write): lines never wait for the next ones.
/// Counts the bytes read (compressed, as stored), for progress.
struct Source {
    inner: Box<dyn Read + Send>,
    outbox: Rc<RefCell<Outbox>>,
    bytes_read: Arc<AtomicU64>,
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut outbox = self.outbox.borrow_mut();
        outbox.flush();
        if outbox.closed {
            return Ok(0);
        }
        drop(outbox);
        let n = self.inner.read(buf)?;
        self.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Starts reading `inputs` and parsing them on a thread of their own.
///
/// For an export the first message is a synthesised SCHEMA for `export.stream` (with its
/// `key_properties`; typed from the first file's schema for Parquet), numbered line 0, so
/// every row keeps its own line number in its file (a CSV header being line 1).
/// `bytes_read` counts the input's bytes as they are read (for progress).
pub fn spawn(
    format: InputFormat,
    inputs: Inputs,
    export: Export,
    bytes_read: Arc<AtomicU64>,
) -> Lines {
    let (tx, rx) = mpsc::channel(BUFFERED_CHUNKS);
    let published = Arc::new(Published::default());
    let shared = published.clone();
    tokio::task::spawn_blocking(move || {
        let outbox = Rc::new(RefCell::new(Outbox {
            tx,
            published: shared,
            pending: Vec::new(),
            pending_bytes: 0,
            closed: false,
        }));
        let reader = Reader {
            outbox: outbox.clone(),
            bytes_read,
            export,
        };
        // A reader that panics (a damaged file a decoder chokes on) must end the input with
        // an error, never look like its end.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            reader.read_all(format, inputs)
        }))
        .unwrap_or_else(|panic| {
            let why = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("a reader failed");
            Err(std::io::Error::other(format!(
                "the input cannot be read: {why}"
            )))
        });
        let mut outbox = outbox.borrow_mut();
        match result {
            Ok(()) => outbox.flush(),
            Err(e) => outbox.fail(e),
        }
    });
    Lines {
        rx,
        next: None,
        published,
    }
}

/// Reads the input's files in order into the outbox.
struct Reader {
    outbox: Rc<RefCell<Outbox>>,
    bytes_read: Arc<AtomicU64>,
    export: Export,
}

/// `e` naming the file it came from (`data_0.csv.gz line 3: …`).
fn in_file(name: Option<&Arc<FileName>>, e: std::io::Error) -> std::io::Error {
    match name {
        None => e,
        Some(f) => {
            let message = e.to_string();
            let joined = if message.starts_with("line ") {
                format!("{} {message}", f.name)
            } else {
                format!("{}: {message}", f.name)
            };
            std::io::Error::new(e.kind(), joined)
        }
    }
}

impl Reader {
    fn push(&self, line: Line, text: &str) -> bool {
        self.outbox.borrow_mut().push(line, text)
    }

    fn queue(&self, line: Line, message: Message<'static>, bytes: usize) -> bool {
        self.outbox
            .borrow_mut()
            .queue(line, Ok(Some(message)), bytes)
    }

    fn schema(&self, schema: Value) -> bool {
        let message = Message::Schema {
            stream: self.export.stream.clone(),
            schema,
            key_properties: self.export.key_properties.clone(),
        };
        self.queue(Line::new(0), message, 0)
    }

    fn unreadable(&self, line: Line, raw: String, reason: String) -> bool {
        let bytes = raw.len();
        let message = Message::Unreadable {
            stream: self.export.stream.clone(),
            raw,
            reason,
        };
        self.queue(line, message, bytes)
    }

    fn record(&self, line: Line, record: Box<RawValue>) -> bool {
        let bytes = record.get().len();
        let message = Message::Record {
            stream: Cow::Owned(self.export.stream.clone()),
            record,
            replayed: false,
        };
        self.queue(line, message, bytes)
    }

    fn read_all(&self, format: InputFormat, inputs: Inputs) -> std::io::Result<()> {
        let files = match inputs {
            Inputs::Stdin => vec![None],
            Inputs::Files(files) => files.into_iter().map(Some).collect(),
        };
        if !matches!(format, InputFormat::Singer | InputFormat::Parquet)
            && !self.schema(json!({"type": "object", "properties": {}}))
        {
            return Ok(());
        }
        let mut warned = std::collections::HashSet::new();
        for (i, file) in files.iter().enumerate() {
            let name = file.as_ref().and_then(|f| f.name.as_ref());
            let more = match format {
                InputFormat::Parquet => self.parquet(file.as_ref(), i == 0),
                _ => {
                    let text = self.open_text(file.as_ref())?;
                    match format {
                        InputFormat::Singer => self.singer(text, name),
                        InputFormat::Jsonl => self.jsonl(text, name),
                        _ => self.csv(text, name, &mut warned),
                    }
                }
            };
            if !more.map_err(|e| in_file(name, e))? {
                break;
            }
        }
        Ok(())
    }

    /// A text file (or stdin), decompressed, without a UTF-8 byte-order mark.
    fn open_text(&self, file: Option<&InputFile>) -> std::io::Result<Box<dyn BufRead>> {
        let name = file.and_then(|f| f.name.as_ref());
        let raw: Box<dyn Read + Send> = match file {
            Some(f) => Box::new(std::fs::File::open(&f.path).map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot open {}: {e}", f.path.display()))
            })?),
            None => Box::new(std::io::stdin()),
        };
        let source = Source {
            inner: raw,
            outbox: self.outbox.clone(),
            bytes_read: self.bytes_read.clone(),
        };
        text(Box::new(source)).map_err(|e| in_file(name, e))
    }

    /// Each line as written.
    fn singer(
        &self,
        text: Box<dyn BufRead>,
        name: Option<&Arc<FileName>>,
    ) -> std::io::Result<bool> {
        for (i, line) in bounded_lines(text).enumerate() {
            let number = i as u64 + 1;
            let line = at_line(number, line)?;
            let line = String::from_utf8(line).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("line {number}: not valid UTF-8"),
                )
            })?;
            if !self.push(Line::of(number, name), &line) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Each JSONL line, kept as written, becomes a RECORD's `record`; a line that is not JSON
    /// is rejected by itself.
    fn jsonl(&self, text: Box<dyn BufRead>, name: Option<&Arc<FileName>>) -> std::io::Result<bool> {
        for (i, line) in bounded_lines(text).enumerate() {
            let number = i as u64 + 1;
            let line = at_line(number, line)?;
            let at = Line::of(number, name);
            let more = match String::from_utf8(line) {
                Err(e) => self.unreadable(
                    at,
                    String::from_utf8_lossy(e.as_bytes()).into_owned(),
                    "not valid UTF-8: convert the file to UTF-8 (e.g. with iconv)".into(),
                ),
                Ok(line) if line.trim().is_empty() => true,
                Ok(line) => match serde_json::from_str::<Box<RawValue>>(line.trim()) {
                    Ok(record) => self.record(at, record),
                    Err(e) => {
                        let reason = format!("not JSON {}", crate::singer::json_error(&e));
                        self.unreadable(at, line, reason)
                    }
                },
            };
            if !more {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Each CSV row becomes a record keyed by the header (or `--columns`), every cell a
    /// string (empty cells included, so `blank_values` treats them as it treats `null` and
    /// `""` elsewhere) or, for a null marker, `null`.
    fn csv(
        &self,
        text: Box<dyn BufRead>,
        name: Option<&Arc<FileName>>,
        warned: &mut std::collections::HashSet<String>,
    ) -> std::io::Result<bool> {
        let dialect = &self.export.dialect;
        let mut rows = csv::Rows::new(text, dialect);
        let (names, from_header) = match &dialect.columns {
            Some(columns) => (columns.clone(), false),
            None => match rows.next_row()? {
                None => return Ok(true),
                Some(header) => (header_names(&header)?, true),
            },
        };
        if from_header && let Some(hint) = csv::delimiter_hint(&names, dialect.delimiter) {
            tracing::warn!(
                "{}{hint}",
                name.map(|f| format!("{}: ", f.name)).unwrap_or_default()
            );
        }
        let mut records = csv::Records::new(&names, from_header, dialect, std::mem::take(warned));
        while let Some(row) = rows.next_row()? {
            let at = Line::of(row.line, name);
            let more = match records.record(&row) {
                Ok(record) => self.record(at, record),
                Err(reason) => self.unreadable(at, row.raw_text(), reason),
            };
            if !more {
                return Ok(false);
            }
        }
        *warned = records.finish();
        Ok(true)
    }

    /// Each row of a Parquet file (stdin is first copied to a temporary file: Parquet's
    /// index is at its end) becomes a record; the first file's schema types the SCHEMA.
    fn parquet(&self, file: Option<&InputFile>, first: bool) -> std::io::Result<bool> {
        let name = file.and_then(|f| f.name.clone()).unwrap_or_else(|| {
            Arc::new(FileName {
                name: "stdin".into(),
                rows: true,
            })
        });
        let opened = match file {
            Some(f) => std::fs::File::open(&f.path).map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot open {}: {e}", f.path.display()))
            })?,
            None => {
                let mut spool = tempfile::tempfile()?;
                let n = std::io::copy(&mut std::io::stdin().lock(), &mut spool)?;
                self.bytes_read.fetch_add(n, Ordering::Relaxed);
                spool
            }
        };
        let mut head = [0; 10];
        let n = std::io::Read::read(&mut &opened, &mut head).unwrap_or(0);
        let kind = compression::Kind::of(&head[..n]);
        std::io::Seek::rewind(&mut &opened)?;
        let parquet = parquet::ParquetFile::open(opened).map_err(|e| {
            let hint = match kind {
                compression::Kind::Parquet => String::new(),
                compression::Kind::Plain => " (it starts like text: is it CSV or JSONL?)".into(),
                other => format!(" (it is {}-compressed: Parquet files are read as written, their pages compressed inside)", other.name()),
            };
            std::io::Error::other(format!("{}: {e}{hint}", name.name))
        })?;
        if first && !self.schema(parquet.schema()) {
            return Ok(false);
        }
        let mut row = 0;
        for group in 0..parquet.row_groups() {
            let more = parquet
                .rows(group, &mut |record| {
                    row += 1;
                    let at = Line::of(row, Some(&name));
                    match record {
                        Ok(record) => self.record(at, record),
                        Err((reason, raw)) => self.unreadable(at, raw, reason),
                    }
                })
                .map_err(|e| {
                    std::io::Error::other(format!("{} row {}: {e}", name.name, row + 1))
                })?;
            if file.is_some() {
                self.bytes_read
                    .fetch_add(parquet.row_group_bytes(group), Ordering::Relaxed);
            }
            self.outbox.borrow_mut().flush();
            if !more {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Appends `s` as a JSON string; text that needs no escaping (most cells) is copied as is.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&Value::from(s).to_string());
    }
}

/// `raw` decompressed, without a UTF-8 byte-order mark.
fn text(raw: Box<dyn Read>) -> std::io::Result<Box<dyn BufRead>> {
    let (_, text) = compression::open(raw, true)?;
    let mut text = std::io::BufReader::with_capacity(1 << 16, text);
    if text.fill_buf()?.starts_with(b"\xef\xbb\xbf") {
        text.consume(3);
    }
    Ok(Box::new(text))
}

fn open_file(file: Option<&InputFile>) -> std::io::Result<Box<dyn Read>> {
    Ok(match file {
        Some(f) => Box::new(std::fs::File::open(&f.path).map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot open {}: {e}", f.path.display()))
        })?),
        None => Box::new(std::io::stdin()),
    })
}

/// The columns of each stream an input shows, with their JSON schemas where known.
pub type Columns = std::collections::BTreeMap<String, Vec<(String, Option<Value>)>>;

/// What an input shows of its columns, for `--check`: the SCHEMA messages of Singer input,
/// a CSV header (or `--columns`), the first JSONL record's fields, or a Parquet schema (the
/// last three as `export.stream`, from the first file); and a hint when a CSV header looks
/// cut at the wrong delimiter.
pub fn columns(
    format: InputFormat,
    inputs: &Inputs,
    export: &Export,
) -> std::io::Result<(Columns, Option<String>)> {
    let files: Vec<Option<&InputFile>> = match inputs {
        Inputs::Stdin => vec![None],
        Inputs::Files(files) => files.iter().map(Some).collect(),
    };
    let stream = export.stream.clone();
    let mut found = Columns::new();
    let untyped = |names: Vec<String>| names.into_iter().map(|n| (n, None)).collect::<Vec<_>>();
    for file in files {
        let name = file.and_then(|f| f.name.as_ref());
        let open = || open_file(file).and_then(text).map_err(|e| in_file(name, e));
        match format {
            InputFormat::Singer => {
                for (i, line) in bounded_lines(open()?).enumerate() {
                    let line = at_line(i as u64 + 1, line).map_err(|e| in_file(name, e))?;
                    let line = String::from_utf8_lossy(&line);
                    if let Ok(Some(Message::Schema { stream, schema, .. })) =
                        parse_line(i as u64 + 1, &line)
                    {
                        found.entry(stream).or_insert_with(|| {
                            schema["properties"]
                                .as_object()
                                .map(|p| {
                                    p.iter()
                                        .map(|(k, v)| (k.clone(), Some(v.clone())))
                                        .collect()
                                })
                                .unwrap_or_default()
                        });
                    }
                }
                continue;
            }
            InputFormat::Csv => {
                let dialect = &export.dialect;
                let names = match &dialect.columns {
                    Some(columns) => columns.clone(),
                    None => match csv::Rows::new(open()?, dialect)
                        .next_row()
                        .map_err(|e| in_file(name, e))?
                    {
                        Some(header) => header_names(&header).map_err(|e| in_file(name, e))?,
                        None => continue,
                    },
                };
                let hint = dialect
                    .columns
                    .is_none()
                    .then(|| csv::delimiter_hint(&names, dialect.delimiter))
                    .flatten();
                found.insert(stream, untyped(names));
                return Ok((found, hint));
            }
            InputFormat::Jsonl => {
                for line in bounded_lines(open()?) {
                    let line = line.map_err(|e| in_file(name, e))?;
                    if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(&line) {
                        found.insert(stream, m.keys().map(|k| (k.clone(), None)).collect());
                        return Ok((found, None));
                    }
                }
            }
            InputFormat::Parquet => {
                let path = file.map(|f| f.path.as_path()).ok_or_else(|| {
                    std::io::Error::other(
                        "--check reads a Parquet input's schema from a file, not stdin",
                    )
                })?;
                let opened = std::fs::File::open(path)?;
                let parquet = parquet::ParquetFile::open(opened)
                    .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
                let schema = parquet.schema();
                let typed = schema["properties"]
                    .as_object()
                    .map(|p| {
                        p.iter()
                            .map(|(k, v)| (k.clone(), Some(v.clone())))
                            .collect()
                    })
                    .unwrap_or_default();
                found.insert(stream, typed);
                return Ok((found, None));
            }
        }
    }
    Ok((found, None))
}

/// The header row's names; fatal when it is not UTF-8 or names a column twice (which of
/// two columns a property should take cannot be guessed).
fn header_names(header: &csv::Row) -> std::io::Result<Vec<String>> {
    let mut names = Vec::with_capacity(header.len());
    let mut seen = std::collections::HashSet::new();
    for cell in header.cells() {
        let name = std::str::from_utf8(cell).map_err(|_| {
            std::io::Error::other(format!(
                "line {}: the header is not valid UTF-8; convert the file to UTF-8 (e.g. with iconv)",
                header.line
            ))
        })?;
        if !seen.insert(name) {
            return Err(std::io::Error::other(format!(
                "line {}: the header names column '{}' twice; rename one",
                header.line,
                crate::mapping::brief(name)
            )));
        }
        names.push(name.to_string());
    }
    Ok(names)
}

/// The lines of `text`, each at most [`MAX_LINE_BYTES`] long (a longer one is an error
/// naming it, read no further than the limit).
fn bounded_lines(mut text: Box<dyn BufRead>) -> impl Iterator<Item = std::io::Result<Vec<u8>>> {
    std::iter::from_fn(move || {
        let mut buf = Vec::new();
        let limit = MAX_LINE_BYTES as u64 + 1;
        match (&mut text).take(limit).read_until(b'\n', &mut buf) {
            Ok(0) => None,
            Ok(n) if n as u64 == limit && buf.last() != Some(&b'\n') => {
                Some(Err(std::io::Error::other(format!(
                    "longer than {} MiB, more than any record can use; not read",
                    MAX_LINE_BYTES >> 20
                ))))
            }
            Ok(_) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                    if buf.last() == Some(&b'\r') {
                        buf.pop();
                    }
                }
                Some(Ok(buf))
            }
            Err(e) => Some(Err(e)),
        }
    })
}

/// A line as read, or the read's error naming the line (a device error, a damaged archive).
fn at_line(number: u64, line: std::io::Result<Vec<u8>>) -> std::io::Result<Vec<u8>> {
    line.map_err(|e| std::io::Error::new(e.kind(), format!("line {number}: {e}")))
}

//! Import files: a batch's inputs as CSV rows, with the `importRequest` that maps each column
//! to its property and says how rows are matched (`HUBSPOT_ALTERNATE_ID` on a unique value,
//! `HUBSPOT_OBJECT_ID` on a record id) and what they may do (`importOperations`).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::hubspot::http::Upload;
use crate::pipeline::batch::Input;

/// How rows find their records, and what they may do to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowKey {
    /// By a unique value of this property (`email`, a unique custom property).
    Unique(String),
    /// By HubSpot's record id.
    RecordId,
    /// No key: every row creates a record.
    None,
}

/// What one file's rows are and how HubSpot reads them.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The object type's id (`0-1`, `2-N`).
    pub type_id: String,
    /// How rows are matched.
    pub key: RowKey,
    /// `UPSERT`, `UPDATE` or `CREATE`.
    pub operation: &'static str,
}

/// One import file and the inputs its rows hold.
#[derive(Debug)]
pub struct ImportFile {
    /// The file with its `importRequest`.
    pub upload: Arc<Upload>,
    /// Index (into the batch's inputs) of the input on each row, in row order.
    pub rows: Vec<usize>,
    /// The column holding each row's key, when rows have one.
    pub key_column: Option<usize>,
    /// Property name of each column.
    pub columns: Vec<String>,
}

impl ImportFile {
    /// The line of row `i` as HubSpot numbers them: the header is line 1.
    pub fn line_of(i: usize) -> u64 {
        i as u64 + 2
    }
}

/// The key cell of `input`: the value as the record gave it where the key is one of its
/// properties (HubSpot matches emails whatever their case), else the normalised key.
pub fn key_cell<'a>(input: &'a Input, key: &RowKey) -> Option<&'a str> {
    match key {
        RowKey::Unique(p) => Some(input.properties.get(p).map_or(input.key.as_str(), |v| v)),
        RowKey::RecordId => Some(input.key.as_str()),
        RowKey::None => None,
    }
}

/// `inputs` as import files of at most `max_rows` rows and `max_bytes` bytes, named
/// `{stem}-{n}.csv`. An input whose row alone is over `max_bytes` is in none: its index is
/// returned beside the files.
pub fn build(
    inputs: &[Input],
    layout: &Layout,
    stem: &str,
    max_rows: usize,
    max_bytes: usize,
) -> (Vec<ImportFile>, Vec<usize>) {
    let mut files = Vec::new();
    let mut too_large = Vec::new();
    let mut start = 0;
    while start < inputs.len() {
        let (file, next, skipped) = one_file(
            inputs,
            start,
            layout,
            &format!("{stem}-{}.csv", files.len() + 1),
            max_rows,
            max_bytes,
        );
        too_large.extend(skipped);
        if let Some(file) = file {
            files.push(file);
        }
        start = next;
    }
    (files, too_large)
}

/// The file that starts at input `start`: it, the first input after it, and the inputs
/// too large for any file.
fn one_file(
    inputs: &[Input],
    start: usize,
    layout: &Layout,
    name: &str,
    max_rows: usize,
    max_bytes: usize,
) -> (Option<ImportFile>, usize, Vec<usize>) {
    let key_property = match &layout.key {
        RowKey::Unique(p) => Some(p.as_str()),
        RowKey::RecordId => Some("hs_object_id"),
        RowKey::None => None,
    };
    // The columns of the rows this file may hold (a superset is harmless: blank cells leave
    // a property as it is).
    let end = (start + max_rows).min(inputs.len());
    let names: BTreeSet<&str> = inputs[start..end]
        .iter()
        .flat_map(|i| i.properties.keys().map(|k| &**k))
        .filter(|n| Some(*n) != key_property)
        .collect();
    let mut columns: Vec<String> = Vec::with_capacity(names.len() + 1);
    columns.extend(key_property.map(String::from));
    columns.extend(names.iter().map(|n| n.to_string()));
    let mut csv = Csv::new(&columns);
    let mut too_large = Vec::new();
    let mut rows = Vec::new();
    let mut i = start;
    while i < inputs.len() && rows.len() < max_rows {
        let input = &inputs[i];
        // Past the first `max_rows` inputs (a row too large took a place), a row goes in only
        // if the header has its columns.
        if i >= end
            && !input
                .properties
                .keys()
                .all(|k| names.contains(&**k) || Some(&**k) == key_property)
        {
            break;
        }
        let cells = key_cell(input, &layout.key).into_iter().chain(
            names
                .iter()
                .map(|name| input.properties.get(name).map_or("", |v| v.as_str())),
        );
        if !csv.push(cells, max_bytes) {
            if rows.is_empty() {
                // Over the limit alone: in no file.
                too_large.push(i);
                i += 1;
                continue;
            }
            break;
        }
        rows.push(i);
        i += 1;
    }
    if rows.is_empty() {
        return (None, i.max(start + 1), too_large);
    }
    let upload = Upload {
        request: request(layout, name, &columns).to_string(),
        file_name: name.to_string(),
        file: csv.into_bytes().into(),
    };
    let file = ImportFile {
        upload: Arc::new(upload),
        rows,
        key_column: key_property.map(|_| 0),
        columns,
    };
    (Some(file), i, too_large)
}

/// A CSV file being written: cells quoted where they hold a comma, a quote or a line break.
struct Csv {
    out: csv::Writer<Vec<u8>>,
    /// Bytes of the whole lines written.
    len: usize,
}

impl Csv {
    /// A file with the header `columns`.
    fn new(columns: &[String]) -> Self {
        let mut csv = Self {
            out: csv::WriterBuilder::new().from_writer(Vec::new()),
            len: 0,
        };
        csv.push(columns, usize::MAX);
        csv
    }

    /// Appends a line of `cells` if the file stays within `max_bytes`; false (the file
    /// unchanged) if not.
    fn push<S: AsRef<[u8]>>(
        &mut self,
        cells: impl IntoIterator<Item = S>,
        max_bytes: usize,
    ) -> bool {
        // Writing to memory cannot fail.
        let _ = self.out.write_record(cells);
        let _ = self.out.flush();
        let len = self.out.get_ref().len();
        if len > max_bytes {
            let mut bytes = std::mem::replace(
                &mut self.out,
                csv::WriterBuilder::new().from_writer(Vec::new()),
            )
            .into_inner()
            .unwrap_or_default();
            bytes.truncate(self.len);
            self.out = csv::WriterBuilder::new().from_writer(bytes);
            return false;
        }
        self.len = len;
        true
    }

    fn into_bytes(self) -> Vec<u8> {
        self.out.into_inner().unwrap_or_default()
    }
}

/// The `importRequest` of a file named `name` with `columns`.
fn request(layout: &Layout, name: &str, columns: &[String]) -> Value {
    let mappings: Vec<Value> = columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let mut m = json!({
                "columnObjectTypeId": layout.type_id,
                "columnName": column,
                "propertyName": column,
            });
            if i == 0 {
                match layout.key {
                    RowKey::Unique(_) => m["columnType"] = json!("HUBSPOT_ALTERNATE_ID"),
                    RowKey::RecordId => m["columnType"] = json!("HUBSPOT_OBJECT_ID"),
                    RowKey::None => {}
                }
            }
            m
        })
        .collect();
    json!({
        "name": name,
        "importOperations": { &layout.type_id: layout.operation },
        "dateFormat": "YEAR_MONTH_DAY",
        "files": [{
            "fileName": name,
            "fileFormat": "CSV",
            "fileImportPage": {"hasHeader": true, "columnMappings": mappings},
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Key, Properties};

    fn input(key: &str, values: &[(&str, &str)]) -> Input {
        let mut properties = Properties::new();
        for (n, v) in values {
            properties.insert(Arc::from(*n), (*v).into());
        }
        Input {
            key: Key::Value(key.to_string()),
            properties,
            origins: Vec::new(),
            deleted: false,
            ledger_id: None,
        }
    }

    fn contacts() -> Layout {
        Layout {
            type_id: "0-1".into(),
            key: RowKey::Unique("email".into()),
            operation: "UPSERT",
        }
    }

    #[test]
    fn rows_hold_the_key_first_then_every_property_and_blank_cells_where_a_record_has_none() {
        let inputs = [
            input(
                "a@x.com",
                &[("email", "A@x.com"), ("firstname", "Ann, \"the\" first")],
            ),
            input("b@x.com", &[("lastname", "Line\nbreak")]),
        ];
        let (files, too_large) = build(&inputs, &contacts(), "s", 100, 1 << 20);
        assert!(too_large.is_empty());
        let [file] = files.as_slice() else {
            panic!("one file expected")
        };
        let text = std::str::from_utf8(&file.upload.file).unwrap();
        insta::assert_snapshot!(text, @r#"
        email,firstname,lastname
        A@x.com,"Ann, ""the"" first",
        b@x.com,,"Line
        break"
        "#);
        let request: Value = serde_json::from_str(&file.upload.request).unwrap();
        insta::assert_json_snapshot!(request);
        assert_eq!(file.rows, vec![0, 1]);
    }

    #[test]
    fn files_are_cut_at_the_row_and_byte_limits_and_a_row_over_the_byte_limit_is_in_none() {
        let big = "x".repeat(300);
        let inputs: Vec<Input> = (0..5)
            .map(|i| {
                let value = if i == 2 { big.as_str() } else { "v" };
                input(&format!("{i}@x.com"), &[("firstname", value)])
            })
            .collect();
        let (files, too_large) = build(&inputs, &contacts(), "s", 2, 200);
        assert_eq!(too_large, vec![2]);
        let rows: Vec<Vec<usize>> = files.iter().map(|f| f.rows.clone()).collect();
        assert_eq!(rows, vec![vec![0, 1], vec![3, 4]]);
        let names: Vec<&str> = files.iter().map(|f| f.upload.file_name.as_str()).collect();
        assert_eq!(names, ["s-1.csv", "s-2.csv"]);
        // The row over the limit left nothing behind in the file it did not fit.
        assert_eq!(
            std::str::from_utf8(&files[1].upload.file).unwrap(),
            "email,firstname\n3@x.com,v\n4@x.com,v\n"
        );
        // A row that does not fit beside the rows before it starts the next file.
        let (files, too_large) = build(&inputs, &contacts(), "s", 10, 340);
        assert!(too_large.is_empty());
        let rows: Vec<Vec<usize>> = files.iter().map(|f| f.rows.clone()).collect();
        assert_eq!(rows, vec![vec![0, 1], vec![2, 3], vec![4]]);
        assert_eq!(
            std::str::from_utf8(&files[0].upload.file).unwrap(),
            "email,firstname\n0@x.com,v\n1@x.com,v\n"
        );
        for file in &files {
            assert!(file.upload.file.len() <= 340);
        }
    }
}

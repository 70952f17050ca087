//! The rejected-records file: a replayable Singer stream, appended to and never truncated.
//!
//! Each stream's SCHEMA comes once before its first rejected record (per run), then one line
//! per record: `{"type":"RECORD","stream":…,"record":<as read>,"error":{…}}`.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::rejection::Rejection;

#[derive(Serialize)]
struct SchemaLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    stream: &'a str,
    schema: &'a Value,
    key_properties: &'a [String],
}

#[derive(Serialize)]
struct RecordLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    stream: &'a str,
    record: &'a RawValue,
    error: ErrorWithLine<'a>,
}

/// The rejection plus the input line the record was read from.
#[derive(Serialize)]
struct ErrorWithLine<'a> {
    #[serde(flatten)]
    rejection: &'a Rejection,
    line: u64,
}

/// Appends rejected records to a file, opened on first use.
#[derive(Debug)]
pub struct RejectedSink {
    path: PathBuf,
    file: Option<BufWriter<File>>,
    schemas_written: HashSet<String>,
}

impl RejectedSink {
    /// A sink that appends to `path`.
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            file: None,
            schemas_written: HashSet::new(),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn file(&mut self) -> std::io::Result<&mut BufWriter<File>> {
        let file = match self.file.take() {
            Some(f) => f,
            None => BufWriter::new(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            ),
        };
        Ok(self.file.insert(file))
    }

    /// Appends one rejected record read from input `line` (and its stream's SCHEMA first,
    /// once per run).
    pub fn write(
        &mut self,
        stream: &str,
        schema: &Value,
        record: &RawValue,
        error: &Rejection,
        line: u64,
    ) -> std::io::Result<()> {
        let first = !self.schemas_written.contains(stream);
        let file = self.file()?;
        if first {
            let schema_line = SchemaLine {
                kind: "SCHEMA",
                stream,
                schema,
                key_properties: &[],
            };
            serde_json::to_writer(&mut *file, &schema_line)?;
            file.write_all(b"\n")?;
        }
        let error = ErrorWithLine {
            rejection: error,
            line,
        };
        serde_json::to_writer(
            &mut *file,
            &RecordLine {
                kind: "RECORD",
                stream,
                record,
                error,
            },
        )?;
        file.write_all(b"\n")?;
        self.schemas_written.insert(stream.to_string());
        Ok(())
    }

    /// Flushes to disk; called before any STATE that covers the records written.
    pub fn sync(&mut self) -> std::io::Result<()> {
        if let Some(file) = self.file.as_mut() {
            file.flush()?;
            file.get_ref().sync_data()?;
        }
        Ok(())
    }
}

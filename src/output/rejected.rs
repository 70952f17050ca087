//! The rejected-records file: a replayable Singer stream, appended to and never truncated.
//!
//! Each stream's SCHEMA (with the input's `key_properties`) comes once before its first
//! rejected record (per run), then one line per record:
//! `{"type":"RECORD","stream":…,"record":<as read>,"error":{…}}`.
//!
//! The configured path may hold `{stream}` (one file per stream) and `{run_started}` (the run's
//! start, UTC, `YYYYMMDDTHHMMSSZ`). Files are created readable by their owner only (0600):
//! they hold the records, which are often personal data.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::rejection::Rejection;

/// The placeholder for the stream's name.
pub const STREAM_PLACEHOLDER: &str = "{stream}";
/// The placeholder for the run's start time.
pub const RUN_STARTED_PLACEHOLDER: &str = "{run_started}";

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

#[derive(Serialize)]
struct ErrorWithLine<'a> {
    #[serde(flatten)]
    rejection: &'a Rejection,
    line: u64,
}

/// A stream's SCHEMA as the rejected file repeats it.
#[derive(Debug, Clone, Copy)]
pub struct StreamSchema<'a> {
    /// The stream's name.
    pub stream: &'a str,
    /// Its JSON schema.
    pub schema: &'a Value,
    /// Its `key_properties` as the input gave them.
    pub key_properties: &'a [String],
}

/// Appends rejected records, opening each file on first use.
#[derive(Debug)]
pub struct RejectedSink {
    template: String,
    input: Option<PathBuf>,
    files: HashMap<PathBuf, BufWriter<File>>,
    paths: HashMap<String, PathBuf>,
    schemas_written: HashSet<String>,
    /// In a dry run: nothing is written; the first rejections are logged instead.
    dry_run: Option<u64>,
}

/// How many local rejections a dry run logs one by one.
const DRY_RUN_LOGGED: u64 = 20;

impl RejectedSink {
    /// A sink that appends to `template` with its placeholders filled in. `input` is the file
    /// being read, if any: rejections never go into it (replaying the rejected file itself
    /// writes to `<name>.replay-<run_started>.jsonl` instead).
    pub fn new(template: &Path, run_started: &str, input: Option<&Path>) -> Self {
        Self {
            template: template
                .display()
                .to_string()
                .replace(RUN_STARTED_PLACEHOLDER, run_started),
            input: input.and_then(|i| std::fs::canonicalize(i).ok()),
            files: HashMap::new(),
            paths: HashMap::new(),
            schemas_written: HashSet::new(),
            dry_run: None,
        }
    }

    /// The same sink for a dry run: it writes no file and logs the first rejections.
    pub fn dry_run(mut self) -> Self {
        self.dry_run = Some(0);
        self
    }

    /// The configured path, `{run_started}` filled in (for messages).
    pub fn path(&self) -> &Path {
        Path::new(&self.template)
    }

    /// Where `stream`'s rejections go.
    pub fn path_for(&mut self, stream: &str) -> PathBuf {
        if let Some(p) = self.paths.get(stream) {
            return p.clone();
        }
        let safe: String = stream
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut path = PathBuf::from(self.template.replace(STREAM_PLACEHOLDER, &safe));
        let same = self
            .input
            .as_ref()
            .is_some_and(|input| std::fs::canonicalize(&path).is_ok_and(|p| &p == input));
        if same {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("target-hubspot-rejected")
                .to_string();
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default();
            path = path.with_file_name(format!("{stem}.replay-{stamp}.jsonl"));
            tracing::warn!(
                "the input is the rejected-records file itself; this run's rejections go to {} instead",
                path.display()
            );
        }
        self.paths.insert(stream.to_string(), path.clone());
        path
    }

    fn file(&mut self, path: PathBuf) -> std::io::Result<&mut BufWriter<File>> {
        use std::collections::hash_map::Entry;
        match self.files.entry(path) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(e) => {
                let mut options = OpenOptions::new();
                options.create(true).append(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let file = options.open(e.key())?;
                Ok(e.insert(BufWriter::new(file)))
            }
        }
    }

    /// Appends one rejected record (and its stream's SCHEMA, once per run).
    pub fn write(
        &mut self,
        schema: StreamSchema<'_>,
        record: &RawValue,
        error: &Rejection,
        line: u64,
    ) -> std::io::Result<()> {
        let stream = schema.stream;
        if let Some(logged) = &mut self.dry_run {
            *logged += 1;
            if *logged <= DRY_RUN_LOGGED {
                tracing::warn!(
                    "dry run: line {line} (stream {stream}) would be rejected: {}: {}",
                    error.category,
                    error.message
                );
            } else if *logged == DRY_RUN_LOGGED + 1 {
                tracing::warn!("dry run: further rejections are counted in the summary only");
            }
            return Ok(());
        }
        let first = !self.schemas_written.contains(stream);
        let path = self.path_for(stream);
        let file = self.file(path)?;
        if first {
            let schema_line = SchemaLine {
                kind: "SCHEMA",
                stream,
                schema: schema.schema,
                key_properties: schema.key_properties,
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
        for file in self.files.values_mut() {
            file.flush()?;
            file.get_ref().sync_data()?;
        }
        Ok(())
    }
}

/// The run's start as `{run_started}` writes it: UTC `YYYYMMDDTHHMMSSZ`.
pub fn run_started_stamp(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_name_the_stream_and_the_run() {
        let mut sink = RejectedSink::new(
            Path::new("out/rejected-{stream}-{run_started}.jsonl"),
            "20261201T101500Z",
            None,
        );
        assert_eq!(
            sink.path_for("public-customers"),
            PathBuf::from("out/rejected-public-customers-20261201T101500Z.jsonl")
        );
        assert_eq!(
            sink.path_for("a/b c"),
            PathBuf::from("out/rejected-a_b_c-20261201T101500Z.jsonl")
        );
        let t = time::macros::datetime!(2026-12-01 10:15:00 +01:00);
        assert_eq!(run_started_stamp(t), "20261201T091500Z");
    }
}

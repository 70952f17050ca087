//! The rejected-records file: a replayable Singer stream, appended to and never truncated.
//!
//! Each stream's SCHEMA (with the input's `key_properties`) comes once before its first
//! rejected record (per run), then one line per record:
//! `{"type":"RECORD","stream":…,"record":<as read>,"error":{…}}`.
//!
//! The configured path may hold `{stream}` (one file per stream) and `{run_started}` (the run's
//! start, UTC, `YYYYMMDDTHHMMSSZ`). Files are created readable by their owner only (0600):
//! they hold the records, which are often personal data.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::model::rejection::Rejection;

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
    /// The input's file the line is in, when the input names files.
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
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
    input: Vec<PathBuf>,
    files: HashMap<PathBuf, BufWriter<File>>,
    /// Every file this run wrote to (some may be closed again).
    written: BTreeSet<PathBuf>,
    paths: HashMap<String, PathBuf>,
    schemas_written: HashSet<String>,
    /// In a dry run: nothing is written; rejections are counted by reason instead.
    dry_run: Option<DryRunRejections>,
}

/// A dry run's rejections by `(category, code, property)`: how many, and the first one.
type DryRunRejections = BTreeMap<(String, String, String), (u64, String)>;

/// Rejected files open at once at most (one per stream with `{stream}`): more are closed
/// and reopened in append mode when written again, so 1,000 streams never exhaust the
/// process's descriptors (`ulimit -n` is often 1,024, sometimes 256).
const MAX_OPEN_FILES: usize = 32;

/// Cuts off a last line that does not end in a newline: a crash or a full disk left it
/// half written, and no STATE covered it (the file is synced before every STATE), so its
/// record is read again by the next run. Appending after it would glue the next line to it
/// and break the replay of the whole file.
fn cut_torn_tail(path: &Path) -> std::io::Result<()> {
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let part = &mut chunk[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(part)?;
        if end == len && part.last() == Some(&b'\n') {
            return Ok(());
        }
        if let Some(i) = part.iter().rposition(|b| *b == b'\n') {
            end = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    tracing::warn!(
        file = %path.display(),
        "the rejected file's last line was cut off (a crash or a full disk while it was written; no STATE covered it): {} byte(s) removed, so the file stays a valid Singer stream",
        len - end
    );
    file.set_len(end)
}

/// Characters of a rejection message a dry run's log quotes.
const QUOTED_MESSAGE: usize = 300;

impl RejectedSink {
    /// A sink that appends to `template` with its placeholders filled in. `input` are the
    /// files being read: rejections never go into one of them (replaying the rejected file
    /// itself writes to `<name>.replay-<run_started>.jsonl` instead).
    pub fn new(template: &Path, run_started: &str, input: &[&Path]) -> Self {
        Self {
            template: template
                .display()
                .to_string()
                .replace(RUN_STARTED_PLACEHOLDER, run_started),
            input: input
                .iter()
                .filter_map(|i| std::fs::canonicalize(i).ok())
                .collect(),
            files: HashMap::new(),
            written: BTreeSet::new(),
            paths: HashMap::new(),
            schemas_written: HashSet::new(),
            dry_run: None,
        }
    }

    /// The same sink for a dry run: it writes no file and counts rejections by reason
    /// ([`RejectedSink::log_dry_run`]).
    pub fn dry_run(mut self) -> Self {
        self.dry_run = Some(BTreeMap::new());
        self
    }

    /// The configured path, `{run_started}` filled in (for messages).
    pub fn path(&self) -> &Path {
        Path::new(&self.template)
    }

    /// The files this run wrote rejections to, for messages: their names (the first five and
    /// how many more), or the configured path when there are none yet.
    pub fn written(&self) -> String {
        let paths: Vec<&PathBuf> = self.written.iter().collect();
        match paths.as_slice() {
            [] => self.template.clone(),
            [one] => one.display().to_string(),
            many => {
                let mut names: Vec<String> = many
                    .iter()
                    .take(5)
                    .map(|p| p.display().to_string())
                    .collect();
                if many.len() > 5 {
                    names.push(format!("and {} more", many.len() - 5));
                }
                names.join(", ")
            }
        }
    }

    /// Logs a dry run's rejections: one line per reason, with its count and one example.
    pub fn log_dry_run(&self) {
        let Some(reasons) = &self.dry_run else {
            return;
        };
        for ((category, code, property), (n, example)) in reasons {
            let mut reason = category.clone();
            for part in [code, property].into_iter().filter(|p| !p.is_empty()) {
                reason.push('/');
                reason.push_str(part);
            }
            tracing::warn!(
                "dry run: {n} record(s) would be rejected as {reason}; the first: {example}"
            );
        }
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
        let same = std::fs::canonicalize(&path).is_ok_and(|p| self.input.contains(&p));
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

    /// The open file for `path`: opened in append mode on first use (its torn last line, if
    /// any, cut off first), and reopened when it was closed to keep at most
    /// [`MAX_OPEN_FILES`] open.
    fn file(&mut self, path: PathBuf) -> std::io::Result<&mut BufWriter<File>> {
        if !self.files.contains_key(&path) {
            if self.files.len() >= MAX_OPEN_FILES
                && let Some(oldest) = self.files.keys().next().cloned()
                && let Some(mut closing) = self.files.remove(&oldest)
            {
                // Written down before it is closed: a STATE may follow.
                closing.flush()?;
                closing.get_ref().sync_data()?;
            }
            if self.written.insert(path.clone()) {
                cut_torn_tail(&path)?;
            }
            let mut options = OpenOptions::new();
            options.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let file = options.open(&path)?;
            self.files.insert(path.clone(), BufWriter::new(file));
        }
        self.files
            .get_mut(&path)
            .ok_or_else(|| std::io::Error::other("the rejected file was not opened"))
    }

    /// Appends one rejected record (and its stream's SCHEMA, once per run).
    pub fn write(
        &mut self,
        schema: StreamSchema<'_>,
        record: &RawValue,
        error: &Rejection,
        line: &crate::model::Line,
    ) -> std::io::Result<()> {
        let stream = schema.stream;
        if let Some(reasons) = &mut self.dry_run {
            let key = (
                error.category.to_string(),
                error.code.as_deref().unwrap_or_default().to_string(),
                error.property.as_deref().unwrap_or_default().to_string(),
            );
            let (n, _) = reasons.entry(key).or_insert_with(|| {
                let message: String = error.message.chars().take(QUOTED_MESSAGE).collect();
                let cut = if message.len() < error.message.len() {
                    "…"
                } else {
                    ""
                };
                (0, format!("{line} (stream {stream}): {message}{cut}"))
            });
            *n += 1;
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
            line: line.number,
            file: line.file_name(),
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
    fn a_torn_last_line_is_cut_off_and_complete_lines_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rejected.jsonl");
        std::fs::write(&path, "{\"a\":1}\n{\"b\":2}\n{\"type\":\"REC").unwrap();
        cut_torn_tail(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"b\":2}\n"
        );
        cut_torn_tail(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"b\":2}\n"
        );
        std::fs::write(&path, "x".repeat(200_000)).unwrap();
        cut_torn_tail(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    }

    #[test]
    fn placeholders_name_the_stream_and_the_run() {
        let mut sink = RejectedSink::new(
            Path::new("out/rejected-{stream}-{run_started}.jsonl"),
            "20261201T101500Z",
            &[],
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

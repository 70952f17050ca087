//! Where lines come from: a Singer stream, or a warehouse export (JSONL or CSV) turned into
//! one — a SCHEMA line, then a RECORD per row — so reverse-ETL needs no tap.

use std::io::{BufRead, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::ValueEnum;
use serde_json::{Map, Value, json};
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

/// Lines buffered between the reader and the main loop.
const BUFFERED_LINES: usize = 4096;

/// The shape of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// Singer messages, one JSON object per line.
    Singer,
    /// One JSON object per line, each a record of `--stream`.
    Jsonl,
    /// CSV with a header row; each row a record of `--stream` (cells are strings; an empty
    /// cell is a blank value, as `blank_values` says).
    Csv,
}

/// Lines of input, numbered by the reader as they arrive; an `Err` ends the input.
pub type Lines = mpsc::Receiver<std::io::Result<String>>;

fn open(path: &Option<PathBuf>) -> std::io::Result<Box<dyn Read + Send>> {
    Ok(match path {
        Some(p) => Box::new(std::fs::File::open(p)?),
        None => Box::new(std::io::stdin()),
    })
}

/// Starts reading `path` (stdin when `None`) in the background.
///
/// For JSONL and CSV the first line is a synthesised SCHEMA for `stream`, so a CSV row's line
/// number in errors is its line in the file (the header being line 1).
/// `bytes_read` counts the input's bytes as they are read (for progress).
pub fn spawn(
    format: InputFormat,
    path: Option<PathBuf>,
    stream: Option<String>,
    bytes_read: Arc<AtomicU64>,
) -> Lines {
    let (tx, rx) = mpsc::channel(BUFFERED_LINES);
    match format {
        InputFormat::Singer => {
            tokio::spawn(async move {
                let source: Box<dyn tokio::io::AsyncRead + Unpin + Send> = match &path {
                    Some(p) => match tokio::fs::File::open(p).await {
                        Ok(f) => Box::new(f),
                        Err(e) => {
                            let _ = tx.send(Err(e)).await;
                            return;
                        }
                    },
                    None => Box::new(tokio::io::stdin()),
                };
                let mut lines = tokio::io::BufReader::with_capacity(1 << 16, source).lines();
                let mut first = true;
                loop {
                    let next = lines.next_line().await.transpose();
                    let Some(mut line) = next else { break };
                    if let Ok(l) = &line {
                        bytes_read.fetch_add(l.len() as u64 + 1, Ordering::Relaxed);
                    }
                    if std::mem::take(&mut first) {
                        line = line.map(without_bom);
                    }
                    let failed = line.is_err();
                    if tx.send(line).await.is_err() || failed {
                        break;
                    }
                }
            });
        }
        InputFormat::Jsonl | InputFormat::Csv => {
            let stream = stream.unwrap_or_default();
            tokio::task::spawn_blocking(move || {
                let send = |line: std::io::Result<String>| tx.blocking_send(line).is_ok();
                let schema = json!({"type": "SCHEMA", "stream": stream, "schema": {"type": "object", "properties": {}}, "key_properties": []});
                if !send(Ok(schema.to_string())) {
                    return;
                }
                let source = match open(&path) {
                    Ok(s) => s,
                    Err(e) => {
                        send(Err(e));
                        return;
                    }
                };
                let result = if format == InputFormat::Jsonl {
                    jsonl_records(&stream, source, &send, &bytes_read)
                } else {
                    csv_records(&stream, source, &send, &bytes_read)
                };
                if let Err(e) = result {
                    send(Err(e));
                }
            });
        }
    }
    rx
}

/// Drops the UTF-8 byte-order mark that Windows tools put at the start of files.
fn without_bom(line: String) -> String {
    match line.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => line,
    }
}

fn record_line(stream: &str, record: &str) -> String {
    format!(
        "{{\"type\":\"RECORD\",\"stream\":{},\"record\":{record}}}",
        Value::from(stream)
    )
}

/// Each JSONL line, kept as written, becomes the `record` of a RECORD message.
fn jsonl_records(
    stream: &str,
    source: Box<dyn Read + Send>,
    send: &dyn Fn(std::io::Result<String>) -> bool,
    bytes_read: &AtomicU64,
) -> std::io::Result<()> {
    for (i, line) in std::io::BufReader::new(source).lines().enumerate() {
        let line = if i == 0 { without_bom(line?) } else { line? };
        bytes_read.fetch_add(line.len() as u64 + 1, Ordering::Relaxed);
        let text = if line.trim().is_empty() {
            String::new()
        } else {
            record_line(stream, line.trim())
        };
        if !send(Ok(text)) {
            break;
        }
    }
    Ok(())
}

/// Each CSV row becomes a record keyed by the header, every cell a string (empty cells
/// included, so `blank_values` treats them as it treats `null` and `""` elsewhere).
fn csv_records(
    stream: &str,
    source: Box<dyn Read + Send>,
    send: &dyn Fn(std::io::Result<String>) -> bool,
    bytes_read: &AtomicU64,
) -> std::io::Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(source);
    let headers = reader.headers().map_err(std::io::Error::other)?.clone();
    for row in reader.records() {
        let row = row.map_err(|e| std::io::Error::other(format!("CSV: {e}")))?;
        if let Some(end) = row.position() {
            bytes_read.store(
                end.byte() + row.as_byte_record().as_slice().len() as u64,
                Ordering::Relaxed,
            );
        }
        let record: Map<String, Value> = headers
            .iter()
            .zip(row.iter())
            .map(|(h, v)| (h.to_string(), Value::from(v)))
            .collect();
        if !send(Ok(record_line(stream, &Value::Object(record).to_string()))) {
            break;
        }
    }
    Ok(())
}

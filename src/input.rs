//! Where lines come from: a Singer stream, or a warehouse export (JSONL or CSV) turned into
//! one — a SCHEMA line, then a RECORD per row — so reverse-ETL needs no tap.

use std::cell::RefCell;
use std::io::Read;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::ValueEnum;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::mapping::published::{Premapped, Published};
use crate::singer::{InputError, Message, parse_line};

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
    /// CSV with a header row; each row a record of `--stream` (cells are strings; an empty
    /// cell is a blank value, as `blank_values` says).
    Csv,
}

/// One line of input, parsed.
#[derive(Debug)]
pub struct Parsed {
    /// Its 1-based number.
    pub number: u64,
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

fn open(path: &Option<PathBuf>) -> std::io::Result<Box<dyn Read + Send>> {
    Ok(match path {
        Some(p) => Box::new(std::fs::File::open(p)?),
        None => Box::new(std::io::stdin()),
    })
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
    /// Parses and queues the input's line `number` (its line in the file: a CSV row's first
    /// line); false once the main loop has stopped listening.
    fn push(&mut self, number: u64, line: String) -> bool {
        self.pending_bytes += line.len();
        let message = parse_line(number, &line).map(|m| m.map(Message::into_owned));
        self.pending.push(Parsed {
            number,
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
/// Counts the bytes read, for progress.
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

/// Starts reading `path` (stdin when `None`) and parsing its lines on a thread of its own.
///
/// For JSONL and CSV the first line is a synthesised SCHEMA for `stream` (with
/// `key_properties`), so a CSV row's line
/// number in errors is its line in the file (the header being line 1).
/// `bytes_read` counts the input's bytes as they are read (for progress).
pub fn spawn(
    format: InputFormat,
    path: Option<PathBuf>,
    stream: Option<String>,
    key_properties: Vec<String>,
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
        let result = read_all(format, path, stream, key_properties, &outbox, bytes_read);
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

fn read_all(
    format: InputFormat,
    path: Option<PathBuf>,
    stream: Option<String>,
    key_properties: Vec<String>,
    outbox: &Rc<RefCell<Outbox>>,
    bytes_read: Arc<AtomicU64>,
) -> std::io::Result<()> {
    let push = |number: u64, line: String| outbox.borrow_mut().push(number, line);
    let stream = stream.unwrap_or_default();
    if format != InputFormat::Singer {
        // Before the file's first line: numbered 0, so every row keeps its own line number.
        let schema = json!({"type": "SCHEMA", "stream": stream, "schema": {"type": "object", "properties": {}}, "key_properties": key_properties});
        if !push(0, schema.to_string()) {
            return Ok(());
        }
    }
    let source = Source {
        inner: open(&path)?,
        outbox: outbox.clone(),
        bytes_read,
    };
    match format {
        InputFormat::Singer => singer_lines(source, &push),
        InputFormat::Jsonl => jsonl_records(&stream, source, &push),
        InputFormat::Csv => csv_records(&stream, source, &push),
    }
}

/// The lines of `source`, each at most [`MAX_LINE_BYTES`] long (a longer one is an error
/// naming it, read no further than the limit).
fn bounded_lines(source: Source) -> impl Iterator<Item = std::io::Result<String>> {
    use std::io::BufRead;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, source);
    std::iter::from_fn(move || {
        let mut buf = Vec::new();
        let limit = MAX_LINE_BYTES as u64 + 1;
        match (&mut reader).take(limit).read_until(b'\n', &mut buf) {
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
                Some(String::from_utf8(buf).map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "stream did not contain valid UTF-8",
                    )
                }))
            }
            Err(e) => Some(Err(e)),
        }
    })
}

/// Each line as written.
fn singer_lines(source: Source, push: &dyn Fn(u64, String) -> bool) -> std::io::Result<()> {
    for (i, line) in bounded_lines(source).enumerate() {
        let number = i as u64 + 1;
        let line = at_line(number, line)?;
        let line = if i == 0 { without_bom(line) } else { line };
        if !push(number, line) {
            break;
        }
    }
    Ok(())
}

/// A line as read, or the read's error naming the line (invalid UTF-8, a device error).
fn at_line(number: u64, line: std::io::Result<String>) -> std::io::Result<String> {
    line.map_err(|e| std::io::Error::new(e.kind(), format!("line {number}: {e}")))
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
    source: Source,
    push: &dyn Fn(u64, String) -> bool,
) -> std::io::Result<()> {
    for (i, line) in bounded_lines(source).enumerate() {
        let number = i as u64 + 1;
        let line = at_line(number, line)?;
        let line = if i == 0 { without_bom(line) } else { line };
        let text = if line.trim().is_empty() {
            String::new()
        } else {
            record_line(stream, line.trim())
        };
        if !push(number, text) {
            break;
        }
    }
    Ok(())
}

/// Each CSV row becomes a record keyed by the header, every cell a string (empty cells
/// included, so `blank_values` treats them as it treats `null` and `""` elsewhere).
fn csv_records(
    stream: &str,
    source: Source,
    push: &dyn Fn(u64, String) -> bool,
) -> std::io::Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(source);
    let headers = reader.headers().map_err(std::io::Error::other)?.clone();
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = headers.iter().find(|h| !seen.insert(*h)) {
        // Which of two columns a property should take cannot be guessed.
        return Err(std::io::Error::other(format!(
            "line 1: the header names column '{}' twice; rename one",
            twice.chars().take(100).collect::<String>()
        )));
    }
    for row in reader.records() {
        let row = row.map_err(|e| std::io::Error::other(format!("CSV: {e}")))?;
        // The line the row starts on (a quoted cell may span lines).
        let number = row.position().map_or(0, csv::Position::line);
        let record: Map<String, Value> = headers
            .iter()
            .zip(row.iter())
            .map(|(h, v)| (h.to_string(), Value::from(v)))
            .collect();
        if !push(
            number,
            record_line(stream, &Value::Object(record).to_string()),
        ) {
            break;
        }
    }
    Ok(())
}

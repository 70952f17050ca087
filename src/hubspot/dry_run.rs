//! `--dry-run`: writes are serialised exactly as a real run would send them, recorded
//! (optionally to `--dry-run-output` as JSON lines `{"method", "path", "body"}`) and answered
//! here, never sent. Reads (`GET`, `…/batch/read`, `…/search`) still go to HubSpot.
//!
//! The answer to a batch write confirms every input as written, echoing it as a result (with
//! `new: true`, so the summary counts it as "would be created"); a property or group creation
//! is answered with its own body.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::http::Reply;

/// The parts of a batch write's inputs that its answer echoes.
#[derive(Deserialize)]
struct Inputs<'a> {
    #[serde(borrow)]
    inputs: Vec<InputIds<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InputIds<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    object_write_trace_id: Option<&'a RawValue>,
    #[serde(borrow)]
    from: Option<&'a RawValue>,
    #[serde(borrow)]
    to: Option<&'a RawValue>,
}

/// Bytes of `--dry-run-output` buffered between writes: a few requests' worth.
const OUTPUT_BUFFER: usize = 1 << 20;

/// Records the writes of a dry run.
#[derive(Debug, Default)]
pub struct DryRun {
    out: Option<Mutex<BufWriter<File>>>,
    /// Write requests that were not sent.
    pub writes: AtomicU64,
}

/// Whether a request changes HubSpot (and so is held back in a dry run).
pub fn is_write(method: &Method, path: &str) -> bool {
    method != Method::GET && !path.ends_with("/batch/read") && !path.ends_with("/search")
}

impl DryRun {
    /// A dry run writing its requests to `out`, when given.
    pub fn new(out: Option<File>) -> Self {
        Self {
            out: out.map(|f| Mutex::new(BufWriter::with_capacity(OUTPUT_BUFFER, f))),
            writes: AtomicU64::new(0),
        }
    }

    /// Records a write and answers it as HubSpot would have on success.
    pub fn answer(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Bytes>,
    ) -> std::io::Result<Reply> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        let text = body.map_or("null", |b| std::str::from_utf8(b).unwrap_or("null"));
        if let Some(out) = &self.out {
            let mut out = out
                .lock()
                .map_err(|_| std::io::Error::other("dry-run output lock"))?;
            // Written piece by piece: a body is tens of kilobytes, not worth formatting.
            let head = format!(
                "{{\"method\":{},\"path\":{},\"body\":",
                Value::from(method.as_str()),
                Value::from(path)
            );
            out.write_all(head.as_bytes())?;
            out.write_all(text.as_bytes())?;
            out.write_all(b"}\n")?;
        }
        // Only what the writer reads of a result is echoed; HubSpot's copy of the properties
        // is left out (the writer reads it only when a trace id is missing).
        let (status, answer) = match serde_json::from_str::<Inputs>(text) {
            Ok(Inputs { inputs }) => {
                let mut answer = String::with_capacity(32 + 64 * inputs.len());
                answer.push_str("{\"status\":\"COMPLETE\",\"results\":[");
                for (n, input) in inputs.iter().enumerate() {
                    if n > 0 {
                        answer.push(',');
                    }
                    answer.push_str("{\"id\":");
                    match input.id {
                        Some(id) if id.get() != "null" => answer.push_str(id.get()),
                        _ => {
                            answer.push_str("\"dry-run-");
                            answer.push_str(&n.to_string());
                            answer.push('"');
                        }
                    }
                    answer.push_str(",\"new\":true");
                    for (name, value) in [
                        ("objectWriteTraceId", input.object_write_trace_id),
                        ("from", input.from),
                        ("to", input.to),
                    ] {
                        if let Some(v) = value {
                            answer.push_str(",\"");
                            answer.push_str(name);
                            answer.push_str("\":");
                            answer.push_str(v.get());
                        }
                    }
                    answer.push('}');
                }
                answer.push_str("]}");
                (200, answer)
            }
            Err(_) => (201, text.to_string()),
        };
        Ok(Reply {
            status,
            body: Bytes::from(answer),
            correlation_id: None,
            attempts: 1,
        })
    }

    /// Flushes the output file.
    pub fn finish(&self) -> std::io::Result<()> {
        match &self.out {
            Some(out) => out
                .lock()
                .map_err(|_| std::io::Error::other("dry-run output lock"))?
                .flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_answered_as_written_and_reads_pass() {
        assert!(is_write(
            &Method::POST,
            "/crm/v3/objects/contacts/batch/upsert"
        ));
        assert!(!is_write(
            &Method::POST,
            "/crm/v3/objects/contacts/batch/read"
        ));
        assert!(!is_write(&Method::GET, "/crm/v3/properties/contacts"));
        let dry = DryRun::new(None);
        let body = Bytes::from(
            r#"{"inputs":[{"id":"a@b.co","idProperty":"email","objectWriteTraceId":"0","properties":{}}]}"#,
        );
        let reply = dry
            .answer(&Method::POST, "/x/batch/upsert", Some(&body))
            .unwrap();
        let answer: Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(answer["results"][0]["objectWriteTraceId"], "0");
        assert_eq!(answer["results"][0]["new"], true);
        assert_eq!(dry.writes.load(Ordering::Relaxed), 1);
    }
}

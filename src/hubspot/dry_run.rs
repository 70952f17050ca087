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
use serde_json::{Value, json};

use super::client::Reply;

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
            out: out.map(|f| Mutex::new(BufWriter::new(f))),
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
            writeln!(
                out,
                "{{\"method\":{},\"path\":{},\"body\":{text}}}",
                Value::from(method.as_str()),
                Value::from(path)
            )?;
        }
        let request: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let (status, answer) = match request.get("inputs").and_then(Value::as_array) {
            Some(inputs) => {
                let results: Vec<Value> = inputs
                    .iter()
                    .enumerate()
                    .map(|(n, input)| {
                        let mut result = input.clone();
                        if result.get("id").is_none_or(Value::is_null) {
                            result["id"] = json!(format!("dry-run-{n}"));
                        }
                        result["new"] = json!(true);
                        result
                    })
                    .collect();
                (200, json!({"status": "COMPLETE", "results": results}))
            }
            None => (201, request),
        };
        Ok(Reply {
            status,
            body: Bytes::from(answer.to_string()),
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

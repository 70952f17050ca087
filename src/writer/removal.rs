//! `on_removed`: HubSpot records whose key left the source, by the ids the ledger holds,
//! archived (`batch/archive`) or cleared (`batch/update` with each property set to `""`),
//! 100 per request.

use serde_json::{Map, Value, json};

use crate::error::FatalError;
use crate::hubspot::wire::{BatchResponse, ErrorBody};
use crate::hubspot::{Client, SendFailure};

/// Ids per request (HubSpot's batch limit).
const PER_REQUEST: usize = 100;

/// What a removal did.
#[derive(Debug, Default)]
pub struct Removed {
    /// Ids archived or cleared, or that HubSpot no longer has: the ledger forgets them.
    pub done: Vec<i64>,
    /// How many failed, and the last reason.
    pub failed: Option<(usize, String)>,
}

impl Removed {
    fn fail(&mut self, n: usize, reason: String) {
        let before = self.failed.take().map_or(0, |(k, _)| k);
        self.failed = Some((before + n, reason));
    }
}

/// HubSpot's refusal of a whole request, as text.
fn refusal(reply: &crate::hubspot::Reply) -> String {
    format!(
        "HTTP {}: {}",
        reply.status,
        ErrorBody::parse(&reply.body).message.unwrap_or_default()
    )
}

/// Archives the records `ids` of `object_type`.
pub async fn archive(
    client: &Client,
    object_type: &str,
    ids: &[i64],
) -> Result<Removed, FatalError> {
    let path = client.routes.batch(object_type, "archive");
    let mut removed = Removed::default();
    for chunk in ids.chunks(PER_REQUEST) {
        let body = json!({"inputs": chunk.iter().map(|id| json!({"id": id.to_string()})).collect::<Vec<_>>()});
        match client.post(&path, &body, object_type).await {
            Err(SendFailure::Fatal(f)) => return Err(f),
            Err(SendFailure::Exhausted { reason, .. }) => removed.fail(chunk.len(), reason),
            Ok(reply) if matches!(reply.status, 200 | 204) => removed.done.extend(chunk),
            Ok(reply) => removed.fail(chunk.len(), refusal(&reply)),
        }
    }
    Ok(removed)
}

/// Sets `properties` of the records `ids` of `object_type` to `""`.
pub async fn clear(
    client: &Client,
    object_type: &str,
    ids: &[i64],
    properties: &[&str],
) -> Result<Removed, FatalError> {
    let mut removed = Removed::default();
    if properties.is_empty() {
        // Nothing mapped this run: nothing to clear, and nothing the ledger should keep.
        removed.done.extend(ids);
        return Ok(removed);
    }
    let blank: Map<String, Value> = properties
        .iter()
        .map(|p| ((*p).to_string(), Value::String(String::new())))
        .collect();
    let path = client.routes.batch(object_type, "update");
    for chunk in ids.chunks(PER_REQUEST) {
        let body = json!({"inputs": chunk.iter().map(|id| json!({"id": id.to_string(), "properties": blank})).collect::<Vec<_>>()});
        match client.post(&path, &body, object_type).await {
            Err(SendFailure::Fatal(f)) => return Err(f),
            Err(SendFailure::Exhausted { reason, .. }) => removed.fail(chunk.len(), reason),
            Ok(reply) if matches!(reply.status, 200 | 207) => {
                let parsed: BatchResponse = match serde_json::from_slice(&reply.body) {
                    Ok(p) => p,
                    Err(e) => {
                        removed.fail(chunk.len(), format!("unreadable answer: {e}"));
                        continue;
                    }
                };
                let mut answered = 0;
                for result in &parsed.results {
                    let id = match &result.id {
                        Value::String(s) => s.parse().ok(),
                        Value::Number(n) => n.as_i64(),
                        _ => None,
                    };
                    if let Some(id) = id {
                        removed.done.push(id);
                        answered += 1;
                    }
                }
                for error in &parsed.errors {
                    // Ids HubSpot no longer has are as good as removed.
                    for id in error.ids() {
                        if let Ok(id) = id.parse() {
                            removed.done.push(id);
                            answered += 1;
                        }
                    }
                }
                if answered < chunk.len() {
                    let reason = parsed
                        .errors
                        .iter()
                        .find_map(|e| e.message.clone())
                        .unwrap_or_else(|| "not acknowledged".into());
                    removed.fail(chunk.len() - answered, reason);
                }
            }
            Ok(reply) => removed.fail(chunk.len(), refusal(&reply)),
        }
    }
    Ok(removed)
}

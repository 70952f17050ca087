//! Calls whose 2xx answer is read as JSON: any `POST`, and keys to record ids by a unique
//! property (`POST …/batch/read` with `idProperty`, 100 keys a request).

use std::collections::HashMap;

use super::wire::ErrorBody;
use super::{CallError, Client, SendFailure};

impl Client {
    /// `POST path` and the JSON answer of a 2xx; [`CallError::Failed`] says why there is no
    /// usable answer (retries ran out, HubSpot refused, the body was unreadable).
    pub async fn post_json(
        &self,
        path: &str,
        body: &impl serde::Serialize,
        object_type: &str,
    ) -> Result<serde_json::Value, CallError> {
        match self.post(path, body, object_type).await {
            Err(SendFailure::Fatal(f)) => Err(f.into()),
            Err(SendFailure::Exhausted {
                attempts, reason, ..
            }) => Err(CallError::Failed(format!(
                "gave up after {attempts} attempts; last failure: {reason}"
            ))),
            Ok(reply) if (200..300).contains(&reply.status) => serde_json::from_slice(&reply.body)
                .map_err(|e| CallError::Failed(format!("unreadable answer: {e}"))),
            Ok(reply) => {
                let message = ErrorBody::parse(&reply.body).message.unwrap_or_default();
                Err(CallError::Failed(format!(
                    "HTTP {}: {message}",
                    reply.status
                )))
            }
        }
    }

    /// HubSpot's record ids of `keys`, found by `id_property` (`POST …/batch/read`, 100 keys a
    /// request). Keys come back normalised as HubSpot matches them (emails lowercased); keys
    /// with no record are absent.
    pub async fn find_ids(
        &self,
        object_type: &str,
        id_property: &str,
        keys: &[String],
    ) -> Result<HashMap<String, String>, CallError> {
        let normalise = |k: &str| {
            if id_property == "email" {
                k.trim().to_lowercase()
            } else {
                k.to_string()
            }
        };
        let mut found = HashMap::new();
        for chunk in keys.chunks(100) {
            let body = serde_json::json!({
                "idProperty": id_property,
                "properties": [id_property],
                "inputs": chunk.iter().map(|k| serde_json::json!({"id": k})).collect::<Vec<_>>(),
            });
            let path = self.routes.batch(object_type, "read");
            let answer = match self.post_json(&path, &body, object_type).await {
                Ok(answer) => answer,
                Err(e) => {
                    return Err(CallError::Failed(format!("lookup failed: {}", e.reason()?)));
                }
            };
            for result in answer["results"].as_array().into_iter().flatten() {
                let id = match &result["id"] {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if let Some(key) = result["properties"][id_property].as_str() {
                    found.insert(normalise(key), id);
                }
            }
        }
        Ok(found)
    }
}

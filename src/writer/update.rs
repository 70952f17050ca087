//! `update_only`: the records' ids found by key, then `POST …/batch/update` by id.

use std::collections::HashMap;

use super::{Effect, GroupReply, InputOutcome, Target, interpret};
use crate::error::FatalError;
use crate::hubspot::Client;
use crate::model::rejection::Category;
use crate::model::rejection::Rejection;
use crate::pipeline::batch::Input;

/// `update_only`: finds the existing records by key, then `POST …/batch/update` by record id.
/// Keys with no record are rejected as `NOT_FOUND`; nothing is created.
pub(super) async fn send(
    client: &Client,
    target: &Target,
    id_property: &str,
    group: &[&Input],
) -> Result<GroupReply, FatalError> {
    let keys: Vec<String> = group.iter().map(|i| i.key.to_string()).collect();
    let ids = match client
        .find_ids(&target.object_type, id_property, &keys)
        .await
    {
        Ok(ids) => ids,
        Err(e) => {
            // Not about any one input: splitting the batch would only repeat the lookup.
            let rejection = Rejection::local(Category::LookupFailed, e.reason()?, None);
            return Ok(GroupReply::PerInput(vec![Err(rejection); group.len()]));
        }
    };
    let found: Vec<&Input> = group
        .iter()
        .copied()
        .filter(|i| ids.contains_key(i.key.as_str()))
        .collect();
    let traces: Vec<String> = found.iter().map(|i| i.trace_id()).collect();
    let inputs: Vec<serde_json::Value> = found
        .iter()
        .zip(&traces)
        .map(|(i, trace)| serde_json::json!({"id": ids[i.key.as_str()], "properties": i.properties, "objectWriteTraceId": trace}))
        .collect();
    let mut written: HashMap<String, InputOutcome> = HashMap::new();
    if !found.is_empty() {
        let path = client.routes.batch(&target.object_type, "update");
        let answer = client
            .post(
                &path,
                &serde_json::json!({ "inputs": inputs }),
                &target.object_type,
            )
            .await;
        match interpret(target, &found, &traces, answer, Effect::Updated)? {
            GroupReply::Split(rejection) => return Ok(GroupReply::Split(rejection)),
            GroupReply::PerInput(outcomes) => {
                for (input, outcome) in found.iter().zip(outcomes) {
                    written.insert(input.key.to_string(), outcome);
                }
            }
        }
    }
    let outcomes = group
        .iter()
        .map(|input| {
            written.remove(input.key.as_str()).unwrap_or_else(|| {
                Err(Rejection::local(
                    Category::NotFound,
                    format!(
                        "update_only: no {} record has {} = '{}', and this stream never creates records",
                        target.object_type, id_property, input.key
                    ),
                    Some(id_property),
                ))
            })
        })
        .collect();
    Ok(GroupReply::PerInput(outcomes))
}

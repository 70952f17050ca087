//! `create_only`: `POST …/batch/create`. With a key, the keys are looked up first and a record
//! whose key exists is `SKIPPED` (not written, not rejected); without one, every record is
//! created.

use std::collections::HashMap;

use serde_json::json;

use super::{Effect, GroupReply, InputOutcome, Target, Written, interpret};
use crate::error::FatalError;
use crate::hubspot::Client;
use crate::pipeline::batch::Input;
use crate::rejection::Rejection;

/// Creates the inputs of `group` whose key (a value of `id_property`, when given) no record
/// has yet.
pub(super) async fn send(
    client: &Client,
    target: &Target,
    id_property: Option<&str>,
    group: &[Input],
) -> Result<GroupReply, FatalError> {
    let existing: HashMap<String, String> = match id_property {
        None => HashMap::new(),
        Some(property) => {
            let keys: Vec<String> = group.iter().map(|i| i.key.clone()).collect();
            match client
                .find_ids(&target.object_type, property, &keys)
                .await?
            {
                Ok(ids) => ids,
                Err(reason) => {
                    let rejection = Rejection::local("LOOKUP_FAILED", reason, None);
                    return Ok(GroupReply::PerInput(vec![Err(rejection); group.len()]));
                }
            }
        }
    };
    let new: Vec<&Input> = group
        .iter()
        .filter(|i| !existing.contains_key(&i.key))
        .collect();
    let mut created: HashMap<String, InputOutcome> = HashMap::new();
    if !new.is_empty() {
        let traces: Vec<String> = new.iter().map(|i| i.trace_id()).collect();
        let inputs: Vec<serde_json::Value> = new
            .iter()
            .zip(&traces)
            .map(|(i, trace)| json!({"properties": i.properties, "objectWriteTraceId": trace}))
            .collect();
        let path = format!("/crm/v3/objects/{}/batch/create", target.object_type);
        let answer = client
            .post(&path, &json!({ "inputs": inputs }), &target.object_type)
            .await;
        match interpret(target, &new, &traces, answer, Effect::Created)? {
            GroupReply::Split(rejection) => return Ok(GroupReply::Split(rejection)),
            GroupReply::PerInput(outcomes) => {
                for (trace, outcome) in traces.into_iter().zip(outcomes) {
                    created.insert(trace, outcome);
                }
            }
        }
    }
    let outcomes = group
        .iter()
        .map(|input| match existing.get(&input.key) {
            Some(id) => Ok(Written {
                effect: Effect::Skipped,
                id: id.clone(),
            }),
            None => created.remove(&input.trace_id()).unwrap_or_else(|| {
                Err(Rejection::local(
                    "NOT_ACKNOWLEDGED",
                    "HubSpot's answer to the create did not mention this record",
                    None,
                ))
            }),
        })
        .collect();
    Ok(GroupReply::PerInput(outcomes))
}

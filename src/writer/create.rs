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

/// `POST …/batch/create` of `inputs`: their outcomes by trace id, or the whole-request
/// refusal for the driver to split on.
pub(super) async fn create_inputs(
    client: &Client,
    target: &Target,
    inputs: &[&Input],
) -> Result<Result<HashMap<String, InputOutcome>, GroupReply>, FatalError> {
    let mut created = HashMap::new();
    if inputs.is_empty() {
        return Ok(Ok(created));
    }
    let traces: Vec<String> = inputs.iter().map(|i| i.trace_id()).collect();
    let body: Vec<serde_json::Value> = inputs
        .iter()
        .zip(&traces)
        .map(|(i, trace)| json!({"properties": i.properties, "objectWriteTraceId": trace}))
        .collect();
    let path = format!("/crm/v3/objects/{}/batch/create", target.object_type);
    let answer = client
        .post(&path, &json!({ "inputs": body }), &target.object_type)
        .await;
    match interpret(target, inputs, &traces, answer, Effect::Created)? {
        split @ GroupReply::Split(_) => Ok(Err(split)),
        GroupReply::PerInput(outcomes) => {
            created.extend(traces.into_iter().zip(outcomes));
            Ok(Ok(created))
        }
    }
}

/// Creates the inputs of `group` whose key (a value of `id_property`, when given) no record
/// has yet.
pub(super) async fn send(
    client: &Client,
    target: &Target,
    id_property: Option<&str>,
    group: &[&Input],
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
        .copied()
        .filter(|i| !existing.contains_key(&i.key))
        .collect();
    let mut created = match create_inputs(client, target, &new).await? {
        Ok(created) => created,
        Err(split) => return Ok(split),
    };
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

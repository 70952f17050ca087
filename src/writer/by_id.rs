//! `id_field`: the records hold HubSpot's record ids; `POST …/batch/update` by id.
//!
//! HubSpot answers an unknown id with one grouped `OBJECT_NOT_FOUND` naming the ids, and
//! leaves a merged-away id out of its answer altogether (recorded); such an input is sent
//! again alone as `PATCH /crm/v3/objects/{type}/{id}`, which HubSpot follows to the record the
//! id was merged into.

use serde_json::json;

use super::{Effect, GroupReply, InputOutcome, Target, Written, interpret};
use crate::error::FatalError;
use crate::hubspot::{Client, SendFailure};
use crate::model::rejection::{Category, HttpDetail, Rejection};
use crate::pipeline::batch::Input;

/// Updates `group` by the record ids that are its keys.
pub(super) async fn send(
    client: &Client,
    target: &Target,
    group: &[&Input],
) -> Result<GroupReply, FatalError> {
    let pairs: Vec<(&Input, String)> = group.iter().map(|i| (*i, i.key.to_string())).collect();
    update_ids(client, target, &pairs).await
}

/// `POST …/batch/update` of each input to the record id beside it: one outcome per pair, in
/// order, or the whole-request refusal.
pub(super) async fn update_ids(
    client: &Client,
    target: &Target,
    pairs: &[(&Input, String)],
) -> Result<GroupReply, FatalError> {
    if pairs.is_empty() {
        return Ok(GroupReply::PerInput(Vec::new()));
    }
    let traces: Vec<String> = pairs.iter().map(|(i, _)| i.trace_id()).collect();
    let inputs: Vec<serde_json::Value> = pairs
        .iter()
        .zip(&traces)
        .map(|((i, id), trace)| json!({"id": id, "properties": i.properties, "objectWriteTraceId": trace}))
        .collect();
    let path = client.routes.batch(&target.object_type, "update");
    let answer = client
        .post(&path, &json!({ "inputs": inputs }), &target.object_type)
        .await;
    let all: Vec<&Input> = pairs.iter().map(|(i, _)| *i).collect();
    let mut outcomes = match interpret(target, &all, &traces, answer, Effect::Updated)? {
        GroupReply::PerInput(outcomes) => outcomes,
        split => return Ok(split),
    };
    for ((input, id), outcome) in pairs.iter().zip(outcomes.iter_mut()) {
        if matches!(outcome, Err(r) if r.category == Category::NotAcknowledged) {
            *outcome = patch_one(client, target, input, id).await?;
        }
    }
    Ok(GroupReply::PerInput(outcomes))
}

/// `PATCH` of one input whose id the batch answer left out (merged away, as recorded).
async fn patch_one(
    client: &Client,
    target: &Target,
    input: &Input,
    record_id: &str,
) -> Result<InputOutcome, FatalError> {
    let path = client.routes.object(&target.object_type, record_id);
    let body = serde_json::to_vec(&json!({ "properties": input.properties }))
        .map_err(|e| FatalError::Request(format!("cannot encode the request: {e}")))?;
    let answer = client
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(body.into()),
            &target.object_type,
        )
        .await;
    Ok(match answer {
        Err(SendFailure::Fatal(f)) => return Err(f),
        Err(exhausted @ SendFailure::Exhausted { .. }) => Err(super::retries_exhausted(exhausted)),
        Ok(reply) if reply.status == 200 => {
            let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap_or_default();
            let id = body["id"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| record_id.to_string());
            if id != record_id {
                tracing::info!(
                    object_type = %target.object_type,
                    "record {record_id} was merged into {id}; that record was updated"
                );
            }
            Ok(Written {
                effect: Effect::Updated,
                id,
            })
        }
        Ok(reply) if reply.status == 404 => {
            let mut r = Rejection::local(
                Category::ObjectNotFound,
                format!(
                    "no {} record has id {record_id} (it may have been deleted)",
                    target.object_type
                ),
                None,
            );
            r.http = HttpDetail::boxed(
                Some(reply.status),
                reply.correlation_id.clone(),
                reply.attempts,
            );
            Err(r)
        }
        Ok(reply) => Err(super::whole_batch_rejection(&reply)),
    })
}

//! Upsert: one `POST /crm/v3/objects/{type}/batch/upsert` per batch, by `id_property`.

use super::{Effect, GroupReply, Target, interpret};
use crate::error::FatalError;
use crate::hubspot::Client;
use crate::hubspot::wire::{UpsertInput, UpsertRequest};
use crate::pipeline::batch::Input;

/// `POST …/batch/upsert` by the stream's unique `id_property` (or `email` on contacts).
pub(super) async fn send(
    client: &Client,
    target: &Target,
    id_property: &str,
    group: &[&Input],
) -> Result<GroupReply, FatalError> {
    let traces: Vec<String> = group.iter().map(|i| i.trace_id()).collect();
    let request = UpsertRequest {
        inputs: group
            .iter()
            .zip(&traces)
            .map(|(input, trace)| UpsertInput {
                id: &input.key,
                id_property,
                object_write_trace_id: trace,
                properties: &input.properties,
            })
            .collect(),
    };
    let answer = client.upsert(&target.object_type, &request).await;
    interpret(target, group, &traces, answer, Effect::Updated)
}

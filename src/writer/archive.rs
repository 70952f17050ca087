//! `hard_delete`: records the tap marked deleted (`_sdc_deleted_at`) archive the HubSpot record
//! their key finds, `POST …/batch/archive` by id. A key that finds nothing is `SKIPPED`; one
//! that finds several (by search) is rejected as `AMBIGUOUS_MATCH`.

use std::collections::HashMap;

use serde_json::json;

use super::lookup::{self, Lookup};
use super::{Effect, GroupReply, InputOutcome, Strategy, Target, Written};
use crate::error::FatalError;
use crate::hubspot::{CallError, Client, SendFailure};
use crate::model::rejection::Category;
use crate::model::rejection::Rejection;
use crate::pipeline::batch::Input;

/// The record ids of `inputs`' keys (several for an ambiguous search match);
/// [`CallError::Failed`] says why the lookup failed.
async fn resolve(client: &Client, target: &Target, inputs: &[&Input]) -> Result<Lookup, CallError> {
    let keys: Vec<String> = inputs.iter().map(|i| i.key.to_string()).collect();
    let single = |found: HashMap<String, String>| Lookup {
        found: found.into_iter().map(|(k, id)| (k, vec![id])).collect(),
        ..Lookup::default()
    };
    match &target.strategy {
        Strategy::UpdateById => client
            .find_ids(&target.object_type, "hs_object_id", &keys)
            .await
            .map(single),
        Strategy::Upsert { id_property }
        | Strategy::UpdateByKey { id_property }
        | Strategy::CreateNew { id_property } => client
            .find_ids(&target.object_type, id_property, &keys)
            .await
            .map(single),
        Strategy::SearchMatch { property, .. } => {
            // A key search does not find yet may be a record written moments ago: searched
            // again once the index has caught up before the deletion is skipped.
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            lookup::find_searched(
                client,
                &target.lookups,
                &target.object_type,
                property,
                &keys,
                true,
            )
            .await
        }
        Strategy::CreateAll => Err(CallError::Failed(
            "a stream without a key cannot find records to archive".into(),
        )),
    }
}

/// Archives the records `inputs` (all marked deleted) find.
pub(super) async fn send(
    client: &Client,
    target: &Target,
    inputs: &[&Input],
) -> Result<GroupReply, FatalError> {
    let Lookup { found, refused, .. } = match resolve(client, target, inputs).await {
        Ok(lookup) => lookup,
        Err(e) => {
            let rejection = Rejection::local(Category::LookupFailed, e.reason()?, None);
            return Ok(GroupReply::PerInput(vec![Err(rejection); inputs.len()]));
        }
    };
    let mut outcomes: Vec<Option<InputOutcome>> = vec![None; inputs.len()];
    let mut archive: Vec<(usize, String)> = Vec::new();
    for (n, input) in inputs.iter().enumerate() {
        if let Some(reason) = refused.get(input.key.as_str()) {
            outcomes[n] = Some(Err(Rejection::local(
                Category::LookupFailed,
                reason.clone(),
                None,
            )));
            continue;
        }
        match found.get(input.key.as_str()).map(Vec::as_slice) {
            None | Some([]) => {
                outcomes[n] = Some(Ok(Written {
                    effect: Effect::Skipped,
                    id: String::new(),
                }));
            }
            Some([id]) => archive.push((n, id.clone())),
            Some(several) => {
                outcomes[n] = Some(Err(Rejection::local(
                    Category::AmbiguousMatch,
                    format!(
                        "the deletion of {} matches {} {} records (ids {}); none was archived",
                        input.key,
                        several.len(),
                        target.object_type,
                        several.join(", ")
                    ),
                    None,
                )));
            }
        }
    }
    for chunk in archive.chunks(100) {
        let body =
            json!({"inputs": chunk.iter().map(|(_, id)| json!({"id": id})).collect::<Vec<_>>()});
        let path = client.routes.batch(&target.object_type, "archive");
        let answer = client.post(&path, &body, &target.object_type).await;
        let result: Result<(), Rejection> = match answer {
            Err(SendFailure::Fatal(f)) => return Err(f),
            Err(exhausted @ SendFailure::Exhausted { .. }) => {
                Err(super::retries_exhausted(exhausted))
            }
            Ok(reply) if reply.status == 204 || reply.status == 200 => Ok(()),
            Ok(reply) => Err(super::whole_batch_rejection(&reply)),
        };
        for (n, id) in chunk {
            outcomes[*n] = Some(result.clone().map(|()| Written {
                effect: Effect::Archived,
                id: id.clone(),
            }));
        }
    }
    if let Strategy::SearchMatch { property, .. } = &target.strategy {
        for (n, input) in inputs.iter().enumerate() {
            if matches!(&outcomes[n], Some(Ok(w)) if w.effect == Effect::Archived) {
                target
                    .lookups
                    .ids
                    .forget(&target.object_type, property, &input.key);
            }
        }
    }
    Ok(GroupReply::PerInput(
        outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| {
                    Err(Rejection::local(
                        Category::NotAcknowledged,
                        "not archived",
                        None,
                    ))
                })
            })
            .collect(),
    ))
}

//! `match_property`: records found by searching a property without unique values (companies'
//! `domain`, a deal's name).
//!
//! The batch's keys are found through [`lookup`](super::lookup): the ids this run holds, then
//! `POST …/search` with `IN` filters sized to HubSpot's body limit. Each key then has no match
//! (created, or by `write_mode` `NOT_FOUND` / ...), one (updated by id, or `SKIPPED` for
//! `create_only`), or several (`AMBIGUOUS_MATCH`, listing the ids). HubSpot's search index
//! lags behind writes, so the keys this run created are remembered and updated by id even
//! when search cannot find them yet: a key seen twice never creates two records. Before
//! `update_only` declares a key `NOT_FOUND`, it searches again once the index has caught up;
//! a key with no match is created at once (waiting for every new key would make a first load
//! several times slower).

use std::collections::HashMap;

use super::lookup::find_searched;
use super::{Effect, GroupReply, InputOutcome, Target, Written, by_id, create};
use crate::config::WriteMode;
use crate::error::FatalError;
use crate::hubspot::Client;
use crate::model::rejection::Category;
use crate::model::rejection::Rejection;
use crate::pipeline::batch::Input;

/// Writes `group`, each input matched to a record by searching `property`.
pub(super) async fn send(
    client: &Client,
    target: &Target,
    property: &str,
    write_mode: WriteMode,
    group: &[&Input],
) -> Result<GroupReply, FatalError> {
    let keys: Vec<&str> = group.iter().map(|i| i.key.as_str()).collect();
    let catch_up = write_mode == WriteMode::UpdateOnly;
    let lookup = match find_searched(
        client,
        &target.lookups,
        &target.object_type,
        property,
        &keys,
        catch_up,
    )
    .await
    {
        Ok(lookup) => lookup,
        Err(e) => {
            // Not about any one input: splitting the batch would only repeat the search.
            let rejection = Rejection::local(Category::LookupFailed, e.reason()?, Some(property));
            return Ok(GroupReply::PerInput(vec![Err(rejection); group.len()]));
        }
    };
    enum Plan {
        Update(String),
        Create,
        Done(InputOutcome),
    }
    let plans: Vec<Plan> = group
        .iter()
        .map(|input| {
            if let Some(reason) = lookup.refused.get(input.key.as_str()) {
                return Plan::Done(Err(Rejection::local(
                    Category::LookupFailed,
                    reason.clone(),
                    Some(property),
                )));
            }
            let ids = lookup.found.get(input.key.as_str()).cloned().unwrap_or_default();
            match (ids.as_slice(), write_mode) {
                ([], WriteMode::UpdateOnly) => Plan::Done(Err(Rejection::local(
                    Category::NotFound,
                    format!(
                        "update_only: no {} record has {property} = '{}', and this stream never creates records",
                        target.object_type, input.key
                    ),
                    Some(property),
                ))),
                ([], _) => Plan::Create,
                ([id], WriteMode::CreateOnly) => Plan::Done(Ok(Written {
                    effect: Effect::Skipped,
                    id: id.clone(),
                })),
                ([id], _) => Plan::Update(id.clone()),
                (several, _) => Plan::Done(Err(Rejection::local(
                    Category::AmbiguousMatch,
                    format!(
                        "{} {} records have {property} = '{}' (ids {}); merge them in HubSpot or match by a unique property",
                        several.len(),
                        target.object_type,
                        input.key,
                        several.join(", ")
                    ),
                    Some(property),
                ))),
            }
        })
        .collect();
    let updates: Vec<(&Input, String)> = group
        .iter()
        .zip(&plans)
        .filter_map(|(i, p)| match p {
            Plan::Update(id) => Some((*i, id.clone())),
            _ => None,
        })
        .collect();
    let creates: Vec<&Input> = group
        .iter()
        .zip(&plans)
        .filter(|(_, p)| matches!(p, Plan::Create))
        .map(|(i, _)| *i)
        .collect();
    let mut updated = match by_id::update_ids(client, target, &updates).await? {
        GroupReply::PerInput(outcomes) => updates
            .iter()
            .map(|(i, _)| i.trace_id())
            .zip(outcomes)
            .collect::<HashMap<_, _>>(),
        split => return Ok(split),
    };
    // A remembered id (created earlier in this run, or known from the ledger) that HubSpot no
    // longer has: forgotten, and the input takes the normal path (search) once more.
    let stale: Vec<&Input> = updates
        .iter()
        .filter(|(i, _)| lookup.held.contains(i.key.as_str()))
        .filter(
            |(i, _)| matches!(updated.get(&i.trace_id()), Some(Err(r)) if r.is_object_not_found()),
        )
        .map(|(i, _)| *i)
        .collect();
    if !stale.is_empty() {
        for input in &stale {
            target
                .lookups
                .ids
                .forget(&target.object_type, property, &input.key);
        }
        tracing::debug!(
            inputs = stale.len(),
            "remembered record ids no longer exist; searching again"
        );
        match Box::pin(send(client, target, property, write_mode, &stale)).await? {
            GroupReply::PerInput(outcomes) => {
                for (input, outcome) in stale.iter().zip(outcomes) {
                    updated.insert(input.trace_id(), outcome);
                }
            }
            split => return Ok(split),
        }
    }
    let mut created = match create::create_inputs(client, target, &creates, &HashMap::new()).await?
    {
        create::Created::PerInput(created) => created,
        create::Created::Refused(split) => return Ok(split),
    };
    for input in &creates {
        if let Some(Ok(w)) = created.get(&input.trace_id()) {
            target
                .lookups
                .ids
                .insert(&target.object_type, property, &input.key, &w.id);
        }
    }
    let outcomes = group
        .iter()
        .zip(plans)
        .map(|(input, plan)| match plan {
            Plan::Done(outcome) => outcome,
            Plan::Update(_) => updated
                .remove(&input.trace_id())
                .unwrap_or_else(|| Err(not_answered())),
            Plan::Create => created
                .remove(&input.trace_id())
                .unwrap_or_else(|| Err(not_answered())),
        })
        .collect();
    Ok(GroupReply::PerInput(outcomes))
}

fn not_answered() -> Rejection {
    Rejection::local(
        Category::NotAcknowledged,
        "HubSpot's answer did not mention this record; it may not have been written",
        None,
    )
}

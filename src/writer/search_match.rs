//! `match_property`: records found by searching a property without unique values (companies'
//! `domain`, a deal's name).
//!
//! The batch's keys go to `POST …/search` as one `IN` filter of up to 100 values (paged, at
//! most HubSpot's 10,000 results), paced by the search limit. Each key then has no match
//! (created, or by `write_mode` `NOT_FOUND` / ...), one (updated by id, or `SKIPPED` for
//! `create_only`), or several (`AMBIGUOUS_MATCH`, listing the ids). HubSpot's search index
//! lags behind writes, so the keys this run created are remembered and updated by id even
//! when search cannot find them yet: a key seen twice never creates two records.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{Effect, GroupReply, InputOutcome, Target, Written, by_id, create};
use crate::config::WriteMode;
use crate::error::FatalError;
use crate::hubspot::Client;
use crate::mapping::keys::KeyKind;
use crate::mapping::values::Field;
use crate::pipeline::batch::Input;
use crate::rejection::Rejection;

/// Keys per search request (HubSpot's `IN` limit, as the emulator applies it).
const KEYS_PER_SEARCH: usize = 100;
/// Results per search page (HubSpot's maximum `limit`).
const PAGE: usize = 200;
/// Results a search can page through.
const MAX_RESULTS: usize = 10_000;

/// The records each key matches, by key; the inner `Err` says why the search failed.
pub(super) async fn matches(
    client: &Client,
    object_type: &str,
    property: &str,
    keys: &[&str],
) -> Result<Result<HashMap<String, Vec<String>>, String>, FatalError> {
    let kind = KeyKind::for_search(property);
    let mut found: HashMap<String, Vec<String>> = HashMap::new();
    for chunk in keys.chunks(KEYS_PER_SEARCH) {
        let mut after: Option<String> = None;
        let mut seen = 0usize;
        loop {
            let mut body = json!({
                "filterGroups": [{"filters": [{"propertyName": property, "operator": "IN", "values": chunk}]}],
                "properties": [property],
                "limit": PAGE,
            });
            if let Some(a) = &after {
                body["after"] = json!(a);
            }
            let answer = match client.search(object_type, &body).await? {
                Ok(a) => a,
                Err(reason) => return Ok(Err(reason)),
            };
            let results = answer["results"].as_array().cloned().unwrap_or_default();
            seen += results.len();
            for r in &results {
                let Some(id) = id_text(&r["id"]) else {
                    continue;
                };
                let value = r["properties"][property].as_str().unwrap_or_default();
                if let Ok(key) = kind.normalise(Some(&Field::Text(value.into()))) {
                    let ids = found.entry(key).or_default();
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
            after = answer["paging"]["next"]["after"].as_str().map(String::from);
            if after.is_none() || results.is_empty() {
                break;
            }
            if seen + PAGE > MAX_RESULTS {
                return Ok(Err(format!(
                    "search for these {property} values matched more than {MAX_RESULTS} records, more than HubSpot lets a search page through"
                )));
            }
        }
    }
    Ok(Ok(found))
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Writes `group`, each input matched to a record by searching `property`.
pub(super) async fn send(
    client: &Client,
    target: &Target,
    property: &str,
    write_mode: WriteMode,
    group: &[&Input],
) -> Result<GroupReply, FatalError> {
    let remembered: HashMap<String, String> = match &target.created {
        Some(known) => {
            let known = known.lock().unwrap_or_else(|e| e.into_inner());
            group
                .iter()
                .filter_map(|i| known.get(&i.key).map(|id| (i.key.clone(), id.clone())))
                .collect()
        }
        None => HashMap::new(),
    };
    let unknown: Vec<&str> = group
        .iter()
        .map(|i| i.key.as_str())
        .filter(|k| !remembered.contains_key(*k))
        .collect();
    let found = if unknown.is_empty() {
        HashMap::new()
    } else {
        match matches(client, &target.object_type, property, &unknown).await? {
            Ok(found) => found,
            Err(reason) => {
                // Not about any one input: splitting the batch would only repeat the search.
                let rejection = Rejection::local("LOOKUP_FAILED", reason, Some(property));
                return Ok(GroupReply::PerInput(vec![Err(rejection); group.len()]));
            }
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
            let ids: Vec<String> = match remembered.get(&input.key) {
                Some(id) => vec![id.clone()],
                None => found.get(&input.key).cloned().unwrap_or_default(),
            };
            match (ids.as_slice(), write_mode) {
                ([], WriteMode::UpdateOnly) => Plan::Done(Err(Rejection::local(
                    "NOT_FOUND",
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
                    "AMBIGUOUS_MATCH",
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
        .filter(|(i, _)| remembered.contains_key(&i.key))
        .filter(
            |(i, _)| matches!(updated.get(&i.trace_id()), Some(Err(r)) if r.is_object_not_found()),
        )
        .map(|(i, _)| *i)
        .collect();
    if !stale.is_empty() {
        if let Some(known) = &target.created {
            let mut known = known.lock().unwrap_or_else(|e| e.into_inner());
            for input in &stale {
                known.remove(&input.key);
            }
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
        Ok(created) => created,
        Err(split) => return Ok(split),
    };
    if let Some(known) = &target.created {
        let mut known = known.lock().unwrap_or_else(|e| e.into_inner());
        for input in &creates {
            if let Some(Ok(w)) = created.get(&input.trace_id()) {
                known.insert(input.key.clone(), w.id.clone());
            }
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
        "NOT_ACKNOWLEDGED",
        "HubSpot's answer did not mention this record; it may not have been written",
        None,
    )
}

//! Associations asked for by record fields, created once the records themselves are written.
//!
//! For each configured association the other records are looked up by their key
//! (`POST /crm/v3/objects/{to}/batch/read` with `idProperty`, skipped for record ids) and linked
//! with `POST /crm/v4/associations/{from}/{to}/batch/create` (a given type id) or
//! `…/batch/associate/default`. A record whose association fails is rejected as
//! `ASSOCIATION_FAILED`: it was upserted, so replaying it re-applies the same values and retries
//! only what failed.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use crate::config::AssociationConfig;
use crate::error::FatalError;
use crate::hubspot::Client;
use crate::pipeline::outcome::{Outcome, Settled};
use crate::rejection::Rejection;

/// HubSpot's limit on inputs per batch request.
const CHUNK: usize = 100;

/// An id in a HubSpot body, which may be a string or (in association answers) a number.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Creates every association the written records in `settled` ask for; a record whose
/// association cannot be made becomes a rejection. A fatal error leaves the records whose
/// associations were not attempted without an outcome.
pub async fn associate(
    client: &Client,
    from_type: &str,
    specs: &[AssociationConfig],
    settled: &mut Vec<Settled>,
) -> Result<(), FatalError> {
    for (k, spec) in specs.iter().enumerate() {
        let items: Vec<(usize, String, String)> = settled
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.outcome, Outcome::Created | Outcome::Updated))
            .filter_map(|(i, s)| {
                let from = s.record_id.clone()?;
                let (_, key) = s.origin.links.iter().find(|(n, _)| *n == k)?;
                Some((i, from, key.clone()))
            })
            .collect();
        if items.is_empty() {
            continue;
        }
        let outcome = link(client, from_type, spec, &items).await;
        let failures = match outcome {
            Ok(f) => f,
            Err(fatal) => {
                // Records still waiting for this or a later association keep no outcome: no
                // STATE covers them, and a rerun makes them again.
                settled.retain(|s| {
                    let written = matches!(s.outcome, Outcome::Created | Outcome::Updated);
                    !(written && s.origin.links.iter().any(|(n, _)| *n >= k))
                });
                return Err(fatal);
            }
        };
        for (i, reason) in failures {
            let s = &mut settled[i];
            let key = s
                .origin
                .links
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let message = format!(
                "the record was upserted (id {}), but its association to {} with {} = '{key}' failed: {reason}",
                s.record_id.as_deref().unwrap_or("?"),
                spec.to_object_type,
                spec.to_id_property
            );
            s.outcome = Outcome::Rejected(Rejection::local(
                "ASSOCIATION_FAILED",
                message,
                Some(&spec.field),
            ));
        }
    }
    Ok(())
}

/// Looks up the other records and links them; returns the failures by `settled` index.
async fn link(
    client: &Client,
    from_type: &str,
    spec: &AssociationConfig,
    items: &[(usize, String, String)],
) -> Result<Vec<(usize, String)>, FatalError> {
    let to_type = spec.to_object_type.as_str();
    let normalise = |key: &str| {
        if spec.to_id_property == "email" {
            key.to_lowercase()
        } else {
            key.to_string()
        }
    };
    let mut to_ids: HashMap<String, String> = HashMap::new();
    let mut lookup_error: Option<String> = None;
    if spec.to_id_property == "hs_object_id" {
        to_ids.extend(
            items
                .iter()
                .filter(|(_, _, k)| k.parse::<u64>().is_ok())
                .map(|(_, _, k)| (k.clone(), k.clone())),
        );
    } else {
        let keys: Vec<String> = items
            .iter()
            .map(|(_, _, k)| k.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        match client
            .find_ids(to_type, &spec.to_id_property, &keys)
            .await?
        {
            Ok(found) => to_ids = found,
            Err(reason) => lookup_error = Some(reason),
        }
    }
    let mut failures = Vec::new();
    let mut pairs = Vec::new();
    for (i, from, key) in items {
        match to_ids.get(&normalise(key)) {
            Some(to) => pairs.push((*i, from.clone(), to.clone())),
            None => failures.push((
                *i,
                lookup_error
                    .clone()
                    .unwrap_or_else(|| format!("no {to_type} record has that value")),
            )),
        }
    }
    // The same pair asked for twice (merged records) is sent once.
    let mut seen = HashSet::new();
    let unique: Vec<(usize, String, String)> = pairs
        .iter()
        .filter(|(_, f, t)| seen.insert((f.clone(), t.clone())))
        .cloned()
        .collect();
    let mut answered: HashMap<(String, String), Option<String>> = HashMap::new();
    for chunk in unique.chunks(CHUNK) {
        let (path, inputs): (String, Vec<Value>) = match spec.type_id {
            Some(type_id) => (
                format!("/crm/v4/associations/{from_type}/{to_type}/batch/create"),
                chunk
                    .iter()
                    .map(|(_, f, t)| json!({"from": {"id": f}, "to": {"id": t},
                        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}))
                    .collect(),
            ),
            None => (
                format!("/crm/v4/associations/{from_type}/{to_type}/batch/associate/default"),
                chunk.iter().map(|(_, f, t)| json!({"from": {"id": f}, "to": {"id": t}})).collect(),
            ),
        };
        let answer = client
            .post_json(&path, &json!({ "inputs": inputs }), from_type)
            .await?;
        let (made, reason) = match answer {
            Ok(answer) => {
                let made: HashSet<(String, String)> = answer["results"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| {
                        let from =
                            id_text(&r["fromObjectId"]).or_else(|| id_text(&r["from"]["id"]))?;
                        let to = id_text(&r["toObjectId"]).or_else(|| id_text(&r["to"]["id"]))?;
                        Some((from, to))
                    })
                    .collect();
                let first_error = answer["errors"][0]["message"].as_str().map(String::from);
                (
                    made,
                    first_error.unwrap_or_else(|| "HubSpot did not confirm it".into()),
                )
            }
            Err(reason) => (HashSet::new(), reason),
        };
        for (_, f, t) in chunk {
            let pair = (f.clone(), t.clone());
            let failed = (!made.contains(&pair)).then(|| reason.clone());
            answered.insert(pair, failed);
        }
    }
    for (i, f, t) in pairs {
        if let Some(Some(reason)) = answered.get(&(f, t)) {
            failures.push((i, reason.clone()));
        }
    }
    Ok(failures)
}

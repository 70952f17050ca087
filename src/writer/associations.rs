//! Associations asked for by record fields, created once the records themselves are written.
//!
//! For each configured association the other records are looked up by their key (see
//! [`find_targets`]; skipped for record ids) and linked
//! with `POST /crm/v4/associations/{from}/{to}/batch/create` (a given type id) or
//! `…/batch/associate/default`. Every link of a record is attempted; a record with a link that
//! fails is rejected as `ASSOCIATION_FAILED`, naming each failed key: it was upserted, so
//! replaying it re-applies the same values and retries what failed.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use crate::config::AssociationConfig;
use crate::error::FatalError;
use crate::hubspot::{CallError, Client};
use crate::mapping::keys::KeyKind;
use crate::mapping::values::Field;
use crate::model::rejection::Category;
use crate::model::rejection::Rejection;
use crate::pipeline::outcome::{Outcome, Settled};

use super::lookup::{self, Lookup, Lookups, id_text};

/// HubSpot's limit on inputs per batch request.
const CHUNK: usize = 100;

/// Creates every association the written records in `settled` ask for. Every link of a
/// record is attempted; a record with any link that cannot be made becomes one rejection
/// naming each failed key and why (the links that were made stay made). A fatal error leaves
/// the records whose associations were not all attempted without an outcome.
pub async fn associate(
    client: &Client,
    lookups: &Lookups,
    from_type: &str,
    specs: &[AssociationConfig],
    settled: &mut Vec<Settled>,
) -> Result<(), FatalError> {
    let written: Vec<bool> = settled
        .iter()
        .map(|s| {
            matches!(
                s.outcome,
                Outcome::Created | Outcome::Updated | Outcome::Imported
            ) && s.record_id.is_some()
        })
        .collect();
    // Failed links by `settled` index: (association index, key, reason).
    let mut failed: HashMap<usize, Vec<(usize, String, String)>> = HashMap::new();
    for (k, spec) in specs.iter().enumerate() {
        // Every key the record names for this association (a field may hold several).
        let items: Vec<(usize, String, String)> = settled
            .iter()
            .enumerate()
            .filter(|(i, _)| written[*i])
            .filter_map(|(i, s)| Some((i, s.record_id.clone()?, s)))
            .flat_map(|(i, from, s)| {
                s.origin
                    .links
                    .iter()
                    .filter(move |(n, _)| *n == k)
                    .map(move |(_, key)| (i, from.clone(), key.clone()))
            })
            .collect();
        if items.is_empty() {
            continue;
        }
        match link(client, lookups, from_type, spec, &items).await {
            Ok(failures) => {
                for (i, key, reason) in failures {
                    failed.entry(i).or_default().push((k, key, reason));
                }
            }
            Err(fatal) => {
                // Records still waiting for this or a later association keep no outcome: no
                // STATE covers them, and a rerun makes them again.
                let mut i = 0;
                settled.retain(|s| {
                    let keep = !(written[i] && s.origin.links.iter().any(|(n, _)| *n >= k));
                    i += 1;
                    keep
                });
                return Err(fatal);
            }
        }
    }
    for (i, failures) in failed {
        let s = &mut settled[i];
        let what: Vec<String> = failures
            .iter()
            .map(|(k, key, reason)| {
                let spec = &specs[*k];
                format!(
                    "to {} with {} = '{key}' failed: {reason}",
                    spec.to_object_type, spec.to_id_property
                )
            })
            .collect();
        let made = s.origin.links.len().saturating_sub(failures.len());
        let kept = if made > 0 {
            format!(" ({made} other link(s) were made)")
        } else {
            String::new()
        };
        let message = format!(
            "the record was written (id {}), but its association {}{kept}",
            s.record_id.as_deref().unwrap_or("?"),
            what.join("; its association ")
        );
        let field = failures.first().map(|(k, ..)| specs[*k].field.as_str());
        s.outcome = Outcome::Rejected(Rejection::local(
            Category::AssociationFailed,
            message,
            field,
        ));
    }
    Ok(())
}

/// The record ids `keys` find on the association's other type, by normalised key (several
/// for an ambiguous search match): record ids as given, unique values by `batch/read`, other
/// properties through [`lookup`] (the ids this run holds, then search, searched again once
/// the index has caught up). [`CallError::Failed`] is why the lookup failed as a whole.
pub(super) async fn find_targets(
    client: &Client,
    lookups: &Lookups,
    spec: &AssociationConfig,
    keys: &[String],
) -> Result<Lookup, CallError> {
    let to_type = spec.to_object_type.as_str();
    if spec.to_id_property == "hs_object_id" {
        return Ok(Lookup {
            found: keys
                .iter()
                .filter(|k| k.parse::<u64>().is_ok())
                .map(|k| (k.clone(), vec![k.clone()]))
                .collect(),
            ..Lookup::default()
        });
    }
    if spec.searched {
        let kind = KeyKind::for_search(&spec.to_id_property);
        let normalised: Vec<String> = keys
            .iter()
            .filter_map(|k| kind.normalise(Some(&Field::Text(k.as_str().into()))).ok())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let refs: Vec<&str> = normalised.iter().map(String::as_str).collect();
        return lookup::find_searched(client, lookups, to_type, &spec.to_id_property, &refs, true)
            .await;
    }
    client
        .find_ids(to_type, &spec.to_id_property, keys)
        .await
        .map(|found| Lookup {
            found: found.into_iter().map(|(k, id)| (k, vec![id])).collect(),
            ..Lookup::default()
        })
}

/// A link key as [`find_targets`] keys its answer.
pub(super) fn target_key(spec: &AssociationConfig, key: &str) -> String {
    if spec.searched {
        KeyKind::for_search(&spec.to_id_property)
            .normalise(Some(&Field::Text(key.into())))
            .unwrap_or_default()
    } else if spec.to_id_property == "email" {
        key.trim().to_lowercase()
    } else {
        key.to_string()
    }
}

/// Looks up the other records and links them; returns the failures by `settled` index and
/// key.
async fn link(
    client: &Client,
    lookups: &Lookups,
    from_type: &str,
    spec: &AssociationConfig,
    items: &[(usize, String, String)],
) -> Result<Vec<(usize, String, String)>, FatalError> {
    let to_type = spec.to_object_type.as_str();
    let keys: Vec<String> = items
        .iter()
        .map(|(_, _, k)| k.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let (
        Lookup {
            found: to_ids,
            refused,
            ..
        },
        lookup_error,
    ) = match find_targets(client, lookups, spec, &keys).await {
        Ok(lookup) => (lookup, None),
        Err(e) => (Lookup::default(), Some(e.reason()?)),
    };
    let mut failures = Vec::new();
    let mut pairs = Vec::new();
    for (i, from, key) in items {
        if let Some(reason) = refused.get(&target_key(spec, key)) {
            failures.push((*i, key.clone(), reason.clone()));
            continue;
        }
        match to_ids.get(&target_key(spec, key)).map(Vec::as_slice) {
            Some([to]) => pairs.push((*i, from.clone(), to.clone())),
            Some(several) if several.len() > 1 => failures.push((
                *i,
                key.clone(),
                format!(
                    "AMBIGUOUS_MATCH: {} {to_type} records have that value (ids {})",
                    several.len(),
                    several.join(", ")
                ),
            )),
            _ => failures.push((
                *i,
                key.clone(),
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
                client.routes.association_batch(from_type, to_type, "create"),
                chunk
                    .iter()
                    .map(|(_, f, t)| json!({"from": {"id": f}, "to": {"id": t},
                        "types": [{"associationCategory": spec.category.as_str(), "associationTypeId": type_id}]}))
                    .collect(),
            ),
            None => (
                client.routes.association_batch(from_type, to_type, "associate/default"),
                chunk.iter().map(|(_, f, t)| json!({"from": {"id": f}, "to": {"id": t}})).collect(),
            ),
        };
        let answer = client
            .post_json(&path, &json!({ "inputs": inputs }), from_type)
            .await;
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
            Err(e) => (HashSet::new(), e.reason()?),
        };
        for (_, f, t) in chunk {
            let pair = (f.clone(), t.clone());
            let failed = (!made.contains(&pair)).then(|| reason.clone());
            answered.insert(pair, failed);
        }
    }
    for (i, f, t) in pairs {
        if let Some(Some(reason)) = answered.get(&(f, t.clone())) {
            let key = items
                .iter()
                .find(|(n, _, k)| {
                    *n == i
                        && to_ids
                            .get(&target_key(spec, k))
                            .is_some_and(|ids| ids.contains(&t))
                })
                .map(|(_, _, k)| k.clone())
                .unwrap_or(t);
            failures.push((i, key, reason.clone()));
        }
    }
    Ok(failures)
}

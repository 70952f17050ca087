//! `create_only`: `POST …/batch/create`. With a key, the keys are looked up first and a record
//! whose key exists is `SKIPPED` (not written, not rejected); without one, every record is
//! created.

use std::collections::HashMap;

use serde_json::json;

use super::{Effect, GroupReply, InputOutcome, Target, Written, associations, interpret};
use crate::error::FatalError;
use crate::hubspot::Client;
use crate::model::rejection::Category;
use crate::model::rejection::Rejection;
use crate::pipeline::batch::Input;

/// What a `batch/create` did.
pub(super) enum Created {
    /// Each input's outcome, by trace id.
    PerInput(HashMap<String, InputOutcome>),
    /// The whole request was refused: the driver splits the group.
    Refused(GroupReply),
}

/// `POST …/batch/create` of `inputs`.
pub(super) async fn create_inputs(
    client: &Client,
    target: &Target,
    inputs: &[&Input],
    links: &HashMap<String, Vec<serde_json::Value>>,
) -> Result<Created, FatalError> {
    let mut created = HashMap::new();
    if inputs.is_empty() {
        return Ok(Created::PerInput(created));
    }
    let traces: Vec<String> = inputs.iter().map(|i| i.trace_id()).collect();
    let body: Vec<serde_json::Value> = inputs
        .iter()
        .zip(&traces)
        .map(|(i, trace)| match links.get(trace) {
            Some(associations) => json!({"properties": i.properties, "objectWriteTraceId": trace, "associations": associations}),
            None => json!({"properties": i.properties, "objectWriteTraceId": trace}),
        })
        .collect();
    let path = client.routes.batch(&target.object_type, "create");
    let answer = client
        .post(&path, &json!({ "inputs": body }), &target.object_type)
        .await;
    match interpret(target, inputs, &traces, answer, Effect::Created)? {
        split @ GroupReply::Split(_) => Ok(Created::Refused(split)),
        GroupReply::PerInput(outcomes) => {
            created.extend(traces.into_iter().zip(outcomes));
            Ok(Created::PerInput(created))
        }
    }
}

/// The inputs whose association targets were all found, with the inline `associations` of
/// each (by trace id), and the refusals of the others.
type Inline<'a> = (
    Vec<&'a Input>,
    HashMap<String, Vec<serde_json::Value>>,
    HashMap<String, InputOutcome>,
);

async fn inline_links<'a>(
    client: &Client,
    target: &Target,
    inputs: Vec<&'a Input>,
) -> Result<Inline<'a>, FatalError> {
    let mut links: HashMap<String, Vec<serde_json::Value>> = HashMap::new();
    let mut refused: HashMap<String, InputOutcome> = HashMap::new();
    for (k, spec) in target.associations.iter().enumerate() {
        let keys: Vec<String> = inputs
            .iter()
            .flat_map(|i| i.origins.iter().flat_map(|o| &o.links))
            .filter(|(n, _)| *n == k)
            .map(|(_, key)| key.clone())
            .collect::<std::collections::HashSet<_>>()
            .into_iter()
            .collect();
        if keys.is_empty() {
            continue;
        }
        let found = match associations::find_targets(client, &target.lookups, spec, &keys).await {
            Ok(found) => found,
            Err(e) => {
                let reason = e.reason()?;
                for i in &inputs {
                    refused.insert(
                        i.trace_id(),
                        Err(Rejection::local(
                            Category::AssociationFailed,
                            format!(
                                "not created: finding its {} failed: {reason}",
                                spec.to_object_type
                            ),
                            Some(&spec.field),
                        )),
                    );
                }
                continue;
            }
        };
        // Resolved at startup for inline streams; were it missing, the records would be
        // created without the association and nothing would make it later.
        let Some(type_id) = spec.type_id else {
            for i in &inputs {
                refused.insert(
                    i.trace_id(),
                    Err(Rejection::local(
                        Category::AssociationFailed,
                        format!(
                            "not created: no association type to {} was resolved",
                            spec.to_object_type
                        ),
                        Some(&spec.field),
                    )),
                );
            }
            continue;
        };
        for input in &inputs {
            let mut failed = Vec::new();
            for (_, key) in input
                .origins
                .iter()
                .flat_map(|o| &o.links)
                .filter(|(n, _)| *n == k)
            {
                let target_key = associations::target_key(spec, key);
                if let Some(reason) = found.refused.get(&target_key) {
                    failed.push(reason.clone());
                    continue;
                }
                match found.found.get(&target_key).map(Vec::as_slice) {
                    Some([id]) => links.entry(input.trace_id()).or_default().push(json!({
                        "to": {"id": id},
                        "types": [{"associationCategory": spec.category.as_str(), "associationTypeId": type_id}],
                    })),
                    Some(several) if several.len() > 1 => failed.push(format!(
                        "{} = '{key}' matches {} {} records (ids {})",
                        spec.to_id_property,
                        several.len(),
                        spec.to_object_type,
                        several.join(", ")
                    )),
                    _ => failed.push(format!(
                        "no {} record has {} = '{key}'",
                        spec.to_object_type, spec.to_id_property
                    )),
                }
            }
            if !failed.is_empty() {
                refused.insert(
                    input.trace_id(),
                    Err(Rejection::local(
                        Category::AssociationFailed,
                        format!(
                            "not created, its associations cannot all be made: {}",
                            failed.join("; ")
                        ),
                        Some(&spec.field),
                    )),
                );
            }
        }
    }
    let inputs = inputs
        .into_iter()
        .filter(|i| !refused.contains_key(&i.trace_id()))
        .collect();
    Ok((inputs, links, refused))
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
            let keys: Vec<String> = group.iter().map(|i| i.key.to_string()).collect();
            match client.find_ids(&target.object_type, property, &keys).await {
                Ok(ids) => ids,
                Err(e) => {
                    let rejection = Rejection::local(Category::LookupFailed, e.reason()?, None);
                    return Ok(GroupReply::PerInput(vec![Err(rejection); group.len()]));
                }
            }
        }
    };
    let new: Vec<&Input> = group
        .iter()
        .copied()
        .filter(|i| !existing.contains_key(i.key.as_str()))
        .collect();
    // With associations, each record's targets are found first and sent inline; a record
    // whose targets cannot all be found is not created.
    let (new, links, mut refused) = inline_links(client, target, new).await?;
    let mut created = match create_inputs(client, target, &new, &links).await? {
        Created::PerInput(created) => created,
        Created::Refused(split) => return Ok(split),
    };
    created.extend(refused.drain());
    let outcomes = group
        .iter()
        .map(|input| match existing.get(input.key.as_str()) {
            Some(id) => Ok(Written {
                effect: Effect::Skipped,
                id: id.clone(),
            }),
            None => created.remove(&input.trace_id()).unwrap_or_else(|| {
                Err(Rejection::local(
                    Category::NotAcknowledged,
                    "HubSpot's answer to the create did not mention this record",
                    None,
                ))
            }),
        })
        .collect();
    Ok(GroupReply::PerInput(outcomes))
}

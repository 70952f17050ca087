//! `--check`: what can be known before loading, without writing anything to HubSpot.
//!
//! Credentials, each stream's object type, `id_property`, renames, associations and, with
//! `--input`, the columns its SCHEMA (or CSV header, or first JSONL record) shows: which
//! property each fills and how its values are converted, which are ignored, rejected, created
//! or dropped.

use serde_json::Value;

use crate::config::{Config, UnknownFields};
use crate::error::FatalError;
use crate::hubspot::Client;
use crate::hubspot::schemas::ObjectTypes;
pub use crate::input::Columns;
use crate::mapping::fields::NewProperty;
use crate::setup::{PropertyCache, SetupError, prepare};

/// Checks every configured stream and every stream in `columns`; logs what it finds and
/// returns the number of streams that cannot be loaded as configured.
pub async fn check(
    config: &Config,
    client: &Client,
    columns: &Columns,
    hint: Option<&str>,
) -> Result<usize, FatalError> {
    let mut names: Vec<String> = config.streams.keys().cloned().collect();
    names.extend(
        columns
            .keys()
            .filter(|n| !config.streams.contains_key(*n))
            .cloned(),
    );
    if names.is_empty() {
        names.push("contacts".into());
    }
    let mut problems = 0;
    let mut types = ObjectTypes::default();
    for name in names {
        let fields = columns.get(&name);
        let mut errors = check_stream(config, client, &mut types, &name, fields).await?;
        if let Some(hint) = hint
            && !errors.is_empty()
        {
            errors.push(hint.to_string());
        }
        if errors.is_empty() {
            continue;
        }
        problems += 1;
        for e in errors {
            tracing::error!("stream {name}: {e}");
        }
    }
    Ok(problems)
}

/// One stream's problems (empty when it can be loaded); logs its mapping when it can.
async fn check_stream(
    config: &Config,
    client: &Client,
    types: &mut ObjectTypes,
    name: &str,
    fields: Option<&Vec<(String, Option<Value>)>>,
) -> Result<Vec<String>, FatalError> {
    let Some(stream) = config.stream(name) else {
        return Ok(vec![format!(
            "maps to no HubSpot object type; add it to \"streams\" in the config"
        )]);
    };
    let mut cache = PropertyCache::new();
    let mapping = match prepare(client, types, &mut cache, name, stream).await {
        Ok(m) => m,
        Err(SetupError::Stop(e)) => return Err(e),
        Err(SetupError::Problems(problems)) => {
            return Ok(problems
                .into_iter()
                .map(|p| match p {
                    FatalError::Stream { problem, .. } => problem.to_string(),
                    other => other.to_string(),
                })
                .collect());
        }
    };
    let properties = &cache[&mapping.object_type];
    let mut errors = Vec::new();
    if let Some(fields) = fields {
        if !mapping.has_key_column(fields.iter().map(|(f, _)| f.as_str())) {
            let shown: Vec<String> = fields
                .iter()
                .take(10)
                .map(|(f, _)| format!("`{}`", crate::mapping::brief(f)))
                .collect();
            errors.push(format!(
                "the input has no column for the key ({}); its columns are {}{}",
                mapping.matching,
                shown.join(", "),
                if fields.len() > 10 { ", …" } else { "" }
            ));
        }
        let plan = mapping.plan(fields.iter().map(|(f, _)| f.as_str()));
        for (field, property, kind) in &plan.mapped {
            tracing::info!("stream {name}: {field} → {property} ({kind})");
        }
        if !plan.unknown.is_empty() {
            match mapping.unknown_fields {
                UnknownFields::Ignore => tracing::warn!(
                    "stream {name}: not sent, no such property (unknown_fields: ignore): {}",
                    plan.unknown_list()
                ),
                UnknownFields::Reject => tracing::warn!(
                    "stream {name}: records with these fields are rejected (unknown_fields: reject): {}",
                    plan.unknown_list()
                ),
                UnknownFields::Create => {
                    for (field, _) in &plan.unknown {
                        let schema = fields
                            .iter()
                            .find(|(f, _)| f == field)
                            .and_then(|(_, s)| s.as_ref());
                        match NewProperty::for_field(field, schema) {
                            Ok(p) => tracing::info!(
                                "stream {name}: {field} → {} (would be created: type {}, fieldType {})",
                                p.name,
                                p.kind,
                                p.field_type
                            ),
                            Err(e) => errors.push(e),
                        }
                    }
                }
            }
        }
        if !plan.read_only.is_empty() {
            tracing::warn!(
                "stream {name}: read-only or calculated properties, never sent: {}",
                plan.read_only.join(", ")
            );
        }
        if !plan.dropped.is_empty() {
            tracing::info!("stream {name}: dropped: {}", plan.dropped.join(", "));
        }
    }
    if errors.is_empty() {
        tracing::info!(
            "stream {name}: ok, {} ({} properties known, {} association(s))",
            mapping.action(),
            properties.len(),
            mapping.associations.len()
        );
    }
    Ok(errors)
}

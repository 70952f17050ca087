//! Batch upsert, create, update, read and archive.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::*;
use crate::clock;
use crate::error::ApiError;
use crate::routes::parse_json;
use crate::state::{Ctx, Shared};
use crate::validate;

/// `POST …/batch/upsert`: by `email` (contacts) or a unique-value property.
pub async fn batch_upsert(
    State(state): State<Shared>,
    Path(object_type): Path<String>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = clock::now_iso();
    let inputs = parse_batch::<WriteInput>(&body, &ctx)?;
    check_property_names(
        &body,
        inputs.iter().flat_map(|i| i.properties.keys()),
        "upsert",
        &ctx,
    )?;
    let mut store = state.store();
    let idx = resolve(&store, &object_type, &ctx)?;
    let portal_id = store.portal_id;
    let t = &store.types[idx];
    let keys = input_keys(t, &inputs, portal_id, &ctx, |t, p| t.is_identifying(p))?;
    let traced = all_traced(&inputs);
    let mut checked = Vec::with_capacity(inputs.len());
    for (input, (property, id)) in inputs.iter().zip(&keys) {
        let mut c = check_values(t, portal_id, string_values(&input.properties, &ctx)?);
        // The id is a value of the idProperty and is validated as one.
        match validate::check(t, portal_id, property, id) {
            Ok(stored) if !c.values.iter().any(|(n, _)| n == property) => {
                c.values.push((property.clone(), stored))
            }
            Ok(_) => {}
            Err(e) if !c.errors.iter().any(|x| x.name == e.name) => c.errors.push(e),
            Err(_) => {}
        }
        checked.push(c);
    }
    fail_whole_unless_traced(traced, &checked.iter().collect::<Vec<_>>(), portal_id, &ctx)?;
    let t = &store.types[idx];
    let creating = keys
        .iter()
        .zip(&checked)
        .filter(|((property, id), _)| t.find_by(property, id).is_none())
        .map(|(_, c)| c.values.as_slice());
    check_rules(&state.settings.require_on_create, &ctx, t, creating)?;
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for ((input, (property, id)), c) in inputs.iter().zip(&keys).zip(checked) {
        let trace = &input.object_write_trace_id;
        if !c.errors.is_empty() {
            errors.push(validation_item(&c, portal_id, trace));
            continue;
        }
        let existing = store.types[idx].find_by(property, id);
        if existing.is_none() {
            let missing = validate::missing_required(&store.types[idx], &c.values);
            if !missing.is_empty() {
                let c = Checked {
                    values: Vec::new(),
                    errors: missing,
                };
                errors.push(validation_item(&c, portal_id, trace));
                continue;
            }
        }
        match store.write(idx, existing, &c.values) {
            Ok((record, created)) => {
                results.push(write_result(&store, idx, record, trace, Some(created)))
            }
            Err(conflict) if !traced => {
                return Err(conflict_error(&store.types[idx], &conflict, &ctx));
            }
            Err(conflict) => errors.push(conflict_item(&store.types[idx], &conflict, trace)),
        }
    }
    Ok(batch_response(
        &ctx,
        StatusCode::OK,
        started,
        results,
        errors,
    ))
}

/// `POST …/batch/create`: 201, or 207 per input when every input has a trace id.
pub async fn batch_create(
    State(state): State<Shared>,
    Path(object_type): Path<String>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = clock::now_iso();
    let inputs = parse_batch::<WriteInput>(&body, &ctx)?;
    check_property_names(
        &body,
        inputs.iter().flat_map(|i| i.properties.keys()),
        "create",
        &ctx,
    )?;
    let mut store = state.store();
    let idx = resolve(&store, &object_type, &ctx)?;
    let portal_id = store.portal_id;
    let traced = all_traced(&inputs);
    let mut checked = Vec::with_capacity(inputs.len());
    for input in &inputs {
        let mut c = check_values(
            &store.types[idx],
            portal_id,
            string_values(&input.properties, &ctx)?,
        );
        c.errors
            .extend(validate::missing_required(&store.types[idx], &c.values));
        let links = inline_associations(&store, idx, input, &ctx)?;
        if !traced
            && c.errors.is_empty()
            && let Err(conflict) = store.check_unique(idx, None, &c.values)
        {
            return Err(conflict_error(&store.types[idx], &conflict, &ctx));
        }
        checked.push((c, links));
    }
    fail_whole_unless_traced(
        traced,
        &checked.iter().map(|(c, _)| c).collect::<Vec<_>>(),
        portal_id,
        &ctx,
    )?;
    check_rules(
        &state.settings.require_on_create,
        &ctx,
        &store.types[idx],
        checked.iter().map(|(c, _)| c.values.as_slice()),
    )?;
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (input, (c, links)) in inputs.iter().zip(checked) {
        let trace = &input.object_write_trace_id;
        if !c.errors.is_empty() {
            errors.push(validation_item(&c, portal_id, trace));
            continue;
        }
        match store.write(idx, None, &c.values) {
            Ok((id, _)) => {
                let from = store.types[idx].type_id.clone();
                for (to_type, to_id, types) in links {
                    store.associate(&from, id, &to_type, to_id, types);
                }
                results.push(write_result(&store, idx, id, trace, None));
            }
            Err(conflict) => errors.push(conflict_item(&store.types[idx], &conflict, trace)),
        }
    }
    Ok(batch_response(
        &ctx,
        StatusCode::CREATED,
        started,
        results,
        errors,
    ))
}

/// `POST …/batch/update`: by record id, or by a unique-value property (not `email`).
pub async fn batch_update(
    State(state): State<Shared>,
    Path(object_type): Path<String>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = clock::now_iso();
    let inputs = parse_batch::<WriteInput>(&body, &ctx)?;
    check_property_names(
        &body,
        inputs.iter().flat_map(|i| i.properties.keys()),
        "update",
        &ctx,
    )?;
    let mut store = state.store();
    let idx = resolve(&store, &object_type, &ctx)?;
    let portal_id = store.portal_id;
    let t = &store.types[idx];
    let by_id_or_unique = |t: &ObjectType, p: &str| {
        p == "hs_object_id" || t.property(p).is_some_and(|d| d.has_unique_value)
    };
    let keys = input_keys(t, &inputs, portal_id, &ctx, by_id_or_unique)?;
    let traced = all_traced(&inputs);
    let mut checked = Vec::with_capacity(inputs.len());
    for input in &inputs {
        checked.push(check_values(
            t,
            portal_id,
            string_values(&input.properties, &ctx)?,
        ));
    }
    fail_whole_unless_traced(traced, &checked.iter().collect::<Vec<_>>(), portal_id, &ctx)?;
    let mut results = Vec::new();
    let mut errors = Vec::new();
    let mut missing = Vec::new();
    for ((input, (property, id)), c) in inputs.iter().zip(&keys).zip(checked) {
        let trace = &input.object_write_trace_id;
        if property == "hs_object_id"
            && id
                .parse::<u64>()
                .is_ok_and(|n| store.types[idx].merged.contains_key(&n))
        {
            // As recorded: a merged-away id is left out of the answer, neither written nor
            // reported (a PATCH of the same id updates the record it was merged into).
            continue;
        }
        let Some(record) = store.types[idx].find_by(property, id) else {
            missing.push(id.clone());
            continue;
        };
        if !c.errors.is_empty() {
            errors.push(validation_item(&c, portal_id, trace));
            continue;
        }
        match store.write(idx, Some(record), &c.values) {
            Ok((id, _)) => results.push(write_result(&store, idx, id, trace, None)),
            Err(conflict) => errors.push(conflict_item(&store.types[idx], &conflict, trace)),
        }
    }
    if !missing.is_empty() {
        errors.insert(0, not_found_error(&store.types[idx], missing));
    }
    Ok(batch_response(
        &ctx,
        StatusCode::OK,
        started,
        results,
        errors,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReadBody {
    #[serde(default)]
    properties: Vec<String>,
    #[serde(default)]
    properties_with_history: Vec<String>,
    id_property: Option<String>,
    inputs: Vec<IdRef>,
}

/// Inputs of a batch read that asks for `propertiesWithHistory` (HubSpot's objects guide:
/// "up to 50 records" when history is requested).
const MAX_HISTORY_INPUTS: usize = 50;

/// `POST …/batch/read`: `idProperty` is top-level here; `?archived=true` reads archived
/// records instead of live ones; `propertiesWithHistory` adds each record's versions
/// (\[INFERENCE\] the current value as the one version: the emulator keeps no history) and
/// caps the batch at 50.
pub async fn batch_read(
    State(state): State<Shared>,
    Path(object_type): Path<String>,
    Extension(ctx): Extension<Ctx>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = clock::now_iso();
    let read = parse_json::<ReadBody>(&body, &ctx)?;
    check_batch_size(read.inputs.len(), &ctx)?;
    if !read.properties_with_history.is_empty() && read.inputs.len() > MAX_HISTORY_INPUTS {
        // [INFERENCE] text: HubSpot documents the limit, not its error.
        return Err(ApiError::validation(
            format!(
                "Batch read with propertiesWithHistory is limited to {MAX_HISTORY_INPUTS} inputs, {} were given",
                read.inputs.len()
            ),
            &ctx.correlation_id,
        ));
    }
    let archived = raw
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .any(|pair| pair.eq_ignore_ascii_case("archived=true"));
    let store = state.store();
    let idx = resolve(&store, &object_type, &ctx)?;
    let t = &store.types[idx];
    let property = read
        .id_property
        .unwrap_or_else(|| "hs_object_id".to_string());
    if property != "hs_object_id" && !t.is_identifying(&property) {
        return Err(non_unique(t, &property, store.portal_id, &ctx));
    }
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for input in &read.inputs {
        let id = input.id.text();
        let found = if archived {
            // Archived records are found by their id only (\[INFERENCE\]: unique values
            // are released when a record is archived).
            id.parse::<u64>()
                .ok()
                .filter(|_| property == "hs_object_id")
                .and_then(|r| t.objects.get(&r))
                .filter(|o| o.archived)
        } else {
            t.find_by(&property, &id).and_then(|r| store.live(idx, r))
        };
        match found {
            Some(object) => {
                let only = (!read.properties.is_empty()).then_some(read.properties.as_slice());
                let mut m = store.object_json(idx, object, only);
                if !read.properties_with_history.is_empty() {
                    m.insert(
                        "propertiesWithHistory".into(),
                        history_json(object, &read.properties_with_history),
                    );
                }
                results.push(Value::Object(m));
            }
            None => missing.push(id),
        }
    }
    let errors = if missing.is_empty() {
        Vec::new()
    } else {
        vec![not_found_error(t, missing)]
    };
    Ok(batch_response(
        &ctx,
        StatusCode::OK,
        started,
        results,
        errors,
    ))
}

/// `POST …/batch/archive`: 204 with no body, whether or not the ids existed.
pub async fn batch_archive(
    State(state): State<Shared>,
    Path(object_type): Path<String>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let inputs = parse_batch::<IdRef>(&body, &ctx)?;
    let mut store = state.store();
    let idx = resolve(&store, &object_type, &ctx)?;
    for input in inputs {
        if let Ok(id) = input.id.text().parse::<u64>() {
            store.archive(idx, id);
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

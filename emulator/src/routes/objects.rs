//! `/crm/v3/objects/{objectType}`: batch writes and reads, single records and search.

use std::collections::{HashMap, HashSet};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::parse_json;
use crate::app::{Ctx, Shared};
use crate::clock;
use crate::defaults;
use crate::error::{ApiError, html_not_found, json_response};
use crate::model::ObjectType;
use crate::store::{Store, UniqueConflict};
use crate::validate::{self, PropertyError, invalid_values_message};

/// HubSpot's documented limit on inputs per batch request.
pub const MAX_BATCH_INPUTS: usize = 100;

#[derive(Deserialize)]
struct Batch<T> {
    inputs: Vec<T>,
}

/// An id as clients send it: a string, or (leniently) a number.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum IdValue {
    Text(String),
    Number(serde_json::Number),
}

impl IdValue {
    fn text(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Number(n) => n.to_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WriteInput {
    id: Option<IdValue>,
    id_property: Option<String>,
    #[serde(default)]
    properties: Map<String, Value>,
    object_write_trace_id: Option<String>,
    #[serde(default)]
    associations: Vec<InlineAssociation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InlineAssociation {
    to: IdRef,
    #[serde(default)]
    types: Vec<AssociationType>,
}

#[derive(Deserialize)]
struct IdRef {
    id: IdValue,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssociationType {
    association_category: String,
    association_type_id: u32,
}

/// An association to add once a record exists: `(to type id, to record id, types)`.
type PendingLink = (String, u64, Vec<(String, u32)>);

/// One input after validation.
struct Checked {
    values: Vec<(String, String)>,
    errors: Vec<PropertyError>,
}

fn resolve(store: &Store, object_type: &str, ctx: &Ctx) -> Result<usize, ApiError> {
    store
        .resolve(object_type)
        .ok_or_else(|| ApiError::unknown_type(object_type, &ctx.correlation_id))
}

fn check_batch_size(n: usize, ctx: &Ctx) -> Result<(), ApiError> {
    if n > MAX_BATCH_INPUTS {
        // [INFERENCE] HubSpot documents the limit of 100 but its error text was not captured.
        return Err(ApiError::validation(
            format!(
                "Batch input limit exceeded: {n} inputs were provided, the limit is {MAX_BATCH_INPUTS}"
            ),
            &ctx.correlation_id,
        ));
    }
    Ok(())
}

fn non_unique(t: &ObjectType, property: &str, portal_id: u64, ctx: &Ctx) -> ApiError {
    ApiError::validation(
        format!(
            "Unable to perform update/upsert by non-unique {} property {property} in portal ID {portal_id}",
            t.type_id
        ),
        &ctx.correlation_id,
    )
}

/// 400 when the same id appears twice, with or without trace ids.
fn check_duplicates<'a>(
    t: &ObjectType,
    keys: impl Iterator<Item = (&'a str, &'a str)>,
    ctx: &Ctx,
) -> Result<(), ApiError> {
    let mut seen = HashSet::new();
    let mut duplicates: Vec<String> = Vec::new();
    for (property, id) in keys {
        let key = (property.to_string(), t.normalise_key(property, id));
        if !seen.insert(key) && !duplicates.iter().any(|d| d == id) {
            duplicates.push(id.to_string());
        }
    }
    if duplicates.is_empty() {
        return Ok(());
    }
    let mut extra = Map::new();
    extra.insert("context".into(), json!({"ids": duplicates}));
    Err(ApiError::with_extra(
        StatusCode::BAD_REQUEST,
        Some("VALIDATION_ERROR"),
        format!(
            "Duplicate IDs found in batch input: [{}]. IDs must be unique",
            duplicates.join(", ")
        ),
        &ctx.correlation_id,
        extra,
    ))
}

/// Property values as strings; `null` is ignored, numbers and booleans are coerced as HubSpot
/// does, and objects or arrays are a deserialization error.
fn string_values(
    properties: &Map<String, Value>,
    ctx: &Ctx,
) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::with_capacity(properties.len());
    for (name, value) in properties {
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::Array(_) | Value::Object(_) => {
                return Err(ApiError::invalid_json(
                    format_args!(
                        "on line 1, column 1: Cannot deserialize value of type `java.lang.String` from {} value (property {name})",
                        if value.is_array() { "Array" } else { "Object" }
                    ),
                    &ctx.correlation_id,
                ));
            }
        };
        out.push((name.clone(), text));
    }
    Ok(out)
}

fn check_values(t: &ObjectType, portal_id: u64, raw: Vec<(String, String)>) -> Checked {
    let mut values = Vec::with_capacity(raw.len());
    let mut errors = Vec::new();
    for (name, value) in raw {
        match validate::check(t, portal_id, &name, &value) {
            Ok(stored) => values.push((name, stored)),
            Err(e) => errors.push(e),
        }
    }
    Checked { values, errors }
}

/// A per-input error inside a 207: `{status, category, message, context}`.
fn item_error(category: &str, message: String, context: Value) -> Value {
    json!({"status": "error", "category": category, "message": message, "context": context})
}

fn trace_context(trace: &Option<String>) -> Value {
    json!({"objectWriteTraceId": [trace.clone().unwrap_or_default()]})
}

/// A conflict on a unique value. HubSpot's text for contacts is "Contact already exists.
/// Existing ID: N"; [INFERENCE] the same form is used for other types' unique properties.
fn conflict_message(t: &ObjectType, conflict: &UniqueConflict) -> String {
    let mut singular = t.upper_singular.to_lowercase();
    if let Some(first) = singular.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    format!(
        "{singular} already exists. Existing ID: {}",
        conflict.existing_id
    )
}

/// The batch envelope in HubSpot's key order; 207 with `errors`/`numErrors` when any failed.
fn batch_response(
    ok: StatusCode,
    started: String,
    results: Vec<Value>,
    errors: Vec<Value>,
) -> Response {
    let mut body = Map::new();
    body.insert("completedAt".into(), json!(clock::now_iso()));
    body.insert("status".into(), json!("COMPLETE"));
    body.insert("startedAt".into(), json!(started));
    body.insert("results".into(), Value::Array(results));
    let status = if errors.is_empty() {
        ok
    } else {
        // Key order as recorded: `…, results, errors, numErrors`.
        let n = errors.len();
        body.insert("errors".into(), Value::Array(errors));
        body.insert("numErrors".into(), json!(n));
        StatusCode::MULTI_STATUS
    };
    json_response(status, &Value::Object(body))
}

fn write_result(
    store: &Store,
    idx: usize,
    id: u64,
    trace: &Option<String>,
    new: Option<bool>,
) -> Value {
    let Some(object) = store.live(idx, id) else {
        return Value::Null;
    };
    let mut m = store.object_json(idx, object, None);
    if let Some(trace) = trace {
        m.insert("objectWriteTraceId".into(), json!(trace));
    }
    m.insert("url".into(), json!(store.url(idx, id)));
    if let Some(new) = new {
        m.insert("new".into(), json!(new));
    }
    Value::Object(m)
}

/// `(idProperty, id)` of every write input, after HubSpot's request-level checks: each
/// `idProperty` must be `allowed`, and no id may appear twice.
fn input_keys(
    t: &ObjectType,
    inputs: &[WriteInput],
    portal_id: u64,
    ctx: &Ctx,
    allowed: impl Fn(&ObjectType, &str) -> bool,
) -> Result<Vec<(String, String)>, ApiError> {
    let mut keys = Vec::with_capacity(inputs.len());
    for input in inputs {
        let property = input
            .id_property
            .clone()
            .unwrap_or_else(|| "hs_object_id".to_string());
        if !allowed(t, &property) {
            return Err(non_unique(t, &property, portal_id, ctx));
        }
        keys.push((
            property,
            input.id.as_ref().map(IdValue::text).unwrap_or_default(),
        ));
    }
    check_duplicates(t, keys.iter().map(|(p, i)| (p.as_str(), i.as_str())), ctx)?;
    Ok(keys)
}

/// Whether every input carries an `objectWriteTraceId` (and so may fail alone in a 207).
fn all_traced(inputs: &[WriteInput]) -> bool {
    inputs.iter().all(|i| i.object_write_trace_id.is_some())
}

/// Without trace ids on every input, one invalid input fails the whole request with every
/// value error listed.
fn fail_whole_unless_traced(
    traced: bool,
    checked: &[&Checked],
    portal_id: u64,
    ctx: &Ctx,
) -> Result<(), ApiError> {
    let all: Vec<PropertyError> = checked.iter().flat_map(|c| c.errors.clone()).collect();
    if traced || all.is_empty() {
        return Ok(());
    }
    Err(ApiError::property_values(
        &all,
        portal_id,
        &ctx.correlation_id,
    ))
}

/// The 207 entry for an input with invalid values.
fn validation_item(c: &Checked, portal_id: u64, trace: &Option<String>) -> Value {
    item_error(
        "VALIDATION_ERROR",
        invalid_values_message(&c.errors, portal_id),
        trace_context(trace),
    )
}

/// The 207 entry for an input whose unique value another record holds.
fn conflict_item(t: &ObjectType, conflict: &UniqueConflict, trace: &Option<String>) -> Value {
    let mut context = trace_context(trace);
    context["existingId"] = json!([conflict.existing_id.to_string()]);
    item_error("CONFLICT", conflict_message(t, conflict), context)
}

/// The request-level 409 for a unique-value conflict without trace ids.
fn conflict_error(t: &ObjectType, conflict: &UniqueConflict, ctx: &Ctx) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        Some("CONFLICT"),
        conflict_message(t, conflict),
        &ctx.correlation_id,
    )
}

/// `POST …/batch/upsert`: by `email` (contacts) or a unique-value property.
pub async fn batch_upsert(
    State(state): State<Shared>,
    Path(object_type): Path<String>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = clock::now_iso();
    let Batch { inputs } = parse_json::<Batch<WriteInput>>(&body, &ctx)?;
    check_batch_size(inputs.len(), &ctx)?;
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
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for ((input, (property, id)), c) in inputs.iter().zip(&keys).zip(checked) {
        let trace = &input.object_write_trace_id;
        if !c.errors.is_empty() {
            errors.push(validation_item(&c, portal_id, trace));
            continue;
        }
        let existing = store.types[idx].find_by(property, id);
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
    Ok(batch_response(StatusCode::OK, started, results, errors))
}

/// Resolves inline `associations` of a create input to `(to_type, to_id, types)`.
fn inline_associations(
    store: &Store,
    idx: usize,
    input: &WriteInput,
    ctx: &Ctx,
) -> Result<Vec<PendingLink>, ApiError> {
    let from = &store.types[idx].type_id;
    let mut out = Vec::new();
    for a in &input.associations {
        let types: Vec<(String, u32)> = a
            .types
            .iter()
            .map(|t| (t.association_category.clone(), t.association_type_id))
            .collect();
        let to_type = types.iter().find_map(|(_, type_id)| {
            defaults::DEFAULT_ASSOCIATIONS
                .iter()
                .find(|(f, _, id, _)| f == from && id == type_id)
                .map(|(_, to, _, _)| to.to_string())
        });
        let to_id = a.to.id.text();
        let target = to_type.as_ref().and_then(|to| {
            let to_idx = store.resolve(to)?;
            let id = to_id.parse::<u64>().ok()?;
            store.live(to_idx, id).map(|_| id)
        });
        match (to_type, target) {
            (Some(to), Some(id)) => out.push((to, id, types)),
            _ => {
                let mut extra = Map::new();
                extra.insert(
                    "errors".into(),
                    json!([{"message": format!("{to_id} is not a valid object"), "code": "INVALID_TO_OBJECT"}]),
                );
                return Err(ApiError::with_extra(
                    StatusCode::BAD_REQUEST,
                    Some("VALIDATION_ERROR"),
                    "one or more associations are not valid",
                    &ctx.correlation_id,
                    extra,
                ));
            }
        }
    }
    Ok(out)
}

/// `POST …/batch/create`: 201, or 207 per input when every input has a trace id.
pub async fn batch_create(
    State(state): State<Shared>,
    Path(object_type): Path<String>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = clock::now_iso();
    let Batch { inputs } = parse_json::<Batch<WriteInput>>(&body, &ctx)?;
    check_batch_size(inputs.len(), &ctx)?;
    let mut store = state.store();
    let idx = resolve(&store, &object_type, &ctx)?;
    let portal_id = store.portal_id;
    let traced = all_traced(&inputs);
    let mut checked = Vec::with_capacity(inputs.len());
    for input in &inputs {
        let c = check_values(
            &store.types[idx],
            portal_id,
            string_values(&input.properties, &ctx)?,
        );
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
    let Batch { inputs } = parse_json::<Batch<WriteInput>>(&body, &ctx)?;
    check_batch_size(inputs.len(), &ctx)?;
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
    Ok(batch_response(StatusCode::OK, started, results, errors))
}

/// One grouped `OBJECT_NOT_FOUND` error for every unknown id, as HubSpot reports them.
fn not_found_error(t: &ObjectType, ids: Vec<String>) -> Value {
    item_error(
        "OBJECT_NOT_FOUND",
        format!(
            "Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.",
            t.upper_singular
        ),
        json!({"ids": ids}),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReadBody {
    #[serde(default)]
    properties: Vec<String>,
    id_property: Option<String>,
    inputs: Vec<IdRef>,
}

/// `POST …/batch/read`: `idProperty` is top-level here.
pub async fn batch_read(
    State(state): State<Shared>,
    Path(object_type): Path<String>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = clock::now_iso();
    let read = parse_json::<ReadBody>(&body, &ctx)?;
    check_batch_size(read.inputs.len(), &ctx)?;
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
        match t.find_by(&property, &id).and_then(|r| store.live(idx, r)) {
            Some(object) => {
                let only = (!read.properties.is_empty()).then_some(read.properties.as_slice());
                results.push(Value::Object(store.object_json(idx, object, only)));
            }
            None => missing.push(id),
        }
    }
    let errors = if missing.is_empty() {
        Vec::new()
    } else {
        vec![not_found_error(t, missing)]
    };
    Ok(batch_response(StatusCode::OK, started, results, errors))
}

/// `POST …/batch/archive`: 204 with no body, whether or not the ids existed.
pub async fn batch_archive(
    State(state): State<Shared>,
    Path(object_type): Path<String>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Batch { inputs } = parse_json::<Batch<IdRef>>(&body, &ctx)?;
    check_batch_size(inputs.len(), &ctx)?;
    let mut store = state.store();
    let idx = resolve(&store, &object_type, &ctx)?;
    for input in inputs {
        if let Ok(id) = input.id.text().parse::<u64>() {
            store.archive(idx, id);
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Query of the single-record and list routes.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RecordQuery {
    id_property: Option<String>,
    properties: Option<String>,
    limit: Option<usize>,
    after: Option<String>,
}

impl RecordQuery {
    fn property_list(&self) -> Option<Vec<String>> {
        self.properties.as_ref().map(|p| {
            p.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
    }
}

fn find_record(store: &Store, idx: usize, id: &str, query: &RecordQuery) -> Option<u64> {
    let property = query.id_property.as_deref().unwrap_or("hs_object_id");
    store.types[idx].find_by(property, id)
}

/// `GET /crm/v3/objects/{objectType}`: one page of records.
pub async fn list(
    State(state): State<Shared>,
    Path(object_type): Path<String>,
    Extension(ctx): Extension<Ctx>,
    Query(query): Query<RecordQuery>,
) -> Result<Response, ApiError> {
    let store = state.store();
    let idx = resolve(&store, &object_type, &ctx)?;
    let limit = query.limit.unwrap_or(10).clamp(1, 100);
    let after: u64 = query
        .after
        .as_deref()
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let only = query.property_list();
    let mut page: Vec<Value> = store.types[idx]
        .objects
        .range(after..)
        .filter(|(_, o)| !o.archived)
        .take(limit + 1)
        .map(|(_, o)| Value::Object(store.object_json(idx, o, only.as_deref())))
        .collect();
    let mut body = Map::new();
    if page.len() > limit {
        let next = page
            .pop()
            .and_then(|v| v["id"].as_str().map(String::from))
            .unwrap_or_default();
        body.insert("results".into(), Value::Array(page));
        body.insert("paging".into(), json!({"next": {"after": next}}));
    } else {
        body.insert("results".into(), Value::Array(page));
    }
    Ok(json_response(StatusCode::OK, &Value::Object(body)))
}

#[derive(Deserialize)]
struct SingleBody {
    #[serde(default)]
    properties: Map<String, Value>,
}

/// `POST /crm/v3/objects/{objectType}`: 201 with a `Location` header.
pub async fn create_one(
    State(state): State<Shared>,
    Path(object_type): Path<String>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input = parse_json::<WriteInput>(&body, &ctx)?;
    let mut store = state.store();
    let idx = resolve(&store, &object_type, &ctx)?;
    let portal_id = store.portal_id;
    let c = check_values(
        &store.types[idx],
        portal_id,
        string_values(&input.properties, &ctx)?,
    );
    if !c.errors.is_empty() {
        return Err(ApiError::property_values(
            &c.errors,
            portal_id,
            &ctx.correlation_id,
        ));
    }
    let links = inline_associations(&store, idx, &input, &ctx)?;
    let (id, _) = store
        .write(idx, None, &c.values)
        .map_err(|conflict| conflict_error(&store.types[idx], &conflict, &ctx))?;
    let from = store.types[idx].type_id.clone();
    for (to_type, to_id, types) in links {
        store.associate(&from, id, &to_type, to_id, types);
    }
    let mut response = json_response(
        StatusCode::CREATED,
        &write_result(&store, idx, id, &None, None),
    );
    let location = format!(
        "https://api.hubapi.com/crm/objects/v3/{}/{id}",
        store.types[idx].name
    );
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// `GET /crm/v3/objects/{objectType}/{id}`: HubSpot's HTML 404 when there is no such record.
pub async fn get_one(
    State(state): State<Shared>,
    Path((object_type, id)): Path<(String, String)>,
    Extension(ctx): Extension<Ctx>,
    Query(query): Query<RecordQuery>,
) -> Result<Response, ApiError> {
    let store = state.store();
    let idx = resolve(&store, &object_type, &ctx)?;
    let Some(object) = find_record(&store, idx, &id, &query).and_then(|r| store.live(idx, r))
    else {
        return Ok(html_not_found());
    };
    let only = query.property_list();
    let body = Value::Object(store.object_json(idx, object, only.as_deref()));
    Ok(json_response(StatusCode::OK, &body))
}

/// `PATCH /crm/v3/objects/{objectType}/{id}`.
pub async fn update_one(
    State(state): State<Shared>,
    Path((object_type, id)): Path<(String, String)>,
    Extension(ctx): Extension<Ctx>,
    Query(query): Query<RecordQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input = parse_json::<SingleBody>(&body, &ctx)?;
    let mut store = state.store();
    let idx = resolve(&store, &object_type, &ctx)?;
    let portal_id = store.portal_id;
    let Some(record) = find_record(&store, idx, &id, &query) else {
        return Err(ApiError::not_found(
            format!(
                "resource not found: {} {id} does not exist",
                store.types[idx].upper_singular
            ),
            &ctx.correlation_id,
        ));
    };
    let c = check_values(
        &store.types[idx],
        portal_id,
        string_values(&input.properties, &ctx)?,
    );
    if !c.errors.is_empty() {
        return Err(ApiError::property_values(
            &c.errors,
            portal_id,
            &ctx.correlation_id,
        ));
    }
    store
        .write(idx, Some(record), &c.values)
        .map_err(|conflict| conflict_error(&store.types[idx], &conflict, &ctx))?;
    Ok(json_response(
        StatusCode::OK,
        &write_result(&store, idx, record, &None, None),
    ))
}

/// `DELETE /crm/v3/objects/{objectType}/{id}`: 204 whether or not it existed.
pub async fn delete_one(
    State(state): State<Shared>,
    Path((object_type, id)): Path<(String, String)>,
    Extension(ctx): Extension<Ctx>,
) -> Result<Response, ApiError> {
    let mut store = state.store();
    let idx = resolve(&store, &object_type, &ctx)?;
    if let Ok(id) = id.parse::<u64>() {
        store.archive(idx, id);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchBody {
    #[serde(default)]
    filter_groups: Vec<FilterGroup>,
    #[serde(default)]
    sorts: Vec<Sort>,
    #[serde(default)]
    properties: Vec<String>,
    limit: Option<usize>,
    after: Option<IdValue>,
}

#[derive(Deserialize)]
struct FilterGroup {
    #[serde(default)]
    filters: Vec<Filter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    property_name: String,
    operator: String,
    value: Option<IdValue>,
    #[serde(default)]
    values: Vec<IdValue>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Sort {
    Name(String),
    Spec {
        #[serde(rename = "propertyName")]
        property_name: String,
        #[serde(default)]
        direction: Option<String>,
    },
}

fn filter_matches(f: &Filter, properties: &HashMap<&str, &str>) -> Option<bool> {
    let actual = properties.get(f.property_name.as_str()).copied();
    let wanted = f.value.as_ref().map(IdValue::text).unwrap_or_default();
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let cmp = |a: &str| match (a.parse::<f64>(), wanted.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y),
        _ => Some(a.cmp(wanted.as_str())),
    };
    Some(match f.operator.as_str() {
        "EQ" => actual.is_some_and(|a| eq(a, &wanted)),
        "NEQ" => !actual.is_some_and(|a| eq(a, &wanted)),
        "IN" => actual.is_some_and(|a| f.values.iter().any(|v| eq(a, &v.text()))),
        "NOT_IN" => !actual.is_some_and(|a| f.values.iter().any(|v| eq(a, &v.text()))),
        "HAS_PROPERTY" => actual.is_some(),
        "NOT_HAS_PROPERTY" => actual.is_none(),
        "GT" => actual.and_then(cmp).is_some_and(|o| o.is_gt()),
        "GTE" => actual.and_then(cmp).is_some_and(|o| o.is_ge()),
        "LT" => actual.and_then(cmp).is_some_and(|o| o.is_lt()),
        "LTE" => actual.and_then(cmp).is_some_and(|o| o.is_le()),
        _ => return None,
    })
}

/// `POST …/search`: EQ/NEQ/IN/NOT_IN/HAS_PROPERTY/NOT_HAS_PROPERTY/GT/GTE/LT/LTE filters,
/// filter groups OR-ed and filters within a group AND-ed, sorts, `after` paging.
pub async fn search(
    State(state): State<Shared>,
    Path(object_type): Path<String>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let query = parse_json::<SearchBody>(&body, &ctx)?;
    let store = state.store();
    let idx = resolve(&store, &object_type, &ctx)?;
    let t = &store.types[idx];
    let mut hits = Vec::new();
    for object in t.objects.values().filter(|o| !o.archived) {
        let props: HashMap<&str, &str> = object
            .properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut matched = query.filter_groups.is_empty();
        for group in &query.filter_groups {
            let mut all = true;
            for f in &group.filters {
                match filter_matches(f, &props) {
                    Some(ok) => all &= ok,
                    None => {
                        return Err(ApiError::validation(
                            format!(
                                "Invalid operator {} for property {}",
                                f.operator, f.property_name
                            ),
                            &ctx.correlation_id,
                        ));
                    }
                }
            }
            matched |= all;
        }
        if matched {
            hits.push(object);
        }
    }
    for sort in query.sorts.iter().rev() {
        let (name, descending) = match sort {
            Sort::Name(n) => (n.clone(), false),
            Sort::Spec {
                property_name,
                direction,
            } => (
                property_name.clone(),
                direction.as_deref() == Some("DESCENDING"),
            ),
        };
        hits.sort_by(|a, b| {
            let (x, y) = (a.properties.get(&name), b.properties.get(&name));
            let o = match (
                x.and_then(|v| v.parse::<f64>().ok()),
                y.and_then(|v| v.parse::<f64>().ok()),
            ) {
                (Some(p), Some(q)) => p.partial_cmp(&q).unwrap_or(std::cmp::Ordering::Equal),
                _ => x.cmp(&y),
            };
            if descending { o.reverse() } else { o }
        });
    }
    let total = hits.len();
    let limit = query.limit.unwrap_or(10).clamp(1, 200);
    let offset: usize = query
        .after
        .map(|a| a.text())
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let results: Vec<Value> = hits
        .iter()
        .skip(offset)
        .take(limit)
        .map(|o| Value::Object(store.object_json(idx, o, Some(query.properties.as_slice()))))
        .collect();
    let mut body = Map::new();
    body.insert("total".into(), json!(total));
    body.insert("results".into(), Value::Array(results));
    if offset + limit < total {
        body.insert(
            "paging".into(),
            json!({"next": {"after": (offset + limit).to_string()}}),
        );
    }
    Ok(json_response(StatusCode::OK, &Value::Object(body)))
}

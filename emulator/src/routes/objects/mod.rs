//! `/crm/v3/objects/{objectType}`: batch writes and reads, single records and search.
//!
//! This module holds what the routes share: input types, HubSpot's request-level checks, and
//! the bodies of per-input errors and batch envelopes.

mod batch;
mod search;
mod single;

pub use batch::{batch_archive, batch_create, batch_read, batch_update, batch_upsert};
pub use search::search;
pub use single::{create_one, delete_one, get_one, list, merge, update_one};

use std::collections::HashSet;

use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::clock;
use crate::error::{ApiError, json_response};
use crate::model::ObjectType;
use crate::state::Ctx;
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
    associations: Vec<crate::routes::Object<InlineAssociation>>,
}

impl crate::routes::JavaName for InlineAssociation {
    // As recorded in HubSpot's answer to `"associations": [[]]`.
    const NAME: &'static str =
        "com.hubspot.crmpublic.core.models.associations.PublicAssociationsForObject$Json";
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

/// The `inputs` of a batch body, refused as HubSpot does when the JSON is malformed or holds
/// more than [`MAX_BATCH_INPUTS`].
fn parse_batch<T: serde::de::DeserializeOwned>(
    body: &axum::body::Bytes,
    ctx: &Ctx,
) -> Result<Vec<T>, ApiError> {
    let Batch { inputs } = crate::routes::parse_json::<Batch<T>>(body, ctx)?;
    check_batch_size(inputs.len(), ctx)?;
    Ok(inputs)
}

/// `propertiesWithHistory` of a record for `names`: \[INFERENCE\] the current value as the
/// one version, as the emulator keeps no history.
fn history_json(object: &crate::model::StoredObject, names: &[String]) -> Value {
    names
        .iter()
        .map(|name| {
            let versions = object.properties.get(name).map_or_else(
                || json!([]),
                |v| json!([{"value": v, "timestamp": object.updated_at, "sourceType": "API"}]),
            );
            (name.clone(), versions)
        })
        .collect::<Map<String, Value>>()
        .into()
}

/// The class HubSpot's parser names for a write input of `route`.
/// \[INFERENCE\] for batch inputs: only the single create's
/// `com.hubspot.inbounddb.publicobject.core.v2.SimplePublicObjectInput` was quoted.
fn input_class(route: &str) -> &'static str {
    match route {
        "upsert" => "com.hubspot.inbounddb.publicobject.core.v2.SimplePublicObjectBatchInputUpsert",
        "update" => "com.hubspot.inbounddb.publicobject.core.v2.SimplePublicObjectBatchInput",
        "create" => "com.hubspot.inbounddb.publicobject.core.v2.SimplePublicObjectInputForCreate",
        _ => "com.hubspot.inbounddb.publicobject.core.v2.SimplePublicObjectInput",
    }
}

/// HubSpot refuses the whole request when a property name is not lower case or has 100
/// characters or more, while it parses the body: "Invalid input JSON on line 1, column 86:
/// Cannot construct instance of `…SimplePublicObjectInput`, problem: Names for properties
/// should be lowercase and have less than 100 characters. Invalid names: [associationPartner]"
/// (quoted in hubspot-api-ruby #179 and hubspot-api-nodejs #277). \[INFERENCE\] the column is
/// that of the first invalid name in the body.
fn check_property_names<'a>(
    body: &[u8],
    names: impl IntoIterator<Item = &'a String>,
    route: &str,
    ctx: &Ctx,
) -> Result<(), ApiError> {
    let invalid: Vec<&str> = names
        .into_iter()
        .filter(|n| n.chars().count() >= 100 || n.chars().any(char::is_uppercase))
        .map(String::as_str)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let Some(first) = invalid.first() else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(body);
    let at = text.find(&format!("\"{first}\"")).unwrap_or(0);
    let line = text[..at].matches('\n').count() + 1;
    let column = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    Err(ApiError::invalid_json(
        format_args!(
            "on line {line}, column {column}: Cannot construct instance of `{}`, problem: Names for properties should be lowercase and have less than 100 characters. Invalid names: [{}]",
            input_class(route),
            invalid.join(", ")
        ),
        &ctx.correlation_id,
    ))
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
    // As recorded (hs_task_status before hs_timestamp, amount before closedate): HubSpot
    // lists one input's value errors by property name.
    errors.sort_by(|a, b| a.name.cmp(&b.name));
    Checked { values, errors }
}

/// The values of a single-object write, or the 400 HubSpot answers when any is invalid.
fn valid_values(
    t: &ObjectType,
    portal_id: u64,
    properties: &Map<String, Value>,
    ctx: &Ctx,
) -> Result<Vec<(String, String)>, ApiError> {
    let c = check_values(t, portal_id, string_values(properties, ctx)?);
    if c.errors.is_empty() {
        Ok(c.values)
    } else {
        Err(ApiError::property_values(
            &c.errors,
            portal_id,
            &ctx.correlation_id,
        ))
    }
}

/// A per-input error inside a 207: `{status, category, message, context}`.
fn item_error(category: &str, message: String, context: Value) -> Value {
    json!({"status": "error", "category": category, "message": message, "context": context})
}

fn trace_context(trace: &Option<String>) -> Value {
    json!({"objectWriteTraceId": [trace.clone().unwrap_or_default()]})
}

/// A conflict on a unique value. HubSpot's text for contacts is "Contact already exists.
/// Existing ID: N"; \[INFERENCE\] the same form is used for other types' unique properties.
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

/// The portal's validation rules (`--require-on-create`) for records of `t` created through
/// a version that enforces them (2026-09): the whole request is refused with
/// `VALIDATION_ERROR` when one of the `created` inputs lacks a required property.
/// \[INFERENCE\] that the whole request is refused, and the text: HubSpot's changelog says
/// only that 2026-09 enforces validation rules on API writes, answering `VALIDATION_ERROR`.
fn check_rules<'a>(
    rules: &[(String, String)],
    ctx: &Ctx,
    t: &ObjectType,
    created: impl IntoIterator<Item = &'a [(String, String)]>,
) -> Result<(), ApiError> {
    if !ctx.version.validates() {
        return Ok(());
    }
    let required: Vec<&str> = rules
        .iter()
        .filter(|(ty, _)| ty == &t.name || ty == &t.type_id)
        .map(|(_, p)| p.as_str())
        .collect();
    if required.is_empty() {
        return Ok(());
    }
    for values in created {
        for property in &required {
            let set = values
                .iter()
                .any(|(name, value)| name == property && !value.is_empty());
            if !set {
                return Err(ApiError::validation(
                    format!(
                        "Property \"{property}\" is required by this portal's validation rules when a {} record is created",
                        t.name
                    ),
                    &ctx.correlation_id,
                ));
            }
        }
    }
    Ok(())
}

/// The batch envelope in HubSpot's key order; with `errors`/`numErrors` when any failed: 207,
/// or from 2026-09 on `ok` (200, or 201 for creates) with the errors inside.
fn batch_response(
    ctx: &Ctx,
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
        if ctx.version.multi_status() {
            StatusCode::MULTI_STATUS
        } else {
            ok
        }
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

/// Resolves inline `associations` of a create input to `(to_type, to_id, types)`.
fn inline_associations(
    store: &Store,
    idx: usize,
    input: &WriteInput,
    ctx: &Ctx,
) -> Result<Vec<PendingLink>, ApiError> {
    let from = &store.types[idx].type_id;
    let mut out = Vec::new();
    for crate::routes::Object(a) in &input.associations {
        let types: Vec<(String, u32)> = a
            .types
            .iter()
            .map(|t| (t.association_category.clone(), t.association_type_id))
            .collect();
        let to_type = types
            .iter()
            .find_map(|(_, type_id)| store.association_target(from, *type_id));
        let to_id = a.to.id.text();
        let target = to_type.as_ref().and_then(|to| {
            let to_idx = store.resolve(to)?;
            let id = to_id.parse::<u64>().ok()?;
            store.live(to_idx, id).map(|_| id)
        });
        match (to_type, target) {
            (Some(to), Some(id)) => out.push((to, id, types)),
            (to, _) => {
                // As recorded for a note → deal association to a missing deal (HubSpot calls
                // the target the "from object" here). [INFERENCE] an unknown type id names
                // the target `?`.
                let to = to
                    .as_deref()
                    .and_then(|t| store.resolve(t))
                    .map_or("?", |i| store.types[i].type_id.as_str());
                let mut extra = Map::new();
                extra.insert(
                    "errors".into(),
                    json!([{"message": format!("{to}={to_id} is not a valid object"), "context": {"validationResult": ["INVALID_FROM_OBJECT"]}}]),
                );
                return Err(ApiError::with_extra(
                    StatusCode::BAD_REQUEST,
                    Some("BAD_REQUEST"),
                    "one or more associations are not valid",
                    &ctx.correlation_id,
                    extra,
                ));
            }
        }
    }
    Ok(out)
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

//! `/crm/v4/associations`: batch create, default associations, labels and per-record lists.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::parse_json;
use crate::clock;
use crate::defaults::{DEFAULT_ASSOCIATIONS, default_association};
use crate::error::{ApiError, json_response};
use crate::state::{Ctx, Shared};
use crate::store::Store;

#[derive(Deserialize)]
struct Batch<T> {
    inputs: Vec<T>,
}

#[derive(Deserialize)]
struct Ref {
    id: Value,
}

impl Ref {
    fn id(&self) -> String {
        match &self.id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypeSpec {
    association_category: String,
    association_type_id: u32,
}

#[derive(Deserialize)]
struct LabelledInput {
    from: Ref,
    to: Ref,
    #[serde(default)]
    types: Vec<TypeSpec>,
}

#[derive(Deserialize)]
struct DefaultInput {
    from: Ref,
    to: Ref,
}

fn pair(store: &Store, from: &str, to: &str, ctx: &Ctx) -> Result<(usize, usize), ApiError> {
    let f = store
        .resolve(from)
        .ok_or_else(|| ApiError::unknown_type(from, &ctx.correlation_id))?;
    let t = store
        .resolve(to)
        .ok_or_else(|| ApiError::unknown_type(to, &ctx.correlation_id))?;
    Ok((f, t))
}

fn live_id(store: &Store, idx: usize, id: &str) -> Option<u64> {
    let id = id.parse::<u64>().ok()?;
    store.live(idx, id).map(|_| id)
}

fn missing_object_error(store: &Store, idx: usize, id: &str) -> Value {
    json!({
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": format!("{}={id} is not a valid object", store.types[idx].type_id),
        "context": {},
    })
}

/// A batch answer: `ok`, or 207 when inputs failed and the route answers 207 for that
/// (`multi_status`). From 2026-09 on every association batch answers 200, errors inside
/// (HubSpot's 2026-09 associations spec lists only 200).
fn envelope(
    ctx: &Ctx,
    results: Vec<Value>,
    errors: Vec<Value>,
    ok: StatusCode,
    multi_status: bool,
) -> Response {
    let ok = if ctx.version.multi_status() {
        ok
    } else {
        StatusCode::OK
    };
    let mut body = json!({
        "completedAt": clock::now_iso(),
        "status": "COMPLETE",
        "startedAt": clock::now_iso(),
        "results": results,
    });
    let status = if errors.is_empty() {
        ok
    } else {
        body["numErrors"] = json!(errors.len());
        body["errors"] = Value::Array(errors);
        if multi_status && ctx.version.multi_status() {
            StatusCode::MULTI_STATUS
        } else {
            ok
        }
    };
    json_response(status, &body)
}

/// Inputs of an associations batch read.
const MAX_READ_INPUTS: usize = 1_000;

/// `POST /crm/v4/associations/{from}/{to}/batch/create`: 201 with labelled pairs.
pub async fn batch_create(
    State(state): State<Shared>,
    Path((from, to)): Path<(String, String)>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Batch { inputs } = parse_json::<Batch<LabelledInput>>(&body, &ctx)?;
    let mut store = state.store();
    let (fi, ti) = pair(&store, &from, &to, &ctx)?;
    let (from_type, to_type) = (
        store.types[fi].type_id.clone(),
        store.types[ti].type_id.clone(),
    );
    // HubSpot refuses the whole request when any input names an association type that does
    // not join these two types, or with the wrong category: 400 "One or more associations
    // are invalid" (quoted in hubspot-api-nodejs #646). \[INFERENCE\] the category and that
    // nothing is stored.
    let known = store.association_types(&from_type, &to_type);
    let invalid = inputs.iter().flat_map(|i| &i.types).any(|spec| {
        !known.iter().any(|(category, type_id, _)| {
            *category == spec.association_category && *type_id == spec.association_type_id
        })
    });
    if invalid {
        return Err(ApiError::validation(
            "One or more associations are invalid",
            &ctx.correlation_id,
        ));
    }
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for input in inputs {
        let (Some(f), Some(t)) = (
            live_id(&store, fi, &input.from.id()),
            live_id(&store, ti, &input.to.id()),
        ) else {
            let (idx, id) = match live_id(&store, fi, &input.from.id()) {
                None => (fi, input.from.id()),
                Some(_) => (ti, input.to.id()),
            };
            errors.push(missing_object_error(&store, idx, &id));
            continue;
        };
        let types: Vec<(String, u32)> = input
            .types
            .iter()
            .map(|t| (t.association_category.clone(), t.association_type_id))
            .collect();
        let known = store.association_types(&from_type, &to_type);
        let labels: Vec<String> = input
            .types
            .iter()
            .filter_map(|t| {
                known
                    .iter()
                    .find(|(_, id, _)| *id == t.association_type_id)
                    .and_then(|(_, _, label)| label.clone())
            })
            .collect();
        store.associate(&from_type, f, &to_type, t, types);
        results.push(json!({
            "fromObjectTypeId": from_type,
            "fromObjectId": f.to_string(),
            "toObjectTypeId": to_type,
            "toObjectId": t.to_string(),
            "labels": labels,
        }));
    }
    Ok(envelope(&ctx, results, errors, StatusCode::CREATED, true))
}

/// `POST /crm/v4/associations/{from}/{to}/batch/associate/default`: 200.
pub async fn batch_associate_default(
    State(state): State<Shared>,
    Path((from, to)): Path<(String, String)>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Batch { inputs } = parse_json::<Batch<DefaultInput>>(&body, &ctx)?;
    let mut store = state.store();
    let (fi, ti) = pair(&store, &from, &to, &ctx)?;
    let (from_type, to_type) = (
        store.types[fi].type_id.clone(),
        store.types[ti].type_id.clone(),
    );
    let Some(type_id) = default_association(&from_type, &to_type) else {
        return Err(ApiError::validation(
            format!("No default association type between {from_type} and {to_type}"),
            &ctx.correlation_id,
        ));
    };
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for input in inputs {
        match (
            live_id(&store, fi, &input.from.id()),
            live_id(&store, ti, &input.to.id()),
        ) {
            (Some(f), Some(t)) => {
                store.associate(
                    &from_type,
                    f,
                    &to_type,
                    t,
                    vec![("HUBSPOT_DEFINED".into(), type_id)],
                );
                results.push(json!({
                    "from": {"id": f.to_string()},
                    "to": {"id": t.to_string()},
                    "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id},
                }));
            }
            (None, _) => errors.push(missing_object_error(&store, fi, &input.from.id())),
            (_, None) => errors.push(missing_object_error(&store, ti, &input.to.id())),
        }
    }
    Ok(envelope(&ctx, results, errors, StatusCode::OK, false))
}

/// `GET /crm/v4/associations/{from}/{to}/labels`: HubSpot's defined type ids for the pair.
pub async fn labels(
    State(state): State<Shared>,
    Path((from, to)): Path<(String, String)>,
    Extension(ctx): Extension<Ctx>,
) -> Result<Response, ApiError> {
    let store = state.store();
    let (fi, ti) = pair(&store, &from, &to, &ctx)?;
    let (f, t) = (&store.types[fi].type_id, &store.types[ti].type_id);
    let results: Vec<Value> = store
        .association_types(f, t)
        .into_iter()
        .map(|(category, id, label)| json!({"category": category, "typeId": id, "label": label}))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "results": results }),
    ))
}

/// Record `id`'s associations to type `ti`, as the v4 read routes list them:
/// `{toObjectId, associationTypes: [{category, typeId, label}]}`.
fn associations_of(store: &Store, fi: usize, id: u64, ti: usize) -> Vec<Value> {
    store
        .associated(fi, id, ti)
        .into_iter()
        .map(|(to_id, types)| {
            let types: Vec<Value> = types
                .iter()
                .map(|(category, type_id)| json!({"category": category, "typeId": type_id, "label": Value::Null}))
                .collect();
            json!({"toObjectId": to_id, "associationTypes": types})
        })
        .collect()
}

/// `GET /crm/v4/objects/{objectType}/{id}/associations/{toObjectType}`.
pub async fn list_for_object(
    State(state): State<Shared>,
    Path((object_type, id, to_type)): Path<(String, String, String)>,
    Extension(ctx): Extension<Ctx>,
) -> Result<Response, ApiError> {
    let store = state.store();
    let (fi, ti) = pair(&store, &object_type, &to_type, &ctx)?;
    let from_id = id.parse::<u64>().unwrap_or_default();
    let results = associations_of(&store, fi, from_id, ti);
    Ok(json_response(
        StatusCode::OK,
        &json!({ "results": results }),
    ))
}

/// The labels of association `types` (empty for unlabelled ones).
fn labels_of(types: &[TypeSpec]) -> Vec<&'static str> {
    types
        .iter()
        .filter_map(|t| {
            DEFAULT_ASSOCIATIONS
                .iter()
                .find(|(_, _, id, label)| *id == t.association_type_id && !label.is_empty())
                .map(|(_, _, _, label)| *label)
        })
        .collect()
}

/// Both records of a single-association route, or the 400 naming the one that is missing
/// (\[INFERENCE\] worded like the batch routes' per-input error).
fn both_records(
    store: &Store,
    (fi, from_id): (usize, &str),
    (ti, to_id): (usize, &str),
    ctx: &Ctx,
) -> Result<(u64, u64), ApiError> {
    match (live_id(store, fi, from_id), live_id(store, ti, to_id)) {
        (Some(f), Some(t)) => Ok((f, t)),
        (None, _) => Err(ApiError::validation(
            format!(
                "{}={from_id} is not a valid object",
                store.types[fi].type_id
            ),
            &ctx.correlation_id,
        )),
        (_, None) => Err(ApiError::validation(
            format!("{}={to_id} is not a valid object", store.types[ti].type_id),
            &ctx.correlation_id,
        )),
    }
}

/// The two records a single-association route names.
struct Ends {
    fi: usize,
    ti: usize,
    f: u64,
    t: u64,
    from_type: String,
    to_type_id: String,
}

fn ends(
    store: &Store,
    (from, from_id): (&str, &str),
    (to, to_id): (&str, &str),
    ctx: &Ctx,
) -> Result<Ends, ApiError> {
    let (fi, ti) = pair(store, from, to, ctx)?;
    let (f, t) = both_records(store, (fi, from_id), (ti, to_id), ctx)?;
    Ok(Ends {
        fi,
        ti,
        f,
        t,
        from_type: store.types[fi].type_id.clone(),
        to_type_id: store.types[ti].type_id.clone(),
    })
}

/// `PUT /crm/v4/objects/{objectType}/{id}/associations/{toObjectType}/{toId}` with a list of
/// association types: 201 with the pair and its labels, object ids as JSON numbers and a
/// `Location` ending in the source id, as recorded.
pub async fn put_labelled(
    State(state): State<Shared>,
    Path((object_type, id, to_type, to_id)): Path<(String, String, String, String)>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let types = parse_json::<Vec<TypeSpec>>(&body, &ctx)?;
    let mut store = state.store();
    let Ends {
        f,
        t,
        from_type,
        to_type_id,
        ..
    } = ends(&store, (&object_type, &id), (&to_type, &to_id), &ctx)?;
    for spec in &types {
        let known = store.association_types(&from_type, &to_type_id).iter().any(
            |(category, type_id, _)| {
                *category == spec.association_category && *type_id == spec.association_type_id
            },
        );
        if !known {
            // [INFERENCE] wording; HubSpot refuses a type id that does not join these types.
            return Err(ApiError::validation(
                format!(
                    "association type id {} does not exist between {from_type} and {to_type_id}",
                    spec.association_type_id
                ),
                &ctx.correlation_id,
            ));
        }
    }
    let labels = labels_of(&types);
    let pairs = types
        .iter()
        .map(|t| (t.association_category.clone(), t.association_type_id))
        .collect();
    store.associate(&from_type, f, &to_type_id, t, pairs);
    let mut response = json_response(
        StatusCode::CREATED,
        &json!({"fromObjectTypeId": from_type, "fromObjectId": f, "toObjectTypeId": to_type_id, "toObjectId": t, "labels": labels}),
    );
    let location = format!(
        "https://api.hubapi.com/crm/objects/v4/{object_type}/{f}/associations/{to_type}/{t}/{f}"
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&location) {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, v);
    }
    Ok(response)
}

/// `PUT /crm/v4/objects/{objectType}/{id}/associations/default/{toObjectType}/{toId}`: 200
/// with the default association made (\[INFERENCE\] body in the batch default route's form).
pub async fn put_default(
    State(state): State<Shared>,
    Path((object_type, id, to_type, to_id)): Path<(String, String, String, String)>,
    Extension(ctx): Extension<Ctx>,
) -> Result<Response, ApiError> {
    let mut store = state.store();
    let Ends {
        f,
        t,
        from_type,
        to_type_id,
        ..
    } = ends(&store, (&object_type, &id), (&to_type, &to_id), &ctx)?;
    let Some(type_id) = default_association(&from_type, &to_type_id) else {
        return Err(ApiError::validation(
            format!("no default association between {from_type} and {to_type_id}"),
            &ctx.correlation_id,
        ));
    };
    store.associate(
        &from_type,
        f,
        &to_type_id,
        t,
        vec![("HUBSPOT_DEFINED".into(), type_id)],
    );
    let result = json!({"from": {"id": f.to_string()}, "to": {"id": t.to_string()}, "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}});
    Ok(envelope(
        &ctx,
        vec![result],
        Vec::new(),
        StatusCode::OK,
        false,
    ))
}

/// `DELETE /crm/v4/objects/{objectType}/{id}/associations/{toObjectType}/{toId}`: 204; every
/// association type between the two records goes, whether or not there was one.
pub async fn delete_pair(
    State(state): State<Shared>,
    Path((object_type, id, to_type, to_id)): Path<(String, String, String, String)>,
    Extension(ctx): Extension<Ctx>,
) -> Result<Response, ApiError> {
    let mut store = state.store();
    let (fi, ti) = pair(&store, &object_type, &to_type, &ctx)?;
    let (from_type, to_type_id) = (
        store.types[fi].type_id.clone(),
        store.types[ti].type_id.clone(),
    );
    if let (Ok(f), Ok(t)) = (id.parse::<u64>(), to_id.parse::<u64>()) {
        store.dissociate(&from_type, f, &to_type_id, t);
    }
    Ok(axum::response::IntoResponse::into_response(
        StatusCode::NO_CONTENT,
    ))
}

/// `PUT /crm/v3/objects/{objectType}/{id}/associations/{toObjectType}/{toId}/{associationType}`
/// (the v3 API, `associationType` a name such as `call_to_deal`): 200 with the source record
/// and all its associations to that type, as recorded.
pub async fn put_v3(
    State(state): State<Shared>,
    Path((object_type, id, to_type, to_id, association_type)): Path<(
        String,
        String,
        String,
        String,
        String,
    )>,
    Extension(ctx): Extension<Ctx>,
) -> Result<Response, ApiError> {
    let mut store = state.store();
    let Ends {
        fi,
        ti,
        f,
        t,
        from_type,
        to_type_id,
    } = ends(&store, (&object_type, &id), (&to_type, &to_id), &ctx)?;
    let Some(type_id) = store.v3_association_type(fi, ti, &association_type) else {
        // [INFERENCE] wording.
        return Err(ApiError::validation(
            format!(
                "{association_type} is not a valid association type between {from_type} and {to_type_id}"
            ),
            &ctx.correlation_id,
        ));
    };
    store.associate(
        &from_type,
        f,
        &to_type_id,
        t,
        vec![("HUBSPOT_DEFINED".into(), type_id)],
    );
    let Some(object) = store.live(fi, f) else {
        return Err(ApiError::not_found("record vanished", &ctx.correlation_id));
    };
    let mut body = store.object_json(fi, object, Some(&[]));
    body.insert("url".into(), json!(store.url(fi, f)));
    let linked: Vec<Value> = store
        .associated(fi, f, ti)
        .into_iter()
        .flat_map(|(to_id, types)| types.into_iter().map(move |(_, id)| (to_id, id)))
        .map(|(to_id, id)| json!({"id": to_id.to_string(), "type": store.v3_association_name(fi, ti, id)}))
        .collect();
    let mut associations = serde_json::Map::new();
    associations.insert(store.types[ti].name.clone(), json!({ "results": linked }));
    body.insert("associations".into(), Value::Object(associations));
    Ok(json_response(StatusCode::OK, &Value::Object(body)))
}

#[derive(Deserialize)]
struct ArchiveInput {
    from: Ref,
    to: Vec<Ref>,
}

/// `POST /crm/v4/associations/{from}/{to}/batch/read`: every association of each input
/// record to the other type; unknown records are reported in a 207 (\[INFERENCE\] in the form
/// of the batch create route's per-input errors).
pub async fn batch_read(
    State(state): State<Shared>,
    Path((from, to)): Path<(String, String)>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Batch { inputs } = parse_json::<Batch<Ref>>(&body, &ctx)?;
    // HubSpot's associations guide: batch read takes at most 1,000 inputs. [INFERENCE] text.
    if inputs.len() > MAX_READ_INPUTS {
        return Err(ApiError::validation(
            format!(
                "Batch input limit exceeded: {} inputs were provided, the limit is {MAX_READ_INPUTS}",
                inputs.len()
            ),
            &ctx.correlation_id,
        ));
    }
    let store = state.store();
    let (fi, ti) = pair(&store, &from, &to, &ctx)?;
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for input in inputs {
        let Some(id) = live_id(&store, fi, &input.id()) else {
            errors.push(missing_object_error(&store, fi, &input.id()));
            continue;
        };
        let to = associations_of(&store, fi, id, ti);
        results.push(json!({"from": {"id": id.to_string()}, "to": to}));
    }
    Ok(envelope(&ctx, results, errors, StatusCode::OK, true))
}

/// `POST /crm/v4/associations/{from}/{to}/batch/archive`: 204; every association type
/// between each pair goes, either way round, whether or not there was one.
pub async fn batch_archive(
    State(state): State<Shared>,
    Path((from, to)): Path<(String, String)>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Batch { inputs } = parse_json::<Batch<ArchiveInput>>(&body, &ctx)?;
    let mut store = state.store();
    let (fi, ti) = pair(&store, &from, &to, &ctx)?;
    let (a_type, b_type) = (
        store.types[fi].type_id.clone(),
        store.types[ti].type_id.clone(),
    );
    for input in inputs {
        let Ok(a) = input.from.id().parse::<u64>() else {
            continue;
        };
        for to in input.to {
            if let Ok(b) = to.id().parse::<u64>() {
                store.dissociate(&a_type, a, &b_type, b);
            }
        }
    }
    Ok(axum::response::IntoResponse::into_response(
        StatusCode::NO_CONTENT,
    ))
}

/// The body of `POST /crm/v4/associations/{from}/{to}/labels`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LabelCreate {
    label: String,
    #[serde(default)]
    inverse_label: Option<String>,
}

/// `POST /crm/v4/associations/{from}/{to}/labels`: creates a `USER_DEFINED` label from `from`
/// to `to` and its inverse (named `inverseLabel`, or the same), 200 with both, as HubSpot's
/// guide shows. \[INFERENCE\] the ids: the next free ones above HubSpot's defaults.
pub async fn create_label(
    State(state): State<Shared>,
    Path((from, to)): Path<(String, String)>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let create = parse_json::<LabelCreate>(&body, &ctx)?;
    let mut store = state.store();
    let (fi, ti) = pair(&store, &from, &to, &ctx)?;
    let (f, t) = (
        store.types[fi].type_id.clone(),
        store.types[ti].type_id.clone(),
    );
    if store.association_types(&f, &t).iter().any(|(_, _, l)| {
        l.as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case(&create.label))
    }) {
        // [INFERENCE] wording.
        return Err(ApiError::validation(
            format!(
                "An association label '{}' already exists between {f} and {t}",
                create.label
            ),
            &ctx.correlation_id,
        ));
    }
    let next = store
        .user_labels
        .iter()
        .map(|l| l.type_id)
        .max()
        .unwrap_or(1000)
        + 1;
    let inverse = create.inverse_label.unwrap_or_else(|| create.label.clone());
    store.user_labels.push(crate::store::UserLabel {
        from_type: f.clone(),
        to_type: t.clone(),
        type_id: next,
        label: create.label.clone(),
    });
    store.user_labels.push(crate::store::UserLabel {
        from_type: t,
        to_type: f,
        type_id: next + 1,
        label: inverse.clone(),
    });
    Ok(json_response(
        StatusCode::OK,
        &json!({"results": [
            {"category": "USER_DEFINED", "typeId": next, "label": create.label},
            {"category": "USER_DEFINED", "typeId": next + 1, "label": inverse},
        ]}),
    ))
}

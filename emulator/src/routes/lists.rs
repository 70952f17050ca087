//! `/crm/v3/lists`: manual lists and their memberships, as the recordings use them (find by
//! name, create, `join-order`, `add-and-remove`), plus read by id.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::parse_json;
use crate::clock;
use crate::error::{ApiError, json_response};
use crate::state::{Ctx, Shared};
use crate::store::{List, Store};

/// The user HubSpot names as creator in the recordings' list answers.
const CREATED_BY: &str = "11017171";

/// A list as the Lists API returns it (`size` only on reads, as recorded).
fn list_json(list: &List, with_size: bool) -> Value {
    let mut m = Map::new();
    m.insert("listId".into(), json!(list.id.to_string()));
    m.insert("listVersion".into(), json!(1));
    m.insert("createdAt".into(), json!(list.created_at));
    m.insert("updatedAt".into(), json!(list.updated_at));
    m.insert("filtersUpdatedAt".into(), json!(list.created_at));
    m.insert("processingStatus".into(), json!("COMPLETE"));
    m.insert("createdById".into(), json!(CREATED_BY));
    m.insert("updatedById".into(), json!(CREATED_BY));
    m.insert("processingType".into(), json!(list.processing_type));
    m.insert("objectTypeId".into(), json!(list.object_type_id));
    m.insert("name".into(), json!(list.name));
    if with_size {
        m.insert("size".into(), json!(list.members.len()));
    }
    m.insert(
        "listPermissions".into(),
        json!({"teamsWithEditAccess": [], "usersWithEditAccess": []}),
    );
    m.insert(
        "membershipSettings".into(),
        json!({"membershipTeamId": null, "includeUnassigned": null}),
    );
    json!({ "list": Value::Object(m) })
}

/// A 404 with `x-hubspot-notfound: true`, as recorded for a list name that does not exist.
fn not_found(error: ApiError) -> Response {
    let mut response = error.into_response();
    response
        .headers_mut()
        .insert("x-hubspot-notfound", HeaderValue::from_static("true"));
    response
}

fn list_by_id<'a>(store: &'a Store, id: &str) -> Option<&'a List> {
    store.lists.get(&id.parse::<u64>().ok()?)
}

/// \[INFERENCE\] HubSpot's answer for an unknown list id was not recorded; modelled on the
/// unknown-name answer.
fn unknown_list(id: &str, ctx: &Ctx) -> Response {
    let mut extra = Map::new();
    extra.insert("context".into(), json!({"listId": [id]}));
    let mut error = ApiError::with_extra(
        StatusCode::NOT_FOUND,
        Some("OBJECT_NOT_FOUND"),
        format!("List {id} does not exist."),
        &ctx.correlation_id,
        extra,
    );
    if let Some(body) = error.body.as_object_mut() {
        body.insert("subCategory".into(), json!("ListError.LIST_DOES_NOT_EXIST"));
    }
    not_found(error)
}

/// `GET /crm/v3/lists/object-type-id/{objectTypeId}/name/{listName}`.
pub async fn by_name(
    State(state): State<Shared>,
    Path((object_type_id, name)): Path<(String, String)>,
    Extension(ctx): Extension<Ctx>,
) -> Response {
    let store = state.store();
    if let Some(list) = store
        .lists
        .values()
        .find(|l| l.object_type_id == object_type_id && l.name.eq_ignore_ascii_case(&name))
    {
        return json_response(StatusCode::OK, &list_json(list, true));
    }
    let mut extra = Map::new();
    extra.insert(
        "context".into(),
        json!({"listName": [name], "objectTypeId": [object_type_id]}),
    );
    let mut error = ApiError::with_extra(
        StatusCode::NOT_FOUND,
        Some("OBJECT_NOT_FOUND"),
        format!("List does not exist with name {name} and object type ID {object_type_id}."),
        &ctx.correlation_id,
        extra,
    );
    if let Some(body) = error.body.as_object_mut() {
        body.insert(
            "subCategory".into(),
            json!("ListError.LIST_NAME_DOES_NOT_EXIST"),
        );
    }
    not_found(error)
}

/// `GET /crm/v3/lists/{listId}`.
pub async fn get_one(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Extension(ctx): Extension<Ctx>,
) -> Response {
    let store = state.store();
    match list_by_id(&store, &id) {
        Some(list) => json_response(StatusCode::OK, &list_json(list, true)),
        None => unknown_list(&id, &ctx),
    }
}

/// The body of `POST /crm/v3/lists`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListCreate {
    name: String,
    object_type_id: String,
    processing_type: String,
}

/// `POST /crm/v3/lists`: 200 (not 201, as recorded) with the new list.
pub async fn create(
    State(state): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let create = parse_json::<ListCreate>(&body, &ctx)?;
    let mut store = state.store();
    if store.resolve(&create.object_type_id).is_none() {
        return Err(ApiError::unknown_type(
            &create.object_type_id,
            &ctx.correlation_id,
        ));
    }
    if !matches!(
        create.processing_type.as_str(),
        "MANUAL" | "DYNAMIC" | "SNAPSHOT"
    ) {
        // [INFERENCE] wording.
        return Err(ApiError::validation(
            format!(
                "processingType {} is not one of MANUAL, DYNAMIC, SNAPSHOT",
                create.processing_type
            ),
            &ctx.correlation_id,
        ));
    }
    if store.lists.values().any(|l| {
        l.object_type_id == create.object_type_id && l.name.eq_ignore_ascii_case(&create.name)
    }) {
        // [INFERENCE] HubSpot refuses a second list of one name; its text was not recorded.
        return Err(ApiError::validation(
            format!("A list named {} already exists", create.name),
            &ctx.correlation_id,
        ));
    }
    let id = store.next_list_id();
    let now = clock::now_iso();
    let list = List {
        id,
        name: create.name,
        object_type_id: create.object_type_id,
        processing_type: create.processing_type,
        created_at: now.clone(),
        updated_at: now,
        members: Vec::new(),
    };
    let body = list_json(&list, false);
    store.lists.insert(id, list);
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /crm/v3/lists/{listId}/memberships/join-order`: members oldest first; `total` only
/// when there are some, as recorded. \[INFERENCE\] one page of up to 100 (`limit`, `after`
/// paging is not modelled).
pub async fn join_order(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Extension(ctx): Extension<Ctx>,
) -> Response {
    let store = state.store();
    let Some(list) = list_by_id(&store, &id) else {
        return unknown_list(&id, &ctx);
    };
    let results: Vec<Value> = list
        .members
        .iter()
        .take(100)
        .map(|(record, at)| json!({"membershipTimestamp": at, "recordId": record.to_string()}))
        .collect();
    let body = if results.is_empty() {
        json!({ "results": results })
    } else {
        json!({ "results": results, "total": list.members.len() })
    };
    json_response(StatusCode::OK, &body)
}

/// The body of `PUT …/memberships/add-and-remove`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Membership {
    #[serde(default)]
    record_ids_to_add: Vec<String>,
    #[serde(default)]
    record_ids_to_remove: Vec<String>,
}

/// `PUT /crm/v3/lists/{listId}/memberships/add-and-remove`: 200 with the ids added (as
/// recorded, `recordsIdsAdded`) and, \[INFERENCE\], those removed and those that are no record.
pub async fn add_and_remove(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let change = parse_json::<Membership>(&body, &ctx)?;
    let mut store = state.store();
    let Some(list) = list_by_id(&store, &id) else {
        return Ok(unknown_list(&id, &ctx));
    };
    let list_id = list.id;
    let member_type = store.resolve(&list.object_type_id);
    let exists = |record: u64| member_type.is_some_and(|idx| store.live(idx, record).is_some());
    let (mut added, mut removed, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    let mut plan: Vec<(bool, u64)> = Vec::new();
    for text in &change.record_ids_to_add {
        match text.parse::<u64>().ok().filter(|r| exists(*r)) {
            Some(r) => plan.push((true, r)),
            None => missing.push(text.clone()),
        }
    }
    for text in &change.record_ids_to_remove {
        if let Ok(r) = text.parse::<u64>() {
            plan.push((false, r));
        }
    }
    let now = clock::now_iso();
    if let Some(list) = store.lists.get_mut(&list_id) {
        for (add, record) in plan {
            let present = list.members.iter().any(|(m, _)| *m == record);
            if add && !present {
                list.members.push((record, now.clone()));
                added.push(record.to_string());
            } else if !add && present {
                list.members.retain(|(m, _)| *m != record);
                removed.push(record.to_string());
            }
        }
        list.updated_at = now;
    }
    let mut body = Map::new();
    body.insert("recordsIdsAdded".into(), json!(added));
    if !removed.is_empty() {
        body.insert("recordIdsRemoved".into(), json!(removed));
    }
    if !missing.is_empty() {
        body.insert("recordIdsMissing".into(), json!(missing));
    }
    Ok(json_response(StatusCode::OK, &Value::Object(body)))
}

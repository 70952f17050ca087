//! Single records: list, create, read, update, delete.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::*;
use crate::app::{Ctx, Shared};
use crate::error::{ApiError, html_not_found, json_response};
use crate::routes::parse_json;
use crate::store::Store;

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
        .map(|(_, o)| store.record_json(idx, o, only.as_deref()))
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
    let values = valid_values(&store.types[idx], portal_id, &input.properties, &ctx)?;
    let missing = crate::validate::missing_required(&store.types[idx], &values);
    if !missing.is_empty() {
        return Err(ApiError::property_values(
            &missing,
            portal_id,
            &ctx.correlation_id,
        ));
    }
    let links = inline_associations(&store, idx, &input, &ctx)?;
    let (id, _) = store
        .write(idx, None, &values)
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
    let body = store.record_json(idx, object, only.as_deref());
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
    let values = valid_values(&store.types[idx], portal_id, &input.properties, &ctx)?;
    store
        .write(idx, Some(record), &values)
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

//! Single records: list, create, read, update, delete.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::*;
use crate::error::{ApiError, html_not_found, json_response};
use crate::routes::parse_json;
use crate::state::{Ctx, Shared};
use crate::store::Store;

/// Query of the single-record and list routes. Read from the raw query so that repeated
/// parameters (`?properties=a&properties=b`, the spec's form and the official clients') and
/// the comma form (`?properties=a,b`) both work, and so that a malformed query never gets a
/// framework's plain-text 400: unknown or unreadable parameters are ignored, as HubSpot does.
#[derive(Debug, Default)]
pub struct RecordQuery {
    id_property: Option<String>,
    properties: Option<Vec<String>>,
    properties_with_history: Vec<String>,
    associations: Vec<String>,
    archived: bool,
    limit: Option<usize>,
    after: Option<String>,
}

impl RecordQuery {
    /// Reads the query string of a request.
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default();
        let mut q = Self::default();
        let list = |v: &str| -> Vec<String> {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        for (key, value) in pairs {
            match key.as_str() {
                "idProperty" => q.id_property = Some(value),
                "properties" => q
                    .properties
                    .get_or_insert_with(Vec::new)
                    .extend(list(&value)),
                "propertiesWithHistory" => q.properties_with_history.extend(list(&value)),
                "associations" => q.associations.extend(list(&value)),
                "archived" => q.archived = value.eq_ignore_ascii_case("true"),
                "limit" => q.limit = value.parse().ok(),
                "after" => q.after = Some(value),
                _ => {}
            }
        }
        q
    }

    fn property_list(&self) -> Option<Vec<String>> {
        self.properties.clone()
    }
}

/// A record as GET returns it with this query: its properties, `propertiesWithHistory`
/// (\[INFERENCE\] the current value as the one version, as the emulator keeps no history),
/// `archivedAt` when archived, and the requested `associations` in the v3 form.
fn read_json(
    store: &Store,
    idx: usize,
    object: &crate::model::StoredObject,
    query: &RecordQuery,
) -> Value {
    let mut body = store.record_json(idx, object, query.property_list().as_deref());
    let Some(m) = body.as_object_mut() else {
        return body;
    };
    if object.archived {
        m.insert("archivedAt".into(), json!(object.updated_at));
    }
    if !query.properties_with_history.is_empty() {
        m.insert(
            "propertiesWithHistory".into(),
            history_json(object, &query.properties_with_history),
        );
    }
    if !query.associations.is_empty() {
        let mut associations = Map::new();
        for to in &query.associations {
            let Some(ti) = store.resolve(to) else {
                continue;
            };
            let results: Vec<Value> = store
                .associated(idx, object.id, ti)
                .into_iter()
                .flat_map(|(to_id, types)| {
                    types.into_iter().map(move |(_, type_id)| (to_id, type_id))
                })
                .map(|(to_id, type_id)| {
                    json!({"id": to_id.to_string(), "type": store.v3_association_name(idx, ti, type_id)})
                })
                .collect();
            if !results.is_empty() {
                associations.insert(store.types[ti].name.clone(), json!({ "results": results }));
            }
        }
        if !associations.is_empty() {
            m.insert("associations".into(), Value::Object(associations));
        }
    }
    body
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
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = RecordQuery::parse(raw.as_deref());
    let store = state.store();
    let idx = resolve(&store, &object_type, &ctx)?;
    let limit = query.limit.unwrap_or(10).clamp(1, 100);
    let after: u64 = query
        .after
        .as_deref()
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    // `archived=true` lists the archived records instead of the live ones.
    let mut page: Vec<Value> = store.types[idx]
        .objects
        .range(after..)
        .filter(|(_, o)| o.archived == query.archived)
        .take(limit + 1)
        .map(|(_, o)| read_json(&store, idx, o, &query))
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
    check_property_names(&body, input.properties.keys(), "single", &ctx)?;
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
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = RecordQuery::parse(raw.as_deref());
    let store = state.store();
    let idx = resolve(&store, &object_type, &ctx)?;
    // With `archived=true`, an archived record is read ([INFERENCE] by record id only: its
    // unique values were freed when it was archived).
    let object = if query.archived {
        id.parse::<u64>()
            .ok()
            .and_then(|n| store.types[idx].objects.get(&n))
            .filter(|o| o.archived)
    } else {
        find_record(&store, idx, &id, &query).and_then(|r| store.live(idx, r))
    };
    let Some(object) = object else {
        return Ok(html_not_found());
    };
    Ok(json_response(
        StatusCode::OK,
        &read_json(&store, idx, object, &query),
    ))
}

/// `PATCH /crm/v3/objects/{objectType}/{id}`.
pub async fn update_one(
    State(state): State<Shared>,
    Path((object_type, id)): Path<(String, String)>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let query = RecordQuery::parse(raw.as_deref());
    let input = parse_json::<SingleBody>(&body, &ctx)?;
    check_property_names(&body, input.properties.keys(), "single", &ctx)?;
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

/// The body of `POST /crm/v3/objects/{objectType}/merge`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MergeBody {
    primary_object_id: IdValue,
    object_id_to_merge: IdValue,
}

/// `POST /crm/v3/objects/{objectType}/merge`: 200 with the record both now live on.
pub async fn merge(
    State(state): State<Shared>,
    Path(object_type): Path<String>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input = parse_json::<MergeBody>(&body, &ctx)?;
    let mut store = state.store();
    let idx = resolve(&store, &object_type, &ctx)?;
    let ids = (
        input.primary_object_id.text(),
        input.object_id_to_merge.text(),
    );
    let (Ok(primary), Ok(other)) = (ids.0.parse::<u64>(), ids.1.parse::<u64>()) else {
        return Err(ApiError::validation(
            format!("Object ids must be numbers: {} and {}", ids.0, ids.1),
            &ctx.correlation_id,
        ));
    };
    match store.merge(idx, primary, other) {
        Ok(()) => {}
        // [INFERENCE] texts: HubSpot's merge refusals were not recorded.
        Err(crate::store::MergeRefusal::Same) => {
            return Err(ApiError::validation(
                format!("Cannot merge object {primary} into itself"),
                &ctx.correlation_id,
            ));
        }
        Err(crate::store::MergeRefusal::Missing(id)) => {
            return Err(ApiError::not_found(
                format!(
                    "resource not found: {} {id} does not exist",
                    store.types[idx].upper_singular
                ),
                &ctx.correlation_id,
            ));
        }
    }
    let kept = store.types[idx]
        .merged
        .get(&other)
        .copied()
        .unwrap_or(primary);
    let Some(object) = store.live(idx, kept) else {
        return Err(ApiError::not_found(
            "merged record vanished",
            &ctx.correlation_id,
        ));
    };
    Ok(json_response(
        StatusCode::OK,
        &store.record_json(idx, object, None),
    ))
}

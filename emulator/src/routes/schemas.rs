//! `/crm-object-schemas/v3/schemas` (also `/crm/v3/schemas`): custom object types.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::parse_json;
use crate::creation::{SchemaCreate, create_schema};
use crate::error::{ApiError, json_response};
use crate::model::{ObjectType, PropertyDef};
use crate::state::{Ctx, Shared};

use crate::store::Store;

fn schema_json(store: &Store, t: &ObjectType) -> Value {
    let custom: Vec<Value> = t
        .properties
        .iter()
        .filter(|p| !p.hubspot_defined)
        .map(PropertyDef::to_json)
        .collect();
    json!({
        "id": t.type_id.trim_start_matches("2-"),
        "createdAt": t.created_at,
        "updatedAt": t.created_at,
        "archived": false,
        "labels": {"singular": t.labels.0, "plural": t.labels.1},
        "primaryDisplayProperty": t.primary_display_property,
        "requiredProperties": t.required,
        "searchableProperties": t.searchable,
        "secondaryDisplayProperties": t.secondary_display,
        "properties": custom,
        "associations": t.associated_objects.iter().map(|to| json!({
            "fromObjectTypeId": t.type_id,
            "toObjectTypeId": store.resolve(to).map_or(to.as_str(), |i| store.types[i].type_id.as_str()),
            "name": format!("{}_to_{}", t.name, to.to_lowercase()),
        })).collect::<Vec<_>>(),
        "name": t.name,
        "metaType": "PORTAL_SPECIFIC",
        "fullyQualifiedName": t.fully_qualified_name,
        "objectTypeId": t.type_id,
        "portalId": store.portal_id,
    })
}

fn custom_types(store: &Store) -> impl Iterator<Item = &ObjectType> {
    store.types.iter().filter(|t| t.type_id.starts_with("2-"))
}

/// `GET …/schemas`: every custom object schema.
pub async fn list(State(state): State<Shared>) -> Response {
    let store = state.store();
    let results: Vec<Value> = custom_types(&store)
        .map(|t| schema_json(&store, t))
        .collect();
    json_response(StatusCode::OK, &json!({ "results": results }))
}

/// `GET …/schemas/{objectType}`: by type id or fully qualified name.
pub async fn get_one(
    State(state): State<Shared>,
    Path(object_type): Path<String>,
    Extension(ctx): Extension<Ctx>,
) -> Result<Response, ApiError> {
    let store = state.store();
    let t = store
        .resolve(&object_type)
        .map(|i| &store.types[i])
        .filter(|t| t.type_id.starts_with("2-"))
        .ok_or_else(|| {
            ApiError::not_found(
                format!("Unable to find object type {object_type}"),
                &ctx.correlation_id,
            )
        })?;
    Ok(json_response(StatusCode::OK, &schema_json(&store, t)))
}

/// `POST …/schemas`: 201 with the new schema; 409 when the name is taken.
pub async fn create(
    State(state): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let egg = parse_json::<SchemaCreate>(&body, &ctx)?;
    let mut store = state.store();
    let idx = create_schema(&mut store, egg, &ctx.correlation_id)?;
    let body = schema_json(&store, &store.types[idx]);
    Ok(json_response(StatusCode::CREATED, &body))
}

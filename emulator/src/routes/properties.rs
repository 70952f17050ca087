//! `/crm/v3/properties/{objectType}`: property definitions.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::parse_json;
use crate::app::{Ctx, Shared};
use crate::error::{ApiError, json_response};
use crate::model::{PropertyDef, PropertyOption, PropertyType};

/// `GET /crm/v3/properties/{objectType}`: every property, unpaged.
pub async fn list(
    State(state): State<Shared>,
    Path(object_type): Path<String>,
    Extension(ctx): Extension<Ctx>,
) -> Result<Response, ApiError> {
    let store = state.store();
    let idx = store
        .resolve(&object_type)
        .ok_or_else(|| ApiError::unknown_type(&object_type, &ctx.correlation_id))?;
    let results: Vec<Value> = store.types[idx]
        .properties
        .iter()
        .map(PropertyDef::to_json)
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "results": results }),
    ))
}

/// `GET /crm/v3/properties/{objectType}/{name}`.
pub async fn get_one(
    State(state): State<Shared>,
    Path((object_type, name)): Path<(String, String)>,
    Extension(ctx): Extension<Ctx>,
) -> Result<Response, ApiError> {
    let store = state.store();
    let idx = store
        .resolve(&object_type)
        .ok_or_else(|| ApiError::unknown_type(&object_type, &ctx.correlation_id))?;
    let t = &store.types[idx];
    match t.property(&name) {
        Some(p) => Ok(json_response(StatusCode::OK, &p.to_json())),
        // [INFERENCE] wording of HubSpot's missing-property 404 was not captured.
        None => Err(ApiError::not_found(
            format!(
                "Unable to find property {name} for object type {}",
                t.type_id
            ),
            &ctx.correlation_id,
        )),
    }
}

/// The body of `POST /crm/v3/properties/{objectType}` (HubSpot's `PropertyCreate`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyCreate {
    name: String,
    label: String,
    #[serde(rename = "type")]
    kind: PropertyType,
    field_type: String,
    /// Required on the properties route; a custom-object schema's properties may leave it
    /// out (they go to the object's `{name}information` group).
    group_name: Option<String>,
    #[serde(default)]
    options: Vec<PropertyOption>,
    #[serde(default)]
    has_unique_value: bool,
}

impl PropertyCreate {
    /// The definition this request creates (portal-defined, writable), in `default_group`
    /// when it names none.
    pub fn into_def(self, default_group: &str) -> PropertyDef {
        PropertyDef {
            name: self.name,
            label: self.label,
            kind: self.kind,
            field_type: self.field_type,
            group_name: self.group_name.unwrap_or_else(|| default_group.to_string()),
            options: self.options,
            external_options: false,
            has_unique_value: self.has_unique_value,
            read_only: false,
            calculated: false,
            hubspot_defined: false,
        }
    }
}

/// `POST /crm/v3/properties/{objectType}`: 201, or 409 when the name is taken.
pub async fn create(
    State(state): State<Shared>,
    Path(object_type): Path<String>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let create = parse_json::<PropertyCreate>(&body, &ctx)?;
    if create.group_name.is_none() {
        // [INFERENCE] HubSpot's spec makes `groupName` required here; its text was not captured.
        return Err(ApiError::validation(
            "Invalid input JSON: groupName is required",
            &ctx.correlation_id,
        ));
    }
    let def = create.into_def("");
    let mut store = state.store();
    let idx = store
        .resolve(&object_type)
        .ok_or_else(|| ApiError::unknown_type(&object_type, &ctx.correlation_id))?;
    let body = store.create_property(idx, def, &ctx.correlation_id)?;
    Ok(json_response(StatusCode::CREATED, &body))
}

/// The body of `POST /crm/v3/properties/{objectType}/groups` (HubSpot's `PropertyGroupCreate`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupCreate {
    name: String,
    label: String,
    #[serde(default)]
    display_order: i64,
}

/// `POST /crm/v3/properties/{objectType}/groups`: 201, or 409 when the name is taken.
pub async fn create_group(
    State(state): State<Shared>,
    Path(object_type): Path<String>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let group = parse_json::<GroupCreate>(&body, &ctx)?;
    let mut store = state.store();
    let idx = store
        .resolve(&object_type)
        .ok_or_else(|| ApiError::unknown_type(&object_type, &ctx.correlation_id))?;
    let t = &mut store.types[idx];
    if t.has_group(&group.name) {
        // [INFERENCE] category and wording modelled on the duplicate-property answer.
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            Some("OBJECT_ALREADY_EXISTS"),
            format!("Property group named '{}' already exists.", group.name),
            &ctx.correlation_id,
        ));
    }
    t.created_groups.insert(group.name.clone());
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"name": group.name, "label": group.label, "displayOrder": group.display_order, "archived": false}),
    ))
}

//! `/crm/v3/properties/{objectType}`: property definitions.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::parse_json;
use crate::creation::PropertyCreate;
use crate::error::{ApiError, json_response};
use crate::model::{PropertyDef, PropertyOption, PropertyType};
use crate::state::{Ctx, Shared};

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
    t.created_groups.insert(
        group.name.clone(),
        crate::model::PropertyGroup {
            label: group.label.clone(),
            display_order: group.display_order,
        },
    );
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"name": group.name, "label": group.label, "displayOrder": group.display_order, "archived": false}),
    ))
}

/// The body of `PATCH /crm/v3/properties/{objectType}/{name}` (HubSpot's `PropertyUpdate`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyUpdate {
    label: Option<String>,
    #[serde(rename = "type")]
    kind: Option<PropertyType>,
    field_type: Option<String>,
    group_name: Option<String>,
    options: Option<Vec<PropertyOption>>,
}

fn type_index(
    store: &crate::store::Store,
    object_type: &str,
    ctx: &Ctx,
) -> Result<usize, ApiError> {
    store
        .resolve(object_type)
        .ok_or_else(|| ApiError::unknown_type(object_type, &ctx.correlation_id))
}

/// \[INFERENCE\] wording of HubSpot's missing-property 404 was not captured.
fn no_property(name: &str, type_id: &str, ctx: &Ctx) -> ApiError {
    ApiError::not_found(
        format!("Unable to find property {name} for object type {type_id}"),
        &ctx.correlation_id,
    )
}

/// \[INFERENCE\] HubSpot refuses changes to the definition of its own properties; the text was
/// not captured.
fn read_only_definition(name: &str, ctx: &Ctx) -> ApiError {
    ApiError::validation(
        format!("Property {name} is defined by HubSpot: its definition cannot be changed"),
        &ctx.correlation_id,
    )
}

/// `PATCH /crm/v3/properties/{objectType}/{name}`: 200 with the changed definition, checked
/// as a new one is (the unique-value flag cannot change, as HubSpot documents).
pub async fn update(
    State(state): State<Shared>,
    Path((object_type, name)): Path<(String, String)>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let change = parse_json::<PropertyUpdate>(&body, &ctx)?;
    let mut store = state.store();
    let idx = type_index(&store, &object_type, &ctx)?;
    let t = &store.types[idx];
    let Some(pos) = t.properties.iter().position(|p| p.name == name) else {
        return Err(no_property(&name, &t.type_id, &ctx));
    };
    let mut def = t.properties[pos].clone();
    if def.hubspot_defined {
        return Err(read_only_definition(&name, &ctx));
    }
    if let Some(label) = change.label {
        def.label = label;
    }
    if let Some(kind) = change.kind {
        def.kind = kind;
    }
    if let Some(field_type) = change.field_type {
        def.field_type = field_type;
    }
    if let Some(group) = change.group_name {
        def.group_name = group;
    }
    if let Some(options) = change.options {
        def.options = options;
    }
    // Checked as a creation would be, on the type without the old definition.
    let old = store.types[idx].properties.remove(pos);
    match store.create_property(idx, def, &ctx.correlation_id) {
        Ok(body) => {
            let t = &mut store.types[idx];
            if let Some(new) = t.properties.pop() {
                t.properties.insert(pos, new);
            }
            Ok(json_response(StatusCode::OK, &body))
        }
        Err(e) => {
            store.types[idx].properties.insert(pos, old);
            Err(e)
        }
    }
}

/// `DELETE /crm/v3/properties/{objectType}/{name}`: 204; the definition goes and so do the
/// records' values of it (\[INFERENCE\]: HubSpot archives it and stops returning them).
pub async fn delete(
    State(state): State<Shared>,
    Path((object_type, name)): Path<(String, String)>,
    Extension(ctx): Extension<Ctx>,
) -> Result<Response, ApiError> {
    let mut store = state.store();
    let idx = type_index(&store, &object_type, &ctx)?;
    let t = &mut store.types[idx];
    let Some(pos) = t.properties.iter().position(|p| p.name == name) else {
        return Err(no_property(&name, &t.type_id, &ctx));
    };
    if t.properties[pos].hubspot_defined {
        return Err(read_only_definition(&name, &ctx));
    }
    t.properties.remove(pos);
    t.unique_index.remove(&name);
    for object in t.objects.values_mut() {
        object.properties.remove(&name);
    }
    Ok(axum::response::IntoResponse::into_response(
        StatusCode::NO_CONTENT,
    ))
}

fn group_json(name: &str, group: &crate::model::PropertyGroup) -> Value {
    json!({"name": name, "label": group.label, "displayOrder": group.display_order, "archived": false})
}

/// `GET /crm/v3/properties/{objectType}/groups`.
pub async fn list_groups(
    State(state): State<Shared>,
    Path(object_type): Path<String>,
    Extension(ctx): Extension<Ctx>,
) -> Result<Response, ApiError> {
    let store = state.store();
    let idx = type_index(&store, &object_type, &ctx)?;
    let results: Vec<Value> = store.types[idx]
        .groups()
        .iter()
        .map(|(name, g)| group_json(name, g))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "results": results }),
    ))
}

/// \[INFERENCE\] wording.
fn no_group(name: &str, type_id: &str, ctx: &Ctx) -> ApiError {
    ApiError::not_found(
        format!("Unable to find property group {name} for object type {type_id}"),
        &ctx.correlation_id,
    )
}

/// `GET /crm/v3/properties/{objectType}/groups/{name}`.
pub async fn get_group(
    State(state): State<Shared>,
    Path((object_type, name)): Path<(String, String)>,
    Extension(ctx): Extension<Ctx>,
) -> Result<Response, ApiError> {
    let store = state.store();
    let idx = type_index(&store, &object_type, &ctx)?;
    let t = &store.types[idx];
    match t.groups().get(&name) {
        Some(g) => Ok(json_response(StatusCode::OK, &group_json(&name, g))),
        None => Err(no_group(&name, &t.type_id, &ctx)),
    }
}

/// The body of `PATCH …/groups/{name}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupUpdate {
    label: Option<String>,
    display_order: Option<i64>,
}

/// `PATCH /crm/v3/properties/{objectType}/groups/{name}`: a group created through the API.
pub async fn update_group(
    State(state): State<Shared>,
    Path((object_type, name)): Path<(String, String)>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let change = parse_json::<GroupUpdate>(&body, &ctx)?;
    let mut store = state.store();
    let idx = type_index(&store, &object_type, &ctx)?;
    let t = &mut store.types[idx];
    if !t.created_groups.contains_key(&name) {
        return Err(if t.has_group(&name) {
            read_only_definition(&name, &ctx)
        } else {
            no_group(&name, &t.type_id, &ctx)
        });
    }
    let Some(group) = t.created_groups.get_mut(&name) else {
        return Err(no_group(&name, &t.type_id, &ctx));
    };
    if let Some(label) = change.label {
        group.label = label;
    }
    if let Some(order) = change.display_order {
        group.display_order = order;
    }
    let body = group_json(&name, group);
    Ok(json_response(StatusCode::OK, &body))
}

/// `DELETE /crm/v3/properties/{objectType}/groups/{name}`: 204 for an empty group created
/// through the API; \[INFERENCE\] a group that still holds properties is refused.
pub async fn delete_group(
    State(state): State<Shared>,
    Path((object_type, name)): Path<(String, String)>,
    Extension(ctx): Extension<Ctx>,
) -> Result<Response, ApiError> {
    let mut store = state.store();
    let idx = type_index(&store, &object_type, &ctx)?;
    let t = &mut store.types[idx];
    if !t.created_groups.contains_key(&name) {
        return Err(if t.has_group(&name) {
            read_only_definition(&name, &ctx)
        } else {
            no_group(&name, &t.type_id, &ctx)
        });
    }
    if t.properties.iter().any(|p| p.group_name == name) {
        return Err(ApiError::validation(
            format!("Property group {name} still holds properties; move or delete them first"),
            &ctx.correlation_id,
        ));
    }
    t.created_groups.remove(&name);
    Ok(axum::response::IntoResponse::into_response(
        StatusCode::NO_CONTENT,
    ))
}

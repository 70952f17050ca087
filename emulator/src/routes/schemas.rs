//! `/crm-object-schemas/v3/schemas` (also `/crm/v3/schemas`): custom object types.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::parse_json;
use super::properties::PropertyCreate;
use crate::app::{Ctx, Shared};
use crate::clock;
use crate::defaults;
use crate::error::{ApiError, json_response};
use crate::model::{ObjectType, PropertyDef};

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

/// Singular and plural labels of a custom object.
#[derive(Deserialize)]
pub struct Labels {
    singular: String,
    plural: String,
}

/// The body of `POST …/schemas` (HubSpot's `ObjectSchemaEgg`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaCreate {
    name: String,
    labels: Labels,
    primary_display_property: Option<String>,
    #[serde(default)]
    properties: Vec<PropertyCreate>,
    /// Properties a create must set; enforced like HubSpot's own required properties.
    #[serde(default)]
    required_properties: Vec<String>,
    #[serde(default)]
    searchable_properties: Vec<String>,
    #[serde(default)]
    secondary_display_properties: Vec<String>,
    /// Object types (`CONTACT`, `COMPANY`, a type id) the schema associates with.
    #[serde(default)]
    associated_objects: Vec<String>,
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

/// Adds the custom object type `egg` describes, its properties checked as the properties
/// route checks them. Returns the new type's index.
pub fn create_schema(
    store: &mut Store,
    egg: SchemaCreate,
    correlation_id: &str,
) -> Result<usize, ApiError> {
    if store.types.iter().any(|t| t.name == egg.name) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            Some("OBJECT_ALREADY_EXISTS"),
            format!("Object type with name {} already exists", egg.name),
            correlation_id,
        ));
    }
    let properties = vec![
        defaults_property("hs_object_id"),
        defaults_property("createdate"),
        defaults_property("hs_lastmodifieddate"),
    ];
    let mut t = defaults::object_type(
        "",
        &egg.name,
        &egg.labels.singular,
        "hs_lastmodifieddate",
        properties,
    );
    t.labels = (egg.labels.singular, egg.labels.plural);
    t.primary_display_property = egg.primary_display_property;
    t.required = egg.required_properties;
    t.searchable = egg.searchable_properties;
    t.secondary_display = egg.secondary_display_properties;
    t.associated_objects = egg.associated_objects;
    t.upper_singular = egg.name.to_uppercase();
    t.created_at = clock::now_iso();
    let group = format!("{}information", t.upper_singular.to_lowercase());
    let mut candidate = Store::new(store.portal_id);
    candidate.types = vec![t];
    for p in egg.properties {
        let def = p.into_def(&group);
        // [INFERENCE] a schema's properties bring their groups with them.
        candidate.types[0]
            .created_groups
            .entry(def.group_name.clone())
            .or_insert_with(|| crate::model::PropertyGroup {
                label: def.group_name.clone(),
                display_order: -1,
            });
        candidate.create_property(0, def, correlation_id)?;
    }
    let t = candidate.types.remove(0);
    Ok(store.add_custom_type(t))
}

/// A read-only system property every custom object has, copied from the company definitions.
fn defaults_property(name: &str) -> PropertyDef {
    defaults::standard_types()
        .into_iter()
        .nth(1)
        .and_then(|t| t.property(name).cloned())
        .unwrap_or_else(|| unreachable_default(name))
}

fn unreachable_default(name: &str) -> PropertyDef {
    PropertyDef {
        name: name.to_string(),
        label: name.to_string(),
        kind: crate::model::PropertyType::String,
        field_type: "text".to_string(),
        group_name: "information".to_string(),
        options: Vec::new(),
        external_options: false,
        has_unique_value: false,
        read_only: true,
        calculated: false,
        hubspot_defined: true,
    }
}

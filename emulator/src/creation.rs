//! What a request asks the portal to create (a property, a custom object schema), as the
//! store builds it: shared by the routes and by the preload, which creates through the same
//! checks without going through HTTP.

use axum::http::StatusCode;
use serde::Deserialize;

use crate::clock;
use crate::defaults;
use crate::error::ApiError;
use crate::model::{PropertyDef, PropertyOption, PropertyType};
use crate::store::Store;

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
    pub(crate) group_name: Option<String>,
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

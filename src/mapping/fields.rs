//! Field → property: which HubSpot property a record field fills, if any.
//!
//! In order: an association field is not a property; a field in `drop` (or renamed to `null`)
//! is never sent; a field in the stream's `properties` rename map goes to the property it
//! names; `_sdc_*` Singer metadata is left out; then the property of the same name, then one
//! whose name matches ignoring case, then a property created for the field in this run.
//! Anything else is unknown. Read-only and calculated properties are never sent.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use super::values::PropertyKind;
use crate::hubspot::wire::PropertyInfo;

/// One HubSpot property as the mapping uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// Internal name (shared by every record's properties).
    pub name: Arc<str>,
    /// What its values must look like.
    pub kind: PropertyKind,
    /// The API refuses values for it (read-only or calculated).
    pub read_only: bool,
}

impl Property {
    /// From a definition as `GET /crm/v3/properties/{type}` lists it.
    pub fn of(p: &PropertyInfo) -> Self {
        Self {
            name: p.name.as_str().into(),
            kind: PropertyKind::of(p),
            read_only: p.is_read_only(),
        }
    }
}

/// Where one record field goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target<'a> {
    /// Sent as this property.
    Property(&'a Property),
    /// Holds an association key (the index of the association).
    Association(usize),
    /// Left out on purpose: `drop`, a rename to `null`, or `_sdc_*` metadata.
    Dropped,
    /// Matches a property HubSpot does not let the API write.
    ReadOnly(&'a str),
    /// Matches no property.
    Unknown,
}

/// How one stream's fields find their properties.
#[derive(Debug, Clone)]
pub struct FieldMap {
    /// The object type's properties, shared by every stream of it (copied on write when a
    /// stream creates one).
    table: Arc<PropertyTable>,
    renames: HashMap<String, Option<String>>,
    drop: HashSet<String>,
    associations: Vec<String>,
    created: HashMap<String, String>,
    /// Where each field this stream names (renames, drops, associations, created
    /// properties) goes, worked out once; other fields are found in the table's routes.
    known: foldhash::HashMap<String, Route>,
}

/// One object type's properties as streams look them up: by name, by lowercase name, and
/// each name's route, worked out once. Built once per object type and shared, so a
/// thousand streams of one type hold one table.
#[derive(Debug, Clone, Default)]
pub struct PropertyTable {
    properties: HashMap<String, Property>,
    lowercase: HashMap<String, String>,
    routes: foldhash::HashMap<String, Route>,
}

impl PropertyTable {
    /// The table of `properties`.
    pub fn new(properties: &[PropertyInfo]) -> Self {
        let mut table = Self::default();
        for p in properties {
            table.insert(Property::of(p));
        }
        table
    }

    fn insert(&mut self, p: Property) {
        self.lowercase
            .entry(p.name.to_lowercase())
            .or_insert_with(|| p.name.to_string());
        let route = if p.read_only {
            Route::ReadOnly(p.name.to_string())
        } else {
            Route::Property(p.clone())
        };
        self.routes.insert(p.name.to_string(), route);
        self.properties.insert(p.name.to_string(), p);
    }
}

/// A [`Target`] worked out ahead, owning what it points to.
#[derive(Debug, Clone, PartialEq)]
enum Route {
    Property(Property),
    Association(usize),
    Dropped,
    ReadOnly(String),
    Unknown,
}

impl Route {
    fn of(target: Target<'_>) -> Self {
        match target {
            Target::Property(p) => Self::Property(p.clone()),
            Target::Association(i) => Self::Association(i),
            Target::Dropped => Self::Dropped,
            Target::ReadOnly(name) => Self::ReadOnly(name.to_string()),
            Target::Unknown => Self::Unknown,
        }
    }

    fn target(&self) -> Target<'_> {
        match self {
            Self::Property(p) => Target::Property(p),
            Self::Association(i) => Target::Association(*i),
            Self::Dropped => Target::Dropped,
            Self::ReadOnly(name) => Target::ReadOnly(name),
            Self::Unknown => Target::Unknown,
        }
    }
}

impl FieldMap {
    /// A map over `properties` with the stream's renames, drops and association fields.
    pub fn new(
        properties: &[PropertyInfo],
        renames: HashMap<String, Option<String>>,
        drop: HashSet<String>,
        associations: Vec<String>,
    ) -> Self {
        Self::over(
            Arc::new(PropertyTable::new(properties)),
            renames,
            drop,
            associations,
        )
    }

    /// A map over a shared `table` with the stream's renames, drops and association fields.
    pub fn over(
        table: Arc<PropertyTable>,
        renames: HashMap<String, Option<String>>,
        drop: HashSet<String>,
        associations: Vec<String>,
    ) -> Self {
        let mut map = Self {
            table,
            renames,
            drop,
            associations,
            created: HashMap::new(),
            known: foldhash::HashMap::default(),
        };
        map.learn_routes();
        map
    }

    fn learn_routes(&mut self) {
        let names: HashSet<&String> = self
            .renames
            .keys()
            .chain(&self.drop)
            .chain(&self.associations)
            .chain(self.created.keys())
            .collect();
        self.known = names
            .into_iter()
            .map(|n| (n.clone(), Route::of(self.work_out(n))))
            .collect();
    }

    /// The property called `name`, exactly.
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.table.properties.get(name)
    }

    /// Every property name, for "did you mean" hints.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.table.properties.keys().map(String::as_str)
    }

    /// The rename map's targets that name no property: `(field, property)`.
    pub fn unknown_rename_targets(&self) -> Vec<(&str, &str)> {
        let mut missing: Vec<(&str, &str)> = self
            .renames
            .iter()
            .filter_map(|(f, to)| Some((f.as_str(), to.as_deref()?)))
            .filter(|(_, to)| !self.table.properties.contains_key(*to))
            .collect();
        missing.sort_unstable();
        missing
    }

    /// Records that `field` is sent as the newly created property `created`.
    pub fn add_created(&mut self, field: &str, created: &PropertyInfo) {
        Arc::make_mut(&mut self.table).insert(Property::of(created));
        self.created.insert(field.to_string(), created.name.clone());
        self.learn_routes();
    }

    /// Where `field` goes.
    pub fn target(&self, field: &str) -> Target<'_> {
        // Most streams rename, drop and associate nothing: skip hashing for them.
        let own = if self.known.is_empty() {
            None
        } else {
            self.known.get(field)
        };
        match own {
            Some(route) => route.target(),
            // A property's own name, not renamed, dropped or an association here.
            None if !field.starts_with("_sdc_") => match self.table.routes.get(field) {
                Some(route) => route.target(),
                None => self.work_out(field),
            },
            None => self.work_out(field),
        }
    }

    fn work_out(&self, field: &str) -> Target<'_> {
        if let Some(i) = self.associations.iter().position(|a| a == field) {
            return Target::Association(i);
        }
        if self.drop.contains(field) {
            return Target::Dropped;
        }
        let name = match self.renames.get(field) {
            Some(None) => return Target::Dropped,
            Some(Some(to)) => Some(to.as_str()),
            None if field.starts_with("_sdc_") => return Target::Dropped,
            None => self
                .table
                .properties
                .contains_key(field)
                .then_some(field)
                .or_else(|| {
                    self.table
                        .lowercase
                        .get(&field.to_lowercase())
                        .map(String::as_str)
                })
                .or_else(|| self.created.get(field).map(String::as_str)),
        };
        match name.and_then(|n| self.table.properties.get(n)) {
            Some(p) if p.read_only => Target::ReadOnly(&p.name),
            Some(p) => Target::Property(p),
            None => Target::Unknown,
        }
    }
}

/// The definition the target creates for a field that matches no property
/// (`unknown_fields: create`), from the field's JSON schema when the SCHEMA has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProperty {
    /// Internal name: the field's name lowercased, other characters as `_`.
    pub name: String,
    /// The field's name as written.
    pub label: String,
    /// HubSpot type: `string`, `number`, `bool`, `date`, `datetime`.
    pub kind: &'static str,
    /// HubSpot field type matching `kind`.
    pub field_type: &'static str,
}

/// The property group created properties go in.
pub const CREATED_GROUP: &str = "target_hubspot";

impl NewProperty {
    /// The property to create for `field`; `Err` says why its name cannot be one.
    pub fn for_field(field: &str, schema: Option<&Value>) -> Result<Self, String> {
        let mut name = String::new();
        for c in field.trim().chars() {
            if c.is_ascii_alphanumeric() {
                name.push(c.to_ascii_lowercase());
            } else if !name.ends_with('_') {
                name.push('_');
            }
        }
        let name = name.trim_matches('_').to_string();
        if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(format!(
                "field '{field}' cannot become a HubSpot property name (it must start with a letter); rename it in streams.<name>.properties"
            ));
        }
        let (kind, field_type) = schema.map_or(("string", "text"), json_schema_type);
        Ok(Self {
            name,
            label: field.to_string(),
            kind,
            field_type,
        })
    }
}

/// HubSpot's type and field type for a JSON-schema property (`["null", "integer"]` and
/// `format: date-time` understood); text when nothing more precise fits.
fn json_schema_type(schema: &Value) -> (&'static str, &'static str) {
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let types: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
    match (types.as_slice(), schema["format"].as_str()) {
        (["string"], Some("date-time")) => ("datetime", "date"),
        (["string"], Some("date")) => ("date", "date"),
        (["number"] | ["integer"] | ["integer", "number"] | ["number", "integer"], _) => {
            ("number", "number")
        }
        (["boolean"], _) => ("bool", "booleancheckbox"),
        _ => ("string", "text"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn info(name: &str, kind: &str, read_only: bool) -> PropertyInfo {
        serde_json::from_value(json!({
            "name": name, "type": kind, "fieldType": "text",
            "modificationMetadata": {"readOnlyValue": read_only}
        }))
        .unwrap()
    }

    #[test]
    fn fields_find_properties_by_rename_name_case_and_creation() {
        let props = [
            info("email", "string", false),
            info("firstname", "string", false),
            info("hs_object_id", "number", true),
        ];
        let mut map = FieldMap::new(
            &props,
            [
                ("First Name".to_string(), Some("firstname".to_string())),
                ("secret".to_string(), None),
            ]
            .into(),
            ["internal".to_string()].into(),
            vec!["company_ext".to_string()],
        );
        let name = |t: Target| match t {
            Target::Property(p) => p.name.to_string(),
            other => format!("{other:?}"),
        };
        assert_eq!(name(map.target("First Name")), "firstname");
        assert_eq!(name(map.target("EMAIL")), "email");
        assert_eq!(map.target("secret"), Target::Dropped);
        assert_eq!(map.target("internal"), Target::Dropped);
        assert_eq!(map.target("_sdc_batched_at"), Target::Dropped);
        assert_eq!(map.target("company_ext"), Target::Association(0));
        assert_eq!(map.target("hs_object_id"), Target::ReadOnly("hs_object_id"));
        assert_eq!(map.target("Favourite Colour"), Target::Unknown);
        map.add_created(
            "Favourite Colour",
            &info("favourite_colour", "string", false),
        );
        assert_eq!(name(map.target("Favourite Colour")), "favourite_colour");
    }

    #[test]
    fn created_properties_take_their_type_from_the_schema() {
        let p = |field: &str, schema: Value| NewProperty::for_field(field, Some(&schema)).unwrap();
        assert_eq!(
            p(
                "Signed Up At",
                json!({"type": ["null", "string"], "format": "date-time"})
            )
            .name,
            "signed_up_at"
        );
        assert_eq!(
            p(
                "x",
                json!({"type": ["null", "string"], "format": "date-time"})
            )
            .kind,
            "datetime"
        );
        assert_eq!(p("x", json!({"type": "integer"})).kind, "number");
        assert_eq!(p("x", json!({"type": ["boolean", "null"]})).kind, "bool");
        assert_eq!(
            p("x", json!({"type": "string", "format": "date"})).kind,
            "date"
        );
        assert_eq!(p("x", json!({"type": "object"})).kind, "string");
        assert!(NewProperty::for_field("2nd_phone", None).is_err());
    }
}

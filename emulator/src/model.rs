//! The CRM's data model: object types, property definitions and stored records.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A property's data type, as HubSpot names it in `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PropertyType {
    /// `true` / `false`.
    Bool,
    /// A calendar date: midnight UTC as epoch ms, or `YYYY-MM-DD`.
    Date,
    /// A point in time: epoch ms or ISO-8601.
    #[serde(rename = "datetime")]
    DateTime,
    /// One (or, for checkboxes, several `;`-separated) option values.
    Enumeration,
    /// A decimal number.
    Number,
    /// A phone number (free text).
    PhoneNumber,
    /// Free text up to 65,536 characters.
    String,
}

/// One allowed value of an enumeration property.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyOption {
    /// Display label.
    pub label: String,
    /// Internal value, the one the API accepts.
    pub value: String,
    /// Position in the UI.
    #[serde(default)]
    pub display_order: i64,
    /// Hidden from forms.
    #[serde(default)]
    pub hidden: bool,
}

/// A property definition of one object type.
#[derive(Debug, Clone)]
pub struct PropertyDef {
    /// Internal name (`firstname`).
    pub name: String,
    /// Display label.
    pub label: String,
    /// Data type.
    pub kind: PropertyType,
    /// UI field type (`text`, `select`, `checkbox`, …).
    pub field_type: String,
    /// Property group.
    pub group_name: String,
    /// Allowed values of an enumeration.
    pub options: Vec<PropertyOption>,
    /// Options come from elsewhere (pipelines, owners): never validated.
    pub external_options: bool,
    /// Values are unique per object type; usable as `idProperty`.
    pub has_unique_value: bool,
    /// The API may not write it.
    pub read_only: bool,
    /// Computed by HubSpot.
    pub calculated: bool,
    /// Defined by HubSpot rather than the portal.
    pub hubspot_defined: bool,
}

impl PropertyDef {
    /// A definition as HubSpot's properties API answers it (`name`, `label`, `type`,
    /// `fieldType`, `groupName`, `options`, …); `None` without a name or a known type.
    pub fn from_json(v: &Value) -> Option<Self> {
        let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        let flag = |k: &str| v[k].as_bool().unwrap_or(false);
        let name = v["name"].as_str()?.to_string();
        let kind: PropertyType = serde_json::from_value(v["type"].clone()).ok()?;
        Some(Self {
            label: text("label"),
            kind,
            field_type: text("fieldType"),
            group_name: text("groupName"),
            options: serde_json::from_value(v["options"].clone()).unwrap_or_default(),
            external_options: flag("externalOptions"),
            has_unique_value: flag("hasUniqueValue"),
            read_only: v["modificationMetadata"]["readOnlyValue"]
                .as_bool()
                .unwrap_or(false),
            calculated: flag("calculated"),
            hubspot_defined: flag("hubspotDefined"),
            name,
        })
    }

    /// Whether several options may be chosen at once (`;`-separated).
    pub fn is_multi(&self) -> bool {
        self.kind == PropertyType::Enumeration && self.field_type == "checkbox"
    }

    /// The property as `GET /crm/v3/properties/{type}` returns it.
    pub fn to_json(&self) -> Value {
        let kind = serde_json::to_value(self.kind).unwrap_or(Value::Null);
        json!({
            "updatedAt": "2024-01-01T00:00:00.000Z",
            "createdAt": "2019-08-06T02:41:52.000Z",
            "name": self.name,
            "label": self.label,
            "type": kind,
            "fieldType": self.field_type,
            "description": "",
            "groupName": self.group_name,
            "options": self.options,
            "displayOrder": -1,
            "calculated": self.calculated,
            "externalOptions": self.external_options,
            "hasUniqueValue": self.has_unique_value,
            "hidden": false,
            "hubspotDefined": self.hubspot_defined,
            "modificationMetadata": {
                "archivable": !self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only,
            },
            "formField": !self.read_only,
            "dataSensitivity": "non_sensitive",
        })
    }
}

/// A property group created through the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyGroup {
    /// Display label.
    pub label: String,
    /// Position in the UI.
    pub display_order: i64,
}

impl ObjectType {
    /// Every property group of the type: HubSpot's `{singular}information`, those its
    /// properties use, and those created through the API, by name.
    pub fn groups(&self) -> BTreeMap<String, PropertyGroup> {
        let mut out = BTreeMap::new();
        let own = format!("{}information", self.upper_singular.to_lowercase());
        let mut label = self.labels.0.clone();
        if let Some(first) = label.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        out.insert(
            own,
            PropertyGroup {
                label: format!("{label} information"),
                display_order: -1,
            },
        );
        for p in &self.properties {
            out.entry(p.group_name.clone())
                .or_insert_with(|| PropertyGroup {
                    label: p.group_name.clone(),
                    display_order: -1,
                });
        }
        out.extend(self.created_groups.clone());
        out
    }
}

/// A stored CRM record.
#[derive(Debug, Clone)]
pub struct StoredObject {
    /// Numeric record id.
    pub id: u64,
    /// Property values, all strings.
    pub properties: BTreeMap<String, String>,
    /// ISO-8601 creation time.
    pub created_at: String,
    /// ISO-8601 time of the last write.
    pub updated_at: String,
    /// Archived (soft-deleted).
    pub archived: bool,
    /// What search sees while the latest write is not yet indexed: the values as last indexed
    /// (`None` for a record search has never seen).
    pub indexed: Option<BTreeMap<String, String>>,
    /// When the latest write reaches the search index (epoch ms); `None` once it has.
    pub index_due: Option<i64>,
}

impl StoredObject {
    /// The values search finds at `now_ms`, or `None` while search has not seen the record.
    pub fn searchable(&self, now_ms: i64) -> Option<&BTreeMap<String, String>> {
        match self.index_due {
            Some(due) if due > now_ms => self.indexed.as_ref(),
            _ => Some(&self.properties),
        }
    }
}

/// An object type and everything stored under it.
#[derive(Debug, Clone)]
pub struct ObjectType {
    /// Type id: `0-1`, `2-1234`.
    pub type_id: String,
    /// Plural API name: `contacts`.
    pub name: String,
    /// Singular label in upper case as HubSpot's messages spell it: `CONTACT`.
    pub upper_singular: String,
    /// Name of the "last modified" property (`lastmodifieddate` on contacts).
    pub modified_property: String,
    /// Fully qualified name of a custom object (`p123_car`).
    pub fully_qualified_name: Option<String>,
    /// Labels, for custom-object schemas.
    pub labels: (String, String),
    /// Primary display property of a custom object.
    pub primary_display_property: Option<String>,
    /// Property definitions by name, in definition order.
    pub properties: Vec<PropertyDef>,
    /// Records by id.
    pub objects: BTreeMap<u64, StoredObject>,
    /// For every unique property (and `email` on contacts): value → record id.
    pub unique_index: HashMap<String, HashMap<String, u64>>,
    /// When the type was created, for schemas.
    pub created_at: String,
    /// Property groups created through `POST /crm/v3/properties/{type}/groups`, beside the
    /// groups its properties already use.
    pub created_groups: BTreeMap<String, PropertyGroup>,
    /// Ids merged away into another record: merged-away id → the record it lives on in.
    pub merged: HashMap<u64, u64>,
    /// Name of the creation-time property (`createdate`; `hs_createdate` on engagements).
    pub created_property: String,
    /// Properties a create must set (`hs_timestamp` on engagements, a custom object's
    /// `requiredProperties`).
    pub required: Vec<String>,
    /// A custom object's `searchableProperties`.
    pub searchable: Vec<String>,
    /// A custom object's `secondaryDisplayProperties`.
    pub secondary_display: Vec<String>,
    /// The object types a custom object's schema associates with (`associatedObjects`).
    pub associated_objects: Vec<String>,
}

impl ObjectType {
    /// Whether a property group of this name exists: one its properties use, HubSpot's
    /// `{singular}information` group, or one created through the API.
    pub fn has_group(&self, name: &str) -> bool {
        self.created_groups.contains_key(name)
            || self.properties.iter().any(|p| p.group_name == name)
            || name == format!("{}information", self.upper_singular.to_lowercase())
    }

    /// The definition of `name`, if the type has it.
    pub fn property(&self, name: &str) -> Option<&PropertyDef> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// Whether `name` can identify records: `email` on contacts or a unique-value property.
    pub fn is_identifying(&self, name: &str) -> bool {
        (self.type_id == "0-1" && name == "email")
            || self.property(name).is_some_and(|p| p.has_unique_value)
    }

    /// Normalises an identifying value the way HubSpot matches it.
    pub fn normalise_key(&self, property: &str, value: &str) -> String {
        if property == "email" {
            value.trim().to_lowercase()
        } else {
            value.to_string()
        }
    }

    /// The record whose identifying `property` equals `value`. A merged-away record id
    /// finds the record it was merged into, as HubSpot's single-record routes do.
    pub fn find_by(&self, property: &str, value: &str) -> Option<u64> {
        if property == "hs_object_id" {
            let id = value.parse::<u64>().ok()?;
            let id = self.merged.get(&id).copied().unwrap_or(id);
            return self.objects.get(&id).filter(|o| !o.archived).map(|o| o.id);
        }
        let key = self.normalise_key(property, value);
        self.unique_index.get(property)?.get(&key).copied()
    }

    /// The properties kept in the unique index.
    pub fn indexed_properties(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .properties
            .iter()
            .filter(|p| p.has_unique_value)
            .map(|p| p.name.clone())
            .collect();
        if self.type_id == "0-1" {
            names.push("email".to_string());
        }
        names
    }
}

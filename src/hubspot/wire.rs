//! HubSpot request and response bodies.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One input of `POST /crm/v3/objects/{type}/batch/upsert`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpsertInput<'a> {
    /// The identifying value.
    pub id: &'a str,
    /// The identifying property.
    pub id_property: &'a str,
    /// Unique per input, so HubSpot answers per input (207) instead of failing the batch.
    pub object_write_trace_id: &'a str,
    /// Values as strings.
    pub properties: &'a crate::model::Properties,
}

/// The request body of a batch upsert.
#[derive(Debug, Serialize)]
pub struct UpsertRequest<'a> {
    /// At most 100 inputs.
    pub inputs: Vec<UpsertInput<'a>>,
}

/// A 200/207 batch response: what the target reads of it.
#[derive(Debug, Deserialize, Default)]
pub struct BatchResponse {
    /// Written records.
    #[serde(default)]
    pub results: Vec<UpsertResult>,
    /// Per-input failures.
    #[serde(default)]
    pub errors: Vec<ItemError>,
}

/// One written record.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpsertResult {
    /// HubSpot's record id (a string; numbers accepted too).
    pub id: Value,
    /// The trace id of the input it answers.
    pub object_write_trace_id: Option<String>,
    /// True when created, false when updated.
    pub new: Option<bool>,
    /// Stored properties (used to match a result when the trace id is not echoed).
    pub properties: Option<HashMap<String, Value>>,
}

/// A per-input failure inside a 207.
#[derive(Debug, Deserialize)]
pub struct ItemError {
    /// `VALIDATION_ERROR`, `CONFLICT`, …
    pub category: Option<String>,
    /// HubSpot's message.
    pub message: Option<String>,
    /// `objectWriteTraceId`, `ids`, `existingId`, … each a list of strings.
    #[serde(default)]
    pub context: HashMap<String, Value>,
}

impl ItemError {
    /// The trace ids this error is about.
    /// The record ids an `OBJECT_NOT_FOUND` names in `context.ids`.
    pub fn ids(&self) -> Vec<String> {
        self.context
            .get("ids")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `objectWriteTraceId`s a per-input error names.
    pub fn trace_ids(&self) -> Vec<String> {
        self.context
            .get("objectWriteTraceId")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// HubSpot's standard error body; every field optional, as HubSpot advises.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Human-readable message.
    pub message: Option<String>,
    /// `VALIDATION_ERROR`, `RATE_LIMITS`, `EXPIRED_AUTHENTICATION`, …
    pub category: Option<String>,
    /// `TEN_SECONDLY_ROLLING`, `DAILY`, … on 429s.
    pub policy_name: Option<String>,
    /// Details.
    #[serde(default)]
    pub errors: Vec<ErrorDetail>,
}

/// One entry of `errors[]` in a request-level error.
#[derive(Debug, Deserialize, Default)]
pub struct ErrorDetail {
    /// Message.
    pub message: Option<String>,
    /// Code, e.g. `INVALID_EMAIL`.
    pub code: Option<String>,
    /// Context lists, e.g. `propertyName`, `requiredGranularScopes`.
    #[serde(default)]
    pub context: HashMap<String, Value>,
}

impl ErrorBody {
    /// Parses an error body, or an empty one when it is not JSON (HubSpot's edge sends HTML).
    pub fn parse(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }

    /// Scopes a 403 says are required.
    pub fn required_scopes(&self) -> Vec<String> {
        self.errors
            .iter()
            .flat_map(|e| e.context.values())
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(|v| v.as_str().map(String::from))
            .collect()
    }
}

/// A property definition as `GET /crm/v3/properties/{type}` returns it (what the target uses).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyInfo {
    /// Internal name.
    pub name: String,
    /// `string`, `number`, `enumeration`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// `text`, `checkbox`, …
    #[serde(default)]
    pub field_type: String,
    /// Usable as an upsert `idProperty`.
    #[serde(default)]
    pub has_unique_value: bool,
    /// Display label.
    #[serde(default)]
    pub label: String,
    /// Allowed values of an enumeration.
    #[serde(default)]
    pub options: Vec<PropertyOptionInfo>,
    /// Options come from elsewhere (pipelines, owners): not checked locally.
    #[serde(default)]
    pub external_options: bool,
    /// Computed by HubSpot; never written.
    #[serde(default)]
    pub calculated: bool,
    /// What the API may change.
    #[serde(default)]
    pub modification_metadata: ModificationMetadata,
}

impl PropertyInfo {
    /// Whether the API refuses values for this property (read-only or calculated).
    pub fn is_read_only(&self) -> bool {
        self.calculated || self.modification_metadata.read_only_value
    }
}

/// One option of an enumeration property.
#[derive(Debug, Clone, Deserialize)]
pub struct PropertyOptionInfo {
    /// The internal value HubSpot stores.
    pub value: String,
    /// What HubSpot's UI shows.
    #[serde(default)]
    pub label: String,
}

/// `modificationMetadata` of a property.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModificationMetadata {
    /// Values cannot be written through the API.
    #[serde(default)]
    pub read_only_value: bool,
}

/// The body of `POST /crm/v3/properties/{type}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyCreate<'a> {
    /// Internal name.
    pub name: &'a str,
    /// Display label.
    pub label: &'a str,
    /// `string`, `number`, `bool`, `date`, `datetime`.
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// `text`, `number`, `booleancheckbox`, `date`.
    pub field_type: &'a str,
    /// The property group.
    pub group_name: &'a str,
    /// Options (the two of a `bool` property; empty otherwise).
    pub options: Vec<Value>,
}

//! Why a record was not loaded, as written to the rejected-records file.

use serde::Serialize;
use serde_json::Value;

/// What kind of failure rejected a record: the target's own categories, HubSpot's that the
/// target acts on, and any other HubSpot names as it wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Category {
    /// The record cannot be read as a record (not an object, a ragged row, unreadable JSON).
    InvalidRecord,
    /// A value its property cannot take.
    InvalidValue,
    /// No usable key.
    MissingKey,
    /// A field no property matches (`unknown_fields: reject`).
    UnknownField,
    /// Finding the record (or a linked one) failed.
    LookupFailed,
    /// A link the record asks for could not be made.
    AssociationFailed,
    /// A key matches several records.
    AmbiguousMatch,
    /// No HubSpot record has the key (`update_only`, a deletion).
    NotFound,
    /// HubSpot's answer did not mention the record.
    NotAcknowledged,
    /// Every attempt failed.
    RetriesExhausted,
    /// HubSpot's answer could not be read.
    UnreadableResponse,
    /// HubSpot's `VALIDATION_ERROR`.
    ValidationError,
    /// HubSpot's `CONFLICT`.
    Conflict,
    /// HubSpot's `OBJECT_NOT_FOUND`.
    ObjectNotFound,
    /// An import refused the record's row (`load_method: import`); the code is HubSpot's
    /// `errorType`.
    ImportError,
    /// Another category HubSpot named, as written.
    HubSpot(Box<str>),
}

impl Category {
    const NAMED: [(Self, &'static str); 15] = [
        (Self::InvalidRecord, "INVALID_RECORD"),
        (Self::InvalidValue, "INVALID_VALUE"),
        (Self::MissingKey, "MISSING_KEY"),
        (Self::UnknownField, "UNKNOWN_FIELD"),
        (Self::LookupFailed, "LOOKUP_FAILED"),
        (Self::AssociationFailed, "ASSOCIATION_FAILED"),
        (Self::AmbiguousMatch, "AMBIGUOUS_MATCH"),
        (Self::NotFound, "NOT_FOUND"),
        (Self::NotAcknowledged, "NOT_ACKNOWLEDGED"),
        (Self::RetriesExhausted, "RETRIES_EXHAUSTED"),
        (Self::UnreadableResponse, "UNREADABLE_RESPONSE"),
        (Self::ValidationError, "VALIDATION_ERROR"),
        (Self::Conflict, "CONFLICT"),
        (Self::ObjectNotFound, "OBJECT_NOT_FOUND"),
        (Self::ImportError, "IMPORT_ERROR"),
    ];

    /// The name the rejected file and the summary show.
    pub fn as_str(&self) -> &str {
        match self {
            Self::HubSpot(name) => name,
            known => Self::NAMED
                .iter()
                .find(|(c, _)| c == known)
                .map_or("", |(_, name)| name),
        }
    }

    /// The category HubSpot's `category` names (a known one as its variant).
    pub fn from_hubspot(name: &str) -> Self {
        Self::NAMED
            .iter()
            .find(|(_, n)| *n == name)
            .map_or_else(|| Self::HubSpot(name.into()), |(c, _)| c.clone())
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Category {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The reason one record was rejected. Serialised as the `error` of its rejected line.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rejection {
    /// `VALIDATION_ERROR`, `CONFLICT`, `MISSING_KEY`, `RETRIES_EXHAUSTED`, …
    pub category: Category,
    /// What went wrong, in HubSpot's words where HubSpot said it.
    pub message: String,
    /// HubSpot's code for the property error (`INVALID_EMAIL`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<Box<str>>,
    /// The property at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<Box<str>>,
    /// The record field that held the value, when it is not named like the property.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<Box<str>>,
    /// HubSpot's full message, when `message` is a shortened reading of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hubspot_message: Option<Box<str>>,
    /// The response that rejected it, when HubSpot answered.
    #[serde(flatten)]
    pub http: Option<Box<HttpDetail>>,
}

/// Which HubSpot response rejected a record.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HttpDetail {
    /// HTTP status (absent when no response came).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// HubSpot's correlation id of that response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Requests made for it.
    pub attempts: u32,
}

impl HttpDetail {
    /// Boxed detail for a response.
    pub fn boxed(
        http_status: Option<u16>,
        correlation_id: Option<String>,
        attempts: u32,
    ) -> Option<Box<Self>> {
        Some(Box::new(Self {
            http_status,
            correlation_id,
            attempts,
        }))
    }
}

impl Rejection {
    /// Whether HubSpot said the record id is unknown to it (deleted, or never there).
    pub fn is_object_not_found(&self) -> bool {
        self.category == Category::ObjectNotFound
            || self.code.as_deref() == Some("OBJECT_NOT_FOUND")
    }

    /// A rejection decided before anything was sent.
    pub fn local(category: Category, message: impl Into<String>, property: Option<&str>) -> Self {
        Self {
            category,
            message: message.into(),
            code: None,
            property: property.map(Box::from),
            field: None,
            hubspot_message: None,
            http: None,
        }
    }

    /// The same rejection with HubSpot-style `code`.
    pub fn with_code(mut self, code: &str) -> Self {
        self.code = Some(code.into());
        self
    }

    /// The same rejection naming the record `field` that held the value.
    pub fn with_field(mut self, field: &str) -> Self {
        self.field = Some(field.into());
        self
    }

    /// A rejection in HubSpot's words. A "Property values were not valid: [...]" message is
    /// read into `property: message (CODE)` parts, with the original kept in `hubspot_message`.
    pub fn from_hubspot(category: &str, message: String, http: Option<Box<HttpDetail>>) -> Self {
        let category = Category::from_hubspot(category);
        let errors = property_errors(&message);
        let Some(first) = errors.first() else {
            return Self {
                category,
                message,
                code: None,
                property: None,
                field: None,
                hubspot_message: None,
                http,
            };
        };
        let readable = errors
            .iter()
            .map(|e| format!("{}: {} ({})", e.name, e.message, e.code))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            category,
            code: Some(first.code.as_str().into()),
            property: Some(first.name.as_str().into()),
            field: None,
            message: readable,
            hubspot_message: Some(message.into_boxed_str()),
            http,
        }
    }
}

/// One property error embedded in a "Property values were not valid: [...]" message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyError {
    /// HubSpot's code, e.g. `INVALID_EMAIL`.
    pub code: String,
    /// The property.
    pub name: String,
    /// The error's own message, e.g. `Email address x is invalid`.
    pub message: String,
}

/// The property errors listed in a "Property values were not valid: [...]" message.
pub fn property_errors(message: &str) -> Vec<PropertyError> {
    let Some(list) = message.strip_prefix("Property values were not valid: ") else {
        return Vec::new();
    };
    let entries: Vec<Value> = serde_json::from_str(list).unwrap_or_default();
    entries
        .iter()
        .filter_map(|e| {
            Some(PropertyError {
                code: e.get("error")?.as_str()?.to_string(),
                name: e.get("name")?.as_str()?.to_string(),
                message: e
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_code_and_property_from_hubspots_embedded_list() {
        let m = r#"Property values were not valid: [{"isValid":false,"message":"Email address x is invalid","error":"INVALID_EMAIL","name":"email"}]"#;
        let expected = PropertyError {
            code: "INVALID_EMAIL".into(),
            name: "email".into(),
            message: "Email address x is invalid".into(),
        };
        assert_eq!(property_errors(m), vec![expected]);
        assert!(property_errors("Contact already exists. Existing ID: 5").is_empty());
    }
}

//! Why a record was not loaded, as written to the rejected-records file.

use serde::Serialize;
use serde_json::Value;

/// The reason one record was rejected. Serialised as the `error` of its rejected line.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rejection {
    /// `VALIDATION_ERROR`, `CONFLICT`, `MISSING_KEY`, `RETRIES_EXHAUSTED`, …
    pub category: String,
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
        self.category == "OBJECT_NOT_FOUND" || self.code.as_deref() == Some("OBJECT_NOT_FOUND")
    }

    /// A rejection decided before anything was sent.
    pub fn local(category: &str, message: impl Into<String>, property: Option<&str>) -> Self {
        Self {
            category: category.to_string(),
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
    pub fn from_hubspot(category: String, message: String, http: Option<Box<HttpDetail>>) -> Self {
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

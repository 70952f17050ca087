//! HubSpot-shaped error responses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::validate::{PropertyError, invalid_values_message};

/// The content type HubSpot answers JSON with.
pub const JSON_CONTENT_TYPE: &str = "application/json;charset=utf-8";

/// A JSON response with HubSpot's content type.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    response
}

/// A request-level error: `{"status":"error","message",…,"correlationId",…,"category"}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The JSON body.
    pub body: Value,
}

impl ApiError {
    /// An error with HubSpot's standard body; `category` is omitted when `None`, as HubSpot
    /// does for JSON it cannot deserialize.
    pub fn new(
        status: StatusCode,
        category: Option<&str>,
        message: impl Into<String>,
        correlation_id: &str,
    ) -> Self {
        Self::with_extra(status, category, message, correlation_id, Map::new())
    }

    /// Like [`ApiError::new`] with extra fields (`errors`, `context`, `links`) placed before
    /// `category`, in HubSpot's key order.
    pub fn with_extra(
        status: StatusCode,
        category: Option<&str>,
        message: impl Into<String>,
        correlation_id: &str,
        extra: Map<String, Value>,
    ) -> Self {
        let mut body = Map::new();
        body.insert("status".into(), json!("error"));
        body.insert("message".into(), json!(message.into()));
        body.insert("correlationId".into(), json!(correlation_id));
        body.extend(extra);
        if let Some(category) = category {
            body.insert("category".into(), json!(category));
        }
        Self {
            status,
            body: Value::Object(body),
        }
    }

    /// 400 `VALIDATION_ERROR`.
    pub fn validation(message: impl Into<String>, correlation_id: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            Some("VALIDATION_ERROR"),
            message,
            correlation_id,
        )
    }

    /// 400 for a body HubSpot cannot deserialize (no `category`, as recorded).
    pub fn invalid_json(detail: impl std::fmt::Display, correlation_id: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            None,
            format!("Invalid input JSON {detail}"),
            correlation_id,
        )
    }

    /// 400 `VALIDATION_ERROR` for invalid property values, with `errors[]`.
    pub fn property_values(errors: &[PropertyError], portal_id: u64, correlation_id: &str) -> Self {
        let mut extra = Map::new();
        extra.insert(
            "errors".into(),
            Value::Array(errors.iter().map(PropertyError::detail_json).collect()),
        );
        Self::with_extra(
            StatusCode::BAD_REQUEST,
            Some("VALIDATION_ERROR"),
            invalid_values_message(errors, portal_id),
            correlation_id,
            extra,
        )
    }

    /// 400 for an object type the portal does not have.
    pub fn unknown_type(object_type: &str, correlation_id: &str) -> Self {
        Self::validation(
            format!("Unable to infer object type from: {object_type}"),
            correlation_id,
        )
    }

    /// 404 `OBJECT_NOT_FOUND`.
    pub fn not_found(message: impl Into<String>, correlation_id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            Some("OBJECT_NOT_FOUND"),
            message,
            correlation_id,
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, &self.body)
    }
}

/// The HTML 404 HubSpot serves (with `x-hubspot-notfound: true`) for a record that does not
/// exist on the single-object routes, as recorded.
pub fn html_not_found() -> Response {
    let body = "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html;charset=utf-8\"/>\n<title>Error 404 Not Found</title>\n</head>\n<body><h2>HTTP ERROR 404</h2>\n<p>Resource not found</p>\n</body>\n</html>\n";
    let mut response = (StatusCode::NOT_FOUND, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html;charset=iso-8859-1"),
    );
    headers.insert("x-hubspot-notfound", HeaderValue::from_static("true"));
    response
}

//! `POST /oauth/v1/token` and the dated `POST /oauth/2026-03/token`: the refresh-token grant.

use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::json;

use crate::auth::GrantFailure;
use crate::error::json_response;
use crate::state::{Ctx, Shared};

/// Scopes an emulated app has been granted.
const SCOPES: &[&str] = &[
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.objects.custom.read",
    "crm.objects.custom.write",
    "crm.schemas.contacts.read",
    "crm.schemas.companies.read",
    "crm.schemas.deals.read",
    "crm.schemas.custom.read",
    "oauth",
    "tickets",
];

/// Exchanges a refresh token for an access token (form-encoded body, as HubSpot requires).
///
/// Refusals on v1 use HubSpot's OAuth error shape `{"status": "BAD_REFRESH_TOKEN", "message":
/// …}` (status codes as HubSpot's OAuth errors name them; messages are our best reading). The
/// dated endpoint answers RFC 6749's `{"error", "error_description"}` (HubSpot's v1 migration
/// guide); \[INFERENCE\] which RFC code each failure gets, and the descriptions.
pub async fn token(
    State(state): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let mut response = match state.auth.grant(&form) {
        Ok(grant) => json_response(
            StatusCode::OK,
            &json!({
                "token_type": "bearer",
                "refresh_token": grant.refresh_token,
                "access_token": grant.access_token,
                "hub_id": state.settings.portal_id,
                "scopes": SCOPES,
                "token_use": "access_token",
                "expires_in": grant.expires_in,
            }),
        ),
        Err(failure) => {
            let (status, message) = match failure {
                GrantFailure::UnsupportedGrantType => {
                    ("UNSUPPORTED_GRANT_TYPE", "grant_type must be refresh_token")
                }
                GrantFailure::BadClientId => ("BAD_CLIENT_ID", "missing or invalid client_id"),
                GrantFailure::BadClientSecret => {
                    ("BAD_CLIENT_SECRET", "missing or invalid client_secret")
                }
                GrantFailure::BadRefreshToken => {
                    ("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
                }
            };
            if ctx.version.date().is_some() {
                let (code, http) = match failure {
                    GrantFailure::UnsupportedGrantType => {
                        ("unsupported_grant_type", StatusCode::BAD_REQUEST)
                    }
                    GrantFailure::BadClientId | GrantFailure::BadClientSecret => {
                        ("invalid_client", StatusCode::UNAUTHORIZED)
                    }
                    GrantFailure::BadRefreshToken => ("invalid_grant", StatusCode::BAD_REQUEST),
                };
                json_response(http, &json!({"error": code, "error_description": message}))
            } else {
                json_response(
                    StatusCode::BAD_REQUEST,
                    &json!({"status": status, "message": message, "correlationId": ctx.correlation_id}),
                )
            }
        }
    };
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-transform"),
    );
    response
}

//! Shared state, the request pipeline every HubSpot route goes through, and the router.

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, json};

use crate::auth::{AuthFailure, TokenKind};
use crate::error::{ApiError, json_response};
use crate::limits::{Caller, Fault, Verdict};
use crate::routes;

pub use crate::state::{AppState, Ctx, Shared, Stats, fresh_store};

/// Builds the whole router over `state`.
pub fn router(state: Shared) -> Router {
    let versions = state.settings.api_versions.clone();
    let crm = routes::crm_routes(&versions)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            hubspot_pipeline,
        ));
    // An import file may be far larger than any JSON body (HubSpot: 512 MB); past the limit
    // the handler answers HubSpot's 429, so the framework's own limit sits above it.
    let import_body = state
        .settings
        .imports
        .max_bytes
        .saturating_add(MAX_BODY_BYTES);
    let imports = routes::import_routes(&versions)
        .layer(axum::extract::DefaultBodyLimit::max(import_body))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            hubspot_pipeline,
        ));
    let oauth = routes::oauth_routes(&versions).route_layer(middleware::from_fn_with_state(
        state.clone(),
        oauth_pipeline,
    ));
    Router::new()
        .merge(crm)
        .merge(imports)
        .merge(oauth)
        .merge(routes::inspect_routes())
        .fallback(fallback)
        .with_state(state)
}

async fn fallback() -> Response {
    crate::error::html_not_found()
}

fn correlation_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn route_name(req: &Request) -> String {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    format!("{} {path}", req.method())
}

fn set_header(headers: &mut HeaderMap, name: &'static str, value: impl ToString) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        headers.insert(name, v);
    }
}

/// Auth, faults, rate limits, latency, correlation ids and counting for the CRM routes.
async fn hubspot_pipeline(State(state): State<Shared>, mut req: Request, next: Next) -> Response {
    let route = route_name(&req);
    let corr = correlation_id();
    let is_search = req.uri().path().ends_with("/search");
    let response = async {
        let auth_header = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let kind = match state.auth.check(auth_header.as_deref()) {
            Ok(kind) => kind,
            Err(failure) => return auth_error(failure, &corr),
        };
        if let Some(granted) = &state.settings.scopes
            && let Some(needed) = crate::gates::required_scope(req.method(), req.uri().path())
            && !granted.contains(&needed)
        {
            return missing_scopes(&needed, &corr);
        }
        if state.locks.take(req.method(), req.uri().path()) {
            return fault_response(Fault::Status(423), &corr);
        }
        if let Some(fault) = state.chaos.fault() {
            return fault_response(fault, &corr);
        }
        let mut limit_headers = HeaderMap::new();
        if is_search {
            if !state
                .limiter
                .admit_search(auth_header.as_deref().unwrap_or_default())
            {
                return rate_limited("You have reached your secondly limit.", "SECONDLY", &corr);
            }
        } else {
            let caller = match kind {
                TokenKind::PrivateApp => Caller::PrivateApp,
                TokenKind::OAuth => Caller::OAuthApp,
            };
            let verdict = state.limiter.admit(caller);
            rate_headers(&state, &mut limit_headers, verdict, caller);
            let refused = match verdict {
                Verdict::Rolling => Some((
                    "You have reached your ten_secondly_rolling limit.",
                    "TEN_SECONDLY_ROLLING",
                )),
                Verdict::Secondly { .. } => {
                    Some(("You have reached your secondly limit.", "SECONDLY"))
                }
                Verdict::Daily => Some(("You have reached your daily limit.", "DAILY")),
                Verdict::Allowed { .. } => None,
            };
            if let Some((message, policy)) = refused {
                let mut response = rate_limited(message, policy, &corr);
                response.headers_mut().extend(limit_headers);
                return response;
            }
        }
        let delay = state.chaos.delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let version = crate::versions::ApiVersion::of_path(req.uri().path());
        req.extensions_mut().insert(Ctx {
            correlation_id: corr.clone(),
            version,
        });
        let mut response = hubspot_shaped(next.run(req).await, &corr).await;
        response.headers_mut().extend(limit_headers);
        response
    }
    .await;
    finish(&state, route, &corr, response)
}

/// Request bodies the emulator reads. \[INFERENCE\] HubSpot publishes no limit; this one is
/// above any batch of 100 inputs at the 65,536-character value limit.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The framework's own refusals (a body over [`MAX_BODY_BYTES`], a method a route does not
/// serve) come as plain text or empty; HubSpot always answers JSON in its error shape. \[INFERENCE\]
/// category `VALIDATION_ERROR`, HubSpot's texts for these were not recorded.
async fn hubspot_shaped(response: Response, corr: &str) -> Response {
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    let status = response.status();
    if !(plain && (status.is_client_error() || status.is_server_error())) {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    ApiError::new(status, Some("VALIDATION_ERROR"), message, corr).into_response()
}

/// HubSpot's 403 for a token without a scope the call needs (recorded in its objects guide).
fn missing_scopes(scope: &str, corr: &str) -> Response {
    crate::error::json_response(
        StatusCode::FORBIDDEN,
        &serde_json::json!({
            "status": "error",
            "message": "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
            "correlationId": corr,
            "errors": [{"message": "One or more of the following scopes are required.",
                        "context": {"requiredGranularScopes": [scope]}}],
            "links": {"scopes": "https://developers.hubspot.com/scopes"},
            "category": "MISSING_SCOPES",
        }),
    )
}

/// Correlation ids and counting for `POST /oauth/v1/token` (no auth, no rate limit).
async fn oauth_pipeline(State(state): State<Shared>, mut req: Request, next: Next) -> Response {
    let route = route_name(&req);
    let corr = correlation_id();
    let version = crate::versions::ApiVersion::of_path(req.uri().path());
    req.extensions_mut().insert(Ctx {
        correlation_id: corr.clone(),
        version,
    });
    let response = next.run(req).await;
    finish(&state, route, &corr, response)
}

fn finish(state: &AppState, route: String, corr: &str, mut response: Response) -> Response {
    state.count(route, response.status());
    set_header(response.headers_mut(), "x-hubspot-correlation-id", corr);
    response
}

fn rate_headers(state: &AppState, headers: &mut HeaderMap, verdict: Verdict, caller: Caller) {
    let max = state.limiter.max(caller);
    let daily = caller == Caller::PrivateApp;
    let (remaining, daily_remaining, secondly_remaining) = match verdict {
        Verdict::Allowed {
            remaining,
            daily_remaining,
            secondly_remaining,
        } => (remaining, daily_remaining, secondly_remaining.unwrap_or(0)),
        // [INFERENCE] A per-second refusal still reports the rolling window's count.
        Verdict::Secondly { remaining } => (remaining, 0, 0),
        Verdict::Rolling | Verdict::Daily => (0, 0, 0),
    };
    let per_second = state.limiter.per_second(caller);
    if per_second > 0 {
        set_header(headers, "x-hubspot-ratelimit-secondly", per_second);
        set_header(
            headers,
            "x-hubspot-ratelimit-secondly-remaining",
            secondly_remaining,
        );
    }
    if max > 0 {
        set_header(
            headers,
            "x-hubspot-ratelimit-interval-milliseconds",
            state.limiter.window().as_millis(),
        );
        set_header(headers, "x-hubspot-ratelimit-max", max);
        set_header(headers, "x-hubspot-ratelimit-remaining", remaining);
    }
    if daily && state.limiter.daily_limit() > 0 {
        set_header(
            headers,
            "x-hubspot-ratelimit-daily",
            state.limiter.daily_limit(),
        );
        let daily_remaining = if matches!(verdict, Verdict::Rolling | Verdict::Secondly { .. }) {
            // A rolling refusal says nothing about the day; report what is left.
            state.limiter.daily_limit()
        } else {
            daily_remaining
        };
        set_header(
            headers,
            "x-hubspot-ratelimit-daily-remaining",
            daily_remaining,
        );
    }
}

fn auth_error(failure: AuthFailure, corr: &str) -> Response {
    match failure {
        AuthFailure::Invalid => ApiError::new(
            StatusCode::UNAUTHORIZED,
            Some("INVALID_AUTHENTICATION"),
            "Authentication credentials not found.",
            corr,
        )
        .into_response(),
        AuthFailure::Expired { ago, expired_at } => {
            let mut extra = Map::new();
            extra.insert("context".into(), json!({"expire time": [expired_at]}));
            ApiError::with_extra(
                StatusCode::UNAUTHORIZED,
                Some("EXPIRED_AUTHENTICATION"),
                AuthFailure::expired_message(ago),
                corr,
                extra,
            )
            .into_response()
        }
    }
}

/// HubSpot's 429 body (`errorType`, `policyName` and, in newer responses, `category`).
/// HubSpot does not reliably send `Retry-After` on CRM 429s, so neither do we.
fn rate_limited(message: &str, policy: &str, corr: &str) -> Response {
    json_response(
        StatusCode::TOO_MANY_REQUESTS,
        &json!({
            "status": "error",
            "message": message,
            "errorType": "RATE_LIMIT",
            "correlationId": corr,
            "policyName": policy,
            "category": "RATE_LIMITS",
        }),
    )
}

/// An injected failure. HubSpot's bodies for these are not documented; 5xx from its edge are
/// often HTML, so clients must not depend on them. The body here is HubSpot's error shape.
fn fault_response(fault: Fault, corr: &str) -> Response {
    match fault {
        Fault::Drop => {
            // A body stream that fails makes hyper abort the connection mid-response.
            let stream = futures_util::stream::once(async {
                Err::<bytes::Bytes, std::io::Error>(std::io::Error::other(
                    "injected connection drop",
                ))
            });
            (StatusCode::OK, Body::from_stream(stream)).into_response()
        }
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let (category, message) = if code == 423 {
                (
                    "LOCKED",
                    "The resource is locked. Retry after at least 2 seconds.",
                )
            } else {
                ("INTERNAL_ERROR", "Internal error")
            };
            ApiError::new(status, Some(category), message, corr).into_response()
        }
    }
}

//! The HubSpot HTTP client: pacing, auth, and retries of everything worth retrying.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use bytes::Bytes;
use reqwest::{Method, StatusCode};
use url::Url;

use super::auth::TokenSource;
use super::pacer::Pacer;
use super::wire::{ErrorBody, PropertyInfo, PropertyList, UpsertRequest};
use crate::config::Credentials;
use crate::error::FatalError;

/// How many 429s in a row one request waits out before its records are given up.
const MAX_RATE_LIMIT_WAITS: u32 = 30;
/// HubSpot's advice for 423 Locked: wait at least 2 seconds.
const LOCKED_WAIT: Duration = Duration::from_secs(2);

/// A final HTTP answer the caller must interpret (2xx, or a 4xx other than 401/403/429/423).
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Raw body.
    pub body: Bytes,
    /// `X-HubSpot-Correlation-Id`.
    pub correlation_id: Option<String>,
    /// Requests made, retries included.
    pub attempts: u32,
}

/// Why a request produced no usable answer.
#[derive(Debug)]
pub enum SendFailure {
    /// The run must stop (credentials, scopes, daily limit).
    Fatal(FatalError),
    /// Retries ran out; the records are rejected as `RETRIES_EXHAUSTED`.
    Exhausted {
        /// Requests made.
        attempts: u32,
        /// The last failure.
        reason: String,
        /// The last HTTP status, when there was one.
        http_status: Option<u16>,
        /// The last correlation id.
        correlation_id: Option<String>,
    },
}

/// Request counters for the summary.
#[derive(Debug, Default)]
pub struct Counters {
    /// HTTP requests sent.
    pub requests: AtomicU64,
    /// Requests repeated after a retryable failure.
    pub retries: AtomicU64,
    /// 429 answers.
    pub rate_limited: AtomicU64,
}

/// A HubSpot API client.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    auth: TokenSource,
    pacer: Pacer,
    max_retries: u32,
    /// Request counters.
    pub counters: Counters,
}

impl Client {
    /// A client for `base` (without trailing slash).
    pub fn new(base: Url, credentials: Credentials, max_retries: u32) -> Result<Self, FatalError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("target-hubspot/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(120))
            .connect_timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| FatalError::Request(format!("cannot build the HTTP client: {e}")))?;
        let auth = TokenSource::new(credentials, &base);
        Ok(Self {
            http,
            base,
            auth,
            pacer: Pacer::default(),
            max_retries,
            counters: Counters::default(),
        })
    }

    /// The shared pacer.
    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(&format!("{}{path}", self.base.path().trim_end_matches('/')));
        url
    }

    /// `GET /crm/v3/properties/{object_type}`.
    pub async fn properties(
        &self,
        object_type: &str,
    ) -> Result<Result<Vec<PropertyInfo>, String>, FatalError> {
        let path = format!("/crm/v3/properties/{object_type}");
        match self.send(Method::GET, &path, None, object_type).await {
            Ok(reply) if reply.status == 200 => serde_json::from_slice::<PropertyList>(&reply.body)
                .map(|l| Ok(l.results))
                .map_err(|e| FatalError::Request(format!("unexpected body from GET {path}: {e}"))),
            Ok(reply) => {
                let body = ErrorBody::parse(&reply.body);
                Ok(Err(format!(
                    "HTTP {}: {}",
                    reply.status,
                    body.message.unwrap_or_default()
                )))
            }
            Err(SendFailure::Fatal(f)) => Err(f),
            Err(SendFailure::Exhausted {
                reason, attempts, ..
            }) => Err(FatalError::Request(format!(
                "GET {path} failed after {attempts} attempts: {reason}"
            ))),
        }
    }

    /// `POST /crm/v3/objects/{object_type}/batch/upsert`.
    pub async fn upsert(
        &self,
        object_type: &str,
        request: &UpsertRequest<'_>,
    ) -> Result<Reply, SendFailure> {
        let body = serde_json::to_vec(request).map_err(|e| SendFailure::Exhausted {
            attempts: 0,
            reason: format!("cannot encode the request: {e}"),
            http_status: None,
            correlation_id: None,
        })?;
        let path = format!("/crm/v3/objects/{object_type}/batch/upsert");
        self.send(Method::POST, &path, Some(Bytes::from(body)), object_type)
            .await
    }

    /// Sends one request, waiting out 429s and retrying 423, 5xx and transport errors with
    /// exponential backoff and jitter. 401/403 and the daily limit are fatal.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        object_type: &str,
    ) -> Result<Reply, SendFailure> {
        let url = self.url(path);
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(250))
            .with_max_delay(Duration::from_secs(30))
            .with_jitter()
            .with_max_times(self.max_retries as usize)
            .build();
        let mut attempts = 0u32;
        let mut rate_waits = 0u32;
        let mut refreshed = false;
        loop {
            self.pacer.ready().await;
            let token = self
                .auth
                .bearer(&self.http)
                .await
                .map_err(SendFailure::Fatal)?;
            attempts += 1;
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.expose());
            if let Some(body) = &body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let exhausted = |reason: String, status: Option<u16>, corr: Option<String>| {
                SendFailure::Exhausted {
                    attempts,
                    reason,
                    http_status: status,
                    correlation_id: corr,
                }
            };
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    let reason = format!("transport error: {}", e.without_url());
                    match backoff.next() {
                        Some(delay) => {
                            self.retry_after(delay, &reason).await;
                            continue;
                        }
                        None => return Err(exhausted(reason, None, None)),
                    }
                }
            };
            self.pacer.observe(response.headers());
            let status = response.status();
            let corr = response
                .headers()
                .get("x-hubspot-correlation-id")
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let bytes = match response.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    let reason = format!("response cut off: {}", e.without_url());
                    match backoff.next() {
                        Some(delay) => {
                            self.retry_after(delay, &reason).await;
                            continue;
                        }
                        None => return Err(exhausted(reason, Some(status.as_u16()), corr)),
                    }
                }
            };
            match status {
                StatusCode::TOO_MANY_REQUESTS => {
                    self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                    let err = ErrorBody::parse(&bytes);
                    if err.policy_name.as_deref() == Some("DAILY") {
                        return Err(SendFailure::Fatal(FatalError::DailyLimit {
                            message: err.message.unwrap_or_else(|| "429 DAILY".into()),
                        }));
                    }
                    rate_waits += 1;
                    let reason = format!("429 {}", err.message.unwrap_or_default());
                    if rate_waits > MAX_RATE_LIMIT_WAITS {
                        return Err(exhausted(reason, Some(429), corr));
                    }
                    let wait = retry_after.unwrap_or_else(|| self.pacer.limit().1);
                    tracing::warn!(
                        wait_ms = wait.as_millis() as u64,
                        "HubSpot rate limit hit; pausing all requests"
                    );
                    self.pacer.pause(wait);
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                }
                StatusCode::UNAUTHORIZED => {
                    let err = ErrorBody::parse(&bytes);
                    if err.category.as_deref() == Some("EXPIRED_AUTHENTICATION")
                        && self.auth.is_oauth()
                        && !refreshed
                    {
                        refreshed = true;
                        self.auth.expire(&token).await;
                        continue;
                    }
                    return Err(SendFailure::Fatal(FatalError::Unauthorized {
                        object_type: Some(object_type.to_string()),
                        message: err.message.unwrap_or_else(|| "401 Unauthorized".into()),
                    }));
                }
                StatusCode::FORBIDDEN => {
                    let err = ErrorBody::parse(&bytes);
                    return Err(SendFailure::Fatal(FatalError::Forbidden {
                        object_type: Some(object_type.to_string()),
                        missing_scopes: err.required_scopes(),
                        message: err.message.unwrap_or_else(|| "403 Forbidden".into()),
                    }));
                }
                StatusCode::LOCKED => {
                    let reason = "423 Locked".to_string();
                    match backoff.next() {
                        Some(delay) => self.retry_after(delay.max(LOCKED_WAIT), &reason).await,
                        None => return Err(exhausted(reason, Some(423), corr)),
                    }
                }
                s if s.is_server_error() || s.as_u16() == 477 => {
                    let reason = format!("HTTP {s}");
                    match backoff.next() {
                        Some(delay) => {
                            self.retry_after(retry_after.unwrap_or(delay), &reason)
                                .await
                        }
                        None => return Err(exhausted(reason, Some(s.as_u16()), corr)),
                    }
                }
                s => {
                    return Ok(Reply {
                        status: s.as_u16(),
                        body: bytes,
                        correlation_id: corr,
                        attempts,
                    });
                }
            }
        }
    }

    async fn retry_after(&self, delay: Duration, reason: &str) {
        self.counters.retries.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(delay_ms = delay.as_millis() as u64, reason, "retrying");
        tokio::time::sleep(delay).await;
    }
}

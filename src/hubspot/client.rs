//! The HubSpot HTTP client: pacing, auth, and retries of everything worth retrying.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use url::Url;

use super::CallError;
use super::auth::TokenSource;
use super::counters::Counters;
use super::dry_run::DryRun;
use super::http::{BodyError, read_capped};
use super::http::{Payload, Reply, answer_cap, transport_error};
use super::pacer::{Answer, Pacer};
use super::retry::{Next, Policy, Step, classify};
use super::wire::{ErrorBody, PropertyCreate, PropertyInfo, UpsertRequest};
use crate::config::Credentials;
use crate::error::FatalError;
use crate::secret::Secret;

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

/// A HubSpot API client.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    /// Every path the client calls, of the configured API version.
    pub routes: super::Routes,
    auth: TokenSource,
    pacer: Pacer,
    /// Searches have a limit of their own and no rate-limit headers.
    search_pacer: super::search::SearchPacer,
    max_retries: u32,
    timeout: Duration,
    /// Request counters.
    pub counters: Counters,
    /// Set in a dry run: writes are recorded and answered, never sent.
    pub dry_run: Option<DryRun>,
    retry_budget: Duration,
    shutdown: crate::shutdown::Shutdown,
    /// Requests on the wire at once.
    wire: tokio::sync::Semaphore,
    /// Requests sleeping before a retry, and a signal when one starts to.
    retrying: AtomicUsize,
    retry_started: tokio::sync::Notify,
}

/// Which limit paces a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// The rolling window (and secondly limit) every CRM request but search counts against.
    Window,
    /// The search API's own per-second limit.
    Search,
}

/// How long requests may take.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Retries after retryable failures.
    pub max_retries: u32,
    /// One attempt, connection to last byte.
    pub request_timeout: Duration,
    /// All attempts of one request, waits included.
    pub retry_budget: Duration,
    /// Requests on the wire at once.
    pub max_concurrency: usize,
}

impl Client {
    /// A client for `base` (without trailing slash) calling the routes of `routes`' version,
    /// whose every wait ends on `shutdown`.
    pub fn new(
        base: Url,
        credentials: Credentials,
        limits: Limits,
        routes: super::Routes,
        shutdown: crate::shutdown::Shutdown,
    ) -> Result<Self, FatalError> {
        let Limits {
            max_retries,
            request_timeout,
            retry_budget,
            max_concurrency,
        } = limits;
        let http = reqwest::Client::builder()
            .user_agent(concat!("target-hubspot/", env!("CARGO_PKG_VERSION")))
            .timeout(request_timeout)
            .connect_timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| FatalError::Request(format!("cannot build the HTTP client: {e}")))?;
        let auth = TokenSource::new(credentials, &base, routes.oauth_token(), request_timeout);
        Ok(Self {
            http,
            base,
            routes,
            auth,
            pacer: Pacer::default(),
            search_pacer: Default::default(),
            max_retries,
            timeout: request_timeout,
            counters: Counters::default(),
            dry_run: None,
            retry_budget,
            shutdown,
            wire: tokio::sync::Semaphore::new(max_concurrency.max(1)),
            retrying: AtomicUsize::new(0),
            retry_started: tokio::sync::Notify::new(),
        })
    }

    /// Stops every wait at once: requests not yet on the wire give up as
    /// [`FatalError::Interrupted`] (their records stay unacknowledged).
    pub fn cancel(&self) {
        self.shutdown.signal();
    }

    /// The URL of `path`, which may end in a query (`?after=…`).
    fn url(&self, path: &str) -> Url {
        let (path, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        let mut url = self.base.clone();
        url.set_path(&format!("{}{path}", self.base.path().trim_end_matches('/')));
        url.set_query(query);
        url
    }

    /// `GET …/properties/{object_type}`.
    pub async fn properties(&self, object_type: &str) -> Result<Vec<PropertyInfo>, CallError> {
        self.get_results(&self.routes.properties(object_type), object_type)
            .await
    }

    /// `GET …/account-info/…/details`: the portal's id (the ledger's entries belong to it).
    pub async fn portal_id(&self) -> Result<String, FatalError> {
        let path = &self.routes.account_details();
        match self.send(Method::GET, path, None, "the account").await {
            Ok(reply) if reply.status == 200 => {
                let v: serde_json::Value = serde_json::from_slice(&reply.body).map_err(|e| {
                    FatalError::Request(format!("unexpected body from GET {path}: {e}"))
                })?;
                match &v["portalId"] {
                    serde_json::Value::Number(n) => Ok(n.to_string()),
                    serde_json::Value::String(s) if !s.is_empty() => Ok(s.clone()),
                    _ => Err(FatalError::Request(format!(
                        "GET {path} answered without a portalId"
                    ))),
                }
            }
            Ok(reply) => Err(FatalError::Request(format!(
                "the ledger needs the portal's id, and GET {path} answered HTTP {}: {}",
                reply.status,
                ErrorBody::parse(&reply.body).message.unwrap_or_default()
            ))),
            // Not about an object type: say which call was refused.
            Err(SendFailure::Fatal(FatalError::Unauthorized { message, .. })) => {
                Err(FatalError::Unauthorized {
                    object_type: None,
                    message: format!("{message} (reading the account's details: GET {path})"),
                })
            }
            Err(SendFailure::Fatal(FatalError::Forbidden {
                missing_scopes,
                message,
                ..
            })) => Err(FatalError::Forbidden {
                object_type: None,
                missing_scopes,
                message: format!("{message} (reading the account's details: GET {path})"),
            }),
            Err(SendFailure::Fatal(f)) => Err(f),
            Err(SendFailure::Exhausted {
                reason, attempts, ..
            }) => Err(FatalError::Request(format!(
                "GET {path} failed after {attempts} attempts: {reason}"
            ))),
        }
    }

    /// `GET path` of a listing answered as `{"results": [...]}` (properties, schemas, labels).
    /// HubSpot's refusal is [`CallError::Failed`]; an unreadable 200 or retries run out are
    /// fatal.
    pub async fn get_results<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        object_type: &str,
    ) -> Result<Vec<T>, CallError> {
        #[derive(serde::Deserialize)]
        struct Results<T> {
            results: Vec<T>,
        }
        match self.send(Method::GET, path, None, object_type).await {
            Ok(reply) if reply.status == 200 => serde_json::from_slice::<Results<T>>(&reply.body)
                .map(|l| l.results)
                .map_err(|e| {
                    FatalError::Request(format!("unexpected body from GET {path}: {e}")).into()
                }),
            Ok(reply) => {
                let body = ErrorBody::parse(&reply.body);
                Err(CallError::Failed(format!(
                    "HTTP {}: {}",
                    reply.status,
                    body.message.unwrap_or_default()
                )))
            }
            Err(SendFailure::Fatal(f)) => Err(f.into()),
            Err(SendFailure::Exhausted {
                reason, attempts, ..
            }) => Err(FatalError::Request(format!(
                "GET {path} failed after {attempts} attempts: {reason}"
            ))
            .into()),
        }
    }

    /// Creates a property with `POST /crm/v3/properties/{object_type}`, first creating its
    /// group (`POST …/groups`; a 409 means it exists). Returns the created definition.
    pub async fn create_property(
        &self,
        object_type: &str,
        create: &PropertyCreate<'_>,
    ) -> Result<PropertyInfo, CallError> {
        let group = serde_json::json!({
            "name": create.group_name,
            "label": create.group_name.replace('_', "-"),
            "displayOrder": -1,
        });
        let groups = self.routes.property_groups(object_type);
        match self.post(&groups, &group, object_type).await {
            Err(SendFailure::Fatal(f)) => return Err(f.into()),
            Err(SendFailure::Exhausted { reason, .. }) => {
                return Err(CallError::Failed(format!("POST {groups}: {reason}")));
            }
            Ok(reply) if (200..300).contains(&reply.status) || reply.status == 409 => {}
            Ok(reply) => {
                let message = ErrorBody::parse(&reply.body).message.unwrap_or_default();
                return Err(CallError::Failed(format!(
                    "POST {groups}: HTTP {}: {message}",
                    reply.status
                )));
            }
        }
        let path = self.routes.properties(object_type);
        let answer = self.post_json(&path, create, object_type).await?;
        serde_json::from_value(answer)
            .map_err(|e| CallError::Failed(format!("unexpected answer from POST {path}: {e}")))
    }

    /// `POST /crm/v3/objects/{object_type}/batch/upsert`.
    pub async fn upsert(
        &self,
        object_type: &str,
        request: &UpsertRequest<'_>,
    ) -> Result<Reply, SendFailure> {
        self.post(
            &self.routes.batch(object_type, "upsert"),
            request,
            object_type,
        )
        .await
    }

    /// `POST path` with a JSON body; `object_type` names what is being written in fatal errors.
    pub async fn post(
        &self,
        path: &str,
        body: &impl serde::Serialize,
        object_type: &str,
    ) -> Result<Reply, SendFailure> {
        let body = serde_json::to_vec(body).map_err(|e| SendFailure::Exhausted {
            attempts: 0,
            reason: format!("cannot encode the request: {e}"),
            http_status: None,
            correlation_id: None,
        })?;
        self.send(Method::POST, path, Some(Bytes::from(body)), object_type)
            .await
    }

    /// `POST /crm/v3/objects/{object_type}/search` with `body`, paced by the search limit
    /// (not the rolling window).
    pub async fn search(
        &self,
        object_type: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, CallError> {
        let path = self.routes.search(object_type);
        let bytes = Bytes::from(body.to_string());
        let answer = self
            .send_on(
                Lane::Search,
                Method::POST,
                &path,
                Some(Payload::Json(bytes)),
                object_type,
            )
            .await;
        match answer {
            Err(SendFailure::Fatal(f)) => Err(f.into()),
            Err(SendFailure::Exhausted {
                attempts, reason, ..
            }) => Err(CallError::Failed(format!(
                "search failed after {attempts} attempts: {reason}"
            ))),
            Ok(reply) if reply.status == 200 => serde_json::from_slice(&reply.body).map_err(|e| {
                CallError::Failed(format!(
                    "search answered a body that could not be read: {e}"
                ))
            }),
            Ok(reply) => Err(CallError::Failed(format!(
                "search refused: HTTP {}: {}",
                reply.status,
                ErrorBody::parse(&reply.body).message.unwrap_or_default()
            ))),
        }
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
        self.send_on(
            Lane::Window,
            method,
            path,
            body.map(Payload::Json),
            object_type,
        )
        .await
    }

    /// `POST path` with an import file (multipart), retried as any other request.
    pub async fn upload(
        &self,
        path: &str,
        upload: std::sync::Arc<super::http::Upload>,
        object_type: &str,
    ) -> Result<Reply, SendFailure> {
        self.send_on(
            Lane::Window,
            Method::POST,
            path,
            Some(Payload::Import(upload)),
            object_type,
        )
        .await
    }

    /// One `POST path` without a body, sent even after a signal (to cancel what the run
    /// started on HubSpot's side), within `timeout`; the reason when it got no 2xx answer.
    pub async fn post_once_after_stop(&self, path: &str, timeout: Duration) -> Result<(), String> {
        let url = self.url(path);
        let attempt = async {
            let token = self
                .auth
                .bearer(&self.http)
                .await
                .map_err(|f| f.to_string())?;
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            let response = self
                .http
                .post(url.clone())
                .bearer_auth(token.expose())
                .send()
                .await
                .map_err(|e| transport_error(&e, &url, timeout))?;
            let status = response.status();
            if status.is_success() {
                Ok(())
            } else {
                Err(format!("HTTP {status}"))
            }
        };
        tokio::time::timeout(timeout, attempt)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {} s", timeout.as_secs())))
    }

    /// [`Client::send`] paced by `lane`'s limit.
    async fn send_on(
        &self,
        lane: Lane,
        method: Method,
        path: &str,
        body: Option<Payload>,
        object_type: &str,
    ) -> Result<Reply, SendFailure> {
        if let Some(dry) = &self.dry_run
            && super::dry_run::is_write(&method, path)
        {
            let json = match &body {
                Some(Payload::Json(b)) => Some(b.clone()),
                Some(Payload::Import(u)) => Some(Bytes::from(u.request.clone())),
                None => None,
            };
            return dry.answer(&method, path, json.as_ref()).map_err(|e| {
                SendFailure::Fatal(FatalError::Io(format!(
                    "cannot write --dry-run-output: {e}"
                )))
            });
        }
        let url = self.url(path);
        let mut policy = Policy::new(self.max_retries, self.retry_budget);
        let mut attempts = 0u32;
        let mut refreshed = false;
        loop {
            // A slot on the wire first, then the pacer: what the pacer counts as sent goes out
            // at once. Both are let go before any retry wait, so a batch that waits to retry
            // holds up no other.
            let permit = tokio::select! {
                biased;
                _ = self.shutdown.stopped() => {
                    return Err(SendFailure::Fatal(FatalError::Interrupted));
                }
                permit = self.wire.acquire() => permit.map_err(|_| SendFailure::Fatal(FatalError::Interrupted))?,
            };
            let waiting = self.counters.rate_wait.start();
            let sent = tokio::select! {
                biased;
                _ = self.shutdown.stopped() => {
                    return Err(SendFailure::Fatal(FatalError::Interrupted));
                }
                sent = async {
                    match lane {
                        Lane::Window => self.pacer.ready().await,
                        Lane::Search => self.search_pacer.ready().await,
                    }
                } => sent,
            };
            drop(waiting);
            let token = tokio::select! {
                biased;
                () = self.shutdown.stopped() => {
                    return Err(SendFailure::Fatal(FatalError::Interrupted));
                }
                token = self.auth.bearer(&self.http) => token.map_err(|f| self.fatal(f))?,
            };
            attempts += 1;
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            let exhausted =
                |reason: String, http_status: Option<u16>, correlation_id: Option<String>| {
                    SendFailure::Exhausted {
                        attempts,
                        reason,
                        http_status,
                        correlation_id,
                    }
                };
            let started = std::time::Instant::now();
            // On the wire: given the shutdown's grace to finish, then abandoned.
            let step = tokio::select! {
                biased;
                () = self.shutdown.abandoned() => Step::Fatal(FatalError::Interrupted),
                step = self.attempt(&method, &url, &body, &token, object_type, (sent, lane)) => step,
            };
            let ends_the_run = match &step {
                Step::Fatal(_) => true,
                Step::Expired(_) => !self.auth.is_oauth() || refreshed,
                _ => false,
            };
            if ends_the_run {
                // Before the slot is let go: no waiting request may take it.
                self.wire.close();
            }
            drop(permit);
            let status = step.status();
            let route = path.split_once('?').map_or(path, |(route, _)| route);
            self.counters
                .time(format!("{method} {route}"), status, started.elapsed());
            match step {
                Step::Answer(mut reply) => {
                    reply.attempts = attempts;
                    return Ok(reply);
                }
                Step::Fatal(f) => return Err(self.fatal(f)),
                Step::Expired(_) if self.auth.is_oauth() && !refreshed => {
                    refreshed = true;
                    self.auth.expire(&token).await;
                }
                Step::Expired(message) => {
                    return Err(self.fatal(FatalError::Unauthorized {
                        object_type: Some(object_type.to_string()),
                        message,
                    }));
                }
                Step::RateLimited {
                    wait,
                    reason,
                    correlation_id,
                } => {
                    self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                    let wait = match policy.rate_limited(wait, self.pacer.limit(), &reason) {
                        Next::After(wait) => wait,
                        Next::GiveUp(why) => return Err(exhausted(why, Some(429), correlation_id)),
                    };
                    match lane {
                        Lane::Window => {
                            tracing::warn!(
                                wait_ms = wait.as_millis() as u64,
                                "HubSpot rate limit hit; pausing all requests"
                            );
                            self.pacer.pause(wait);
                        }
                        Lane::Search => {
                            tracing::warn!(
                                wait_ms = wait.as_millis() as u64,
                                "HubSpot's search limit hit; pausing searches"
                            );
                            self.search_pacer.pause(wait).await;
                        }
                    }
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                }
                Step::Retry {
                    reason,
                    http_status,
                    correlation_id,
                    at_least,
                    retry_after,
                } => match policy.failed(at_least, retry_after, &reason) {
                    Next::After(delay) => self.retry_after(delay, &reason).await?,
                    Next::GiveUp(why) => return Err(exhausted(why, http_status, correlation_id)),
                },
            }
        }
    }

    /// Makes one request and classifies the answer.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: &Option<Payload>,
        token: &Secret,
        object_type: &str,
        (sent, lane): (std::time::Instant, Lane),
    ) -> Step {
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(token.expose());
        if let Some(body) = body {
            request = body.attach(request);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                return Step::transport(transport_error(&e, url, self.timeout), None, None);
            }
        };
        if lane == Lane::Window {
            // Search answers carry no rate-limit headers and count against another limit.
            self.pacer.observe_answer(Answer {
                status: response.status().as_u16(),
                headers: response.headers(),
                sent,
                latency: sent.elapsed(),
            });
        }
        let status = response.status();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        let correlation_id = header("x-hubspot-correlation-id");
        // Bounded whatever the server says.
        let retry_after =
            super::retry::retry_after(header(reqwest::header::RETRY_AFTER.as_str()).as_deref());
        if status.is_redirection() {
            let location = header(reqwest::header::LOCATION.as_str())
                .map(|l| crate::secret::redact_userinfo(&l))
                .unwrap_or_else(|| "(no Location)".into());
            return Step::Fatal(FatalError::Request(format!(
                "{method} {} answered {status} to {location}; redirects are never followed (the records would go to another address): check base_url",
                url.path()
            )));
        }
        let cap = answer_cap(body.as_ref().map_or(0, Payload::echoable));
        let bytes = match read_capped(response, cap).await {
            Ok(b) => b,
            Err(BodyError::Transport(e)) => {
                let reason = format!(
                    "response cut off: {}",
                    transport_error(&e, url, self.timeout)
                );
                return Step::transport(reason, Some(status.as_u16()), correlation_id);
            }
            Err(BodyError::TooLarge) => {
                let reason = format!(
                    "response body larger than {} MiB, more than this request can make HubSpot answer; not read",
                    cap >> 20
                );
                return Step::transport(reason, Some(status.as_u16()), correlation_id);
            }
        };
        classify(status, bytes, retry_after, correlation_id, object_type)
    }

    /// A fatal answer ends the run: requests waiting for the wire are not sent.
    fn fatal(&self, error: FatalError) -> SendFailure {
        self.wire.close();
        SendFailure::Fatal(error)
    }

    /// Requests now sleeping before a retry: they hold no slot on the wire, so that many more
    /// batches may be handed to the client without any waiting for the wire.
    pub fn waiting_to_retry(&self) -> usize {
        self.retrying.load(Ordering::Relaxed)
    }

    /// Waits `delay`, or until the run is interrupted ([`FatalError::Interrupted`]).
    pub async fn pause(&self, delay: Duration) -> Result<(), FatalError> {
        super::retry::wait(delay, &self.shutdown).await
    }

    /// Resolves when a request starts to sleep before a retry (a slot on the wire is free).
    pub async fn retry_started(&self) {
        self.retry_started.notified().await;
    }

    async fn retry_after(&self, delay: Duration, reason: &str) -> Result<(), SendFailure> {
        self.counters.retries.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(delay_ms = delay.as_millis() as u64, reason, "retrying");
        struct Sleeping<'a>(&'a AtomicUsize);
        impl Drop for Sleeping<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        self.retrying.fetch_add(1, Ordering::Relaxed);
        let _sleeping = Sleeping(&self.retrying);
        self.retry_started.notify_one();
        super::retry::wait(delay, &self.shutdown)
            .await
            .map_err(SendFailure::Fatal)
    }
}

//! Helpers shared by the emulator's HTTP tests.
#![allow(dead_code)]

use hubspot_emulator::{RunningEmulator, Settings};
use serde_json::{Map, Value, json};

/// Keys whose values change from run to run.
const VOLATILE: &[&str] = &[
    "correlationId",
    "completedAt",
    "startedAt",
    "createdAt",
    "updatedAt",
    "createdate",
    "hs_createdate",
    "lastmodifieddate",
    "hs_lastmodifieddate",
    "access_token",
    "expire time",
];

/// Headers worth pinning.
const PINNED_HEADERS: &[&str] = &[
    "content-type",
    "location",
    "retry-after",
    "x-hubspot-ratelimit-max",
    "x-hubspot-ratelimit-remaining",
    "x-hubspot-ratelimit-interval-milliseconds",
    "x-hubspot-ratelimit-daily",
    "x-hubspot-ratelimit-daily-remaining",
    "x-hubspot-ratelimit-secondly",
    "x-hubspot-ratelimit-secondly-remaining",
    "x-hubspot-notfound",
];

/// A started emulator plus a client that speaks to it.
pub struct Hub {
    pub emulator: RunningEmulator,
    pub client: reqwest::Client,
    pub token: String,
}

/// A response reduced to what tests compare.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Status, pinned headers and body with volatile values replaced: for snapshots.
    pub fn snapshot(&self) -> Value {
        let headers: Map<String, Value> = PINNED_HEADERS
            .iter()
            .filter_map(|h| {
                self.headers
                    .get(*h)
                    .map(|v| (h.to_string(), json!(v.to_str().unwrap_or("?"))))
            })
            .collect();
        let has_corr = self.headers.contains_key("x-hubspot-correlation-id");
        json!({"status": self.status, "headers": headers, "correlation_id_header": has_corr, "body": redact(&self.body)})
    }
}

/// Replaces volatile values by `"[redacted]"`, recursively.
pub fn redact(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = if VOLATILE.contains(&k.as_str()) && !v.is_null() {
                        json!("[redacted]")
                    } else {
                        redact(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        other => other.clone(),
    }
}

impl Hub {
    pub async fn start(settings: Settings) -> Self {
        let emulator = hubspot_emulator::start(settings)
            .await
            .expect("emulator starts");
        // reqwest may be built without a default TLS provider (features unify across the
        // workspace); even plain-http clients need one installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            emulator,
            client: reqwest::Client::new(),
            token: "pat-na1-test".into(),
        }
    }

    pub async fn default() -> Self {
        Self::start(Settings::default()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.base_url())
    }

    pub async fn reply(resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        let resp = self
            .client
            .post(self.url(path))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("send");
        Self::reply(resp).await
    }

    pub async fn post_raw(&self, path: &str, body: &'static str) -> Reply {
        let resp = self
            .client
            .post(self.url(path))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("send");
        Self::reply(resp).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.get_as(path, &self.token).await
    }

    /// `GET path` with another bearer token (an OAuth access token, say).
    pub async fn get_as(&self, path: &str, token: &str) -> Reply {
        let resp = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("send");
        Self::reply(resp).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        let resp = self
            .client
            .patch(self.url(path))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("send");
        Self::reply(resp).await
    }

    /// `method path` with a JSON body (or none).
    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::reply(request.send().await.expect("send")).await
    }

    /// Creates one record with `POST /crm/v3/objects/{type}` and returns its id.
    pub async fn create(&self, object_type: &str, properties: Value) -> String {
        let reply = self
            .post(
                &format!("/crm/v3/objects/{object_type}"),
                json!({ "properties": properties }),
            )
            .await;
        assert_eq!(reply.status, 201, "{object_type}: {:?}", reply.body);
        reply.body["id"].as_str().unwrap_or_default().to_string()
    }

    /// Every stored record of a type, through the inspection route.
    pub async fn stored(&self, object_type: &str) -> Vec<Value> {
        let resp = self
            .client
            .get(self.url(&format!("/_emulator/objects/{object_type}")))
            .send()
            .await
            .expect("send");
        resp.json().await.expect("json")
    }
}

/// A contact upsert input.
pub fn contact(trace: Option<&str>, email: &str, properties: Value) -> Value {
    let mut input = json!({"id": email, "idProperty": "email", "properties": properties});
    if let Some(t) = trace {
        input["objectWriteTraceId"] = json!(t);
    }
    input
}

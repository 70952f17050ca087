//! The HTTP layer under the client: answers read within a byte cap, transport errors named
//! without the URL's path, and the answer the client hands back. Imports nothing of the
//! client, so the token source and the dry run use it without a circle.

use std::time::Duration;

use bytes::Bytes;
use url::Url;

/// A request body: JSON, or an import file with its `importRequest` (multipart, rebuilt for
/// every attempt from bytes shared, not copied).
#[derive(Debug, Clone)]
pub enum Payload {
    /// `application/json`.
    Json(Bytes),
    /// `multipart/form-data`: the parts of `POST …/imports`.
    Import(std::sync::Arc<Upload>),
}

/// An import file and the `importRequest` that describes it.
#[derive(Debug)]
pub struct Upload {
    /// The `importRequest` JSON text.
    pub request: String,
    /// The file's name, as `importRequest` names it.
    pub file_name: String,
    /// The CSV file.
    pub file: Bytes,
}

impl Payload {
    /// Bytes an answer may echo: a JSON body's, an import's `importRequest` (HubSpot echoes
    /// it in `importRequestJson`) but never its file.
    pub fn echoable(&self) -> usize {
        match self {
            Self::Json(b) => b.len(),
            Self::Import(u) => u.request.len(),
        }
    }

    /// Sets the body of `request`.
    pub fn attach(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Self::Json(body) => request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone()),
            Self::Import(upload) => {
                let file = reqwest::multipart::Part::stream_with_length(
                    reqwest::Body::from(upload.file.clone()),
                    upload.file.len() as u64,
                )
                .file_name(upload.file_name.clone());
                let form = reqwest::multipart::Form::new()
                    .text("importRequest", upload.request.clone())
                    .part("files", file);
                // An upload takes as long as its bytes do: a minute plus one second a MB.
                let upload_time = Duration::from_secs(60 + upload.file.len() as u64 / 1_000_000);
                request.multipart(form).timeout(upload_time)
            }
        }
    }
}

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

/// What went wrong on the way to HubSpot, naming the host and every cause: "cannot reach
/// api.hubapi.com:443: error sending request: client error (Connect): tcp connect error:
/// Connection refused (os error 111)", or "… timed out after 120 s". The URL's path and
/// query are left out, and a URL never carries credentials (they are refused in base_url).
pub fn transport_error(e: &reqwest::Error, url: &Url, timeout: Duration) -> String {
    let host = match (url.host_str(), url.port_or_known_default()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => url.as_str().to_string(),
    };
    if e.is_timeout() {
        return format!(
            "cannot reach {host}: timed out after {} s",
            timeout.as_secs()
        );
    }
    let mut causes: Vec<String> = Vec::new();
    let mut next: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = next {
        let text = match err.downcast_ref::<reqwest::Error>() {
            Some(r) => without_url(r),
            None => err.to_string(),
        };
        if causes.last() != Some(&text) && !text.is_empty() {
            causes.push(text);
        }
        next = err.source();
    }
    format!("cannot reach {host}: {}", causes.join(": "))
}

/// The text of a reqwest error without its URL.
fn without_url(e: &reqwest::Error) -> String {
    let text = e.to_string();
    match e.url() {
        Some(u) => text
            .replace(&format!(" for url ({u})"), "")
            .replace(&format!(" ({u})"), ""),
        None => text,
    }
}

/// The largest response body read to a request without a body, and the allowance beyond
/// what a request's own body can make HubSpot echo ([`answer_cap`]).
pub const MAX_BODY_BYTES: usize = 16 << 20;

/// How many bytes of answer one byte of request may legitimately produce: HubSpot's batch
/// answers echo every property written, and JSON escaping can make a byte six
/// (`\u0001`).
const ECHO_FACTOR: usize = 6;

/// The largest answer read to a request of `request_bytes`: [`MAX_BODY_BYTES`] plus what
/// echoing the request can add. A batch of legal 60,000-character values answers far more
/// than 16 MiB; it is read, never mistaken for a failure of a write HubSpot applied.
pub fn answer_cap(request_bytes: usize) -> usize {
    MAX_BODY_BYTES.saturating_add(request_bytes.saturating_mul(ECHO_FACTOR))
}

/// Why a body was not read.
pub enum BodyError {
    /// The connection failed while the body came.
    Transport(reqwest::Error),
    /// The body is larger than the cap.
    TooLarge,
}

/// Reads a response body, refusing to hold more than `cap` bytes.
pub async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Bytes, BodyError> {
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

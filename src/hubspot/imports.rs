//! HubSpot's Imports API: upload a file, read an import's state, page its errors, cancel it.
//! Every call goes through the client (paced, retried, ended by a signal) except the cancel
//! sent after a signal.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;

use super::http::{Reply, Upload};
use super::wire::ErrorBody;
use super::{CallError, Client, SendFailure};

/// An import's state and counters (`PublicImportResponse`).
#[derive(Debug, Clone, Deserialize)]
pub struct ImportStatus {
    /// The import's id.
    pub id: String,
    /// `STARTED`, `PROCESSING`, `DONE`, `FAILED`, `CANCELED`, `DEFERRED`, `REVERTED`.
    pub state: String,
    /// Outcome counts.
    #[serde(default)]
    pub metadata: Metadata,
}

/// `PublicImportMetadata`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Metadata {
    /// Outcome → count. HubSpot does not document the names.
    #[serde(default)]
    pub counters: HashMap<String, i64>,
}

impl ImportStatus {
    /// Whether the import will change no more.
    pub fn finished(&self) -> bool {
        matches!(
            self.state.as_str(),
            "DONE" | "FAILED" | "CANCELED" | "REVERTED"
        )
    }
}

/// One error of an import (`PublicImportError`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportError {
    /// `INVALID_EMAIL`, `INVALID_ENUMERATION_OPTION`, …
    #[serde(default)]
    pub error_type: String,
    /// Why (asked for with `includeErrorMessage`).
    pub error_message: Option<String>,
    /// The value that failed.
    pub invalid_value: Option<String>,
    /// The failed value's column, 0-based.
    pub known_column_number: Option<usize>,
    /// The row.
    pub source_data: Option<SourceData>,
}

/// Where an error is in the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceData {
    /// The row's line, the header being line 1; 0 for the whole file.
    pub line_number: Option<u64>,
    /// The row's cells (asked for with `includeRowData`).
    #[serde(default)]
    pub row_data: Vec<String>,
}

#[derive(Deserialize)]
struct ErrorPage {
    #[serde(default)]
    results: Vec<ImportError>,
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    next: Option<Next>,
}

#[derive(Deserialize)]
struct Next {
    after: Option<String>,
}

/// Errors read per page.
const ERRORS_PER_PAGE: usize = 500;

/// Pages of errors read at most: 2,000 × 500 errors, well past the rows of a file.
const MAX_ERROR_PAGES: usize = 2_000;

fn answer<T: serde::de::DeserializeOwned>(
    reply: Result<Reply, SendFailure>,
    what: &str,
) -> Result<T, CallError> {
    match reply {
        Err(SendFailure::Fatal(f)) => Err(f.into()),
        Err(SendFailure::Exhausted {
            attempts, reason, ..
        }) => Err(CallError::Failed(format!(
            "{what} gave up after {attempts} attempts; last failure: {reason}"
        ))),
        Ok(reply) if (200..300).contains(&reply.status) => serde_json::from_slice(&reply.body)
            .map_err(|e| CallError::Failed(format!("{what} answered unreadably: {e}"))),
        Ok(reply) => Err(CallError::Failed(format!(
            "{what} refused: HTTP {}: {}",
            reply.status,
            ErrorBody::parse(&reply.body).message.unwrap_or_default()
        ))),
    }
}

/// `POST …/imports`: starts an import of `upload`.
pub async fn start(
    client: &Client,
    upload: Arc<Upload>,
    object_type: &str,
) -> Result<ImportStatus, CallError> {
    let path = client.routes.imports();
    answer(
        client.upload(&path, upload, object_type).await,
        "the import upload",
    )
}

/// `GET …/imports/{id}`.
pub async fn status(
    client: &Client,
    id: &str,
    object_type: &str,
) -> Result<ImportStatus, CallError> {
    let path = client.routes.import(id, "");
    answer(
        client.send(Method::GET, &path, None, object_type).await,
        "reading the import's state",
    )
}

/// `GET …/imports/{id}/errors`, every page, with messages and row data.
pub async fn errors(
    client: &Client,
    id: &str,
    object_type: &str,
) -> Result<Vec<ImportError>, CallError> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_ERROR_PAGES {
        let mut path = format!(
            "{}?includeErrorMessage=true&includeRowData=true&limit={ERRORS_PER_PAGE}",
            client.routes.import(id, "errors")
        );
        if let Some(after) = &after {
            path.push_str("&after=");
            path.push_str(
                &url::form_urlencoded::byte_serialize(after.as_bytes()).collect::<String>(),
            );
        }
        let page: ErrorPage = answer(
            client.send(Method::GET, &path, None, object_type).await,
            "reading the import's errors",
        )?;
        all.extend(page.results);
        match page.paging.and_then(|p| p.next).and_then(|n| n.after) {
            Some(next) if after.as_deref() != Some(next.as_str()) => after = Some(next),
            _ => return Ok(all),
        }
    }
    Err(CallError::Failed(format!(
        "the import's errors ran past {MAX_ERROR_PAGES} pages"
    )))
}

/// `POST …/imports/{id}/cancel`, sent even after a signal, within 10 s.
pub async fn cancel(client: &Client, id: &str) -> Result<(), String> {
    let path = client.routes.import(id, "cancel");
    client
        .post_once_after_stop(&path, Duration::from_secs(10))
        .await
}

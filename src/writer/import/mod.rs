//! `load_method: import`: a batch written as CSV files through HubSpot's Imports API. Each
//! file is uploaded, its import followed until HubSpot has finished it (polled with a
//! growing interval, within `import_timeout_s`; a signal cancels it), then its errors are
//! read and each is mapped back to the record on its line. A row HubSpot neither wrote nor
//! named in an error is rejected as `NOT_ACKNOWLEDGED`, never assumed written.

mod file;
mod outcomes;

use std::sync::Arc;
use std::time::{Duration, Instant};

use file::{ImportFile, Layout, RowKey};

use super::{Target, associate};
use crate::config::{ImportSettings, WriteMode};
use crate::error::FatalError;
use crate::hubspot::CallError;
use crate::hubspot::Client;
use crate::hubspot::imports::{self, ImportStatus};
use crate::mapping::Matching;
use crate::model::rejection::{Category, Rejection};
use crate::pipeline::batch::Batch;
use crate::pipeline::outcome::{BatchResult, Outcome, Settled};

/// The first wait between two looks at an import's state; each next one is half as long
/// again, up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(500);

/// The longest wait between two looks at an import's state.
const MAX_POLL: Duration = Duration::from_secs(30);

/// How a stream's rows are matched and what they may do, from its matching and write mode.
pub fn layout(matching: &Matching, write_mode: WriteMode, object_type: &str) -> Layout {
    let key = match matching {
        Matching::IdProperty(p) => RowKey::Unique(p.to_string()),
        Matching::IdField(_) => RowKey::RecordId,
        // Refused by the configuration's checks: an import matches by unique values only.
        Matching::SearchProperty(_) | Matching::Nothing => RowKey::None,
    };
    let operation = match (&key, write_mode) {
        (RowKey::RecordId, _) | (_, WriteMode::UpdateOnly) => "UPDATE",
        (RowKey::None, _) | (_, WriteMode::CreateOnly) => "CREATE",
        (_, WriteMode::Upsert) => "UPSERT",
    };
    Layout {
        type_id: crate::hubspot::schemas::type_id(object_type).to_string(),
        key,
        operation,
    }
}

/// Writes `batch` through imports and returns every record's outcome (or a fatal error,
/// leaving the records of unfinished imports without one).
pub async fn write_import(
    client: Arc<Client>,
    target: Target,
    layout: Layout,
    limits: ImportSettings,
    batch: Batch,
) -> BatchResult {
    let stream = batch.stream;
    let keys: Vec<String> = batch.keys().map(String::from).collect();
    let stem = format!(
        "target-hubspot-{}-{}",
        target.object_type,
        batch.first_seq()
    );
    let (files, too_large) = file::build(
        &batch.inputs,
        &layout,
        &stem,
        limits.max_rows,
        limits.max_bytes,
    );
    // Outcome of each input, by its index in the batch.
    let mut verdicts: Vec<Option<Outcome>> = Vec::new();
    verdicts.resize_with(batch.inputs.len(), || None);
    for i in too_large {
        verdicts[i] = Some(Outcome::Rejected(Rejection::local(
            Category::InvalidRecord,
            format!(
                "the record's row is larger than import_max_bytes ({} bytes): it fits in no import file; load it with load_method batch",
                limits.max_bytes
            ),
            None,
        )));
    }
    let mut fatal = None;
    for file in &files {
        match import_file(&client, &target, &layout, limits.timeout, file, &batch).await {
            Ok(file_verdicts) => {
                for (row, verdict) in file.rows.iter().zip(file_verdicts) {
                    verdicts[*row] = Some(verdict);
                }
            }
            Err(f) => {
                fatal = Some(f);
                break;
            }
        }
    }
    let mut settled = Vec::new();
    let mut written = Vec::new();
    for (input, verdict) in batch.inputs.into_iter().zip(verdicts) {
        let Some(verdict) = verdict else {
            continue; // its import did not finish: no outcome
        };
        if verdict == Outcome::Imported {
            written.push((input.key.clone(), settled.len(), input.origins.len()));
            let ids = (layout.key == RowKey::RecordId).then(|| input.key.to_string());
            target.lookups.ids.written(
                &target.object_type,
                ids.as_deref().map(|id| (&input.properties, id)),
            );
        }
        for (i, origin) in input.origins.into_iter().enumerate() {
            settled.push(Settled {
                origin,
                outcome: verdict.clone(),
                merged: i > 0,
                record_id: (layout.key == RowKey::RecordId).then(|| input.key.to_string()),
            });
        }
    }
    if fatal.is_none() && !target.associations.is_empty() && !written.is_empty() {
        fatal = link(&client, &target, &layout, &written, &mut settled)
            .await
            .err();
    }
    BatchResult {
        stream,
        keys,
        settled,
        fatal,
    }
}

/// Makes the associations the imported records ask for: their ids are found by key first
/// (imports report none), then linked as a batch write links them.
async fn link(
    client: &Client,
    target: &Target,
    layout: &Layout,
    written: &[(crate::model::Key, usize, usize)],
    settled: &mut Vec<Settled>,
) -> Result<(), FatalError> {
    if let RowKey::Unique(property) = &layout.key {
        let keys: Vec<String> = written.iter().map(|(k, ..)| k.to_string()).collect();
        let found = match client.find_ids(&target.object_type, property, &keys).await {
            Ok(found) => found,
            Err(e) => {
                let reason = e.reason()?;
                tracing::warn!(object_type = %target.object_type, "the ids of imported records could not be found ({reason}); their associations are not made");
                Default::default()
            }
        };
        for (key, first, n) in written {
            let id = found.get(key.as_str()).cloned();
            for s in &mut settled[*first..first + n] {
                s.record_id = id.clone();
            }
        }
    }
    associate(
        client,
        &target.lookups,
        &target.object_type,
        &target.associations,
        settled,
    )
    .await
}

/// Uploads `file`, follows its import to the end and returns each row's verdict.
async fn import_file(
    client: &Client,
    target: &Target,
    layout: &Layout,
    timeout: Duration,
    file: &ImportFile,
    batch: &Batch,
) -> Result<Vec<Outcome>, FatalError> {
    let object_type = &target.object_type;
    if let Some(dry) = &client.dry_run {
        let path = client.routes.imports();
        let request = bytes::Bytes::from(file.upload.request.clone());
        dry.answer(&reqwest::Method::POST, &path, Some(&request))
            .map_err(|e| FatalError::Io(format!("cannot write --dry-run-output: {e}")))?;
        return Ok(file.rows.iter().map(|_| Outcome::Imported).collect());
    }
    let started = Instant::now();
    let status = match imports::start(client, file.upload.clone(), object_type).await {
        Ok(status) => status,
        Err(CallError::Fatal(f)) => return Err(f),
        Err(CallError::Failed(reason)) => {
            // Nothing was imported: every row is refused with HubSpot's reason.
            let rejection = Rejection::local(
                Category::ImportError,
                format!(
                    "HubSpot refused the import file {}: {reason}",
                    file.upload.file_name
                ),
                None,
            )
            .with_code("IMPORT_REFUSED");
            return Ok(file
                .rows
                .iter()
                .map(|_| Outcome::Rejected(rejection.clone()))
                .collect());
        }
    };
    let id = status.id.clone();
    tracing::info!(import = %id, object_type = %object_type, rows = file.rows.len(), bytes = file.upload.file.len(), "import started");
    let status = match follow(client, object_type, &id, status, started, timeout).await {
        Ok(status) => status,
        Err(e) => {
            // Interrupted or past its time: HubSpot is asked to stop it; its rows stay
            // unacknowledged (some may have been written: a replay rewrites them).
            match imports::cancel(client, &id).await {
                Ok(()) => tracing::warn!(import = %id, "import cancelled"),
                Err(reason) => {
                    tracing::warn!(import = %id, "the import could not be cancelled ({reason}); HubSpot may finish it")
                }
            }
            return Err(e);
        }
    };
    let errors = match imports::errors(client, &id, object_type).await {
        Ok(errors) => errors,
        Err(CallError::Fatal(f)) => return Err(f),
        Err(CallError::Failed(reason)) => {
            let rejection = Rejection::local(
                Category::NotAcknowledged,
                format!(
                    "import {id} finished ({}), but its errors could not be read ({reason}): whether this row was written is not known",
                    status.state
                ),
                None,
            );
            return Ok(file
                .rows
                .iter()
                .map(|_| Outcome::Rejected(rejection.clone()))
                .collect());
        }
    };
    let verdicts = outcomes::verdicts(&id, &status, &errors, file, &batch.inputs, layout);
    tracing::info!(import = %id, state = %status.state, errors = errors.len(), seconds = started.elapsed().as_secs(), "import finished");
    Ok(verdicts)
}

/// Looks at import `id` until it has finished, waiting longer each time; `Err` on a signal
/// or past `timeout`.
async fn follow(
    client: &Client,
    object_type: &str,
    id: &str,
    mut status: ImportStatus,
    started: Instant,
    timeout: Duration,
) -> Result<ImportStatus, FatalError> {
    let mut wait = FIRST_POLL;
    while !status.finished() {
        if started.elapsed() + wait > timeout {
            return Err(FatalError::Request(format!(
                "import {id} ({object_type}) did not finish within import_timeout_s ({} s; last state {}); it was cancelled and its records stay unacknowledged",
                timeout.as_secs(),
                status.state
            )));
        }
        client.pause(wait).await?;
        wait = (wait * 3 / 2).min(MAX_POLL);
        status = match imports::status(client, id, object_type).await {
            Ok(status) => status,
            Err(CallError::Fatal(f)) => return Err(f),
            Err(CallError::Failed(reason)) => {
                // The import goes on at HubSpot's end; its state is asked again.
                tracing::warn!(import = %id, "{reason}");
                continue;
            }
        };
    }
    Ok(status)
}

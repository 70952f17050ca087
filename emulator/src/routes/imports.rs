//! The Imports API (`/crm/v3/imports`, `/crm/imports/{date}`): thin handlers over
//! [`crate::store::imports`]. An upload is checked as HubSpot checks it (the multipart parts,
//! the file name, the column mappings, the properties they name, the limits) and processed
//! in the background at `--import-rows-per-second`.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Extension;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::clock;
use crate::error::{ApiError, json_response};
use crate::state::{Ctx, Shared};
use crate::store::imports::{Column, DateFormat, ImportJob, ImportState, Operation, response_json};

/// `importRequest`, with the spellings of both the current guide and its older examples.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImportRequest {
    name: Option<String>,
    #[serde(default)]
    import_operations: BTreeMap<String, String>,
    date_format: Option<String>,
    #[serde(default)]
    files: Vec<FileSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileSpec {
    file_name: String,
    file_format: Option<String>,
    file_import_page: FilePage,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FilePage {
    #[serde(default)]
    has_header: bool,
    #[serde(default)]
    column_mappings: Vec<ColumnMapping>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ColumnMapping {
    column_object_type_id: Option<String>,
    /// The older spelling (`CONTACT`).
    column_object_type: Option<String>,
    column_name: String,
    property_name: Option<String>,
    column_type: Option<String>,
    /// The older spelling of `column_type`.
    id_column_type: Option<String>,
    #[serde(default)]
    ignored: bool,
}

/// `POST …/imports`: multipart `importRequest` + `files`.
pub async fn create(
    State(state): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    mut multipart: Multipart,
) -> Result<Response, ApiError> {
    let corr = ctx.correlation_id.as_str();
    let limits = state.settings.imports;
    let mut request_text = None;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        ApiError::validation(format!("Unable to read the multipart request: {e}"), corr)
    };
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("importRequest") => request_text = Some(field.text().await.map_err(unreadable)?),
            Some("files") => {
                let name = field.file_name().unwrap_or_default().to_string();
                let bytes = field.bytes().await.map_err(unreadable)?;
                if bytes.len() > limits.max_bytes {
                    return Err(too_much(
                        &format!(
                            "The file {name} is {} bytes; an import file may hold {} bytes",
                            bytes.len(),
                            limits.max_bytes
                        ),
                        corr,
                    ));
                }
                files.push((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    let text = request_text
        .ok_or_else(|| ApiError::validation("The importRequest part is required", corr))?;
    let request: ImportRequest = serde_json::from_str(&text)
        .map_err(|e| ApiError::validation(format!("importRequest is not valid: {e}"), corr))?;
    let [spec] = request.files.as_slice() else {
        return Err(ApiError::validation(
            "[emulator] only imports of one file are emulated",
            corr,
        ));
    };
    let Some((_, bytes)) = files.iter().find(|(name, _)| *name == spec.file_name) else {
        let sent: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        return Err(ApiError::validation(
            format!(
                "No file named {} was uploaded (files: {sent:?}); fileName must equal the uploaded file's name",
                spec.file_name
            ),
            corr,
        ));
    };
    if spec.file_format.as_deref().unwrap_or("CSV") != "CSV" {
        return Err(ApiError::validation(
            "[emulator] only CSV import files are emulated",
            corr,
        ));
    }
    let date_format = match request.date_format.as_deref() {
        None => DateFormat::MonthDayYear,
        Some(name) => DateFormat::parse(name).ok_or_else(|| {
            ApiError::validation(
                format!(
                    "dateFormat {name} is not one of MONTH_DAY_YEAR, DAY_MONTH_YEAR, YEAR_MONTH_DAY"
                ),
                corr,
            )
        })?,
    };
    let mut store = state.store();
    let (type_idx, columns) = columns(&store, &spec.file_import_page.column_mappings, corr)?;
    let type_id = store.types[type_idx].type_id.clone();
    let operation = match request
        .import_operations
        .iter()
        .find(|(t, _)| store.resolve(t) == Some(type_idx))
        .map(|(_, op)| op.as_str())
    {
        None | Some("UPSERT") => Operation::Upsert,
        Some("CREATE") => Operation::Create,
        Some("UPDATE") => Operation::Update,
        Some(other) => {
            return Err(ApiError::validation(
                format!("importOperations for {type_id} is {other}, not CREATE, UPDATE or UPSERT"),
                corr,
            ));
        }
    };
    let rows = read_rows(bytes, &spec.file_import_page, corr)?;
    if rows.len() > limits.max_rows {
        return Err(too_much(
            &format!(
                "The file {} holds {} rows; an import file may hold {}",
                spec.file_name,
                rows.len(),
                limits.max_rows
            ),
            corr,
        ));
    }
    if store.imports.made_today(clock::now_millis()) >= limits.per_day {
        return Err(too_much(
            &format!(
                "The portal has made {} imports in the last 24 hours, its limit",
                limits.per_day
            ),
            corr,
        ));
    }
    let now = clock::now_iso();
    let mut request_json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if let Some(page) = request_json["files"][0]["fileImportPage"]["columnMappings"].as_array_mut()
    {
        for m in page {
            if m["columnObjectTypeId"].is_null() {
                m["columnObjectTypeId"] = json!(type_id);
            }
        }
    }
    let id = store.imports.add(ImportJob {
        id: 0,
        name: request.name.unwrap_or_default(),
        state: ImportState::Started,
        request: request_json,
        created_at: now.clone(),
        updated_at: now,
        type_idx,
        operation,
        date_format,
        columns,
        file_id: 0,
        rows,
        processed: 0,
        counters: BTreeMap::new(),
        errors: Vec::new(),
    });
    let body = response_json(&store.imports.jobs[&id]);
    drop(store);
    spawn_processing(state.clone(), id, limits.rows_per_second);
    Ok(json_response(StatusCode::OK, &body))
}

/// Processes import `id` in the background, a tenth of the rows a second at a time.
fn spawn_processing(state: Shared, id: u64, rows_per_second: u32) {
    const TICK: Duration = Duration::from_millis(100);
    let budget = (rows_per_second as usize / 10).max(1);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(TICK).await;
            if state.store().advance_import(id, budget) {
                break;
            }
        }
    });
}

/// HubSpot's 429 for a file or a day over the Imports API's limits.
fn too_much(message: &str, corr: &str) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        Some("RATE_LIMITS"),
        message,
        corr,
    )
}

/// The object type and columns the mappings name, refused as HubSpot refuses an unknown
/// object type or property.
fn columns(
    store: &crate::store::Store,
    mappings: &[ColumnMapping],
    corr: &str,
) -> Result<(usize, Vec<Column>), ApiError> {
    if mappings.is_empty() {
        return Err(ApiError::validation("columnMappings is required", corr));
    }
    let mut type_idx = None;
    let mut columns = Vec::with_capacity(mappings.len());
    for m in mappings {
        if m.ignored {
            columns.push(Column::Ignored);
            continue;
        }
        let named = m
            .column_object_type_id
            .as_deref()
            .or(m.column_object_type.as_deref())
            .ok_or_else(|| {
                ApiError::validation(
                    format!("Column {} names no columnObjectTypeId", m.column_name),
                    corr,
                )
            })?;
        let idx = store
            .resolve(named)
            .or_else(|| store.resolve(&format!("{}s", named.to_lowercase())))
            .ok_or_else(|| ApiError::unknown_type(named, corr))?;
        if *type_idx.get_or_insert(idx) != idx {
            return Err(ApiError::validation(
                "[emulator] only imports of one object type are emulated",
                corr,
            ));
        }
        let t = &store.types[idx];
        let column_type = m.column_type.as_deref().or(m.id_column_type.as_deref());
        let property = m.property_name.as_deref();
        let column = match column_type {
            Some("HUBSPOT_OBJECT_ID") => Column::ObjectId,
            Some("HUBSPOT_ALTERNATE_ID") => {
                let p = property.unwrap_or_default();
                let unique = t.is_identifying(p) || (t.type_id == "0-2" && p == "domain");
                if !unique {
                    return Err(ApiError::validation(
                        format!(
                            "Column {}: {p} cannot be an alternate id; use email, domain or a property with unique values",
                            m.column_name
                        ),
                        corr,
                    ));
                }
                Column::AlternateId(p.to_string())
            }
            None | Some("STANDARD") => match property {
                Some("hs_object_id") => Column::ObjectId,
                Some(p) if t.property(p).is_some() => Column::Property(p.to_string()),
                Some(p) => {
                    return Err(ApiError::validation(
                        format!(
                            "Column {}: property {p} does not exist on {}",
                            m.column_name, t.name
                        ),
                        corr,
                    ));
                }
                None => Column::Ignored,
            },
            Some(other) => {
                return Err(ApiError::validation(
                    format!(
                        "[emulator] columnType {other} (column {}) is not emulated",
                        m.column_name
                    ),
                    corr,
                ));
            }
        };
        columns.push(column);
    }
    let idx = type_idx.ok_or_else(|| ApiError::validation("Every column is ignored", corr))?;
    Ok((idx, columns))
}

/// The file's data rows, each with its line (the header is line 1).
fn read_rows(
    bytes: &[u8],
    page: &FilePage,
    corr: &str,
) -> Result<Vec<(usize, Vec<String>)>, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            ApiError::validation(
                format!("The file could not be read as UTF-8 CSV: {e}"),
                corr,
            )
        })?;
        let cells: Vec<String> = record.iter().map(String::from).collect();
        if i == 0 && page.has_header {
            let names: Vec<&str> = page
                .column_mappings
                .iter()
                .map(|m| m.column_name.as_str())
                .collect();
            if cells != names {
                return Err(ApiError::validation(
                    format!(
                        "The file's header {cells:?} does not match the column mappings {names:?}"
                    ),
                    corr,
                ));
            }
            continue;
        }
        // [INFERENCE] Lines count rows, the header as line 1, as the errors' lineNumber does.
        let line = i + 1;
        rows.push((line, cells));
    }
    Ok(rows)
}

/// `GET …/imports/{id}`.
pub async fn get_one(
    State(state): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let store = state.store();
    let job = find(&store, &id, &ctx)?;
    Ok(json_response(StatusCode::OK, &response_json(job)))
}

fn find<'a>(
    store: &'a crate::store::Store,
    id: &str,
    ctx: &Ctx,
) -> Result<&'a ImportJob, ApiError> {
    id.parse::<u64>()
        .ok()
        .and_then(|id| store.imports.jobs.get(&id))
        .ok_or_else(|| ApiError::not_found(format!("Import {id} not found"), &ctx.correlation_id))
}

/// Paging of the list and errors endpoints.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Paging {
    after: Option<String>,
    limit: Option<usize>,
    #[serde(default)]
    include_error_message: bool,
    #[serde(default)]
    include_row_data: bool,
}

/// `GET …/imports`: this app's imports, newest first.
pub async fn list(State(state): State<Shared>, Query(paging): Query<Paging>) -> Response {
    let store = state.store();
    let limit = paging.limit.unwrap_or(100).clamp(1, 500);
    let after: u64 = paging.after.and_then(|a| a.parse().ok()).unwrap_or(0);
    let page: Vec<&ImportJob> = store
        .imports
        .jobs
        .values()
        .rev()
        .filter(|j| after == 0 || j.id < after)
        .take(limit + 1)
        .collect();
    let mut body =
        json!({"results": page.iter().take(limit).map(|j| response_json(j)).collect::<Vec<_>>()});
    if page.len() > limit {
        body["paging"] = json!({"next": {"after": page[limit - 1].id.to_string()}});
    }
    json_response(StatusCode::OK, &body)
}

/// `POST …/imports/{id}/cancel`.
pub async fn cancel(
    State(state): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut store = state.store();
    find(&store, &id, &ctx)?;
    let Some(job) = id
        .parse()
        .ok()
        .and_then(|id| store.imports.jobs.get_mut(&id))
    else {
        return Err(ApiError::not_found(
            format!("Import {id} not found"),
            &ctx.correlation_id,
        ));
    };
    let now = clock::now_iso();
    let status = if job.cancel() { "CANCELED" } else { "COMPLETE" };
    Ok(json_response(
        StatusCode::OK,
        &json!({"status": status, "requestedAt": now, "startedAt": job.created_at, "completedAt": now}),
    ))
}

/// `GET …/imports/{id}/errors`: paged by error id.
pub async fn errors(
    State(state): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Query(paging): Query<Paging>,
) -> Result<Response, ApiError> {
    let store = state.store();
    let job = find(&store, &id, &ctx)?;
    let limit = paging.limit.unwrap_or(100).clamp(1, 500);
    let after: u64 = paging.after.and_then(|a| a.parse().ok()).unwrap_or(0);
    let t = &store.types[job.type_idx];
    let page: Vec<_> = job
        .errors
        .iter()
        .filter(|e| e.id > after)
        .take(limit + 1)
        .collect();
    let results: Vec<Value> = page
        .iter()
        .take(limit)
        .map(|e| {
            let mut v = json!({
                "id": e.id.to_string(),
                "createdAt": e.created_at,
                "errorType": e.error_type,
                "objectType": t.upper_singular,
                "objectTypeId": t.type_id,
                "sourceData": {
                    "fileId": job.file_id,
                    "lineNumber": e.line,
                    "rowData": if paging.include_row_data { json!(e.row) } else { json!([]) },
                    "additionalRowData": [],
                    "containsEncryptedProperties": false,
                },
            });
            if paging.include_error_message {
                v["errorMessage"] = json!(e.message);
            }
            if let Some(value) = &e.invalid_value {
                v["invalidValue"] = json!(value);
            }
            if let Some(col) = e.column {
                v["knownColumnNumber"] = json!(col);
            }
            v
        })
        .collect();
    let mut body = json!({ "results": results });
    if page.len() > limit {
        body["paging"] = json!({"next": {"after": page[limit - 1].id.to_string()}});
    }
    Ok(json_response(StatusCode::OK, &body))
}

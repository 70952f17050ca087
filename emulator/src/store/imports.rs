//! The Imports API's domain: import jobs, their rows and states, and the processing that
//! writes each row exactly as a batch upsert of the same values would (same validators,
//! same unique indexes), recording one error per failed cell or row.
//!
//! \[INFERENCE\] HubSpot documents neither its processing speed nor the names of
//! `metadata.counters`; the emulator processes `--import-rows-per-second` rows a second and
//! counts `TOTAL_ROWS`, `CREATED_OBJECTS`, `UPDATED_OBJECTS` and `ERRORS`. As HubSpot's
//! knowledge base says ("in some cases, records with errors are imported"), a row whose key
//! is good is written without the values that failed; a row whose key fails is not written.

use std::collections::{BTreeMap, VecDeque};

use serde_json::{Value, json};

use super::Store;
use crate::clock;
use crate::validate;

/// Imports processing at once; the rest wait as `DEFERRED` (HubSpot's imports guide).
pub const MAX_PROCESSING: usize = 3;

/// An import's state, as `PublicImportResponse.state` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportState {
    /// Recognised, not yet processing.
    Started,
    /// Rows are being written.
    Processing,
    /// Every row processed.
    Done,
    /// An error not detected at the start.
    Failed,
    /// Cancelled before it finished.
    Canceled,
    /// Waiting: three imports are processing.
    Deferred,
}

impl ImportState {
    /// HubSpot's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "STARTED",
            Self::Processing => "PROCESSING",
            Self::Done => "DONE",
            Self::Failed => "FAILED",
            Self::Canceled => "CANCELED",
            Self::Deferred => "DEFERRED",
        }
    }

    /// Whether the import will change no more.
    pub fn finished(self) -> bool {
        matches!(self, Self::Done | Self::Failed | Self::Canceled)
    }
}

/// What an import does with rows whose key exists, or does not (`importOperations`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Create or update.
    Upsert,
    /// Create only: a row whose key exists is `CREATE_ONLY_IMPORT`.
    Create,
    /// Update only: a row whose key does not exist is `UPDATE_ONLY_IMPORT`.
    Update,
}

/// How a column's cells are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// The record id (`HUBSPOT_OBJECT_ID`).
    ObjectId,
    /// A unique value the row is matched by (`HUBSPOT_ALTERNATE_ID`).
    AlternateId(String),
    /// A property value.
    Property(String),
    /// Not imported (`ignored`).
    Ignored,
}

/// How dates in the file are written (`dateFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFormat {
    /// `MM/DD/YYYY` (HubSpot's default).
    MonthDayYear,
    /// `DD/MM/YYYY`.
    DayMonthYear,
    /// `YYYY-MM-DD` (or `YYYY/MM/DD`).
    YearMonthDay,
}

impl DateFormat {
    /// The format `name` spells, if any.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "MONTH_DAY_YEAR" => Some(Self::MonthDayYear),
            "DAY_MONTH_YEAR" => Some(Self::DayMonthYear),
            "YEAR_MONTH_DAY" => Some(Self::YearMonthDay),
            _ => None,
        }
    }

    /// `value` as `YYYY-MM-DD` when it is a date in this format; anything else (epoch
    /// milliseconds, ISO datetimes) as it is, for the validator to judge.
    fn normalise(self, value: &str) -> String {
        let parts: Vec<&str> = value.split(['/', '-', '.']).collect();
        let [a, b, c] = parts.as_slice() else {
            return value.to_string();
        };
        let all_digits = parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !all_digits {
            return value.to_string();
        }
        let (y, m, d) = match self {
            Self::YearMonthDay => (a, b, c),
            Self::MonthDayYear => (c, a, b),
            Self::DayMonthYear => (c, b, a),
        };
        if y.len() != 4 {
            return value.to_string();
        }
        format!("{y}-{m:0>2}-{d:0>2}")
    }
}

/// One error of an import, as the errors endpoint lists it.
#[derive(Debug, Clone)]
pub struct ImportError {
    /// Its id.
    pub id: u64,
    /// When it was recorded (epoch ms).
    pub created_at: i64,
    /// `INVALID_EMAIL`, `INVALID_ENUMERATION_OPTION`, …
    pub error_type: &'static str,
    /// The human-readable reason.
    pub message: String,
    /// The value that failed, if one did.
    pub invalid_value: Option<String>,
    /// The 0-based column of the value, if one did.
    pub column: Option<usize>,
    /// The row's line: the header is line 1; 0 for an error of the whole file.
    pub line: usize,
    /// The row's cells.
    pub row: Vec<String>,
}

/// One import.
#[derive(Debug)]
pub struct ImportJob {
    /// Its id.
    pub id: u64,
    /// `name` of the request.
    pub name: String,
    /// Its state.
    pub state: ImportState,
    /// The request as sent.
    pub request: Value,
    /// ISO-8601 creation time.
    pub created_at: String,
    /// ISO-8601 time of the last change.
    pub updated_at: String,
    /// The object type's index in the store.
    pub type_idx: usize,
    /// What rows may do.
    pub operation: Operation,
    /// How dates are written.
    pub date_format: DateFormat,
    /// The file's columns.
    pub columns: Vec<Column>,
    /// The uploaded file's id.
    pub file_id: u64,
    /// Data rows with their line numbers.
    pub rows: Vec<(usize, Vec<String>)>,
    /// Rows processed so far.
    pub processed: usize,
    /// Outcome counts.
    pub counters: BTreeMap<&'static str, u64>,
    /// Errors, in the order recorded.
    pub errors: Vec<ImportError>,
}

/// Every import of the portal, and the limits' bookkeeping.
#[derive(Debug, Default)]
pub struct Imports {
    /// Imports by id.
    pub jobs: BTreeMap<u64, ImportJob>,
    /// When each import of the last 24 hours was made (epoch ms).
    pub made: VecDeque<i64>,
    /// Imports still to fail (`ImportLimits::fail_next`).
    pub fail_next: u32,
    next_id: u64,
    next_error_id: u64,
}

impl Imports {
    /// Imports made in the 24 hours before `now_ms` (HubSpot's limit rolls over 24 hours).
    pub fn made_today(&mut self, now_ms: i64) -> usize {
        while self.made.front().is_some_and(|t| *t <= now_ms - 86_400_000) {
            self.made.pop_front();
        }
        self.made.len()
    }

    /// Registers `job` (its id set here) and returns the id.
    pub fn add(&mut self, mut job: ImportJob) -> u64 {
        if self.next_id == 0 {
            self.next_id = 61_457_000;
        }
        self.next_id += 1;
        job.id = self.next_id;
        job.file_id = self.next_id + 1_000_000;
        self.made.push_back(clock::now_millis());
        self.jobs.insert(job.id, job);
        self.next_id
    }

    fn processing(&self) -> usize {
        self.jobs
            .values()
            .filter(|j| j.state == ImportState::Processing)
            .count()
    }
}

/// The `PublicImportResponse` of `job`.
pub fn response_json(job: &ImportJob) -> Value {
    json!({
        "id": job.id.to_string(),
        "state": job.state.as_str(),
        "createdAt": job.created_at,
        "updatedAt": job.updated_at,
        "importName": job.name,
        "importSource": "API",
        "importRequestJson": job.request,
        "mappedObjectTypeIds": [job.request_type_id()],
        "metadata": {
            "counters": job.counters,
            "fileIds": [job.file_id.to_string()],
            "objectLists": [],
        },
        "optOutImport": false,
    })
}

impl ImportJob {
    fn request_type_id(&self) -> Value {
        self.request["files"][0]["fileImportPage"]["columnMappings"][0]["columnObjectTypeId"]
            .clone()
    }

    /// Cancels the import; `false` when it had already finished.
    pub fn cancel(&mut self) -> bool {
        if self.state.finished() {
            return false;
        }
        self.state = ImportState::Canceled;
        self.updated_at = clock::now_iso();
        true
    }
}

impl Store {
    /// Advances import `id` by up to `budget` rows: starts it when fewer than three import
    /// are processing (else `DEFERRED`), writes rows, and finishes it. Returns whether the
    /// import has finished (or no longer exists).
    pub fn advance_import(&mut self, id: u64, budget: usize) -> bool {
        let processing = self.imports.processing();
        let Some(job) = self.imports.jobs.get_mut(&id) else {
            return true;
        };
        match job.state {
            s if s.finished() => return true,
            ImportState::Started | ImportState::Deferred
                if processing < MAX_PROCESSING && self.imports.fail_next > 0 =>
            {
                self.imports.fail_next -= 1;
                self.imports.next_error_id += 1;
                job.errors.push(ImportError {
                    id: self.imports.next_error_id,
                    created_at: clock::now_millis(),
                    error_type: "UNKNOWN_ERROR",
                    message: "The import failed while processing (--fail-imports)".into(),
                    invalid_value: None,
                    column: None,
                    line: 0,
                    row: Vec::new(),
                });
                job.state = ImportState::Failed;
                job.updated_at = clock::now_iso();
                return true;
            }
            ImportState::Started | ImportState::Deferred => {
                job.state = if processing < MAX_PROCESSING {
                    ImportState::Processing
                } else {
                    ImportState::Deferred
                };
                job.updated_at = clock::now_iso();
                return false;
            }
            _ => {}
        }
        let start = job.processed;
        let end = (start + budget).min(job.rows.len());
        let rows: Vec<(usize, Vec<String>)> = job.rows[start..end].to_vec();
        let (type_idx, operation, date_format, columns) = (
            job.type_idx,
            job.operation,
            job.date_format,
            job.columns.clone(),
        );
        let mut outcomes = Vec::with_capacity(rows.len());
        for (line, cells) in rows {
            let outcome = self.import_row(type_idx, operation, date_format, &columns, &cells);
            outcomes.push((line, cells, outcome));
        }
        let now = clock::now_millis();
        let Some(job) = self.imports.jobs.get_mut(&id) else {
            return true;
        };
        for (line, cells, outcome) in outcomes {
            *job.counters.entry("TOTAL_ROWS").or_default() += 1;
            match outcome.written {
                Some(true) => *job.counters.entry("CREATED_OBJECTS").or_default() += 1,
                Some(false) => *job.counters.entry("UPDATED_OBJECTS").or_default() += 1,
                None => {}
            }
            for e in outcome.errors {
                *job.counters.entry("ERRORS").or_default() += 1;
                self.imports.next_error_id += 1;
                job.errors.push(ImportError {
                    id: self.imports.next_error_id,
                    created_at: now,
                    error_type: e.error_type,
                    message: e.message,
                    invalid_value: e.invalid_value,
                    column: e.column,
                    line,
                    row: cells.clone(),
                });
            }
        }
        job.processed = end;
        job.updated_at = clock::now_iso();
        if job.processed >= job.rows.len() {
            job.state = ImportState::Done;
            // The rows are written; only the errors are kept.
            job.rows = Vec::new();
            return true;
        }
        false
    }

    /// Writes one row: `written` is `Some(created)` when the record was written.
    fn import_row(
        &mut self,
        idx: usize,
        operation: Operation,
        dates: DateFormat,
        columns: &[Column],
        cells: &[String],
    ) -> RowOutcome {
        let mut out = RowOutcome::default();
        if cells.len() != columns.len() {
            out.errors.push(RowError::new(
                "INCORRECT_NUMBER_OF_COLUMNS",
                format!(
                    "The row has {} columns; the file's column mappings name {}",
                    cells.len(),
                    columns.len()
                ),
                None,
                None,
            ));
            return out;
        }
        let portal_id = self.portal_id;
        let t = &self.types[idx];
        let mut existing = None;
        let mut key: Option<(String, String)> = None;
        let mut values = Vec::new();
        for (col, (column, cell)) in columns.iter().zip(cells).enumerate() {
            let cell = cell.as_str();
            match column {
                Column::Ignored => {}
                Column::ObjectId => {
                    if cell.is_empty() {
                        continue;
                    }
                    match t.find_by("hs_object_id", cell) {
                        Some(id) => existing = Some(id),
                        None => {
                            out.errors.push(RowError::new(
                                "INVALID_OBJECT_ID",
                                format!("No {} with record ID {cell} exists", t.upper_singular),
                                Some(cell),
                                Some(col),
                            ));
                            return out;
                        }
                    }
                }
                Column::AlternateId(property) => {
                    if cell.is_empty() {
                        continue;
                    }
                    if let Err(e) = validate::check(t, portal_id, property, cell) {
                        out.errors
                            .push(RowError::from_property(&e, cell, col, true));
                        return out;
                    }
                    existing = existing.or_else(|| t.find_by(property, cell));
                    key = Some((property.clone(), cell.to_string()));
                }
                Column::Property(property) => {
                    if cell.is_empty() {
                        // A blank cell leaves the property as it is.
                        continue;
                    }
                    let is_date = t.property(property).is_some_and(|d| {
                        matches!(
                            d.kind,
                            crate::model::PropertyType::Date | crate::model::PropertyType::DateTime
                        )
                    });
                    let value = if is_date {
                        dates.normalise(cell)
                    } else {
                        cell.to_string()
                    };
                    match validate::check(t, portal_id, property, &value) {
                        Ok(stored) => values.push((property.clone(), stored)),
                        Err(e) => out
                            .errors
                            .push(RowError::from_property(&e, cell, col, false)),
                    }
                }
            }
        }
        match (operation, existing) {
            (Operation::Create, Some(_)) => {
                out.errors.push(RowError::new(
                    "CREATE_ONLY_IMPORT",
                    "A record with this identifier already exists; the import only creates records"
                        .into(),
                    key.as_ref().map(|(_, v)| v.as_str()),
                    None,
                ));
                return out;
            }
            (Operation::Update, None) => {
                out.errors.push(RowError::new(
                    "UPDATE_ONLY_IMPORT",
                    "No record with this identifier exists; the import only updates records".into(),
                    key.as_ref().map(|(_, v)| v.as_str()),
                    None,
                ));
                return out;
            }
            _ => {}
        }
        if let Some((property, value)) = &key
            && !values.iter().any(|(n, _)| n == property)
        {
            values.push((property.clone(), value.clone()));
        }
        if existing.is_none() {
            let missing = validate::missing_required(t, &values);
            if let Some(first) = missing.first() {
                out.errors.push(RowError::new(
                    "MISSING_REQUIRED_PROPERTY",
                    first.message.clone(),
                    None,
                    None,
                ));
                return out;
            }
        }
        match self.write(idx, existing, &values) {
            Ok((_, created)) => out.written = Some(created),
            Err(conflict) => out.errors.push(RowError::new(
                "DUPLICATE_UNIQUE_PROPERTY_VALUE",
                format!(
                    "Another record ({}) already has this value of the unique property {}",
                    conflict.existing_id, conflict.property
                ),
                None,
                None,
            )),
        }
        out
    }
}

#[derive(Debug, Default)]
struct RowOutcome {
    written: Option<bool>,
    errors: Vec<RowError>,
}

#[derive(Debug)]
struct RowError {
    error_type: &'static str,
    message: String,
    invalid_value: Option<String>,
    column: Option<usize>,
}

impl RowError {
    fn new(
        error_type: &'static str,
        message: String,
        invalid_value: Option<&str>,
        column: Option<usize>,
    ) -> Self {
        Self {
            error_type,
            message,
            invalid_value: invalid_value.map(String::from),
            column,
        }
    }

    /// A batch validator's refusal in the import's words. \[INFERENCE\] the mapping of batch
    /// codes to import error types follows the names of both enums.
    fn from_property(e: &validate::PropertyError, cell: &str, col: usize, key: bool) -> Self {
        let error_type = match e.code {
            "INVALID_EMAIL" => "INVALID_EMAIL",
            "INVALID_OPTION" => "INVALID_ENUMERATION_OPTION",
            "INVALID_INTEGER" | "INVALID_LONG" | "INVALID_FLOAT" | "INVALID_NUMBER" => {
                "COULD_NOT_PARSE_NUMBER"
            }
            "INVALID_DATE" | "INVALID_DATETIME" => "COULD_NOT_PARSE_DATE",
            "INVALID_STRING_LENGTH" => "COLUMN_TOO_LARGE",
            "INVALID_BOOLEAN" => "INVALID_BOOLEAN",
            "READ_ONLY_VALUE" => "READ_ONLY_PROPERTY",
            _ if key => "INVALID_ALTERNATE_ID",
            _ => "FAILED_VALIDATION",
        };
        Self::new(error_type, e.message.clone(), Some(cell), Some(col))
    }
}

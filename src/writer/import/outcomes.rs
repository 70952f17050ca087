//! A finished import's answer read row by row: each error names a line (the header is line
//! 1, 0 the whole file), checked against the key HubSpot echoes in `rowData`; every row with
//! an error is rejected with HubSpot's `errorType` as its code; the rest are written, unless
//! the import failed, was cancelled, or counted fewer rows than the file held.

use std::collections::HashMap;

use super::file::{ImportFile, Layout, RowKey, key_cell};
use crate::hubspot::imports::{ImportError, ImportStatus};
use crate::model::rejection::{Category, Rejection};
use crate::pipeline::batch::Input;
use crate::pipeline::outcome::Outcome;

/// The outcome of each row of `file` (whose inputs are `inputs[file.rows[i]]`), from import
/// `id`'s final `status` and `errors`.
pub fn verdicts(
    id: &str,
    status: &ImportStatus,
    errors: &[ImportError],
    file: &ImportFile,
    inputs: &[Input],
    layout: &Layout,
) -> Vec<Outcome> {
    let rows = file.rows.len();
    let mut by_row: Vec<Vec<&ImportError>> = vec![Vec::new(); rows];
    let mut whole_file: Vec<&ImportError> = Vec::new();
    let mut unplaced: Vec<&ImportError> = Vec::new();
    let row_of_key: HashMap<&str, usize> = match &layout.key {
        RowKey::None => HashMap::new(),
        key => file
            .rows
            .iter()
            .enumerate()
            .filter_map(|(row, &i)| key_cell(&inputs[i], key).map(|k| (k, row)))
            .collect(),
    };
    for e in errors {
        let source = e.source_data.clone().unwrap_or_default();
        match place(&source, file, &row_of_key, rows) {
            Place::File => whole_file.push(e),
            Place::Row(row) => by_row[row].push(e),
            Place::Unknown => unplaced.push(e),
        }
    }
    let failed = match status.state.as_str() {
        "DONE" => None,
        state => Some(state),
    };
    let file_reason = whole_file
        .iter()
        .map(|e| describe(e, file))
        .collect::<Vec<_>>()
        .join("; ");
    let total_rows = status
        .metadata
        .counters
        .get("TOTAL_ROWS")
        .copied()
        .and_then(|n| usize::try_from(n).ok());
    let short = total_rows.is_some_and(|n| n < rows);
    (0..rows)
        .map(|row| {
            if let Some(first) = by_row[row].first() {
                if by_row[row]
                    .iter()
                    .all(|e| e.error_type == "CREATE_ONLY_IMPORT")
                {
                    // create_only: the key exists, so the record is left alone on purpose.
                    return Outcome::Skipped;
                }
                return Outcome::Rejected(row_rejection(id, row, &by_row[row], first, file));
            }
            if let Some(state) = failed {
                let why = if file_reason.is_empty() {
                    "HubSpot gave no reason".to_string()
                } else {
                    file_reason.clone()
                };
                return Outcome::Rejected(
                    Rejection::local(
                        Category::ImportError,
                        format!("import {id} ended {state}: {why}"),
                        None,
                    )
                    .with_code(&format!("IMPORT_{state}")),
                );
            }
            if !whole_file.is_empty() || !unplaced.is_empty() || short {
                let mut why = Vec::new();
                if !file_reason.is_empty() {
                    why.push(format!("errors of the whole file: {file_reason}"));
                }
                if !unplaced.is_empty() {
                    why.push(format!(
                        "{} error(s) name rows that could not be matched to a record (first: {})",
                        unplaced.len(),
                        describe(unplaced[0], file)
                    ));
                }
                if let Some(n) = total_rows.filter(|_| short) {
                    why.push(format!("HubSpot counted {n} of the file's {rows} rows"));
                }
                return Outcome::Rejected(Rejection::local(
                    Category::NotAcknowledged,
                    format!(
                        "import {id} is DONE, but whether this row was written is not known: {}",
                        why.join("; ")
                    ),
                    None,
                ));
            }
            Outcome::Imported
        })
        .collect()
}

enum Place {
    File,
    Row(usize),
    Unknown,
}

/// The row an error is about: by its line, as long as the key HubSpot echoes (when it
/// echoes the row) is that row's; else by that key.
fn place(
    source: &crate::hubspot::imports::SourceData,
    file: &ImportFile,
    row_of_key: &HashMap<&str, usize>,
    rows: usize,
) -> Place {
    let echoed_key = file
        .key_column
        .and_then(|c| source.row_data.get(c))
        .map(String::as_str);
    let by_line = match source.line_number {
        Some(0) => return Place::File,
        Some(line) => usize::try_from(line)
            .ok()
            .and_then(|l| l.checked_sub(2))
            .filter(|&row| row < rows),
        None => None,
    };
    match (by_line, echoed_key) {
        (Some(row), None) => Place::Row(row),
        (Some(row), Some(key)) if row_of_key.get(key) == Some(&row) => Place::Row(row),
        (_, Some(key)) => row_of_key
            .get(key)
            .map_or(Place::Unknown, |&r| Place::Row(r)),
        (None, None) => Place::Unknown,
    }
}

/// An error in words: its type, message, value and column.
fn describe(e: &ImportError, file: &ImportFile) -> String {
    let mut text = e.error_type.clone();
    if let Some(message) = &e.error_message {
        text.push_str(": ");
        text.push_str(message);
    }
    if let Some(column) = e.known_column_number.and_then(|c| file.columns.get(c)) {
        text.push_str(&format!(" (column {column}"));
        if let Some(value) = &e.invalid_value {
            text.push_str(&format!(", value {value:?}"));
        }
        text.push(')');
    }
    text
}

/// The rejection of a row HubSpot named in `errors` (the first is `first`).
fn row_rejection(
    id: &str,
    row: usize,
    errors: &[&ImportError],
    first: &ImportError,
    file: &ImportFile,
) -> Rejection {
    let category = match first.error_type.as_str() {
        "UPDATE_ONLY_IMPORT" => Category::NotFound,
        "INVALID_OBJECT_ID" => Category::ObjectNotFound,
        _ => Category::ImportError,
    };
    let property = first
        .known_column_number
        .and_then(|c| file.columns.get(c))
        .map(String::as_str);
    let partial = errors.iter().all(|e| {
        e.known_column_number
            .is_some_and(|c| Some(c) != file.key_column)
    });
    let mut message = format!(
        "HubSpot's import {id} refused line {}: {}",
        ImportFile::line_of(row),
        errors
            .iter()
            .map(|e| describe(e, file))
            .collect::<Vec<_>>()
            .join("; ")
    );
    if partial {
        message.push_str(
            "; HubSpot's imports write a row without the values that fail, so its other values may be in HubSpot",
        );
    }
    let mut rejection = Rejection::local(category, message, property).with_code(&first.error_type);
    rejection.hubspot_message = first.error_message.as_deref().map(Into::into);
    rejection
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Value, json};

    use super::*;
    use crate::model::{Key, Properties};
    use crate::writer::import::file::{self, Layout};

    fn inputs(n: usize) -> Vec<Input> {
        (0..n)
            .map(|i| {
                let mut properties = Properties::new();
                properties.insert(Arc::from("firstname"), format!("P{i}").into());
                Input {
                    key: Key::Value(format!("p{i}@x.com")),
                    properties,
                    origins: Vec::new(),
                    deleted: false,
                    ledger_id: None,
                }
            })
            .collect()
    }

    fn layout() -> Layout {
        Layout {
            type_id: "0-1".into(),
            key: RowKey::Unique("email".into()),
            operation: "UPSERT",
        }
    }

    fn status(state: &str, counters: Value) -> ImportStatus {
        serde_json::from_value(
            json!({"id": "9", "state": state, "metadata": {"counters": counters}}),
        )
        .unwrap()
    }

    fn error(kind: &str, line: u64, row: &[&str], column: Option<usize>) -> ImportError {
        serde_json::from_value(json!({
            "errorType": kind, "errorMessage": format!("{kind} message"), "invalidValue": row.first(),
            "knownColumnNumber": column,
            "sourceData": {"lineNumber": line, "rowData": row},
        }))
        .unwrap()
    }

    fn codes(outcomes: &[Outcome]) -> Vec<String> {
        outcomes
            .iter()
            .map(|o| match o {
                Outcome::Rejected(r) => {
                    format!("{}/{}", r.category, r.code.as_deref().unwrap_or(""))
                }
                other => format!("{other:?}"),
            })
            .collect()
    }

    fn judge(state: &str, counters: Value, errors: &[ImportError]) -> Vec<String> {
        let inputs = inputs(4);
        let (files, _) = file::build(&inputs, &layout(), "t", 100, 1 << 20);
        codes(&verdicts(
            "9",
            &status(state, counters),
            errors,
            &files[0],
            &inputs,
            &layout(),
        ))
    }

    #[test]
    fn an_error_rejects_the_row_on_its_line_and_the_others_are_imported() {
        let errors = [error("INVALID_EMAIL", 3, &["p1@x.com", "P1"], Some(0))];
        assert_eq!(
            judge("DONE", json!({"TOTAL_ROWS": 4}), &errors),
            [
                "Imported",
                "IMPORT_ERROR/INVALID_EMAIL",
                "Imported",
                "Imported"
            ]
        );
    }

    #[test]
    fn when_the_line_and_the_echoed_key_disagree_the_key_decides() {
        // Counted by physical lines, a line break in a cell would shift the numbers.
        let errors = [error(
            "INVALID_ENUMERATION_OPTION",
            3,
            &["p2@x.com", "P2"],
            Some(1),
        )];
        assert_eq!(
            judge("DONE", json!({}), &errors),
            [
                "Imported",
                "Imported",
                "IMPORT_ERROR/INVALID_ENUMERATION_OPTION",
                "Imported"
            ]
        );
    }

    #[test]
    fn an_error_no_row_can_be_matched_to_leaves_every_other_row_unacknowledged() {
        let errors = [
            error("INVALID_EMAIL", 2, &["p0@x.com", "P0"], Some(0)),
            error("UNKNOWN_ERROR", 77, &["nobody@x.com"], None),
        ];
        assert_eq!(
            judge("DONE", json!({}), &errors),
            [
                "IMPORT_ERROR/INVALID_EMAIL",
                "NOT_ACKNOWLEDGED/",
                "NOT_ACKNOWLEDGED/",
                "NOT_ACKNOWLEDGED/"
            ]
        );
    }

    #[test]
    fn rows_hubspot_did_not_count_are_never_assumed_written() {
        assert_eq!(
            judge("DONE", json!({"TOTAL_ROWS": 3}), &[]),
            ["NOT_ACKNOWLEDGED/"; 4]
        );
    }

    #[test]
    fn a_failed_import_rejects_every_row_with_the_whole_files_reason() {
        let errors = [error("UNKNOWN_ERROR", 0, &[], None)];
        assert_eq!(
            judge("FAILED", json!({}), &errors),
            ["IMPORT_ERROR/IMPORT_FAILED"; 4]
        );
    }

    #[test]
    fn create_only_rows_whose_key_exists_are_skipped_and_update_only_rows_without_one_not_found() {
        let errors = [
            error("CREATE_ONLY_IMPORT", 2, &["p0@x.com"], None),
            error("UPDATE_ONLY_IMPORT", 4, &["p2@x.com"], None),
        ];
        assert_eq!(
            judge("DONE", json!({"TOTAL_ROWS": 4}), &errors),
            [
                "Skipped",
                "Imported",
                "NOT_FOUND/UPDATE_ONLY_IMPORT",
                "Imported"
            ]
        );
    }
}

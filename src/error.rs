//! Fatal errors: the run stops, no further STATE is acknowledged past what is settled.

use crate::config::ConfigError;
use crate::singer::InputError;

/// Why a run cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum FatalError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A line is not a valid Singer message.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The sync ledger cannot be used.
    #[error(transparent)]
    Ledger(crate::ledger::error::LedgerError),
    /// `on_removed` would remove more than `max_removed_rate` of a scope's keys.
    #[error(
        "{object_type} ({scope}): this run did not read {removed} of the {total} keys the ledger holds ({share:.0}%), more than max_removed_rate {max} allows, so nothing was archived or cleared. If the export really lost those rows, raise max_removed_rate for one run; if it is incomplete, fix the export"
    )]
    RemovalRefused {
        /// Object type.
        object_type: String,
        /// How the keys are matched.
        scope: String,
        /// Keys that would be removed.
        removed: u64,
        /// Keys in the ledger.
        total: u64,
        /// `removed / total` in percent.
        share: f64,
        /// The limit.
        max: f64,
    },
    /// A RECORD came before any SCHEMA of its stream.
    #[error("{line}: RECORD for stream '{stream}' came before its SCHEMA")]
    RecordBeforeSchema {
        /// Where it was read.
        line: crate::model::Line,
        /// Stream name.
        stream: String,
    },
    /// A stream names no HubSpot object type and has no `streams` entry.
    #[error(
        "{line}: stream '{stream}' maps to no HubSpot object type; add it to \"streams\" in the config, e.g. {{\"{stream}\": {{\"object_type\": \"contacts\", \"id_property\": \"email\"}}}}"
    )]
    UnmappedStream {
        /// Where its SCHEMA was read.
        line: crate::model::Line,
        /// Stream name.
        stream: String,
    },
    /// A stream cannot be written as configured.
    #[error("stream '{stream}': {problem}")]
    Stream {
        /// Stream name.
        stream: String,
        /// What is wrong, naming the object type and property.
        problem: crate::model::StreamProblem,
    },
    /// HubSpot refused the credentials.
    #[error("HubSpot refused the credentials{}: {message}", on_type(.object_type))]
    Unauthorized {
        /// The object type being written, when known.
        object_type: Option<String>,
        /// HubSpot's message.
        message: String,
    },
    /// The token lacks scopes.
    #[error("HubSpot denied access{} (403): {message}{}", on_type(.object_type), scopes(.missing_scopes))]
    Forbidden {
        /// The object type being written, when known.
        object_type: Option<String>,
        /// Scopes HubSpot says are required.
        missing_scopes: Vec<String>,
        /// HubSpot's message.
        message: String,
    },
    /// The account's daily request limit is spent.
    #[error(
        "HubSpot's daily API limit is reached ({message}); stopped sending. Rerun after the limit resets (midnight in the account's time zone)"
    )]
    DailyLimit {
        /// HubSpot's message.
        message: String,
    },
    /// Refreshing the OAuth token failed.
    #[error("OAuth token refresh failed: {0}")]
    OAuth(String),
    /// A request needed before loading (properties) failed for good.
    #[error("{0}")]
    Request(String),
    /// More records were rejected than `max_reject_rate` allows.
    #[error(
        "{rejected} of {outcomes} records with an outcome were rejected ({:.0}%, more than max_reject_rate {max}); most common: {top}. Stopped; the rejected records are in {path}",
        *rejected as f64 * 100.0 / *outcomes as f64
    )]
    RejectRate {
        /// Rejected records so far.
        rejected: u64,
        /// Records with an outcome so far.
        outcomes: u64,
        /// The configured share.
        max: f64,
        /// The three most common reasons with counts.
        top: String,
        /// The rejected-records file.
        path: String,
    },
    /// A signal stopped the run while this request waited: its records stay unacknowledged.
    #[error("interrupted by a signal before the request was sent")]
    Interrupted,
    /// The input could not be read on: what was read before it is still loaded.
    #[error("cannot read input: {0}")]
    InputRead(String),
    /// Writing the rejected file, STATE or a dry run's requests failed.
    #[error("{0}")]
    Io(String),
}

impl FatalError {
    /// Whether the error ends only the reading of the input (a bad line, a stream without a
    /// SCHEMA or a mapping, an unreadable input): the records read before it are still sent,
    /// settled and acknowledged.
    pub fn ends_input_only(&self) -> bool {
        matches!(
            self,
            Self::Input(_)
                | Self::RecordBeforeSchema { .. }
                | Self::UnmappedStream { .. }
                | Self::InputRead(_)
        )
    }
}

fn on_type(t: &Option<String>) -> String {
    t.as_ref()
        .map(|t| format!(" for object type '{t}'"))
        .unwrap_or_default()
}

fn scopes(s: &[String]) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!("; required scopes: {}", s.join(", "))
    }
}

impl From<crate::ledger::error::LedgerError> for FatalError {
    /// A wait for the ledger that a signal ended is an interruption, not a ledger failure.
    fn from(e: crate::ledger::error::LedgerError) -> Self {
        match e {
            crate::ledger::error::LedgerError::Interrupted => Self::Interrupted,
            e => Self::Ledger(e),
        }
    }
}

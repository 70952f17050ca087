//! What happened to each record: the vocabulary the writer, the associations code and the
//! output share, so that none of them imports another.

use crate::error::FatalError;
use crate::model::rejection::Rejection;
use crate::pipeline::batch::Origin;

/// What happened to one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// HubSpot created the record.
    Created,
    /// HubSpot updated an existing record.
    Updated,
    /// An import wrote the record (HubSpot's imports do not say whether it created or
    /// updated it).
    Imported,
    /// Not written on purpose: `create_only` found a record with its key, or a deletion
    /// found nothing to archive. Settled, not in the rejected file.
    Skipped,
    /// A deletion (`hard_delete`) archived the matching HubSpot record.
    Archived,
    /// The ledger holds the same values for its key: not sent.
    Unchanged,
    /// The record is in the rejected file for this reason.
    Rejected(Rejection),
}

/// One record with its outcome.
#[derive(Debug)]
pub struct Settled {
    /// The record.
    pub origin: Origin,
    /// What happened to it.
    pub outcome: Outcome,
    /// Whether it was merged into another record's input (same key in one batch).
    pub merged: bool,
    /// HubSpot's id of the record it was written to.
    pub record_id: Option<String>,
}

/// The outcome of a whole batch.
#[derive(Debug)]
pub struct BatchResult {
    /// Stream index.
    pub stream: usize,
    /// Keys the batch held (to release ordering locks).
    pub keys: Vec<String>,
    /// Records with an outcome.
    pub settled: Vec<Settled>,
    /// Set when the run must stop; records not in `settled` have no outcome.
    pub fatal: Option<FatalError>,
}

//! Settlement: the one place a record's outcome is recorded. [`Settlement`] owns everything an
//! outcome touches (the STATE tracker, the rejected file, stdout, the reject-rate guard, the
//! accounting of records held), so no other part of the run can record one; a batch's answer
//! reaches the ledger before any of its outcomes is recorded, so no STATE covers a record the
//! ledger does not know about yet.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::sync::Arc;

use serde_json::value::RawValue;

use crate::error::FatalError;
use crate::hubspot::wire::PropertyInfo;
use crate::ledger::{Ledger, Sent};
use crate::mapping::closest_property;
use crate::model::Line;
use crate::model::rejection::Rejection;
use crate::output::rejected::{RejectedSink, StreamSchema};
use crate::output::report::StreamStats;
use crate::pipeline::outcome::Settled;
use crate::pipeline::reject_rate::RejectGuard;
use crate::pipeline::state::StateTracker;
use crate::writer::{BatchResult, Outcome};

/// What settling a record touches of its stream: its counters, the SCHEMA the rejected file
/// repeats, and the object type whose unsettled records it leaves.
pub(super) struct StreamBooks<'a> {
    pub stats: &'a mut StreamStats,
    pub schema: StreamSchema<'a>,
    pub object_type: &'a str,
    /// The stream's ledger scope, if it consults the ledger.
    pub scope: Option<i64>,
}

/// The run's books: what was read, what is held, what is settled, and what may be
/// acknowledged.
pub(super) struct Settlement<W: Write> {
    tracker: StateTracker,
    sink: RejectedSink,
    stdout: W,
    guard: RejectGuard,
    max_reject_rate: f64,
    /// Whether STATE may still be written: never in a dry run, nor once the run has failed in
    /// a way that forbids it (too many rejections, a failure while reading).
    states: bool,
    /// Whether the input holds records of a rejected-records file (they carry `error`).
    replaying: bool,
    /// Bytes of the records read and not settled yet (their text as read).
    held_bytes: u64,
    /// Sequence numbers of records read but not settled, by object type (for associations).
    unsettled_by_type: HashMap<String, BTreeSet<u64>>,
    ledger: Option<Arc<Ledger>>,
}

impl<W: Write> Settlement<W> {
    /// Books that write rejections to `sink` and STATE to `stdout` (never, unless `live`).
    pub(super) fn new(
        sink: RejectedSink,
        stdout: W,
        max_reject_rate: f64,
        live: bool,
        ledger: Option<Arc<Ledger>>,
    ) -> Self {
        Self {
            tracker: StateTracker::default(),
            sink,
            stdout,
            guard: RejectGuard::new(max_reject_rate),
            max_reject_rate,
            states: live,
            replaying: false,
            held_bytes: 0,
            unsettled_by_type: HashMap::new(),
            ledger,
        }
    }

    /// A RECORD was read: its place in the input.
    pub(super) fn record_read(&mut self, stats: &mut StreamStats, replayed: bool) -> u64 {
        self.replaying |= replayed;
        stats.read += 1;
        self.tracker.record_read()
    }

    /// A STATE was read: it goes out once every record before it is settled.
    pub(super) fn state_read(&mut self, value: serde_json::Value) {
        self.tracker.state_read(value);
    }

    /// Record `seq` of `object_type`, `bytes` long as read, is held until it is settled.
    pub(super) fn hold(&mut self, seq: u64, object_type: &str, bytes: u64) {
        self.held_bytes += bytes;
        match self.unsettled_by_type.get_mut(object_type) {
            Some(seqs) => seqs.insert(seq),
            None => self
                .unsettled_by_type
                .entry(object_type.to_string())
                .or_default()
                .insert(seq),
        };
    }

    /// Bytes of the records held.
    pub(super) fn held_bytes(&self) -> u64 {
        self.held_bytes
    }

    /// The oldest record of `object_type` read and not settled.
    pub(super) fn oldest_unsettled(&self, object_type: &str) -> Option<u64> {
        self.unsettled_by_type
            .get(object_type)
            .and_then(|seqs| seqs.first().copied())
    }

    /// Whether a STATE waits for records to settle.
    pub(super) fn state_waiting(&self) -> bool {
        self.tracker.has_waiting()
    }

    /// Records read and not settled.
    pub(super) fn unsettled(&self) -> usize {
        self.tracker.unsettled()
    }

    /// No STATE is written from now on.
    pub(super) fn withhold_states(&mut self) {
        self.states = false;
    }

    /// Settles a batch's answer: the ledger learns what HubSpot acknowledged, then each
    /// record's outcome is recorded (a missing property's message names the closest one
    /// of `known`). The batch's own fatal error, else too many rejections, is returned once
    /// every outcome it has is recorded.
    pub(super) async fn batch(
        &mut self,
        mut books: StreamBooks<'_>,
        mut result: BatchResult,
        sent: &[Sent],
        known: Option<&[PropertyInfo]>,
    ) -> Result<(), FatalError> {
        if let (Some(ledger), Some(scope)) = (&self.ledger, books.scope) {
            ledger.dry_run_outcomes(sent, &mut result.settled);
            let changes = Ledger::changes(sent, &result.settled);
            ledger.commit(scope, &changes).await?;
        }
        let mut too_many_rejected = None;
        for mut settled in result.settled {
            if let Outcome::Rejected(rejection) = &mut settled.outcome {
                hint_closest(rejection, known);
            }
            match self.held(&mut books, &settled) {
                Err(e @ FatalError::RejectRate { .. }) => {
                    too_many_rejected.get_or_insert(e);
                }
                Err(e) => return Err(e),
                Ok(()) => {}
            }
        }
        match result.fatal.or(too_many_rejected) {
            Some(f) => Err(f),
            None => Ok(()),
        }
    }

    /// Settles a record that was held (read, then batched or judged by the ledger): its bytes
    /// and its place among the unsettled records of its object type are released, and its
    /// outcome recorded.
    pub(super) fn held(
        &mut self,
        books: &mut StreamBooks<'_>,
        settled: &Settled,
    ) -> Result<(), FatalError> {
        let origin = &settled.origin;
        self.held_bytes = self
            .held_bytes
            .saturating_sub(origin.raw.get().len() as u64);
        if let Some(seqs) = self.unsettled_by_type.get_mut(books.object_type) {
            seqs.remove(&origin.seq);
        }
        self.record(
            books,
            origin.seq,
            &origin.line,
            &origin.raw,
            &settled.outcome,
            settled.merged,
        )
    }

    /// Records the outcome of record `seq`, read at `line` as `raw`: the stream's counters,
    /// the rejected file, the STATE tracker, the reject-rate guard. Every outcome, decided
    /// before sending or from HubSpot's answer, goes through here once.
    /// `Err(FatalError::RejectRate)` once the run is mostly failing.
    pub(super) fn record(
        &mut self,
        books: &mut StreamBooks<'_>,
        seq: u64,
        line: &Line,
        raw: &RawValue,
        outcome: &Outcome,
        merged: bool,
    ) -> Result<(), FatalError> {
        books.stats.count(outcome, merged);
        let rejection = match outcome {
            Outcome::Rejected(r) => Some(r),
            _ => None,
        };
        if let Some(rejection) = rejection {
            self.sink
                .write(books.schema, raw, rejection, line)
                .map_err(|e| self.sink_error(&e))?;
            tracing::debug!(stream = %books.schema.stream, %line, category = %rejection.category, "record rejected");
        }
        self.tracker.settle(seq);
        self.count_outcome(seq, rejection)
    }

    /// Counts record `seq`'s outcome for `max_reject_rate`; once the settled prefix of the
    /// input is past the threshold the run stops and no further STATE is written.
    fn count_outcome(&mut self, seq: u64, rejection: Option<&Rejection>) -> Result<(), FatalError> {
        let Some(tripped) = self.guard.record(seq, rejection) else {
            return Ok(());
        };
        self.states = false;
        let top = tripped
            .top
            .iter()
            .map(|((category, code, property), n)| {
                let mut reason = category.clone();
                for part in [code, property].into_iter().flatten() {
                    reason.push('/');
                    reason.push_str(part);
                }
                format!("{reason} ×{n}")
            })
            .collect::<Vec<_>>()
            .join(", ");
        let replay = if self.replaying {
            ". The input is a rejected-records file (its records carry \"error\"): replaying it unedited rejects them again for the same reasons; fix the records or the configuration first, or set max_reject_rate to 1 for this replay"
        } else {
            ""
        };
        Err(FatalError::RejectRate {
            rejected: tripped.rejected,
            outcomes: tripped.outcomes,
            max: self.max_reject_rate,
            top: format!("{top}{replay}"),
            path: self.sink.written(),
        })
    }

    /// Writes the newest STATE whose records are all settled, once the rejected file holds
    /// every rejection before it on disk.
    pub(super) fn release_states(&mut self) -> Result<(), FatalError> {
        if !self.states {
            return Ok(());
        }
        if let Some(state) = self.tracker.releasable() {
            self.sink.sync().map_err(|e| self.sink_error(&e))?;
            let write = serde_json::to_vec(&state)
                .map_err(std::io::Error::from)
                .and_then(|mut line| {
                    line.push(b'\n');
                    self.stdout.write_all(&line)
                })
                .and_then(|()| self.stdout.flush());
            if let Err(e) = write {
                self.states = false;
                return Err(FatalError::Io(format!("cannot write STATE to stdout: {e}")));
            }
        }
        Ok(())
    }

    /// Closes the books: the dry run's reasons logged, the rejected file on disk.
    pub(super) fn finish(&mut self) -> Result<(), FatalError> {
        self.sink.log_dry_run();
        self.sink.sync().map_err(|e| self.sink_error(&e))
    }

    fn sink_error(&self, e: &std::io::Error) -> FatalError {
        FatalError::Io(format!("cannot write {}: {e}", self.sink.path().display()))
    }
}

/// Adds "did you mean" to a rejection for a property HubSpot does not have, naming the
/// closest of `known`.
fn hint_closest(rejection: &mut Rejection, known: Option<&[PropertyInfo]>) {
    if rejection.code.as_deref() == Some("PROPERTY_DOESNT_EXIST")
        && let (Some(property), Some(known)) = (&rejection.property, known)
        && let Some(hint) = closest_property(property, known.iter().map(|p| p.name.as_str()))
    {
        rejection
            .message
            .push_str(&format!("; did you mean '{hint}'?"));
    }
}

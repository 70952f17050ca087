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

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::model::rejection::Category;
    use crate::pipeline::batch::Origin;

    /// stdout that the test can read while the books hold it.
    #[derive(Clone, Default)]
    struct Stdout(Rc<RefCell<Vec<u8>>>);

    impl Write for Stdout {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Stdout {
        fn states(&self) -> Vec<u64> {
            String::from_utf8(self.0.borrow().clone())
                .unwrap()
                .lines()
                .map(|l| {
                    serde_json::from_str::<Value>(l).unwrap()["before"]
                        .as_u64()
                        .unwrap()
                })
                .collect()
        }
    }

    /// The `seq` of every rejected record in the file, as it is on disk now.
    fn rejected_on_disk(path: &std::path::Path) -> Vec<u64> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["type"] == "RECORD")
            .map(|v| v["record"]["seq"].as_u64().unwrap())
            .collect()
    }

    /// 0: created, 1: unchanged, 2 to 4: rejected (so the guard at 0.5 often trips).
    fn outcome(kind: u8) -> Outcome {
        match kind {
            0 => Outcome::Created,
            1 => Outcome::Unchanged,
            _ => Outcome::Rejected(Rejection::local(
                Category::InvalidRecord,
                "refused by the test",
                Some("email"),
            )),
        }
    }

    proptest! {
        /// Whatever order outcomes come in: every record read is counted once; a STATE goes
        /// out only once every record read before it is settled and every rejection before
        /// it is on disk; STATEs go out in input order, the last one once all is settled;
        /// none after the reject-rate guard trips; nothing stays held.
        #[test]
        fn every_record_settles_once_and_state_waits_for_all_before_it(
            input in proptest::collection::vec(proptest::option::of(0u8..5), 1..250),
            order in proptest::collection::vec(proptest::num::usize::ANY, 0..250),
            guarded in proptest::bool::ANY,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("rejected.jsonl");
            let stdout = Stdout::default();
            let max_reject_rate = if guarded { 0.5 } else { 1.0 };
            let mut books = Settlement::new(
                RejectedSink::new(&path, "test", &[]),
                stdout.clone(),
                max_reject_rate,
                true,
                None,
            );
            let mut stats = StreamStats::default();
            let schema = json!({"properties": {"seq": {"type": "integer"}}});
            let keys = vec!["seq".to_string()];
            // Records read (seq, outcome kind); `None` in the input is a STATE whose value
            // says how many records came before it.
            let mut pending = Vec::new();
            let mut last_state = None;
            for item in &input {
                match item {
                    Some(kind) => {
                        let seq = books.record_read(&mut stats, false);
                        let raw = serde_json::value::to_raw_value(&json!({"seq": seq})).unwrap();
                        books.hold(seq, "contacts", raw.get().len() as u64);
                        pending.push((seq, *kind, raw));
                    }
                    None => {
                        let before = pending.len() as u64;
                        books.state_read(json!({"before": before}));
                        last_state = Some(before);
                    }
                }
            }
            let read = pending.len();
            let mut settled = std::collections::BTreeSet::new();
            let mut tripped = false;
            let mut k = 0;
            while !pending.is_empty() {
                let i = order.get(k).copied().unwrap_or(0) % pending.len();
                k += 1;
                let (seq, kind, raw) = pending.swap_remove(i);
                let mut b = StreamBooks {
                    stats: &mut stats,
                    schema: StreamSchema { stream: "contacts", schema: &schema, key_properties: &keys },
                    object_type: "contacts",
                    scope: None,
                };
                let done = Settled {
                    origin: Origin { seq, line: Line::new(seq + 1), raw, properties: None, links: Vec::new() },
                    outcome: outcome(kind),
                    merged: false,
                    record_id: None,
                };
                match books.held(&mut b, &done) {
                    Err(FatalError::RejectRate { .. }) => {
                        prop_assert!(guarded && !tripped, "tripped twice or unguarded");
                        tripped = true;
                    }
                    Err(e) => prop_assert!(false, "{e}"),
                    Ok(()) => {}
                }
                settled.insert(seq);
                let states_before = stdout.states().len();
                books.release_states().unwrap();
                let states = stdout.states();
                if tripped {
                    prop_assert_eq!(states.len(), states_before, "a STATE after the guard tripped");
                }
                if let Some(&newest) = states.last().filter(|_| states.len() > states_before) {
                    prop_assert!((0..newest).all(|s| settled.contains(&s)));
                    let on_disk = rejected_on_disk(&path);
                    let rejected_before = input.iter().flatten().take(newest as usize)
                        .filter(|k| **k >= 2).count();
                    prop_assert_eq!(
                        on_disk.iter().filter(|s| **s < newest).count(),
                        rejected_before,
                        "a STATE went out before the rejections it covers were on disk"
                    );
                }
                prop_assert!(states.windows(2).all(|w| w[0] <= w[1]));
            }
            // The loop releases at every turn, with nothing new settled too.
            books.release_states().unwrap();
            books.finish().unwrap();
            let kinds: Vec<u8> = input.iter().flatten().copied().collect();
            let rejected: Vec<u64> = (0..read as u64).filter(|s| kinds[*s as usize] >= 2).collect();
            let mut on_disk = rejected_on_disk(&path);
            on_disk.sort_unstable();
            prop_assert_eq!(on_disk, rejected.clone(), "each rejected record once in the file");
            prop_assert_eq!(stats.read, read as u64);
            prop_assert_eq!(stats.created + stats.unchanged + stats.rejected_total(), read as u64);
            prop_assert_eq!(stats.rejected_total(), rejected.len() as u64);
            prop_assert_eq!(books.held_bytes(), 0);
            prop_assert_eq!(books.oldest_unsettled("contacts"), None);
            prop_assert_eq!(books.unsettled(), 0);
            if !tripped {
                prop_assert_eq!(stdout.states().last().copied(), last_state);
            }
        }
    }
}

//! Settlement: the one place a record's outcome is recorded (ledger → counters → rejected
//! file → STATE tracker → reject-rate guard), and STATE released once all before it is settled.

use super::*;
use crate::pipeline::outcome::Settled;

impl<W: Write> Runner<W> {
    pub(super) async fn settle(&mut self, done: Done) -> Result<(), FatalError> {
        let Done { mut result, sent } = done;
        if self.streams[result.stream].mapping.load_method == LoadMethod::Import {
            self.imports_running = self.imports_running.saturating_sub(1);
        }
        // The ledger learns what HubSpot acknowledged before any of it is settled, so no STATE
        // covers a record the ledger does not know about yet.
        let scope = self.streams[result.stream].scope.as_ref().map(|s| s.id);
        if let (Some(ledger), Some(scope)) = (&self.ledger, scope) {
            ledger.dry_run_outcomes(&sent, &mut result.settled);
            let changes = Ledger::changes(&sent, &result.settled);
            ledger.commit(scope, &changes).await?;
        }
        let object_type = self.streams[result.stream].mapping.object_type.clone();
        for key in &result.keys {
            self.inflight_keys.remove(&object_type, key);
        }
        let mut too_many_rejected = None;
        for mut settled in result.settled {
            let known = self.properties.get(&object_type);
            if let Outcome::Rejected(rejection) = &mut settled.outcome
                && rejection.code.as_deref() == Some("PROPERTY_DOESNT_EXIST")
                && let (Some(property), Some(known)) = (&rejection.property, known)
                && let Some(hint) =
                    closest_property(property, known.iter().map(|p| p.name.as_str()))
            {
                rejection
                    .message
                    .push_str(&format!("; did you mean '{hint}'?"));
            }
            match self.settle_record(result.stream, &object_type, &settled) {
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
    pub(super) fn settle_record(
        &mut self,
        idx: usize,
        object_type: &str,
        settled: &Settled,
    ) -> Result<(), FatalError> {
        let origin = &settled.origin;
        self.held_bytes = self
            .held_bytes
            .saturating_sub(origin.raw.get().len() as u64);
        if let Some(seqs) = self.unsettled_by_type.get_mut(object_type) {
            seqs.remove(&origin.seq);
        }
        self.record_outcome(
            idx,
            origin.seq,
            &origin.line,
            &origin.raw,
            &settled.outcome,
            settled.merged,
        )
    }

    /// Records the outcome of record `seq` of stream `idx`, read at `line` as `raw`: the
    /// stream's counters, the rejected file, the STATE tracker, the reject-rate guard. Every
    /// outcome, decided before sending or from HubSpot's answer, goes through here once.
    /// `Err(FatalError::RejectRate)` once the run is mostly failing.
    pub(super) fn record_outcome(
        &mut self,
        idx: usize,
        seq: u64,
        line: &Line,
        raw: &serde_json::value::RawValue,
        outcome: &Outcome,
        merged: bool,
    ) -> Result<(), FatalError> {
        let s = &mut self.streams[idx];
        s.stats.count(outcome, merged);
        let rejection = match outcome {
            Outcome::Rejected(r) => Some(r),
            _ => None,
        };
        if let Some(rejection) = rejection {
            self.sink
                .write(s.rejected_schema(), raw, rejection, line)
                .map_err(|e| {
                    FatalError::Io(format!("cannot write {}: {e}", self.sink.path().display()))
                })?;
            tracing::debug!(stream = %s.name, %line, category = %rejection.category, "record rejected");
        }
        self.tracker.settle(seq);
        self.count_outcome(seq, rejection)
    }

    /// Counts record `seq`'s outcome for `max_reject_rate`; once the settled prefix of the
    /// input is past the threshold the run stops and no further STATE is written.
    fn count_outcome(&mut self, seq: u64, rejection: Option<&Rejection>) -> Result<(), FatalError> {
        let Some(tripped) = self.reject_guard.record(seq, rejection) else {
            return Ok(());
        };
        if self.halted {
            return Ok(());
        }
        self.emit_states = false;
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
            max: self.config.max_reject_rate,
            top: format!("{top}{replay}"),
            path: self.sink.written(),
        })
    }

    pub(super) fn release_states(&mut self) -> Result<(), FatalError> {
        if !self.emit_states {
            return Ok(());
        }
        if let Some(state) = self.tracker.releasable() {
            self.sink.sync().map_err(|e| {
                FatalError::Io(format!("cannot write {}: {e}", self.sink.path().display()))
            })?;
            let write = serde_json::to_vec(&state)
                .map_err(std::io::Error::from)
                .and_then(|mut line| {
                    line.push(b'\n');
                    self.stdout.write_all(&line)
                })
                .and_then(|()| self.stdout.flush());
            write.map_err(|e| FatalError::Io(format!("cannot write STATE to stdout: {e}")))?;
        }
        Ok(())
    }
}

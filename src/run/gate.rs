//! The ledger gate: what the run knows of the sync ledger. A stream's records with a scope
//! are judged a chunk at a time (unchanged ones settle without a request); the keys read are
//! noted for `on_removed`; a key sent once is never judged unchanged again in the run.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::FatalError;
use crate::ledger::{Ledger, SeenKeys, Verdicts};
use crate::pipeline::batch::Input;

/// Where a stream's keys live in the ledger.
#[derive(Debug, Clone)]
pub(super) struct Scope {
    /// The store's number for it.
    pub id: i64,
    /// `object type/how keys are matched`, for messages.
    pub name: String,
}

/// The sync ledger, if the run has one, and the keys the run has read and sent per scope.
pub(super) struct Gate {
    ledger: Option<Arc<Ledger>>,
    /// Keys read, per scope whose stream mirrors removals.
    seen: HashMap<i64, SeenKeys>,
    /// Keys sent this run, per scope.
    sent: HashMap<i64, SeenKeys>,
}

impl Gate {
    pub(super) fn new(ledger: Option<Arc<Ledger>>) -> Self {
        Self {
            ledger,
            seen: HashMap::new(),
            sent: HashMap::new(),
        }
    }

    /// The ledger, if the run has one.
    pub(super) fn ledger(&self) -> Option<&Arc<Ledger>> {
        self.ledger.as_ref()
    }

    /// The scope named `name`, opened in the ledger; `None` without a ledger.
    pub(super) async fn scope(&self, name: Option<String>) -> Result<Option<Scope>, FatalError> {
        match (&self.ledger, name) {
            (Some(ledger), Some(name)) => Ok(Some(Scope {
                id: ledger.scope(&name).await?,
                name,
            })),
            _ => Ok(None),
        }
    }

    /// The keys read in `scope` are noted from now on (its stream mirrors removals).
    pub(super) fn mirror(&mut self, scope: i64) {
        self.seen.entry(scope).or_default();
    }

    /// Whether the keys read in `scope` are noted.
    pub(super) fn mirrors(&self, scope: i64) -> bool {
        self.seen.contains_key(&scope)
    }

    /// Notes `key` as read in `scope`, if its keys are noted.
    pub(super) fn saw(&mut self, scope: i64, key: &str) {
        if let Some(seen) = self.seen.get_mut(&scope) {
            seen.insert(key);
        }
    }

    /// The keys read in `scope`, if they are noted.
    pub(super) fn seen(&self, scope: i64) -> Option<&SeenKeys> {
        self.seen.get(&scope)
    }

    /// Judges `inputs` of `scope` in one lookup: those the ledger holds with the same values
    /// are settled, the rest are to be sent. Without a ledger, everything is sent.
    pub(super) async fn judge(
        &mut self,
        scope: i64,
        inputs: Vec<Input>,
        skip_known: bool,
    ) -> Result<Verdicts, FatalError> {
        let Some(ledger) = &self.ledger else {
            return Ok(Verdicts {
                settled: Vec::new(),
                send: inputs,
            });
        };
        let sent = self.sent.entry(scope).or_default();
        let verdicts = ledger.check(scope, inputs, skip_known, sent).await?;
        for input in &verdicts.send {
            sent.insert(&input.key);
        }
        Ok(verdicts)
    }
}

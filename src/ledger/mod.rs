//! The sync ledger (`ledger` setting): what HubSpot acknowledged last time, per key, so a run
//! sends only new and changed records, keeps `create_only` streams without a unique key
//! idempotent, and can mirror rows that left the source (`on_removed`).
//!
//! One small interface, [`Store`], over two stores: an embedded SQLite file (`sqlite`) and
//! a table in Postgres (`postgres`). `run` consults the ledger after mapping (a stream's
//! records judged 1,000 keys at a time, on the loop, before they are batched) and writes it at
//! settlement, in one transaction per batch, before any STATE that covers those records. Nothing else knows
//! which store is used.
//!
//! An entry is keyed by scope (portal, object type, and how the stream finds its records) and
//! normalised key, and holds HubSpot's record id, a hash of the mapped properties (and
//! associations) HubSpot acknowledged, and the run that wrote it.

pub mod error;
mod postgres;
mod sqlite;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use xxhash_rust::xxh3::{Xxh3, xxh3_64};

use crate::mapping::Properties;
use crate::pipeline::batch::{Batch, Input, Origin};
use crate::pipeline::outcome::{Outcome, Settled};
use crate::shutdown::Shutdown;

/// Version of the stored layout; a newer one is refused, an older one migrated.
const SCHEMA_VERSION: i64 = 1;

pub use error::LedgerError;

/// What the ledger holds for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// HubSpot's record id; `None` for a record an import wrote (imports do not report ids).
    pub id: Option<i64>,
    /// Hash of the properties and associations HubSpot acknowledged.
    pub hash: Fingerprint,
}

/// A 128-bit hash of what one input writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 16]);

impl Fingerprint {
    /// A fingerprint as a store holds it (16 bytes; anything else never matches a record's).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut h = [0u8; 16];
        let n = bytes.len().min(16);
        h[..n].copy_from_slice(&bytes[..n]);
        Self(h)
    }

    /// The hash of an input's mapped properties and the associations its records ask for.
    pub fn of(properties: &Properties, origins: &[Origin]) -> Self {
        let mut h = Xxh3::new();
        // Version byte: a change of what is hashed makes every entry "changed" once.
        h.update(&[1]);
        for (name, value) in properties {
            h.update(name.as_bytes());
            h.update(&[0]);
            h.update(value.as_bytes());
            h.update(&[1]);
        }
        let mut links: Vec<&(usize, String)> = origins.iter().flat_map(|o| &o.links).collect();
        links.sort();
        links.dedup();
        for (association, key) in links {
            h.update(&[2]);
            h.update(&association.to_le_bytes());
            h.update(key.as_bytes());
        }
        Self(h.digest128().to_le_bytes())
    }
}

/// One change to the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// HubSpot holds `entry` for `key`.
    Put {
        /// Normalised key.
        key: String,
        /// Id and hash.
        entry: Entry,
    },
    /// Forget `key` (archived, removed, gone from HubSpot).
    Drop {
        /// Normalised key.
        key: String,
    },
}

/// A store for the ledger: an embedded file or a database table.
pub trait Store: Send + Sync {
    /// Takes the store's lock (held until the store is dropped), creates or migrates its
    /// tables, and registers a run; returns the run's number.
    fn begin(&self) -> impl Future<Output = Result<i64, LedgerError>> + Send;
    /// The number of a scope, created on first use.
    fn scope(
        &self,
        portal: &str,
        name: &str,
    ) -> impl Future<Output = Result<i64, LedgerError>> + Send;
    /// The entries of `keys` in `scope` that exist.
    fn lookup(
        &self,
        scope: i64,
        keys: &[&str],
    ) -> impl Future<Output = Result<HashMap<String, Entry>, LedgerError>> + Send;
    /// Applies `changes` to `scope` in one transaction, as written by `run`.
    fn commit(
        &self,
        scope: i64,
        run: i64,
        changes: &[Change],
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;
    /// Keys in `scope`.
    fn count(&self, scope: i64) -> impl Future<Output = Result<u64, LedgerError>> + Send;
    /// Every `(key, record id)` of `scope` for which `keep` is true (the id `None` where an
    /// import wrote the record).
    fn select(
        &self,
        scope: i64,
        keep: &(dyn Fn(&str) -> bool + Sync),
    ) -> impl Future<Output = Result<Vec<(String, Option<i64>)>, LedgerError>> + Send;
    /// Marks run `run` finished.
    fn finish(&self, run: i64) -> impl Future<Output = Result<(), LedgerError>> + Send;
}

/// The stores there are.
enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// How often a wait for a networked store is reported while it lasts.
const STILL_WAITING_EVERY: Duration = Duration::from_secs(15);

/// The bound on a networked store's operations, for the whole run: each operation (connecting,
/// a lookup, a commit, reading a scope's keys) gets `timeout` (`ledger_timeout_s`), the first one that passes it fails every later one at once (so a frozen
/// server stops the run within the bound, not one bound per pending operation), and every
/// wait ends when the shutdown abandons work on the wire.
#[derive(Debug, Default)]
struct Bound {
    timeout: Duration,
    shutdown: Shutdown,
    /// Why the store is given up on, once it is.
    failed: std::sync::Mutex<Option<String>>,
}

impl Bound {
    async fn call<T>(
        &self,
        store: impl FnOnce() -> String,
        call: impl Future<Output = Result<T, LedgerError>>,
    ) -> Result<T, LedgerError> {
        if let Some(message) = self.failed.lock().ok().and_then(|f| f.clone()) {
            return Err(LedgerError::Store {
                store: store(),
                message,
            });
        }
        tokio::pin!(call);
        let deadline = tokio::time::sleep(self.timeout);
        tokio::pin!(deadline);
        let started = tokio::time::Instant::now();
        let mut still =
            tokio::time::interval_at(started + STILL_WAITING_EVERY, STILL_WAITING_EVERY);
        loop {
            tokio::select! {
                biased;
                result = &mut call => return result,
                () = self.shutdown.abandoned() => return Err(LedgerError::Interrupted),
                () = &mut deadline => {
                    let message = format!("no answer within {} s", self.timeout.as_secs());
                    if let Ok(mut failed) = self.failed.lock() {
                        failed.get_or_insert_with(|| {
                            format!("{message} to an earlier operation; the store is given up on")
                        });
                    }
                    return Err(LedgerError::Store { store: store(), message });
                }
                _ = still.tick() => tracing::warn!(
                    "still waiting for the ledger's answer after {} s (given up at {} s)",
                    started.elapsed().as_secs(),
                    self.timeout.as_secs()
                ),
            }
        }
    }
}

macro_rules! on_store {
    ($self:expr, $s:ident => $call:expr) => {
        match &$self.backend {
            Backend::Sqlite($s) => $call.await,
            Backend::Postgres($s) => $self.bound.call(|| $s.describe(), $call).await,
        }
    };
}

/// An open ledger for one run.
pub struct Ledger {
    backend: Backend,
    /// The bound on a networked store's operations.
    bound: Bound,
    /// The portal its entries belong to.
    portal: String,
    /// This run's number.
    run: i64,
    /// `--full-resync`: every record is sent; the ledger is refreshed, not consulted.
    full_resync: bool,
    /// `--dry-run`: consulted, never written.
    read_only: bool,
}

/// How [`Ledger::check`] decided about a chunk of inputs.
pub struct Verdicts {
    /// Records settled without a request: `UNCHANGED`, or `SKIPPED` for a `create_only` key
    /// already created.
    pub settled: Vec<Settled>,
    /// Inputs to send, each with the id the ledger knows for its key (if any).
    pub send: Vec<Input>,
}

/// An input that was sent, to be written to the ledger once its outcome is known.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Normalised key.
    pub key: String,
    /// Hash of what was sent.
    pub hash: Fingerprint,
    /// Sequence numbers of its records.
    pub seqs: Vec<u64>,
    /// Whether it was a deletion.
    pub deleted: bool,
    /// Whether the ledger knew its key (an earlier run wrote it).
    pub known: bool,
}

impl Ledger {
    /// Opens the ledger `location` (a file path or a `postgres://` URL) for `portal`,
    /// takes its lock and registers a run. `read_only` (dry run) neither locks nor writes.
    pub async fn open(
        location: &str,
        portal: String,
        full_resync: bool,
        read_only: bool,
        (timeout, shutdown): (Duration, Shutdown),
    ) -> Result<Self, LedgerError> {
        let bound = Bound {
            timeout,
            shutdown,
            failed: Default::default(),
        };
        let backend = if location.starts_with("postgres://")
            || location.starts_with("postgresql://")
            || postgres::is_key_value(location)
        {
            let connect = postgres::Postgres::connect(location, read_only);
            Backend::Postgres(
                bound
                    .call(|| postgres::without_password(location), connect)
                    .await?,
            )
        } else {
            Backend::Sqlite(sqlite::Sqlite::open(location.as_ref(), read_only)?)
        };
        let mut ledger = Self {
            backend,
            bound,
            portal,
            run: 0,
            full_resync,
            read_only,
        };
        ledger.run = on_store!(ledger, s => s.begin())?;
        Ok(ledger)
    }

    /// Where the ledger is, for messages (never a password).
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Sqlite(s) => s.describe(),
            Backend::Postgres(s) => s.describe(),
        }
    }

    /// The number of `name`'s scope in this portal.
    pub async fn scope(&self, name: &str) -> Result<i64, LedgerError> {
        on_store!(self, s => s.scope(&self.portal, name))
    }

    /// Judges a chunk of inputs (read in order, merged by key) against the ledger in one
    /// lookup: an input whose hash equals its entry's is `UNCHANGED`, unless `sent_before`
    /// says this run already sent its key (a later value may not lose to an earlier one);
    /// with `skip_known` (a `create_only` stream without a unique key), an input whose key has
    /// an entry was created before and is `SKIPPED`. Deletions are always sent.
    pub async fn check(
        &self,
        scope: i64,
        inputs: Vec<Input>,
        skip_known: bool,
        sent_before: &SeenKeys,
    ) -> Result<Verdicts, LedgerError> {
        let keys: Vec<&str> = inputs
            .iter()
            .filter(|i| i.key.is_keyed())
            .map(|i| i.key.as_str())
            .collect();
        let known = on_store!(self, s => s.lookup(scope, &keys))?;
        let mut send = Vec::with_capacity(inputs.len());
        let mut settled = Vec::new();
        for mut input in inputs {
            let Some(entry) = known.get(input.key.as_str()) else {
                send.push(input);
                continue;
            };
            input.ledger_id = entry.id;
            let verdict = if input.deleted || sent_before.contains(&input.key) {
                None
            } else if !self.full_resync
                && entry.hash == Fingerprint::of(&input.properties, &input.origins)
            {
                Some(Outcome::Unchanged)
            } else if skip_known {
                Some(Outcome::Skipped)
            } else {
                None
            };
            match verdict {
                Some(outcome) => settle_all(&mut settled, input, outcome, entry.id),
                None => send.push(input),
            }
        }
        Ok(Verdicts { settled, send })
    }

    /// What the ledger must remember of a batch about to be sent: each keyed input's key,
    /// hash and records, and `(key, record id)` of those whose key it knows (a stream that
    /// finds records by search can update them by id without searching).
    pub fn sent(batch: &Batch) -> (Vec<Sent>, Vec<(String, String)>) {
        let mut sent = Vec::with_capacity(batch.inputs.len());
        let mut known_ids = Vec::new();
        for input in batch.inputs.iter().filter(|i| i.key.is_keyed()) {
            if let Some(id) = input.ledger_id {
                known_ids.push((input.key.to_string(), id.to_string()));
            }
            sent.push(Sent {
                key: input.key.to_string(),
                hash: Fingerprint::of(&input.properties, &input.origins),
                seqs: input.origins.iter().map(|o| o.seq).collect(),
                deleted: input.deleted,
                known: input.ledger_id.is_some(),
            });
        }
        (sent, known_ids)
    }

    /// The ledger changes HubSpot's answers call for: an input whose records were all
    /// created or updated, in one record, is put with its hash (and one an import wrote, with
    /// its id when the key is one, else without); one archived, or a deletion
    /// that found nothing, or one whose record id HubSpot no longer knows, is dropped. Any
    /// other outcome (a rejection, a partly failed merged input) leaves the entry as it was,
    /// so the next run sends the record again.
    pub fn changes(sent: &[Sent], settled: &[Settled]) -> Vec<Change> {
        let by_seq: HashMap<u64, &Settled> = settled.iter().map(|s| (s.origin.seq, s)).collect();
        let mut changes = Vec::new();
        for input in sent {
            let outcomes: Option<Vec<&Settled>> =
                input.seqs.iter().map(|q| by_seq.get(q).copied()).collect();
            let Some(outcomes) = outcomes else {
                continue; // not all settled (a fatal error): nothing is known
            };
            let written = outcomes
                .iter()
                .all(|s| matches!(s.outcome, Outcome::Created | Outcome::Updated));
            let ids: HashSet<Option<&str>> =
                outcomes.iter().map(|s| s.record_id.as_deref()).collect();
            let gone = outcomes.iter().any(|s| match &s.outcome {
                Outcome::Archived => true,
                Outcome::Skipped => input.deleted,
                Outcome::Rejected(r) => r.is_object_not_found(),
                _ => false,
            });
            let imported = outcomes.iter().all(|s| s.outcome == Outcome::Imported);
            if (written || imported)
                && let [Some(id)] = ids.into_iter().collect::<Vec<_>>().as_slice()
                && let Ok(id) = id.parse::<i64>()
            {
                changes.push(Change::Put {
                    key: input.key.to_string(),
                    entry: Entry {
                        id: Some(id),
                        hash: input.hash,
                    },
                });
            } else if imported {
                // Written by an import, which reports no ids: the key and values are known.
                changes.push(Change::Put {
                    key: input.key.to_string(),
                    entry: Entry {
                        id: None,
                        hash: input.hash,
                    },
                });
            } else if gone {
                changes.push(Change::Drop {
                    key: input.key.to_string(),
                });
            }
        }
        changes
    }

    /// In a dry run, where every write is answered "created": records whose key the ledger
    /// knows would be updated, so they are counted so.
    pub fn dry_run_outcomes(&self, sent: &[Sent], settled: &mut [Settled]) {
        if !self.read_only {
            return;
        }
        let known: HashSet<u64> = sent
            .iter()
            .filter(|s| s.known)
            .flat_map(|s| s.seqs.iter().copied())
            .collect();
        for s in settled {
            if s.outcome == Outcome::Created && known.contains(&s.origin.seq) {
                s.outcome = Outcome::Updated;
            }
        }
    }

    /// Writes `changes` to `scope` (nothing in a dry run).
    pub async fn commit(&self, scope: i64, changes: &[Change]) -> Result<(), LedgerError> {
        if self.read_only || changes.is_empty() {
            return Ok(());
        }
        on_store!(self, s => s.commit(scope, self.run, changes))
    }

    /// Keys in `scope`.
    pub async fn count(&self, scope: i64) -> Result<u64, LedgerError> {
        on_store!(self, s => s.count(scope))
    }

    /// `(key, record id)` of every key of `scope` not in `seen` (the id `None` where an import
    /// wrote the record).
    pub async fn unseen(
        &self,
        scope: i64,
        seen: &SeenKeys,
    ) -> Result<Vec<(String, Option<i64>)>, LedgerError> {
        on_store!(self, s => s.select(scope, &|k| !seen.contains(k)))
    }

    /// Marks this run finished (nothing in a dry run).
    pub async fn finish(&self) -> Result<(), LedgerError> {
        if self.read_only {
            return Ok(());
        }
        on_store!(self, s => s.finish(self.run))
    }

    /// Whether the ledger is only read (dry run).
    pub fn read_only(&self) -> bool {
        self.read_only
    }
}

fn settle_all(settled: &mut Vec<Settled>, input: Input, outcome: Outcome, id: Option<i64>) {
    let id = id.map(|id| id.to_string());
    for (i, origin) in input.origins.into_iter().enumerate() {
        settled.push(Settled {
            origin,
            outcome: outcome.clone(),
            merged: i > 0,
            record_id: id.clone(),
        });
    }
}

/// The `record_id` column's value for `id`: HubSpot's ids start at 1, so 0 stands for "not
/// known" (a record an import wrote).
pub(crate) fn id_column(id: Option<i64>) -> i64 {
    id.unwrap_or(0)
}

/// The record id a `record_id` column holds.
pub(crate) fn id_of_column(column: i64) -> Option<i64> {
    (column > 0).then_some(column)
}

/// The keys a run read, per scope, as 64-bit hashes (8 bytes a key): what `on_removed`
/// compares the ledger against. A collision can only keep a removed key, never remove a
/// present one.
#[derive(Debug, Default)]
pub struct SeenKeys(HashSet<u64>);

impl SeenKeys {
    /// Notes `key` as read.
    pub fn insert(&mut self, key: &str) {
        self.0.insert(xxh3_64(key.as_bytes()));
    }

    /// Whether `key` was read.
    pub fn contains(&self, key: &str) -> bool {
        self.0.contains(&xxh3_64(key.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Properties {
        pairs
            .iter()
            .map(|(k, v)| (std::sync::Arc::from(*k), (*v).into()))
            .collect()
    }

    #[test]
    fn the_fingerprint_changes_with_any_value_name_or_association() {
        let base = Fingerprint::of(&props(&[("a", "1"), ("b", "2")]), &[]);
        assert_eq!(
            base,
            Fingerprint::of(&props(&[("b", "2"), ("a", "1")]), &[])
        );
        assert_ne!(
            base,
            Fingerprint::of(&props(&[("a", "1"), ("b", "3")]), &[])
        );
        assert_ne!(
            base,
            Fingerprint::of(&props(&[("a", "1"), ("c", "2")]), &[])
        );
        // Separators: "a"="12" is not "a1"="2".
        assert_ne!(
            Fingerprint::of(&props(&[("a", "12")]), &[]),
            Fingerprint::of(&props(&[("a1", "2")]), &[])
        );
        assert_ne!(
            base,
            Fingerprint::of(&props(&[("a", "1"), ("b", "2"), ("c", "")]), &[])
        );
    }

    #[test]
    fn seen_keys_remember_what_was_inserted() {
        let mut seen = SeenKeys::default();
        seen.insert("a@x.co");
        assert!(seen.contains("a@x.co"));
        assert!(!seen.contains("b@x.co"));
    }
}

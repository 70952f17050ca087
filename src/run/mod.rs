//! The main loop: read lines, batch records, keep requests in flight, settle outcomes and
//! release STATE.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinSet;

use crate::config::{Config, LoadMethod, OnRemoved, UnknownFields};
use crate::error::FatalError;
use crate::hubspot::Client;
use crate::hubspot::schemas::ObjectTypes;
use crate::hubspot::wire::PropertyCreate;
use crate::input::{Lines, Parsed};
use crate::ledger::{Ledger, SeenKeys, Sent};
use crate::mapping::fields::{CREATED_GROUP, NewProperty};
use crate::mapping::published::{Premapped, Published};
use crate::mapping::{Mapped, Matching, StreamMapping, closest_property};
use crate::model::Line;
use crate::model::rejection::Rejection;
use crate::output::progress::{self, Progress, Snapshot};
use crate::output::rejected::{RejectedSink, StreamSchema};
use crate::output::report::{StreamStats, Summary};
use crate::pipeline::batch::Batch;
use crate::pipeline::inflight::InflightKeys;
use crate::pipeline::reject_rate::RejectGuard;
use crate::pipeline::state::StateTracker;
use crate::shutdown::Shutdown;
use crate::singer::Message;
use crate::writer::import::write_import;
use crate::writer::lookup::Lookups;
use crate::writer::{BatchResult, Outcome, Strategy, Target, removal, write_batch};

mod dispatch;
mod record;
mod removals;
mod settle;
mod streams;

/// After a signal, how long requests already on the wire may finish.
const SHUTDOWN_GRACE: Duration = crate::shutdown::GRACE;

/// Bytes of records read and not yet settled past which no more input is read (open batches
/// are sent at once instead): memory follows bytes, not only record counts.
const MAX_HELD_BYTES: u64 = 64 << 20;

/// Keys judged by the ledger in one lookup.
const LEDGER_CHUNK: usize = 1_000;

/// Imports the run has in flight at once: HubSpot processes three at a time and defers the
/// rest, so more would only wait there.
const MAX_IMPORTS: usize = 3;

/// Inputs per batch of a stream: `batch_size` for batch writes, a whole file's rows for
/// imports.
fn batch_size(config: &Config, mapping: &StreamMapping) -> usize {
    match mapping.load_method {
        LoadMethod::Batch => config.batch_size,
        LoadMethod::Import => config.imports.max_rows,
    }
}

/// With a STATE waiting, open batches are sent once the input has been quiet this long.
const STATE_FLUSH_DELAY: Duration = Duration::from_millis(50);

/// Whether a ready batch may be sent.
enum Readiness {
    /// Send it.
    Go,
    /// Something it depends on is still in flight or queued ahead.
    Wait,
    /// Records of this object type that it associates with sit in open batches: send those first.
    NeedsFlush(String),
}

/// How a run ended.
#[derive(Debug)]
pub struct RunEnd {
    /// Counters.
    pub summary: Summary,
    /// The error that stopped the run early.
    pub fatal: Option<FatalError>,
    /// Whether a signal stopped the run.
    pub interrupted: bool,
}

struct StreamState {
    name: String,
    schema: Value,
    key_properties: Vec<String>,
    mapping: Arc<StreamMapping>,
    /// The generation its mapping was published with (see [`Published`]).
    generation: u64,
    open: Option<Batch>,
    stats: StreamStats,
    /// Whether unknown fields were already warned about (once per stream).
    unknown_warned: bool,
    /// Whether read-only fields were already warned about (once per stream).
    read_only_warned: bool,
    /// Whether records marked deleted were reported as written (no `hard_delete`).
    deleted_warned: bool,
    /// The stream's ledger scope, when the run has a ledger and the stream's records have keys.
    scope: Option<Scope>,
    /// Records waiting to be judged by the ledger (a chunk of [`LEDGER_CHUNK`] keys at most).
    pending: Option<Batch>,
    /// Properties the stream's records mapped (for `on_removed: clear`).
    mapped_names: BTreeSet<Arc<str>>,
}

/// Where a stream's keys live in the ledger.
#[derive(Debug, Clone)]
struct Scope {
    /// The store's number for it.
    id: i64,
    /// `object type/how keys are matched`, for messages.
    name: String,
}

/// A batch task's answer: the writer's outcomes, and what the ledger should learn from them.
struct Done {
    result: BatchResult,
    /// Inputs sent, for the ledger (empty when the stream does not consult one).
    sent: Vec<Sent>,
}

impl StreamState {
    /// Its batches not yet handed to the writer: records waiting for the ledger, and the
    /// open batch.
    fn batches(&self) -> impl Iterator<Item = &Batch> {
        self.pending.iter().chain(self.open.iter())
    }

    /// The stream's SCHEMA as the rejected file repeats it.
    fn rejected_schema(&self) -> StreamSchema<'_> {
        StreamSchema {
            stream: &self.name,
            schema: &self.schema,
            key_properties: &self.key_properties,
        }
    }
}

struct Runner<W: Write> {
    config: Config,
    client: Arc<Client>,
    streams: Vec<StreamState>,
    by_name: HashMap<String, usize>,
    properties: crate::setup::PropertyCache,
    tracker: StateTracker,
    sink: RejectedSink,
    ready: VecDeque<Batch>,
    inflight: JoinSet<Done>,
    /// `(object type, key)` of every record in flight: two streams writing the same object
    /// type share the ordering guarantee.
    inflight_keys: InflightKeys,
    /// Sequence numbers of records read but not settled, by object type (for associations).
    unsettled_by_type: HashMap<String, BTreeSet<u64>>,
    last_line_at: Instant,
    warned: HashSet<String>,
    stdout: W,
    halted: bool,
    emit_states: bool,
    reject_guard: RejectGuard,
    /// Whether the input holds records of a rejected-records file (they carry `error`).
    replaying: bool,
    /// Object type names resolved so far (custom objects read once).
    object_types: ObjectTypes,
    /// Key → id lookups every batch shares: the ids this run holds (search lags).
    lookups: Arc<Lookups>,
    /// The sync ledger, if the run has one.
    ledger: Option<Arc<Ledger>>,
    /// Keys read, per ledger scope whose stream mirrors removals.
    seen: HashMap<i64, SeenKeys>,
    /// Keys sent this run, per ledger scope: never judged unchanged again in the run.
    sent_this_run: HashMap<i64, SeenKeys>,
    /// Where stream mappings are published for the input thread.
    published: Arc<Published>,
    /// Bytes of the records read and not settled yet (their text as read).
    held_bytes: u64,
    /// Streams that may have records in open or pending batches: the loop looks at these
    /// only, so 100,000 configured streams cost nothing per message.
    open_streams: BTreeSet<usize>,
    /// Import batches in flight (`load_method: import`).
    imports_running: usize,
}

/// Where a run's results go.
pub struct Outputs<W: Write> {
    /// The rejected-records file.
    pub sink: RejectedSink,
    /// Where STATE is written.
    pub stdout: W,
    /// Progress on stderr.
    pub progress: Progress,
}

/// Runs the target over `lines`, writing STATE to `outputs.stdout`, until the input ends, a
/// fatal error occurs, or `shutdown` resolves. With a `ledger`, records HubSpot already holds
/// are not sent, and the ledger learns what HubSpot acknowledges.
pub async fn run<W: Write>(
    config: Config,
    client: Arc<Client>,
    mut lines: Lines,
    outputs: Outputs<W>,
    ledger: Option<Arc<Ledger>>,
    shutdown: Shutdown,
) -> RunEnd {
    let Outputs {
        sink,
        stdout,
        mut progress,
    } = outputs;
    let started = Instant::now();
    let started_at = time::OffsetDateTime::now_utc();
    // A dry run writes no STATE: nothing it read was loaded.
    let client_is_live = client.dry_run.is_none();
    let max_reject_rate = config.max_reject_rate;
    let lookups = Arc::new(Lookups {
        ids: Default::default(),
        catch_up: config.search_lag,
    });
    // Records of one stream may be linked to by a stream whose SCHEMA comes later: the keys
    // the configuration may search are remembered from the first write.
    for stream in config.streams.values() {
        if let Some(p) = &stream.match_property {
            lookups.ids.want(&stream.object_type, p);
        }
        for a in &stream.associations {
            if a.to_id_property != "hs_object_id" {
                lookups.ids.want(&a.to_object_type, &a.to_id_property);
            }
        }
    }
    let mut r = Runner {
        config,
        client,
        streams: Vec::new(),
        by_name: HashMap::new(),
        properties: crate::setup::PropertyCache::new(),
        tracker: StateTracker::default(),
        sink,
        ready: VecDeque::new(),
        inflight: JoinSet::new(),
        inflight_keys: InflightKeys::default(),
        unsettled_by_type: HashMap::new(),
        last_line_at: Instant::now(),
        warned: HashSet::new(),
        stdout,
        halted: false,
        emit_states: client_is_live,
        reject_guard: RejectGuard::new(max_reject_rate),
        replaying: false,
        object_types: ObjectTypes::default(),
        lookups,
        ledger,
        seen: HashMap::new(),
        sent_this_run: HashMap::new(),
        published: lines.published(),
        held_bytes: 0,
        open_streams: BTreeSet::new(),
        imports_running: 0,
    };
    let mut input_done = false;
    let mut fatal: Option<FatalError> = None;
    let mut interrupted = false;
    let mut grace_deadline: Option<Instant> = None;
    let stopped = shutdown.stopped();
    tokio::pin!(stopped);
    let mut ticks = tokio::time::interval_at((started + progress::TICK).into(), progress::TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if let Err(e) = r.dispatch().await {
            fatal.get_or_insert(e);
            r.halt(&mut input_done);
        }
        if let Err(e) = r.release_states() {
            fatal.get_or_insert(e);
            r.emit_states = false;
            r.halt(&mut input_done);
        }
        if input_done
            && r.ready.is_empty()
            && r.inflight.is_empty()
            && (r.halted || r.no_open_batches())
        {
            break;
        }
        if input_done && !r.halted {
            if let Err(e) = r.send_open().await {
                fatal.get_or_insert(e);
                r.halt(&mut input_done);
            }
            if r.ready.is_empty() && r.inflight.is_empty() {
                // Everything was settled here (by the ledger): nothing is left to wait for.
                continue;
            }
        }
        // Past the byte bound, input waits and what is open goes out now, so the records held
        // settle and make room.
        let full = r.held_bytes >= MAX_HELD_BYTES;
        if full
            && !r.halted
            && !r.no_open_batches()
            && let Err(e) = r.send_open().await
        {
            fatal.get_or_insert(e);
            r.halt(&mut input_done);
        }
        // Batches waiting for a key in flight do not stop the input: others keep filling and
        // going out past them, up to a few queued ahead.
        let can_read = !input_done && r.ready.len() < r.batch_tasks() && !full;
        // Partial batches are only sent early when they would go out at once: while requests
        // are queued for the rate limit, waiting costs nothing and keeps batches full.
        let has_room = r.inflight.len() < r.batch_tasks();
        let deadline = if can_read && has_room {
            r.next_deadline()
        } else {
            None
        };
        tokio::select! {
            biased;
            () = &mut stopped, if !interrupted => {
                tracing::warn!("interrupted: no more input is read; requests on the wire get {} s, waiting ones are dropped (their records stay unacknowledged)", SHUTDOWN_GRACE.as_secs());
                interrupted = true;
                input_done = true;
                r.client.cancel();
                // Nothing more is sent: open and ready batches stay unacknowledged.
                r.halt(&mut input_done);
                grace_deadline = Some(Instant::now() + SHUTDOWN_GRACE);
            }
            _ = sleep_until(grace_deadline), if grace_deadline.is_some() && !r.inflight.is_empty() => {
                tracing::warn!("requests still on the wire after {} s are abandoned; their records stay unacknowledged", SHUTDOWN_GRACE.as_secs());
                r.inflight.abort_all();
                grace_deadline = None;
            }
            Some(joined) = r.inflight.join_next() => match joined {
                Ok(done) => match r.settle(done).await {
                    Err(FatalError::Interrupted) => {}
                    Err(e) => {
                        fatal.get_or_insert(e);
                        r.halt(&mut input_done);
                    }
                    Ok(()) => {}
                },
                Err(e) if e.is_cancelled() && interrupted => {}
                Err(e) => {
                    fatal.get_or_insert(FatalError::Request(format!("a batch task failed: {e}")));
                    r.halt(&mut input_done);
                }
            },
            chunk = lines.recv(), if can_read => match chunk {
                Some(Ok(chunk)) => {
                    r.last_line_at = Instant::now();
                    for Parsed { line, message, premapped } in chunk {
                        let handled = match message {
                            Ok(Some(message)) => r.handle_message(line, message, premapped).await,
                            Ok(None) => Ok(()),
                            Err(e) => Err(e.into()),
                        };
                        if let Err(FatalError::Interrupted) = handled {
                            // A wait the signal ended (a SCHEMA's reads, a property's
                            // creation): the run ends as interrupted.
                            r.halt(&mut input_done);
                            break;
                        }
                        if let Err(e) = handled {
                            let bad_input = matches!(
                                e,
                                FatalError::Input(_)
                                    | FatalError::RecordBeforeSchema { .. }
                                    | FatalError::UnmappedStream { .. }
                            );
                            fatal.get_or_insert(e);
                            if bad_input {
                                // The records before the bad line are still sent and settled,
                                // and the last STATE they complete is written.
                                input_done = true;
                            } else {
                                r.emit_states = false;
                                r.halt(&mut input_done);
                            }
                            break;
                        }
                    }
                }
                None => input_done = true,
                Some(Err(e)) => {
                    // As for a bad line: what was read before is still sent and settled.
                    fatal.get_or_insert(FatalError::Io(format!("cannot read input: {e}")));
                    input_done = true;
                }
            },
            _ = sleep_until(deadline), if deadline.is_some() => {
                if let Err(e) = r.flush_due().await {
                    fatal.get_or_insert(e);
                    r.halt(&mut input_done);
                }
            }
            () = r.client.retry_started(), if !r.ready.is_empty() => {}
            _ = ticks.tick() => {
                let snapshot = r.snapshot();
                progress.tick(&snapshot, || r.client.counters.take_timings());
            }
        }
    }
    // A signal that ended a wait before the loop saw it still makes this an interrupted run.
    if shutdown.is_stopped() || matches!(fatal, Some(FatalError::Interrupted)) {
        interrupted = true;
        if matches!(fatal, Some(FatalError::Interrupted)) {
            fatal = None;
        }
    }
    if fatal.is_none()
        && !interrupted
        && !r.halted
        && let Err(e) = r.remove_unseen().await
    {
        fatal = Some(e);
    }
    if let Some(ledger) = &r.ledger
        && fatal.is_none()
        && let Err(e) = ledger.finish().await
    {
        fatal = Some(e.into());
    }
    if matches!(fatal, Some(FatalError::Interrupted)) {
        // Removals or the ledger's last write that a signal ended.
        fatal = None;
        interrupted = true;
    }
    r.sink.log_dry_run();
    if let Err(e) = r.sink.sync() {
        fatal.get_or_insert(FatalError::Io(format!(
            "cannot write {}: {e}",
            r.sink.path().display()
        )));
    }
    progress.finish(&r.snapshot(), r.client.counters.take_timings());
    let counters = &r.client.counters;
    let summary = Summary {
        streams: r
            .streams
            .iter()
            .map(|s| (s.name.clone(), s.stats.clone()))
            .collect(),
        requests: counters.requests.load(Ordering::Relaxed),
        retries: counters.retries.load(Ordering::Relaxed),
        rate_limited: counters.rate_limited.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        started_at: Some(started_at),
    };
    RunEnd {
        summary,
        fatal,
        interrupted,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(d) = deadline {
        tokio::time::sleep_until(d.into()).await;
    }
}

impl<W: Write> Runner<W> {
    fn halt(&mut self, input_done: &mut bool) {
        self.halted = true;
        *input_done = true;
        self.ready.clear();
    }

    /// Batches handed to the client at once: one per slot on the wire, and one more for each
    /// request sleeping before a retry (it holds no slot), up to twice the slots. So batches
    /// go out in order while all is well, and a retry never holds up the others.
    fn batch_tasks(&self) -> usize {
        let slots = self.config.max_concurrency;
        slots + self.client.waiting_to_retry().min(slots)
    }

    fn no_open_batches(&self) -> bool {
        self.open_streams
            .iter()
            .all(|&i| self.streams[i].batches().all(Batch::is_empty))
    }

    /// The counts progress reports show.
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            read: self.streams.iter().map(|s| s.stats.read).sum(),
            loaded: self.streams.iter().map(|s| s.stats.loaded()).sum(),
            rejected: self.streams.iter().map(|s| s.stats.rejected_total()).sum(),
            waiting: self.tracker.unsettled() as u64,
            rate_wait: self.client.counters.rate_wait.total(),
            read_by_stream: self
                .streams
                .iter()
                .map(|s| (s.name.clone(), s.stats.read))
                .collect(),
        }
    }

    fn warn_once(&mut self, key: &str, message: &str) {
        if self.warned.insert(key.to_string()) {
            tracing::warn!("{message}");
        }
    }
}

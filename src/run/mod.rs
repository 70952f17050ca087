//! One run: the select loop and its `Phase` (here), and its parts, each owning its state:
//! a message's way in (`record`), the stream registry (`streams`), the ledger gate (`gate`),
//! the ordering barrier (`queue`), batch tasks (`dispatch`), the books every outcome goes
//! through and STATE comes out of (`settle`), and `on_removed` at the end (`removals`).

use std::collections::{BTreeSet, HashMap, HashSet};
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
use crate::ledger::{Ledger, Sent};
use crate::mapping::fields::{CREATED_GROUP, NewProperty};
use crate::mapping::published::{Premapped, Published};
use crate::mapping::{Mapped, Matching, StreamMapping};
use crate::model::Line;
use crate::model::rejection::Rejection;
use crate::output::progress::{self, Progress, Snapshot};
use crate::output::rejected::{RejectedSink, StreamSchema};
use crate::output::report::{StreamStats, Summary};
use crate::pipeline::batch::Batch;
use crate::shutdown::Shutdown;
use crate::singer::Message;
use crate::writer::import::write_import;
use crate::writer::lookup::Lookups;
use crate::writer::{BatchResult, Outcome, Strategy, Target, removal, write_batch};
use gate::{Gate, Scope};
use queue::Queue;
use settle::{Settlement, StreamBooks};

mod dispatch;
mod gate;
mod queue;
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

/// Where a run is. Each phase allows less than the one before it, and a run only moves
/// forward: the loop ends once its phase has nothing left to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Input is read, batches are sent, STATE is released.
    Reading,
    /// The input ended (at its end, a bad line, a read error): what was read is still sent,
    /// settled and acknowledged.
    Draining,
    /// A fatal error: nothing more is sent; answers already on the wire are settled.
    Halted,
    /// A signal: nothing more is sent; requests on the wire may finish until `grace`, then
    /// are abandoned (`None` once they are, or when no wait is left).
    Interrupted { grace: Option<Instant> },
}

impl Phase {
    fn rank(self) -> u8 {
        match self {
            Phase::Reading => 0,
            Phase::Draining => 1,
            Phase::Halted => 2,
            Phase::Interrupted { .. } => 3,
        }
    }

    fn reads(self) -> bool {
        self == Phase::Reading
    }

    fn sends(self) -> bool {
        matches!(self, Phase::Reading | Phase::Draining)
    }

    fn interrupted(self) -> bool {
        matches!(self, Phase::Interrupted { .. })
    }

    fn grace(self) -> Option<Instant> {
        match self {
            Phase::Interrupted { grace } => grace,
            _ => None,
        }
    }

    /// Where a run in this phase goes when `to` is asked for: `to` if it is further on, else
    /// nowhere.
    fn then(self, to: Phase) -> Phase {
        if to.rank() > self.rank() { to } else { self }
    }

    /// What an error ends: a bad line, a stream without a SCHEMA or a mapping, or an
    /// unreadable input ends the reading only (what was read before is still sent, settled
    /// and acknowledged); anything else, a wait a signal ended included, halts the sending.
    fn after(e: &FatalError) -> Phase {
        if e.ends_input_only() {
            Phase::Draining
        } else {
            Phase::Halted
        }
    }
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

    /// What settling one of its records touches.
    fn books(&mut self) -> StreamBooks<'_> {
        StreamBooks {
            stats: &mut self.stats,
            schema: StreamSchema {
                stream: &self.name,
                schema: &self.schema,
                key_properties: &self.key_properties,
            },
            object_type: &self.mapping.object_type,
            scope: self.scope.as_ref().map(|s| s.id),
        }
    }
}

struct Runner<W: Write> {
    config: Config,
    client: Arc<Client>,
    streams: Vec<StreamState>,
    by_name: HashMap<String, usize>,
    properties: crate::setup::PropertyCache,
    /// The only place outcomes are recorded and STATE released.
    books: Settlement<W>,
    /// Batches ready to go and the keys on the wire: two streams writing the same object
    /// type share the ordering guarantee.
    queue: Queue,
    inflight: JoinSet<Done>,
    last_line_at: Instant,
    warned: HashSet<String>,
    /// Where the run is: only [`Runner::enter`] moves it on, and only forward (the grace
    /// timer alone clears an interrupted run's grace).
    phase: Phase,
    /// The error that ends the run as failed (the first one).
    fatal: Option<FatalError>,
    /// Object type names resolved so far (custom objects read once).
    object_types: ObjectTypes,
    /// Key → id lookups every batch shares: the ids this run holds (search lags).
    lookups: Arc<Lookups>,
    /// The sync ledger and what the run has read and sent per scope.
    gate: Gate,
    /// Where stream mappings are published for the input thread.
    published: Arc<Published>,
    /// Streams that may have records in open or pending batches: the loop looks at these
    /// only, so 100,000 configured streams cost nothing per message.
    open_streams: BTreeSet<usize>,
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
    let live = client.dry_run.is_none();
    let books = Settlement::new(sink, stdout, config.max_reject_rate, live, ledger.clone());
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
        books,
        queue: Queue::default(),
        inflight: JoinSet::new(),
        last_line_at: Instant::now(),
        warned: HashSet::new(),
        phase: Phase::Reading,
        fatal: None,
        object_types: ObjectTypes::default(),
        lookups,
        gate: Gate::new(ledger),
        published: lines.published(),
        open_streams: BTreeSet::new(),
    };
    let stopped = shutdown.stopped();
    tokio::pin!(stopped);
    let mut ticks = tokio::time::interval_at((started + progress::TICK).into(), progress::TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if let Err(e) = r.dispatch().await {
            r.fail(e);
        }
        if let Err(e) = r.books.release_states() {
            r.fail(e);
        }
        if !r.phase.reads()
            && r.queue.is_empty()
            && r.inflight.is_empty()
            && (!r.phase.sends() || r.no_open_batches())
        {
            break;
        }
        if r.phase == Phase::Draining {
            if let Err(e) = r.send_open().await {
                r.fail(e);
            }
            if r.queue.is_empty() && r.inflight.is_empty() {
                // Everything was settled here (by the ledger): nothing is left to wait for.
                continue;
            }
        }
        // Past the byte bound, input waits and what is open goes out now, so the records held
        // settle and make room.
        let full = r.books.held_bytes() >= MAX_HELD_BYTES;
        if full
            && r.phase.sends()
            && !r.no_open_batches()
            && let Err(e) = r.send_open().await
        {
            r.fail(e);
        }
        // Batches waiting for a key in flight do not stop the input: others keep filling and
        // going out past them, up to a few queued ahead.
        let can_read = r.phase.reads() && r.queue.len() < r.batch_tasks() && !full;
        // Partial batches are only sent early when they would go out at once: while requests
        // are queued for the rate limit, waiting costs nothing and keeps batches full.
        let has_room = r.inflight.len() < r.batch_tasks();
        let deadline = if can_read && has_room {
            r.next_deadline()
        } else {
            None
        };
        let grace = r.phase.grace();
        tokio::select! {
            biased;
            () = &mut stopped, if !r.phase.interrupted() => {
                tracing::warn!("interrupted: no more input is read; requests on the wire get {} s, waiting ones are dropped (their records stay unacknowledged)", SHUTDOWN_GRACE.as_secs());
                r.client.cancel();
                // Nothing more is sent: open and ready batches stay unacknowledged.
                r.enter(Phase::Interrupted { grace: Some(Instant::now() + SHUTDOWN_GRACE) });
            }
            _ = sleep_until(grace), if grace.is_some() && !r.inflight.is_empty() => {
                tracing::warn!("requests still on the wire after {} s are abandoned; their records stay unacknowledged", SHUTDOWN_GRACE.as_secs());
                r.inflight.abort_all();
                r.phase = Phase::Interrupted { grace: None };
            }
            Some(joined) = r.inflight.join_next() => match joined {
                Ok(done) => {
                    if let Err(e) = r.settle(done).await {
                        r.fail(e);
                    }
                }
                Err(e) if e.is_cancelled() && r.phase.interrupted() => {}
                Err(e) => r.fail(FatalError::Request(format!("a batch task failed: {e}"))),
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
                        if let Err(e) = handled {
                            if !e.ends_input_only() && !matches!(e, FatalError::Interrupted) {
                                // What the input asked for could not be done: no STATE
                                // after it may claim the records read are loaded.
                                r.books.withhold_states();
                            }
                            r.fail(e);
                            break;
                        }
                    }
                }
                None => r.enter(Phase::Draining),
                // As for a bad line: what was read before is still sent and settled.
                Some(Err(e)) => r.fail(FatalError::InputRead(e.to_string())),
            },
            _ = sleep_until(deadline), if deadline.is_some() => {
                if let Err(e) = r.flush_due().await {
                    r.fail(e);
                }
            }
            () = r.client.retry_started(), if !r.queue.is_empty() => {}
            _ = ticks.tick() => {
                let snapshot = r.snapshot();
                progress.tick(&snapshot, || r.client.counters.take_timings());
            }
        }
    }
    // A signal that ended a wait before the loop saw it still makes this an interrupted run.
    if shutdown.is_stopped() {
        r.enter(Phase::Interrupted { grace: None });
    }
    if r.phase.sends()
        && r.fatal.is_none()
        && let Err(e) = r.remove_unseen().await
    {
        r.fail(e);
    }
    if let Some(ledger) = r.gate.ledger()
        && r.fatal.is_none()
        && let Err(e) = ledger.finish().await
    {
        r.fail(e.into());
    }
    if shutdown.is_stopped() {
        // Removals or the ledger's last write that a signal ended.
        r.enter(Phase::Interrupted { grace: None });
    }
    if let Err(e) = r.books.finish() {
        r.fatal.get_or_insert(e);
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
        interrupted: r.phase.interrupted(),
        fatal: r.fatal,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(d) = deadline {
        tokio::time::sleep_until(d.into()).await;
    }
}

impl<W: Write> Runner<W> {
    /// Moves the run on to `to`, never back: past reading, nothing more is read; past
    /// draining, the batches not yet on the wire are dropped (their records stay
    /// unacknowledged).
    fn enter(&mut self, to: Phase) {
        let next = self.phase.then(to);
        if next == self.phase {
            return;
        }
        self.phase = next;
        if !next.sends() {
            self.queue.clear();
        }
    }

    /// Takes a fatal error (the first one is the run's) and moves the run on to what it ends
    /// (see [`Phase::after`]). A wait that a signal ended is no failure: it halts, and the
    /// signal then interrupts.
    fn fail(&mut self, e: FatalError) {
        let next = Phase::after(&e);
        if !matches!(e, FatalError::Interrupted) {
            self.fatal.get_or_insert(e);
        }
        self.enter(next);
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
            waiting: self.books.unsettled() as u64,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_only_moves_forward_and_each_phase_allows_less_than_the_one_before() {
        let grace = Some(Instant::now());
        let order = [
            Phase::Reading,
            Phase::Draining,
            Phase::Halted,
            Phase::Interrupted { grace },
        ];
        for (i, from) in order.iter().enumerate() {
            for (j, to) in order.iter().enumerate() {
                let expected = if j > i { *to } else { *from };
                assert_eq!(from.then(*to), expected, "{from:?} then {to:?}");
            }
        }
        let allows: Vec<(bool, bool)> = order.iter().map(|p| (p.reads(), p.sends())).collect();
        assert_eq!(
            allows,
            [(true, true), (false, true), (false, false), (false, false)]
        );
        assert_eq!(
            Phase::Interrupted { grace }.then(Phase::Interrupted { grace: None }),
            Phase::Interrupted { grace },
            "only the grace timer ends the grace"
        );
    }

    #[test]
    fn a_bad_line_ends_the_reading_only_and_anything_else_halts_the_sending() {
        let line = Line::new(7);
        let draining = [
            FatalError::InputRead("gzip: invalid header".into()),
            FatalError::RecordBeforeSchema {
                line: line.clone(),
                stream: "users".into(),
            },
            FatalError::UnmappedStream {
                line,
                stream: "users".into(),
            },
        ];
        for e in &draining {
            assert_eq!(Phase::after(e), Phase::Draining, "{e}");
        }
        let halting = [
            FatalError::Interrupted,
            FatalError::Io("cannot write STATE to stdout: broken pipe".into()),
            FatalError::Request("a batch task failed".into()),
            FatalError::DailyLimit {
                message: "daily".into(),
            },
        ];
        for e in &halting {
            assert_eq!(Phase::after(e), Phase::Halted, "{e}");
        }
    }
}

//! The main loop: read lines, batch records, keep requests in flight, settle outcomes and
//! release STATE.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinSet;

use crate::config::{Config, OnRemoved, UnknownFields};
use crate::error::FatalError;
use crate::hubspot::Client;
use crate::hubspot::schemas::{self, ObjectTypes};
use crate::hubspot::wire::{PropertyCreate, PropertyInfo};
use crate::input::{Lines, Parsed};
use crate::ledger::{Ledger, SeenKeys, Sent};
use crate::mapping::fields::{CREATED_GROUP, NewProperty};
use crate::mapping::published::{Premapped, Published};
use crate::mapping::{Mapped, Matching, StreamMapping, check_association, closest_property};
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
use crate::writer::lookup::Lookups;
use crate::writer::{BatchResult, Outcome, Strategy, Target, removal, write_batch};

/// After a signal, how long requests already on the wire may finish.
const SHUTDOWN_GRACE: Duration = crate::shutdown::GRACE;

/// Bytes of records read and not yet settled past which no more input is read (open batches
/// are sent at once instead): memory follows bytes, not only record counts.
const MAX_HELD_BYTES: u64 = 64 << 20;

/// Keys judged by the ledger in one lookup.
const LEDGER_CHUNK: usize = 1_000;

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
    properties: HashMap<String, Vec<PropertyInfo>>,
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
        properties: HashMap::new(),
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

/// The ledger scope of a stream: its object type and how its keys are matched; `None` when
/// its records have no key the ledger can know them by.
fn scope_name(mapping: &StreamMapping, stream: &str, key_properties: &[String]) -> Option<String> {
    let t = &mapping.object_type;
    match &mapping.matching {
        Matching::IdProperty(p) | Matching::SearchProperty(p) => Some(format!("{t}/{p}")),
        Matching::IdField(_) => Some(format!("{t}/hs_object_id")),
        Matching::Nothing if key_properties.is_empty() => None,
        Matching::Nothing => Some(format!("{t}/stream:{stream}")),
    }
}

/// A keyless stream's record as the ledger knows it: its `key_properties` values, as JSON
/// text; `None` when one of them is missing or null.
fn source_key(record: &serde_json::value::RawValue, key_properties: &[String]) -> Option<String> {
    let fields: HashMap<&str, &serde_json::value::RawValue> =
        serde_json::from_str(record.get()).ok()?;
    let mut key = String::from("[");
    for (n, name) in key_properties.iter().enumerate() {
        let value = fields.get(name.as_str())?.get();
        if value == "null" {
            return None;
        }
        if n > 0 {
            key.push(',');
        }
        // Numbers and strings as the tap wrote them, whitespace outside them dropped.
        let value: Value = serde_json::from_str(value).ok()?;
        key.push_str(&value.to_string());
    }
    key.push(']');
    Some(key)
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

    async fn handle_message(
        &mut self,
        line: Line,
        message: Message<'_>,
        premapped: Option<Premapped>,
    ) -> Result<(), FatalError> {
        match message {
            Message::Schema {
                stream,
                schema,
                key_properties,
            } => self.schema(line, stream, schema, key_properties).await,
            Message::Record {
                stream,
                record,
                replayed,
            } => {
                self.replaying |= replayed;
                let Some(&idx) = self.by_name.get(stream.as_ref()) else {
                    return Err(FatalError::RecordBeforeSchema {
                        line,
                        stream: stream.into_owned(),
                    });
                };
                let seq = self.tracker.record_read();
                self.streams[idx].stats.read += 1;
                let s = &self.streams[idx];
                let mut mapped = match premapped {
                    // Mapped on the input thread with the mapping the stream still has.
                    Some(p) if p.generation == s.generation => p.result,
                    _ => s.mapping.map(&record),
                };
                if let Ok(m) = &mapped
                    && !m.unknown.is_empty()
                    && self.streams[idx].mapping.unknown_fields == UnknownFields::Create
                {
                    let fields = m.unknown.clone();
                    self.create_properties(idx, &fields).await?;
                    mapped = self.streams[idx].mapping.map(&record);
                }
                if let Ok(m) = &mapped {
                    self.note_fields(idx, m);
                }
                let s = &mut self.streams[idx];
                match mapped {
                    Err(rejection) => self.reject_read(idx, seq, &line, &record, rejection)?,
                    Ok(mut mapped) => {
                        if mapped.deleted && !s.mapping.hard_delete {
                            mapped.deleted = false;
                            if !s.deleted_warned {
                                s.deleted_warned = true;
                                tracing::warn!(
                                    "stream {}: records marked deleted ({}) are written like the others; set hard_delete: true on the stream to archive their HubSpot records instead",
                                    s.name,
                                    crate::mapping::DELETED_AT
                                );
                            }
                        }
                        if s.mapping.matching == Matching::Nothing {
                            mapped.key = match &s.scope {
                                // The ledger knows such records by the source's own key.
                                Some(_) => source_key(&record, &s.key_properties)
                                    .unwrap_or_else(|| format!("#{seq}")),
                                // No key: each record is its own input, never merged or held back.
                                None => format!("#{seq}"),
                            };
                        }
                        if let Some(scope) = &s.scope
                            && let Some(seen) = self.seen.get_mut(&scope.id)
                        {
                            seen.insert(&mapped.key);
                            if s.mapping.on_removed == OnRemoved::Clear {
                                for name in mapped.properties.keys() {
                                    if !s.mapped_names.contains(name) {
                                        s.mapped_names.insert(name.clone());
                                    }
                                }
                            }
                        }
                        match self.unsettled_by_type.get_mut(&s.mapping.object_type) {
                            Some(seqs) => seqs.insert(seq),
                            None => self
                                .unsettled_by_type
                                .entry(s.mapping.object_type.clone())
                                .or_default()
                                .insert(seq),
                        };
                        self.held_bytes += record.get().len() as u64;
                        self.open_streams.insert(idx);
                        if s.scope.is_some() && self.ledger.is_some() {
                            let pending = s.pending.get_or_insert_with(|| Batch::new(idx));
                            pending.push(mapped, seq, line, record);
                            if pending.len() >= LEDGER_CHUNK {
                                self.check_pending(idx).await?;
                            }
                            return Ok(());
                        }
                        let batch = s.open.get_or_insert_with(|| Batch::new(idx));
                        batch.push(mapped, seq, line, record);
                        if batch.len() >= self.config.batch_size
                            && let Some(full) = s.open.take()
                        {
                            self.ready.push_back(full);
                        }
                    }
                }
                Ok(())
            }
            Message::Unreadable {
                stream,
                raw,
                reason,
            } => {
                let Some(&idx) = self.by_name.get(&stream) else {
                    return Err(FatalError::RecordBeforeSchema { line, stream });
                };
                let seq = self.tracker.record_read();
                self.streams[idx].stats.read += 1;
                // The row as written, as a JSON string: replayed unedited it is refused again.
                let record = serde_json::value::to_raw_value(&raw)
                    .map_err(|e| FatalError::Io(format!("{line}: {e}")))?;
                let rejection = Rejection::local("INVALID_RECORD", reason, None);
                self.reject_read(idx, seq, &line, &record, rejection)
            }
            Message::State { value } => {
                self.tracker.state_read(value);
                Ok(())
            }
            Message::ActivateVersion { stream } => {
                self.warn_once("ACTIVATE_VERSION", &format!("line {line}: ACTIVATE_VERSION for stream '{stream}' ignored: HubSpot has no table versions"));
                Ok(())
            }
            Message::Other { kind } => {
                self.warn_once(
                    &kind,
                    &format!("line {line}: message type '{kind}' is not supported and is ignored"),
                );
                Ok(())
            }
        }
    }

    /// Settles record `seq` of stream `idx`, rejected before anything was sent.
    fn reject_read(
        &mut self,
        idx: usize,
        seq: u64,
        line: &Line,
        record: &serde_json::value::RawValue,
        rejection: Rejection,
    ) -> Result<(), FatalError> {
        let s = &mut self.streams[idx];
        if let Some(scope) = &s.scope
            && let Some(seen) = self.seen.get_mut(&scope.id)
            && let Some(key) = s.mapping.key_of(record)
        {
            seen.insert(&key);
        }
        s.stats.count(&Outcome::Rejected(rejection.clone()), false);
        self.sink
            .write(s.rejected_schema(), record, &rejection, line)
            .map_err(|e| {
                FatalError::Io(format!("cannot write {}: {e}", self.sink.path().display()))
            })?;
        self.tracker.settle(seq);
        self.count_outcome(seq, Some(&rejection))
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

    async fn schema(
        &mut self,
        line: Line,
        stream: String,
        schema: Value,
        key_properties: Vec<String>,
    ) -> Result<(), FatalError> {
        if let Some(&idx) = self.by_name.get(&stream) {
            self.streams[idx].schema = schema;
            self.streams[idx].key_properties = key_properties;
            return Ok(());
        }
        let Some(mut mapping) = self.config.stream(&stream) else {
            return Err(FatalError::UnmappedStream { line, stream });
        };
        if let Err(reason) =
            schemas::canonicalise(&self.client, &mut self.object_types, &mut mapping).await?
        {
            return Err(FatalError::IdProperty { stream, reason });
        }
        let object_type = mapping.object_type.clone();
        self.load_properties(&stream, &object_type).await?;
        for association in &mut mapping.associations {
            self.load_properties(&stream, &association.to_object_type)
                .await?;
            check_association(
                &stream,
                association,
                &self.properties[&association.to_object_type],
            )?;
        }
        let mut mapping = StreamMapping::resolve(&stream, mapping, &self.properties[&object_type])?;
        // The writer's own rule for inline associations: they need a type id up front.
        let inline = Strategy::of(&mapping.matching, mapping.write_mode).associates_inline();
        for association in &mut mapping.associations {
            if let Err(reason) =
                schemas::resolve_association_type(&self.client, &object_type, association, inline)
                    .await?
            {
                return Err(FatalError::IdProperty { stream, reason });
            }
        }
        for association in mapping.associations.iter().filter(|a| a.searched) {
            self.lookups
                .ids
                .want(&association.to_object_type, &association.to_id_property);
        }
        if let Matching::SearchProperty(p) = &mapping.matching {
            self.lookups.ids.want(&object_type, p);
        }
        tracing::info!(stream, object_type, matching = %mapping.matching, "stream mapped: {}", mapping.action());
        let scope = match &self.ledger {
            Some(ledger) => match scope_name(&mapping, &stream, &key_properties) {
                Some(name) => Some(Scope {
                    id: ledger.scope(&name).await?,
                    name,
                }),
                None => None,
            },
            None => None,
        };
        if mapping.matching == Matching::Nothing && scope.is_none() {
            let why = if self.ledger.is_some() {
                "its SCHEMA has no key_properties for the ledger to know records by"
            } else {
                "there is no ledger (set ledger, and the SCHEMA's key_properties name each record)"
            };
            tracing::warn!(
                "stream {stream}: create_only without a key creates every record it reads, and {why}, so running the same input again creates the records again"
            );
        }
        if let Some(scope) = &scope {
            tracing::info!(stream, ledger_scope = %scope.name, "stream consults the ledger (on_removed: {:?})", mapping.on_removed);
            if mapping.on_removed != OnRemoved::Ignore {
                self.seen.entry(scope.id).or_default();
            }
        } else if self.ledger.is_some() && mapping.on_removed != OnRemoved::Ignore {
            return Err(FatalError::IdProperty {
                stream,
                reason: "on_removed needs records with a key: the SCHEMA's key_properties, or id_property, id_field or match_property".into(),
            });
        }
        let idx = self.streams.len();
        self.by_name.insert(stream.clone(), idx);
        let mapping = Arc::new(mapping);
        let generation = self.published.publish(&stream, mapping.clone());
        let columns: Vec<String> = schema["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        self.streams.push(StreamState {
            name: stream,
            schema,
            key_properties,
            mapping,
            generation,
            open: None,
            stats: StreamStats::default(),
            unknown_warned: false,
            read_only_warned: false,
            deleted_warned: false,
            scope,
            pending: None,
            mapped_names: BTreeSet::new(),
        });
        if !columns.is_empty() {
            if self.streams[idx].mapping.unknown_fields == UnknownFields::Create {
                let unknown: Vec<String> = self.streams[idx]
                    .mapping
                    .plan(columns.iter().map(String::as_str))
                    .unknown
                    .into_iter()
                    .map(|(f, _)| f)
                    .collect();
                self.create_properties(idx, &unknown).await?;
            }
            self.report_fields(idx, columns.iter().map(String::as_str));
        }
        Ok(())
    }

    /// Logs, once per stream, the fields that are not sent: unknown ones (with hints) and
    /// read-only ones, from the SCHEMA's columns or, for fields the SCHEMA did not show, the
    /// first record that has them.
    fn report_fields<'a>(&mut self, idx: usize, fields: impl IntoIterator<Item = &'a str>) {
        let s = &mut self.streams[idx];
        let plan = s.mapping.plan(fields);
        if !plan.unknown.is_empty()
            && s.mapping.unknown_fields == UnknownFields::Ignore
            && !std::mem::replace(&mut s.unknown_warned, true)
        {
            tracing::warn!(
                stream = %s.name,
                "fields that match no property of '{}' are not sent (unknown_fields: ignore): {}",
                s.mapping.object_type,
                plan.unknown_list()
            );
        }
        if !plan.read_only.is_empty() && !std::mem::replace(&mut s.read_only_warned, true) {
            tracing::warn!(
                stream = %s.name,
                "fields that match read-only or calculated properties of '{}' are never sent: {}",
                s.mapping.object_type,
                plan.read_only.join(", ")
            );
        }
        s.stats
            .ignored_fields
            .extend(plan.unknown.into_iter().map(|(f, _)| f));
        s.stats.read_only_fields.extend(plan.read_only);
    }

    /// Adds a mapped record's unsent fields to its stream's summary, warning about the first
    /// ones seen.
    fn note_fields(&mut self, idx: usize, mapped: &Mapped) {
        let stats = &self.streams[idx].stats;
        let new = mapped
            .unknown
            .iter()
            .any(|f| !stats.ignored_fields.contains(f))
            || mapped
                .read_only
                .iter()
                .any(|f| !stats.read_only_fields.contains(f));
        if new {
            let fields: Vec<&str> = mapped
                .unknown
                .iter()
                .chain(&mapped.read_only)
                .map(String::as_str)
                .collect();
            self.report_fields(idx, fields);
        }
    }

    /// Creates a property for each of `fields` of stream `idx` (`unknown_fields: create`),
    /// typed from the stream's SCHEMA, and maps the field to it.
    async fn create_properties(&mut self, idx: usize, fields: &[String]) -> Result<(), FatalError> {
        for field in fields {
            let (stream, object_type) = {
                let s = &self.streams[idx];
                (s.name.clone(), s.mapping.object_type.clone())
            };
            let fail = |reason: String| FatalError::IdProperty {
                stream: stream.clone(),
                reason,
            };
            let new =
                NewProperty::for_field(field, self.streams[idx].schema["properties"].get(field))
                    .map_err(fail)?;
            let existing = self
                .properties
                .get(&object_type)
                .and_then(|ps| ps.iter().find(|p| p.name == new.name))
                .cloned();
            let info = match existing {
                Some(info) => info,
                None => {
                    let bool_options = vec![
                        serde_json::json!({"label": "Yes", "value": "true", "displayOrder": 0}),
                        serde_json::json!({"label": "No", "value": "false", "displayOrder": 1}),
                    ];
                    let create = PropertyCreate {
                        name: &new.name,
                        label: &new.label,
                        kind: new.kind,
                        field_type: new.field_type,
                        group_name: CREATED_GROUP,
                        options: if new.kind == "bool" {
                            bool_options
                        } else {
                            Vec::new()
                        },
                    };
                    let info = self
                        .client
                        .create_property(&object_type, &create)
                        .await?
                        .map_err(|reason| {
                            fail(format!(
                                "cannot create property '{}' for field '{field}' (unknown_fields: create): {reason}",
                                new.name
                            ))
                        })?;
                    tracing::info!(stream, object_type, property = %info.name, kind = new.kind, "created a property for field '{field}'");
                    self.streams[idx]
                        .stats
                        .created_properties
                        .insert(info.name.clone());
                    self.properties
                        .entry(object_type.clone())
                        .or_default()
                        .push(info.clone());
                    info
                }
            };
            let s = &mut self.streams[idx];
            Arc::make_mut(&mut s.mapping)
                .fields
                .add_created(field, &info);
            s.generation = self.published.publish(&s.name, s.mapping.clone());
        }
        Ok(())
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

    /// Reads (once) the property definitions of `object_type`.
    async fn load_properties(&mut self, stream: &str, object_type: &str) -> Result<(), FatalError> {
        if self.properties.contains_key(object_type) {
            return Ok(());
        }
        let props = self
            .client
            .properties(object_type)
            .await?
            .map_err(|reason| FatalError::IdProperty {
                stream: stream.to_string(),
                reason: format!("HubSpot does not know object type '{object_type}' ({reason})"),
            })?;
        self.properties.insert(object_type.to_string(), props);
        Ok(())
    }

    /// The next moment an open batch must be sent: when it has waited `flush_interval`, or
    /// when a STATE waits on it and the input has been quiet for a moment.
    fn next_deadline(&self) -> Option<Instant> {
        let state_deadline = self
            .tracker
            .has_waiting()
            .then(|| self.last_line_at + STATE_FLUSH_DELAY);
        self.open_streams
            .iter()
            .flat_map(|&i| self.streams[i].batches())
            .filter(|b| !b.is_empty())
            .map(|b| {
                let age_deadline = b.opened + self.config.flush_interval;
                state_deadline.map_or(age_deadline, |d| d.min(age_deadline))
            })
            .min()
    }

    async fn flush_due(&mut self) -> Result<(), FatalError> {
        let now = Instant::now();
        let state_due = self.tracker.has_waiting() && self.last_line_at + STATE_FLUSH_DELAY <= now;
        let open: Vec<usize> = self.open_streams.iter().copied().collect();
        for idx in open {
            let due = self.streams[idx].batches().any(|b| {
                !b.is_empty() && (state_due || b.opened + self.config.flush_interval <= now)
            });
            if due {
                self.flush_stream(idx).await?;
            }
        }
        Ok(())
    }

    /// Sends every open batch now (the input ended, or the byte bound is reached).
    async fn send_open(&mut self) -> Result<(), FatalError> {
        self.flush_all().await?;
        self.dispatch().await
    }

    async fn flush_all(&mut self) -> Result<(), FatalError> {
        let open: Vec<usize> = self.open_streams.iter().copied().collect();
        for idx in open {
            self.flush_stream(idx).await?;
        }
        Ok(())
    }

    /// Sends ready batches, in order, while there is room and no key of the next batch is
    /// still in flight (so a later value never overtakes an earlier one).
    /// Sends ready batches while there is room. A batch waits while any of its keys is in
    /// flight or in an earlier ready batch of the same object type (so a later value never
    /// overtakes an earlier one), and while records it associates with, read before it, are
    /// not yet written (their open batches are sent first).
    async fn dispatch(&mut self) -> Result<(), FatalError> {
        if self.halted {
            return Ok(());
        }
        let mut i = 0;
        while self.inflight.len() < self.batch_tasks() && i < self.ready.len() {
            match self.readiness(i) {
                Readiness::Go => {}
                Readiness::Wait => {
                    i += 1;
                    continue;
                }
                Readiness::NeedsFlush(object_type) => {
                    self.flush_object_type(&object_type).await?;
                    i += 1;
                    continue;
                }
            }
            let Some(batch) = self.ready.remove(i) else {
                break;
            };
            let mapping = &self.streams[batch.stream].mapping;
            for key in batch.keys() {
                self.inflight_keys.add(&mapping.object_type, key);
            }
            let target = Target {
                object_type: mapping.object_type.clone(),
                strategy: Strategy::of(&mapping.matching, mapping.write_mode),
                associations: mapping.associations.clone(),
                lookups: self.lookups.clone(),
            };
            let client = self.client.clone();
            let consults_ledger =
                self.ledger.is_some() && self.streams[batch.stream].scope.is_some();
            self.inflight.spawn(async move {
                let mut sent = Vec::new();
                if consults_ledger {
                    // Hashed here, off the main loop, once the batch's inputs are final.
                    let known_ids;
                    (sent, known_ids) = Ledger::sent(&batch);
                    if let Strategy::SearchMatch { property, .. } = &target.strategy {
                        for (key, id) in known_ids {
                            target
                                .lookups
                                .ids
                                .insert(&target.object_type, property, &key, &id);
                        }
                    }
                }
                Done {
                    result: write_batch(client, target, batch).await,
                    sent,
                }
            });
        }
        Ok(())
    }

    /// Whether `ready[i]` may be sent now.
    fn readiness(&self, i: usize) -> Readiness {
        let batch = &self.ready[i];
        let mapping = &self.streams[batch.stream].mapping;
        let object_type = &mapping.object_type;
        let busy = |k: &str| self.inflight_keys.contains(object_type, k);
        let queued_before = |k: &str| {
            self.ready.iter().take(i).any(|earlier| {
                &self.streams[earlier.stream].mapping.object_type == object_type
                    && earlier.keys().any(|e| e == k)
            })
        };
        if batch.keys().any(|k| busy(k) || queued_before(k)) {
            return Readiness::Wait;
        }
        let first = batch.first_seq();
        for association in &mapping.associations {
            let to = &association.to_object_type;
            let older_unwritten = self
                .unsettled_by_type
                .get(to)
                .and_then(|seqs| seqs.first())
                .is_some_and(|oldest| *oldest < first);
            if older_unwritten {
                let open = self.open_streams.iter().any(|&i| {
                    let s = &self.streams[i];
                    &s.mapping.object_type == to && s.batches().any(|b| !b.is_empty())
                });
                return if open {
                    Readiness::NeedsFlush(to.clone())
                } else {
                    Readiness::Wait
                };
            }
        }
        Readiness::Go
    }

    /// Sends the open batches of every stream writing `object_type`.
    async fn flush_object_type(&mut self, object_type: &str) -> Result<(), FatalError> {
        let open: Vec<usize> = self.open_streams.iter().copied().collect();
        for idx in open {
            if self.streams[idx].mapping.object_type == object_type {
                self.flush_stream(idx).await?;
            }
        }
        Ok(())
    }

    /// Sends stream `idx`'s open batch, after judging its records still waiting for the
    /// ledger.
    async fn flush_stream(&mut self, idx: usize) -> Result<(), FatalError> {
        self.check_pending(idx).await?;
        if let Some(b) = self.streams[idx].open.take().filter(|b| !b.is_empty()) {
            self.ready.push_back(b);
        }
        if self.streams[idx].batches().all(Batch::is_empty) {
            self.open_streams.remove(&idx);
        }
        Ok(())
    }

    /// Judges stream `idx`'s records waiting for the ledger, in one lookup: unchanged ones
    /// are settled at once, the rest join the open batch (so batches hold only records that
    /// are sent).
    async fn check_pending(&mut self, idx: usize) -> Result<(), FatalError> {
        let Some(ledger) = self.ledger.clone() else {
            return Ok(());
        };
        let Some(scope) = self.streams[idx].scope.as_ref().map(|s| s.id) else {
            return Ok(());
        };
        let Some(mut pending) = self.streams[idx].pending.take() else {
            return Ok(());
        };
        let skip_known = self.streams[idx].mapping.matching == Matching::Nothing;
        let sent_before = self.sent_this_run.entry(scope).or_default();
        let verdicts = ledger
            .check(scope, pending.take_inputs(), skip_known, sent_before)
            .await?;
        for input in &verdicts.send {
            sent_before.insert(&input.key);
        }
        let object_type = self.streams[idx].mapping.object_type.clone();
        for settled in verdicts.settled {
            self.held_bytes = self
                .held_bytes
                .saturating_sub(settled.origin.raw.get().len() as u64);
            self.streams[idx]
                .stats
                .count(&settled.outcome, settled.merged);
            self.tracker.settle(settled.origin.seq);
            if let Some(seqs) = self.unsettled_by_type.get_mut(&object_type) {
                seqs.remove(&settled.origin.seq);
            }
            self.count_outcome(settled.origin.seq, None)?;
        }
        let batch_size = self.config.batch_size;
        let s = &mut self.streams[idx];
        for input in verdicts.send {
            let batch = s.open.get_or_insert_with(|| Batch::new(idx));
            batch.push_input(input);
            if batch.len() >= batch_size
                && let Some(full) = s.open.take()
            {
                self.ready.push_back(full);
            }
        }
        Ok(())
    }

    async fn settle(&mut self, done: Done) -> Result<(), FatalError> {
        let Done { mut result, sent } = done;
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
            self.held_bytes = self
                .held_bytes
                .saturating_sub(settled.origin.raw.get().len() as u64);
            let s = &mut self.streams[result.stream];
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
            s.stats.count(&settled.outcome, settled.merged);
            if let Outcome::Rejected(rejection) = &settled.outcome {
                self.sink
                    .write(
                        s.rejected_schema(),
                        &settled.origin.raw,
                        rejection,
                        &settled.origin.line,
                    )
                    .map_err(|e| {
                        FatalError::Io(format!("cannot write {}: {e}", self.sink.path().display()))
                    })?;
                tracing::debug!(stream = %s.name, line = %settled.origin.line, category = %rejection.category, "record rejected");
            }
            self.tracker.settle(settled.origin.seq);
            if let Some(seqs) = self.unsettled_by_type.get_mut(&object_type) {
                seqs.remove(&settled.origin.seq);
            }
            let rejection = match &settled.outcome {
                Outcome::Rejected(r) => Some(r),
                _ => None,
            };
            if let Err(e) = self.count_outcome(settled.origin.seq, rejection) {
                too_many_rejected.get_or_insert(e);
            }
        }
        match result.fatal.or(too_many_rejected) {
            Some(f) => Err(f),
            None => Ok(()),
        }
    }

    /// `on_removed`, at the end of a run that read its whole input: the keys of each mirrored
    /// scope that the ledger holds and the run did not read are archived or cleared, then
    /// dropped from the ledger; refused as a whole past `max_removed_rate`. A dry run only
    /// counts them.
    async fn remove_unseen(&mut self) -> Result<(), FatalError> {
        let Some(ledger) = self.ledger.clone() else {
            return Ok(());
        };
        let mut done_scopes = HashSet::new();
        for idx in 0..self.streams.len() {
            let s = &self.streams[idx];
            let Some(scope) = s.scope.clone() else {
                continue;
            };
            if s.mapping.on_removed == OnRemoved::Ignore || !done_scopes.insert(scope.id) {
                continue;
            }
            let Some(seen) = self.seen.get(&scope.id) else {
                continue;
            };
            let unseen = ledger.unseen(scope.id, seen).await?;
            if unseen.is_empty() {
                continue;
            }
            let total = ledger.count(scope.id).await?;
            let removed = unseen.len() as u64;
            let share = removed as f64 / total.max(1) as f64;
            let object_type = s.mapping.object_type.clone();
            if share > self.config.max_removed_rate {
                return Err(FatalError::RemovalRefused {
                    object_type,
                    scope: scope.name,
                    removed,
                    total,
                    share: share * 100.0,
                    max: self.config.max_removed_rate,
                });
            }
            if ledger.read_only() {
                tracing::info!(stream = %s.name, "dry run: {removed} record(s) whose key left the source would be {} (on_removed)", match s.mapping.on_removed { OnRemoved::Clear => "cleared", _ => "archived" });
                self.streams[idx].stats.removed += removed;
                continue;
            }
            let ids: Vec<i64> = unseen.iter().map(|(_, id)| *id).collect();
            let outcome = match s.mapping.on_removed {
                OnRemoved::Clear => {
                    let mut names: Vec<&str> = s.mapped_names.iter().map(|n| &**n).collect();
                    // The key stays: it is how the record is known.
                    if let Matching::IdProperty(p) | Matching::SearchProperty(p) =
                        &s.mapping.matching
                    {
                        names.retain(|n| *n != &**p);
                    }
                    removal::clear(&self.client, &object_type, &ids, &names).await?
                }
                _ => removal::archive(&self.client, &object_type, &ids).await?,
            };
            let gone: HashSet<i64> = outcome.done.iter().copied().collect();
            let changes: Vec<crate::ledger::Change> = unseen
                .iter()
                .filter(|(_, id)| gone.contains(id))
                .map(|(key, _)| crate::ledger::Change::Drop { key: key.clone() })
                .collect();
            ledger.commit(scope.id, &changes).await?;
            let s = &mut self.streams[idx];
            s.stats.removed += gone.len() as u64;
            tracing::info!(stream = %s.name, "{} record(s) whose key left the source {} (on_removed)", gone.len(), match s.mapping.on_removed { OnRemoved::Clear => "cleared", _ => "archived" });
            if let Some((n, reason)) = outcome.failed {
                return Err(FatalError::Request(format!(
                    "stream {}: {n} record(s) whose key left the source could not be removed ({reason}); they stay in the ledger and the next run tries again",
                    s.name
                )));
            }
        }
        Ok(())
    }

    fn release_states(&mut self) -> Result<(), FatalError> {
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

//! Batches on their way out: when an open batch is due, the ledger gate, the ordering barrier
//! (a batch waits for the records its links point to), and batch tasks on the wire.

use super::queue::{Next, World};
use super::*;

/// What the queue sees of the run.
struct View<'a, W: Write> {
    streams: &'a [StreamState],
    books: &'a Settlement<W>,
    open_streams: &'a BTreeSet<usize>,
}

impl<W: Write> World for View<'_, W> {
    fn object_type(&self, stream: usize) -> &str {
        &self.streams[stream].mapping.object_type
    }

    fn links_to(&self, stream: usize) -> Vec<&str> {
        let mapping = &self.streams[stream].mapping;
        mapping
            .associations
            .iter()
            .map(|a| a.to_object_type.as_str())
            .collect()
    }

    fn imports(&self, stream: usize) -> bool {
        self.streams[stream].mapping.load_method == LoadMethod::Import
    }

    fn oldest_unsettled(&self, object_type: &str) -> Option<u64> {
        self.books.oldest_unsettled(object_type)
    }

    fn has_open(&self, object_type: &str) -> bool {
        self.open_streams.iter().any(|&i| {
            let s = &self.streams[i];
            s.mapping.object_type == object_type && s.batches().any(|b| !b.is_empty())
        })
    }
}

impl<W: Write> Runner<W> {
    /// The next moment an open batch must be sent: when it has waited `flush_interval`, or
    /// when a STATE waits on it and the input has been quiet for a moment.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let state_deadline = self
            .books
            .state_waiting()
            .then(|| self.last_line_at + STATE_FLUSH_DELAY);
        self.open_streams
            .iter()
            .filter(|&&i| self.streams[i].mapping.load_method == LoadMethod::Batch)
            .flat_map(|&i| self.streams[i].batches())
            .filter(|b| !b.is_empty())
            .map(|b| {
                let age_deadline = b.opened + self.config.flush_interval;
                state_deadline.map_or(age_deadline, |d| d.min(age_deadline))
            })
            .min()
    }

    pub(super) async fn flush_due(&mut self) -> Result<(), FatalError> {
        let now = Instant::now();
        let state_due = self.books.state_waiting() && self.last_line_at + STATE_FLUSH_DELAY <= now;
        let open: Vec<usize> = self.open_streams.iter().copied().collect();
        for idx in open {
            // An import file goes when it is full, at the byte bound or at the end of the
            // input: sent early, it would make many small imports of a day's few hundred.
            if self.streams[idx].mapping.load_method == LoadMethod::Import {
                continue;
            }
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
    pub(super) async fn send_open(&mut self) -> Result<(), FatalError> {
        self.flush_all().await?;
        self.dispatch().await
    }

    pub(super) async fn flush_all(&mut self) -> Result<(), FatalError> {
        let open: Vec<usize> = self.open_streams.iter().copied().collect();
        for idx in open {
            self.flush_stream(idx).await?;
        }
        Ok(())
    }

    /// Sends queued batches while there is room, as the queue decides: in order, each once
    /// nothing it depends on is on the wire or unwritten (see [`Queue`]).
    pub(super) async fn dispatch(&mut self) -> Result<(), FatalError> {
        if !self.phase.sends() {
            return Ok(());
        }
        let mut cursor = 0;
        while self.inflight.len() < self.batch_tasks() {
            let world = View {
                streams: &self.streams,
                books: &self.books,
                open_streams: &self.open_streams,
            };
            match self.queue.next(&mut cursor, &world) {
                Next::Idle => break,
                Next::Flush(object_type) => self.flush_object_type(&object_type).await?,
                Next::Send(batch) => self.spawn(batch),
            }
        }
        Ok(())
    }

    /// Hands `batch` to a task of its own: the writer (or an import), then the answer back to
    /// the loop.
    fn spawn(&mut self, batch: Batch) {
        let mapping = &self.streams[batch.stream].mapping;
        let target = Target {
            object_type: mapping.object_type.clone(),
            strategy: Strategy::of(&mapping.matching, mapping.write_mode),
            associations: mapping.associations.clone(),
            lookups: self.lookups.clone(),
        };
        let import = (mapping.load_method == LoadMethod::Import).then(|| {
            let layout = crate::writer::import::layout(
                &mapping.matching,
                mapping.write_mode,
                &mapping.object_type,
            );
            (layout, self.config.imports)
        });
        let client = self.client.clone();
        let consults_ledger =
            self.gate.ledger().is_some() && self.streams[batch.stream].scope.is_some();
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
            let result = match import {
                Some((layout, limits)) => write_import(client, target, layout, limits, batch).await,
                None => write_batch(client, target, batch).await,
            };
            Done { result, sent }
        });
    }

    /// A batch task's answer: its keys leave the wire, then its outcomes are settled.
    pub(super) async fn settle(&mut self, done: Done) -> Result<(), FatalError> {
        let Done { result, sent } = done;
        let s = &mut self.streams[result.stream];
        let import = s.mapping.load_method == LoadMethod::Import;
        self.queue
            .landed(&s.mapping.object_type, &result.keys, import);
        let known = self
            .properties
            .get(&s.mapping.object_type)
            .map(Vec::as_slice);
        self.books.batch(s.books(), result, &sent, known).await
    }

    /// Sends the open batches of every stream writing `object_type`.
    pub(super) async fn flush_object_type(&mut self, object_type: &str) -> Result<(), FatalError> {
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
    pub(super) async fn flush_stream(&mut self, idx: usize) -> Result<(), FatalError> {
        self.check_pending(idx).await?;
        if let Some(b) = self.streams[idx].open.take().filter(|b| !b.is_empty()) {
            self.queue.push(b);
        }
        if self.streams[idx].batches().all(Batch::is_empty) {
            self.open_streams.remove(&idx);
        }
        Ok(())
    }

    /// Judges stream `idx`'s records waiting for the ledger, in one lookup: unchanged ones
    /// are settled at once, the rest join the open batch (so batches hold only records that
    /// are sent).
    pub(super) async fn check_pending(&mut self, idx: usize) -> Result<(), FatalError> {
        let Some(scope) = self.streams[idx].scope.as_ref().map(|s| s.id) else {
            return Ok(());
        };
        let Some(mut pending) = self.streams[idx].pending.take() else {
            return Ok(());
        };
        let skip_known = self.streams[idx].mapping.matching == Matching::Nothing;
        let verdicts = self
            .gate
            .judge(scope, pending.take_inputs(), skip_known)
            .await?;
        for settled in verdicts.settled {
            self.books.held(&mut self.streams[idx].books(), &settled)?;
        }
        let s = &mut self.streams[idx];
        let batch_size = batch_size(&self.config, &s.mapping);
        for input in verdicts.send {
            let batch = s.open.get_or_insert_with(|| Batch::new(idx));
            batch.push_input(input);
            if batch.len() >= batch_size
                && let Some(full) = s.open.take()
            {
                self.queue.push(full);
            }
        }
        Ok(())
    }
}

//! `on_removed` at the end of a full run: keys the ledger holds that the run did not read.

use super::*;

impl<W: Write> Runner<W> {
    /// `on_removed`, at the end of a run that read its whole input: the keys of each mirrored
    /// scope that the ledger holds and the run did not read are archived or cleared, then
    /// dropped from the ledger; refused as a whole past `max_removed_rate`. A dry run only
    /// counts them.
    pub(super) async fn remove_unseen(&mut self) -> Result<(), FatalError> {
        let Some(ledger) = self.gate.ledger().cloned() else {
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
            let Some(seen) = self.gate.seen(scope.id) else {
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
            let unseen = self.with_ids(idx, unseen).await?;
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

    /// `unseen` with every record id known: the ledger holds none for records an import
    /// wrote, so those are found by key (`batch/read`). A key HubSpot no longer has is left
    /// out (nothing to remove) and stays in the ledger.
    async fn with_ids(
        &self,
        idx: usize,
        unseen: Vec<(String, Option<i64>)>,
    ) -> Result<Vec<(String, i64)>, FatalError> {
        let (known, unknown): (Vec<_>, Vec<_>) =
            unseen.into_iter().partition(|(_, id)| id.is_some());
        let mut out: Vec<(String, i64)> = known
            .into_iter()
            .filter_map(|(key, id)| id.map(|id| (key, id)))
            .collect();
        if unknown.is_empty() {
            return Ok(out);
        }
        let s = &self.streams[idx];
        let keys: Vec<String> = unknown.into_iter().map(|(key, _)| key).collect();
        match &s.mapping.matching {
            Matching::IdField(_) => {
                out.extend(
                    keys.into_iter()
                        .filter_map(|k| k.parse().ok().map(|id| (k, id))),
                );
            }
            Matching::IdProperty(p) => {
                let found = match self.client.find_ids(&s.mapping.object_type, p, &keys).await {
                    Ok(found) => found,
                    Err(e) => {
                        return Err(FatalError::Request(format!(
                            "stream {}: the records whose key left the source could not be found by {p} ({}); they stay in the ledger and the next run tries again",
                            s.name,
                            e.reason()?
                        )));
                    }
                };
                for key in keys {
                    if let Some(id) = found.get(&key).and_then(|id| id.parse().ok()) {
                        out.push((key, id));
                    }
                }
            }
            _ => {
                tracing::warn!(stream = %s.name, "{} key(s) that left the source have no record id in the ledger and no unique key to find one by; not removed", keys.len());
            }
        }
        Ok(out)
    }
}

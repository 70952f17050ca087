//! One message's way in: a RECORD mapped (or rejected before anything is sent), batched or
//! held for the ledger; a STATE noted; the rest warned about once.

use super::*;
use crate::model::Key;
use crate::model::rejection::Category;

impl<W: Write> Runner<W> {
    pub(super) async fn handle_message(
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
                let Some(&idx) = self.by_name.get(stream.as_ref()) else {
                    return Err(FatalError::RecordBeforeSchema {
                        line,
                        stream: stream.into_owned(),
                    });
                };
                let seq = self
                    .books
                    .record_read(&mut self.streams[idx].stats, replayed);
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
                                    .map_or_else(|| Key::unkeyed(seq), Key::Value),
                                // No key: each record is its own input, never merged or held back.
                                None => Key::unkeyed(seq),
                            };
                        }
                        if let Some(scope) = &s.scope
                            && self.gate.mirrors(scope.id)
                        {
                            self.gate.saw(scope.id, &mapped.key);
                            if s.mapping.on_removed == OnRemoved::Clear {
                                for name in mapped.properties.keys() {
                                    if !s.mapped_names.contains(name) {
                                        s.mapped_names.insert(name.clone());
                                    }
                                }
                            }
                        }
                        self.books
                            .hold(seq, &s.mapping.object_type, record.get().len() as u64);
                        self.open_streams.insert(idx);
                        if s.scope.is_some() && self.gate.ledger().is_some() {
                            let pending = s.pending.get_or_insert_with(|| Batch::new(idx));
                            pending.push(mapped, seq, line, record);
                            if pending.len() >= LEDGER_CHUNK {
                                self.check_pending(idx).await?;
                            }
                            return Ok(());
                        }
                        let batch = s.open.get_or_insert_with(|| Batch::new(idx));
                        batch.push(mapped, seq, line, record);
                        let batch_size = batch_size(&self.config, &s.mapping);
                        if batch.len() >= batch_size
                            && let Some(full) = s.open.take()
                        {
                            self.queue.push(full);
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
                let seq = self.books.record_read(&mut self.streams[idx].stats, false);
                // The row as written, as a JSON string: replayed unedited it is refused again.
                let record = serde_json::value::to_raw_value(&raw)
                    .map_err(|e| FatalError::Io(format!("{line}: {e}")))?;
                let rejection = Rejection::local(Category::InvalidRecord, reason, None);
                self.reject_read(idx, seq, &line, &record, rejection)
            }
            Message::State { value } => {
                self.books.state_read(value);
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
    pub(super) fn reject_read(
        &mut self,
        idx: usize,
        seq: u64,
        line: &Line,
        record: &serde_json::value::RawValue,
        rejection: Rejection,
    ) -> Result<(), FatalError> {
        let s = &mut self.streams[idx];
        if let Some(scope) = &s.scope
            && self.gate.mirrors(scope.id)
            && let Some(key) = s.mapping.key_of(record)
        {
            self.gate.saw(scope.id, &key);
        }
        let outcome = Outcome::Rejected(rejection);
        self.books
            .record(&mut s.books(), seq, line, record, &outcome, false)
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

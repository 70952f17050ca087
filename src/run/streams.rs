//! The stream registry: a SCHEMA registers its stream (object type, properties, mapping,
//! associations, ledger scope); properties created for unknown fields.

use super::*;
use crate::model::StreamProblem;

impl<W: Write> Runner<W> {
    pub(super) async fn schema(
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
        let Some(mapping) = self.config.stream(&stream) else {
            return Err(FatalError::UnmappedStream { line, stream });
        };
        let mapping = crate::setup::prepare(
            &self.client,
            &mut self.object_types,
            &mut self.properties,
            &stream,
            mapping,
        )
        .await
        .map_err(crate::setup::SetupError::into_fatal)?;
        let object_type = mapping.object_type.clone();
        for association in mapping.associations.iter().filter(|a| a.searched) {
            self.lookups
                .ids
                .want(&association.to_object_type, &association.to_id_property);
        }
        if let Matching::SearchProperty(p) = &mapping.matching {
            self.lookups.ids.want(&object_type, p);
        }
        tracing::info!(stream, object_type, matching = %mapping.matching, "stream mapped: {}", mapping.action());
        let scope = self
            .gate
            .scope(scope_name(&mapping, &stream, &key_properties))
            .await?;
        if mapping.matching == Matching::Nothing && scope.is_none() {
            let why = if self.gate.ledger().is_some() {
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
                self.gate.mirror(scope.id);
            }
        } else if self.gate.ledger().is_some() && mapping.on_removed != OnRemoved::Ignore {
            return Err(FatalError::Stream {
                stream,
                problem: StreamProblem::Removal("on_removed needs records with a key: the SCHEMA's key_properties, or id_property, id_field or match_property".into()),
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
    pub(super) fn report_fields<'a>(
        &mut self,
        idx: usize,
        fields: impl IntoIterator<Item = &'a str>,
    ) {
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
    pub(super) fn note_fields(&mut self, idx: usize, mapped: &Mapped) {
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
    pub(super) async fn create_properties(
        &mut self,
        idx: usize,
        fields: &[String],
    ) -> Result<(), FatalError> {
        for field in fields {
            let (stream, object_type) = {
                let s = &self.streams[idx];
                (s.name.clone(), s.mapping.object_type.clone())
            };
            let fail = |reason: String| FatalError::Stream {
                stream: stream.clone(),
                problem: StreamProblem::NewProperty(reason),
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
                    let info = match self.client.create_property(&object_type, &create).await {
                        Ok(info) => info,
                        Err(e) => {
                            return Err(fail(format!(
                                "cannot create property '{}' for field '{field}' (unknown_fields: create): {}",
                                new.name,
                                e.reason()?
                            )));
                        }
                    };
                    tracing::info!(stream, object_type, property = %info.name, kind = new.kind, "created a property for field '{field}'");
                    self.streams[idx]
                        .stats
                        .created_properties
                        .insert(info.name.clone());
                    self.properties.add(&object_type, info.clone());
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

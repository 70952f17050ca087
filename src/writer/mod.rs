//! Sends one batch and gives every record in it an outcome: the driver shared by every way
//! of writing (one file each), and the reading of HubSpot's batch answers.
//!
//! A whole-batch 4xx is split in halves until the offending inputs stand alone, so the good
//! records beside them are written. A merged input that fails is resent record by record, in
//! input order, so one bad record never costs the others with the same key. How a group of
//! inputs is sent depends on the stream ([`Strategy`]), one file each: `upsert`, `update`,
//! `by_id`, `create`, `search_match`, `archive`. The associations records ask for are made
//! last (`associations`), or inline in the create for `create_only` streams.

mod archive;
mod associations;
mod by_id;
mod create;
pub mod import;
pub mod lookup;
pub mod removal;
mod search_match;
mod update;
mod upsert;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;

pub use associations::associate;
use lookup::Lookups;

use crate::config::WriteMode;
use crate::error::FatalError;
use crate::hubspot::wire::{BatchResponse, ErrorBody};
use crate::hubspot::{Client, Reply, SendFailure};
use crate::mapping::Matching;
use crate::model::rejection::{Category, HttpDetail, Rejection};
use crate::pipeline::batch::{Batch, Input};
pub use crate::pipeline::outcome::{BatchResult, Outcome, Settled};

/// How a batch is written, from the stream's matching and `write_mode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// `batch/upsert` by a unique property.
    Upsert {
        /// The property.
        id_property: String,
    },
    /// Keys looked up (`batch/read`), then `batch/update` by id; no record → `NOT_FOUND`.
    UpdateByKey {
        /// The property the keys are values of.
        id_property: String,
    },
    /// `batch/update` by the record ids the records hold; an unknown id → `OBJECT_NOT_FOUND`.
    UpdateById,
    /// Keys looked up; a key that exists is `SKIPPED`, the rest `batch/create`d.
    CreateNew {
        /// The property the keys are values of.
        id_property: String,
    },
    /// Every record `batch/create`d.
    CreateAll,
    /// Keys found by searching a property without unique values; one match is updated by
    /// id, none created (or, by `write_mode`, rejected as `NOT_FOUND` or `SKIPPED`), several
    /// rejected as `AMBIGUOUS_MATCH`.
    SearchMatch {
        /// The searched property.
        property: String,
        /// What a match or its absence leads to.
        write_mode: WriteMode,
    },
}

impl Strategy {
    /// The strategy of a stream that matches by `matching` in `write_mode`.
    pub fn of(matching: &Matching, write_mode: WriteMode) -> Self {
        match (matching, write_mode) {
            (Matching::IdField(_), _) => Self::UpdateById,
            (Matching::Nothing, _) => Self::CreateAll,
            (Matching::IdProperty(p), WriteMode::Upsert) => Self::Upsert {
                id_property: p.to_string(),
            },
            (Matching::IdProperty(p), WriteMode::UpdateOnly) => Self::UpdateByKey {
                id_property: p.to_string(),
            },
            (Matching::IdProperty(p), WriteMode::CreateOnly) => Self::CreateNew {
                id_property: p.to_string(),
            },
            (Matching::SearchProperty(p), write_mode) => Self::SearchMatch {
                property: p.to_string(),
                write_mode,
            },
        }
    }

    /// Whether records are created with their associations in the create request itself
    /// (one request, no second call), as HubSpot allows on create.
    pub fn associates_inline(&self) -> bool {
        matches!(self, Self::CreateAll | Self::CreateNew { .. })
    }

    /// The unique property keys are values of, if any.
    pub fn id_property(&self) -> Option<&str> {
        match self {
            Self::Upsert { id_property }
            | Self::UpdateByKey { id_property }
            | Self::CreateNew { id_property } => Some(id_property),
            Self::UpdateById | Self::CreateAll | Self::SearchMatch { .. } => None,
        }
    }
}

/// Where a batch goes.
#[derive(Debug, Clone)]
pub struct Target {
    /// Object type in URLs.
    pub object_type: String,
    /// How it is written.
    pub strategy: Strategy,
    /// Associations the records ask for.
    pub associations: Vec<crate::config::AssociationConfig>,
    /// The run's key → id lookups (the ids it holds, how long search may lag), shared by
    /// every batch.
    pub lookups: Arc<Lookups>,
}

/// What HubSpot did with one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Effect {
    /// A record was created.
    Created,
    /// An existing record was updated.
    Updated,
    /// Left alone on purpose (`create_only`: the key exists; a deletion found nothing).
    Skipped,
    /// The record was archived (`hard_delete`).
    Archived,
}

/// One input written (or skipped) and HubSpot's id of its record.
#[derive(Debug, Clone)]
pub(super) struct Written {
    /// What happened.
    pub(super) effect: Effect,
    /// HubSpot's record id.
    pub(super) id: String,
}

pub(super) type InputOutcome = Result<Written, Rejection>;

/// Writes `batch` and returns every record's outcome (or a fatal error).
pub async fn write_batch(client: Arc<Client>, target: Target, batch: Batch) -> BatchResult {
    let stream = batch.stream;
    let keys: Vec<String> = batch.keys().map(String::from).collect();
    let mut settled = Vec::new();
    let mut queue: VecDeque<Vec<Input>> = VecDeque::from([batch.inputs]);
    let mut resend: Vec<Input> = Vec::new();
    while let Some(group) = queue.pop_front() {
        match send_group(&client, &target, &group).await {
            Err(fatal) => {
                return BatchResult {
                    stream,
                    keys,
                    settled,
                    fatal: Some(fatal),
                };
            }
            Ok(GroupReply::Split(rejection)) if group.len() > 1 => {
                tracing::debug!(inputs = group.len(), reason = %rejection.message, "whole batch refused; splitting it");
                let mut left = group;
                let right = left.split_off(left.len() / 2);
                queue.push_front(right);
                queue.push_front(left);
            }
            Ok(GroupReply::Split(rejection)) => {
                for input in group {
                    settle_input(&mut settled, input, Err(rejection.clone()), &mut resend);
                }
            }
            Ok(GroupReply::PerInput(outcomes)) => {
                remember_written(&target, group.iter().zip(&outcomes));
                for (input, outcome) in group.into_iter().zip(outcomes) {
                    settle_input(&mut settled, input, outcome, &mut resend);
                }
            }
        }
    }
    for input in resend {
        for (i, mut origin) in input.origins.into_iter().enumerate() {
            let mut single = Input {
                key: input.key.clone(),
                properties: origin
                    .properties
                    .take()
                    .unwrap_or_else(|| input.properties.clone()),
                origins: vec![origin],
                deleted: input.deleted,
                ledger_id: input.ledger_id,
            };
            let outcome = match send_group(&client, &target, std::slice::from_ref(&single)).await {
                Err(fatal) => {
                    return BatchResult {
                        stream,
                        keys,
                        settled,
                        fatal: Some(fatal),
                    };
                }
                Ok(GroupReply::Split(rejection)) => Err(rejection),
                Ok(GroupReply::PerInput(mut outcomes)) => outcomes
                    .pop()
                    .unwrap_or_else(|| Err(not_acknowledged(&single))),
            };
            remember_written(&target, [(&single, &outcome)]);
            let Some(origin) = single.origins.pop() else {
                continue;
            };
            let record_id = outcome.as_ref().ok().map(|w| w.id.clone());
            settled.push(Settled {
                origin,
                outcome: to_outcome(outcome),
                merged: i > 0,
                record_id,
            });
        }
    }
    let fatal = if target.associations.is_empty() || target.strategy.associates_inline() {
        None
    } else {
        associate(
            &client,
            &target.lookups,
            &target.object_type,
            &target.associations,
            &mut settled,
        )
        .await
        .err()
    };
    BatchResult {
        stream,
        keys,
        settled,
        fatal,
    }
}

/// Tells the run's lookups which records were written, so links to them are found before
/// HubSpot's search index holds them.
fn remember_written<'a>(
    target: &Target,
    written: impl IntoIterator<Item = (&'a Input, &'a InputOutcome)>,
) {
    let written = written
        .into_iter()
        .filter_map(|(input, outcome)| match outcome {
            Ok(w) if matches!(w.effect, Effect::Created | Effect::Updated) => {
                Some((&input.properties, w.id.as_str()))
            }
            _ => None,
        });
    target.lookups.ids.written(&target.object_type, written);
}

fn to_outcome(r: InputOutcome) -> Outcome {
    match r {
        Ok(w) => match w.effect {
            Effect::Created => Outcome::Created,
            Effect::Updated => Outcome::Updated,
            Effect::Skipped => Outcome::Skipped,
            Effect::Archived => Outcome::Archived,
        },
        Err(rejection) => Outcome::Rejected(rejection),
    }
}

/// Records the outcome of an input for each of its records, or queues a failed merged input
/// for record-by-record resending when the failure may be one record's fault.
fn settle_input(
    settled: &mut Vec<Settled>,
    input: Input,
    outcome: InputOutcome,
    resend: &mut Vec<Input>,
) {
    let merged = input.origins.len() > 1;
    let record_id = outcome.as_ref().ok().map(|w| w.id.clone());
    if merged
        && let Err(r) = &outcome
        && matches!(r.category, Category::ValidationError | Category::Conflict)
    {
        resend.push(input);
        return;
    }
    for (i, origin) in input.origins.into_iter().enumerate() {
        // Records merged behind the first one updated what the first one wrote.
        let outcome = match (i, to_outcome(outcome.clone())) {
            (1.., Outcome::Created) => Outcome::Updated,
            (_, o) => o,
        };
        settled.push(Settled {
            origin,
            outcome,
            merged: i > 0,
            record_id: record_id.clone(),
        });
    }
}

pub(super) enum GroupReply {
    /// One outcome per input, in order.
    PerInput(Vec<InputOutcome>),
    /// HubSpot refused the request as a whole.
    Split(Rejection),
}

fn not_acknowledged(input: &Input) -> Rejection {
    Rejection::local(
        Category::NotAcknowledged,
        format!(
            "HubSpot's response listed neither a result nor an error for this record (objectWriteTraceId {}); it may not have been written",
            input.trace_id()
        ),
        None,
    )
}

async fn send_group(
    client: &Client,
    target: &Target,
    group: &[Input],
) -> Result<GroupReply, FatalError> {
    let all: Vec<&Input> = group.iter().collect();
    if !group.iter().any(|i| i.deleted) {
        return write_group(client, target, &all).await;
    }
    // Deletions are archived; the rest of the group is written as usual.
    let deletes: Vec<&Input> = group.iter().filter(|i| i.deleted).collect();
    let mut archived = match archive::send(client, target, &deletes).await? {
        GroupReply::PerInput(outcomes) => outcomes.into_iter(),
        split => return Ok(split),
    };
    let kept: Vec<&Input> = group.iter().filter(|i| !i.deleted).collect();
    let mut written = if kept.is_empty() {
        Vec::new().into_iter()
    } else {
        match write_group(client, target, &kept).await? {
            GroupReply::PerInput(outcomes) => outcomes.into_iter(),
            split => return Ok(split),
        }
    };
    Ok(GroupReply::PerInput(
        group
            .iter()
            .map(|i| {
                let next = if i.deleted {
                    archived.next()
                } else {
                    written.next()
                };
                next.unwrap_or_else(|| Err(not_acknowledged(i)))
            })
            .collect(),
    ))
}

/// The write of `group` by the stream's strategy.
async fn write_group(
    client: &Client,
    target: &Target,
    group: &[&Input],
) -> Result<GroupReply, FatalError> {
    match &target.strategy {
        Strategy::Upsert { id_property } => upsert::send(client, target, id_property, group).await,
        Strategy::UpdateByKey { id_property } => {
            update::send(client, target, id_property, group).await
        }
        Strategy::UpdateById => by_id::send(client, target, group).await,
        Strategy::CreateNew { id_property } => {
            create::send(client, target, Some(id_property), group).await
        }
        Strategy::CreateAll => create::send(client, target, None, group).await,
        Strategy::SearchMatch {
            property,
            write_mode,
        } => search_match::send(client, target, property, *write_mode, group).await,
    }
}

/// The rejection of records whose request ran out of retries.
pub(super) fn retries_exhausted(failure: SendFailure) -> Rejection {
    let SendFailure::Exhausted {
        attempts,
        reason,
        http_status,
        correlation_id,
    } = failure
    else {
        return Rejection::local(Category::RetriesExhausted, "the request failed", None);
    };
    let mut rejection = Rejection::local(
        Category::RetriesExhausted,
        format!("gave up after {attempts} attempts; last failure: {reason}"),
        None,
    );
    rejection.http = HttpDetail::boxed(http_status, correlation_id, attempts);
    rejection
}

/// Reads HubSpot's answer to a batch write of `group` (with `traces`, in order). A result
/// without HubSpot's `new` flag counts as `unflagged` (created for `batch/create`, updated for
/// `batch/update`).
pub(super) fn interpret(
    target: &Target,
    group: &[&Input],
    traces: &[String],
    answer: Result<Reply, SendFailure>,
    unflagged: Effect,
) -> Result<GroupReply, FatalError> {
    match answer {
        Err(SendFailure::Fatal(f)) => Err(f),
        Err(exhausted @ SendFailure::Exhausted { .. }) => {
            Ok(GroupReply::PerInput(vec![
                Err(retries_exhausted(exhausted));
                group.len()
            ]))
        }
        Ok(reply) if matches!(reply.status, 200 | 201 | 207) => Ok(GroupReply::PerInput(
            per_input(target, group, traces, &reply, unflagged),
        )),
        Ok(reply) if refuses_any_input(&reply) => {
            let rejection = whole_batch_rejection(&reply);
            Ok(GroupReply::PerInput(vec![Err(rejection); group.len()]))
        }
        Ok(reply) => Ok(GroupReply::Split(whole_batch_rejection(&reply))),
    }
}

fn per_input(
    target: &Target,
    group: &[&Input],
    traces: &[String],
    reply: &Reply,
    unflagged: Effect,
) -> Vec<InputOutcome> {
    let parsed: BatchResponse = match serde_json::from_slice(&reply.body) {
        Ok(p) => p,
        Err(e) => {
            let mut r = Rejection::local(
                Category::UnreadableResponse,
                format!(
                    "HubSpot answered {} with a body that could not be read: {e}",
                    reply.status
                ),
                None,
            );
            r.http = HttpDetail::boxed(
                Some(reply.status),
                reply.correlation_id.clone(),
                reply.attempts,
            );
            return vec![Err(r); group.len()];
        }
    };
    let mut by_trace: HashMap<String, InputOutcome> = HashMap::new();
    let id_property = target.strategy.id_property();
    let key_of = |props: &Option<HashMap<String, Value>>| {
        let property = id_property?;
        let v = props.as_ref()?.get(property)?.as_str()?;
        Some(if property == "email" {
            v.trim().to_lowercase()
        } else {
            v.to_string()
        })
    };
    for result in &parsed.results {
        let trace = result.object_write_trace_id.clone().or_else(|| {
            // Fallback when HubSpot does not echo the trace id: match on the key it stored.
            let key = key_of(&result.properties)?;
            group
                .iter()
                .zip(traces)
                .find(|(i, _)| i.key.as_str() == key)
                .map(|(_, t)| t.clone())
        });
        if let Some(trace) = trace {
            let id = match &result.id {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            by_trace.insert(
                trace,
                Ok(Written {
                    effect: match result.new {
                        Some(true) => Effect::Created,
                        Some(false) => Effect::Updated,
                        None => unflagged,
                    },
                    id,
                }),
            );
        }
    }
    for error in &parsed.errors {
        let message = error.message.clone().unwrap_or_else(|| "no message".into());
        let category = error.category.clone().unwrap_or_else(|| "ERROR".into());
        let http = HttpDetail::boxed(
            Some(reply.status),
            reply.correlation_id.clone(),
            reply.attempts,
        );
        let rejection = Rejection::from_hubspot(&category, message, http);
        for trace in error.trace_ids() {
            by_trace.insert(trace, Err(rejection.clone()));
        }
        // `OBJECT_NOT_FOUND` names record ids, not trace ids: the inputs keyed by those ids.
        for id in error.ids() {
            for (input, trace) in group.iter().zip(traces) {
                if input.key.as_str() == id {
                    by_trace.insert(trace.clone(), Err(rejection.clone()));
                }
            }
        }
    }
    group
        .iter()
        .zip(traces)
        .map(|(input, trace)| {
            by_trace
                .remove(trace)
                .unwrap_or_else(|| Err(not_acknowledged(input)))
        })
        .collect()
}

/// Whether a whole-batch refusal is about the request's shape rather than some input, so
/// splitting would only repeat it (e.g. 100 records → 199 requests for the same answer).
fn refuses_any_input(reply: &Reply) -> bool {
    const SHAPE_ERRORS: &[&str] = &[
        "Unable to perform update/upsert by non-unique",
        "Unable to infer object type",
    ];
    let message = ErrorBody::parse(&reply.body).message.unwrap_or_default();
    matches!(reply.status, 404 | 405 | 415) || SHAPE_ERRORS.iter().any(|p| message.starts_with(p))
}

pub(super) fn whole_batch_rejection(reply: &Reply) -> Rejection {
    let body = ErrorBody::parse(&reply.body);
    let message = body.message.clone().unwrap_or_else(|| {
        format!(
            "HTTP {}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
                .chars()
                .take(300)
                .collect::<String>()
        )
    });
    let category = body
        .category
        .clone()
        .unwrap_or_else(|| format!("HTTP_{}", reply.status));
    let http = HttpDetail::boxed(
        Some(reply.status),
        reply.correlation_id.clone(),
        reply.attempts,
    );
    let mut rejection = Rejection::from_hubspot(&category, message, http);
    if rejection.code.is_none()
        && let Some(detail) = body.errors.first()
    {
        rejection.code = detail.code.as_deref().map(Box::from);
        rejection.property = detail
            .context
            .get("propertyName")
            .and_then(|v| v.get(0))
            .and_then(Value::as_str)
            .map(Box::from);
    }
    rejection
}

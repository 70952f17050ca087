//! target-hubspot: a Singer target that loads records into HubSpot CRM through batch upserts.
//!
//! The flow of one record: [`singer`] parses the line, [`mapping`] turns it into an upsert
//! input, [`pipeline::batch`] merges same-key records into batches of at most 100, [`writer`]
//! sends them through the [`hubspot`] client and gives every record an outcome, and
//! [`output`] writes rejected records while [`pipeline::state`] releases STATE.

#![warn(missing_docs)]

pub mod about;
pub mod check;
pub mod cli;
pub mod config;
pub mod error;
pub mod hubspot;
pub mod input;
pub mod ledger;
pub mod mapping;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod run;
pub mod secret;
pub mod setup;
pub mod shutdown;
pub mod singer;
pub mod writer;

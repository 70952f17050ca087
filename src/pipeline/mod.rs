//! Singer in, batches out, STATE back: knows Singer and batches, never builds HTTP requests.

pub mod batch;
pub mod inflight;
pub mod outcome;
pub mod reject_rate;
pub mod state;

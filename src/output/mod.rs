//! What the target writes: the rejected-records file, STATE lines and the summary.

pub mod logline;
pub mod progress;
pub mod rejected;
pub mod report;
pub mod state_out;

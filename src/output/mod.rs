//! What the target writes: the rejected-records file, STATE lines and the summary.

pub mod rejected;
pub mod report;

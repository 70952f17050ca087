//! The vocabulary the rest of the crate speaks, importing nothing of it.

pub mod line;

pub use line::Line;

//! The vocabulary the rest of the crate speaks, importing nothing of it.

pub mod key;
pub mod line;
pub mod problem;
pub mod properties;
pub mod rejection;

pub use key::Key;
pub use line::Line;
pub use problem::StreamProblem;
pub use properties::Properties;
pub use rejection::Rejection;

//! Why a call to HubSpot gave no usable answer: fatal, or a reason the caller handles.

use crate::error::FatalError;

/// Why a call to HubSpot gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The run must stop (credentials, scopes, the daily limit, a signal).
    #[error(transparent)]
    Fatal(#[from] FatalError),
    /// HubSpot refused, retries ran out, or the answer was unreadable: why, in words.
    #[error("{0}")]
    Failed(String),
}

impl CallError {
    /// The reason the caller handles, or the fatal error it must pass on.
    pub fn reason(self) -> Result<String, FatalError> {
        match self {
            Self::Fatal(f) => Err(f),
            Self::Failed(reason) => Ok(reason),
        }
    }
}

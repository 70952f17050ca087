//! Why the ledger could not be used: its own error, which imports nothing of the crate.

/// Why the ledger could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// A signal ended the wait for the store.
    #[error("interrupted by a signal while waiting for the ledger")]
    Interrupted,
    /// The store refused an operation.
    #[error("ledger {store}: {message}")]
    Store {
        /// Where the ledger is (a path, or a URL without its password).
        store: String,
        /// What went wrong.
        message: String,
    },
    /// Another run holds the ledger.
    #[error(
        "ledger {store} is in use by another run ({holder}); two runs on one ledger would each send what the other already sent. Wait for it to finish, or give this run its own ledger"
    )]
    Locked {
        /// Where the ledger is.
        store: String,
        /// What is known about the other run.
        holder: String,
    },
}

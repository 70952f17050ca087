//! Why a stream cannot be written as configured, by kind: what `--check` lists and what
//! stops a run at the stream's SCHEMA.

/// Why a stream cannot be written as configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamProblem {
    /// Its object type, or an association's, is not one the portal has.
    #[error("{0}")]
    ObjectType(String),
    /// Its key (`id_property`, `id_field`, `match_property`) cannot identify records.
    #[error("{0}")]
    Key(String),
    /// A rename, or `hard_delete`, that the object type's properties cannot take.
    #[error("{0}")]
    Mapping(String),
    /// An association's property, type or label cannot be resolved.
    #[error("{0}")]
    Association(String),
    /// A property for an unknown field could not be made (`unknown_fields: create`).
    #[error("{0}")]
    NewProperty(String),
    /// `on_removed` without a key the ledger can know records by.
    #[error("{0}")]
    Removal(String),
}

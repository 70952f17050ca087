//! How HubSpot finds a record's counterpart: the record's key, or, for a record that has none
//! (`create_only` without a key), its place in the input.

use std::fmt;
use std::ops::Deref;

/// A record's key as batches, in-flight tracking and the ledger know it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// The normalised identifying value (an email lowercased, a unique value, a record id),
    /// or a keyless stream's `key_properties` values as JSON text.
    Value(String),
    /// A record with no key of its own, told apart by its position in the input (`#12`):
    /// never merged with another, never in the ledger.
    Unkeyed(String),
}

impl Key {
    /// The key of the record read at position `seq` that has none.
    pub fn unkeyed(seq: u64) -> Self {
        Self::Unkeyed(format!("#{seq}"))
    }

    /// Whether the record has a key of its own (the ledger can know it by it).
    pub fn is_keyed(&self) -> bool {
        matches!(self, Self::Value(_))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Value(v) | Self::Unkeyed(v) => v,
        }
    }
}

impl Deref for Key {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Key {
    fn eq(&self, other: &&str) -> bool {
        self.is_keyed() && self.as_str() == *other
    }
}

impl From<String> for Key {
    fn from(v: String) -> Self {
        Self::Value(v)
    }
}

impl From<&str> for Key {
    fn from(v: &str) -> Self {
        Self::Value(v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_that_starts_like_a_position_is_still_a_key() {
        let real = Key::from("#12");
        let position = Key::unkeyed(12);
        assert!(real.is_keyed());
        assert!(!position.is_keyed());
        assert_eq!(real.as_str(), position.as_str());
        assert_ne!(real, position, "never merged with each other");
    }
}

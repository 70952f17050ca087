//! Key normalisation: the identifying value of a record, as HubSpot matches it.

use super::values::Field;

/// How a stream's keys are normalised before matching and batching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Emails: trimmed and lowercased (HubSpot matches contacts' emails case-insensitively).
    Email,
    /// A unique-value property: trimmed; numbers as written.
    Unique,
}

/// Why a record's key cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblem {
    /// No field, `null`, or blank.
    Missing,
    /// A value of a type that cannot be a key (an object, an array, a boolean, a number for
    /// an email).
    NotText,
}

impl KeyKind {
    /// The normalised key of a field's value.
    pub fn normalise(self, field: Option<&Field>) -> Result<String, KeyProblem> {
        let text = match (field, self) {
            (None | Some(Field::Blank), _) => return Err(KeyProblem::Missing),
            (Some(Field::Text(s)), _) => s.trim(),
            (Some(Field::Number(n)), Self::Unique) => n,
            (Some(_), _) => return Err(KeyProblem::NotText),
        };
        Ok(match self {
            Self::Email => text.to_lowercase(),
            Self::Unique => text.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased_and_numbers_only_key_unique_properties() {
        let email = Field::Text("  Ann@Example.COM ".into());
        assert_eq!(
            KeyKind::Email.normalise(Some(&email)).unwrap(),
            "ann@example.com"
        );
        assert_eq!(
            KeyKind::Unique
                .normalise(Some(&Field::Number("0042")))
                .unwrap(),
            "0042"
        );
        assert_eq!(
            KeyKind::Email.normalise(Some(&Field::Number("5"))),
            Err(KeyProblem::NotText)
        );
        assert_eq!(
            KeyKind::Unique.normalise(Some(&Field::Blank)),
            Err(KeyProblem::Missing)
        );
        assert_eq!(KeyKind::Unique.normalise(None), Err(KeyProblem::Missing));
    }
}

//! Key normalisation: the identifying value of a record, as HubSpot matches it.

use super::values::Field;

/// How a stream's keys are normalised before matching and batching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Emails: trimmed and lowercased (HubSpot matches contacts' emails case-insensitively).
    Email,
    /// A unique-value property: trimmed; numbers as written.
    Unique,
    /// HubSpot's record id: digits only (a string or a whole number), leading zeros dropped.
    RecordId,
    /// A company domain matched by search: trimmed and lowercased, without scheme, `www.`,
    /// port or path (`https://www.Acme.com/about` → `acme.com`).
    Domain,
    /// Any other property matched by search: trimmed and lowercased (HubSpot's search
    /// compares strings case-insensitively and wants `IN` values in lower case).
    Searched,
}

impl KeyKind {
    /// How keys of `property` are normalised when a stream matches records by searching it.
    pub fn for_search(property: &str) -> Self {
        match property {
            "domain" => Self::Domain,
            "email" => Self::Email,
            _ => Self::Searched,
        }
    }
}

/// A domain as HubSpot's `domain` property should hold it: `https://www.Acme.com/about` →
/// `acme.com`.
pub fn normalise_domain(text: &str) -> String {
    let lower = text.trim().to_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower);
    let rest = rest.strip_prefix("www.").unwrap_or(rest);
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    host.trim_end_matches('.').to_string()
}

/// Why a record's key cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblem {
    /// No field, `null`, or blank.
    Missing,
    /// A value of a type that cannot be a key (an object, an array, a boolean, a number for
    /// an email).
    NotText,
    /// A value that is not a record id (anything but digits).
    NotRecordId,
}

impl KeyKind {
    /// The normalised key of a field's value.
    pub fn normalise(self, field: Option<&Field>) -> Result<String, KeyProblem> {
        let text = match (field, self) {
            (None | Some(Field::Blank), _) => return Err(KeyProblem::Missing),
            (Some(Field::Text(s)), _) => s.trim(),
            (Some(Field::Number(n)), Self::Unique | Self::RecordId | Self::Searched) => n,
            (Some(_), _) => return Err(KeyProblem::NotText),
        };
        Ok(match self {
            Self::Email => text.to_lowercase(),
            Self::Unique => text.to_string(),
            Self::Domain => {
                let domain = normalise_domain(text);
                if domain.is_empty() {
                    return Err(KeyProblem::Missing);
                }
                domain
            }
            Self::Searched => text.to_lowercase(),
            Self::RecordId => {
                if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(KeyProblem::NotRecordId);
                }
                let trimmed = text.trim_start_matches('0');
                if trimmed.is_empty() { "0" } else { trimmed }.to_string()
            }
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

    #[test]
    fn domains_lose_scheme_www_port_path_and_case() {
        for given in [
            "acme.com",
            "  ACME.com ",
            "https://www.acme.com",
            "http://Acme.com/about?x=1",
            "www.acme.com:443/",
            "acme.com.",
        ] {
            assert_eq!(normalise_domain(given), "acme.com", "{given}");
        }
        assert_eq!(normalise_domain("shop.acme.co.uk"), "shop.acme.co.uk");
        assert_eq!(
            KeyKind::Domain.normalise(Some(&Field::Text("https://".into()))),
            Err(KeyProblem::Missing)
        );
        assert_eq!(
            KeyKind::Searched
                .normalise(Some(&Field::Text(" Big Deal ".into())))
                .unwrap(),
            "big deal"
        );
    }

    #[test]
    fn record_ids_are_digits_written_as_text_or_numbers() {
        let id = |f: Field| KeyKind::RecordId.normalise(Some(&f));
        assert_eq!(id(Field::Text(" 00123 ".into())).unwrap(), "123");
        assert_eq!(id(Field::Number("77")).unwrap(), "77");
        assert_eq!(id(Field::Text("12a".into())), Err(KeyProblem::NotRecordId));
        assert_eq!(id(Field::Number("1.5")), Err(KeyProblem::NotRecordId));
        assert_eq!(id(Field::Number("-3")), Err(KeyProblem::NotRecordId));
    }
}

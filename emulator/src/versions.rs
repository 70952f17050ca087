//! HubSpot's API versions: the numbered routes (`/crm/v3/…`, `/crm/v4/associations/…`,
//! `/oauth/v1/token`) and the dated ones (`/crm/objects/2026-03/…`), released every March and
//! September. Where a version's semantics differ, handlers ask the request's [`ApiVersion`].

use std::fmt;
use std::str::FromStr;

/// One of the versions the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiVersion {
    /// The numbered routes.
    Numbered,
    /// `2026-03`.
    Dated2026_03,
    /// `2026-09`: batch create, update and upsert answer per-input errors inside a 200 (no
    /// 207), and the portal's validation rules apply to API writes.
    Dated2026_09,
}

impl ApiVersion {
    /// Every version, the default of `--api-versions`.
    pub const ALL: [Self; 3] = [Self::Numbered, Self::Dated2026_03, Self::Dated2026_09];

    /// The path segment of a dated version; `None` for the numbered routes.
    pub fn date(self) -> Option<&'static str> {
        match self {
            Self::Numbered => None,
            Self::Dated2026_03 => Some("2026-03"),
            Self::Dated2026_09 => Some("2026-09"),
        }
    }

    /// The version a request path belongs to.
    pub fn of_path(path: &str) -> Self {
        if path.contains("/2026-09/") || path.ends_with("/2026-09") {
            Self::Dated2026_09
        } else if path.contains("/2026-03/") || path.ends_with("/2026-03") {
            Self::Dated2026_03
        } else {
            Self::Numbered
        }
    }

    /// Whether a batch write with some failed inputs answers 207 (before 2026-09) rather
    /// than 200 with `errors[]`.
    pub fn multi_status(self) -> bool {
        self != Self::Dated2026_09
    }

    /// Whether the portal's validation rules (`--require-on-create`) apply to API writes:
    /// from 2026-09 on (HubSpot's changelog on validation enforcement).
    pub fn validates(self) -> bool {
        self == Self::Dated2026_09
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.date().unwrap_or("v3"))
    }
}

impl FromStr for ApiVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "v3" | "v4" | "numbered" => Ok(Self::Numbered),
            "2026-03" => Ok(Self::Dated2026_03),
            "2026-09" => Ok(Self::Dated2026_09),
            other => Err(format!(
                "unknown API version '{other}': use v3 (the numbered routes), 2026-03 or 2026-09"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_names_its_version() {
        assert_eq!(
            ApiVersion::of_path("/crm/objects/2026-09/contacts/batch/upsert"),
            ApiVersion::Dated2026_09
        );
        assert_eq!(
            ApiVersion::of_path("/oauth/2026-03/token"),
            ApiVersion::Dated2026_03
        );
        assert_eq!(
            ApiVersion::of_path("/crm/v3/objects/contacts"),
            ApiVersion::Numbered
        );
        assert_eq!("v3".parse(), Ok(ApiVersion::Numbered));
        assert!("2025-01".parse::<ApiVersion>().is_err());
    }
}

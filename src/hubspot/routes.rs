//! Every path the target calls, built from the API version in use: the one place a route is
//! written.
//!
//! HubSpot ships a dated version every March and September (supported for 18 months) and
//! retires the numbered ones: OAuth v1 after 2027-02-16, v4 associations after 2027-03-30,
//! v1–v3 in September 2027 (its developer changelog).

use std::fmt;
use std::str::FromStr;

/// Which of HubSpot's APIs the target calls (`api_version`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ApiVersion {
    /// The numbered routes (`/crm/v3/…`, `/crm/v4/associations/…`, `/oauth/v1/token`).
    V3,
    /// `2026-03`.
    Dated2026_03,
    /// `2026-09`: batch writes answer 200 with per-input `errors[]` instead of 207.
    #[default]
    Dated2026_09,
}

impl ApiVersion {
    /// Every version, as `api_version` spells it.
    pub const ALL: [Self; 3] = [Self::Dated2026_09, Self::Dated2026_03, Self::V3];

    /// The setting's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V3 => "v3",
            Self::Dated2026_03 => "2026-03",
            Self::Dated2026_09 => "2026-09",
        }
    }

    /// When HubSpot stops supporting what this version calls, if it has said.
    pub fn retired(self) -> Option<&'static str> {
        match self {
            Self::V3 => Some(
                "HubSpot supports OAuth v1 until 2027-02-16, v4 associations until 2027-03-30 and the v3 objects, properties, schemas and account APIs until September 2027",
            ),
            // Dated versions are supported for 18 months from their release.
            Self::Dated2026_03 => Some("HubSpot supports 2026-03 until September 2027"),
            Self::Dated2026_09 => Some("HubSpot supports 2026-09 until March 2028"),
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s.trim())
            .ok_or_else(|| format!("api_version must be 2026-09, 2026-03 or v3, got '{s}'"))
    }
}

/// The paths of one API version.
#[derive(Debug, Clone, Copy, Default)]
pub struct Routes {
    /// The version they belong to.
    pub version: ApiVersion,
}

impl Routes {
    /// Routes of `version`.
    pub fn new(version: ApiVersion) -> Self {
        Self { version }
    }

    fn dated(self) -> Option<&'static str> {
        match self.version {
            ApiVersion::V3 => None,
            v => Some(v.as_str()),
        }
    }

    /// `…/objects/{t}`: records of a type.
    pub fn objects(self, object_type: &str) -> String {
        match self.dated() {
            None => format!("/crm/v3/objects/{object_type}"),
            Some(v) => format!("/crm/objects/{v}/{object_type}"),
        }
    }

    /// `…/objects/{t}/batch/{op}` (`upsert`, `create`, `update`, `read`, `archive`).
    pub fn batch(self, object_type: &str, op: &str) -> String {
        format!("{}/batch/{op}", self.objects(object_type))
    }

    /// `…/objects/{t}/search`.
    pub fn search(self, object_type: &str) -> String {
        format!("{}/search", self.objects(object_type))
    }

    /// `…/objects/{t}/{id}`: one record.
    pub fn object(self, object_type: &str, id: &str) -> String {
        format!("{}/{id}", self.objects(object_type))
    }

    /// `…/properties/{t}`: a type's property definitions.
    pub fn properties(self, object_type: &str) -> String {
        match self.dated() {
            None => format!("/crm/v3/properties/{object_type}"),
            Some(v) => format!("/crm/properties/{v}/{object_type}"),
        }
    }

    /// `…/properties/{t}/groups`.
    pub fn property_groups(self, object_type: &str) -> String {
        format!("{}/groups", self.properties(object_type))
    }

    /// `…/schemas`: the portal's custom object types.
    pub fn schemas(self) -> String {
        match self.dated() {
            None => "/crm-object-schemas/v3/schemas".into(),
            Some(v) => format!("/crm-object-schemas/{v}/schemas"),
        }
    }

    /// `…/associations/{from}/{to}`, the base of association batches and labels.
    fn associations(self, from: &str, to: &str) -> String {
        match self.dated() {
            None => format!("/crm/v4/associations/{from}/{to}"),
            Some(v) => format!("/crm/associations/{v}/{from}/{to}"),
        }
    }

    /// `…/associations/{from}/{to}/batch/{op}` (`create`, `associate/default`).
    pub fn association_batch(self, from: &str, to: &str, op: &str) -> String {
        format!("{}/batch/{op}", self.associations(from, to))
    }

    /// `…/associations/{from}/{to}/labels`: the association types between two types.
    pub fn association_labels(self, from: &str, to: &str) -> String {
        format!("{}/labels", self.associations(from, to))
    }

    /// `…/account-info/…/details`: the portal's id.
    pub fn account_details(self) -> String {
        match self.dated() {
            None => "/account-info/v3/details".into(),
            Some(v) => format!("/account-info/{v}/details"),
        }
    }

    /// `…/imports`: the Imports API (`/crm/v3/imports`, `/crm/imports/2026-09`).
    pub fn imports(self) -> String {
        match self.dated() {
            None => "/crm/v3/imports".to_string(),
            Some(v) => format!("/crm/imports/{v}"),
        }
    }

    /// `…/imports/{id}` and below (`cancel`, `errors`): `tail` empty for the import itself.
    pub fn import(self, id: &str, tail: &str) -> String {
        match tail {
            "" => format!("{}/{id}", self.imports()),
            tail => format!("{}/{id}/{tail}", self.imports()),
        }
    }

    /// The OAuth token endpoint: `/oauth/v1/token`, or `/oauth/2026-03/token` (form body,
    /// RFC 6749 errors) for the dated versions.
    pub fn oauth_token(self) -> &'static str {
        match self.version {
            ApiVersion::V3 => "/oauth/v1/token",
            _ => "/oauth/2026-03/token",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_of_every_version_is_pinned() {
        let table: Vec<String> = ApiVersion::ALL
            .into_iter()
            .map(|v| {
                let r = Routes::new(v);
                [
                    r.batch("contacts", "upsert"),
                    r.search("companies"),
                    r.object("deals", "7"),
                    r.properties("contacts"),
                    r.property_groups("contacts"),
                    r.schemas(),
                    r.association_batch("deals", "companies", "associate/default"),
                    r.association_labels("deals", "contacts"),
                    r.account_details(),
                    r.oauth_token().to_string(),
                ]
                .join("\n")
            })
            .collect();
        insta::assert_snapshot!(table.join("\n\n"), @r"
        /crm/objects/2026-09/contacts/batch/upsert
        /crm/objects/2026-09/companies/search
        /crm/objects/2026-09/deals/7
        /crm/properties/2026-09/contacts
        /crm/properties/2026-09/contacts/groups
        /crm-object-schemas/2026-09/schemas
        /crm/associations/2026-09/deals/companies/batch/associate/default
        /crm/associations/2026-09/deals/contacts/labels
        /account-info/2026-09/details
        /oauth/2026-03/token

        /crm/objects/2026-03/contacts/batch/upsert
        /crm/objects/2026-03/companies/search
        /crm/objects/2026-03/deals/7
        /crm/properties/2026-03/contacts
        /crm/properties/2026-03/contacts/groups
        /crm-object-schemas/2026-03/schemas
        /crm/associations/2026-03/deals/companies/batch/associate/default
        /crm/associations/2026-03/deals/contacts/labels
        /account-info/2026-03/details
        /oauth/2026-03/token

        /crm/v3/objects/contacts/batch/upsert
        /crm/v3/objects/companies/search
        /crm/v3/objects/deals/7
        /crm/v3/properties/contacts
        /crm/v3/properties/contacts/groups
        /crm-object-schemas/v3/schemas
        /crm/v4/associations/deals/companies/batch/associate/default
        /crm/v4/associations/deals/contacts/labels
        /account-info/v3/details
        /oauth/v1/token
        ");
    }

    #[test]
    fn versions_are_read_as_the_setting_spells_them() {
        assert_eq!("2026-03".parse(), Ok(ApiVersion::Dated2026_03));
        assert_eq!(" v3".parse(), Ok(ApiVersion::V3));
        assert!("v4".parse::<ApiVersion>().is_err());
        assert_eq!(ApiVersion::default().as_str(), "2026-09");
    }
}

//! Refusals a test can ask for: a token without some scopes (`--scopes`) answers HubSpot's
//! 403 `MISSING_SCOPES`, and an object type whose next writes are locked (`--lock`) answers
//! 423 `LOCKED`, so that a client's scope and lock handling is exercised end to end rather
//! than through mocks or random faults.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::Method;

/// The scope a request needs, from its path and method. \[INFERENCE\] the mapping: HubSpot's
/// objects guide names `crm.objects.{type}.read|write` and `crm.schemas.{type}.read|write`;
/// custom objects use `crm.objects.custom.*` and `crm.schemas.custom.*`; engagement and other
/// types are named by their plural. `None` for routes that need none (account details).
pub fn required_scope(method: &Method, path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let write =
        method != Method::GET && !path.ends_with("/search") && !path.ends_with("/batch/read");
    let access = if write { "write" } else { "read" };
    let named = |object_type: &str| {
        if object_type.starts_with("2-")
            || object_type.starts_with('p') && object_type.contains('_')
        {
            "custom".to_string()
        } else {
            match object_type {
                "0-1" => "contacts".into(),
                "0-2" => "companies".into(),
                "0-3" => "deals".into(),
                "0-5" => "tickets".into(),
                other => other.to_string(),
            }
        }
    };
    // The segment after the area and its version (`v3`, `v4`, `2026-09`).
    let after_version = |area: usize| segments.get(area + 2).copied();
    match segments.as_slice() {
        ["crm", "v3" | "v4", "objects", t, ..] | ["crm", "objects", _, t, ..] => {
            Some(format!("crm.objects.{}.{access}", named(t)))
        }
        ["crm", "v3", "properties", t, ..] | ["crm", "properties", _, t, ..] => {
            Some(format!("crm.schemas.{}.{access}", named(t)))
        }
        ["crm-object-schemas", ..] | ["crm", "v3", "schemas", ..] => {
            Some(format!("crm.schemas.custom.{access}"))
        }
        ["crm", "v4", "associations", from, ..] => {
            Some(format!("crm.objects.{}.{access}", named(from)))
        }
        ["crm", "associations", ..] => {
            after_version(1).map(|from| format!("crm.objects.{}.{access}", named(from)))
        }
        ["crm", "v3", "lists", ..] => Some(format!("crm.lists.{access}")),
        ["crm", "v3", "imports", ..] | ["crm", "imports", ..] => Some("crm.import".into()),
        _ => None,
    }
}

/// Object types whose next writes answer 423, by type name or id, with how many remain.
#[derive(Debug, Default)]
pub struct Locks {
    remaining: Mutex<HashMap<String, u32>>,
}

impl Locks {
    /// Locks from `--lock TYPE:N` rules.
    pub fn new(rules: &[(String, u32)]) -> Self {
        Self {
            remaining: Mutex::new(rules.iter().cloned().collect()),
        }
    }

    /// Whether this write to `path` meets a lock (and uses one up).
    pub fn take(&self, method: &Method, path: &str) -> bool {
        if method == Method::GET || path.ends_with("/search") || path.ends_with("/batch/read") {
            return false;
        }
        let mut remaining = self.remaining.lock().unwrap_or_else(|e| e.into_inner());
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let object_type = match segments.as_slice() {
            ["crm", "v3", "objects", t, ..] | ["crm", "objects", _, t, ..] => *t,
            _ => return false,
        };
        match remaining.get_mut(object_type) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_needs_the_scope_hubspot_names() {
        let scope = |m: Method, p: &str| required_scope(&m, p);
        assert_eq!(
            scope(Method::POST, "/crm/objects/2026-09/contacts/batch/upsert").as_deref(),
            Some("crm.objects.contacts.write")
        );
        assert_eq!(
            scope(Method::POST, "/crm/v3/objects/deals/search").as_deref(),
            Some("crm.objects.deals.read")
        );
        assert_eq!(
            scope(Method::GET, "/crm/properties/2026-09/companies").as_deref(),
            Some("crm.schemas.companies.read")
        );
        assert_eq!(
            scope(
                Method::POST,
                "/crm/associations/2026-09/deals/contacts/batch/create"
            )
            .as_deref(),
            Some("crm.objects.deals.write")
        );
        assert_eq!(
            scope(Method::POST, "/crm/v3/objects/p123_cars/batch/create").as_deref(),
            Some("crm.objects.custom.write")
        );
        assert_eq!(scope(Method::GET, "/account-info/v3/details"), None);
    }
}

//! Object types by any name a user gives them: HubSpot's standard types by plural or singular
//! name or type id, custom objects by name, label, fully qualified name (`p{portal}_{name}`)
//! or type id (`2-N`), resolved through the schemas API once per run.
//!
//! Every name resolves to one canonical spelling (a standard type's plural name, a custom
//! object's type id), so that two streams writing one type are recognised as such however
//! their configs spell it.

use serde::Deserialize;

use super::CallError;
use super::client::Client;

/// HubSpot's standard object types: `(type id, plural name, singular name)`.
const STANDARD: &[(&str, &str, &str)] = &[
    ("0-1", "contacts", "contact"),
    ("0-2", "companies", "company"),
    ("0-3", "deals", "deal"),
    ("0-5", "tickets", "ticket"),
    ("0-7", "products", "product"),
    ("0-8", "line_items", "line_item"),
    ("0-14", "quotes", "quote"),
    ("0-27", "tasks", "task"),
    ("0-46", "notes", "note"),
    ("0-47", "meetings", "meeting"),
    ("0-48", "calls", "call"),
    ("0-49", "emails", "email"),
];

/// The canonical (plural) name of a standard object type, however it is spelled.
pub fn standard_type(given: &str) -> Option<&'static str> {
    let lower = given.trim().to_ascii_lowercase();
    STANDARD
        .iter()
        .find(|(id, plural, singular)| lower == *id || lower == *plural || lower == *singular)
        .map(|(_, plural, _)| *plural)
}

/// The type id (`0-1`, `2-N`) of an object type in its canonical spelling (a standard type's
/// plural name, a custom object's type id), as the Imports API names types.
pub fn type_id(canonical: &str) -> &str {
    STANDARD
        .iter()
        .find(|(_, plural, _)| *plural == canonical)
        .map_or(canonical, |(id, _, _)| *id)
}

/// One custom object schema, as far as naming goes.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomObject {
    /// Its name (`cars`).
    pub name: String,
    /// Singular and plural labels.
    #[serde(default)]
    pub labels: Labels,
    /// `p{portal}_{name}`.
    #[serde(default)]
    pub fully_qualified_name: String,
    /// `2-N`.
    pub object_type_id: String,
}

/// A custom object's labels.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Labels {
    /// `Car`.
    #[serde(default)]
    pub singular: String,
    /// `Cars`.
    #[serde(default)]
    pub plural: String,
}

impl CustomObject {
    fn names(&self) -> [&str; 5] {
        [
            &self.name,
            &self.labels.singular,
            &self.labels.plural,
            &self.fully_qualified_name,
            &self.object_type_id,
        ]
    }

    fn describe(&self) -> String {
        format!(
            "{} ({}, {})",
            self.name, self.fully_qualified_name, self.object_type_id
        )
    }
}

/// Canonical object type of `given` among `custom` objects, or why there is none: the error
/// lists the custom objects that exist, or the ones `given` could mean.
pub fn resolve(given: &str, custom: &[CustomObject]) -> Result<String, String> {
    if let Some(standard) = standard_type(given) {
        return Ok(standard.to_string());
    }
    let wanted = given.trim();
    let matches: Vec<&CustomObject> = custom
        .iter()
        .filter(|c| c.names().iter().any(|n| n.eq_ignore_ascii_case(wanted)))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.object_type_id.clone()),
        [] => {
            let known: Vec<String> = custom.iter().map(CustomObject::describe).collect();
            Err(format!(
                "'{given}' is neither a standard object type nor a custom object of this portal (custom objects: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ))
        }
        several => Err(format!(
            "'{given}' names several custom objects: {}; use the fully qualified name or the type id",
            several
                .iter()
                .map(|c| c.describe())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Resolves object type names for one run, reading the portal's custom objects the first
/// time a name is not a standard type.
#[derive(Debug, Default)]
pub struct ObjectTypes {
    custom: Option<Vec<CustomObject>>,
}

impl ObjectTypes {
    /// The canonical object type of `given`; [`CallError::Failed`] says why there is none.
    pub async fn canonical(&mut self, client: &Client, given: &str) -> Result<String, CallError> {
        if let Some(standard) = standard_type(given) {
            return Ok(standard.to_string());
        }
        if self.custom.is_none() {
            self.custom = Some(custom_objects(client).await?);
        }
        resolve(given, self.custom.as_deref().unwrap_or_default()).map_err(CallError::Failed)
    }
}

/// One association type between two object types, as the labels API lists it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AssociationType {
    /// `HUBSPOT_DEFINED` or `USER_DEFINED`.
    pub category: String,
    /// The type id.
    pub type_id: u32,
    /// Its label; `None` for the default (unlabelled) type.
    pub label: Option<String>,
}

/// `GET …/associations/{from}/{to}/labels`: the association types between two types.
pub async fn association_types(
    client: &Client,
    from: &str,
    to: &str,
) -> Result<Vec<AssociationType>, CallError> {
    match client
        .get_results(&client.routes.association_labels(from, to), from)
        .await
    {
        Ok(types) => Ok(types),
        Err(e) => Err(CallError::Failed(format!(
            "reading the association types from {from} to {to} failed: {}",
            e.reason()?
        ))),
    }
}

/// The association type from `from` to `to` with `label` (any case), or without a label the
/// default (unlabelled, `HUBSPOT_DEFINED`) one; [`CallError::Failed`] names what is missing
/// and lists what there is. `field` names the association in messages.
pub async fn association_type(
    client: &Client,
    from: &str,
    to: &str,
    label: Option<&str>,
    field: &str,
) -> Result<AssociationType, CallError> {
    let types = association_types(client, from, to).await?;
    let chosen = match label {
        Some(label) => types.iter().find(|t| {
            t.label
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case(label))
        }),
        None => types
            .iter()
            .find(|t| t.label.is_none() && t.category == "HUBSPOT_DEFINED"),
    };
    if let Some(chosen) = chosen {
        return Ok(chosen.clone());
    }
    let known: Vec<String> = types
        .iter()
        .map(|t| match &t.label {
            Some(l) => format!("'{l}' ({} {})", t.category, t.type_id),
            None => format!("unlabelled ({} {})", t.category, t.type_id),
        })
        .collect();
    Err(CallError::Failed(format!(
        "association field '{field}': {} between {from} and {to} (known: {})",
        match label {
            Some(l) => format!("no association label '{l}'"),
            None => "no default association type".to_string(),
        },
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        }
    )))
}

/// `GET …/schemas`: the portal's custom objects.
async fn custom_objects(client: &Client) -> Result<Vec<CustomObject>, CallError> {
    match client
        .get_results(&client.routes.schemas(), "schemas")
        .await
    {
        Ok(list) => Ok(list),
        Err(e) => Err(CallError::Failed(format!(
            "reading the portal's custom objects failed: {}",
            e.reason()?
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn car() -> CustomObject {
        CustomObject {
            name: "cars".into(),
            labels: Labels {
                singular: "Car".into(),
                plural: "Cars".into(),
            },
            fully_qualified_name: "p123_cars".into(),
            object_type_id: "2-7".into(),
        }
    }

    #[test]
    fn every_spelling_of_a_type_resolves_to_one_canonical_name() {
        for given in ["companies", "Company", "0-2", " COMPANIES "] {
            assert_eq!(resolve(given, &[]).as_deref(), Ok("companies"), "{given}");
        }
        for given in ["cars", "Car", "Cars", "p123_cars", "2-7"] {
            assert_eq!(resolve(given, &[car()]).as_deref(), Ok("2-7"), "{given}");
        }
    }

    #[test]
    fn unknown_and_ambiguous_names_list_the_custom_objects() {
        assert_eq!(
            resolve("boats", &[car()]).unwrap_err(),
            "'boats' is neither a standard object type nor a custom object of this portal (custom objects: cars (p123_cars, 2-7))"
        );
        let mut other = car();
        other.name = "car".into();
        other.fully_qualified_name = "p123_car".into();
        other.object_type_id = "2-8".into();
        assert_eq!(
            resolve("Car", &[car(), other]).unwrap_err(),
            "'Car' names several custom objects: cars (p123_cars, 2-7), car (p123_car, 2-8); use the fully qualified name or the type id"
        );
    }
}

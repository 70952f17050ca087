//! The portal every emulator starts with: HubSpot's standard object types and a realistic
//! subset of their default properties. Like a real portal, it has no unique-value custom
//! property until one is created (`POST /crm/v3/properties/{type}` or `--preload`).

use std::collections::{BTreeMap, HashMap};

use crate::model::{ObjectType, PropertyDef};

/// HubSpot's standard properties of each standard type, by type id, in the shape HubSpot's
/// properties API answers them (`name`, `label`, `type`, `fieldType`, `groupName`, `options`
/// with HubSpot's labels, `hasUniqueValue`, `calculated`, `externalOptions`,
/// `modificationMetadata.readOnlyValue`): a realistic subset, kept as data so that a real
/// portal's definitions can replace or extend it. \[INFERENCE\] the labels of options other
/// than `industry`, `lifecyclestage`, `hs_lead_status`, `type` and `dealtype` (title case of
/// the value), and the group of types other than contacts (`{type}information`).
const STANDARD_PROPERTIES: &str = include_str!("standard_properties.json");

/// The standard properties of type `type_id`, from [`STANDARD_PROPERTIES`].
fn definitions(type_id: &str) -> Vec<PropertyDef> {
    static TABLE: std::sync::OnceLock<HashMap<String, Vec<serde_json::Value>>> =
        std::sync::OnceLock::new();
    TABLE
        .get_or_init(|| serde_json::from_str(STANDARD_PROPERTIES).unwrap_or_default())
        .get(type_id)
        .into_iter()
        .flatten()
        .filter_map(PropertyDef::from_json)
        .collect()
}

/// An engagement type: created as `hs_createdate`, `hs_timestamp` required.
fn engagement_type(
    type_id: &str,
    name: &str,
    singular: &str,
    properties: Vec<PropertyDef>,
) -> ObjectType {
    let mut t = object_type(type_id, name, singular, "hs_lastmodifieddate", properties);
    t.created_property = "hs_createdate".to_string();
    t.required = vec!["hs_timestamp".to_string()];
    t
}

/// Builds an empty object type.
pub fn object_type(
    type_id: &str,
    name: &str,
    singular: &str,
    modified: &str,
    properties: Vec<PropertyDef>,
) -> ObjectType {
    let mut unique_index = HashMap::new();
    let mut t = ObjectType {
        type_id: type_id.to_string(),
        name: name.to_string(),
        upper_singular: singular.to_uppercase(),
        modified_property: modified.to_string(),
        fully_qualified_name: None,
        labels: (singular.to_string(), name.to_string()),
        primary_display_property: None,
        properties,
        objects: BTreeMap::new(),
        unique_index: HashMap::new(),
        created_at: "2019-08-06T02:41:52.000Z".to_string(),
        created_groups: Default::default(),
        merged: HashMap::new(),
        created_property: "createdate".to_string(),
        required: Vec::new(),
        searchable: Vec::new(),
        secondary_display: Vec::new(),
        associated_objects: Vec::new(),
    };
    for p in t.indexed_properties() {
        unique_index.insert(p, HashMap::new());
    }
    t.unique_index = unique_index;
    // HubSpot's standard properties sit in the type's own group: `contactinformation`,
    // `companyinformation`, `dealinformation`, … as HubSpot's properties guide shows for
    // contacts; [INFERENCE] the same pattern for the other types.
    let own = format!("{}information", t.upper_singular.to_lowercase());
    for p in &mut t.properties {
        if p.group_name == "information" {
            p.group_name = own.clone();
        }
    }
    t
}

/// The standard object types of a new portal.
pub fn standard_types() -> Vec<ObjectType> {
    vec![
        object_type(
            "0-1",
            "contacts",
            "contact",
            "lastmodifieddate",
            definitions("0-1"),
        ),
        object_type(
            "0-2",
            "companies",
            "company",
            "hs_lastmodifieddate",
            definitions("0-2"),
        ),
        object_type(
            "0-3",
            "deals",
            "deal",
            "hs_lastmodifieddate",
            definitions("0-3"),
        ),
        object_type(
            "0-5",
            "tickets",
            "ticket",
            "hs_lastmodifieddate",
            definitions("0-5"),
        ),
        object_type(
            "0-7",
            "products",
            "product",
            "hs_lastmodifieddate",
            definitions("0-7"),
        ),
        object_type(
            "0-8",
            "line_items",
            "line_item",
            "hs_lastmodifieddate",
            definitions("0-8"),
        ),
        engagement_type("0-46", "notes", "note", definitions("0-46")),
        engagement_type("0-27", "tasks", "task", definitions("0-27")),
        engagement_type("0-48", "calls", "call", definitions("0-48")),
        engagement_type("0-47", "meetings", "meeting", definitions("0-47")),
        engagement_type("0-49", "emails", "email", definitions("0-49")),
        {
            let mut t = object_type(
                "0-14",
                "quotes",
                "quote",
                "hs_lastmodifieddate",
                definitions("0-14"),
            );
            t.required = vec!["hs_title".to_string(), "hs_expiration_date".to_string()];
            t
        },
    ]
}

/// Default HUBSPOT_DEFINED association type ids, directional, by `(from, to)` type id.
pub const DEFAULT_ASSOCIATIONS: &[(&str, &str, u32, &str)] = &[
    ("0-1", "0-2", 279, ""),
    ("0-1", "0-2", 1, "Primary"),
    ("0-2", "0-1", 280, ""),
    ("0-2", "0-1", 2, "Primary"),
    ("0-3", "0-1", 3, ""),
    ("0-1", "0-3", 4, ""),
    ("0-3", "0-2", 341, ""),
    ("0-3", "0-2", 5, "Primary"),
    ("0-2", "0-3", 342, ""),
    ("0-2", "0-3", 6, "Primary"),
    ("0-1", "0-5", 15, ""),
    ("0-5", "0-1", 16, ""),
    ("0-2", "0-5", 25, "Primary"),
    ("0-5", "0-2", 26, "Primary"),
    ("0-3", "0-8", 19, ""),
    ("0-8", "0-3", 20, ""),
    // Engagements and quotes ([INFERENCE] beyond note→deal 214, which is recorded: HubSpot's
    // published table of default type ids).
    ("0-46", "0-1", 202, ""),
    ("0-1", "0-46", 201, ""),
    ("0-46", "0-2", 190, ""),
    ("0-2", "0-46", 189, ""),
    ("0-46", "0-3", 214, ""),
    ("0-3", "0-46", 213, ""),
    ("0-46", "0-5", 228, ""),
    ("0-5", "0-46", 227, ""),
    ("0-48", "0-1", 194, ""),
    ("0-1", "0-48", 193, ""),
    ("0-48", "0-2", 182, ""),
    ("0-2", "0-48", 181, ""),
    ("0-48", "0-3", 206, ""),
    ("0-3", "0-48", 205, ""),
    ("0-48", "0-5", 220, ""),
    ("0-5", "0-48", 219, ""),
    ("0-49", "0-1", 198, ""),
    ("0-1", "0-49", 197, ""),
    ("0-49", "0-2", 186, ""),
    ("0-2", "0-49", 185, ""),
    ("0-49", "0-3", 210, ""),
    ("0-3", "0-49", 209, ""),
    ("0-49", "0-5", 224, ""),
    ("0-5", "0-49", 223, ""),
    ("0-47", "0-1", 200, ""),
    ("0-1", "0-47", 199, ""),
    ("0-47", "0-2", 188, ""),
    ("0-2", "0-47", 187, ""),
    ("0-47", "0-3", 212, ""),
    ("0-3", "0-47", 211, ""),
    ("0-47", "0-5", 226, ""),
    ("0-5", "0-47", 225, ""),
    ("0-27", "0-1", 204, ""),
    ("0-1", "0-27", 203, ""),
    ("0-27", "0-2", 192, ""),
    ("0-2", "0-27", 191, ""),
    ("0-27", "0-3", 216, ""),
    ("0-3", "0-27", 215, ""),
    ("0-27", "0-5", 230, ""),
    ("0-5", "0-27", 229, ""),
    ("0-14", "0-1", 69, ""),
    ("0-1", "0-14", 70, ""),
    ("0-14", "0-2", 71, ""),
    ("0-2", "0-14", 72, ""),
    ("0-14", "0-3", 64, ""),
    ("0-3", "0-14", 63, ""),
    ("0-14", "0-8", 67, ""),
    ("0-8", "0-14", 68, ""),
];

/// The default (unlabeled) association type id between two types, if HubSpot defines one.
pub fn default_association(from: &str, to: &str) -> Option<u32> {
    DEFAULT_ASSOCIATIONS
        .iter()
        .find(|(f, t, _, label)| *f == from && *t == to && label.is_empty())
        .map(|(_, _, id, _)| *id)
}

/// The properties free-text search `query` looks in, by type id (HubSpot's search guide;
/// \[INFERENCE\] for engagements, their title and body properties).
pub fn searchable_properties(type_id: &str) -> &'static [&'static str] {
    match type_id {
        "0-1" => &[
            "firstname",
            "lastname",
            "email",
            "phone",
            "hs_additional_emails",
            "fax",
            "mobilephone",
            "company",
            "hs_marketable_until_renewal",
        ],
        "0-2" => &["website", "phone", "name", "domain"],
        "0-3" => &[
            "dealname",
            "pipeline",
            "dealstage",
            "description",
            "dealtype",
        ],
        "0-5" => &[
            "subject",
            "content",
            "hs_pipeline_stage",
            "hs_ticket_category",
            "hs_ticket_id",
        ],
        "0-7" => &["name", "description", "price", "hs_sku"],
        "0-8" => &["name", "description", "price", "quantity", "hs_product_id"],
        "0-14" => &[
            "hs_sender_firstname",
            "hs_sender_lastname",
            "hs_title",
            "hs_sender_company_name",
            "hs_sender_email",
        ],
        "0-46" => &["hs_note_body"],
        "0-27" => &["hs_task_subject", "hs_task_body"],
        "0-48" => &["hs_call_title", "hs_call_body"],
        "0-47" => &["hs_meeting_title", "hs_meeting_body"],
        "0-49" => &["hs_email_subject", "hs_email_text"],
        _ => &[],
    }
}

/// The properties a search result carries when the request names none, beside the creation
/// and modification dates and `hs_object_id` (recorded for contacts and companies; HubSpot's
/// guide for deals; \[INFERENCE\] none more for other types).
pub fn default_result_properties(type_id: &str) -> &'static [&'static str] {
    match type_id {
        "0-1" => &["email", "firstname", "lastname"],
        "0-2" => &["domain", "name"],
        "0-3" => &["amount", "closedate", "dealname", "dealstage", "pipeline"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option_label(type_id: &str, property: &str, value: &str) -> String {
        definitions(type_id)
            .into_iter()
            .find(|p| p.name == property)
            .and_then(|p| p.options.into_iter().find(|o| o.value == value))
            .map(|o| o.label)
            .unwrap_or_default()
    }

    #[test]
    fn standard_properties_come_from_the_data_with_hubspots_labels() {
        assert_eq!(
            option_label("0-2", "industry", "AIRLINES_AVIATION"),
            "Airlines/Aviation"
        );
        assert_eq!(
            option_label("0-2", "industry", "MOBILE_GAMES"),
            "Mobile Games"
        );
        assert_eq!(
            option_label("0-1", "lifecyclestage", "marketingqualifiedlead"),
            "Marketing Qualified Lead"
        );
        assert_eq!(
            option_label("0-3", "dealtype", "newbusiness"),
            "New Business"
        );
        assert_eq!(
            option_label("0-5", "hs_ticket_priority", "URGENT"),
            "Urgent"
        );
        let industry = definitions("0-2")
            .into_iter()
            .find(|p| p.name == "industry")
            .expect("industry");
        assert_eq!(industry.options.len(), 148);
        // Every standard type has its definitions, each read whole.
        for t in standard_types() {
            assert!(t.properties.len() >= 7, "{}", t.type_id);
            assert!(t.property("hs_object_id").is_some(), "{}", t.type_id);
            for p in &t.properties {
                assert_eq!(
                    PropertyDef::from_json(&p.to_json()).map(|q| q.to_json()),
                    Some(p.to_json())
                );
            }
        }
        let email = definitions("0-1")
            .into_iter()
            .find(|p| p.name == "email")
            .unwrap();
        assert_eq!(email.group_name, "contactinformation");
    }
}

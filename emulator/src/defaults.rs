//! The portal every emulator starts with: HubSpot's standard object types and a realistic
//! subset of their default properties, plus one unique-value custom property per type.

use std::collections::{BTreeMap, HashMap};

use crate::model::{ObjectType, PropertyDef, PropertyOption, PropertyType};

/// How a default property may be written.
#[derive(Clone, Copy, PartialEq)]
enum Access {
    Writable,
    ReadOnly,
    Calculated,
}

fn prop(
    name: &str,
    label: &str,
    kind: PropertyType,
    field_type: &str,
    access: Access,
) -> PropertyDef {
    PropertyDef {
        name: name.to_string(),
        label: label.to_string(),
        kind,
        field_type: field_type.to_string(),
        group_name: "information".to_string(),
        options: Vec::new(),
        external_options: false,
        has_unique_value: false,
        read_only: access != Access::Writable,
        calculated: access == Access::Calculated,
        hubspot_defined: true,
    }
}

fn text(name: &str, label: &str) -> PropertyDef {
    prop(name, label, PropertyType::String, "text", Access::Writable)
}

fn number(name: &str, label: &str) -> PropertyDef {
    prop(
        name,
        label,
        PropertyType::Number,
        "number",
        Access::Writable,
    )
}

fn enumeration(name: &str, label: &str, field_type: &str, values: &[&str]) -> PropertyDef {
    let mut p = prop(
        name,
        label,
        PropertyType::Enumeration,
        field_type,
        Access::Writable,
    );
    p.options = values
        .iter()
        .enumerate()
        .map(|(i, v)| PropertyOption {
            label: v.replace('_', " ").to_lowercase(),
            value: (*v).to_string(),
            display_order: i as i64,
            hidden: false,
        })
        .collect();
    p
}

fn external(name: &str, label: &str) -> PropertyDef {
    let mut p = prop(
        name,
        label,
        PropertyType::Enumeration,
        "select",
        Access::Writable,
    );
    p.external_options = true;
    p
}

fn unique(name: &str, label: &str) -> PropertyDef {
    let mut p = text(name, label);
    p.has_unique_value = true;
    p.hubspot_defined = false;
    p.group_name = "custom".to_string();
    p
}

/// Properties every standard object has.
fn common(modified: &str) -> Vec<PropertyDef> {
    vec![
        prop(
            "hs_object_id",
            "Record ID",
            PropertyType::Number,
            "number",
            Access::ReadOnly,
        ),
        prop(
            "createdate",
            "Create Date",
            PropertyType::DateTime,
            "date",
            Access::ReadOnly,
        ),
        prop(
            modified,
            "Last Modified Date",
            PropertyType::DateTime,
            "date",
            Access::ReadOnly,
        ),
        external("hubspot_owner_id", "Owner"),
    ]
}

const LIFECYCLE: &[&str] = &[
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
];

/// HubSpot's `industry` options (a subset of the real list of ~150).
const INDUSTRIES: &[&str] = &[
    "ACCOUNTING",
    "AIRLINES_AVIATION",
    "APPAREL_FASHION",
    "AUTOMOTIVE",
    "BANKING",
    "BIOTECHNOLOGY",
    "COMPUTER_SOFTWARE",
    "CONSTRUCTION",
    "CONSUMER_GOODS",
    "EDUCATION_MANAGEMENT",
    "FINANCIAL_SERVICES",
    "FOOD_BEVERAGES",
    "HOSPITAL_HEALTH_CARE",
    "INFORMATION_TECHNOLOGY_AND_SERVICES",
    "INSURANCE",
    "INTERNET",
    "MARKETING_AND_ADVERTISING",
    "NONPROFIT_ORGANIZATION_MANAGEMENT",
    "REAL_ESTATE",
    "RETAIL",
    "TELECOMMUNICATIONS",
    "MOBILE_GAMES",
];

fn contacts() -> Vec<PropertyDef> {
    let mut p = common("lastmodifieddate");
    p.extend([
        text("email", "Email"),
        text("firstname", "First Name"),
        text("lastname", "Last Name"),
        prop(
            "phone",
            "Phone Number",
            PropertyType::String,
            "phonenumber",
            Access::Writable,
        ),
        text("company", "Company Name"),
        text("website", "Website URL"),
        text("jobtitle", "Job Title"),
        text("city", "City"),
        text("country", "Country/Region"),
        text("zip", "Postal Code"),
        enumeration("lifecyclestage", "Lifecycle Stage", "radio", LIFECYCLE),
        enumeration(
            "hs_lead_status",
            "Lead Status",
            "radio",
            &[
                "NEW",
                "OPEN",
                "IN_PROGRESS",
                "OPEN_DEAL",
                "UNQUALIFIED",
                "ATTEMPTED_TO_CONTACT",
                "CONNECTED",
                "BAD_TIMING",
            ],
        ),
        enumeration(
            "hs_buying_role",
            "Buying Role",
            "checkbox",
            &[
                "BUDGET_HOLDER",
                "CHAMPION",
                "DECISION_MAKER",
                "END_USER",
                "EXECUTIVE_SPONSOR",
                "INFLUENCER",
                "LEGAL_AND_COMPLIANCE",
                "OTHER",
            ],
        ),
        prop(
            "date_of_birth",
            "Date of birth",
            PropertyType::Date,
            "date",
            Access::Writable,
        ),
        prop(
            "hs_email_optout",
            "Unsubscribed from all email",
            PropertyType::Bool,
            "booleancheckbox",
            Access::Writable,
        ),
        number("annualrevenue", "Annual Revenue"),
        prop(
            "hs_analytics_num_visits",
            "Number of Sessions",
            PropertyType::Number,
            "number",
            Access::Calculated,
        ),
        prop(
            "hs_full_name_or_email",
            "Full name or email",
            PropertyType::String,
            "text",
            Access::Calculated,
        ),
        unique("external_id", "External ID"),
    ]);
    p
}

fn companies() -> Vec<PropertyDef> {
    let mut p = common("hs_lastmodifieddate");
    p.extend([
        text("name", "Company name"),
        text("domain", "Company Domain Name"),
        text("website", "Website URL"),
        enumeration("industry", "Industry", "select", INDUSTRIES),
        prop(
            "phone",
            "Phone Number",
            PropertyType::String,
            "phonenumber",
            Access::Writable,
        ),
        text("city", "City"),
        text("country", "Country/Region"),
        number("numberofemployees", "Number of Employees"),
        number("annualrevenue", "Annual Revenue"),
        enumeration("lifecyclestage", "Lifecycle Stage", "radio", LIFECYCLE),
        enumeration(
            "type",
            "Type",
            "select",
            &["PROSPECT", "PARTNER", "RESELLER", "VENDOR", "OTHER"],
        ),
        prop(
            "is_public",
            "Is Public",
            PropertyType::Bool,
            "booleancheckbox",
            Access::Writable,
        ),
        prop(
            "founded_date",
            "Founded date",
            PropertyType::Date,
            "date",
            Access::Writable,
        ),
        prop(
            "num_associated_contacts",
            "Number of Associated Contacts",
            PropertyType::Number,
            "number",
            Access::Calculated,
        ),
        unique("external_id", "External ID"),
    ]);
    p
}

fn deals() -> Vec<PropertyDef> {
    let mut p = common("hs_lastmodifieddate");
    p.extend([
        text("dealname", "Deal Name"),
        number("amount", "Amount"),
        external("dealstage", "Deal Stage"),
        external("pipeline", "Pipeline"),
        prop(
            "closedate",
            "Close Date",
            PropertyType::DateTime,
            "date",
            Access::Writable,
        ),
        enumeration(
            "dealtype",
            "Deal Type",
            "radio",
            &["newbusiness", "existingbusiness"],
        ),
        enumeration(
            "hs_priority",
            "Priority",
            "select",
            &["low", "medium", "high"],
        ),
        prop(
            "description",
            "Deal Description",
            PropertyType::String,
            "textarea",
            Access::Writable,
        ),
        prop(
            "hs_is_closed_won",
            "Is Closed Won",
            PropertyType::Bool,
            "booleancheckbox",
            Access::Calculated,
        ),
        unique("external_id", "External ID"),
    ]);
    p
}

fn tickets() -> Vec<PropertyDef> {
    let mut p = common("hs_lastmodifieddate");
    p.extend([
        text("subject", "Ticket name"),
        prop(
            "content",
            "Ticket description",
            PropertyType::String,
            "textarea",
            Access::Writable,
        ),
        external("hs_pipeline", "Pipeline"),
        external("hs_pipeline_stage", "Ticket status"),
        enumeration(
            "hs_ticket_priority",
            "Priority",
            "select",
            &["LOW", "MEDIUM", "HIGH", "URGENT"],
        ),
        enumeration(
            "hs_ticket_category",
            "Category",
            "checkbox",
            &[
                "PRODUCT_ISSUE",
                "BILLING_ISSUE",
                "FEATURE_REQUEST",
                "GENERAL_INQUIRY",
            ],
        ),
        unique("external_id", "External ID"),
    ]);
    p
}

fn products() -> Vec<PropertyDef> {
    let mut p = common("hs_lastmodifieddate");
    p.extend([
        text("name", "Name"),
        number("price", "Unit price"),
        prop(
            "description",
            "Description",
            PropertyType::String,
            "textarea",
            Access::Writable,
        ),
        text("hs_sku", "SKU"),
        unique("external_id", "External ID"),
    ]);
    p
}

fn line_items() -> Vec<PropertyDef> {
    let mut p = common("hs_lastmodifieddate");
    p.extend([
        text("name", "Name"),
        number("quantity", "Quantity"),
        number("price", "Unit price"),
        number("hs_product_id", "Product ID"),
        prop(
            "amount",
            "Net price",
            PropertyType::Number,
            "number",
            Access::Calculated,
        ),
        unique("external_id", "External ID"),
    ]);
    p
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
    };
    for p in t.indexed_properties() {
        unique_index.insert(p, HashMap::new());
    }
    t.unique_index = unique_index;
    t
}

/// The standard object types of a new portal.
pub fn standard_types() -> Vec<ObjectType> {
    vec![
        object_type("0-1", "contacts", "contact", "lastmodifieddate", contacts()),
        object_type(
            "0-2",
            "companies",
            "company",
            "hs_lastmodifieddate",
            companies(),
        ),
        object_type("0-3", "deals", "deal", "hs_lastmodifieddate", deals()),
        object_type("0-5", "tickets", "ticket", "hs_lastmodifieddate", tickets()),
        object_type(
            "0-7",
            "products",
            "product",
            "hs_lastmodifieddate",
            products(),
        ),
        object_type(
            "0-8",
            "line_items",
            "line_item",
            "hs_lastmodifieddate",
            line_items(),
        ),
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
];

/// The default (unlabeled) association type id between two types, if HubSpot defines one.
pub fn default_association(from: &str, to: &str) -> Option<u32> {
    DEFAULT_ASSOCIATIONS
        .iter()
        .find(|(f, t, _, label)| *f == from && *t == to && label.is_empty())
        .map(|(_, _, id, _)| *id)
}

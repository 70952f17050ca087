//! A stream's configuration checked against its object type's properties and turned into a
//! [`StreamMapping`]: how records find theirs (the key), renames, associations.

use super::*;
use crate::model::StreamProblem;

impl StreamMapping {
    /// Checks a stream's configuration against its object type's properties (as
    /// `GET /crm/v3/properties/{type}` lists them): upsert needs `email` on contacts or a
    /// unique-value `id_property`; every rename must name a property. Errors name what would
    /// work.
    pub fn resolve(
        stream: &str,
        config: StreamConfig,
        properties: &[PropertyInfo],
    ) -> Result<Self, FatalError> {
        let table = Arc::new(fields::PropertyTable::new(properties));
        Self::resolve_over(stream, config, properties, table)
    }

    /// [`StreamMapping::resolve`] over `table`, the object type's property table shared
    /// with its other streams (`properties` are the same definitions).
    pub fn resolve_over(
        stream: &str,
        config: StreamConfig,
        properties: &[PropertyInfo],
        table: Arc<fields::PropertyTable>,
    ) -> Result<Self, FatalError> {
        let object_type = config.object_type.clone();
        let fail = |reason: String| FatalError::Stream {
            stream: stream.to_string(),
            problem: StreamProblem::Key(reason),
        };
        let unique: Vec<&str> = properties
            .iter()
            .filter(|p| p.has_unique_value)
            .map(|p| p.name.as_str())
            .collect();
        let candidates = match (is_contacts(&object_type), unique.is_empty()) {
            (true, _) => std::iter::once("email")
                .chain(unique.iter().copied())
                .collect::<Vec<_>>()
                .join(", "),
            (false, true) => "none; create a property with hasUniqueValue: true".to_string(),
            (false, false) => unique.join(", "),
        };
        let matching =
            Self::matching(&object_type, &config, properties, &candidates).map_err(fail)?;
        Self::finish(stream, object_type, matching, config, table)
    }

    /// How a stream's configuration says its records find theirs, checked against the
    /// type's `properties`; the error says what would work.
    fn matching(
        object_type: &str,
        config: &StreamConfig,
        properties: &[PropertyInfo],
        candidates: &str,
    ) -> Result<Matching, String> {
        let keys = (
            config.id_property.as_deref(),
            config.id_field.as_deref(),
            config.match_property.as_deref(),
        );
        match (keys, config.write_mode) {
            ((None, None, Some(property)), _) => {
                if properties.iter().any(|p| p.name == property) {
                    return Ok(Matching::SearchProperty(property.into()));
                }
                let hint = closest_property(property, properties.iter().map(|p| p.name.as_str()))
                    .map(|h| format!(" (did you mean '{h}'?)"))
                    .unwrap_or_default();
                Err(format!(
                    "match_property: object type '{object_type}' has no property '{property}'{hint}"
                ))
            }
            ((_, _, Some(_)), _) | ((Some(_), Some(_), None), _) => {
                Err("set one of id_property (a unique property to match on), id_field (a field holding record ids) and match_property (a property found through search)".to_string())
            }
            ((None, Some(_), None), WriteMode::CreateOnly) => Err(
                "id_field names existing records by id, but write_mode create_only creates new ones; drop one of them".to_string(),
            ),
            ((None, Some(field), None), _) => Ok(Matching::IdField(field.into())),
            ((None, None, None), WriteMode::CreateOnly) => Ok(Matching::Nothing),
            ((None, None, None), _) => Err(format!(
                "no id_property is set for object type '{object_type}'; upsert needs a unique-value property (candidates: {candidates}), or set id_field (a field holding record ids), match_property (a property found through search) or write_mode create_only"
            )),
            ((Some(id_property), None, None), _) => {
                if !(id_property == "email" && is_contacts(object_type)) {
                    match properties.iter().find(|p| p.name == id_property) {
                        None => {
                            return Err(format!(
                                "object type '{object_type}' has no property '{id_property}' (usable id_property values: {candidates})"
                            ));
                        }
                        Some(p) if !p.has_unique_value => {
                            return Err(format!(
                                "id_property '{id_property}' of object type '{object_type}' does not have unique values, so HubSpot cannot upsert by it (usable: {candidates}; or set match_property to find records through search)"
                            ));
                        }
                        Some(_) => {}
                    }
                }
                Ok(Matching::IdProperty(id_property.into()))
            }
        }
    }

    /// The rest of [`StreamMapping::resolve`], once the matching is known.
    fn finish(
        stream: &str,
        object_type: String,
        matching: Matching,
        config: StreamConfig,
        table: Arc<fields::PropertyTable>,
    ) -> Result<Self, FatalError> {
        let StreamConfig {
            properties: renames,
            drop,
            associations,
            write_mode,
            unknown_fields,
            blank_values,
            truncate_dates,
            hard_delete,
            on_removed,
            load_method,
            ..
        } = config;
        let fail = |reason: String| FatalError::Stream {
            stream: stream.to_string(),
            problem: StreamProblem::Mapping(reason),
        };
        if hard_delete && matching == Matching::Nothing {
            return Err(fail(
                "hard_delete needs a key to find the record to archive: set id_property, id_field or match_property".to_string(),
            ));
        }
        let fields = FieldMap::over(
            table,
            renames.into_iter().collect(),
            drop.into_iter().collect(),
            associations.iter().map(|a| a.field.clone()).collect(),
        );
        if let Some((field, to)) = fields.unknown_rename_targets().first() {
            let hint = closest_property(to, fields.names())
                .map(|h| format!(" (did you mean '{h}'?)"))
                .unwrap_or_default();
            return Err(fail(format!(
                "properties: field '{field}' is renamed to '{to}', but object type '{object_type}' has no such property{hint}"
            )));
        }
        Ok(Self {
            object_type,
            matching,
            fields,
            associations,
            write_mode,
            hard_delete,
            on_removed,
            unknown_fields: unknown_fields.unwrap_or_default(),
            blank_values: blank_values.unwrap_or_default(),
            load_method: load_method.unwrap_or_default(),
            rules: ValueRules {
                truncate_dates: truncate_dates.unwrap_or(false),
            },
        })
    }
}

/// Checks that an association's `to_id_property` can find records of `to_object_type`: record
/// ids, `email` on contacts, or a unique-value property.
pub fn check_association(
    stream: &str,
    a: &mut AssociationConfig,
    to_properties: &[PropertyInfo],
) -> Result<(), FatalError> {
    let p = a.to_id_property.as_str();
    // Record ids, emails, unique values, or any other property (found through search).
    let usable = p == "hs_object_id"
        || (p == "email" && is_contacts(&a.to_object_type))
        || to_properties.iter().any(|d| d.name == p);
    if usable {
        a.searched = p != "hs_object_id"
            && !(p == "email" && is_contacts(&a.to_object_type))
            && !to_properties
                .iter()
                .any(|d| d.name == p && d.has_unique_value);
        return Ok(());
    }
    let hint = closest_property(p, to_properties.iter().map(|d| d.name.as_str()))
        .map(|h| format!(" (did you mean '{h}'?)"))
        .unwrap_or_default();
    Err(FatalError::Stream {
        stream: stream.to_string(),
        problem: StreamProblem::Association(format!(
            "association field '{}': {} has no property '{p}' to find records by{hint}",
            a.field, a.to_object_type
        )),
    })
}

//! Associations between stored records: made, removed, listed, and the association types
//! (HubSpot-defined and user labels) between two object types.

use super::*;

impl Store {
    /// Adds association types between two records (merging with existing ones).
    pub fn associate(
        &mut self,
        from_type: &str,
        from_id: u64,
        to_type: &str,
        to_id: u64,
        types: Vec<(String, u32)>,
    ) {
        if let Some(a) = self.associations.iter_mut().find(|a| {
            a.from_type == from_type
                && a.from_id == from_id
                && a.to_type == to_type
                && a.to_id == to_id
        }) {
            for t in types {
                if !a.types.contains(&t) {
                    a.types.push(t);
                }
            }
            return;
        }
        self.associations.push(Association {
            from_type: from_type.to_string(),
            from_id,
            to_type: to_type.to_string(),
            to_id,
            types,
        });
    }

    /// Removes every association between two records, either way round.
    pub fn dissociate(&mut self, a_type: &str, a: u64, b_type: &str, b: u64) {
        self.associations.retain(|x| {
            !((x.from_type == a_type && x.from_id == a && x.to_type == b_type && x.to_id == b)
                || (x.from_type == b_type && x.from_id == b && x.to_type == a_type && x.to_id == a))
        });
    }

    /// The records of type `to_idx` associated with record `id` of type `idx`, either way
    /// round, with the association types as seen from `idx` (a reverse association's type is
    /// its paired default with the same label, \[INFERENCE\] for pairs HubSpot's table lists
    /// one way only).
    pub fn associated(&self, idx: usize, id: u64, to_idx: usize) -> Vec<(u64, Vec<(String, u32)>)> {
        let (from, to) = (&self.types[idx].type_id, &self.types[to_idx].type_id);
        let mut out: Vec<(u64, Vec<(String, u32)>)> = Vec::new();
        let mut add =
            |other: u64, types: Vec<(String, u32)>| match out.iter_mut().find(|(o, _)| *o == other)
            {
                Some((_, known)) => {
                    for t in types {
                        if !known.contains(&t) {
                            known.push(t);
                        }
                    }
                }
                None => out.push((other, types)),
            };
        for a in &self.associations {
            if &a.from_type == from && a.from_id == id && &a.to_type == to {
                add(a.to_id, a.types.clone());
            } else if &a.from_type == to && &a.to_type == from && a.to_id == id {
                let types = a
                    .types
                    .iter()
                    .map(|(category, type_id)| {
                        let label = defaults::DEFAULT_ASSOCIATIONS
                            .iter()
                            .find(|(f, t, i, _)| f == to && t == from && i == type_id)
                            .map(|(_, _, _, l)| *l);
                        let paired = label.and_then(|label| {
                            defaults::DEFAULT_ASSOCIATIONS
                                .iter()
                                .find(|(f, t, _, l)| f == from && t == to && *l == label)
                                .map(|(_, _, i, _)| *i)
                        });
                        (category.clone(), paired.unwrap_or(*type_id))
                    })
                    .collect();
                add(a.from_id, types);
            }
        }
        out
    }

    /// The v3 API's name of association type `type_id` from type `idx` to `to_idx`:
    /// `call_to_deal`; where a pair also has a labelled (primary) type, that one carries the
    /// plain name and the unlabelled one `…_unlabeled`, as HubSpot's v3 names go.
    pub fn v3_association_name(&self, idx: usize, to_idx: usize, type_id: u32) -> String {
        let (from, to) = (&self.types[idx], &self.types[to_idx]);
        let base = format!(
            "{}_to_{}",
            from.upper_singular.to_lowercase(),
            to.upper_singular.to_lowercase()
        );
        let pair: Vec<&(&str, &str, u32, &str)> = defaults::DEFAULT_ASSOCIATIONS
            .iter()
            .filter(|(f, t, _, _)| *f == from.type_id && *t == to.type_id)
            .collect();
        let labelled = pair.iter().any(|(_, _, _, l)| !l.is_empty());
        match pair.iter().find(|(_, _, i, _)| *i == type_id) {
            Some((_, _, _, label)) if labelled && label.is_empty() => format!("{base}_unlabeled"),
            Some(_) => base,
            None => format!("{base}_{type_id}"),
        }
    }

    /// The association type id a v3 association name stands for (see
    /// [`Store::v3_association_name`]).
    pub fn v3_association_type(&self, idx: usize, to_idx: usize, name: &str) -> Option<u32> {
        let (from, to) = (&self.types[idx].type_id, &self.types[to_idx].type_id);
        defaults::DEFAULT_ASSOCIATIONS
            .iter()
            .filter(|(f, t, _, _)| f == from && t == to)
            .map(|(_, _, i, _)| *i)
            .find(|i| {
                self.v3_association_name(idx, to_idx, *i)
                    .eq_ignore_ascii_case(name)
            })
    }

    /// Every association type from `from` to `to` (type ids): `(category, type id, label)`,
    /// HubSpot's defaults first, then the portal's labels.
    pub fn association_types(
        &self,
        from: &str,
        to: &str,
    ) -> Vec<(&'static str, u32, Option<String>)> {
        let mut out: Vec<(&'static str, u32, Option<String>)> = defaults::DEFAULT_ASSOCIATIONS
            .iter()
            .filter(|(f, t, _, _)| *f == from && *t == to)
            .map(|(_, _, id, label)| {
                (
                    "HUBSPOT_DEFINED",
                    *id,
                    (!label.is_empty()).then(|| label.to_string()),
                )
            })
            .collect();
        out.extend(
            self.user_labels
                .iter()
                .filter(|l| l.from_type == from && l.to_type == to)
                .map(|l| ("USER_DEFINED", l.type_id, Some(l.label.clone()))),
        );
        out
    }

    /// The type a `(from type, association type id)` points to, among HubSpot's defaults and
    /// the portal's labels.
    pub fn association_target(&self, from: &str, type_id: u32) -> Option<String> {
        defaults::DEFAULT_ASSOCIATIONS
            .iter()
            .find(|(f, _, id, _)| *f == from && *id == type_id)
            .map(|(_, to, _, _)| to.to_string())
            .or_else(|| {
                self.user_labels
                    .iter()
                    .find(|l| l.from_type == from && l.type_id == type_id)
                    .map(|l| l.to_type.clone())
            })
    }
}

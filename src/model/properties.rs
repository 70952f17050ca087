//! An upsert input's property values: a short list kept sorted by property name, so a record's
//! ten or so values take one allocation, are found by binary search and are written in a
//! stable order.

use std::sync::Arc;

use compact_str::CompactString;
use serde::ser::{Serialize, SerializeMap, Serializer};

/// Property values by property name, each name once, in name order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties(Vec<(Arc<str>, CompactString)>);

impl Properties {
    /// No properties.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value`, replacing what it held.
    pub fn insert(&mut self, name: Arc<str>, value: CompactString) {
        match self.0.binary_search_by(|(n, _)| (**n).cmp(&*name)) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (name, value)),
        }
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&CompactString> {
        self.0
            .binary_search_by(|(n, _)| (**n).cmp(name))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// Takes every value of `other`, replacing those with the same name (later values win).
    pub fn extend(&mut self, other: Properties) {
        if self.0.is_empty() {
            self.0 = other.0;
            return;
        }
        for (name, value) in other.0 {
            self.insert(name, value);
        }
    }

    /// Property names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &Arc<str>> {
        self.0.iter().map(|(n, _)| n)
    }

    /// `(name, value)` pairs, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &CompactString)> {
        self.0.iter().map(|(n, v)| (n, v))
    }

    /// How many properties are set.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(Arc<str>, CompactString)> for Properties {
    /// Of pairs with the same name, the last one given stays.
    fn from_iter<I: IntoIterator<Item = (Arc<str>, CompactString)>>(pairs: I) -> Self {
        let mut pairs: Vec<_> = pairs.into_iter().collect();
        sort_last_wins(&mut pairs, |(name, _)| name);
        Self(pairs)
    }
}

/// Sorts `items` by `key` and keeps, of items with the same key, the last one given.
pub fn sort_last_wins<T, K: Ord + ?Sized>(items: &mut Vec<T>, key: impl Fn(&T) -> &K) {
    // Most records arrive sorted and without repeats already.
    if items.is_sorted_by(|a, b| key(a) < key(b)) {
        return;
    }
    // Stable, so items with the same key keep their order: reversed, the last comes first.
    items.sort_by(|a, b| key(a).cmp(key(b)));
    items.reverse();
    items.dedup_by(|a, b| key(a) == key(b));
    items.reverse();
}

impl<'a> IntoIterator for &'a Properties {
    type Item = (&'a Arc<str>, &'a CompactString);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Arc<str>, CompactString)>,
        fn(&'a (Arc<str>, CompactString)) -> (&'a Arc<str>, &'a CompactString),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(n, v)| (n, v))
    }
}

impl std::ops::Index<&str> for Properties {
    type Output = CompactString;

    fn index(&self, name: &str) -> &CompactString {
        self.get(name)
            .unwrap_or_else(|| panic!("no property {name:?}"))
    }
}

impl Serialize for Properties {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(&**name, value.as_str())?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Properties {
        list.iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn names_are_kept_in_order_once_each_the_last_value_winning() {
        let p = pairs(&[("b", "1"), ("a", "2"), ("b", "3")]);
        assert_eq!(p.keys().map(|k| &**k).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(p["b"], "3");
        let mut merged = pairs(&[("a", "x"), ("c", "y")]);
        merged.extend(pairs(&[("b", "new"), ("c", "z")]));
        assert_eq!(merged, pairs(&[("a", "x"), ("b", "new"), ("c", "z")]));
        assert_eq!(merged.get("d"), None);
        assert_eq!(
            serde_json::to_string(&merged).unwrap(),
            r#"{"a":"x","b":"new","c":"z"}"#
        );
    }
}

//! [`NameMap`]: the small maps a user's state keeps, keyed by [`Name`].

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Name;

/// A map keyed by [`Name`], kept as one vector sorted by key.
///
/// The maps in a user's state are small (a handful of metrics, quests,
/// boards) and read far more often than they grow. A `BTreeMap` gives each
/// one a node sized for eleven entries, hundreds of bytes that are mostly
/// empty, in an allocation of its own; a sorted vector holds just its
/// entries, contiguous, so a lookup reads a line or two. Inserting shifts
/// the entries after it, which is cheap at these sizes. Looked up by
/// `&str`; iterated, compared and serialized (as a map) in key order.
///
/// ```
/// use gamify::{Name, NameMap};
///
/// let mut days = NameMap::new();
/// days.insert("posts", 2);
/// *days.entry("posts").or_insert(0) += 1;
/// days.insert("follows", 1);
/// assert_eq!(days.get("posts"), Some(&3));
/// assert_eq!(days.keys().map(Name::as_str).collect::<Vec<_>>(), ["follows", "posts"]);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NameMap<V>(Vec<(Name, V)>);

impl<V> Default for NameMap<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<V> NameMap<V> {
    /// Maps this small are scanned for a key by equality, not searched.
    const SCAN: usize = 16;

    /// An empty map (no allocation until the first insert).
    pub fn new() -> Self {
        Self::default()
    }

    /// Entries in the map.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Read the map's first entry, so its entries are on their way into
    /// cache before a lookup needs them. Returns a meaningless value.
    pub(crate) fn touch(&self) -> u64 {
        self.0.first().map_or(0, |(k, _)| k.len() as u64)
    }

    /// Where `key` is, or where it would go.
    ///
    /// A small map is scanned for the key by equality first: most keys
    /// differ from it in length, so most comparisons end without reading a
    /// byte, and the scan has none of a binary search's unpredictable
    /// branches. Only a key that is absent (about to be inserted) pays for
    /// the ordered search of its place.
    fn find(&self, key: &str) -> Result<usize, usize> {
        if self.0.len() <= Self::SCAN {
            if let Some(i) = self.0.iter().position(|(k, _)| k.as_str() == key) {
                return Ok(i);
            }
            return Err(self.0.partition_point(|(k, _)| k.as_str() < key));
        }
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// Where `key` is, if it is: [`find`](Self::find) without the
    /// ordered search an absent key's place costs, for lookups that do not
    /// insert (most of a step's lookups of a new user's maps miss).
    fn position(&self, key: &str) -> Option<usize> {
        if self.0.len() <= Self::SCAN {
            return self.0.iter().position(|(k, _)| k.as_str() == key);
        }
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.position(key).map(|i| &self.0[i].1)
    }

    /// The value of `key`, to change.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.position(key).map(|i| &mut self.0[i].1)
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Set `key` to `value`; returns the value it replaced.
    pub fn insert(&mut self, key: impl Into<Name>, value: V) -> Option<V> {
        let key = key.into();
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Take `key` out; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<V> {
        self.position(key).map(|i| self.0.remove(i).1)
    }

    /// The place of `key`, filled or not.
    pub fn entry(&mut self, key: impl Into<Name>) -> NameEntry<'_, V> {
        let key = key.into();
        let at = self.find(&key);
        NameEntry { map: self, key, at }
    }

    /// Keep only the entries `keep` is true of.
    pub fn retain(&mut self, mut keep: impl FnMut(&Name, &mut V) -> bool) {
        self.0.retain_mut(|(k, v)| keep(k, v));
    }

    /// The entries, in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Name, &V)> + ExactSizeIterator {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The entries, in key order, values to change.
    pub fn iter_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = (&Name, &mut V)> + ExactSizeIterator {
        self.0.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Name> + ExactSizeIterator {
        self.0.iter().map(|(k, _)| k)
    }

    /// The values, in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.0.iter().map(|(_, v)| v)
    }

    /// The values, in key order, to change.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.0.iter_mut().map(|(_, v)| v)
    }
}

/// A place in a [`NameMap`], from [`NameMap::entry`].
#[derive(Debug)]
pub struct NameEntry<'a, V> {
    map: &'a mut NameMap<V>,
    key: Name,
    at: Result<usize, usize>,
}

impl<'a, V> NameEntry<'a, V> {
    /// The value, first set to `f()` if absent.
    pub fn or_insert_with(self, f: impl FnOnce() -> V) -> &'a mut V {
        let i = match self.at {
            Ok(i) => i,
            Err(i) => {
                self.map.0.insert(i, (self.key, f()));
                i
            }
        };
        &mut self.map.0[i].1
    }

    /// The value, first set to `value` if absent.
    pub fn or_insert(self, value: V) -> &'a mut V {
        self.or_insert_with(|| value)
    }

    /// The value, first set to its default if absent.
    pub fn or_default(self) -> &'a mut V
    where
        V: Default,
    {
        self.or_insert_with(V::default)
    }
}

impl<V: fmt::Debug> fmt::Debug for NameMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Into<Name>, V> FromIterator<(K, V)> for NameMap<V> {
    /// Later entries replace earlier ones with the same key.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut entries: Vec<(Name, V)> = iter.into_iter().map(|(k, v)| (k.into(), v)).collect();
        // Stable, so of equal keys the last one read is last; keep it.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Name, V)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => out.push((k, v)),
            }
        }
        Self(out)
    }
}

impl<K: Into<Name>, V, const N: usize> From<[(K, V); N]> for NameMap<V> {
    fn from(entries: [(K, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<V> std::ops::Index<&str> for NameMap<V> {
    type Output = V;

    /// The value of `key`.
    ///
    /// # Panics
    ///
    /// If `key` is absent, as a `BTreeMap` does; [`get`](NameMap::get)
    /// returns an `Option` instead.
    fn index(&self, key: &str) -> &V {
        match self.get(key) {
            Some(value) => value,
            None => panic!("no entry `{key}` in the map"),
        }
    }
}

impl<V> IntoIterator for NameMap<V> {
    type Item = (Name, V);
    type IntoIter = std::vec::IntoIter<(Name, V)>;

    /// The entries, in key order.
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, V> IntoIterator for &'a mut NameMap<V> {
    type Item = (&'a Name, &'a mut V);
    type IntoIter = std::iter::Map<
        std::slice::IterMut<'a, (Name, V)>,
        fn(&'a mut (Name, V)) -> (&'a Name, &'a mut V),
    >;

    /// The entries, in key order, values to change.
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter_mut().map(|(k, v)| (&*k, v))
    }
}

impl<K: Into<Name>, V> Extend<(K, V)> for NameMap<V> {
    /// Insert every entry; later entries replace earlier ones with the
    /// same key, as [`insert`](NameMap::insert) does.
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, entries: I) {
        for (k, v) in entries {
            self.insert(k, v);
        }
    }
}

impl<'a, V> IntoIterator for &'a NameMap<V> {
    type Item = (&'a Name, &'a V);
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, (Name, V)>, fn(&'a (Name, V)) -> (&'a Name, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<V: Serialize> Serialize for NameMap<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for NameMap<V> {
    /// A key given twice is an error: a map read into a `BTreeMap` keeps
    /// the last value without a word, so a configuration listing a kind
    /// twice would quietly drop one of them.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<V>(std::marker::PhantomData<V>);

        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Entries<V> {
            type Value = NameMap<V>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map keyed by names")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut entries: A,
            ) -> Result<Self::Value, A::Error> {
                // Gathered, then sorted once (inserting one by one into the
                // sorted vector would be quadratic for unsorted input).
                let mut pairs: Vec<(Name, V)> = Vec::new();
                while let Some(pair) = entries.next_entry::<Name, V>()? {
                    pairs.push(pair);
                }
                pairs.sort_by(|a, b| a.0.cmp(&b.0));
                if let Some(twice) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
                    return Err(serde::de::Error::custom(format_args!(
                        "duplicate key `{}`",
                        twice[0].0
                    )));
                }
                Ok(NameMap(pairs))
            }
        }

        deserializer.deserialize_map(Entries(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::NameMap;

    #[test]
    fn a_name_map_is_a_sorted_map() {
        use std::collections::BTreeMap;
        // Against a BTreeMap, over inserts, replacements and removals.
        let mut ours = NameMap::new();
        let mut model = BTreeMap::new();
        for i in 0u64..200 {
            let key = format!("k{}", (i * 37) % 23);
            if i % 5 == 4 {
                assert_eq!(ours.remove(&key), model.remove(&key));
            } else {
                assert_eq!(ours.insert(key.as_str(), i), model.insert(key.clone(), i));
            }
            *ours.entry(key.as_str()).or_insert(0) += 1;
            *model.entry(key.clone()).or_insert(0) += 1;
            assert!(
                ours.iter()
                    .map(|(k, v)| (k.to_string(), *v))
                    .eq(model.clone())
            );
            assert_eq!(ours.get(&key), model.get(&key));
        }
        let json = serde_json::to_string(&ours).unwrap();
        assert_eq!(json, serde_json::to_string(&model).unwrap());
        assert_eq!(serde_json::from_str::<NameMap<u64>>(&json).unwrap(), ours);
        let from: NameMap<u64> = [("b", 1), ("a", 2), ("b", 3)].into();
        assert_eq!(format!("{from:?}"), r#"{"a": 2, "b": 3}"#);
        assert_eq!(from["b"], 3);
        // Consumed, changed in place and extended as a map is.
        let mut more = from.clone();
        for (_, v) in &mut more {
            *v += 10;
        }
        more.extend([("c", 1), ("a", 0)]);
        let owned: Vec<(String, u64)> = more.into_iter().map(|(k, v)| (k.into(), v)).collect();
        assert_eq!(owned, [("a".into(), 0), ("b".into(), 13), ("c".into(), 1)]);
    }
}

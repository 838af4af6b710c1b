//! [`NameList`]: a race's ship types or fleets, kept in creation order (the
//! order reports list them in) with two indexes, by exact name and by
//! ASCII-case-folded name, so every lookup costs O(log n) and a turn's cost
//! stays linear in the orders given. It is stored as the plain list; the
//! indexes are rebuilt when a game is loaded.

use crate::ship::ShipType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Something with a unique name.
pub trait Named {
    /// The name.
    fn name(&self) -> &str;
    /// Renames it.
    fn set_name(&mut self, name: String);
}

impl Named for ShipType {
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
}

impl Named for String {
    fn name(&self) -> &str {
        self
    }
    fn set_name(&mut self, name: String) {
        *self = name;
    }
}

/// Items with unique (case-insensitively) names, in creation order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "Vec<T>", into = "Vec<T>")]
pub struct NameList<T: Named + Clone> {
    items: Vec<T>,
    exact: BTreeMap<String, usize>,
    folded: BTreeMap<String, usize>,
}

impl<T: Named + Clone> Default for NameList<T> {
    fn default() -> Self {
        NameList {
            items: Vec::new(),
            exact: BTreeMap::new(),
            folded: BTreeMap::new(),
        }
    }
}

impl<T: Named + Clone + PartialEq> PartialEq for NameList<T> {
    fn eq(&self, other: &Self) -> bool {
        self.items == other.items
    }
}

impl<T: Named + Clone> From<Vec<T>> for NameList<T> {
    fn from(items: Vec<T>) -> Self {
        let mut list = NameList {
            items,
            exact: BTreeMap::new(),
            folded: BTreeMap::new(),
        };
        list.reindex();
        list
    }
}

impl<T: Named + Clone> From<NameList<T>> for Vec<T> {
    fn from(list: NameList<T>) -> Self {
        list.items
    }
}

impl<T: Named + Clone> NameList<T> {
    fn reindex(&mut self) {
        crate::cost::add(self.items.len());
        self.exact.clear();
        self.folded.clear();
        for (i, t) in self.items.iter().enumerate() {
            self.exact.insert(t.name().to_string(), i);
            self.folded.insert(t.name().to_ascii_lowercase(), i);
        }
    }

    /// The item named exactly `name`.
    pub fn get(&self, name: &str) -> Option<&T> {
        crate::cost::add(1);
        self.exact.get(name).map(|&i| &self.items[i])
    }

    /// The item whose name equals `name` ignoring ASCII case.
    pub fn get_folded(&self, name: &str) -> Option<&T> {
        crate::cost::add(1);
        self.folded
            .get(&name.to_ascii_lowercase())
            .map(|&i| &self.items[i])
    }

    /// Whether an item is named exactly `name`.
    pub fn contains(&self, name: &str) -> bool {
        crate::cost::add(1);
        self.exact.contains_key(name)
    }

    /// Whether an item's name equals `name` ignoring ASCII case.
    pub fn contains_folded(&self, name: &str) -> bool {
        crate::cost::add(1);
        self.folded.contains_key(&name.to_ascii_lowercase())
    }

    /// Appends an item; the caller has checked its name is free.
    pub fn push(&mut self, item: T) {
        crate::cost::add(1);
        let i = self.items.len();
        self.exact.insert(item.name().to_string(), i);
        self.folded.insert(item.name().to_ascii_lowercase(), i);
        self.items.push(item);
    }

    /// Removes the item named exactly `name` (O(n): removal is rare and
    /// bounded by the race's limits).
    pub fn remove(&mut self, name: &str) -> Option<T> {
        let i = *self.exact.get(name)?;
        crate::cost::add(self.items.len() - i);
        let item = self.items.remove(i);
        self.reindex();
        Some(item)
    }

    /// Renames the item named exactly `old`; false when there is none.
    pub fn rename(&mut self, old: &str, new: &str) -> bool {
        crate::cost::add(1);
        let Some(i) = self.exact.remove(old) else {
            return false;
        };
        self.folded.remove(&old.to_ascii_lowercase());
        self.items[i].set_name(new.to_string());
        self.exact.insert(new.to_string(), i);
        self.folded.insert(new.to_ascii_lowercase(), i);
        true
    }

    /// Keeps only the items `keep` accepts.
    pub fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.items.retain(keep);
        self.reindex();
    }

    /// Removes everything.
    pub fn clear(&mut self) {
        self.items.clear();
        self.exact.clear();
        self.folded.clear();
    }

    /// The items in creation order.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// How many items there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl<'a, T: Named + Clone> IntoIterator for &'a NameList<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_follow_pushes_renames_and_removals() {
        let mut l: NameList<String> = NameList::default();
        l.push("Alpha".into());
        l.push("Beta".into());
        assert!(l.contains("Alpha") && !l.contains("alpha"));
        assert_eq!(l.get_folded("BETA").map(String::as_str), Some("Beta"));
        assert!(l.rename("Alpha", "Gamma"));
        assert!(!l.contains_folded("alpha") && l.contains_folded("gamma"));
        assert_eq!(l.remove("Gamma").as_deref(), Some("Gamma"));
        assert_eq!(l.get("Beta").map(String::as_str), Some("Beta"));
        let json = serde_json::to_string(&l).unwrap();
        assert_eq!(json, r#"["Beta"]"#);
        let back: NameList<String> = serde_json::from_str(&json).unwrap();
        assert!(back.contains("Beta") && back == l);
    }
}

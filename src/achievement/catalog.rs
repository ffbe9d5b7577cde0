//! The validated catalog and its index from "what changed" to "which
//! achievements can it affect".

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};

use super::criterion::{Criterion, Trigger};
use super::{Achievement, Rarity};
use crate::error::{ConfigError, ConfigProblem};
use crate::name::{Name, NameMap};

/// A word-at-a-time multiplicative hash (the FxHash scheme): metric and
/// kind names hash in a few nanoseconds instead of SipHash's tens. The keys
/// come from the configuration, not from users, so flooding is not a
/// concern.
#[derive(Default)]
pub(super) struct WordHash(u64);

impl Hasher for WordHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        // The last 1–7 bytes are read as (possibly overlapping) whole
        // words, not copied into a zeroed buffer: the copy was a call to
        // memcpy and a store-to-load forwarding stall on every lookup.
        let rest = chunks.remainder();
        if let Some(word) = tail_word(rest) {
            h = (h.rotate_left(5) ^ word).wrapping_mul(K);
        }
        self.0 = h;
    }
}

/// 1–7 bytes as one word (the length in the top byte, so tails of
/// different lengths differ); `None` for no bytes.
fn tail_word(rest: &[u8]) -> Option<u64> {
    let n = rest.len();
    let data = match (rest.first_chunk::<4>(), rest.last_chunk::<4>()) {
        // First and last four bytes, overlapping when n < 8.
        (Some(lo), Some(hi)) => {
            u64::from(u32::from_le_bytes(*lo)) | u64::from(u32::from_le_bytes(*hi)) << 32
        }
        // First, middle and last byte cover every byte when n ≤ 3.
        _ => {
            let (&first, &last) = (rest.first()?, rest.last()?);
            let mid = rest.get(n / 2).copied().unwrap_or(0);
            u64::from(first) | u64::from(mid) << 8 | u64::from(last) << 16
        }
    };
    Some(data ^ (n as u64) << 56)
}

pub(super) type FastMap<V> = HashMap<String, V, BuildHasherDefault<WordHash>>;

/// What a metric's increase can affect: one map lookup finds both lists.
#[derive(Debug, Clone, Default)]
pub(super) struct MetricIndex {
    /// Plain "metric ≥ target" entries (no tiers, prerequisites or
    /// availability), sorted by target: an increase from `old` to `new`
    /// can only unlock those with `old < target ≤ new`.
    pub(super) thresholds: Vec<(u64, u32)>,
    /// Every other entry with a criterion on the metric.
    pub(super) affected: Vec<u32>,
}

/// Which entries each kind of change can affect (indices into the catalog).
#[derive(Debug, Clone, Default)]
pub(super) struct Index {
    /// By metric name.
    pub(super) metric: FastMap<MetricIndex>,
    pub(super) kind: FastMap<Vec<u32>>,
    pub(super) attribute: FastMap<Vec<u32>>,
    pub(super) level: Vec<u32>,
    pub(super) streak: Vec<u32>,
    pub(super) quests: Vec<u32>,
    /// Entries that depend on other achievements (criteria or
    /// prerequisites): re-checked after an unlock.
    pub(super) achievements: Vec<u32>,
    /// Entries that open at an instant (`available.from`): checked on
    /// every change, since what triggers them may have happened before.
    pub(super) timed: Vec<u32>,
    /// Counting leaves per entry.
    pub(super) counters: Vec<usize>,
}

/// A validated achievement catalog with named groups.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(try_from = "RawCatalog", into = "RawCatalog")]
pub struct Catalog {
    pub(super) entries: Vec<Achievement>,
    /// The entries' ids, shared by progress reports.
    pub(super) ids: Vec<Arc<str>>,
    pub(super) groups: NameMap<Vec<Name>>,
    pub(super) by_id: FastMap<u32>,
    pub(super) index: Index,
}

impl PartialEq for Catalog {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries && self.groups == other.groups
    }
}

impl Eq for Catalog {}

/// The catalog as written in a file. A [`Config`](crate::config::Config)
/// reads its catalog in this form and validates it itself, so the
/// catalog's errors are named from the configuration's root
/// (`achievements.achievements[ach_first_post].criterion`).
#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCatalog {
    achievements: Vec<Achievement>,
    #[serde(default)]
    groups: NameMap<Vec<Name>>,
}

impl TryFrom<RawCatalog> for Catalog {
    type Error = ConfigError;

    fn try_from(raw: RawCatalog) -> Result<Self, ConfigError> {
        Self::with_groups(raw.achievements, raw.groups)
    }
}

impl From<Catalog> for RawCatalog {
    fn from(c: Catalog) -> Self {
        Self {
            achievements: c.entries,
            groups: c.groups,
        }
    }
}

static SPARKLE: LazyLock<Catalog> = LazyLock::new(|| {
    serde_json::from_str(include_str!("sparkle.json"))
        .expect("the embedded sparkle catalog is valid (tested)")
});

impl Catalog {
    /// Validate `entries` into a catalog.
    pub fn new(entries: Vec<Achievement>) -> Result<Self, ConfigError> {
        Self::with_groups(entries, NameMap::new())
    }

    /// Validate `entries` and named `groups` of their ids.
    pub fn with_groups(
        entries: Vec<Achievement>,
        groups: NameMap<Vec<Name>>,
    ) -> Result<Self, ConfigError> {
        let mut by_id = FastMap::default();
        let mut codes = BTreeSet::new();
        for (i, e) in entries.iter().enumerate() {
            let field = |name: &str| format!("achievements[{i}].{name}");
            if e.id.trim().is_empty() {
                return Err(ConfigError::new(field("id"), ConfigProblem::Empty));
            }
            if by_id.insert(e.id.to_string(), i as u32).is_some() {
                return Err(ConfigError::new(
                    field("id"),
                    ConfigProblem::Duplicate(e.id.to_string()),
                ));
            }
            if !e.code.is_empty() && !codes.insert(e.code.as_str()) {
                return Err(ConfigError::new(
                    format!("achievements[{}].code", e.id),
                    ConfigProblem::Duplicate(e.code.to_string()),
                ));
            }
        }
        for e in &entries {
            validate_entry(e, &by_id)?;
        }
        check_cycles(&entries, &by_id)?;
        for (name, ids) in &groups {
            for (j, id) in ids.iter().enumerate() {
                if !by_id.contains_key(id.as_str()) {
                    return Err(ConfigError::new(
                        format!("groups.{name}[{j}]"),
                        ConfigProblem::Unknown(id.to_string()),
                    ));
                }
            }
        }
        let index = build_index(&entries);
        let ids = entries.iter().map(|e| Arc::from(e.id.as_str())).collect();
        Ok(Self {
            entries,
            ids,
            groups,
            by_id,
            index,
        })
    }

    /// The seed's catalog (33 achievements) and groups, parsed once from
    /// the data file shipped with the crate.
    pub fn sparkle() -> &'static Self {
        &SPARKLE
    }

    /// The entry with this id.
    pub fn get(&self, id: &str) -> Option<&Achievement> {
        self.by_id
            .get(id)
            .and_then(|i| self.entries.get(*i as usize))
    }

    pub(super) fn position(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).map(|i| *i as usize)
    }

    /// Entries in the catalog.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the catalog is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in catalog order.
    pub fn iter(&self) -> impl Iterator<Item = &Achievement> {
        self.entries.iter()
    }

    /// Named groups of ids (beginner, content, social, dedication).
    pub fn groups(&self) -> &NameMap<Vec<Name>> {
        &self.groups
    }

    /// The entries of group `name`.
    pub fn group(&self, name: &str) -> Vec<&Achievement> {
        self.groups
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|id| self.get(id))
            .collect()
    }

    /// Every metric a criterion reads, for checking against the metrics a
    /// configuration produces.
    pub fn metrics(&self) -> BTreeSet<&str> {
        let mut out = BTreeSet::new();
        for e in &self.entries {
            for leaf in e.criterion.leaves() {
                if let Some(Trigger::Metric(m)) = leaf.trigger() {
                    out.insert(m);
                }
            }
        }
        out
    }

    /// The first entry (id, metric) whose criteria read a metric that
    /// `known` does not accept.
    pub fn unknown_metric(&self, known: impl Fn(&str) -> bool) -> Option<(String, String)> {
        self.entries.iter().find_map(|e| {
            e.criterion
                .leaves()
                .into_iter()
                .find_map(|leaf| match leaf.trigger() {
                    Some(Trigger::Metric(m)) if !known(m) => Some((e.id.to_string(), m.to_owned())),
                    _ => None,
                })
        })
    }

    /// Entries of a rarity.
    pub fn by_rarity(&self, rarity: Rarity) -> impl Iterator<Item = &Achievement> {
        self.entries.iter().filter(move |e| e.rarity == rarity)
    }
}

fn validate_entry(e: &Achievement, by_id: &FastMap<u32>) -> Result<(), ConfigError> {
    let field = |name: &str| format!("achievements[{}].{name}", e.id);
    if e.name.trim().is_empty() {
        return Err(ConfigError::new(field("name"), ConfigProblem::Empty));
    }
    if e.category.trim().is_empty() {
        return Err(ConfigError::new(field("category"), ConfigProblem::Empty));
    }
    e.criterion.validate(&field("criterion"))?;
    for leaf in e.criterion.leaves() {
        if let Criterion::Achievements { ids } = leaf {
            for id in ids {
                if !by_id.contains_key(id.as_str()) {
                    return Err(ConfigError::new(
                        field("criterion.ids"),
                        ConfigProblem::Unknown(id.to_string()),
                    ));
                }
            }
        }
    }
    for (j, p) in e.prerequisites.iter().enumerate() {
        if !by_id.contains_key(p.as_str()) {
            return Err(ConfigError::new(
                field(&format!("prerequisites[{j}]")),
                ConfigProblem::Unknown(p.to_string()),
            ));
        }
    }
    if let Some(a) = e.available
        && let (Some(from), Some(until)) = (a.from, a.until)
        && until <= from
    {
        return Err(ConfigError::new(field("available"), ConfigProblem::Empty));
    }
    if !e.tiers.is_empty() {
        if matches!(
            e.criterion,
            Criterion::Granted
                | Criterion::All { .. }
                | Criterion::Any { .. }
                | Criterion::Achievements { .. }
        ) {
            return Err(ConfigError::new(
                field("tiers"),
                ConfigProblem::Invalid("tiers need a counting criterion".into()),
            ));
        }
        for (j, t) in e.tiers.iter().enumerate() {
            if t.target == 0 {
                return Err(ConfigError::new(
                    field(&format!("tiers[{j}].target")),
                    ConfigProblem::Zero,
                ));
            }
            if j > 0 && t.target <= e.tiers[j - 1].target {
                return Err(ConfigError::new(
                    field(&format!("tiers[{j}].target")),
                    ConfigProblem::NotIncreasing,
                ));
            }
        }
    }
    Ok(())
}

/// Dependencies of an entry: prerequisites and achievement criteria.
fn dependencies(e: &Achievement) -> impl Iterator<Item = &Name> {
    let in_criteria = e
        .criterion
        .leaves()
        .into_iter()
        .flat_map(|leaf| match leaf {
            Criterion::Achievements { ids } => ids.iter().collect(),
            _ => Vec::new(),
        });
    e.prerequisites.iter().chain(in_criteria)
}

/// Reject dependency cycles, naming one entry on the cycle and the cycle.
fn check_cycles(entries: &[Achievement], by_id: &FastMap<u32>) -> Result<(), ConfigError> {
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut mark = vec![0u8; entries.len()];
    for start in 0..entries.len() {
        let mut stack: Vec<(usize, Vec<usize>)> = Vec::new();
        if mark[start] != 0 {
            continue;
        }
        let deps = |i: usize| -> Vec<usize> {
            dependencies(&entries[i])
                .filter_map(|d| by_id.get(d.as_str()).map(|j| *j as usize))
                .collect()
        };
        mark[start] = 1;
        stack.push((start, deps(start)));
        while let Some((node, pending)) = stack.last_mut() {
            let node = *node;
            match pending.pop() {
                Some(next) if mark[next] == 1 => {
                    let from = stack.iter().position(|(n, _)| *n == next).unwrap_or(0);
                    let cycle = stack[from..]
                        .iter()
                        .map(|(n, _)| entries[*n].id.to_string())
                        .chain([entries[next].id.to_string()]);
                    return Err(ConfigError::new(
                        format!("achievements[{}].prerequisites", entries[next].id),
                        ConfigProblem::Cycle(cycle.collect()),
                    ));
                }
                Some(next) if mark[next] == 0 => {
                    mark[next] = 1;
                    stack.push((next, deps(next)));
                }
                Some(_) => {}
                None => {
                    mark[node] = 2;
                    stack.pop();
                }
            }
        }
    }
    Ok(())
}

fn build_index(entries: &[Achievement]) -> Index {
    let mut index = Index::default();
    for (i, e) in entries.iter().enumerate() {
        let i = i as u32;
        let leaves = e.criterion.leaves();
        index
            .counters
            .push(leaves.iter().filter(|l| l.counts()).count());
        let plain = e.tiers.is_empty() && e.prerequisites.is_empty() && e.available.is_none();
        if let (true, Criterion::Metric { metric, at_least }) = (plain, &e.criterion) {
            index
                .metric
                .entry(metric.to_string())
                .or_default()
                .thresholds
                .push((*at_least, i));
            continue;
        }
        if !e.prerequisites.is_empty() {
            index.achievements.push(i);
        }
        if e.available.is_some_and(|a| a.from.is_some()) {
            index.timed.push(i);
        }
        for leaf in leaves {
            let list = match leaf.trigger() {
                Some(Trigger::Metric(m)) => {
                    &mut index.metric.entry(m.to_owned()).or_default().affected
                }
                Some(Trigger::Kind(k)) => index.kind.entry(k.to_owned()).or_default(),
                Some(Trigger::Attribute(a)) => index.attribute.entry(a.to_owned()).or_default(),
                Some(Trigger::Level) => &mut index.level,
                Some(Trigger::Streak) => &mut index.streak,
                Some(Trigger::Quests) => &mut index.quests,
                Some(Trigger::Achievements) => &mut index.achievements,
                None => continue,
            };
            if list.last() != Some(&i) {
                list.push(i);
            }
        }
    }
    for m in index.metric.values_mut() {
        m.thresholds.sort_unstable();
    }
    index.achievements.sort_unstable();
    index.achievements.dedup();
    index
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    fn hash(s: &str) -> u64 {
        BuildHasherDefault::<WordHash>::default().hash_one(s)
    }

    #[test]
    fn every_tail_length_hashes_every_byte() {
        // Changing any one byte of keys 0–17 bytes long changes the hash
        // (the tail is read as overlapping words: no byte may be skipped).
        for n in 0..18 {
            let base: String = "abcdefghijklmnopqr"[..n].to_owned();
            for i in 0..n {
                let mut other = base.clone().into_bytes();
                other[i] = b'Z';
                let other = String::from_utf8(other).unwrap_or_default();
                assert_ne!(hash(&base), hash(&other), "{base:?} vs {other:?}");
            }
        }
    }

    #[test]
    fn tails_of_different_lengths_differ() {
        // "a", "aa", "aaa": the first, middle and last byte agree.
        let keys = ["a", "aa", "aaa", "aaaa", "aaaaa", "aaaaaaa", "aaaaaaaa"];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(hash(a), hash(b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn map_finds_keys_of_every_length() {
        let mut map = FastMap::default();
        let keys: Vec<String> = (0..40).map(|n| "k".repeat(n)).collect();
        for (i, k) in keys.iter().enumerate() {
            map.insert(k.clone(), i);
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(map.get(k.as_str()), Some(&i));
        }
        assert_eq!(map.get("x"), None);
    }
}

//! The evaluator: what one activity unlocked, and progress on what it
//! affected; backfill; host grants and revocations.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::catalog::Catalog;
use super::criterion::{Criterion, Local};
use super::state::{AchievementState, Unlocked};
use super::{Achievement, Rarity};
use crate::activity::Metrics;
use crate::name::{Name, NameMap};
use crate::time::Tz;

/// What the evaluator reads about a user besides their achievements.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// Lifetime metric counters (after the activity).
    pub metrics: &'a Metrics,
    /// The level.
    pub level: u32,
    /// The current login streak.
    pub streak_current: u32,
    /// The longest login streak.
    pub streak_longest: u32,
    /// Quests completed, all time.
    pub quests_completed: u64,
    /// Quests completed by family.
    pub quests_by_family: &'a NameMap<u64>,
}

/// What one activity (or a later round of its cascade) changed.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// The activity's kind (`None` for a cascade round or backfill).
    pub kind: Option<&'a str>,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The user's time zone.
    pub tz: Tz,
    /// Metric increments it caused.
    pub metrics: &'a [(Name, u64)],
    /// Its attributes.
    pub attributes: &'a BTreeMap<Name, i64>,
    /// Whether the level rose.
    pub level_changed: bool,
    /// Whether the streak changed.
    pub streak_changed: bool,
    /// Whether a quest was completed.
    pub quests_changed: bool,
    /// Whether achievements were unlocked outside the evaluator (a
    /// [`grant`](Catalog::grant)): what depends on them is checked.
    pub achievements_changed: bool,
}

/// An achievement (or one tier of it) unlocked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unlock {
    /// Its id.
    pub id: Name,
    /// Its code.
    pub code: Name,
    /// Its name.
    pub name: String,
    /// The tier (0-based) for tiered achievements.
    pub tier: Option<u32>,
    /// Its rarity.
    pub rarity: Rarity,
    /// XP paid (base × rarity multiplier).
    pub xp: u64,
    /// Points paid.
    pub points: u64,
    /// Achievement score gained (lost, for a revocation).
    pub score: u64,
}

/// Progress on one achievement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AchievementProgress {
    /// Its id (shared with the catalog: reporting progress allocates no
    /// string).
    pub id: Arc<str>,
    /// The criterion's current value (for `all`: sub-criteria met).
    pub current: u64,
    /// The value that unlocks it (its next tier's, for tiers).
    pub target: u64,
    /// `current / target`, in [0, 1].
    pub fraction: f64,
    /// Whether it is (fully) unlocked.
    pub unlocked: bool,
}

/// What an evaluation found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Newly unlocked, in evaluation order (stable for the same input).
    pub unlocked: Vec<Unlock>,
    /// Progress on the achievements the change affected.
    pub progress: Vec<AchievementProgress>,
}

/// A refused grant or revocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AchievementError {
    /// No achievement has this id.
    #[error("unknown achievement `{0}`")]
    Unknown(String),
}

/// The index lists one change names (each sorted, without duplicates),
/// the first few kept inline: gathering them allocates nothing in the
/// usual case, and their total size is known before anything is.
#[derive(Default)]
struct Lists<'a> {
    inline: [&'a [u32]; 4],
    len: usize,
    more: Vec<&'a [u32]>,
    total: usize,
}

impl<'a> Lists<'a> {
    /// Add a list (empty ones are dropped).
    fn push(&mut self, list: &'a [u32]) {
        if list.is_empty() {
            return;
        }
        self.total += list.len();
        match self.inline.get_mut(self.len) {
            Some(slot) => {
                *slot = list;
                self.len += 1;
            }
            None => self.more.push(list),
        }
    }

    /// Every entry named, sorted, each once: one list is used as it is;
    /// several are merged into one allocation at their total size
    /// (concatenated and sorted: a k-way merge of a few short lists
    /// measured slower).
    #[inline]
    fn merge(&self, merged: &'a mut Vec<u32>) -> &'a [u32] {
        match (self.len, self.more.is_empty()) {
            (0, _) => &[],
            (1, true) => self.inline[0],
            _ => self.merge_several(merged),
        }
    }

    /// [`Self::merge`] of several lists (kept out of line: rare, and big).
    #[inline(never)]
    fn merge_several(&self, merged: &'a mut Vec<u32>) -> &'a [u32] {
        *merged = Vec::with_capacity(self.total);
        for list in self.inline.iter().take(self.len).chain(&self.more) {
            merged.extend_from_slice(list);
        }
        merged.sort_unstable();
        merged.dedup();
        merged
    }
}

/// What a check reports of an entry it does not unlock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Report {
    /// Its progress: the change affected it.
    Progress,
    /// Nothing: it was only checked in case it is due.
    Unlocks,
}

/// A map lookup that skips hashing when the map is empty (catalogs often
/// have no criteria of a kind).
#[inline(always)]
fn lookup<'m, V>(map: &'m super::catalog::FastMap<V>, key: &str) -> Option<&'m V> {
    if map.is_empty() { None } else { map.get(key) }
}

fn progress(id: &Arc<str>, current: u64, target: u64, unlocked: bool) -> AchievementProgress {
    AchievementProgress {
        id: Arc::clone(id),
        current,
        target,
        fraction: AchievementProgress::fraction_of(current, target, unlocked),
        unlocked,
    }
}

impl AchievementProgress {
    /// The fraction done of `current` towards `target`: 1 once unlocked
    /// (or when there is nothing to reach), else at most 1. A store's
    /// encoding relies on it to leave fractions out that it gives.
    pub(crate) fn fraction_of(current: u64, target: u64, unlocked: bool) -> f64 {
        if unlocked || target == 0 {
            1.0
        } else {
            (current as f64 / target as f64).min(1.0)
        }
    }
}

impl Catalog {
    /// Count the activity into the criteria that keep counters, then check
    /// every achievement the change can affect (through the index), then
    /// those depending on achievements unlocked meanwhile.
    pub fn evaluate(
        &self,
        state: &mut AchievementState,
        facts: &Facts<'_>,
        change: &Change<'_>,
    ) -> Evaluation {
        let index = &self.index;
        let local = Local::new(change.at, change.tz);
        let mut eval = Evaluation::default();
        let mut lists = Lists::default();
        // The lists other than the metrics' are gathered first, so the
        // progress report can be allocated once, at its size, at its first
        // entry.
        if let Some(kind) = change.kind
            && let Some(list) = lookup(&index.kind, kind)
        {
            lists.push(list);
        }
        // Walking the attributes costs even when no criterion reads one.
        if !index.attribute.is_empty() {
            for attribute in change.attributes.keys() {
                if let Some(list) = index.attribute.get(attribute.as_str()) {
                    lists.push(list);
                }
            }
        }
        for (changed, list) in [
            (change.level_changed, &index.level),
            (change.streak_changed, &index.streak),
            (change.quests_changed, &index.quests),
            (change.achievements_changed, &index.achievements),
        ] {
            if changed {
                lists.push(list);
            }
        }
        let mut crossed: Vec<u32> = Vec::new();
        for (n, (metric, _)) in change.metrics.iter().enumerate() {
            let Some(m) = lookup(&index.metric, metric) else {
                continue;
            };
            // A metric named twice in one change moved once, from before
            // its first increment to after its last: judged per increment,
            // a threshold passed between them would never count as crossed.
            let (earlier, rest) = change.metrics.split_at(n);
            if earlier.iter().any(|(m, _)| m == metric) {
                continue;
            }
            let by = rest
                .iter()
                .filter(|(m, _)| m == metric)
                .fold(0u64, |sum, (_, by)| sum.saturating_add(*by));
            lists.push(&m.affected);
            if m.thresholds.is_empty() {
                continue;
            }
            let new = facts.metrics.get(metric);
            let old = new.saturating_sub(by);
            let list = &m.thresholds[..];
            let hi = list.partition_point(|(t, _)| *t <= new);
            // Usually nothing is crossed (the target below `new` was
            // already passed at `old`): one binary search, not two.
            let lo = match hi.checked_sub(1).and_then(|j| list.get(j)) {
                Some((t, _)) if *t > old => list[..hi].partition_point(|(t, _)| *t <= old),
                _ => hi,
            };
            crossed.extend(list[lo..hi].iter().map(|(_, i)| *i));
            // The next threshold's progress, unless it is unlocked already
            // (granted before its metric reached it).
            if let Some((target, i)) = list.get(hi)
                && let Some(id) = self.ids.get(*i as usize)
                && state.tiers(id) == 0
            {
                if eval.progress.capacity() == 0 {
                    // Each metric's next threshold and each entry checked
                    // report at most once (enough for one metric; later
                    // metrics may grow it once).
                    eval.progress =
                        Vec::with_capacity(change.metrics.len() + crossed.len() + lists.total);
                }
                eval.progress.push(progress(id, new, *target, false));
            }
        }
        let mut merged = Vec::new();
        let affected = lists.merge(&mut merged);
        // Allocates only when the thresholds reported nothing (or when
        // several metrics crossed or named more than the first foresaw).
        eval.progress.reserve(crossed.len() + affected.len());
        if change.kind.is_some() || !change.metrics.is_empty() {
            for &i in affected {
                self.observe(state, i as usize, change, &local);
            }
        }
        for &i in crossed.iter().chain(affected) {
            self.check(
                state,
                facts,
                change,
                &local,
                i as usize,
                Report::Progress,
                &mut eval,
            );
        }
        // Entries that open later may be due on any change once open: their
        // own triggers may all have fired while they were closed. Only an
        // unlock is reported (their progress is the grid's to show).
        for &i in &index.timed {
            if affected.binary_search(&i).is_err() {
                self.check(
                    state,
                    facts,
                    change,
                    &local,
                    i as usize,
                    Report::Unlocks,
                    &mut eval,
                );
            }
        }
        self.cascade(state, facts, change, &local, &mut eval);
        eval
    }

    /// Re-check achievements that depend on others while unlocks happen.
    fn cascade(
        &self,
        state: &mut AchievementState,
        facts: &Facts<'_>,
        change: &Change<'_>,
        local: &Local,
        eval: &mut Evaluation,
    ) {
        let mut seen = 0;
        while eval.unlocked.len() > seen {
            seen = eval.unlocked.len();
            for &i in &self.index.achievements {
                self.check(
                    state,
                    facts,
                    change,
                    local,
                    i as usize,
                    Report::Progress,
                    eval,
                );
            }
        }
    }

    /// Evaluate every achievement against the whole state: unlocks what the
    /// user already qualifies for (a newly added achievement reaching
    /// existing users).
    pub fn backfill(
        &self,
        state: &mut AchievementState,
        facts: &Facts<'_>,
        at: DateTime<Utc>,
        tz: Tz,
    ) -> Evaluation {
        let attributes = BTreeMap::new();
        let change = Change {
            kind: None,
            at,
            tz,
            metrics: &[],
            attributes: &attributes,
            level_changed: false,
            streak_changed: false,
            quests_changed: false,
            achievements_changed: false,
        };
        let local = Local::new(at, tz);
        let mut eval = Evaluation::default();
        for i in 0..self.entries.len() {
            self.check(
                state,
                facts,
                &change,
                &local,
                i,
                Report::Progress,
                &mut eval,
            );
        }
        self.cascade(state, facts, &change, &local, &mut eval);
        eval
    }

    /// Progress on every entry, in catalog order (for the achievement grid).
    ///
    /// A revoked achievement is reported locked, with its criterion's
    /// progress as measured (which may be complete: it will not unlock
    /// until granted); [`AchievementState::is_revoked`] tells it apart.
    pub fn progress(
        &self,
        state: &AchievementState,
        facts: &Facts<'_>,
        at: DateTime<Utc>,
        tz: Tz,
    ) -> Vec<AchievementProgress> {
        let local = Local::new(at, tz);
        self.entries
            .iter()
            .zip(&self.ids)
            .map(|(e, id)| {
                let done = state.tiers(&e.id) as usize;
                let (current, target) = self.measure_entry(e, state, facts, &local);
                let target = e.tiers.get(done).map_or(target, |t| t.target);
                progress(id, current, target, done >= e.tiers.len().max(1))
            })
            .collect()
    }

    /// Unlock `id` (its next tier) as granted by the host. `Ok(None)` if it
    /// is already fully unlocked.
    ///
    /// A grant lifts a revocation of `id`: from then on it is earned as any
    /// other (its further tiers unlock by criterion again).
    ///
    /// What depends on `id` (its criterion or prerequisites name it) is not
    /// checked here, since that needs the user's facts: evaluate a
    /// [`Change`] with `achievements_changed` set next, as the engine does.
    pub fn grant(
        &self,
        state: &mut AchievementState,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Unlock>, AchievementError> {
        let i = self
            .position(id)
            .ok_or_else(|| AchievementError::Unknown(id.to_owned()))?;
        let e = &self.entries[i];
        state.revoked.remove(id);
        let done = state.tiers(id) as usize;
        if done >= e.tiers.len().max(1) {
            return Ok(None);
        }
        let unlock = unlock(state, e, (!e.tiers.is_empty()).then_some(done), at);
        if let Some(u) = state.unlocked.get_mut(id) {
            u.granted = true;
        }
        Ok(Some(unlock))
    }

    /// Take `id` away (every tier) and remember it: the evaluator never
    /// unlocks it again for this user, until a [`grant`](Self::grant).
    /// Returns what was removed (its `score` is the score lost; XP and
    /// points already paid stay paid), `None` if it was not unlocked (it is
    /// still marked revoked, so it cannot unlock later).
    pub fn revoke(
        &self,
        state: &mut AchievementState,
        id: &str,
    ) -> Result<Option<Unlock>, AchievementError> {
        let i = self
            .position(id)
            .ok_or_else(|| AchievementError::Unknown(id.to_owned()))?;
        let e = &self.entries[i];
        state.revoked.insert(e.id.clone());
        let Some(removed) = state.unlocked.remove(id) else {
            return Ok(None);
        };
        state.score = state.score.saturating_sub(removed.score);
        Ok(Some(Unlock {
            id: e.id.clone(),
            code: e.code.clone(),
            name: e.name.clone(),
            tier: None,
            rarity: e.rarity,
            xp: 0,
            points: 0,
            score: removed.score,
        }))
    }

    /// Fold the activity into entry `i`'s counters.
    fn observe(&self, state: &mut AchievementState, i: usize, change: &Change<'_>, local: &Local) {
        let n = self.index.counters[i];
        let e = &self.entries[i];
        if n == 0 || state.tiers(&e.id) as usize >= e.tiers.len().max(1) {
            return;
        }
        let counters = match state.counters.get_mut(e.id.as_str()) {
            Some(c) => c,
            None => state
                .counters
                .entry(e.id.clone())
                .or_insert_with(|| vec![(NaiveDate::MIN, 0); n]),
        };
        // Counting leaves in order, paired with the counters (walked, not
        // collected: no allocation per entry observed).
        let mut counters = counters.iter_mut();
        e.criterion.for_each_leaf(&mut |leaf| {
            if leaf.counts()
                && let Some(counter) = counters.next()
            {
                leaf.observe(
                    counter,
                    change.kind,
                    change.metrics,
                    change.attributes,
                    local,
                );
            }
        });
    }

    /// Unlock entry `i` (or its due tiers) if its criterion, prerequisites
    /// and availability allow; otherwise report its progress, if `report`
    /// asks for it.
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        state: &mut AchievementState,
        facts: &Facts<'_>,
        change: &Change<'_>,
        local: &Local,
        i: usize,
        report: Report,
        eval: &mut Evaluation,
    ) {
        let e = &self.entries[i];
        let mut done = state.tiers(&e.id) as usize;
        let total = e.tiers.len().max(1);
        if done >= total {
            return;
        }
        let (current, target) = self.measure_entry(e, state, facts, local);
        // A revoked entry is reported like a closed one: its progress, no
        // unlock (only a grant lifts the revocation).
        let open = e.available.is_none_or(|a| a.contains(change.at))
            && e.prerequisites.iter().all(|p| state.is_unlocked(p))
            && !state.is_revoked(&e.id);
        if e.tiers.is_empty() {
            if open && current >= target && !matches!(e.criterion, Criterion::Granted) {
                eval.unlocked.push(unlock(state, e, None, change.at));
            } else if report == Report::Progress {
                eval.progress
                    .push(progress(&self.ids[i], current, target, false));
            }
            return;
        }
        while open && done < total && current >= e.tiers[done].target {
            eval.unlocked.push(unlock(state, e, Some(done), change.at));
            done += 1;
        }
        if report == Report::Progress
            && let Some(next) = e.tiers.get(done)
        {
            eval.progress
                .push(progress(&self.ids[i], current, next.target, false));
        }
    }

    /// An entry's criterion value and target.
    fn measure_entry(
        &self,
        e: &Achievement,
        state: &AchievementState,
        facts: &Facts<'_>,
        local: &Local,
    ) -> (u64, u64) {
        let counters = state
            .counters
            .get(e.id.as_str())
            .map_or(&[][..], Vec::as_slice);
        let mut cursor = 0;
        self.measure(
            &e.criterion,
            &e.id,
            state,
            facts,
            local,
            counters,
            &mut cursor,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn measure(
        &self,
        c: &Criterion,
        id: &str,
        state: &AchievementState,
        facts: &Facts<'_>,
        local: &Local,
        counters: &[(NaiveDate, u64)],
        cursor: &mut usize,
    ) -> (u64, u64) {
        let mut counter = || {
            let value = counters
                .get(*cursor)
                .copied()
                .unwrap_or((NaiveDate::MIN, 0));
            *cursor += 1;
            value
        };
        match c {
            Criterion::Metric { metric, at_least } => (facts.metrics.get(metric), *at_least),
            Criterion::MetricInWindow {
                window, at_least, ..
            } => {
                let (w, value) = counter();
                let current = if w == window.first_day_of(local.date()) {
                    value
                } else {
                    0
                };
                (current, *at_least)
            }
            Criterion::Attribute { at_least, .. } => (counter().1, at_least.unsigned_abs()),
            Criterion::TimeOfDay { at_least, .. } => (counter().1, *at_least),
            Criterion::Level { at_least } => (u64::from(facts.level), u64::from(*at_least)),
            Criterion::Streak { at_least } => (
                u64::from(facts.streak_longest.max(facts.streak_current)),
                u64::from(*at_least),
            ),
            Criterion::Quests { family, at_least } => {
                let done = match family {
                    Some(f) => facts.quests_by_family.get(f.as_str()).copied().unwrap_or(0),
                    None => facts.quests_completed,
                };
                (done, *at_least)
            }
            Criterion::Achievements { ids } => (
                ids.iter().filter(|id| state.is_unlocked(id)).count() as u64,
                ids.len() as u64,
            ),
            Criterion::AchievementsInCategory { category, at_least } => {
                let n = state
                    .unlocked
                    .keys()
                    .filter(|id| self.get(id).is_some_and(|e| &e.category == category))
                    .count();
                (n as u64, *at_least)
            }
            Criterion::Granted => (
                u64::from(state.unlocked.get(id).is_some_and(|u| u.granted)),
                1,
            ),
            Criterion::All { of } => {
                let met = of
                    .iter()
                    .filter(|c| {
                        let (cur, target) =
                            self.measure(c, id, state, facts, local, counters, cursor);
                        cur >= target
                    })
                    .count();
                (met as u64, of.len() as u64)
            }
            Criterion::Any { of } => {
                let mut best = (0, 1);
                for c in of {
                    let (cur, target) = self.measure(c, id, state, facts, local, counters, cursor);
                    if cur >= target {
                        best = (1, 1);
                    }
                }
                best
            }
        }
    }
}

/// Record an unlock of `e` (tier `tier`) in `state` and describe it.
fn unlock(
    state: &mut AchievementState,
    e: &Achievement,
    tier: Option<usize>,
    at: DateTime<Utc>,
) -> Unlock {
    let score = e.rarity.score();
    let entry = state.unlocked.entry(e.id.clone()).or_insert(Unlocked {
        at,
        tiers: 0,
        granted: false,
        score: 0,
    });
    entry.tiers = entry.tiers.saturating_add(1);
    entry.score = entry.score.saturating_add(score);
    state.score = state.score.saturating_add(score);
    Unlock {
        id: e.id.clone(),
        code: e.code.clone(),
        name: e.name.clone(),
        tier: tier.map(|t| t as u32),
        rarity: e.rarity,
        xp: e.reward_xp(tier),
        points: e.reward_points(tier),
        score,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_list_or_empty_lists_name_nothing() {
        let mut lists = Lists::default();
        lists.push(&[]);
        let mut merged = Vec::new();
        assert!(lists.merge(&mut merged).is_empty());
    }

    #[test]
    fn one_list_is_used_as_it_is() {
        let list = [1, 4, 9];
        let mut lists = Lists::default();
        lists.push(&[]);
        lists.push(&list);
        let mut merged = Vec::new();
        assert_eq!(lists.merge(&mut merged), &list);
        assert_eq!(merged.capacity(), 0, "nothing allocated");
    }

    #[test]
    fn several_lists_merge_sorted_each_once_past_the_inline_ones() {
        let lists_in: [&[u32]; 7] = [&[5, 9], &[1, 5], &[], &[9, 12], &[0], &[3, 12], &[7]];
        let mut lists = Lists::default();
        for list in lists_in {
            lists.push(list);
        }
        assert_eq!(lists.total, 10);
        let mut merged = Vec::new();
        assert_eq!(lists.merge(&mut merged), &[0, 1, 3, 5, 7, 9, 12]);
    }

    #[test]
    fn index_lists_are_sorted_and_unique() {
        // One list is used unsorted and undeduplicated, so each must be.
        let index = &Catalog::sparkle().index;
        let maps = index.kind.values().chain(index.attribute.values());
        let metric = index.metric.values().map(|m| &m.affected);
        let fixed = [
            &index.level,
            &index.streak,
            &index.quests,
            &index.achievements,
        ];
        for list in maps.chain(metric).chain(fixed) {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
        }
    }
}

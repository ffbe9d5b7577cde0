//! A user's achievements: what is unlocked, what an admin revoked, and the
//! counters criteria keep.

use std::collections::BTreeSet;

use crate::name::{Name, NameMap};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// One unlocked achievement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unlocked {
    /// When it (its first tier) was unlocked.
    pub at: DateTime<Utc>,
    /// Tiers unlocked (1 for an achievement without tiers).
    pub tiers: u32,
    /// Whether the host granted it.
    #[serde(default)]
    pub granted: bool,
    /// The score it contributes.
    pub score: u64,
}

/// A user's achievement state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AchievementState {
    /// Unlocked achievements by id.
    pub unlocked: NameMap<Unlocked>,
    /// Counters of windowed, time-of-day and attribute criteria, by
    /// achievement id, one `(window, value)` per counting leaf.
    pub counters: NameMap<Vec<(NaiveDate, u64)>>,
    /// The achievement score (sum over unlocked).
    pub score: u64,
    /// Achievements an admin revoked, by id: never unlocked again by their
    /// criterion (a revocation is remembered, so meeting the criterion
    /// again pays nothing); a grant lifts the revocation.
    pub revoked: BTreeSet<Name>,
}

impl AchievementState {
    /// Whether `id` (at least its first tier) is unlocked.
    pub fn is_unlocked(&self, id: &str) -> bool {
        self.unlocked.contains_key(id)
    }

    /// Tiers of `id` unlocked.
    pub fn tiers(&self, id: &str) -> u32 {
        self.unlocked.get(id).map_or(0, |u| u.tiers)
    }

    /// How many achievements are unlocked.
    pub fn unlocked_count(&self) -> usize {
        self.unlocked.len()
    }

    /// The achievement score.
    pub fn score(&self) -> u64 {
        self.score
    }

    /// Ids of unlocked achievements, sorted.
    pub fn unlocked_ids(&self) -> impl Iterator<Item = &str> {
        self.unlocked.keys().map(Name::as_str)
    }

    /// Ids of achievements the host granted.
    pub fn granted_ids(&self) -> impl Iterator<Item = &str> {
        self.unlocked
            .iter()
            .filter(|(_, u)| u.granted)
            .map(|(id, _)| id.as_str())
    }

    /// When `id` was unlocked.
    pub fn unlocked_at(&self, id: &str) -> Option<DateTime<Utc>> {
        self.unlocked.get(id).map(|u| u.at)
    }

    /// Whether an admin revoked `id` (and no grant has lifted it since).
    pub fn is_revoked(&self, id: &str) -> bool {
        self.revoked.contains(id)
    }

    /// Ids of revoked achievements, sorted.
    pub fn revoked_ids(&self) -> impl Iterator<Item = &str> {
        self.revoked.iter().map(Name::as_str)
    }
}

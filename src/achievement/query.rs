//! Catalog queries for user interfaces: filters that compose (seed defect
//! 14), sorting, and summary figures.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::catalog::Catalog;
use super::evaluate::AchievementProgress;
use super::state::AchievementState;
use super::{Achievement, Rarity};

/// How to sort a query's results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    /// Catalog order.
    #[default]
    Catalog,
    /// Rarest first.
    Rarity,
    /// By name, A to Z.
    Name,
    /// Most XP first.
    Xp,
    /// Closest to unlocking first (unlocked last).
    Progress,
    /// Unlocked first.
    Unlocked,
}

/// A composable catalog query: every filter set applies.
///
/// ```
/// use gamify::achievement::{AchievementState, Catalog, Query, Rarity, SortBy};
///
/// let catalog = Catalog::sparkle();
/// let state = AchievementState::default();
/// let grid = catalog.progress_for_grid(&state);
/// let epic_social = Query::new().category("social").rarity(Rarity::Epic).search("influ").run(catalog, &grid);
/// assert_eq!(epic_social.len(), 1);
/// assert_eq!(epic_social[0].achievement.id, "ach_influencer");
/// // Hidden achievements stay hidden while locked unless asked for.
/// assert!(Query::new().category("hidden").run(catalog, &grid).is_empty());
/// assert_eq!(Query::new().category("hidden").show_hidden(true).sort(SortBy::Name).run(catalog, &grid).len(), 3);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Query {
    category: Option<String>,
    rarity: Option<Rarity>,
    unlocked: Option<bool>,
    show_hidden: bool,
    search: Option<String>,
    group: Option<String>,
    sort: SortBy,
}

/// One result row: the entry and the user's progress on it.
#[derive(Debug, Clone, PartialEq)]
pub struct View<'c> {
    /// The catalog entry.
    pub achievement: &'c Achievement,
    /// The user's progress.
    pub progress: AchievementProgress,
}

/// Summary figures for a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Achievements unlocked.
    pub unlocked: usize,
    /// Achievements in the catalog.
    pub total: usize,
    /// `unlocked / total × 100`.
    pub percentage: f64,
    /// XP earned from achievements (base × rarity multiplier).
    pub xp_earned: u64,
    /// `(unlocked, total)` by rarity.
    pub by_rarity: BTreeMap<Rarity, (usize, usize)>,
}

impl Query {
    /// Everything visible, in catalog order.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only this category.
    #[must_use]
    pub fn category(mut self, category: &str) -> Self {
        self.category = Some(category.to_owned());
        self
    }

    /// Only this rarity.
    #[must_use]
    pub fn rarity(mut self, rarity: Rarity) -> Self {
        self.rarity = Some(rarity);
        self
    }

    /// Only unlocked (`true`) or locked (`false`) entries.
    #[must_use]
    pub fn unlocked(mut self, unlocked: bool) -> Self {
        self.unlocked = Some(unlocked);
        self
    }

    /// Include locked hidden entries.
    #[must_use]
    pub fn show_hidden(mut self, show: bool) -> Self {
        self.show_hidden = show;
        self
    }

    /// Only entries whose name or description contains `text` (any case).
    #[must_use]
    pub fn search(mut self, text: &str) -> Self {
        self.search = Some(text.to_lowercase());
        self
    }

    /// Only entries of a named group.
    #[must_use]
    pub fn group(mut self, group: &str) -> Self {
        self.group = Some(group.to_owned());
        self
    }

    /// Sort order.
    #[must_use]
    pub fn sort(mut self, sort: SortBy) -> Self {
        self.sort = sort;
        self
    }

    /// Run the query over `catalog` with the user's progress (from
    /// [`Catalog::progress_for_grid`] or the engine).
    pub fn run<'c>(&self, catalog: &'c Catalog, progress: &[AchievementProgress]) -> Vec<View<'c>> {
        let mut rows: Vec<View<'c>> = catalog
            .iter()
            .zip(progress)
            .filter(|(e, p)| self.keeps(catalog, e, p))
            .map(|(achievement, p)| View {
                achievement,
                progress: p.clone(),
            })
            .collect();
        match self.sort {
            SortBy::Catalog => {}
            SortBy::Rarity => rows.sort_by_key(|v| std::cmp::Reverse(v.achievement.rarity)),
            SortBy::Name => rows.sort_by(|a, b| a.achievement.name.cmp(&b.achievement.name)),
            SortBy::Xp => rows.sort_by(|a, b| {
                b.achievement
                    .reward_xp(None)
                    .cmp(&a.achievement.reward_xp(None))
            }),
            SortBy::Progress => rows.sort_by(|a, b| {
                let key = |v: &View<'_>| {
                    if v.progress.unlocked {
                        -1.0
                    } else {
                        v.progress.fraction
                    }
                };
                key(b).total_cmp(&key(a))
            }),
            SortBy::Unlocked => rows.sort_by_key(|v| !v.progress.unlocked),
        }
        rows
    }

    fn keeps(&self, catalog: &Catalog, e: &Achievement, p: &AchievementProgress) -> bool {
        (self.show_hidden || !e.hidden || p.unlocked)
            && self.category.as_ref().is_none_or(|c| &e.category == c)
            && self.rarity.is_none_or(|r| e.rarity == r)
            && self.unlocked.is_none_or(|u| p.unlocked == u)
            && self.group.as_ref().is_none_or(|g| {
                catalog
                    .groups()
                    .get(g)
                    .is_some_and(|ids| ids.contains(&e.id))
            })
            && self.search.as_ref().is_none_or(|s| {
                e.name.to_lowercase().contains(s.as_str())
                    || e.description.to_lowercase().contains(s.as_str())
            })
    }
}

impl Catalog {
    /// Progress on every entry from the state alone (no metrics): what a
    /// grid shows for unlocked and locked entries (a revoked one is
    /// locked). The engine's `achievement_progress` also fills in metric
    /// progress.
    pub fn progress_for_grid(&self, state: &AchievementState) -> Vec<AchievementProgress> {
        self.iter()
            .zip(&self.ids)
            .map(|(e, id)| {
                let unlocked = state.tiers(&e.id) as usize >= e.tiers.len().max(1);
                AchievementProgress {
                    id: std::sync::Arc::clone(id),
                    current: u64::from(unlocked),
                    target: 1,
                    fraction: if unlocked { 1.0 } else { 0.0 },
                    unlocked,
                }
            })
            .collect()
    }

    /// Summary figures of a user's achievements.
    pub fn summary(&self, state: &AchievementState) -> Summary {
        let mut by_rarity: BTreeMap<Rarity, (usize, usize)> =
            Rarity::ALL.iter().map(|r| (*r, (0, 0))).collect();
        let (mut unlocked, mut xp_earned) = (0, 0u64);
        for e in self.iter() {
            let tiers = state.tiers(&e.id) as usize;
            let slot = by_rarity.entry(e.rarity).or_default();
            slot.1 += 1;
            if tiers > 0 {
                unlocked += 1;
                slot.0 += 1;
                let earned: u64 = if e.tiers.is_empty() {
                    e.reward_xp(None)
                } else {
                    (0..tiers.min(e.tiers.len()))
                        .map(|t| e.reward_xp(Some(t)))
                        .fold(0, u64::saturating_add)
                };
                xp_earned = xp_earned.saturating_add(earned);
            }
        }
        let total = self.len();
        Summary {
            unlocked,
            total,
            percentage: if total == 0 {
                0.0
            } else {
                100.0 * unlocked as f64 / total as f64
            },
            xp_earned,
            by_rarity,
        }
    }
}

//! Reading a user: the stats a profile page shows, achievement progress for
//! the grid, and the ledger, paged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::achievement::{AchievementProgress, Rarity};
use crate::activity::{Metrics, UserId};
use crate::ledger::LedgerEntry;
use crate::level::{Level, Progress};
use crate::name::Name;
use crate::state::UserState;
use crate::step::facts;
use crate::store::StoreError;

use super::Engine;

/// A user's stats, as the seed's `getUserStats` meant them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserStats {
    /// Whose stats.
    pub user: UserId,
    /// The level reached.
    pub level: Level,
    /// The level band's title, if the configuration names one.
    pub title: Option<String>,
    /// XP balance.
    pub xp: u64,
    /// Progress within the level (XP into it, XP to the next, fraction).
    pub progress: Progress,
    /// Points balance.
    pub points: u64,
    /// Achievements.
    pub achievements: AchievementSummary,
    /// Lifetime metric counters.
    pub metrics: Metrics,
    /// Rank on every configured board the user is on.
    pub ranks: Vec<BoardStanding>,
    /// The login streak.
    pub streak: StreakSummary,
    /// Quests completed, all time.
    pub quests_completed: u64,
    /// The most recent ledger entries (up to ten), newest last; page
    /// through the rest with [`Engine::ledger`].
    pub recent: Vec<LedgerEntry>,
}

/// A summary of a user's achievements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AchievementSummary {
    /// Achievements in the catalog.
    pub total: usize,
    /// Achievements unlocked (a revoked one is not).
    pub unlocked: usize,
    /// Achievements an admin revoked (and no grant has restored since):
    /// they stay locked whatever the user does.
    #[serde(default)]
    pub revoked: usize,
    /// The achievement score (by rarity).
    pub score: u64,
    /// Points the unlocked achievements paid.
    pub points: u64,
    /// Unlocked achievements by rarity.
    pub by_rarity: BTreeMap<Rarity, usize>,
}

/// A user's streak, as of their last activity.
///
/// Streaks change only when an activity is applied (the core reads no
/// clock), so a streak the calendar has since broken still shows its
/// length here until the user's next activity starts a new one. A profile
/// that shows "days in a row" today can tell from `last_day`, read in the
/// user's time zone, whether the streak is still alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreakSummary {
    /// Consecutive local days with activity, up to the last one.
    pub current: u32,
    /// The longest streak ever.
    pub longest: u32,
    /// Freezes held.
    pub freezes: u32,
    /// The last local date with activity, if any.
    pub last_day: Option<chrono::NaiveDate>,
}

/// A user's standing on one board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardStanding {
    /// The board's id.
    pub board: Name,
    /// The rank (by the board's policy).
    pub rank: u64,
    /// The score.
    pub score: u64,
    /// Users on the board.
    pub total: u64,
}

/// How many ledger entries [`Engine::stats`] includes.
const RECENT_LEDGER: usize = 10;

impl Engine {
    /// A user's stats, or `None` for a user the store has never seen.
    pub fn stats(&self, user: UserId) -> Result<Option<UserStats>, StoreError> {
        let Some(state) = self.store.load(user)? else {
            return Ok(None);
        };
        let config = &*self.config;
        let now = self.now();
        let mut by_rarity = BTreeMap::new();
        let mut achievement_points = 0u64;
        for id in state.achievements.unlocked_ids() {
            if let Some(entry) = config.achievements.get(id) {
                *by_rarity.entry(entry.rarity).or_insert(0) += 1;
                let tiers = state.achievements.tiers(id) as usize;
                let paid = if entry.tiers.is_empty() {
                    entry.reward_points(None)
                } else {
                    (0..tiers.min(entry.tiers.len()))
                        .map(|t| entry.reward_points(Some(t)))
                        .fold(0, u64::saturating_add)
                };
                achievement_points = achievement_points.saturating_add(paid);
            }
        }
        let mut ranks = Vec::new();
        for id in self.boards.ids() {
            if let Some(standing) = self.boards.handle(&id, now).and_then(|b| b.rank_of(user)) {
                ranks.push(BoardStanding {
                    board: id,
                    rank: standing.rank,
                    score: standing.score,
                    total: standing.total,
                });
            }
        }
        let count = self.store.ledger_len(user)?;
        let recent = self.store.ledger(
            user,
            count.saturating_sub(RECENT_LEDGER as u64),
            RECENT_LEDGER,
        )?;
        Ok(Some(UserStats {
            user,
            level: state.level,
            title: config.bands.band_for(state.level).map(|b| b.title.clone()),
            xp: state.xp,
            progress: config.curve.progress(state.xp),
            points: state.points,
            achievements: AchievementSummary {
                total: config.achievements.len(),
                unlocked: state.achievements.unlocked_count(),
                // Of the current catalog, as `total` is.
                revoked: state
                    .achievements
                    .revoked_ids()
                    .filter(|id| config.achievements.get(id).is_some())
                    .count(),
                score: state.achievements.score(),
                points: achievement_points,
                by_rarity,
            },
            metrics: state.metrics.clone(),
            ranks,
            streak: StreakSummary {
                current: state.streak.current,
                longest: state.streak.longest,
                freezes: state.streak.freezes,
                last_day: state.streak.last_day,
            },
            quests_completed: state.quests.completed_total,
            recent,
        }))
    }

    /// Progress on every achievement of the catalog, for the achievement
    /// grid (a new user gets everyone's starting progress). A revoked
    /// achievement is reported locked, though its progress may be complete
    /// (see [`Catalog::progress`](crate::achievement::Catalog::progress)).
    pub fn achievement_progress(
        &self,
        user: UserId,
    ) -> Result<Vec<AchievementProgress>, StoreError> {
        let state = self.store.load(user)?.unwrap_or_default();
        Ok(self.progress_of(&state))
    }

    fn progress_of(&self, state: &UserState) -> Vec<AchievementProgress> {
        let tz = state.time_zone.unwrap_or(self.config.default_time_zone);
        self.config
            .achievements
            .progress(&state.achievements, &facts(state), self.now(), tz)
    }

    /// `limit` ledger entries of `user` from entry `from` (0 is the first).
    pub fn ledger(
        &self,
        user: UserId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        self.store.ledger(user, from, limit)
    }
}

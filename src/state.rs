//! A user's whole game state: balances, level, metrics, and the state each
//! rule keeps.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::achievement::AchievementState;
use crate::activity::Metrics;
use crate::level::Level;
use crate::name::NameMap;
use crate::quest::QuestState;
use crate::streak::StreakState;
use crate::time::Tz;
use crate::xp::RuleState;

/// Everything the engine keeps for one user, as one value the store reads
/// and writes atomically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserState {
    /// XP balance (the sum of the user's XP ledger entries).
    pub xp: u64,
    /// Points balance (the sum of the user's points ledger entries).
    pub points: u64,
    /// The level of the XP balance, as last reached (kept so a level-up is
    /// detected, and so a changed curve is noticed by a replay).
    pub level: Level,
    /// The user's own time zone; `None` uses the configuration's default.
    pub time_zone: Option<Tz>,
    /// Lifetime metric counters.
    pub metrics: Metrics,
    /// Caps and cooldowns of the XP rules.
    pub rules: RuleState,
    /// The login streak.
    pub streak: StreakState,
    /// Quest progress and completions.
    pub quests: QuestState,
    /// Unlocked achievements and the counters their criteria need.
    pub achievements: AchievementState,
    /// What the user gained in the current window of each windowed board,
    /// by board id, so boards can be rebuilt from states alone.
    pub windows: NameMap<WindowGain>,
    /// When the user's score last changed on each board that ranks ties by
    /// who reached the score first ([`RankPolicy::Ordinal`]), by board id,
    /// so a board rebuilt from states keeps that order.
    ///
    /// [`RankPolicy::Ordinal`]: crate::leaderboard::RankPolicy::Ordinal
    pub reached: NameMap<DateTime<Utc>>,
}

impl UserState {
    /// Read a word of each map a step reads, so that a store running a
    /// batch can start the misses of the next user's state while it steps
    /// this one. Returns a meaningless value.
    pub(crate) fn touch(&self) -> u64 {
        self.metrics.touch()
            ^ self.rules.kinds.touch()
            ^ self.quests.progress.touch()
            ^ self.achievements.unlocked.touch()
            ^ self.achievements.counters.touch()
            ^ self.windows.touch()
    }
}

impl Default for UserState {
    fn default() -> Self {
        Self {
            xp: 0,
            points: 0,
            level: 1,
            time_zone: None,
            metrics: Metrics::default(),
            rules: RuleState::default(),
            streak: StreakState::default(),
            quests: QuestState::default(),
            achievements: AchievementState::default(),
            windows: NameMap::new(),
            reached: NameMap::new(),
        }
    }
}

/// A user's gain in one window of a windowed board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowGain {
    /// The first local day of the window (in the board's time zone).
    pub window: NaiveDate,
    /// What the user gained in it.
    pub amount: u64,
}

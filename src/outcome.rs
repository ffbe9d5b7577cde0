//! What one activity (or admin operation) caused: an [`Outcome`] holding its
//! [`Event`]s in order.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::achievement::{AchievementProgress, Unlock};
use crate::activity::{ActivityId, UserId};
use crate::ledger::Currency;
use crate::level::Level;
use crate::name::Name;
use crate::quest::QuestCompleted;
use crate::streak::StreakChange;
use crate::time::Tz;
use crate::xp::Award;

/// Everything one recorded activity or admin operation caused, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Whose state changed.
    pub user: UserId,
    /// The activity recorded, or `None` for an admin operation.
    pub activity: Option<ActivityId>,
    /// The activity's time, or the engine's `now` for admin operations.
    pub at: DateTime<Utc>,
    /// What happened, in order: XP awarded, level-ups, achievements,
    /// quests, streak, points, then anything else.
    pub events: Vec<Event>,
    /// The net balance changes, summed over the events.
    pub totals: Totals,
}

/// The net balance changes an outcome made and the totals they led to, as
/// the boards consume them. The lifetime metrics it increased are in its
/// [`Event::MetricsIncremented`] (see [`Outcome::metric_changes`]), kept
/// once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// XP added (negative: removed).
    pub xp: i64,
    /// Points added (negative: removed).
    pub points: i64,
    /// Achievement score added (negative: an achievement was revoked).
    pub achievement_score: i64,
    /// The XP balance afterwards.
    pub xp_after: u64,
    /// The points balance afterwards.
    pub points_after: u64,
    /// The achievement score afterwards.
    pub achievement_score_after: u64,
}

/// A lifetime metric's increase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricChange {
    /// The metric.
    pub metric: Name,
    /// By how much it increased.
    pub by: u64,
    /// Its value afterwards.
    pub total: u64,
}

impl Totals {
    /// Record the balances of `state` as the totals afterwards.
    pub(crate) fn close(&mut self, state: &crate::state::UserState) {
        self.xp_after = state.xp;
        self.points_after = state.points;
        self.achievement_score_after = state.achievements.score();
    }
}

/// One thing that happened to a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// XP for the activity itself: the decision, with base, boosts and
    /// limits.
    XpAwarded {
        /// XP credited.
        amount: u64,
        /// How the amount was decided.
        award: Award,
    },
    /// A level was reached (one event per level crossed).
    LevelUp {
        /// The level reached.
        level: Level,
        /// The level-up bonus XP credited for it.
        bonus_xp: u64,
    },
    /// An XP adjustment took the user down to this level.
    LevelDown {
        /// The new level.
        level: Level,
    },
    /// An achievement (or one tier of it) was unlocked.
    AchievementUnlocked(Unlock),
    /// Progress on achievements this activity affected that are still
    /// locked.
    AchievementProgress {
        /// One entry per affected achievement.
        progress: Vec<AchievementProgress>,
    },
    /// An admin revoked an achievement.
    AchievementRevoked {
        /// The achievement's id.
        id: Name,
    },
    /// A quest was completed in its current window (once per window).
    QuestCompleted(QuestCompleted),
    /// The login streak changed.
    Streak(StreakChange),
    /// Points for the activity itself.
    PointsEarned {
        /// Points credited.
        amount: u64,
    },
    /// Lifetime metrics the activity increased.
    MetricsIncremented {
        /// Each metric's increase and new value.
        metrics: Vec<MetricChange>,
    },
    /// A manual XP or points correction.
    Adjusted {
        /// XP or points.
        currency: Currency,
        /// The signed change.
        amount: i64,
        /// The operator's reason.
        note: String,
    },
    /// The user's time zone was changed.
    TimeZoneChanged {
        /// The new zone.
        time_zone: Tz,
    },
    /// A board's current window was reset by an admin.
    BoardReset {
        /// The board's id.
        board: String,
    },
    /// A replay rebuilt the user's state under the current configuration.
    Replayed {
        /// XP change the replay made.
        xp: i64,
        /// Points change the replay made.
        points: i64,
    },
}

impl Outcome {
    /// An outcome with no events yet.
    pub fn new(user: UserId, activity: Option<ActivityId>, at: DateTime<Utc>) -> Self {
        Self {
            user,
            activity,
            at,
            events: Vec::new(),
            totals: Totals::default(),
        }
    }

    /// The lifetime metrics this outcome increased, each with its increase
    /// and new value: its [`Event::MetricsIncremented`], or none.
    pub fn metric_changes(&self) -> &[MetricChange] {
        metric_changes(&self.events)
    }

    /// The achievements this outcome unlocked.
    pub fn unlocked(&self) -> impl Iterator<Item = &Unlock> {
        self.events.iter().filter_map(|e| match e {
            Event::AchievementUnlocked(u) => Some(u),
            _ => None,
        })
    }

    /// The levels this outcome reached, in order.
    pub fn levels_reached(&self) -> impl Iterator<Item = Level> + '_ {
        self.events.iter().filter_map(|e| match e {
            Event::LevelUp { level, .. } => Some(*level),
            _ => None,
        })
    }
}

/// The metric changes of `events`' [`Event::MetricsIncremented`], or none.
pub(crate) fn metric_changes(events: &[Event]) -> &[MetricChange] {
    events
        .iter()
        .find_map(|e| match e {
            Event::MetricsIncremented { metrics } => Some(metrics.as_slice()),
            _ => None,
        })
        .unwrap_or(&[])
}

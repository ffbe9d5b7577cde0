//! Achievements: a declarative, validated catalog and an evaluator that
//! checks only what an activity can affect, exactly once per achievement.
//!
//! An [`Achievement`] is data (loadable with serde, buildable in code): its
//! [`Criterion`] says when it unlocks, optionally in [`Tier`]s, gated by
//! prerequisites and an availability window. The [`Catalog`] validates the
//! entries once and builds an index from what can change (a metric, an
//! activity kind, an attribute, the level, the streak, quests, other
//! achievements) to the entries it can affect.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use gamify::achievement::{AchievementState, Catalog, Change, Facts};
//! use gamify::activity::Metrics;
//! use gamify::time::Tz;
//!
//! let catalog = Catalog::sparkle();
//! let mut state = AchievementState::default();
//! let mut metrics = Metrics::new();
//! metrics.add("posts", 1);
//! let by_family = Default::default();
//! let facts = Facts { metrics: &metrics, level: 1, streak_current: 1, streak_longest: 1,
//!                     quests_completed: 0, quests_by_family: &by_family };
//! let at = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();
//! let attributes = Default::default();
//! let change = Change { kind: Some("post_created"), at, tz: Tz::UTC,
//!                       metrics: &[("posts".into(), 1)], attributes: &attributes,
//!                       level_changed: false, streak_changed: false, quests_changed: false,
//!                       achievements_changed: false };
//! let evaluation = catalog.evaluate(&mut state, &facts, &change);
//! assert_eq!(evaluation.unlocked[0].name, "First Steps");
//! // Never twice.
//! assert!(catalog.evaluate(&mut state, &facts, &change).unlocked.is_empty());
//! ```

mod catalog;
mod criterion;
mod evaluate;
mod query;
mod state;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::name::Name;

pub use catalog::Catalog;
pub(crate) use catalog::RawCatalog;
pub use criterion::{Criterion, LocalWindow};
pub use evaluate::{AchievementError, AchievementProgress, Change, Evaluation, Facts, Unlock};
pub use query::{Query, SortBy, Summary, View};
pub use state::{AchievementState, Unlocked};

/// How rare an achievement is: its XP multiplier, default points and score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rarity {
    /// ×1 XP, score 10.
    Common,
    /// ×1.5 XP, score 25.
    Uncommon,
    /// ×2 XP, score 50.
    Rare,
    /// ×3 XP, 250 points unless the entry says otherwise, score 100.
    Epic,
    /// ×5 XP, 500 points unless the entry says otherwise, score 250.
    Legendary,
    /// ×10 XP, 1,000 points unless the entry says otherwise, score 1,000.
    Mythic,
}

impl Rarity {
    /// Every rarity, most common first.
    pub const ALL: [Self; 6] = [
        Self::Common,
        Self::Uncommon,
        Self::Rare,
        Self::Epic,
        Self::Legendary,
        Self::Mythic,
    ];

    /// The XP multiplier in thousandths (1,500 = ×1.5).
    pub fn xp_multiplier_permille(self) -> u64 {
        match self {
            Self::Common => 1000,
            Self::Uncommon => 1500,
            Self::Rare => 2000,
            Self::Epic => 3000,
            Self::Legendary => 5000,
            Self::Mythic => 10_000,
        }
    }

    /// Points for an entry that states none (the seed's table: only epic
    /// and above pay points).
    pub fn default_points(self) -> u64 {
        match self {
            Self::Epic => 250,
            Self::Legendary => 500,
            Self::Mythic => 1000,
            _ => 0,
        }
    }

    /// The achievement score, for the achievements leaderboard.
    pub fn score(self) -> u64 {
        match self {
            Self::Common => 10,
            Self::Uncommon => 25,
            Self::Rare => 50,
            Self::Epic => 100,
            Self::Legendary => 250,
            Self::Mythic => 1000,
        }
    }
}

/// One threshold of a tiered achievement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// The value the criterion must reach (tiers strictly increasing).
    pub target: u64,
    /// Base XP of this tier (multiplied by rarity).
    #[serde(default)]
    pub xp: u64,
    /// Points of this tier (default: the rarity's).
    #[serde(default)]
    pub points: Option<u64>,
}

/// When an achievement can be earned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Availability {
    /// Not before this instant.
    #[serde(default, deserialize_with = "crate::time::instant::optional_instant")]
    pub from: Option<DateTime<Utc>>,
    /// Not at or after this instant (expiry).
    #[serde(default, deserialize_with = "crate::time::instant::optional_instant")]
    pub until: Option<DateTime<Utc>>,
}

impl Availability {
    /// Whether `at` is inside the window.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| f <= at) && self.until.is_none_or(|u| at < u)
    }
}

/// An achievement: data, not code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Achievement {
    /// Unique id (`ach_first_post`).
    pub id: Name,
    /// Unique code (`FIRST_POST`).
    pub code: Name,
    /// Shown to users.
    pub name: String,
    /// Shown to users.
    #[serde(default)]
    pub description: String,
    /// An emoji or icon name.
    #[serde(default)]
    pub icon: String,
    /// An animated variant of the icon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub animated_icon: Option<String>,
    /// Base XP (multiplied by the rarity's multiplier on unlock).
    #[serde(default)]
    pub xp: u64,
    /// Points on unlock; `None` uses the rarity's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<u64>,
    /// How rare it is.
    pub rarity: Rarity,
    /// A category (`content`, `social`, …).
    pub category: Name,
    /// Hidden until unlocked (still evaluated like any other).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
    /// Part of a season or event.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub seasonal: bool,
    /// When it can be earned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<Availability>,
    /// Achievements that must be unlocked first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prerequisites: Vec<Name>,
    /// When it unlocks.
    pub criterion: Criterion,
    /// Tiers: the criterion's value reaching each target unlocks it in turn
    /// (then the criterion's own target is ignored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<Tier>,
}

impl Achievement {
    /// XP paid for unlocking (a tier of) this achievement: base × rarity
    /// multiplier, rounded down, saturating.
    pub fn reward_xp(&self, tier: Option<usize>) -> u64 {
        let base = tier
            .and_then(|t| self.tiers.get(t))
            .map_or(self.xp, |t| t.xp);
        let scaled = u128::from(base) * u128::from(self.rarity.xp_multiplier_permille()) / 1000;
        u64::try_from(scaled).unwrap_or(u64::MAX)
    }

    /// Points paid for unlocking (a tier of) this achievement: the entry's
    /// (or tier's) own, else the rarity's default (seed defect 11: the
    /// entry's value wins over the fixed table).
    pub fn reward_points(&self, tier: Option<usize>) -> u64 {
        let own = match tier.and_then(|t| self.tiers.get(t)) {
            Some(t) => t.points,
            None => self.points,
        };
        own.unwrap_or_else(|| self.rarity.default_points())
    }
}

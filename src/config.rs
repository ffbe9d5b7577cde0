//! The whole game configuration: curve, bands, XP rules, streaks, quests,
//! the achievement catalog and the boards, validated once.
//!
//! Build it in code, or load it with serde from any format (JSON and TOML
//! are tested). Loading validates every part and rejects a bad one with a
//! [`ConfigError`] naming the field; after that nothing in the engine can
//! fail on configuration.
//!
//! ```
//! use gamify::config::Config;
//!
//! let sparkle = Config::sparkle();
//! let json = serde_json::to_string(&sparkle).unwrap();
//! let loaded: Config = serde_json::from_str(&json).unwrap();
//! assert_eq!(loaded, sparkle);
//!
//! let bad = json.replacen("\"future_tolerance_secs\":300", "\"future_tolerance_secs\":999999", 1);
//! let err = serde_json::from_str::<Config>(&bad).unwrap_err().to_string();
//! assert!(err.contains("future_tolerance_secs"), "{err}");
//! ```

use std::collections::BTreeSet;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::achievement::Catalog;
use crate::activity::Activity;
use crate::error::{ConfigError, ConfigProblem};
use crate::leaderboard::{BoardSpec, Source, sparkle_boards};
use crate::level::{CurveSpec, LevelBand, LevelBands, LevelCurve};
use crate::name::{Name, NameMap};
use crate::quest::QuestBook;
use crate::streak::{RawStreakRules, StreakRules};
use crate::time::Tz;
use crate::xp::{RawXpRules, XpRules};

/// The longest clock skew an activity's time may be ahead of `now`: one day.
const MAX_FUTURE_TOLERANCE_SECS: u32 = 86_400;

/// A validated game configuration. Cheap to share: the engine holds it in an
/// `Arc`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawConfig")]
pub struct Config {
    /// The level curve.
    pub curve: LevelCurve,
    /// Named level bands ("Rising Star 10+").
    pub bands: LevelBands,
    /// XP and points per activity kind, boosts, limits, level-up bonus.
    pub xp: XpRules,
    /// The daily login streak.
    pub streak: StreakRules,
    /// Daily and weekly quests.
    pub quests: QuestBook,
    /// The achievement catalog.
    pub achievements: Catalog,
    /// The leaderboards the engine keeps.
    pub boards: Vec<BoardSpec>,
    /// Lifetime metrics each activity kind increases by one
    /// (`post_created` → `posts`). An activity's own metric increments are
    /// added on top.
    pub kind_metrics: NameMap<Vec<Name>>,
    /// Metrics activities report themselves (`Activity::with_metric`)
    /// beyond those of `kind_metrics`. Criteria, quests and boards may only
    /// read metrics listed here or in `kind_metrics`.
    pub metrics: Vec<Name>,
    /// The time zone of users who have not set one.
    pub default_time_zone: Tz,
    /// How far (seconds) an activity's time may be ahead of `now` before it
    /// is refused as coming from the future; at most one day.
    pub future_tolerance_secs: u32,
}

/// The unvalidated shape of [`Config`], as it is written in a file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    // The parts that validate themselves are read unvalidated here and
    // validated in `try_from`, so their errors are named from the root
    // (`curve.thresholds[2]`, not `thresholds[2]`).
    curve: CurveSpec,
    #[serde(default)]
    bands: LevelBands,
    xp: RawXpRules,
    streak: RawStreakRules,
    #[serde(default)]
    quests: QuestBook,
    #[serde(default)]
    achievements: Catalog,
    #[serde(default)]
    boards: Vec<BoardSpec>,
    #[serde(default)]
    kind_metrics: NameMap<Vec<Name>>,
    #[serde(default)]
    metrics: Vec<Name>,
    #[serde(default = "utc")]
    default_time_zone: Tz,
    #[serde(default = "default_tolerance")]
    future_tolerance_secs: u32,
}

fn utc() -> Tz {
    Tz::UTC
}

fn default_tolerance() -> u32 {
    300
}

impl TryFrom<RawConfig> for Config {
    type Error = ConfigError;

    fn try_from(raw: RawConfig) -> Result<Self, ConfigError> {
        let curve = LevelCurve::new(raw.curve).map_err(|e| e.within("curve"))?;
        let xp = XpRules::try_from(raw.xp).map_err(|e| e.within("xp"))?;
        let streak = StreakRules::try_from(raw.streak).map_err(|e| e.within("streak"))?;
        // A band above the top level could never be reached.
        if let Some(i) = raw
            .bands
            .as_slice()
            .iter()
            .position(|b| b.min_level > curve.max_level())
        {
            return Err(ConfigError::new(
                format!("bands[{i}].min_level"),
                ConfigProblem::OutOfRange(format!(
                    "at most the curve's top level, {}",
                    curve.max_level()
                )),
            ));
        }
        let mut listed = BTreeSet::new();
        for (i, metric) in raw.metrics.iter().enumerate() {
            if metric.trim().is_empty() {
                return Err(ConfigError::new(
                    format!("metrics[{i}]"),
                    ConfigProblem::Empty,
                ));
            }
            if !listed.insert(metric.as_str()) {
                return Err(ConfigError::new(
                    format!("metrics[{i}]"),
                    ConfigProblem::Duplicate(metric.to_string()),
                ));
            }
        }
        let mut ids = BTreeSet::new();
        for (i, board) in raw.boards.iter().enumerate() {
            if !ids.insert(board.id.as_str()) {
                return Err(
                    ConfigError::new("id", ConfigProblem::Duplicate(board.id.to_string()))
                        .within(format!("boards[{i}]")),
                );
            }
        }
        for (kind, metrics) in &raw.kind_metrics {
            if metrics.iter().any(|m| m.is_empty()) {
                return Err(
                    ConfigError::new(kind.as_str(), ConfigProblem::Empty).within("kind_metrics")
                );
            }
            // A metric listed twice would count twice per activity.
            let mut listed = BTreeSet::new();
            if let Some(twice) = metrics.iter().find(|m| !listed.insert(m.as_str())) {
                return Err(ConfigError::new(
                    kind.as_str(),
                    ConfigProblem::Duplicate(twice.to_string()),
                )
                .within("kind_metrics"));
            }
        }
        let known: BTreeSet<&str> = raw
            .kind_metrics
            .values()
            .flatten()
            .map(Name::as_str)
            .chain(raw.metrics.iter().map(Name::as_str))
            .collect();
        if let Some((entry, metric)) = raw.achievements.unknown_metric(|m| known.contains(m)) {
            return Err(ConfigError::new(
                format!("achievements[{entry}].criterion.metric"),
                ConfigProblem::Unknown(metric),
            ));
        }
        for (i, quest) in raw.quests.quests().iter().enumerate() {
            let is_kind = xp.kinds.contains_key(&quest.metric);
            if !is_kind && !known.contains(quest.metric.as_str()) {
                return Err(ConfigError::new(
                    format!("quests[{i}].metric"),
                    ConfigProblem::Unknown(quest.metric.to_string()),
                ));
            }
        }
        for (i, board) in raw.boards.iter().enumerate() {
            if let Source::Metric(m) = &board.source
                && !known.contains(m.as_str())
            {
                return Err(ConfigError::new(
                    format!("boards[{i}].source.metric"),
                    ConfigProblem::Unknown(m.to_string()),
                ));
            }
        }
        if raw.future_tolerance_secs > MAX_FUTURE_TOLERANCE_SECS {
            return Err(ConfigError::new(
                "future_tolerance_secs",
                ConfigProblem::OutOfRange(format!("at most {MAX_FUTURE_TOLERANCE_SECS}")),
            ));
        }
        Ok(Self {
            curve,
            bands: raw.bands,
            xp,
            streak,
            quests: raw.quests,
            achievements: raw.achievements,
            boards: raw.boards,
            kind_metrics: raw.kind_metrics,
            metrics: raw.metrics,
            default_time_zone: raw.default_time_zone,
            future_tolerance_secs: raw.future_tolerance_secs,
        })
    }
}

// `std::sync::LazyLock` rather than once_cell: the standard library has had
// it since Rust 1.80, so the preset costs no dependency.
static SPARKLE: LazyLock<Config> = LazyLock::new(|| Config {
    curve: LevelCurve::sparkle(),
    bands: sparkle_bands(),
    xp: XpRules::sparkle(),
    streak: StreakRules::sparkle(),
    quests: QuestBook::sparkle(),
    achievements: Catalog::sparkle().clone(),
    boards: sparkle_boards(),
    kind_metrics: [
        ("post_created", "posts"),
        ("comment_created", "comments"),
        ("reaction_given", "reactions_given"),
        ("reaction_received", "reactions_received"),
        ("follow_received", "followers"),
        ("daily_login", "logins"),
        ("post_featured", "featured_posts"),
        ("post_viral", "viral_posts"),
        ("comment_liked", "comment_likes"),
        ("follow_given", "following"),
        ("post_trending", "trending_posts"),
        ("comment_thread_popular", "popular_threads"),
        ("sparkle_reaction_given", "sparkle_reactions"),
        ("youtube_connected", "youtube_connections"),
        ("watch_party_hosted", "watch_parties_hosted"),
    ]
    .into_iter()
    .map(|(kind, metric)| (kind, vec![Name::new(metric)]))
    .collect(),
    metrics: vec![
        Name::new("reactions_received"),
        Name::new("reactions_given"),
    ],
    default_time_zone: Tz::UTC,
    future_tolerance_secs: 300,
});

/// The seed's level titles.
fn sparkle_bands() -> LevelBands {
    // The titles of the seed's level achievements, held from their level.
    let band = |min_level, title: &str| LevelBand {
        min_level,
        title: title.to_owned(),
    };
    LevelBands::new(vec![
        band(1, "Newcomer"),
        band(10, "Rising Star"),
        band(25, "Veteran"),
        band(50, "Elite"),
        band(100, "Legendary"),
    ])
    .unwrap_or_default()
}

impl Config {
    /// The built-in Sparkle Universe preset: the seed's curve, XP table,
    /// streak bonus, quests, achievement catalog and boards. Built once per
    /// process; this returns a copy.
    pub fn sparkle() -> Self {
        SPARKLE.clone()
    }

    /// A shared reference to the sparkle preset, without copying it.
    pub fn sparkle_ref() -> &'static Self {
        &SPARKLE
    }

    /// The lifetime metric increments `activity` causes: its own
    /// increments, and one for each metric its kind maps to that the
    /// activity does not count itself (a `reaction_received` carrying
    /// `reactions_received = 40` adds 40, not 41).
    pub fn metrics_of(&self, activity: &Activity) -> Vec<(Name, u64)> {
        self.increments_of(activity).into_vec()
    }

    /// [`metrics_of`](Self::metrics_of), on the stack for the usual one to
    /// four metrics: the step asks for it on every activity.
    pub(crate) fn increments_of(&self, activity: &Activity) -> SmallVec<[(Name, u64); 4]> {
        let by_kind = self
            .kind_metrics
            .get(activity.kind.as_str())
            .into_iter()
            .flatten();
        let mut out: SmallVec<[(Name, u64); 4]> = by_kind
            .filter(|m| !activity.metrics.contains_key(*m))
            .map(|m| (m.clone(), 1))
            .collect();
        out.extend(
            activity
                .metrics
                .iter()
                .filter(|(_, by)| **by > 0)
                .map(|(m, by)| (m.clone(), *by)),
        );
        out
    }

    /// The board spec with this id.
    pub fn board(&self, id: &str) -> Option<&BoardSpec> {
        self.boards.iter().find(|b| b.id == id)
    }
}

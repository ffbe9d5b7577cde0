//! The whole game configuration: curve, bands, XP rules, streaks, quests,
//! the achievement catalog and the boards, validated once.
//!
//! Build it in code, load JSON with [`Config::from_json`], or load it with
//! serde from any format (JSON and TOML are tested). Loading validates every
//! part and rejects a bad one with a [`ConfigError`] naming the field from
//! the document's root (`curve.thresholds[2]`, `boards[3].max`,
//! `achievements.achievements[ach_first_post].criterion.metric`); after
//! that nothing in the engine can fail on configuration.
//!
//! The two ways differ on a document that is malformed rather than invalid
//! (a string where a number belongs, an unknown field):
//! [`Config::from_json`] names that field too, as a [`ConfigError`] whose
//! problem is [`ConfigProblem::Malformed`]; plain serde gives the format's
//! own error (for JSON, its line and column), and an invalid value's
//! [`ConfigError`] only as that error's text.
//!
//! ```
//! use gamify::config::Config;
//!
//! let sparkle = Config::sparkle();
//! let json = serde_json::to_string(&sparkle).unwrap();
//! assert_eq!(Config::from_json(&json).unwrap(), sparkle);
//! let loaded: Config = serde_json::from_str(&json).unwrap();
//! assert_eq!(loaded, sparkle);
//!
//! let bad = json.replacen("\"future_tolerance_secs\":300", "\"future_tolerance_secs\":999999", 1);
//! assert_eq!(Config::from_json(&bad).unwrap_err().field(), "future_tolerance_secs");
//! let err = serde_json::from_str::<Config>(&bad).unwrap_err().to_string();
//! assert!(err.contains("future_tolerance_secs"), "{err}");
//! ```

use std::collections::BTreeSet;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::achievement::{Catalog, RawCatalog};
use crate::activity::Activity;
use crate::error::{ConfigError, ConfigProblem};
use crate::leaderboard::{BoardSpec, RawBoardSpec, Source, sparkle_boards};
use crate::level::{CurveSpec, LevelBand, LevelBands, LevelCurve};
use crate::name::{Name, NameMap};
use crate::quest::{QuestBook, QuestDef};
use crate::streak::{RawStreakRules, StreakRules};
use crate::time::Tz;
use crate::xp::{RawXpRules, XpRules};

/// The longest clock skew an activity's time may be ahead of `now`: one day.
const MAX_FUTURE_TOLERANCE_SECS: u32 = 86_400;

/// A validated game configuration. Cheap to share: the engine holds it in an
/// `Arc`.
///
/// Loading validates it, and so does building each part in code. The
/// fields are public so a host can start from a preset and change it, but
/// a change can break what holds between parts (a second board with one
/// id, a board counting a metric nothing produces): check a changed
/// configuration with [`validate`](Self::validate) before an engine runs
/// it, as the engine trusts what it is given.
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
    // The parts that validate themselves when deserialized on their own are
    // read unvalidated here and validated in `try_from`, so their errors are
    // named from the root (`curve.thresholds[2]`, not `thresholds[2]`;
    // `boards[3].max`, not `max`), and so `Config::from_json` gets them as
    // `ConfigError`s rather than as a serde error's text.
    curve: CurveSpec,
    #[serde(default)]
    bands: Vec<LevelBand>,
    xp: RawXpRules,
    streak: RawStreakRules,
    #[serde(default)]
    quests: Vec<QuestDef>,
    #[serde(default)]
    achievements: RawCatalog,
    #[serde(default)]
    boards: Vec<RawBoardSpec>,
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
        // Bands and quests name their fields `bands[i]` and `quests[i]`
        // already: their own names are their fields here.
        let bands = LevelBands::new(raw.bands)?;
        let quests = QuestBook::new(raw.quests)?;
        // The catalog names its entries `achievements[ach_first_post]` (by
        // index while an id is missing or repeated) and its groups
        // `groups.beginner[0]`; here both are under `achievements`.
        let achievements =
            Catalog::try_from(raw.achievements).map_err(|e| e.within("achievements"))?;
        let boards = raw
            .boards
            .into_iter()
            .enumerate()
            .map(|(i, board)| {
                BoardSpec::try_from(board).map_err(|e| e.within(format!("boards[{i}]")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // A band above the top level could never be reached.
        if let Some(i) = bands
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
        for (i, board) in boards.iter().enumerate() {
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
        if let Some((entry, metric)) = achievements.unknown_metric(|m| known.contains(m)) {
            return Err(ConfigError::new(
                format!("achievements.achievements[{entry}].criterion.metric"),
                ConfigProblem::Unknown(metric),
            ));
        }
        for (i, quest) in quests.quests().iter().enumerate() {
            let is_kind = xp.kinds.contains_key(&quest.metric);
            if !is_kind && !known.contains(quest.metric.as_str()) {
                return Err(ConfigError::new(
                    format!("quests[{i}].metric"),
                    ConfigProblem::Unknown(quest.metric.to_string()),
                ));
            }
        }
        for (i, board) in boards.iter().enumerate() {
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
            bands,
            xp,
            streak,
            quests,
            achievements,
            boards,
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

/// A serde error as a [`ConfigError`] at the path where it happened.
///
/// serde reports a missing field and a field or key given twice from the
/// value that holds it, naming the field only in its message: the name is
/// added to the path, so the error names the field that is wrong. A key
/// that could not be read (bad syntax) is left out: the error is named by
/// the value it was in.
fn malformed<E: std::fmt::Display>(err: serde_path_to_error::Error<E>) -> ConfigError {
    use serde_path_to_error::Segment;

    let message = err.inner().to_string();
    let mut field = String::new();
    for segment in err.path().iter() {
        match segment {
            Segment::Seq { index } => field.push_str(&format!("[{index}]")),
            Segment::Map { key: name } | Segment::Enum { variant: name } => {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(name);
            }
            Segment::Unknown => break,
        }
    }
    let named = ["missing field `", "duplicate field `", "duplicate key `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    if let Some(name) = named {
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(name);
    }
    if field.is_empty() {
        field = ROOT.to_owned();
    }
    ConfigError::new(field, ConfigProblem::Malformed(message))
}

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

/// The field named for what is wrong with a document as a whole (bad
/// syntax, not an object, characters after the end).
const ROOT: &str = "(root)";

impl Config {
    /// Load a configuration from JSON text, naming the field of any error
    /// from the document's root.
    ///
    /// A value that breaks a rule comes back as validation found it (a
    /// [`ConfigError`] such as `boards[3].max`: out of range). A document
    /// that is malformed comes back as a [`ConfigError`] whose problem is
    /// [`ConfigProblem::Malformed`], carrying serde_json's message with its
    /// line and column, and whose [`field`](ConfigError::field) is the path
    /// of the value that failed to load:
    ///
    /// - a value of the wrong type or an unknown variant: that value
    ///   (`streak.milestones[1]`, `boards[2].window`);
    /// - an unknown field: that field (`boards[3].windw`);
    /// - a missing field, or a field or map key given twice: that field or
    ///   key (`boards[1].window`, `xp.kinds.post_created`);
    /// - an unknown time zone: its field (`boards[5].time_zone`);
    /// - inside a value tagged by one of its own fields (a curve's `kind`,
    ///   a criterion's `type`), the tagged value (`curve`,
    ///   `achievements.achievements[2].criterion`): serde reads such a value
    ///   whole before it knows its shape, so the message says the rest;
    /// - bad syntax, a document that is not an object, or characters after
    ///   its end: `(root)`.
    ///
    /// Deserializing a `Config` with plain serde (`serde_json::from_str`,
    /// `toml::from_str`) accepts and refuses exactly the same documents;
    /// only its errors are the format's own.
    ///
    /// ```
    /// use gamify::ConfigProblem;
    /// use gamify::config::Config;
    ///
    /// let mut doc = serde_json::to_value(Config::sparkle()).unwrap();
    /// doc["boards"][3]["keep_previous"] = "ten".into();
    /// let err = Config::from_json(&doc.to_string()).unwrap_err();
    /// assert_eq!(err.field(), "boards[3].keep_previous");
    /// assert!(matches!(err.problem(), ConfigProblem::Malformed(_)));
    /// assert!(err.to_string().contains("invalid type: string \"ten\""), "{err}");
    /// assert!(err.to_string().contains("at line 1 column"), "{err}");
    ///
    /// doc["boards"][3]["keep_previous"] = 10.into();
    /// doc["boards"][3]["min"] = 50.into();
    /// doc["boards"][3]["max"] = 5.into();
    /// let err = Config::from_json(&doc.to_string()).unwrap_err();
    /// assert_eq!(err.field(), "boards[3].max");
    /// assert!(matches!(err.problem(), ConfigProblem::OutOfRange(_)));
    /// ```
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let mut json = serde_json::Deserializer::from_str(text);
        let raw: RawConfig = serde_path_to_error::deserialize(&mut json).map_err(malformed)?;
        json.end()
            .map_err(|e| ConfigError::new(ROOT, ConfigProblem::Malformed(e.to_string())))?;
        Self::try_from(raw)
    }

    /// [`from_json`](Self::from_json) for a document already parsed into a
    /// [`serde_json::Value`]. The same errors, named the same way, but a
    /// malformed value's message has no line and column: a `Value` keeps
    /// none.
    ///
    /// ```
    /// use gamify::config::Config;
    ///
    /// let mut doc = serde_json::to_value(Config::sparkle()).unwrap();
    /// doc["quests"][0]["window"] = "hourly".into();
    /// let err = Config::from_json_value(doc).unwrap_err();
    /// assert_eq!(err.field(), "quests[0].window");
    /// ```
    pub fn from_json_value(value: serde_json::Value) -> Result<Self, ConfigError> {
        let raw: RawConfig = serde_path_to_error::deserialize(value).map_err(malformed)?;
        Self::try_from(raw)
    }

    /// Check this configuration as loading checks one, naming the field at
    /// fault from the root: for a configuration built or changed in code.
    ///
    /// ```
    /// use gamify::config::Config;
    /// use gamify::leaderboard::{BoardSpec, BoardWindow, Source};
    ///
    /// let mut config = Config::sparkle();
    /// assert!(config.validate().is_ok());
    /// config.boards.push(BoardSpec::new("xp_daily", Source::Xp, BoardWindow::Day));
    /// assert_eq!(config.validate().unwrap_err().field(), "boards[16].id");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        // A boost's multiplier is the one float a host can set by hand, and
        // JSON writes a NaN or an infinity as null: checked here, so it is
        // named for what it is rather than as a malformed null.
        for (i, boost) in self.xp.boosts.iter().enumerate() {
            boost
                .validate()
                .map_err(|e| e.within(format!("xp.boosts[{i}]")))?;
        }
        // The parts' own checks ran when they were built; what can break
        // since is between parts, which the document's route checks. A
        // configuration serializes to the document it loads from (tested:
        // the shipped preset round-trips).
        let document = serde_json::to_value(self)
            .map_err(|e| ConfigError::new(ROOT, ConfigProblem::Malformed(e.to_string())))?;
        Self::from_json_value(document).map(drop)
    }

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

//! What a board ranks, how, and over which window.

use chrono::Weekday;
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, ConfigProblem};
use crate::name::Name;
use crate::time::{PeriodKind, Tz};

/// What feeds a board.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// XP gained.
    Xp,
    /// Points gained.
    Points,
    /// A lifetime metric (`posts`, `followers`).
    Metric(Name),
    /// The achievement score (by rarity), so only users who unlocked
    /// something score (seed defects 7 and 8).
    AchievementScore,
}

/// The time window a board ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoardWindow {
    /// Everything, ever.
    AllTime,
    /// One day in the board's time zone.
    Day,
    /// One week from `starts_on` (Monday: ISO weeks).
    Week {
        /// The first day of the week.
        starts_on: Weekday,
    },
    /// One calendar month.
    Month,
}

impl BoardWindow {
    /// ISO weeks.
    pub const ISO_WEEK: Self = Self::Week {
        starts_on: Weekday::Mon,
    };

    /// The calendar period of a windowed board; `None` for all-time.
    pub fn period_kind(self) -> Option<PeriodKind> {
        match self {
            Self::AllTime => None,
            Self::Day => Some(PeriodKind::Day),
            Self::Week { starts_on } => Some(PeriodKind::Week { starts_on }),
            Self::Month => Some(PeriodKind::Month),
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Self::AllTime => "all_time",
            Self::Day => "daily",
            Self::Week { .. } => "weekly",
            Self::Month => "monthly",
        }
    }
}

/// How ties are ranked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RankPolicy {
    /// 1, 2, 2, 4.
    #[default]
    Competition,
    /// 1, 2, 2, 3.
    Dense,
    /// 1, 2, 3, 4: ties broken by who reached the score first, then user id.
    ///
    /// The engine keeps when each user's score was reached in their state
    /// ([`UserState::reached`](crate::state::UserState::reached)), so a
    /// board rebuilt from stored states (on start) orders ties as the live
    /// board did. Live, "first" is the order scores arrive at the board;
    /// rebuilt, it is the order of the activities' times, then user ids —
    /// the same unless activities arrive out of order or at the same
    /// instant.
    Ordinal,
}

/// How a score change applies.
///
/// On the engine's all-time boards every mode shows the source's lifetime
/// total (what a board rebuilt from the users' states shows): a total
/// only falls by an admin correction, which the board follows. The modes
/// differ on windowed boards, and on boards a host drives itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreMode {
    /// Add the change (XP gained).
    #[default]
    Increment,
    /// Replace the score.
    Replace,
    /// Keep the best score seen.
    KeepBest,
}

/// A board's definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawBoardSpec")]
pub struct BoardSpec {
    /// Unique id.
    pub id: Name,
    /// Shown to users.
    pub name: String,
    /// What it ranks.
    pub source: Source,
    /// Over which window.
    pub window: BoardWindow,
    /// The zone its days, weeks and months are counted in.
    pub time_zone: Tz,
    /// How ties rank.
    pub policy: RankPolicy,
    /// How changes apply.
    pub mode: ScoreMode,
    /// The lowest score allowed.
    pub min: Option<u64>,
    /// The highest score allowed.
    pub max: Option<u64>,
    /// How many of a closed window's top entries stay readable.
    pub keep_previous: usize,
}

/// A board as written in a file. A [`Config`](crate::config::Config)
/// reads its boards in this form and validates them itself, so a board's
/// errors are named with its place in the list (`boards[3].max`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBoardSpec {
    id: Name,
    #[serde(default)]
    name: String,
    source: Source,
    window: BoardWindow,
    #[serde(default = "utc")]
    time_zone: Tz,
    #[serde(default)]
    policy: RankPolicy,
    #[serde(default)]
    mode: ScoreMode,
    #[serde(default)]
    min: Option<u64>,
    #[serde(default)]
    max: Option<u64>,
    #[serde(default = "hundred")]
    keep_previous: usize,
}

fn utc() -> Tz {
    Tz::UTC
}

fn hundred() -> usize {
    100
}

impl TryFrom<RawBoardSpec> for BoardSpec {
    type Error = ConfigError;

    fn try_from(raw: RawBoardSpec) -> Result<Self, ConfigError> {
        if raw.id.trim().is_empty() {
            return Err(ConfigError::new("id", ConfigProblem::Empty));
        }
        if let Source::Metric(m) = &raw.source
            && m.trim().is_empty()
        {
            return Err(ConfigError::new("source.metric", ConfigProblem::Empty));
        }
        if let (Some(min), Some(max)) = (raw.min, raw.max)
            && min > max
        {
            return Err(ConfigError::new(
                "max",
                ConfigProblem::OutOfRange("below `min`".into()),
            ));
        }
        Ok(Self {
            name: if raw.name.is_empty() {
                raw.id.to_string()
            } else {
                raw.name
            },
            id: raw.id,
            source: raw.source,
            window: raw.window,
            time_zone: raw.time_zone,
            policy: raw.policy,
            mode: raw.mode,
            min: raw.min,
            max: raw.max,
            keep_previous: raw.keep_previous,
        })
    }
}

impl BoardSpec {
    /// A board with the defaults: competition ranks, increments, UTC, no
    /// bounds, the previous window's top 100 kept.
    pub fn new(id: impl Into<Name>, source: Source, window: BoardWindow) -> Self {
        let id = id.into();
        Self {
            name: id.to_string(),
            id,
            source,
            window,
            time_zone: Tz::UTC,
            policy: RankPolicy::Competition,
            mode: ScoreMode::Increment,
            min: None,
            max: None,
            keep_previous: 100,
        }
    }
}

/// The seed's boards — XP, posts, followers and achievement score — each
/// all-time, daily, weekly (ISO) and monthly, in UTC: `xp_all_time`,
/// `posts_weekly`, `achievements_monthly`, …
pub fn sparkle_boards() -> Vec<BoardSpec> {
    let sources = [
        ("xp", "XP", Source::Xp),
        ("posts", "Posts", Source::Metric("posts".into())),
        ("followers", "Followers", Source::Metric("followers".into())),
        (
            "achievements",
            "Achievement score",
            Source::AchievementScore,
        ),
    ];
    let windows = [
        BoardWindow::AllTime,
        BoardWindow::Day,
        BoardWindow::ISO_WEEK,
        BoardWindow::Month,
    ];
    let mut out = Vec::new();
    for (id, name, source) in &sources {
        for window in windows {
            let mut spec =
                BoardSpec::new(format!("{id}_{}", window.suffix()), source.clone(), window);
            spec.name = format!("{name} ({})", window.suffix().replace('_', "-"));
            out.push(spec);
        }
    }
    out
}

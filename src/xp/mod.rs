//! XP rules: what each activity kind is worth, boosts ("double XP weekend"),
//! and limits (caps per local day or week, cooldowns, a maximum per
//! activity).
//!
//! A decision is a value, [`Award`]: the base, the multiplier, what each
//! limit removed, and the final amount. [`XpRules::award`] only decides;
//! [`RuleState::apply`] then records what was granted, so a refused or
//! abandoned decision changes nothing.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use gamify::activity::{Activity, UserId};
//! use gamify::time::Tz;
//! use gamify::xp::{RuleState, XpRules};
//!
//! let rules: XpRules = serde_json::from_str(r#"{
//!     "kinds": { "comment_created": { "xp": 10, "daily_cap": 25 } }
//! }"#).unwrap();
//! let mut state = RuleState::default();
//! let at = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();
//! let granted: Vec<u64> = (0..4)
//!     .map(|i| {
//!         let comment = Activity::new(format!("c{i}"), UserId(1), "comment_created", at);
//!         let award = rules.award(&state, &comment, Tz::UTC).unwrap();
//!         state.apply(&award);
//!         award.xp
//!     })
//!     .collect();
//! assert_eq!(granted, [10, 10, 5, 0]); // the daily cap of 25 cuts the third
//! ```

mod boost;
mod limits;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use boost::{Boost, Stacking};
pub use limits::{KindCounters, Limit, Limited, RuleState};

use crate::activity::{Activity, UserId};
use crate::error::{ConfigError, ConfigProblem};
use crate::name::{Name, NameMap};
use crate::time::{PeriodKind, Tz, local_date};

/// The largest quantity one activity may carry (`per` rules).
pub const MAX_QUANTITY: u64 = 1_000_000;

/// Multipliers are kept in thousandths, so award math stays integer.
pub const PERMILLE: u32 = 1000;

/// What one activity kind is worth, and its limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KindRule {
    /// XP per activity (or per unit, with `per`).
    pub xp: u64,
    /// Points per activity (or per unit). Boosts do not apply to points.
    pub points: u64,
    /// If set, the activity's metric or attribute of this name is a
    /// quantity that multiplies `xp` and `points` (a batch of 40 reactions
    /// received). It must be between 0 and [`MAX_QUANTITY`].
    pub per: Option<Name>,
    /// At most this much XP of this kind per local day.
    ///
    /// Per local date in the user's zone: a user who moves east starts the
    /// next date sooner, and that date has a cap of its own; a date already
    /// passed stays closed (its late activities earn nothing more).
    pub daily_cap: Option<u64>,
    /// At most this much XP of this kind per local ISO week.
    pub weekly_cap: Option<u64>,
    /// At least this many seconds between two awards of this kind.
    pub cooldown_secs: Option<u32>,
    /// At most this much XP from one activity.
    pub max_per_activity: Option<u64>,
}

/// XP and points per activity kind, boosts, limits and the level-up bonus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawXpRules")]
pub struct XpRules {
    /// The rule of each activity kind; kinds not listed are refused.
    pub kinds: NameMap<KindRule>,
    /// Time-limited multipliers.
    pub boosts: Vec<Boost>,
    /// How several active boosts combine.
    pub stacking: Stacking,
    /// The highest combined multiplier, in thousandths (2000 = ×2).
    pub max_multiplier_permille: u32,
    /// XP credited for each level gained (seed: 100).
    pub level_up_bonus: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawXpRules {
    pub(crate) kinds: NameMap<KindRule>,
    #[serde(default)]
    boosts: Vec<Boost>,
    #[serde(default)]
    stacking: Stacking,
    #[serde(default = "default_max_multiplier")]
    max_multiplier_permille: u32,
    #[serde(default)]
    level_up_bonus: u64,
}

fn default_max_multiplier() -> u32 {
    10 * PERMILLE
}

impl TryFrom<RawXpRules> for XpRules {
    type Error = ConfigError;

    fn try_from(raw: RawXpRules) -> Result<Self, ConfigError> {
        for (kind, rule) in &raw.kinds {
            let field =
                |name: &str| ConfigError::new(format!("kinds.{kind}.{name}"), ConfigProblem::Zero);
            if kind.is_empty() {
                return Err(ConfigError::new("kinds", ConfigProblem::Empty));
            }
            if rule.daily_cap == Some(0) {
                return Err(field("daily_cap"));
            }
            if rule.weekly_cap == Some(0) {
                return Err(field("weekly_cap"));
            }
            if rule.cooldown_secs == Some(0) {
                return Err(field("cooldown_secs"));
            }
            if rule.max_per_activity == Some(0) {
                return Err(field("max_per_activity"));
            }
            if rule.per.as_deref().is_some_and(|per| per.trim().is_empty()) {
                return Err(ConfigError::new(
                    format!("kinds.{kind}.per"),
                    ConfigProblem::Empty,
                ));
            }
        }
        for (i, boost) in raw.boosts.iter().enumerate() {
            let at = |field: String, problem| {
                Err(ConfigError::new(format!("boosts[{i}].{field}"), problem))
            };
            boost
                .validate()
                .map_err(|e| e.within(format!("boosts[{i}]")))?;
            // A kind misspelt would make the boost never apply.
            for (j, kind) in boost.kinds.iter().enumerate() {
                if kind.trim().is_empty() {
                    return at(format!("kinds[{j}]"), ConfigProblem::Empty);
                }
                if !raw.kinds.contains_key(kind.as_str()) {
                    return at(
                        format!("kinds[{j}]"),
                        ConfigProblem::Unknown(kind.to_string()),
                    );
                }
            }
        }
        if raw.max_multiplier_permille < PERMILLE {
            return Err(ConfigError::new(
                "max_multiplier_permille",
                ConfigProblem::OutOfRange(format!("at least {PERMILLE} (×1)")),
            ));
        }
        Ok(Self {
            kinds: raw.kinds,
            boosts: raw.boosts,
            stacking: raw.stacking,
            max_multiplier_permille: raw.max_multiplier_permille,
            level_up_bonus: raw.level_up_bonus,
        })
    }
}

/// Why an activity was refused by the XP rules. Nothing changes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AwardError {
    /// No rule for this activity kind.
    #[error("unknown activity kind `{0}`")]
    UnknownKind(String),
    /// The activity's quantity is negative.
    #[error("`{name}` of a `{kind}` activity is negative ({value})")]
    NegativeQuantity {
        /// The activity kind.
        kind: String,
        /// The quantity's name.
        name: String,
        /// Its value.
        value: i64,
    },
    /// The activity's quantity is beyond [`MAX_QUANTITY`].
    #[error("`{name}` of a `{kind}` activity is {value}, more than {MAX_QUANTITY}")]
    QuantityOutOfRange {
        /// The activity kind.
        kind: String,
        /// The quantity's name.
        name: String,
        /// Its value.
        value: u64,
    },
}

/// An award decision: how much the activity earns, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Award {
    /// The activity kind.
    pub kind: Name,
    /// When the activity happened.
    pub at: DateTime<Utc>,
    /// The local day the award counts in (daily caps).
    pub day: NaiveDate,
    /// The first local day of the ISO week the award counts in (weekly caps).
    pub week: NaiveDate,
    /// XP before boosts and limits (rule × quantity).
    pub base: u64,
    /// The combined boost multiplier, in thousandths.
    pub multiplier_permille: u32,
    /// The names of the boosts that applied.
    pub boosts: Vec<String>,
    /// What each limit removed, in the order they were applied.
    pub limited: Vec<Limited>,
    /// The XP granted.
    pub xp: u64,
    /// The points granted.
    pub points: u64,
    /// Whether the kind has caps or a cooldown, so the award is counted in
    /// the user's [`RuleState`].
    pub counted: bool,
}

impl XpRules {
    /// The seed's `XP_CONFIG`: 50 XP a post, 10 a comment, 100 per level
    /// gained; no boosts and no limits.
    ///
    /// The seed's `DAILY_LOGIN` 10 XP is paid once per local day by the
    /// daily-login quest of [`QuestBook::sparkle`](crate::quest::QuestBook::sparkle),
    /// so the `daily_login` kind itself is worth 0 here: paying it in both
    /// places would double it, and per activity would pay every login.
    pub fn sparkle() -> Self {
        let kinds = [
            ("post_created", 50),
            ("post_featured", 100),
            ("post_viral", 500),
            ("comment_created", 10),
            ("comment_liked", 5),
            ("reaction_given", 2),
            ("reaction_received", 3),
            ("follow_received", 20),
            ("daily_login", 0),
            // Not in the seed's XP_CONFIG: kinds its achievements count, so
            // they can be earned (worth no XP themselves).
            ("follow_given", 0),
            ("post_trending", 0),
            ("comment_thread_popular", 0),
            ("sparkle_reaction_given", 0),
            ("youtube_connected", 0),
            ("watch_party_hosted", 0),
        ]
        .into_iter()
        .map(|(kind, xp)| {
            let rule = KindRule {
                xp,
                ..KindRule::default()
            };
            (kind, rule)
        })
        .collect();
        Self {
            kinds,
            boosts: Vec::new(),
            stacking: Stacking::Multiply,
            max_multiplier_permille: default_max_multiplier(),
            level_up_bonus: 100,
        }
    }

    /// The XP bonus for gaining `levels` levels, saturating.
    pub fn level_up_bonus(&self, levels: u32) -> u64 {
        self.level_up_bonus.saturating_mul(u64::from(levels))
    }

    /// Decide what `activity` earns for a user whose rule state is `state`
    /// and whose time zone is `tz`. Changes nothing: pass the result to
    /// [`RuleState::apply`] once it is committed.
    ///
    /// Arithmetic saturates at `u64::MAX`.
    pub fn award(
        &self,
        state: &RuleState,
        activity: &Activity,
        tz: Tz,
    ) -> Result<Award, AwardError> {
        let kind = &activity.kind;
        let rule = self
            .kinds
            .get(kind.as_str())
            .ok_or_else(|| AwardError::UnknownKind(kind.to_string()))?;
        let quantity = quantity(rule, activity)?;
        let base = rule.xp.saturating_mul(quantity);
        let (multiplier_permille, boosts) = self.multiplier(activity.user, kind, activity.at);
        let boosted = apply_permille(base, multiplier_permille);
        // One offset lookup for both (`containing` would do it twice).
        let day = local_date(activity.at, tz);
        let week = PeriodKind::ISO_WEEK.of_date(day).first_day();
        let counters = state.counters(kind);
        let (xp, limited) = limits::limit(rule, counters, boosted, activity.at, day, week);
        // A refused award (cooldown) earns no points either.
        let refused = limited.iter().any(|l| l.refused);
        let points = if refused {
            0
        } else {
            rule.points.saturating_mul(quantity)
        };
        Ok(Award {
            kind: kind.clone(),
            at: activity.at,
            day,
            week,
            base,
            multiplier_permille,
            boosts,
            limited,
            xp,
            points,
            counted: limits::has_state(rule),
        })
    }

    /// The combined multiplier of the boosts active for this user, kind and
    /// instant, capped, and their names.
    fn multiplier(&self, user: UserId, kind: &str, at: DateTime<Utc>) -> (u32, Vec<String>) {
        let active: Vec<&Boost> = self
            .boosts
            .iter()
            .filter(|b| b.applies(user, kind, at))
            .collect();
        if active.is_empty() {
            return (PERMILLE, Vec::new());
        }
        let combined = self.stacking.combine(active.iter().map(|b| b.permille()));
        (
            combined.min(self.max_multiplier_permille),
            active.iter().map(|b| b.name.clone()).collect(),
        )
    }
}

/// The quantity of a `per` rule (1 otherwise), validated.
fn quantity(rule: &KindRule, activity: &Activity) -> Result<u64, AwardError> {
    let Some(name) = &rule.per else {
        return Ok(1);
    };
    let value = match activity.attribute(name) {
        Some(v) => u64::try_from(v).map_err(|_| AwardError::NegativeQuantity {
            kind: activity.kind.to_string(),
            name: name.to_string(),
            value: v,
        })?,
        None => activity.metric(name),
    };
    if value > MAX_QUANTITY {
        return Err(AwardError::QuantityOutOfRange {
            kind: activity.kind.to_string(),
            name: name.to_string(),
            value,
        });
    }
    Ok(value)
}

/// `amount × permille / 1000`, rounded down, saturating.
fn apply_permille(amount: u64, permille: u32) -> u64 {
    let scaled = u128::from(amount) * u128::from(permille) / u128::from(PERMILLE);
    u64::try_from(scaled).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, h, 0, 0).unwrap()
    }

    #[test]
    fn sparkle_table_is_the_seeds() {
        let rules = XpRules::sparkle();
        let state = RuleState::default();
        let post = Activity::new("p", UserId(1), "post_created", at(9));
        assert_eq!(rules.award(&state, &post, Tz::UTC).unwrap().xp, 50);
        assert_eq!(rules.level_up_bonus(3), 300);
        assert_eq!(rules.level_up_bonus(u32::MAX), 100 * u64::from(u32::MAX));
    }

    #[test]
    fn unknown_kind_and_bad_quantities_are_typed_errors() {
        let mut rules = XpRules::sparkle();
        let state = RuleState::default();
        let odd = Activity::new("x", UserId(1), "teleported", at(9));
        assert_eq!(
            rules.award(&state, &odd, Tz::UTC),
            Err(AwardError::UnknownKind("teleported".into()))
        );
        rules.kinds.get_mut("reaction_received").unwrap().per = Some("count".into());
        let negative =
            Activity::new("r", UserId(1), "reaction_received", at(9)).with_attribute("count", -3);
        assert!(matches!(
            rules.award(&state, &negative, Tz::UTC),
            Err(AwardError::NegativeQuantity { value: -3, .. })
        ));
        let huge = Activity::new("r", UserId(1), "reaction_received", at(9))
            .with_metric("count", u64::MAX);
        assert!(matches!(
            rules.award(&state, &huge, Tz::UTC),
            Err(AwardError::QuantityOutOfRange { .. })
        ));
        let batch =
            Activity::new("r", UserId(1), "reaction_received", at(9)).with_metric("count", 40);
        assert_eq!(rules.award(&state, &batch, Tz::UTC).unwrap().xp, 120);
    }

    #[test]
    fn permille_math_saturates() {
        assert_eq!(apply_permille(u64::MAX, 2000), u64::MAX);
        assert_eq!(apply_permille(15, 1500), 22);
    }

    #[test]
    fn invalid_rules_are_rejected_with_the_field() {
        let err = serde_json::from_str::<XpRules>(r#"{"kinds":{"post":{"xp":5,"daily_cap":0}}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("kinds.post.daily_cap"), "{err}");
        let err = serde_json::from_str::<XpRules>(r#"{"kinds":{},"max_multiplier_permille":500}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_multiplier_permille"), "{err}");
    }

    #[test]
    fn loads_from_toml() {
        let rules: XpRules = toml::from_str(
            r#"
            level_up_bonus = 100
            [kinds.post_created]
            xp = 50
            cooldown_secs = 60
            "#,
        )
        .unwrap();
        assert_eq!(rules.kinds["post_created"].cooldown_secs, Some(60));
    }
}

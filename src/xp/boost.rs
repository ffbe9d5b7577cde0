//! Boosts: multipliers for a time window ("double XP weekend"), for
//! everyone or listed users and kinds, and how several combine.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::PERMILLE;
use crate::activity::UserId;
use crate::error::{ConfigError, ConfigProblem};
use crate::name::Name;

/// The smallest multiplier one boost may have: one thousandth.
const MIN_BOOST: f64 = 0.001;

/// The largest multiplier one boost may have.
const MAX_BOOST: f64 = 100.0;

/// A multiplier active from `starts` (inclusive) to `ends` (exclusive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Boost {
    /// Shown in the award's reasons.
    pub name: String,
    /// The factor, above 0 and at most 100 (2.0 doubles XP). Kept to three
    /// decimals.
    pub multiplier: f64,
    /// When the boost starts.
    #[serde(deserialize_with = "crate::time::instant::instant")]
    pub starts: DateTime<Utc>,
    /// When it ends; must be after `starts`.
    #[serde(deserialize_with = "crate::time::instant::instant")]
    pub ends: DateTime<Utc>,
    /// Only these users (empty: everyone).
    #[serde(default)]
    pub users: Vec<UserId>,
    /// Only these activity kinds (empty: every kind).
    #[serde(default)]
    pub kinds: Vec<Name>,
}

impl Boost {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.name.trim().is_empty() {
            return Err(ConfigError::new("name", ConfigProblem::Empty));
        }
        if !self.multiplier.is_finite() {
            return Err(ConfigError::new("multiplier", ConfigProblem::NonFinite));
        }
        // Multipliers are applied in thousandths: a smaller one would round
        // to nothing and silently zero every award.
        if self.multiplier < MIN_BOOST || self.multiplier > MAX_BOOST {
            return Err(ConfigError::new(
                "multiplier",
                ConfigProblem::OutOfRange(format!("from {MIN_BOOST} to {MAX_BOOST}")),
            ));
        }
        if self.ends <= self.starts {
            return Err(ConfigError::new(
                "ends",
                ConfigProblem::OutOfRange("must be after `starts`".into()),
            ));
        }
        Ok(())
    }

    /// Whether the boost applies to this user's activity of `kind` at `at`.
    pub fn applies(&self, user: UserId, kind: &str, at: DateTime<Utc>) -> bool {
        self.starts <= at
            && at < self.ends
            && (self.users.is_empty() || self.users.contains(&user))
            && (self.kinds.is_empty() || self.kinds.iter().any(|k| k == kind))
    }

    /// The multiplier in thousandths (validated to fit).
    pub(super) fn permille(&self) -> u32 {
        // In [1, 100_000] after validation, so the cast is exact enough.
        (self.multiplier * f64::from(PERMILLE)).round() as u32
    }
}

/// How several active boosts combine; the result is then capped by
/// `max_multiplier_permille`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stacking {
    /// The product: ×2 and ×1.5 give ×3.
    #[default]
    Multiply,
    /// One plus the sum of the extras: ×2 and ×1.5 give ×2.5.
    Add,
    /// The highest alone: ×2 and ×1.5 give ×2.
    Highest,
}

impl Stacking {
    /// Combine multipliers given in thousandths, saturating.
    pub fn combine(self, permilles: impl Iterator<Item = u32>) -> u32 {
        let unit = u64::from(PERMILLE);
        let combined = match self {
            // Rounded down after each factor, the factors taken from the
            // smallest: the same boosts give the same XP in any order.
            Self::Multiply => {
                let mut factors: smallvec::SmallVec<[u32; 4]> = permilles.collect();
                factors.sort_unstable();
                factors.into_iter().fold(unit, |acc, m| {
                    (acc * u64::from(m) / unit).min(u64::from(u32::MAX))
                })
            }
            // The bonuses summed first (signed: a boost below ×1 takes
            // away), then clamped once, so the order of boosts never matters.
            Self::Add => {
                let sum = permilles.fold(i64::from(PERMILLE), |acc, m| {
                    acc.saturating_add(i64::from(m) - i64::from(PERMILLE))
                });
                u64::try_from(sum.clamp(0, i64::from(u32::MAX))).unwrap_or(0)
            }
            Self::Highest => permilles.map(u64::from).max().unwrap_or(unit),
        };
        u32::try_from(combined).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::Activity;
    use crate::time::Tz;
    use crate::xp::{RuleState, XpRules};
    use chrono::TimeZone;

    #[test]
    fn added_boosts_do_not_depend_on_their_order() {
        let add = |ms: &[u32]| Stacking::Add.combine(ms.iter().copied());
        assert_eq!(add(&[100, 100, 100, 2000]), add(&[2000, 100, 100, 100]));
        assert_eq!(add(&[2000, 100, 100, 100]), 0); // +1000 - 900 * 3, clamped
        assert_eq!(add(&[1500, 500]), 1000);
        assert_eq!(add(&[u32::MAX, u32::MAX]), u32::MAX);
        assert_eq!(add(&[]), 1000);
    }

    #[test]
    fn a_multiplier_that_rounds_to_nothing_is_refused() {
        let mut boost = weekend(0.0004, &[]);
        assert!(boost.validate().is_err());
        boost.multiplier = 0.001;
        assert!(boost.validate().is_ok());
    }

    fn weekend(multiplier: f64, kinds: &[&str]) -> Boost {
        Boost {
            name: format!("x{multiplier}"),
            multiplier,
            starts: Utc.with_ymd_and_hms(2026, 5, 2, 0, 0, 0).unwrap(),
            ends: Utc.with_ymd_and_hms(2026, 5, 4, 0, 0, 0).unwrap(),
            users: vec![],
            kinds: kinds.iter().map(Name::new).collect(),
        }
    }

    #[test]
    fn stacking_policies() {
        let ms = || [2000u32, 1500].into_iter();
        assert_eq!(Stacking::Multiply.combine(ms()), 3000);
        assert_eq!(Stacking::Add.combine(ms()), 2500);
        assert_eq!(Stacking::Highest.combine(ms()), 2000);
    }

    #[test]
    fn a_double_xp_weekend_doubles_inside_its_window_only_and_is_capped() {
        let mut rules = XpRules::sparkle();
        rules.boosts = vec![weekend(2.0, &[]), weekend(3.0, &["post_created"])];
        rules.max_multiplier_permille = 4000;
        let state = RuleState::default();
        let award = |kind: &str, d: u32| {
            let at = Utc.with_ymd_and_hms(2026, 5, d, 12, 0, 0).unwrap();
            rules
                .award(&state, &Activity::new("a", UserId(1), kind, at), Tz::UTC)
                .unwrap()
        };
        assert_eq!(award("comment_created", 1).xp, 10);
        assert_eq!(award("comment_created", 2).xp, 20);
        let post = award("post_created", 3);
        assert_eq!((post.multiplier_permille, post.xp), (4000, 200)); // ×6 capped at ×4
        assert_eq!(post.boosts.len(), 2);
        assert_eq!(award("comment_created", 4).xp, 10); // `ends` is exclusive
    }

    #[test]
    fn a_boost_ending_before_it_starts_is_rejected() {
        let mut bad = weekend(2.0, &[]);
        std::mem::swap(&mut bad.starts, &mut bad.ends);
        let mut rules = serde_json::to_value(XpRules::sparkle()).unwrap();
        rules["boosts"] = serde_json::json!([bad]);
        let err = serde_json::from_value::<XpRules>(rules)
            .unwrap_err()
            .to_string();
        assert!(err.contains("boosts[0].ends"), "{err}");
    }
}

//! The daily login streak, counted in the user's own time zone, with
//! freezes that cover missed days.
//!
//! The first activity on a new local date extends the streak; more activity
//! that day changes nothing; a missed day breaks it unless freezes cover it.
//! Current and longest are updated when the activity is applied (seed
//! defect 10), so reading never changes them.
//!
//! Late activity: an activity dated before the user's last active day
//! changes nothing (the streak has moved on; rewriting history would pay
//! bonuses twice). A user who changes time zone is compared by local date in
//! the new zone: flying west can repeat a date (no change); flying east can
//! skip a date, which counts as a missed day (a freeze covers it). A date
//! the zone itself skipped (Pacific/Apia's 30 December 2011) is not missed.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use gamify::streak::{StreakChange, StreakRules, StreakState};
//! use gamify::time::Tz;
//!
//! let rules = StreakRules::sparkle();
//! let mut state = StreakState::default();
//! let day = |d| Utc.with_ymd_and_hms(2026, 5, d, 12, 0, 0).unwrap();
//! rules.record(&mut state, day(1), Tz::UTC);
//! let change = rules.record(&mut state, day(2), Tz::UTC);
//! assert_eq!(change.bonus_xp(), Some(10)); // 5 XP per day of streak
//! assert_eq!((state.current, state.longest), (2, 2));
//! ```

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, ConfigProblem};
use crate::time::{Tz, local_date};

/// How freezes are earned and spent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreezeRule {
    /// One freeze is earned each time the streak reaches a multiple of
    /// this many days.
    pub earn_every_days: u32,
    /// At most this many freezes are held.
    pub max_held: u32,
    /// A gap of at most this many missed days can be covered (one freeze
    /// per missed day).
    pub max_gap_days: u32,
}

/// Streak bonus, milestones and freezes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawStreakRules")]
pub struct StreakRules {
    /// XP per day of streak when it is extended (seed: 5).
    pub bonus_per_day: u64,
    /// The most bonus XP one extension pays (seed: 100).
    pub bonus_cap: u64,
    /// Streak lengths worth celebrating (seed: 7, 30, 100), increasing.
    pub milestones: Vec<u32>,
    /// Freezes, if any.
    pub freeze: Option<FreezeRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStreakRules {
    #[serde(default)]
    bonus_per_day: u64,
    #[serde(default)]
    bonus_cap: u64,
    #[serde(default)]
    milestones: Vec<u32>,
    #[serde(default)]
    freeze: Option<FreezeRule>,
}

impl TryFrom<RawStreakRules> for StreakRules {
    type Error = ConfigError;

    fn try_from(raw: RawStreakRules) -> Result<Self, ConfigError> {
        for (i, pair) in raw.milestones.windows(2).enumerate() {
            if pair[1] <= pair[0] {
                return Err(ConfigError::new(
                    format!("milestones[{}]", i + 1),
                    ConfigProblem::NotIncreasing,
                ));
            }
        }
        // A streak of one day is its start, which no event reports as a
        // milestone: a milestone of 1 would be accepted and never reached.
        if raw.milestones.first().is_some_and(|m| *m < 2) {
            return Err(ConfigError::new(
                "milestones[0]",
                ConfigProblem::OutOfRange("at least 2 (day 1 is the streak's start)".into()),
            ));
        }
        // Without a cap the bonus would be capped at nothing.
        if raw.bonus_per_day > 0 && raw.bonus_cap == 0 {
            return Err(ConfigError::new("bonus_cap", ConfigProblem::Zero));
        }
        if let Some(f) = &raw.freeze {
            // Earned on reaching a multiple: a streak reaches 1 by starting,
            // which earns nothing.
            if f.earn_every_days < 2 {
                return Err(ConfigError::new(
                    "freeze.earn_every_days",
                    ConfigProblem::OutOfRange("at least 2 (day 1 is the streak's start)".into()),
                ));
            }
            if f.max_held == 0 {
                return Err(ConfigError::new("freeze.max_held", ConfigProblem::Zero));
            }
            if f.max_gap_days == 0 {
                return Err(ConfigError::new("freeze.max_gap_days", ConfigProblem::Zero));
            }
        }
        Ok(Self {
            bonus_per_day: raw.bonus_per_day,
            bonus_cap: raw.bonus_cap,
            milestones: raw.milestones,
            freeze: raw.freeze,
        })
    }
}

/// A user's streak.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreakState {
    /// Consecutive active local days up to `last_day` (freezes included).
    pub current: u32,
    /// The longest streak ever.
    pub longest: u32,
    /// Freezes held.
    pub freezes: u32,
    /// The last local date with activity.
    pub last_day: Option<NaiveDate>,
}

/// What one activity did to the streak.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "streak", rename_all = "snake_case")]
pub enum StreakChange {
    /// Another activity on a day already counted.
    SameDay,
    /// An activity dated before the last active day: no change.
    Late,
    /// A streak started (first activity, or the first after a break that
    /// was reported as [`Broken`](Self::Broken)).
    Started,
    /// The streak grew by a day.
    Extended {
        /// The new length.
        days: u32,
        /// Bonus XP.
        bonus_xp: u64,
        /// The milestone reached, if any.
        milestone: Option<u32>,
        /// Whether a freeze was earned.
        freeze_earned: bool,
    },
    /// Missed days were covered by freezes, and the streak grew by a day.
    Frozen {
        /// The new length.
        days: u32,
        /// Freezes spent (one per missed day).
        freezes_used: u32,
        /// Bonus XP.
        bonus_xp: u64,
        /// The milestone reached, if any.
        milestone: Option<u32>,
        /// Whether a freeze was earned (the new length completed a run),
        /// after the ones spent.
        #[serde(default)]
        freeze_earned: bool,
    },
    /// Too many days were missed: the streak restarts at 1.
    Broken {
        /// The length it had.
        previous: u32,
    },
}

impl StreakChange {
    /// The bonus XP this change pays, if any.
    pub fn bonus_xp(&self) -> Option<u64> {
        match self {
            Self::Extended { bonus_xp, .. } | Self::Frozen { bonus_xp, .. } => Some(*bonus_xp),
            _ => None,
        }
    }

    /// Whether the change is worth telling the user (not a same-day or late
    /// activity).
    pub fn is_event(&self) -> bool {
        !matches!(self, Self::SameDay | Self::Late)
    }
}

impl StreakRules {
    /// The seed's streak: 5 XP per day, at most 100, milestones at 7, 30
    /// and 100 days; plus freezes (one per 7-day run, two held, covering up
    /// to two missed days), which the seed did not have.
    pub fn sparkle() -> Self {
        Self {
            bonus_per_day: 5,
            bonus_cap: 100,
            milestones: vec![7, 30, 100],
            freeze: Some(FreezeRule {
                earn_every_days: 7,
                max_held: 2,
                max_gap_days: 2,
            }),
        }
    }

    /// Count an activity at `at` in time zone `tz`.
    pub fn record(&self, state: &mut StreakState, at: DateTime<Utc>, tz: Tz) -> StreakChange {
        let today = local_date(at, tz);
        let Some(last) = state.last_day else {
            self.start(state, today);
            return StreakChange::Started;
        };
        if today == last {
            return StreakChange::SameDay;
        }
        if today < last {
            return StreakChange::Late;
        }
        // Counted only as far as freezes could cover.
        let coverable = self
            .freeze
            .as_ref()
            .map_or(0, |f| f.max_gap_days.min(state.freezes));
        let missed = missed_days(last, today, tz, coverable);
        let covered = self
            .freeze
            .as_ref()
            .is_some_and(|f| missed <= f.max_gap_days && missed <= state.freezes);
        if missed > 0 && !covered {
            let previous = state.current;
            self.start(state, today);
            return StreakChange::Broken { previous };
        }
        state.freezes -= missed;
        state.current = state.current.saturating_add(1);
        state.longest = state.longest.max(state.current);
        state.last_day = Some(today);
        let days = state.current;
        let bonus_xp = self
            .bonus_per_day
            .saturating_mul(u64::from(days))
            .min(self.bonus_cap);
        let milestone = self.milestones.contains(&days).then_some(days);
        let freeze_earned = match &self.freeze {
            Some(f) if days.is_multiple_of(f.earn_every_days) && state.freezes < f.max_held => {
                state.freezes += 1;
                true
            }
            _ => false,
        };
        if missed > 0 {
            StreakChange::Frozen {
                days,
                freezes_used: missed,
                bonus_xp,
                milestone,
                freeze_earned,
            }
        } else {
            StreakChange::Extended {
                days,
                bonus_xp,
                milestone,
                freeze_earned,
            }
        }
    }

    fn start(&self, state: &mut StreakState, today: NaiveDate) {
        state.current = 1;
        state.longest = state.longest.max(1);
        state.last_day = Some(today);
    }
}

/// Local dates strictly between `last` and `today` that exist in `tz`:
/// a date the zone skipped (a dateline move) was never there to miss.
/// Exact up to `limit`; past it, some count above `limit` (the dates are
/// examined one by one, and a gap no freezes can cover needs no more).
fn missed_days(last: NaiveDate, today: NaiveDate, tz: Tz, limit: u32) -> u32 {
    let between = (today - last).num_days() - 1;
    if between <= 0 {
        return 0;
    }
    let exists = |d: NaiveDate| {
        d.succ_opt().is_none_or(|next| {
            crate::time::start_of_day(d, tz) < crate::time::start_of_day(next, tz)
        })
    };
    let mut missed = 0;
    let mut day = last;
    while let Some(next) = day.succ_opt().filter(|d| *d < today) {
        if missed > limit {
            break;
        }
        missed += u32::from(exists(next));
        day = next;
    }
    missed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frozen_day_that_completes_a_run_says_it_earned_a_freeze() {
        let rules = StreakRules::sparkle();
        let day = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        let mut state = StreakState {
            current: 6,
            longest: 6,
            freezes: 1,
            last_day: Some(day),
        };
        let at = start_of_day(day + TimeDelta::days(2), Tz::UTC) + TimeDelta::hours(9);
        let change = rules.record(&mut state, at, Tz::UTC);
        assert_eq!(
            change,
            StreakChange::Frozen {
                days: 7,
                freezes_used: 1,
                bonus_xp: 35,
                milestone: Some(7),
                freeze_earned: true,
            }
        );
        // One spent on the missed day, one earned by the seventh.
        assert_eq!(state.freezes, 1);
    }

    #[test]
    fn a_date_the_zone_skipped_is_not_a_missed_day() {
        let rules = StreakRules::sparkle();
        let mut state = StreakState::default();
        let tz = Tz::Pacific__Apia; // 2011-12-30 never happened there
        let noon = |d: u32| {
            crate::time::start_of_day(NaiveDate::from_ymd_opt(2011, 12, d).unwrap(), tz)
                + chrono::TimeDelta::hours(12)
        };
        rules.record(&mut state, noon(28), tz);
        rules.record(&mut state, noon(29), tz);
        let change = rules.record(&mut state, noon(31), tz);
        assert!(
            matches!(change, StreakChange::Extended { days: 3, .. }),
            "{change:?}"
        );
        assert_eq!(state.freezes, 0);
    }
    use crate::time::start_of_day;
    use chrono::{NaiveTime, TimeDelta, TimeZone};

    const ZONES: [Tz; 6] = [
        Tz::America__New_York,
        Tz::Europe__Berlin,
        Tz::America__Santiago,
        Tz::America__Havana,
        Tz::Australia__Lord_Howe,
        Tz::Pacific__Chatham,
    ];

    /// An instant at local `h:m` on `date` (or the day's start if that time
    /// does not exist).
    fn local(date: NaiveDate, h: u32, m: u32, tz: Tz) -> DateTime<Utc> {
        let t = date.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap());
        tz.from_local_datetime(&t)
            .earliest()
            .map_or_else(|| start_of_day(date, tz), |t| t.with_timezone(&Utc))
    }

    #[test]
    fn every_consecutive_local_day_adds_exactly_one_across_dst() {
        let rules = StreakRules {
            freeze: None,
            ..StreakRules::sparkle()
        };
        for tz in ZONES {
            let mut state = StreakState::default();
            let first = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
            for n in 0..365u32 {
                let date = first + TimeDelta::days(i64::from(n));
                // Alternate just after midnight and just before the next.
                let (h, m) = if n % 2 == 0 { (0, 5) } else { (23, 55) };
                let change = rules.record(&mut state, local(date, h, m, tz), tz);
                assert!(change.is_event(), "{tz} {date}: {change:?}");
                assert_eq!(state.current, n + 1, "{tz} {date}");
                // A second activity the same local day changes nothing.
                let noon = local(date, 12, 0, tz);
                assert_eq!(rules.record(&mut state, noon, tz), StreakChange::SameDay);
            }
            assert_eq!(state.longest, 365);
        }
    }

    #[test]
    fn bonus_milestones_and_cap() {
        let rules = StreakRules::sparkle();
        let mut state = StreakState::default();
        let day = |d: i64| Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap() + TimeDelta::days(d);
        assert_eq!(
            rules.record(&mut state, day(0), Tz::UTC),
            StreakChange::Started
        );
        let mut bonuses = vec![];
        for d in 1..30 {
            let change = rules.record(&mut state, day(d), Tz::UTC);
            bonuses.push(change.bonus_xp().unwrap());
            if d == 6 {
                assert!(matches!(
                    change,
                    StreakChange::Extended {
                        milestone: Some(7),
                        freeze_earned: true,
                        ..
                    }
                ));
            }
        }
        assert_eq!(bonuses[0], 10);
        assert_eq!(*bonuses.last().unwrap(), 100);
        assert_eq!(state.freezes, 2, "at most two held");
    }

    #[test]
    fn freezes_cover_short_gaps_and_long_gaps_break() {
        let rules = StreakRules::sparkle();
        let mut state = StreakState::default();
        let day = |d: i64| Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap() + TimeDelta::days(d);
        for d in 0..7 {
            rules.record(&mut state, day(d), Tz::UTC);
        }
        assert_eq!((state.current, state.freezes), (7, 1));
        let frozen = rules.record(&mut state, day(8), Tz::UTC);
        assert!(matches!(
            frozen,
            StreakChange::Frozen {
                days: 8,
                freezes_used: 1,
                ..
            }
        ));
        assert_eq!(state.freezes, 0);
        let broken = rules.record(&mut state, day(10), Tz::UTC);
        assert_eq!(broken, StreakChange::Broken { previous: 8 });
        assert_eq!((state.current, state.longest), (1, 8));
    }

    #[test]
    fn late_activity_never_corrupts_the_streak() {
        let rules = StreakRules::sparkle();
        let mut state = StreakState::default();
        let day = |d: i64| Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap() + TimeDelta::days(d);
        rules.record(&mut state, day(0), Tz::UTC);
        rules.record(&mut state, day(1), Tz::UTC);
        let before = state.clone();
        assert_eq!(
            rules.record(&mut state, day(-5), Tz::UTC),
            StreakChange::Late
        );
        assert_eq!(state, before);
    }

    #[test]
    fn a_traveller_keeps_a_sensible_streak() {
        let rules = StreakRules {
            freeze: None,
            ..StreakRules::sparkle()
        };
        let mut state = StreakState::default();
        // Evening in Berlin, then the next evening in Los Angeles (the local
        // date is one later there as well), then Tokyo the evening after.
        let berlin = local(
            NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
            20,
            0,
            Tz::Europe__Berlin,
        );
        rules.record(&mut state, berlin, Tz::Europe__Berlin);
        let la = local(
            NaiveDate::from_ymd_opt(2026, 6, 2).unwrap(),
            20,
            0,
            Tz::America__Los_Angeles,
        );
        assert!(matches!(
            rules.record(&mut state, la, Tz::America__Los_Angeles),
            StreakChange::Extended { days: 2, .. }
        ));
        let tokyo = local(
            NaiveDate::from_ymd_opt(2026, 6, 3).unwrap(),
            21,
            0,
            Tz::Asia__Tokyo,
        );
        assert!(matches!(
            rules.record(&mut state, tokyo, Tz::Asia__Tokyo),
            StreakChange::Extended { days: 3, .. }
        ));
    }

    #[test]
    fn invalid_rules_name_the_field() {
        let err = serde_json::from_str::<StreakRules>(r#"{"milestones":[7,7]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("milestones[1]"), "{err}");
        let err = serde_json::from_str::<StreakRules>(
            r#"{"freeze":{"earn_every_days":0,"max_held":1,"max_gap_days":1}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("freeze.earn_every_days"), "{err}");
    }
}

//! Limits and the per-user counters they need: caps per local day and ISO
//! week, a cooldown between awards of a kind, a maximum per activity.
//!
//! Cooldowns run forward in time: a late activity, dated before the last
//! award of its kind plus the cooldown, is refused.
//!
//! Only the current day and week of each capped kind are kept. An activity
//! that arrives late, for a day or week already closed, earns no XP of a
//! kind capped for that period: its allowance is no longer known, and a cap
//! must never be exceeded.

use crate::name::NameMap;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{Award, KindRule};

/// Which limit cut or refused an award.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "limit", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Limit {
    /// Awards of this kind come at most every `secs` seconds; the next is
    /// possible `remaining_secs` after this activity.
    Cooldown {
        /// The cooldown.
        secs: u32,
        /// How long until it ends.
        remaining_secs: i64,
    },
    /// At most `max` XP from one activity.
    MaxPerActivity {
        /// The maximum.
        max: u64,
    },
    /// At most `cap` XP of this kind per local day.
    DailyCap {
        /// The cap.
        cap: u64,
    },
    /// At most `cap` XP of this kind per local ISO week.
    WeeklyCap {
        /// The cap.
        cap: u64,
    },
}

/// What one limit did to an award.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limited {
    /// The limit.
    pub limit: Limit,
    /// XP it removed.
    pub removed: u64,
    /// Whether it refused the award outright (a cooldown), not just cut it.
    pub refused: bool,
}

/// A user's counters for one activity kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCounters {
    /// The local day `day_xp` counts.
    pub day: NaiveDate,
    /// XP of this kind granted on `day`.
    pub day_xp: u64,
    /// The first day of the ISO week `week_xp` counts.
    pub week: NaiveDate,
    /// XP of this kind granted in `week`.
    pub week_xp: u64,
    /// The latest award of this kind (cooldowns).
    pub last_award: Option<DateTime<Utc>>,
}

/// The XP rules' per-user state: counters of the kinds that have limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RuleState {
    /// Counters by activity kind.
    pub kinds: NameMap<KindCounters>,
}

impl RuleState {
    /// The counters of `kind`, if it was ever counted.
    pub fn counters(&self, kind: &str) -> Option<&KindCounters> {
        self.kinds.get(kind)
    }

    /// Record a committed award. Refused awards and kinds without limits
    /// leave the state as it is.
    pub fn apply(&mut self, award: &Award) {
        if !award.counted || award.limited.iter().any(|l| l.refused) {
            return;
        }
        let c = match self.kinds.get_mut(award.kind.as_str()) {
            Some(c) => c,
            // A first award opens its own periods: a default date (1970)
            // would make an earlier activity look late.
            None => self
                .kinds
                .entry(award.kind.clone())
                .or_insert_with(|| KindCounters {
                    day: award.day,
                    day_xp: 0,
                    week: award.week,
                    week_xp: 0,
                    last_award: None,
                }),
        };
        if award.day == c.day {
            c.day_xp = c.day_xp.saturating_add(award.xp);
        } else if award.day > c.day {
            (c.day, c.day_xp) = (award.day, award.xp);
        }
        if award.week == c.week {
            c.week_xp = c.week_xp.saturating_add(award.xp);
        } else if award.week > c.week {
            (c.week, c.week_xp) = (award.week, award.xp);
        }
        // A cooldown runs between awards: an activity that earned nothing
        // (a quantity of zero, or a cap reached on a kind paying no points)
        // starts none. Points alone are an award: a cooldown takes them too.
        if award.xp > 0 || award.points > 0 {
            c.last_award = c.last_award.max(Some(award.at));
        }
    }
}

/// Whether a rule needs counters.
pub(super) fn has_state(rule: &KindRule) -> bool {
    rule.daily_cap.is_some() || rule.weekly_cap.is_some() || rule.cooldown_secs.is_some()
}

/// Apply `rule`'s limits to `amount`; returns what remains and what each
/// limit removed.
pub(super) fn limit(
    rule: &KindRule,
    counters: Option<&KindCounters>,
    amount: u64,
    at: DateTime<Utc>,
    day: NaiveDate,
    week: NaiveDate,
) -> (u64, Vec<Limited>) {
    let mut limited = Vec::new();
    let mut left = amount;
    let mut cut = |left: &mut u64, limit: Limit, keep: u64, refused: bool| {
        if keep < *left || refused {
            limited.push(Limited {
                limit,
                removed: *left - keep.min(*left),
                refused,
            });
            *left = keep.min(*left);
        }
    };
    if let (Some(secs), Some(last)) = (rule.cooldown_secs, counters.and_then(|c| c.last_award)) {
        // Awards of a cooled kind go forward in time: anything before the
        // last award's cooldown has passed (a late activity included) is
        // refused, so no two awards are ever closer than the cooldown.
        //
        // Measured from the last award rather than by adding the cooldown to
        // it, which could leave the calendar's range; rounded up, so half a
        // second left is still a refusal.
        let cooldown = chrono::TimeDelta::seconds(i64::from(secs));
        let elapsed = at.signed_duration_since(last);
        if elapsed < cooldown {
            let wait = cooldown - elapsed;
            let remaining_secs = wait.num_seconds() + i64::from(wait.subsec_nanos() > 0);
            cut(
                &mut left,
                Limit::Cooldown {
                    secs,
                    remaining_secs,
                },
                0,
                true,
            );
            return (0, limited);
        }
    }
    if let Some(max) = rule.max_per_activity {
        cut(&mut left, Limit::MaxPerActivity { max }, max, false);
    }
    if let Some(cap) = rule.daily_cap {
        let used = used(counters.map(|c| (c.day, c.day_xp)), day, cap);
        cut(
            &mut left,
            Limit::DailyCap { cap },
            cap.saturating_sub(used),
            false,
        );
    }
    if let Some(cap) = rule.weekly_cap {
        let used = used(counters.map(|c| (c.week, c.week_xp)), week, cap);
        cut(
            &mut left,
            Limit::WeeklyCap { cap },
            cap.saturating_sub(used),
            false,
        );
    }
    (left, limited)
}

/// XP already used of a period's cap: the counter if it is that period, 0
/// for a new period, the whole cap for a closed one.
fn used(counter: Option<(NaiveDate, u64)>, period: NaiveDate, cap: u64) -> u64 {
    match counter {
        Some((counted, xp)) if counted == period => xp,
        Some((counted, _)) if counted > period => cap,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::{Activity, UserId};
    use crate::time::Tz;
    use crate::xp::XpRules;
    use chrono::{TimeDelta, TimeZone};

    fn rules(rule: KindRule) -> XpRules {
        let mut rules = XpRules::sparkle();
        rules.kinds.insert("comment_created", rule);
        rules
    }

    fn run(rules: &XpRules, state: &mut RuleState, at: DateTime<Utc>, tz: Tz) -> Award {
        let a = Activity::new("c", UserId(1), "comment_created", at);
        let award = rules.award(state, &a, tz).unwrap();
        state.apply(&award);
        award
    }

    #[test]
    fn half_a_second_left_of_a_cooldown_is_still_a_refusal() {
        let rules = rules(KindRule {
            xp: 5,
            cooldown_secs: Some(60),
            ..KindRule::default()
        });
        let mut state = RuleState::default();
        let t = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();
        assert_eq!(run(&rules, &mut state, t, Tz::UTC).xp, 5);
        let early = run(
            &rules,
            &mut state,
            t + TimeDelta::milliseconds(59_500),
            Tz::UTC,
        );
        assert_eq!(early.xp, 0);
        assert!(matches!(
            early.limited[0].limit,
            Limit::Cooldown {
                remaining_secs: 1,
                ..
            }
        ));
        assert_eq!(
            run(&rules, &mut state, t + TimeDelta::seconds(60), Tz::UTC).xp,
            5
        );
    }

    #[test]
    fn a_cooldown_ending_past_the_calendar_is_no_panic() {
        let rules = rules(KindRule {
            xp: 5,
            cooldown_secs: Some(u32::MAX),
            ..KindRule::default()
        });
        let mut state = RuleState::default();
        let t = DateTime::<Utc>::MAX_UTC - TimeDelta::days(1);
        assert_eq!(run(&rules, &mut state, t, Tz::UTC).xp, 5);
        assert_eq!(
            run(&rules, &mut state, t + TimeDelta::hours(1), Tz::UTC).xp,
            0
        );
    }

    #[test]
    fn caps_count_activities_before_1970_too() {
        let rules = rules(KindRule {
            xp: 10,
            daily_cap: Some(30),
            ..KindRule::default()
        });
        let mut state = RuleState::default();
        let t = Utc.with_ymd_and_hms(1969, 7, 20, 20, 17, 0).unwrap();
        let got: Vec<u64> = (0..4)
            .map(|i| run(&rules, &mut state, t + TimeDelta::minutes(i), Tz::UTC).xp)
            .collect();
        assert_eq!(got, [10, 10, 10, 0]);
    }

    #[test]
    fn cooldown_refuses_and_says_how_long() {
        let rules = rules(KindRule {
            xp: 10,
            points: 1,
            cooldown_secs: Some(60),
            ..KindRule::default()
        });
        let mut state = RuleState::default();
        let t = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();
        assert_eq!(run(&rules, &mut state, t, Tz::UTC).xp, 10);
        let again = run(&rules, &mut state, t + TimeDelta::seconds(20), Tz::UTC);
        assert_eq!((again.xp, again.points), (0, 0));
        assert_eq!(
            again.limited,
            [Limited {
                limit: Limit::Cooldown {
                    secs: 60,
                    remaining_secs: 40
                },
                removed: 10,
                refused: true
            }]
        );
        // The refused award did not restart the cooldown.
        assert_eq!(
            run(&rules, &mut state, t + TimeDelta::seconds(60), Tz::UTC).xp,
            10
        );
    }

    #[test]
    fn daily_cap_resets_at_local_midnight_and_closed_days_stay_closed() {
        let rules = rules(KindRule {
            xp: 10,
            daily_cap: Some(15),
            max_per_activity: Some(8),
            ..KindRule::default()
        });
        let mut state = RuleState::default();
        let tz = Tz::America__New_York;
        // 23:00 and 23:30 local on 1 May, then 00:30 local on 2 May.
        let t = Utc.with_ymd_and_hms(2026, 5, 2, 3, 0, 0).unwrap();
        let first = run(&rules, &mut state, t, tz);
        assert_eq!(first.xp, 8);
        assert_eq!(first.limited[0].limit, Limit::MaxPerActivity { max: 8 });
        assert_eq!(
            run(&rules, &mut state, t + TimeDelta::minutes(30), tz).xp,
            7
        );
        assert_eq!(
            run(&rules, &mut state, t + TimeDelta::minutes(90), tz).xp,
            8
        );
        // Late for 1 May, which is closed.
        assert_eq!(
            run(&rules, &mut state, t + TimeDelta::minutes(10), tz).xp,
            0
        );
    }
}

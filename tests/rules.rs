//! XP limits as properties: no sequence of activities — in order, late,
//! across DST changes — ever exceeds a cap within its local window, and
//! awards of a kind are never closer than its cooldown.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use gamify::activity::{Activity, UserId};
use gamify::time::{PeriodKind, Tz};
use gamify::xp::{KindRule, RuleState, XpRules};
use proptest::prelude::*;

const ZONES: [Tz; 4] = [
    Tz::America__New_York,
    Tz::Europe__Berlin,
    Tz::Australia__Lord_Howe,
    Tz::Asia__Kolkata,
];

fn rules() -> XpRules {
    let mut rules = XpRules::sparkle();
    rules.kinds.insert(
        "capped",
        KindRule {
            xp: 7,
            daily_cap: Some(30),
            weekly_cap: Some(100),
            max_per_activity: Some(6),
            ..KindRule::default()
        },
    );
    rules.kinds.insert(
        "cooled",
        KindRule {
            xp: 5,
            cooldown_secs: Some(600),
            ..KindRule::default()
        },
    );
    rules
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn caps_and_cooldowns_hold_for_any_sequence(
        zone in 0..ZONES.len(),
        // Minutes between activities; negative ones arrive late.
        steps in prop::collection::vec((-600i64..900, any::<bool>()), 1..200),
    ) {
        let tz = ZONES[zone];
        let rules = rules();
        let mut state = RuleState::default();
        // Around the March DST change in both hemispheres' zones.
        let mut at: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 3, 27, 0, 0, 0).unwrap();
        let mut per_day: BTreeMap<_, u64> = BTreeMap::new();
        let mut per_week: BTreeMap<_, u64> = BTreeMap::new();
        let mut cooled: Vec<DateTime<Utc>> = Vec::new();
        for (i, (minutes, capped)) in steps.into_iter().enumerate() {
            at += TimeDelta::minutes(minutes);
            let kind = if capped { "capped" } else { "cooled" };
            let activity = Activity::new(format!("a{i}"), UserId(1), kind, at);
            let award = rules.award(&state, &activity, tz).unwrap();
            state.apply(&award);
            let removed: u64 = award.limited.iter().map(|l| l.removed).sum();
            prop_assert_eq!(award.xp + removed, award.base, "limits account for every XP removed");
            if capped {
                let day = PeriodKind::Day.containing(at, tz).first_day();
                let week = PeriodKind::ISO_WEEK.containing(at, tz).first_day();
                *per_day.entry(day).or_default() += award.xp;
                *per_week.entry(week).or_default() += award.xp;
                prop_assert!(award.xp <= 6);
            } else if award.xp > 0 {
                cooled.push(at);
            }
        }
        prop_assert!(per_day.values().all(|xp| *xp <= 30), "{per_day:?}");
        prop_assert!(per_week.values().all(|xp| *xp <= 100), "{per_week:?}");
        cooled.sort();
        prop_assert!(cooled.windows(2).all(|w| w[1] - w[0] >= TimeDelta::seconds(600)), "{cooled:?}");
    }
}

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

/// With `Multiply` stacking, the same boosts give the same XP whatever
/// order they are listed in (each product is rounded down, so the order of
/// rounding used to show).
#[test]
fn multiplied_boosts_do_not_depend_on_their_order() {
    let xp = |order: [f64; 3]| -> u64 {
        let boosts: Vec<_> = order
            .iter()
            .enumerate()
            .map(|(i, m)| {
                serde_json::json!({"name": format!("b{i}"), "multiplier": m,
                    "starts": "2026-01-01T00:00:00Z", "ends": "2027-01-01T00:00:00Z"})
            })
            .collect();
        let rules: XpRules = serde_json::from_value(serde_json::json!({
            "kinds": {"post": {"xp": 1000}}, "boosts": boosts, "stacking": "multiply"}))
        .unwrap();
        let at = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();
        let post = Activity::new("a", UserId(1), "post", at);
        rules
            .award(&RuleState::default(), &post, Tz::UTC)
            .unwrap()
            .xp
    };
    let orders = [[1.5, 1.5, 1.001], [1.001, 1.5, 1.5], [1.5, 1.001, 1.5]];
    let all: Vec<u64> = orders.into_iter().map(xp).collect();
    assert!(all.iter().all(|x| *x == all[0]), "{all:?}");
}

/// An activity that earns nothing (a quantity of zero) starts no cooldown:
/// the cooldown runs between awards.
#[test]
fn an_activity_that_earns_nothing_starts_no_cooldown() {
    let rules: XpRules = serde_json::from_str(
        r#"{"kinds": {"r": {"xp": 10, "per": "count", "cooldown_secs": 60}}}"#,
    )
    .unwrap();
    let mut state = RuleState::default();
    let t = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();
    let nothing = Activity::new("a", UserId(1), "r", t).with_metric("count", 0);
    let zero = rules.award(&state, &nothing, Tz::UTC).unwrap();
    assert_eq!(zero.xp, 0);
    state.apply(&zero);
    let later =
        Activity::new("b", UserId(1), "r", t + TimeDelta::seconds(10)).with_metric("count", 5);
    let award = rules.award(&state, &later, Tz::UTC).unwrap();
    assert_eq!(award.xp, 50, "{:?}", award.limited);
    // A real award does start one.
    state.apply(&award);
    let soon =
        Activity::new("c", UserId(1), "r", t + TimeDelta::seconds(20)).with_metric("count", 5);
    assert_eq!(rules.award(&state, &soon, Tz::UTC).unwrap().xp, 0);
}

/// A freeze rule that covers gaps longer than a week counts only the dates
/// that exist in the user's zone: Apia skipped 2011-12-30.
#[test]
fn a_long_gap_over_a_skipped_date_counts_only_dates_that_exist() {
    use chrono::NaiveDate;
    use gamify::streak::{FreezeRule, StreakChange, StreakRules, StreakState};
    use gamify::time::start_of_day;
    let tz = Tz::Pacific__Apia;
    let rules = StreakRules {
        bonus_per_day: 0,
        bonus_cap: 0,
        milestones: vec![],
        freeze: Some(FreezeRule {
            earn_every_days: 100,
            max_held: 8,
            max_gap_days: 8,
        }),
    };
    let d = |day: u32| NaiveDate::from_ymd_opt(2011, 12, day).unwrap();
    // Last active on the 21st with `freezes` held, back on the 31st.
    let back_after_gap = |freezes: u32| {
        let mut state = StreakState {
            current: 5,
            longest: 5,
            freezes,
            last_day: Some(d(21)),
        };
        rules.record(
            &mut state,
            start_of_day(d(31), tz) + TimeDelta::hours(12),
            tz,
        )
    };
    // Missed: the 22nd to the 29th, eight dates; the 30th never was.
    let change = back_after_gap(8);
    assert!(
        matches!(
            change,
            StreakChange::Frozen {
                freezes_used: 8,
                days: 6,
                ..
            }
        ),
        "{change:?}"
    );
    // One more missed date than freezes held breaks it.
    let change = back_after_gap(7);
    assert!(
        matches!(change, StreakChange::Broken { previous: 5 }),
        "{change:?}"
    );
}

/// XP saturates at `u64::MAX`, as the step promises, and the ledger still
/// explains the balance: a credit beyond what one `i64` entry holds is
/// written as several.
#[test]
fn xp_saturates_at_the_top_and_the_ledger_still_explains_it() {
    use gamify::config::Config;
    use gamify::ledger::Currency;
    let mut v = serde_json::to_value(Config::sparkle()).unwrap();
    v["xp"]["kinds"]["comment_created"]["xp"] = u64::MAX.into();
    let config: Config = serde_json::from_value(v).unwrap();
    let mut state = gamify::state::UserState::default();
    let at = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();
    let mut ledger = 0i128;
    for id in ["c1", "c2"] {
        let comment = Activity::new(id, UserId(1), "comment_created", at);
        let commit = gamify::step::step(&config, &mut state, &comment, at).unwrap();
        ledger += commit
            .ledger
            .iter()
            .filter(|e| e.currency == Currency::Xp)
            .map(|e| i128::from(e.amount))
            .sum::<i128>();
    }
    assert_eq!(state.xp, u64::MAX);
    assert_eq!(ledger, i128::from(u64::MAX));
}

/// Points alone are an award: a kind that pays only points keeps its
/// cooldown, and so does a kind past its daily XP cap.
#[test]
fn a_cooldown_holds_for_awards_of_points_alone() {
    let run = |rule: KindRule, at_secs: &[i64]| -> Vec<(u64, u64)> {
        let mut rules = XpRules::sparkle();
        rules.kinds.insert("k", rule);
        let mut state = RuleState::default();
        let t = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();
        at_secs
            .iter()
            .enumerate()
            .map(|(i, secs)| {
                let a = Activity::new(
                    format!("a{i}"),
                    UserId(1),
                    "k",
                    t + TimeDelta::seconds(*secs),
                );
                let award = rules.award(&state, &a, Tz::UTC).unwrap();
                state.apply(&award);
                (award.xp, award.points)
            })
            .collect()
    };
    let points_only = KindRule {
        xp: 0,
        points: 5,
        cooldown_secs: Some(600),
        ..KindRule::default()
    };
    assert_eq!(
        run(points_only, &[0, 1, 2, 3]),
        [(0, 5), (0, 0), (0, 0), (0, 0)]
    );
    let capped = KindRule {
        xp: 10,
        points: 1,
        daily_cap: Some(10),
        cooldown_secs: Some(600),
        ..KindRule::default()
    };
    assert_eq!(run(capped, &[0, 700, 701]), [(10, 1), (0, 1), (0, 0)]);
}

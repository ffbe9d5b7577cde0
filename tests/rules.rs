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

/// The step's local days, checked against a reference that reads the
/// calendar straight from chrono-tz: the date the clocks show (from 2011
/// on no zone's clocks go back across midnight, so that is the local
/// date), and a date exists if some quarter-hour of it does. Random
/// activities (some arriving late, by up to two days) by a user who
/// changes zone now and then, in zones with a skipped date (Apia, 30
/// December 2011), DST at midnight, thirty-minute and negative DST,
/// quarter-hour offsets and Ramadan's suspended DST; the login streak with
/// freezes, the daily quests, a kind with daily and weekly caps, and post
/// boards by day, by Sunday and Thursday weeks and by month, each in its
/// own zone, must all follow the reference.
mod local_days {
    use std::collections::BTreeMap;

    use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
    use gamify::activity::{Activity, UserId};
    use gamify::config::Config;
    use gamify::leaderboard::{BoardSpec, BoardWindow, Source};
    use gamify::outcome::Event;
    use gamify::state::UserState;
    use gamify::time::Tz;
    use gamify::xp::KindRule;
    use proptest::prelude::*;

    const ZONES: [Tz; 14] = [
        Tz::Pacific__Apia,
        Tz::America__St_Johns,
        Tz::America__Nuuk,
        Tz::Australia__Lord_Howe,
        Tz::Asia__Kathmandu,
        Tz::Antarctica__Troll,
        Tz::Europe__Dublin,
        Tz::America__Santiago,
        Tz::America__Havana,
        Tz::Africa__Casablanca,
        Tz::America__Asuncion,
        Tz::Pacific__Kiritimati,
        Tz::Pacific__Pago_Pago,
        Tz::UTC,
    ];

    const WINDOWS: [BoardWindow; 4] = [
        BoardWindow::Day,
        BoardWindow::Week {
            starts_on: Weekday::Sun,
        },
        BoardWindow::Week {
            starts_on: Weekday::Thu,
        },
        BoardWindow::Month,
    ];

    /// The date the clocks show.
    fn shown(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
        at.with_timezone(&tz).date_naive()
    }

    fn exists(date: NaiveDate, tz: Tz) -> bool {
        (0..96).any(|q| {
            let time = NaiveTime::from_hms_opt(q / 4, q % 4 * 15, 0).unwrap();
            tz.from_local_datetime(&date.and_time(time))
                .earliest()
                .is_some()
        })
    }

    /// The first day of `window` holding `date`, stepping back a day at a
    /// time.
    fn first_day(window: BoardWindow, date: NaiveDate) -> NaiveDate {
        match window {
            BoardWindow::Week { starts_on } => {
                let mut day = date;
                while day.weekday() != starts_on {
                    day = day.pred_opt().unwrap();
                }
                day
            }
            BoardWindow::Month => date.with_day(1).unwrap(),
            _ => date,
        }
    }

    fn config(board_zones: &[usize]) -> Config {
        let mut config = Config::sparkle();
        config.xp.kinds.insert(
            "capped",
            KindRule {
                xp: 7,
                daily_cap: Some(20),
                weekly_cap: Some(60),
                ..KindRule::default()
            },
        );
        config.boards = WINDOWS
            .iter()
            .zip(board_zones)
            .enumerate()
            .map(|(i, (window, zone))| {
                let mut spec =
                    BoardSpec::new(format!("posts{i}"), Source::Metric("posts".into()), *window);
                spec.time_zone = ZONES[*zone];
                spec
            })
            .collect();
        config
    }

    /// The reference's state.
    #[derive(Default)]
    struct Model {
        /// Current and longest streak, freezes, last active date.
        streak: (u32, u32, u32, Option<NaiveDate>),
        /// Daily quest id → (window, completed).
        quests: BTreeMap<&'static str, (NaiveDate, bool)>,
        /// The capped kind's (day, XP) and (week, XP).
        day: Option<(NaiveDate, u64)>,
        week: Option<(NaiveDate, u64)>,
        /// Board id → (window, posts).
        windows: BTreeMap<String, (NaiveDate, u64)>,
    }

    impl Model {
        /// The sparkle streak: freezes earned every 7 days, 2 held, gaps of
        /// up to 2 missed dates covered.
        fn login(&mut self, today: NaiveDate, tz: Tz) {
            let (current, longest, freezes, last) = &mut self.streak;
            match *last {
                Some(last) if today <= last => return,
                Some(last) => {
                    let missed = (1..(today - last).num_days())
                        .filter(|d| exists(last + TimeDelta::days(*d), tz))
                        .count() as u32;
                    if missed <= 2 && missed <= *freezes {
                        *freezes -= missed;
                        *current += 1;
                        if *current % 7 == 0 && *freezes < 2 {
                            *freezes += 1;
                        }
                    } else {
                        *current = 1;
                    }
                }
                None => *current = 1,
            }
            *longest = (*longest).max(*current);
            *last = Some(today);
        }

        /// The XP the capped kind earns on `today`; late for a closed day
        /// or week, nothing.
        fn capped(&mut self, today: NaiveDate) -> u64 {
            let week = first_day(
                BoardWindow::Week {
                    starts_on: Weekday::Mon,
                },
                today,
            );
            let used =
                |counter: Option<(NaiveDate, u64)>, period: NaiveDate, cap: u64| match counter {
                    Some((p, xp)) if p == period => xp,
                    Some((p, _)) if p > period => cap,
                    _ => 0,
                };
            let xp = 7u64
                .min(20 - used(self.day, today, 20))
                .min(60 - used(self.week, week, 60));
            for (counter, period) in [(&mut self.day, today), (&mut self.week, week)] {
                match counter {
                    Some((p, sum)) if *p == period => *sum += xp,
                    Some((p, _)) if *p > period => {}
                    _ => *counter = Some((period, xp)),
                }
            }
            xp
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn streaks_quests_caps_and_board_windows_follow_the_local_calendar(
            // Half of them start in the fortnight before Apia's skipped date.
            start_day in prop_oneof![0i64..3 * 365, 348i64..362],
            board_zones in prop::collection::vec(0..ZONES.len(), 4),
            first_zone in 0..ZONES.len(),
            // Minutes forward, minutes late, the kind, a new zone.
            steps in prop::collection::vec(
                (
                    0i64..2600,
                    prop_oneof![6 => Just(0i64), 1 => 0i64..3000],
                    0usize..3,
                    prop::option::weighted(0.1, 0..ZONES.len()),
                ),
                1..60,
            ),
        ) {
            let config = config(&board_zones);
            let mut tz = ZONES[first_zone];
            let mut state = UserState {
                time_zone: Some(tz),
                ..UserState::default()
            };
            let mut model = Model::default();
            // From 2011, over Apia's skipped date, at a varying time of day.
            let mut now = Utc.with_ymd_and_hms(2011, 1, 1, 0, 0, 0).unwrap()
                + TimeDelta::days(start_day)
                + TimeDelta::minutes(start_day * 37 % 1440);
            for (i, (forward, late, kind, zone)) in steps.into_iter().enumerate() {
                now += TimeDelta::minutes(forward);
                if let Some(zone) = zone {
                    tz = ZONES[zone];
                    state.time_zone = Some(tz);
                }
                let at = now - TimeDelta::minutes(late);
                let kind = ["daily_login", "post_created", "capped"][kind];
                let activity = Activity::new(format!("a{i}"), UserId(1), kind, at);
                let commit = gamify::step::step(&config, &mut state, &activity, now).unwrap();
                let today = shown(at, tz);
                let context = format!("step {i}: {kind} at {at} in {tz}");

                model.login(today, tz);
                let streak = &state.streak;
                prop_assert_eq!(
                    (streak.current, streak.longest, streak.freezes, streak.last_day),
                    model.streak,
                    "streak, {}", context
                );

                let quest = match kind {
                    "daily_login" => Some("daily_login"),
                    "post_created" => Some("daily_post"),
                    _ => None,
                };
                if let Some(quest) = quest {
                    let expected = model.quests.entry(quest).or_insert((today, false));
                    if today > expected.0 {
                        *expected = (today, false);
                    }
                    if today == expected.0 {
                        expected.1 = true;
                    }
                    let progress = &state.quests.progress[quest];
                    prop_assert_eq!((progress.window, progress.completed), *expected, "{}, {}", quest, context);
                }

                if kind == "capped" {
                    let xp = commit.outcome.events.iter().find_map(|e| match e {
                        Event::XpAwarded { award, .. } => Some(award.xp),
                        _ => None,
                    });
                    prop_assert_eq!(xp, Some(model.capped(today)), "caps, {}", context);
                }

                if kind == "post_created" {
                    for board in &config.boards {
                        let window = first_day(board.window, shown(at.min(now), board.time_zone));
                        let id = board.id.to_string();
                        match model.windows.get_mut(&id) {
                            Some((w, _)) if *w > window => {}
                            Some((w, posts)) if *w == window => *posts += 1,
                            _ => {
                                model.windows.insert(id.clone(), (window, 1));
                            }
                        }
                        let gain = &state.windows[id.as_str()];
                        prop_assert_eq!((gain.window, gain.amount), model.windows[&id], "{}, {}", id, context);
                    }
                }
            }
        }
    }
}

//! No input reaches a panic: arbitrary activities — unknown kinds, huge
//! metric increments, extreme attributes, instants far apart, out of order —
//! through the engine leave every ledger equal to its balance and every
//! board consistent with the states.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use gamify::activity::{Activity, UserId};
use gamify::config::Config;
use gamify::engine::Engine;
use gamify::ledger::{Currency, balance};
use gamify::time::{FakeClock, Tz};
use proptest::prelude::*;

const KINDS: [&str; 10] = [
    "post_created",
    "post_viral",
    "comment_created",
    "reaction_given",
    "reaction_received",
    "follow_received",
    "daily_login",
    "post_trending",
    "unheard_of",
    "",
];

/// An arbitrary activity: user, kind index, offset in seconds, metric
/// increments, attributes.
type Raw = (u64, usize, i64, Vec<(String, u64)>, Vec<(String, i64)>);

fn activity() -> impl Strategy<Value = Raw> {
    (
        0..5u64,
        0..KINDS.len(),
        // Seconds from the start: years either way.
        -200_000_000i64..200_000_000,
        prop::collection::vec(
            (
                "[a-z_]{1,20}",
                prop_oneof![0..10u64, Just(u64::MAX), any::<u64>()],
            ),
            0..3,
        ),
        prop::collection::vec(
            (
                prop_oneof![
                    Just("reactions".to_owned()),
                    Just("trending_posts".to_owned()),
                    "[a-z]{1,8}"
                ],
                prop_oneof![any::<i64>(), Just(i64::MIN), Just(1000i64)],
            ),
            0..3,
        ),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_activities_never_panic_and_keep_the_books(
        activities in prop::collection::vec(activity(), 1..40),
        zone in prop_oneof![Just(Tz::UTC), Just(Tz::Pacific__Apia), Just(Tz::America__Santiago), Just(Tz::Pacific__Chatham)],
    ) {
        let start: DateTime<Utc> = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        let clock = Arc::new(FakeClock::new(start + TimeDelta::seconds(300_000_000)));
        let engine = Engine::builder(Config::sparkle()).clock(clock).build().unwrap();
        for (i, (user, kind, secs, metrics, attributes)) in activities.into_iter().enumerate() {
            if i == 0 {
                engine.set_time_zone(UserId(user), zone).unwrap();
            }
            let mut a = Activity::new(format!("a{i}"), UserId(user), KINDS[kind], start + TimeDelta::seconds(secs));
            for (m, by) in metrics {
                a = a.with_metric(m, by);
            }
            for (name, value) in attributes {
                a = a.with_attribute(name, value);
            }
            // Refusals are fine; panics and broken books are not.
            let _ = engine.record(a);
        }
        let store = engine.store();
        for user in store.users().unwrap() {
            let state = store.load(user).unwrap().unwrap();
            let ledger = store.ledger(user, 0, usize::MAX).unwrap();
            prop_assert_eq!(balance(&ledger, Currency::Xp), i128::from(state.xp));
            prop_assert_eq!(balance(&ledger, Currency::Points), i128::from(state.points));
            prop_assert_eq!(state.level, engine.config().curve.level_for_xp(state.xp));
            let standing = engine.board("xp_all_time").unwrap().rank_of(user);
            prop_assert_eq!(standing.map_or(0, |s| s.score), state.xp);
        }
    }
}

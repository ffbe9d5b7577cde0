//! Eight threads recording shuffled activities, each id delivered 1 to 10
//! times: every distinct id is applied exactly once, ledgers equal balances,
//! and no achievement unlocks twice.

#[path = "../examples/sim/mod.rs"]
mod sim;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use chrono::{TimeDelta, TimeZone, Utc};
use gamify::activity::{Activity, UserId};
use gamify::config::Config;
use gamify::engine::Engine;
use gamify::ledger::{Currency, balance};
use gamify::outcome::Outcome;
use gamify::time::FakeClock;

const THREADS: usize = 8;

#[test]
fn eight_threads_with_redelivery_apply_each_id_exactly_once() {
    let start = Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap();
    let mut rng = sim::Rng::new(99);
    let members = sim::members(120, &mut rng);
    // Three days of traffic, every activity at its day's noon UTC, shuffled
    // within its day: the total then cannot depend on the order threads
    // apply them in (caps, quests and the streak see the same days).
    let clock = Arc::new(FakeClock::new(start + TimeDelta::days(4)));
    let engine = Arc::new(
        Engine::builder(Config::sparkle())
            .clock(clock)
            .build()
            .unwrap(),
    );
    let applied: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let mut distinct: Vec<Activity> = Vec::new();
    for day in 0..3 {
        let mut today = sim::day_activities(&members, start, day, &mut rng);
        for a in &mut today {
            a.at = start + TimeDelta::days(i64::from(day)) + TimeDelta::hours(12);
        }
        // Each id 1 to 10 times, shuffled.
        let mut deliveries: Vec<Activity> = today
            .iter()
            .flat_map(|a| std::iter::repeat_n(a.clone(), 1 + rng.below(10) as usize))
            .collect();
        for i in (1..deliveries.len()).rev() {
            deliveries.swap(i, rng.below(i as u64 + 1) as usize);
        }
        distinct.extend(today);
        let chunk = deliveries.len().div_ceil(THREADS).max(1);
        std::thread::scope(|scope| {
            for part in deliveries.chunks(chunk) {
                let (engine, applied) = (engine.clone(), applied.clone());
                scope.spawn(move || {
                    for a in part {
                        let recorded = engine.record(a.clone()).unwrap();
                        if !recorded.duplicate {
                            applied.lock().unwrap().push(recorded.outcome);
                        }
                    }
                });
            }
        });
    }
    let applied = applied.lock().unwrap();

    // Every distinct id applied exactly once.
    let ids: BTreeSet<_> = applied
        .iter()
        .map(|o| o.activity.clone().unwrap())
        .collect();
    assert_eq!(applied.len(), distinct.len());
    assert_eq!(ids.len(), distinct.len());

    // XP applied equals the sum of the applied outcomes, and the ledger.
    let store = engine.store();
    let mut xp_by_user: BTreeMap<UserId, i64> = BTreeMap::new();
    for o in applied.iter() {
        *xp_by_user.entry(o.user).or_default() += o.totals.xp;
    }
    for user in store.users().unwrap() {
        let state = store.load(user).unwrap().unwrap();
        let ledger = store.ledger(user, 0, usize::MAX).unwrap();
        assert_eq!(balance(&ledger, Currency::Xp), i128::from(state.xp));
        assert_eq!(balance(&ledger, Currency::Points), i128::from(state.points));
        assert_eq!(xp_by_user.get(&user).copied().unwrap_or(0), state.xp as i64);
    }

    // No achievement unlocked twice.
    let mut unlocks = BTreeSet::new();
    for o in applied.iter() {
        for u in o.unlocked() {
            assert!(
                unlocks.insert((o.user, u.id.clone(), u.tier)),
                "{:?} unlocked {} twice",
                o.user,
                u.id
            );
        }
    }

    // The same distinct activities recorded one by one give the same XP.
    let sequential = Engine::builder(Config::sparkle())
        .clock(FakeClock::new(start + TimeDelta::days(4)))
        .build()
        .unwrap();
    for a in &distinct {
        sequential.record(a.clone()).unwrap();
    }
    let total = |e: &Engine| -> u64 {
        e.store()
            .users()
            .unwrap()
            .into_iter()
            .map(|u| e.store().load(u).unwrap().unwrap().xp)
            .sum()
    };
    assert_eq!(total(&engine), total(&sequential));
}

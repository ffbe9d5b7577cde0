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

/// Records of one user from many threads reach the all-time board in the
/// order they committed: the board ends at the user's total. (The board is
/// set to the total an outcome reports, which does not commute; before the
/// engine's per-user order lock, about one run in fifteen ended on a stale
/// total.) Readers run alongside.
#[test]
fn all_time_board_ends_at_the_total_under_concurrent_records_of_one_user() {
    use std::sync::atomic::{AtomicBool, Ordering};

    let start = Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap();
    for round in 0..20u64 {
        let clock = Arc::new(FakeClock::new(start));
        let engine = Arc::new(
            Engine::builder(Config::sparkle())
                .clock(clock)
                .build()
                .unwrap(),
        );
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            for _ in 0..2 {
                let (engine, stop) = (&engine, &stop);
                s.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        for id in engine.board_ids() {
                            if let Some(board) = engine.board(&id) {
                                std::hint::black_box(board.around(UserId(1), 5));
                            }
                        }
                    }
                });
            }
            let writers: Vec<_> = (0..8u64)
                .map(|t| {
                    let engine = &engine;
                    s.spawn(move || {
                        let kinds = [
                            "post_created",
                            "comment_created",
                            "reaction_received",
                            "follow_received",
                        ];
                        for i in 0..300u64 {
                            let kind = kinds[(i % 4) as usize];
                            let id = format!("r{round}t{t}i{i}");
                            engine
                                .record(Activity::new(id, UserId(1 + i % 2), kind, start))
                                .unwrap();
                        }
                    })
                })
                .collect();
            for writer in writers {
                writer.join().unwrap();
            }
            stop.store(true, Ordering::Relaxed);
        });
        for user in [UserId(1), UserId(2)] {
            let state = engine.store().load(user).unwrap().unwrap();
            let board = engine.board("xp_all_time").unwrap().rank_of(user);
            assert_eq!(
                board.map(|s| s.score),
                Some(state.xp).filter(|xp| *xp > 0),
                "round {round} {user:?}"
            );
        }
    }
}

/// Readers holding one board's handle while asking for another never
/// deadlock, whatever order they ask in.
#[test]
fn readers_holding_handles_never_deadlock() {
    use std::sync::{Barrier, mpsc};
    use std::time::Duration;

    let engine = Arc::new(Engine::new(Config::sparkle()));
    let barrier = Arc::new(Barrier::new(2));
    let (tx, rx) = mpsc::channel();
    for (a, b) in [("xp_daily", "xp_weekly"), ("xp_weekly", "xp_daily")] {
        let (engine, barrier, tx) = (engine.clone(), barrier.clone(), tx.clone());
        std::thread::spawn(move || {
            let first = engine.board(a).unwrap();
            barrier.wait();
            let second = engine.board(b).unwrap();
            let _ = tx.send(first.len() + second.len());
        });
    }
    for _ in 0..2 {
        assert!(
            rx.recv_timeout(Duration::from_secs(10)).is_ok(),
            "readers deadlocked"
        );
    }
}

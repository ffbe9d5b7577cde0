//! Stress: threads mixing `record`, `record_batch` (small, and 32 or more
//! items, the pipelined path that holds every shard), admin operations on
//! the same users, board resets, `stats` and `board` reads, a shared clock
//! crossing midnight (a day, an ISO week and a month end together), and a
//! `replay` while others record. Each round is small and repeated to shake
//! out interleavings; after each, the invariants:
//!
//! - each activity id is applied once however many threads deliver it, and
//!   a conflicting payload is refused;
//! - every user's balances equal the sum of their ledger;
//! - every live board equals the board rebuilt from the stored states;
//! - no achievement unlocks twice, no quest completes twice in a window;
//! - nothing deadlocks (each round runs under a timeout).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use gamify::activity::{Activity, ActivityId, UserId};
use gamify::config::Config;
use gamify::engine::{Engine, RecordError, Recorded};
use gamify::leaderboard::Standing;
use gamify::ledger::{Currency, balance};
use gamify::outcome::{Event, Outcome};
use gamify::store::{MemoryStore, Store};
use gamify::time::{Clock, FakeClock, Tz};

const USERS: u64 = 6;

const KINDS: [&str; 6] = [
    "post_created",
    "comment_created",
    "reaction_received",
    "follow_received",
    "daily_login",
    "reaction_given",
];

/// The achievement the admin thread grants and revokes (so it may unlock
/// more than once); every other one must unlock at most once.
const GRANTED: &str = "ach_verified_creator";

/// 2026-05-31 23:59 UTC: the next midnight ends a day, an ISO week
/// (2026-06-01 is a Monday) and a month.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 31, 23, 59, 0).unwrap()
}

/// xorshift64*: small, seeded, good enough to shuffle.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i as u64 + 1) as usize);
        }
    }
}

/// Run `work` on a thread and fail if it has not finished in `secs`.
fn within<T: Send + 'static>(
    secs: u64,
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(value) => {
            let _ = worker.join();
            value
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: not done in {secs}s (deadlock?)"),
        // The worker panicked: show its panic.
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the worker sends before it ends"),
        },
    }
}

/// One delivery and what became of it (a refusal as text).
type Delivery = (Activity, Result<Recorded, String>);

/// Everything delivered and what became of it.
#[derive(Default)]
struct Log {
    deliveries: Mutex<Vec<Delivery>>,
    /// Outcomes of admin operations that were applied.
    admin: Mutex<Vec<Outcome>>,
}

impl Log {
    fn record(&self, activity: &Activity, result: Result<Recorded, RecordError>) {
        let result = result.map_err(|e| match e {
            RecordError::Conflict(_) => "conflict".to_owned(),
            other => format!("{other}"),
        });
        self.deliveries
            .lock()
            .unwrap()
            .push((activity.clone(), result));
    }
}

/// Each id with two payloads: the usual one, and one that conflicts with
/// it (another kind, and for some ids another user).
fn activities(round: u64, n: usize, rng: &mut Rng) -> Vec<[Activity; 2]> {
    (0..n)
        .map(|i| {
            let id = format!("r{round}a{i}");
            let user = UserId(1 + rng.below(USERS));
            let kind = KINDS[rng.below(KINDS.len() as u64) as usize];
            // Up to 150 s past the start: some before midnight, some after,
            // all within the 300 s the engine allows ahead of `now`.
            let at = start() + TimeDelta::seconds(rng.below(150) as i64);
            let other_user = if rng.below(3) == 0 {
                UserId(1 + (user.0 % USERS))
            } else {
                user
            };
            let other_kind = KINDS[(KINDS.iter().position(|k| *k == kind).unwrap() + 1) % 6];
            [
                Activity::new(id.as_str(), user, kind, at),
                Activity::new(id.as_str(), other_user, other_kind, at),
            ]
        })
        .collect()
}

/// Deliveries: each id 1 to 3 times, one in eight with the conflicting
/// payload, shuffled.
fn deliveries(ids: &[[Activity; 2]], rng: &mut Rng) -> Vec<Activity> {
    let mut out = Vec::new();
    for pair in ids {
        for _ in 0..1 + rng.below(3) {
            let variant = usize::from(rng.below(8) == 0);
            out.push(pair[variant].clone());
        }
    }
    rng.shuffle(&mut out);
    out
}

fn users() -> Vec<UserId> {
    (1..=USERS + 1).map(UserId).collect()
}

/// Each board's standings (sorted by user: ties may list in any order) and
/// every user's `rank_of`, read with the handle dropped at once.
fn boards_of(engine: &Engine) -> BTreeMap<String, (Vec<Standing>, Vec<Option<Standing>>)> {
    engine
        .board_ids()
        .into_iter()
        .map(|id| {
            let board = engine.board(&id).unwrap();
            let mut top = board.top(10_000);
            top.sort_by_key(|s| s.user);
            let ranks = users().into_iter().map(|u| board.rank_of(u)).collect();
            drop(board);
            (id.to_string(), (top, ranks))
        })
        .collect()
}

/// The invariants, on a quiet engine.
fn check(engine: &Engine, store: &Arc<dyn Store>, clock: &Arc<FakeClock>, log: &Log, ctx: &str) {
    // Exactly once, conflicts refused.
    let deliveries = log.deliveries.lock().unwrap();
    let mut by_id: BTreeMap<ActivityId, Vec<&Delivery>> = BTreeMap::new();
    for d in deliveries.iter() {
        by_id.entry(d.0.id.clone()).or_default().push(d);
    }
    let mut applied: BTreeMap<ActivityId, (Activity, Outcome)> = BTreeMap::new();
    for (id, ds) in &by_id {
        let firsts: Vec<_> = ds
            .iter()
            .filter(|(_, r)| matches!(r, Ok(r) if !r.duplicate))
            .collect();
        assert!(
            firsts.len() <= 1,
            "{ctx}: {id} applied {} times",
            firsts.len()
        );
        let Some((winner, Ok(first))) = firsts.first().map(|d| (&d.0, &d.1)) else {
            panic!("{ctx}: {id} never applied: {ds:?}");
        };
        for (a, r) in ds {
            match r {
                Ok(r) => {
                    assert_eq!(a, winner, "{ctx}: {id}: a conflicting payload was accepted");
                    assert_eq!(r.outcome, first.outcome, "{ctx}: {id}: duplicate's outcome");
                }
                Err(e) => {
                    assert_eq!(e, "conflict", "{ctx}: {id}: refused: {e}");
                    assert_ne!(a, winner, "{ctx}: {id}: the winner's payload conflicted");
                }
            }
        }
        applied.insert(id.clone(), (winner.clone(), first.outcome.clone()));
    }
    // The store kept each applied id once, as its winner's.
    let mut kept = BTreeSet::new();
    for user in store.users().unwrap() {
        for a in store.activities(user).unwrap() {
            assert!(kept.insert(a.id.clone()), "{ctx}: {} kept twice", a.id);
            assert_eq!(Some(&a), applied.get(&a.id).map(|w| &w.0), "{ctx}: kept");
        }
    }
    assert_eq!(kept.len(), applied.len(), "{ctx}: ids kept");

    // Balances are the ledger's sums.
    for user in store.users().unwrap() {
        let state = store.load(user).unwrap().unwrap();
        let ledger = store.ledger(user, 0, usize::MAX).unwrap();
        assert_eq!(ledger.len() as u64, store.ledger_len(user).unwrap());
        assert_eq!(
            balance(&ledger, Currency::Xp),
            i128::from(state.xp),
            "{ctx}: {user:?} XP"
        );
        assert_eq!(
            balance(&ledger, Currency::Points),
            i128::from(state.points),
            "{ctx}: {user:?} points"
        );
    }

    // No achievement unlocked twice (but the one granted and revoked), no
    // quest completed twice in one window.
    let admin = log.admin.lock().unwrap();
    let outcomes = applied.values().map(|(_, o)| o).chain(admin.iter());
    let (mut unlocks, mut quests) = (BTreeSet::new(), BTreeSet::new());
    for o in outcomes {
        for e in &o.events {
            match e {
                Event::AchievementUnlocked(u) if u.id != GRANTED => assert!(
                    unlocks.insert((o.user, u.id.clone(), u.tier)),
                    "{ctx}: {:?} unlocked {} tier {:?} twice",
                    o.user,
                    u.id,
                    u.tier
                ),
                Event::QuestCompleted(q) => assert!(
                    quests.insert((o.user, q.quest.clone(), q.window)),
                    "{ctx}: {:?} completed {} twice in {}",
                    o.user,
                    q.quest,
                    q.window
                ),
                _ => {}
            }
        }
    }

    // Live boards equal the boards rebuilt from the stored states.
    let live = boards_of(engine);
    let rebuilt = boards_of(&engine_on(store, clock));
    assert_eq!(live.len(), 16);
    for (id, board) in &live {
        assert_eq!(
            Some(board),
            rebuilt.get(id),
            "{ctx}: board {id}: live vs rebuilt"
        );
    }
}

fn engine_on(store: &Arc<dyn Store>, clock: &Arc<FakeClock>) -> Arc<Engine> {
    Arc::new(
        Engine::builder(Config::sparkle())
            .shared_store(store.clone())
            .clock(clock.clone())
            .build()
            .unwrap(),
    )
}

/// One round of everything at once: two threads recording one by one, one
/// recording small batches, one recording pipelined batches, an admin
/// thread (adjustments, grants, revocations, time zones, board resets,
/// stats and board reads) and the clock crossing midnight.
///
/// With `replay_after`, the clock starts past every activity's time (so
/// the activities dated before midnight arrive late, among those after
/// it), and once the round is checked a replay must change nothing.
fn mixed_round(round: u64, store: Arc<dyn Store>, replay_after: bool) {
    let mut rng = Rng::new(round);
    let clock = Arc::new(FakeClock::new(if replay_after {
        start() + TimeDelta::seconds(150)
    } else {
        start()
    }));
    let engine = engine_on(&store, &clock);
    let ids = activities(round, 70, &mut rng);
    let all = deliveries(&ids, &mut rng);
    // Every id reaches every kind of caller: a share each, and the whole
    // list again in pipelined batches.
    let quarter = all.len().div_ceil(3);
    let parts: Vec<Vec<Activity>> = all.chunks(quarter).map(<[_]>::to_vec).collect();
    let mut batched = all.clone();
    let total = 2 * all.len();
    rng.shuffle(&mut batched);
    let log = Arc::new(Log::default());
    let done = Arc::new(AtomicBool::new(false));
    let admin_seed = rng.next();

    within(30, &format!("round {round}"), {
        let (engine, clock, log, done) = (engine.clone(), clock.clone(), log.clone(), done.clone());
        move || {
            std::thread::scope(|s| {
                let mut workers = Vec::new();
                for (i, part) in parts.iter().enumerate() {
                    let (engine, log) = (&engine, &log);
                    workers.push(s.spawn(move || match i {
                        // One by one.
                        0 | 1 => {
                            for a in part {
                                log.record(a, engine.record(a.clone()));
                            }
                        }
                        // Small batches.
                        _ => {
                            for chunk in part.chunks(5) {
                                let results = engine.record_batch(chunk).unwrap();
                                for (a, r) in chunk.iter().zip(results) {
                                    log.record(a, r);
                                }
                            }
                        }
                    }));
                }
                {
                    let (engine, log) = (&engine, &log);
                    let batched = &batched;
                    workers.push(s.spawn(move || {
                        for chunk in batched.chunks(40) {
                            let results = engine.record_batch(chunk).unwrap();
                            for (a, r) in chunk.iter().zip(results) {
                                log.record(a, r);
                            }
                        }
                    }));
                }
                // The clock: 23:59:00 to 00:01:00 in 5 s steps, paced by
                // the deliveries, so midnight falls in the middle of them.
                let ticker = {
                    let (clock, done, log) = (&clock, &done, &log);
                    s.spawn(move || {
                        let mut ticks = 0;
                        while ticks < 24 && !done.load(Ordering::Relaxed) {
                            let delivered = log.deliveries.lock().unwrap().len();
                            while ticks < 24 * delivered / total {
                                clock.advance(TimeDelta::seconds(5));
                                ticks += 1;
                            }
                            std::thread::yield_now();
                        }
                    })
                };
                let admin = {
                    let (engine, log, done) = (&engine, &log, &done);
                    s.spawn(move || {
                        let mut rng = Rng::new(admin_seed);
                        let windowed: Vec<_> = engine
                            .board_ids()
                            .into_iter()
                            .filter(|id| !id.ends_with("all_time"))
                            .collect();
                        while !done.load(Ordering::Relaxed) {
                            let user = UserId(1 + rng.below(USERS));
                            let result = match rng.below(9) {
                                0 => engine.adjust(user, Currency::Xp, 40, "bonus"),
                                1 => engine.adjust(user, Currency::Xp, -15, "fix"),
                                2 => engine.adjust(user, Currency::Points, 7, "gift"),
                                3 => engine.grant(user, GRANTED),
                                4 => engine.revoke(user, GRANTED),
                                // Not in a round that replays: a login that
                                // pays nothing, recorded after a change of zone
                                // at its clock reading, replays before it (a
                                // known defect, pinned in tests/replay.rs).
                                5 if !replay_after => engine.set_time_zone(
                                    user,
                                    if rng.below(2) == 0 {
                                        Tz::UTC
                                    } else {
                                        Tz::Asia__Tokyo
                                    },
                                ),
                                6 => {
                                    let board =
                                        &windowed[rng.below(windowed.len() as u64) as usize];
                                    assert!(engine.reset_board(board).unwrap());
                                    continue;
                                }
                                7 => {
                                    let _ = engine.stats(user).unwrap();
                                    continue;
                                }
                                _ => {
                                    for id in engine.board_ids() {
                                        let board = engine.board(&id).unwrap();
                                        std::hint::black_box(board.around(user, 3));
                                    }
                                    continue;
                                }
                            };
                            match result {
                                Ok(outcome) => log.admin.lock().unwrap().push(outcome),
                                Err(RecordError::Refused(_)) => {}
                                Err(e) => panic!("admin: {e}"),
                            }
                        }
                    })
                };
                for w in workers {
                    w.join().unwrap();
                }
                done.store(true, Ordering::Relaxed);
                ticker.join().unwrap();
                admin.join().unwrap();
            });
        }
    });
    // Past midnight for good: the boards roll where they did not yet.
    clock.set(clock.now().max(start() + TimeDelta::seconds(150)));
    check(&engine, &store, &clock, &log, &format!("round {round}"));
    if replay_after {
        // Under the configuration it was made with, the history replays
        // unchanged, late activities and concurrent resets included.
        let report = engine.replay().unwrap();
        assert!(
            report.changes.is_empty(),
            "round {round}: {:?}",
            report.changes
        );
        check(
            &engine,
            &store,
            &clock,
            &log,
            &format!("round {round}, replayed"),
        );
    }
}

/// Rounds to run: `STRESS_ROUNDS` if set (to shake out rarer
/// interleavings), else `default`.
fn rounds(default: u64) -> u64 {
    std::env::var("STRESS_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(default)
}

#[test]
fn mixed_records_batches_admin_resets_reads_and_midnight() {
    let rounds = rounds(500);
    for round in 0..rounds {
        mixed_round(round, Arc::new(MemoryStore::new()), false);
    }
}

#[test]
fn mixed_late_activities_then_a_replay_changes_nothing() {
    let rounds = rounds(150);
    for round in 0..rounds {
        mixed_round(round, Arc::new(MemoryStore::new()), true);
    }
}

/// The same on SQLite (one connection behind a mutex, a transaction per
/// activity and per batch), fewer rounds: each opens a file.
#[cfg(feature = "sqlite")]
#[test]
fn mixed_round_on_sqlite() {
    use gamify::store::{SqliteStore, Synchronous};
    let rounds = rounds(40);
    let dir = std::env::temp_dir().join(format!("gamify-stress-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for round in 0..rounds {
        let path = dir.join(format!("r{round}.db"));
        let store = SqliteStore::open_with(&path, Synchronous::Off).unwrap();
        mixed_round(round, Arc::new(store), round % 2 == 1);
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// One round of a replay while two threads record for the same users and
/// a reader watches the all-time XP board: no user who had XP before the
/// replay may be missing from it meanwhile.
fn replay_round(round: u64, recorders: usize, hot_users: u64) {
    let mut rng = Rng::new(round ^ 0x5eed);
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let clock = Arc::new(FakeClock::new(start() + TimeDelta::seconds(150)));
    let engine = engine_on(&store, &clock);
    let log = Arc::new(Log::default());
    // A history: activities and admin operations.
    for pair in activities(round, 40, &mut rng) {
        log.record(&pair[0], engine.record(pair[0].clone()));
    }
    for user in 1..=USERS {
        let user = UserId(user);
        let admin = &mut log.admin.lock().unwrap();
        admin.push(engine.adjust(user, Currency::Xp, 25, "bonus").unwrap());
        if user.0.is_multiple_of(2) {
            admin.push(engine.grant(user, GRANTED).unwrap());
            admin.push(engine.set_time_zone(user, Tz::Asia__Tokyo).unwrap());
        }
    }
    let before: Vec<UserId> = {
        let board = engine.board("xp_all_time").unwrap();
        users()
            .into_iter()
            .filter(|u| board.rank_of(*u).is_some())
            .collect()
    };
    assert!(!before.is_empty());
    // New activities for the hot users, recorded during the replay.
    let more: Vec<Activity> = (0..60 * recorders)
        .map(|i| {
            let user = UserId(1 + rng.below(hot_users));
            let kind = KINDS[rng.below(KINDS.len() as u64) as usize];
            Activity::new(format!("r{round}m{i}"), user, kind, clock.now())
        })
        .collect();
    let done = Arc::new(AtomicBool::new(false));
    let (report, missing) = within(30, &format!("replay round {round}"), {
        let (engine, log, done) = (engine.clone(), log.clone(), done.clone());
        move || {
            std::thread::scope(|s| {
                let reader = s.spawn(|| {
                    let mut missing = 0;
                    while !done.load(Ordering::Relaxed) {
                        let board = engine.board("xp_all_time").unwrap();
                        missing += before
                            .iter()
                            .filter(|u| board.rank_of(**u).is_none())
                            .count();
                        drop(board);
                        std::thread::yield_now();
                    }
                    missing
                });
                for part in more.chunks(60) {
                    let (engine, log) = (&engine, &log);
                    s.spawn(move || {
                        for a in part {
                            log.record(a, engine.record(a.clone()));
                        }
                    });
                }
                let report = engine.replay();
                done.store(true, Ordering::Relaxed);
                (report, reader.join().unwrap())
            })
        }
    });
    let report = report.unwrap_or_else(|e| panic!("replay round {round}: {e}"));
    assert_eq!(missing, 0, "replay round {round}: users left the board");
    // The configuration is the one the history was recorded with.
    assert!(
        report.changes.is_empty(),
        "replay round {round}: {report:?}"
    );
    assert_eq!(report.refused, 0);
    check(
        &engine,
        &store,
        &clock,
        &log,
        &format!("replay round {round}"),
    );
}

#[test]
fn replay_while_others_record() {
    let rounds = rounds(200);
    for round in 0..rounds {
        replay_round(round, 2, USERS);
    }
}

/// A replay rebuilds the boards; a reader meanwhile still sees every user
/// on them. (Before the boards were rebuilt aside and swapped in, a replay
/// emptied them first: readers found users missing in about two rounds of
/// three of `replay_while_others_record`, and here at once.)
#[test]
fn boards_stay_whole_while_a_replay_rebuilds_them() {
    let engine = Engine::builder(Config::sparkle())
        .clock(FakeClock::new(start()))
        .build()
        .unwrap();
    let users: Vec<UserId> = (1..=200).map(UserId).collect();
    for user in &users {
        let post = Activity::new(format!("p{}", user.0), *user, "post_created", start());
        engine.record(post).unwrap();
    }
    let done = AtomicBool::new(false);
    let missing = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut missing = 0;
            while !done.load(Ordering::Relaxed) {
                for id in ["xp_all_time", "posts_daily"] {
                    let board = engine.board(id).unwrap();
                    missing += users
                        .iter()
                        .filter(|u| board.rank_of(**u).is_none())
                        .count();
                }
            }
            missing
        });
        for _ in 0..20 {
            engine.replay().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        reader.join().unwrap()
    });
    assert_eq!(missing, 0, "reads found users missing during replays");
}

/// A replay finishes while a user with a long history keeps recording:
/// rebuilding them takes longer than the gap between their activities, so
/// every optimistic try finds their state changed, and the last try holds
/// their order lock. (Before, the replay gave up after nine tries with
/// "internal error: state changed during replay", leaving the users after
/// them unreplayed and the boards not rebuilt: 20 runs of 20.)
#[test]
fn a_replay_finishes_while_a_user_keeps_recording() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let clock = Arc::new(FakeClock::new(start()));
    let engine = engine_on(&store, &clock);
    let log = Log::default();
    for i in 0..3_000 {
        let a = Activity::new(format!("h{i}"), UserId(1), KINDS[i % 6], start());
        log.record(&a, engine.record(a.clone()));
    }
    let a = Activity::new("other", UserId(2), "post_created", start());
    log.record(&a, engine.record(a.clone()));
    let (started, done) = (AtomicBool::new(false), AtomicBool::new(false));
    let report = within(30, "replay", {
        let (engine, log) = (engine.clone(), Arc::new(log));
        let result = log.clone();
        move || {
            let report = std::thread::scope(|s| {
                s.spawn(|| {
                    let mut i = 0;
                    while !done.load(Ordering::Relaxed) {
                        let a = Activity::new(format!("n{i}"), UserId(1), KINDS[i % 6], start());
                        log.record(&a, engine.record(a.clone()));
                        i += 1;
                        started.store(true, Ordering::Relaxed);
                    }
                });
                while !started.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
                let report = engine.replay();
                done.store(true, Ordering::Relaxed);
                report
            });
            (report.map_err(|e| e.to_string()), result)
        }
    });
    let (report, log) = report;
    let report = report.unwrap();
    assert_eq!((report.users, report.changes.len()), (2, 0));
    check(&engine, &store, &clock, &log, "hot user");
}

/// A `MemoryStore` whose `transact` of the activity `HOLD` signals
/// `entered` and waits for `release`: a record held inside its store
/// transaction, holding its user's order lock.
struct Gate {
    inner: MemoryStore,
    entered: Mutex<mpsc::Sender<()>>,
    release: Mutex<mpsc::Receiver<()>>,
}

impl Gate {
    const HOLD: &str = "held";
}

impl Store for Gate {
    fn transact(
        &self,
        user: UserId,
        activity: Option<&Activity>,
        step: &mut gamify::store::Step<'_, gamify::step::StepError>,
    ) -> gamify::store::TransactResult {
        if activity.is_some_and(|a| a.id.0 == Self::HOLD) {
            self.entered.lock().unwrap().send(()).unwrap();
            self.release.lock().unwrap().recv().unwrap();
        }
        self.inner.transact(user, activity, step)
    }

    fn load(
        &self,
        user: UserId,
    ) -> Result<Option<gamify::state::UserState>, gamify::store::StoreError> {
        self.inner.load(user)
    }

    fn users(&self) -> Result<Vec<UserId>, gamify::store::StoreError> {
        self.inner.users()
    }

    fn ledger(
        &self,
        user: UserId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<gamify::ledger::LedgerEntry>, gamify::store::StoreError> {
        self.inner.ledger(user, from, limit)
    }

    fn activities(&self, user: UserId) -> Result<Vec<Activity>, gamify::store::StoreError> {
        self.inner.activities(user)
    }

    fn keep_board_reset(
        &self,
        reset: &gamify::store::BoardReset,
    ) -> Result<(), gamify::store::StoreError> {
        self.inner.keep_board_reset(reset)
    }

    fn board_resets(&self) -> Result<Vec<gamify::store::BoardReset>, gamify::store::StoreError> {
        self.inner.board_resets()
    }
}

/// A board reset that waits for a record while midnight passes closes the
/// window current when it runs, not the one current when it was called.
/// The reset is called at 23:59:50 and waits for user 1's record;
/// meanwhile it is 00:00:30 and a read rolls the daily board over to the
/// new day (user 2's day becoming the previous window). The reset must
/// close the new day, empty. (Before, it read the clock before waiting
/// and moved the board back to the day that had ended, and the next read
/// rolled it forward again: the previous window read as that day with
/// nobody on it, though user 2 had scored; 10 runs of 10.)
#[test]
fn a_reset_waiting_across_midnight_does_not_move_the_board_back() {
    let (entered_tx, entered) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let store = Gate {
        inner: MemoryStore::new(),
        entered: Mutex::new(entered_tx),
        release: Mutex::new(release_rx),
    };
    let before = start() + TimeDelta::seconds(50);
    let after = start() + TimeDelta::seconds(90);
    let clock = Arc::new(FakeClock::new(before));
    let engine = Engine::builder(Config::sparkle())
        .store(store)
        .clock(clock.clone())
        .build()
        .unwrap();
    engine
        .record(Activity::new("y", UserId(2), "post_created", before))
        .unwrap();
    within(30, "reset", move || {
        std::thread::scope(|s| {
            let held = s.spawn(|| {
                let a = Activity::new(Gate::HOLD, UserId(1), "post_created", before);
                engine.record(a).unwrap();
            });
            entered.recv().unwrap();
            let reset = s.spawn(|| engine.reset_board("posts_daily").unwrap());
            // Let the reset read the clock and wait for user 1's lock.
            std::thread::sleep(Duration::from_millis(100));
            clock.set(after);
            let previous = engine.board("posts_daily").unwrap().previous().cloned();
            let day = previous.map(|p| (p.window, p.top.len()));
            assert_eq!(day, Some((before.date_naive(), 1)));
            release.send(()).unwrap();
            held.join().unwrap();
            assert!(reset.join().unwrap());
            let board = engine.board("posts_daily").unwrap();
            let window = board.window().map(|w| w.first_day());
            let previous = board.previous().map(|p| (p.window, p.top.len()));
            assert_eq!(window, Some(after.date_naive()));
            // The reset closed the new day, empty, as it was.
            assert_eq!(previous, Some((after.date_naive(), 0)));
        });
    });
}

/// A record and an admin operation that wait for a board reset read the
/// clock once they have their user's lock, after the reset, and record
/// after its time (a nanosecond after, as the clock has not moved): a
/// replay puts the reset before them, as it happened. User 1's record is held inside
/// the store (holding user 1's stripe); a reset waits for it, holding the
/// lower stripes, users 2's and 5's among them; user 2's adjustment and
/// user 5's post stamped ahead of the clock wait for the reset; the clock
/// moves on; the record is let go. Neither user had a gain on `xp_daily`
/// before, so the reset wrote them no entry; after it, both have one. (Had
/// they read the clock when called, their times would be earlier than the
/// reset's, and the replay would clear their gains at the reset.)
#[test]
fn what_waits_for_a_reset_is_dated_after_it_and_replays_after_it() {
    let (entered_tx, entered) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let store = Gate {
        inner: MemoryStore::new(),
        entered: Mutex::new(entered_tx),
        release: Mutex::new(release_rx),
    };
    let called = start() - TimeDelta::hours(12);
    let reset_at = called + TimeDelta::seconds(30);
    let after_reset = reset_at + TimeDelta::nanoseconds(1);
    let clock = Arc::new(FakeClock::new(called));
    let engine = Engine::builder(Config::sparkle())
        .store(store)
        .clock(clock.clone())
        .build()
        .unwrap();
    within(30, "wait for a reset", move || {
        std::thread::scope(|s| {
            let held = s.spawn(|| {
                let a = Activity::new(Gate::HOLD, UserId(1), "post_created", called);
                engine.record(a).unwrap();
            });
            entered.recv().unwrap();
            let reset = s.spawn(|| engine.reset_board("xp_daily").unwrap());
            std::thread::sleep(Duration::from_millis(100));
            let adjusted = s.spawn(|| engine.adjust(UserId(2), Currency::Xp, 40, "bonus").unwrap());
            let ahead = Activity::new(
                "ahead",
                UserId(5),
                "post_created",
                called + TimeDelta::minutes(2),
            );
            let posted = s.spawn(|| engine.record(ahead).unwrap());
            std::thread::sleep(Duration::from_millis(100));
            clock.set(reset_at);
            release.send(()).unwrap();
            held.join().unwrap();
            assert!(reset.join().unwrap());
            assert_eq!(adjusted.join().unwrap().at, after_reset);
            posted.join().unwrap();
        });
        let store = engine.store();
        let noted = store.activities(UserId(5)).unwrap()[0].recorded_at;
        assert_eq!(noted, Some(after_reset));
        for user in [UserId(2), UserId(5)] {
            let state = store.load(user).unwrap().unwrap();
            assert!(state.windows.contains_key("xp_daily"), "{user}");
        }
        let report = engine.replay_dry_run().unwrap();
        assert!(report.changes.is_empty(), "{:?}", report.changes);
    });
}

/// Every lock-taking path at once, for deadlocks: three threads recording
/// pipelined batches (every shard held) and one recording one by one, over
/// the same users; one resetting boards and replaying (every order lock);
/// one adjusting and reading stats and boards. Then the invariants.
fn lock_round(round: u64) {
    let mut rng = Rng::new(round ^ 0x10c6);
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let clock = Arc::new(FakeClock::new(start() + TimeDelta::seconds(150)));
    let engine = engine_on(&store, &clock);
    let ids = activities(round, 120, &mut rng);
    let all = deliveries(&ids, &mut rng);
    let parts: Vec<Vec<Activity>> = (0..4)
        .map(|_| {
            let mut part = all.clone();
            rng.shuffle(&mut part);
            part
        })
        .collect();
    let log = Arc::new(Log::default());
    within(30, &format!("lock round {round}"), {
        let (engine, log) = (engine.clone(), log.clone());
        move || {
            let done = AtomicBool::new(false);
            std::thread::scope(|s| {
                let workers: Vec<_> = parts
                    .iter()
                    .enumerate()
                    .map(|(i, part)| {
                        let (engine, log) = (&engine, &log);
                        s.spawn(move || {
                            if i == 0 {
                                for a in part {
                                    log.record(a, engine.record(a.clone()));
                                }
                                return;
                            }
                            for chunk in part.chunks(32 + i) {
                                let results = engine.record_batch(chunk).unwrap();
                                for (a, r) in chunk.iter().zip(results) {
                                    log.record(a, r);
                                }
                            }
                        })
                    })
                    .collect();
                let (engine, log, done) = (&engine, &log, &done);
                let resetter = s.spawn(move || {
                    while !done.load(Ordering::Relaxed) {
                        assert!(engine.reset_board("xp_daily").unwrap());
                        engine.replay().unwrap();
                    }
                });
                let admin = s.spawn(move || {
                    let mut user = 0;
                    while !done.load(Ordering::Relaxed) {
                        user = user % USERS + 1;
                        let outcome = engine.adjust(UserId(user), Currency::Points, 3, "tip");
                        log.admin.lock().unwrap().push(outcome.unwrap());
                        let _ = engine.stats(UserId(user)).unwrap();
                        let top = engine.board("posts_weekly").unwrap().top(3);
                        std::hint::black_box(top);
                    }
                });
                for w in workers {
                    w.join().unwrap();
                }
                done.store(true, Ordering::Relaxed);
                resetter.join().unwrap();
                admin.join().unwrap();
            });
        }
    });
    check(
        &engine,
        &store,
        &clock,
        &log,
        &format!("lock round {round}"),
    );
}

#[test]
fn every_lock_path_at_once_does_not_deadlock() {
    let rounds = rounds(60);
    for round in 0..rounds {
        lock_round(round);
    }
}

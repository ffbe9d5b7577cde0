//! Boards and states stay what the history says, whatever path a change
//! took: a board rebuilt from stored states (a restart) equals the live
//! one, and a replay under the same configuration changes nothing — for
//! revocations, grants, adjustments, saturated counters and ordinal ties.
//! (Cases found by review; each failed before its fix.)

mod common;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use gamify::activity::{Activity, UserId};
use gamify::config::Config;
use gamify::engine::Engine;
use gamify::leaderboard::{BoardSpec, BoardWindow, RankPolicy, ScoreMode, Source};
use gamify::ledger::Currency;
use gamify::outcome::Event;
use gamify::store::Store;
use gamify::time::FakeClock;

use common::{engine_on, memory_store, t0};

fn ordinal(id: &str, source: Source) -> Config {
    let mut config = Config::sparkle();
    let mut spec = BoardSpec::new(id, source, BoardWindow::AllTime);
    spec.policy = RankPolicy::Ordinal;
    config.boards = vec![spec];
    config
}

fn order(engine: &Engine, board: &str) -> Vec<(u64, u64, u64)> {
    engine
        .board(board)
        .unwrap()
        .top(10)
        .iter()
        .map(|s| (s.user.0, s.score, s.rank))
        .collect()
}

fn setup(config: &Config) -> (Engine, Arc<dyn Store>, Arc<FakeClock>) {
    let store = memory_store();
    let clock = Arc::new(FakeClock::new(t0()));
    let engine = engine_on(config.clone(), &store, &clock);
    (engine, store, clock)
}

/// Asserts that a restart (the board rebuilt from the stored states)
/// orders `board` as `engine`, stopped first, had it live.
fn assert_restart_orders_as_live(
    engine: Engine,
    board: &str,
    config: &Config,
    store: &Arc<dyn Store>,
    clock: &Arc<FakeClock>,
) {
    let live = order(&engine, board);
    drop(engine);
    let rebuilt = order(&engine_on(config.clone(), store, clock), board);
    assert_eq!(live, rebuilt);
}

fn at(clock: &FakeClock, minutes: i64) -> DateTime<Utc> {
    let t = t0() + TimeDelta::minutes(minutes);
    clock.set(t);
    t
}

#[test]
fn revoke_on_ordinal_board_live_vs_rebuilt() {
    let config = ordinal("ach", Source::AchievementScore);
    let (engine, store, clock) = setup(&config);
    at(&clock, 1);
    engine.grant(UserId(1), "ach_viral_sensation").unwrap();
    at(&clock, 2);
    engine.grant(UserId(1), "ach_trending_master").unwrap();
    at(&clock, 3);
    engine.grant(UserId(2), "ach_viral_sensation").unwrap();
    at(&clock, 4);
    engine.revoke(UserId(1), "ach_trending_master").unwrap();
    assert_restart_orders_as_live(engine, "ach", &config, &store, &clock);
}

#[test]
fn zero_metric_increment_on_ordinal_board_live_vs_rebuilt() {
    let config = ordinal("posts", Source::Metric("posts".into()));
    let (engine, store, clock) = setup(&config);
    let t = at(&clock, 1);
    engine
        .record(Activity::new("a", UserId(1), "post_created", t).with_metric("posts", u64::MAX))
        .unwrap();
    let t = at(&clock, 2);
    engine
        .record(Activity::new("b", UserId(2), "post_created", t).with_metric("posts", u64::MAX))
        .unwrap();
    let t = at(&clock, 3);
    engine
        .record(Activity::new("c", UserId(1), "post_created", t))
        .unwrap();
    assert_restart_orders_as_live(engine, "posts", &config, &store, &clock);
}

/// The history both grant-replay tests replay: users 1 and 2 granted the
/// viral achievement in that order, then each posting, user 2 first, so
/// the two tie on XP and who reached the tie first changes.
fn grants_then_posts(engine: &Engine, clock: &FakeClock) {
    at(clock, 1);
    engine.grant(UserId(1), "ach_viral_sensation").unwrap();
    at(clock, 2);
    engine.grant(UserId(2), "ach_viral_sensation").unwrap();
    let t = at(clock, 3);
    engine
        .record(Activity::new("b", UserId(2), "post_created", t))
        .unwrap();
    let t = at(clock, 4);
    engine
        .record(Activity::new("a", UserId(1), "post_created", t))
        .unwrap();
}

#[test]
fn replay_grant_overwrites_reached_with_an_earlier_time() {
    let config = ordinal("xp", Source::Xp);
    let (engine, _store, clock) = setup(&config);
    grants_then_posts(&engine, &clock);
    let live = order(&engine, "xp");
    let report = engine.replay_dry_run().unwrap();
    engine.replay().unwrap();
    let replayed = order(&engine, "xp");
    assert!(
        report.changes.is_empty(),
        "spurious changes: {:?}",
        report.changes
    );
    assert_eq!(live, replayed);
}

#[test]
fn replay_pays_a_revoked_achievement_met_by_a_silent_activity() {
    let config = Config::sparkle();
    let (engine, _store, clock) = setup(&config);
    let t = at(&clock, 1);
    engine
        .record(Activity::new("l1", UserId(1), "daily_login", t))
        .unwrap();
    at(&clock, 2);
    engine.revoke(UserId(1), "ach_viral_sensation").unwrap();
    let t = at(&clock, 3);
    let out = engine
        .record(Activity::new("l2", UserId(1), "daily_login", t).with_attribute("reactions", 1500))
        .unwrap();
    assert_met_but_barred(&out.outcome.events, "ach_viral_sensation");
    let t = at(&clock, 4);
    engine
        .record(Activity::new("p", UserId(1), "post_created", t))
        .unwrap();
    let report = engine.replay_dry_run().unwrap();
    assert!(report.changes.is_empty(), "{:?}", report.changes);
}

/// `events` report `id` met (its progress complete) but not unlocked: a
/// revoked achievement stays revoked.
fn assert_met_but_barred(events: &[Event], id: &str) {
    let unlocked = events
        .iter()
        .any(|e| matches!(e, Event::AchievementUnlocked(u) if u.id == id));
    assert!(!unlocked, "{id} unlocked again: {events:?}");
    let met = events.iter().any(|e| match e {
        Event::AchievementProgress { progress } => progress
            .iter()
            .any(|p| &*p.id == id && p.current >= p.target && !p.unlocked),
        _ => false,
    });
    assert!(met, "{id} not reported met: {events:?}");
}

/// Grants, then posts: a replay under the same configuration leaves every
/// state as it was and the ordinal board in its live order.
#[test]
fn a_replay_after_grants_changes_no_state_and_keeps_the_order() {
    let config = ordinal("xp", Source::Xp);
    let (engine, store, clock) = setup(&config);
    grants_then_posts(&engine, &clock);
    let live = order(&engine, "xp");
    let before: Vec<_> = [1, 2]
        .map(|u| store.load(UserId(u)).unwrap().unwrap())
        .into();
    at(&clock, 10);
    engine.replay().unwrap();
    let after: Vec<_> = [1, 2]
        .map(|u| store.load(UserId(u)).unwrap().unwrap())
        .into();
    // Under the same configuration a replay changes no state, `reached`
    // (the instants ordinal ties are broken by) included.
    assert_eq!(before, after);
    let replayed = order(&engine, "xp");
    assert_eq!(live, replayed);
}

#[test]
fn replay_pays_a_barred_level_achievement_reached_by_an_adjustment() {
    let config = Config::sparkle();
    let (engine, _store, clock) = setup(&config);
    let t = at(&clock, 1);
    engine
        .record(Activity::new("p", UserId(1), "post_created", t))
        .unwrap();
    at(&clock, 2);
    engine.revoke(UserId(1), "ach_level_10").unwrap();
    at(&clock, 3);
    let out = engine
        .adjust(UserId(1), Currency::Xp, 5000, "bonus")
        .unwrap();
    assert_met_but_barred(&out.events, "ach_level_10");
    let report = engine.replay_dry_run().unwrap();
    assert!(report.changes.is_empty(), "{:?}", report.changes);
}

#[test]
fn replay_adjustment_overwrites_reached() {
    let config = ordinal("pts", Source::Points);
    let (engine, _store, clock) = setup(&config);
    at(&clock, 1);
    engine
        .adjust(UserId(1), Currency::Points, 100, "n")
        .unwrap();
    at(&clock, 2);
    engine.grant(UserId(1), "ach_viral_sensation").unwrap();
    let report = engine.replay_dry_run().unwrap();
    assert!(report.changes.is_empty(), "spurious: {:?}", report.changes);
}

#[test]
fn replay_forgets_a_grant_that_was_later_revoked() {
    let config = Config::sparkle();
    let (engine, _store, clock) = setup(&config);
    let t = at(&clock, 1);
    engine
        .record(Activity::new("p", UserId(1), "post_created", t))
        .unwrap();
    at(&clock, 2);
    engine.grant(UserId(1), "ach_trending_master").unwrap();
    at(&clock, 3);
    engine.revoke(UserId(1), "ach_trending_master").unwrap();
    let report = engine.replay_dry_run().unwrap();
    assert!(report.changes.is_empty(), "{:?}", report.changes);
}

#[test]
fn revoke_on_windowed_replace_board_live_vs_rebuilt() {
    let mut config = Config::sparkle();
    let mut spec = BoardSpec::new("ach_day", Source::AchievementScore, BoardWindow::Day);
    spec.mode = ScoreMode::Replace;
    config.boards = vec![spec];
    let (engine, store, clock) = setup(&config);
    at(&clock, 1);
    engine.grant(UserId(1), "ach_viral_sensation").unwrap();
    engine.grant(UserId(1), "ach_trending_master").unwrap();
    at(&clock, 2);
    engine.revoke(UserId(1), "ach_trending_master").unwrap();
    assert_restart_orders_as_live(engine, "ach_day", &config, &store, &clock);
}

/// A small deterministic generator: the same histories on every run.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn fuzz_boards(with_modes: bool) -> Vec<BoardSpec> {
    let mut out = vec![];
    let sources = [
        ("xp", Source::Xp),
        ("pts", Source::Points),
        ("posts", Source::Metric("posts".into())),
        ("ach", Source::AchievementScore),
    ];
    let modes: &[ScoreMode] = if with_modes {
        &[
            ScoreMode::Increment,
            ScoreMode::Replace,
            ScoreMode::KeepBest,
        ]
    } else {
        &[ScoreMode::Increment]
    };
    for (id, src) in &sources {
        for (w, window) in [("all", BoardWindow::AllTime), ("day", BoardWindow::Day)] {
            for mode in modes {
                let mut spec = BoardSpec::new(format!("{id}_{w}_{mode:?}"), src.clone(), window);
                spec.policy = RankPolicy::Ordinal;
                spec.mode = *mode;
                out.push(spec);
            }
        }
    }
    out
}

fn snapshot(engine: &Engine, ids: &[gamify::Name]) -> Vec<(gamify::Name, Vec<(u64, u64)>)> {
    ids.iter()
        .map(|id| {
            let b = engine.board(id).unwrap();
            (
                id.clone(),
                b.top(100).iter().map(|s| (s.user.0, s.score)).collect(),
            )
        })
        .collect()
}

/// One random history of activities and admin operations on ordinal
/// boards (every source; increment, replace and keep-best; all-time and daily),
/// checking after every step that a restart rebuilds the live boards
/// exactly. Returns the first difference. Not covered, as documented:
/// activities arriving out of order (live ties follow arrival, rebuilt ones
/// the activities' times).
fn run(seed: u64, with_modes: bool, admin: bool) -> Option<String> {
    let mut config = Config::sparkle();
    config.boards = fuzz_boards(with_modes);
    let ids: Vec<gamify::Name> = config.boards.iter().map(|b| b.id.clone()).collect();
    let (engine, store, clock) = setup(&config);
    let mut rng = Lcg(seed);
    let mut now = t0();
    let kinds = [
        "post_created",
        "comment_created",
        "reaction_given",
        "daily_login",
        "follow_received",
    ];
    let achs = [
        "ach_first_post",
        "ach_viral_sensation",
        "ach_trending_master",
    ];
    for step in 0..60 {
        now += TimeDelta::minutes(1 + rng.next(240) as i64);
        clock.set(now);
        let user = UserId(1 + rng.next(3));
        let op = rng.next(10);
        let what;
        if op < 7 || !admin {
            let kind = kinds[rng.next(kinds.len() as u64) as usize];
            what = format!("record {user:?} {kind}");
            let _ = engine.record(Activity::new(format!("a{step}"), user, kind, now));
        } else if op == 9 {
            let id = ids[rng.next(ids.len() as u64) as usize].clone();
            what = format!("reset {id}");
            let _ = engine.reset_board(&id);
        } else if op == 7 {
            let amount = rng.next(200) as i64 - 100;
            let cur = if rng.next(2) == 0 {
                Currency::Xp
            } else {
                Currency::Points
            };
            what = format!("adjust {user:?} {cur:?} {amount}");
            let _ = engine.adjust(user, cur, amount, "n");
        } else {
            let a = achs[rng.next(3) as usize];
            what = format!("grant {user:?} {a}");
            let _ = engine.grant(user, a);
        }
        let live = snapshot(&engine, &ids);
        let rebuilt = snapshot(&engine_on(config.clone(), &store, &clock), &ids);
        for ((id, l), (_, r)) in live.iter().zip(&rebuilt) {
            if l != r {
                let mut ls = l.clone();
                ls.sort();
                let mut rs = r.clone();
                rs.sort();
                let kind = if ls == rs { "ORDER" } else { "SCORES" };
                return Some(format!(
                    "seed {seed} step {step} ({what}) {kind} {id}: live {l:?} rebuilt {r:?}"
                ));
            }
        }
    }
    None
}

#[test]
fn random_histories_rebuild_to_the_live_boards() {
    let fails: Vec<String> = (0..60)
        .flat_map(|seed| [run(seed, false, false), run(seed, true, true)])
        .flatten()
        .collect();
    assert!(
        fails.is_empty(),
        "{} failing: {:?}",
        fails.len(),
        &fails[..fails.len().min(4)]
    );
}

//! Replay against a model: any history of several users, made under one
//! configuration and replayed under another, gives the states, ledgers and
//! boards that making the same history under the other gives; replayed
//! under its own, it changes nothing. Both configurations are random
//! variations of the sparkle preset.
//!
//! The generator stays clear of what the replay documents it cannot tell:
//!
//! - a late activity is never dated at or before an admin operation made on
//!   its user before it was recorded: one that paid nothing has no place in
//!   the ledger and is walked before it (a board reset, kept by the store,
//!   is placed by the time the engine notes with such an activity);
//! - a case is compared under the other configuration only when every
//!   adjustment and board reset succeeded or failed alike both ways (a
//!   removal below zero is refused live but takes what there is in a
//!   replay; a board one configuration lacks is not reset there, so the
//!   histories differ).
//!
//! Live boards are compared with rebuilt ones by score alone on ordinal
//! boards, whose live ties follow arrival order and rebuilt ones the
//! activities' times (documented on `RankPolicy::Ordinal`); boards rebuilt
//! from equal states are compared whole.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use gamify::activity::{Activity, UserId};
use gamify::config::Config;
use gamify::engine::Engine;
use gamify::ledger::{Currency, Reason, balance};
use gamify::state::UserState;
use gamify::store::{MemoryStore, Store};
use gamify::time::{FakeClock, Tz};
use proptest::prelude::*;
use serde_json::{Value, json};

const USERS: u64 = 3;

/// One step of the history, made at the clock's time.
#[derive(Debug, Clone)]
enum Op {
    /// Move the clock forward.
    Wait(TimeDelta),
    /// Record an activity of `kind` for `user`, dated `late` before now
    /// (never before the user's last admin operation; a negative `late`
    /// stamps it ahead of now, within the tolerance for clock skew), with
    /// an optional metric increment and attribute.
    Record {
        user: u64,
        kind: &'static str,
        late: TimeDelta,
        metric: Option<(&'static str, u64)>,
        attribute: Option<(&'static str, i64)>,
    },
    /// Deliver the last recorded activity again.
    Repeat,
    /// Record activities of these users and kinds now, as one batch.
    Batch(Vec<(u64, &'static str)>),
    Adjust(u64, Currency, i64),
    Grant(u64, &'static str),
    Revoke(u64, &'static str),
    Zone(u64, Tz),
    Reset(&'static str),
}

const KINDS: [&str; 9] = [
    "post_created",
    "daily_login",
    "follow_received",
    "follow_given",
    "comment_created",
    "reaction_given",
    "reaction_received",
    "post_viral",
    "post_trending",
];
const ACHIEVEMENTS: [&str; 6] = [
    "ach_early_adopter",
    "ach_bug_hunter",
    "ach_level_10",
    "ach_first_post",
    "ach_first_follower",
    "ach_viral_sensation",
];
const ZONES: [Tz; 4] = [
    Tz::Asia__Kolkata,
    Tz::America__Santiago,
    Tz::Europe__London,
    Tz::UTC,
];
const BOARDS: [&str; 6] = [
    "xp_daily",
    "xp_weekly",
    "posts_daily",
    "achievements_monthly",
    "points_daily",
    "reactions_weekly",
];

fn op() -> impl Strategy<Value = Op> {
    let record = (
        0..USERS,
        0..KINDS.len(),
        prop_oneof![
            3 => Just(TimeDelta::zero()),
            1 => (0..3_000i64).prop_map(TimeDelta::minutes),
            1 => (1..=300i64).prop_map(|ahead| TimeDelta::seconds(-ahead)),
        ],
        prop::option::weighted(
            0.2,
            (
                prop::sample::select(&["reactions_received", "reactions_given", "posts"][..]),
                0..50u64,
            ),
        ),
        prop::option::weighted(
            0.2,
            (
                prop::sample::select(&["reactions", "trending_posts"][..]),
                prop_oneof![0..5i64, 900..1_100i64],
            ),
        ),
    )
        .prop_map(|(user, kind, late, metric, attribute)| Op::Record {
            user,
            kind: KINDS[kind],
            late,
            metric,
            attribute,
        });
    prop_oneof![
        6 => record,
        1 => Just(Op::Repeat),
        1 => prop::collection::vec((0..USERS, prop::sample::select(&KINDS[..])), 1..4)
            .prop_map(Op::Batch),
        3 => prop_oneof![
            4 => (0..600i64).prop_map(TimeDelta::minutes),
            1 => (1..5_000i64).prop_map(TimeDelta::microseconds),
            1 => (1..4i64).prop_map(TimeDelta::days),
        ]
        .prop_map(Op::Wait),
        2 => (0..USERS, any::<bool>(), -300..3_000i64).prop_map(|(u, xp, amount)| Op::Adjust(
            u,
            if xp { Currency::Xp } else { Currency::Points },
            amount
        )),
        1 => (0..USERS, prop::sample::select(&ACHIEVEMENTS[..])).prop_map(|(u, a)| Op::Grant(u, a)),
        1 => (0..USERS, prop::sample::select(&ACHIEVEMENTS[..])).prop_map(|(u, a)| Op::Revoke(u, a)),
        1 => (0..USERS, prop::sample::select(&ZONES[..])).prop_map(|(u, z)| Op::Zone(u, z)),
        1 => prop::sample::select(&BOARDS[..]).prop_map(Op::Reset),
    ]
}

/// A variation of the sparkle preset.
#[derive(Debug, Clone)]
struct Variation {
    /// XP and points of some kinds.
    kinds: Vec<(&'static str, u64, u64)>,
    /// A limit on a kind: daily cap, weekly cap, cooldown, max per activity.
    limit: Option<(&'static str, u8, u64)>,
    /// A boost: multiplier (tenths), hours after the start it runs from, for.
    boost: Option<(u32, i64, i64)>,
    /// Achievement thresholds.
    thresholds: Vec<(&'static str, u64)>,
    /// The daily post quest's target and XP.
    quest: Option<(u64, u64)>,
    /// The streak's bonus per day, and whether it has freezes.
    streak: Option<(u64, bool)>,
    level_up_bonus: Option<u64>,
    /// Boards (by index in the preset) left out.
    removed: Vec<usize>,
    /// Boards added (of [`extra_boards`]).
    added: Vec<usize>,
}

fn variation() -> impl Strategy<Value = Variation> {
    let kind = (
        prop::sample::select(&KINDS[..]),
        prop::sample::select(&[0u64, 5, 50, 120][..]),
        prop::sample::select(&[0u64, 0, 3][..]),
    );
    let threshold = prop_oneof![
        (1..4u64).prop_map(|n| ("ach_first_post", n)),
        (1..4u64).prop_map(|n| ("ach_first_follower", n)),
        (2..12u64).prop_map(|n| ("ach_level_10", n)),
        (1..1_000u64).prop_map(|n| ("ach_viral_sensation", n)),
    ];
    (
        prop::collection::vec(kind, 0..3),
        prop::option::of((prop::sample::select(&KINDS[..]), 0..4u8, 1..200u64)),
        prop::option::of((5..40u32, 0..72i64, 1..48i64)),
        prop::collection::vec(threshold, 0..3),
        prop::option::of((1..3u64, 0..60u64)),
        prop::option::of((0..20u64, any::<bool>())),
        prop::option::of(0..200u64),
        prop::collection::vec(0..16usize, 0..3),
        prop::collection::vec(0..EXTRA_BOARDS, 0..3),
    )
        .prop_map(
            |(kinds, limit, boost, thresholds, quest, streak, level_up_bonus, removed, added)| {
                Variation {
                    kinds,
                    limit,
                    boost,
                    thresholds,
                    quest,
                    streak,
                    level_up_bonus,
                    removed,
                    added,
                }
            },
        )
}

const EXTRA_BOARDS: usize = 5;

/// Boards the preset does not have: other sources, zones, modes and
/// policies.
fn extra_boards() -> [Value; EXTRA_BOARDS] {
    let board = |id: &str, source: Value, window: Value, tz: &str, policy: &str, mode: &str| {
        json!({
            "id": id, "source": source, "window": window, "time_zone": tz,
            "policy": policy, "mode": mode, "min": null, "max": null,
            "keep_previous": 3,
        })
    };
    [
        board(
            "points_daily",
            json!("points"),
            json!("day"),
            "Asia/Kolkata",
            "dense",
            "increment",
        ),
        board(
            "reactions_weekly",
            json!({"metric": "reactions_received"}),
            json!({"week": {"starts_on": "Sun"}}),
            "America/Santiago",
            "ordinal",
            "increment",
        ),
        board(
            "xp_best_monthly",
            json!("xp"),
            json!("month"),
            "Europe/London",
            "competition",
            "keep_best",
        ),
        board(
            "points_all_time_ordinal",
            json!("points"),
            json!("all_time"),
            "UTC",
            "ordinal",
            "increment",
        ),
        board(
            "score_daily_replace",
            json!("achievement_score"),
            json!("day"),
            "UTC",
            "competition",
            "replace",
        ),
    ]
}

fn config(v: &Variation) -> Config {
    let mut c = serde_json::to_value(Config::sparkle()).unwrap();
    for (kind, xp, points) in &v.kinds {
        c["xp"]["kinds"][kind]["xp"] = json!(xp);
        c["xp"]["kinds"][kind]["points"] = json!(points);
    }
    if let Some((kind, which, n)) = v.limit {
        let field = [
            "daily_cap",
            "weekly_cap",
            "cooldown_secs",
            "max_per_activity",
        ][usize::from(which)];
        c["xp"]["kinds"][kind][field] = json!(n * if which == 2 { 60 } else { 1 });
    }
    if let Some((tenths, from, hours)) = v.boost {
        let starts = start() + TimeDelta::hours(from);
        c["xp"]["boosts"] = json!([{
            "name": "boost",
            "multiplier": f64::from(tenths) / 10.0,
            "starts": starts.to_rfc3339(),
            "ends": (starts + TimeDelta::hours(hours)).to_rfc3339(),
            "kinds": ["post_created", "comment_created", "follow_received"],
        }]);
    }
    for (id, at_least) in &v.thresholds {
        let list = c["achievements"]["achievements"].as_array_mut().unwrap();
        let entry = list.iter_mut().find(|a| a["id"] == *id).unwrap();
        entry["criterion"]["at_least"] = json!(at_least);
    }
    if let Some((target, xp)) = v.quest {
        let quests = c["quests"].as_array_mut().unwrap();
        let quest = quests.iter_mut().find(|q| q["id"] == "daily_post").unwrap();
        quest["target"] = json!(target);
        quest["xp"] = json!(xp);
    }
    if let Some((bonus, freeze)) = v.streak {
        c["streak"]["bonus_per_day"] = json!(bonus);
        if !freeze {
            c["streak"]["freeze"] = Value::Null;
        }
    }
    if let Some(bonus) = v.level_up_bonus {
        c["xp"]["level_up_bonus"] = json!(bonus);
    }
    let boards = c["boards"].as_array_mut().unwrap();
    let mut kept: Vec<Value> = boards
        .iter()
        .enumerate()
        .filter(|(i, _)| !v.removed.contains(i))
        .map(|(_, b)| b.clone())
        .collect();
    let extra = extra_boards();
    for &i in &v.added {
        if !kept.iter().any(|b| b["id"] == extra[i]["id"]) {
            kept.push(extra[i].clone());
        }
    }
    *boards = kept;
    Config::from_json_value(c).unwrap()
}

thread_local! {
    /// Which of [`STARTS`] the case runs from.
    static START: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Where histories start: Saturday evenings before a clock change (and
/// near a week's, often a month's, end), in UTC.
const STARTS: [(i32, u32, u32, u32); 4] = [
    // Europe leaves summer time on the 25th; October ends.
    (2026, 10, 24, 20),
    // Santiago leaves summer time at midnight between the 4th and 5th.
    (2026, 4, 4, 22),
    // Santiago enters summer time on the 6th.
    (2026, 9, 5, 22),
    // Europe enters summer time on the 29th; March ends.
    (2026, 3, 28, 21),
];

fn start() -> DateTime<Utc> {
    let (y, m, d, h) = STARTS[START.get()];
    Utc.with_ymd_and_hms(y, m, d, h, 30, 0).unwrap()
}

/// What making a history left: the store, the engine that made it, and
/// which admin operations succeeded.
struct Made {
    engine: Engine,
    store: Arc<dyn Store>,
    succeeded: Vec<bool>,
}

fn make(config: Config, store: Arc<dyn Store>, history: &[Op]) -> Made {
    make_switching(config, store, history, None)
}

/// [`make`], switching at op `switch.0` to configuration `switch.1`: a new
/// engine on the same store replays the history so far, and makes the
/// rest.
fn make_switching(
    config: Config,
    store: Arc<dyn Store>,
    history: &[Op],
    switch: Option<(usize, &Config)>,
) -> Made {
    let clock = Arc::new(FakeClock::new(start()));
    let mut engine = Engine::builder(config)
        .shared_store(store.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let mut succeeded = Vec::new();
    let mut last: Option<Activity> = None;
    // The time of each user's last admin operation: a late activity is
    // dated after it.
    let mut admin_at: BTreeMap<u64, DateTime<Utc>> = BTreeMap::new();
    for (i, op) in history.iter().enumerate() {
        if let Some((at, config)) = switch
            && at == i
        {
            engine = Engine::builder(config.clone())
                .shared_store(store.clone())
                .clock(clock.clone())
                .build()
                .unwrap();
            engine.replay().unwrap();
        }
        let now = engine.now();
        let ok = match op {
            Op::Wait(by) => {
                clock.advance(*by);
                continue;
            }
            Op::Record {
                user,
                kind,
                late,
                metric,
                attribute,
            } => {
                let earliest = admin_at
                    .get(user)
                    .map_or(start(), |at| *at + TimeDelta::seconds(1));
                let at = (now - *late).max(earliest);
                let mut a = Activity::new(format!("a{i}"), UserId(*user), *kind, at);
                if let Some((m, by)) = metric {
                    a = a.with_metric(*m, *by);
                }
                if let Some((name, value)) = attribute {
                    a = a.with_attribute(*name, *value);
                }
                last = Some(a.clone());
                let _ = engine.record(a);
                continue;
            }
            Op::Repeat => {
                if let Some(a) = &last {
                    let _ = engine.record(a.clone());
                }
                continue;
            }
            Op::Batch(records) => {
                let batch: Vec<Activity> = records
                    .iter()
                    .enumerate()
                    .map(|(j, (user, kind))| {
                        Activity::new(format!("a{i}.{j}"), UserId(*user), *kind, now)
                    })
                    .collect();
                engine.record_batch(&batch).unwrap();
                continue;
            }
            Op::Adjust(user, currency, amount) => engine
                .adjust(UserId(*user), *currency, *amount, "op")
                .is_ok(),
            Op::Grant(user, id) => engine.grant(UserId(*user), id).is_ok(),
            Op::Revoke(user, id) => engine.revoke(UserId(*user), id).is_ok(),
            Op::Zone(user, tz) => engine.set_time_zone(UserId(*user), *tz).is_ok(),
            Op::Reset(board) => engine.reset_board(board).is_ok(),
        };
        match op {
            Op::Adjust(user, ..) | Op::Grant(user, _) | Op::Revoke(user, _) | Op::Zone(user, _) => {
                admin_at.insert(*user, now);
            }
            _ => {}
        }
        succeeded.push(ok || !matches!(op, Op::Adjust(..) | Op::Reset(_)));
        // The operation has its instant to itself (see the module doc).
        clock.advance(TimeDelta::seconds(1));
    }
    Made {
        engine,
        store,
        succeeded,
    }
}

fn states(store: &dyn Store) -> BTreeMap<UserId, UserState> {
    store
        .users()
        .unwrap()
        .into_iter()
        .filter_map(|u| Some((u, store.load(u).unwrap()?)))
        .collect()
}

/// The board resets each user's ledger records, and when.
fn resets(store: &dyn Store) -> BTreeMap<UserId, Vec<(String, DateTime<Utc>)>> {
    store
        .users()
        .unwrap()
        .into_iter()
        .map(|u| {
            let resets = store
                .ledger(u, 0, usize::MAX)
                .unwrap()
                .into_iter()
                .filter_map(|e| match e.reason {
                    Reason::BoardReset { board } => Some((board, e.at)),
                    _ => None,
                })
                .collect();
            (u, resets)
        })
        .collect()
}

fn check_ledgers(store: &dyn Store) -> Result<(), TestCaseError> {
    for (user, s) in states(store) {
        let ledger = store.ledger(user, 0, usize::MAX).unwrap();
        prop_assert_eq!(balance(&ledger, Currency::Xp), i128::from(s.xp), "{}", user);
        prop_assert_eq!(
            balance(&ledger, Currency::Points),
            i128::from(s.points),
            "{}",
            user
        );
    }
    Ok(())
}

/// Every user's standing (rank and score) on every board.
type Standings = BTreeMap<String, Vec<Option<(u64, u64)>>>;

fn standings(engine: &Engine) -> Standings {
    engine
        .board_ids()
        .into_iter()
        .map(|id| {
            let board = engine.board(&id).unwrap();
            let ranks = (0..USERS)
                .map(|u| board.rank_of(UserId(u)).map(|s| (s.rank, s.score)))
                .collect();
            (id.to_string(), ranks)
        })
        .collect()
}

/// A new engine on `store` at the clock's time, its boards rebuilt.
fn restart(config: &Config, store: &Arc<dyn Store>, now: DateTime<Utc>) -> Engine {
    Engine::builder(config.clone())
        .shared_store(store.clone())
        .clock(FakeClock::new(now))
        .build()
        .unwrap()
}

/// Ordinal boards give ties to who reached the score first: live, who got
/// there first by the clock; rebuilt, by the states' times (an activity's
/// own time). They are compared by score only.
fn scores_on_ordinal_boards_only(config: &Config, mut s: Standings) -> Standings {
    for board in &config.boards {
        if board.policy == gamify::leaderboard::RankPolicy::Ordinal
            && std::env::var("ORD").is_err()
            && let Some(ranks) = s.get_mut(board.id.as_str())
        {
            for r in ranks.iter_mut().flatten() {
                r.0 = 0;
            }
        }
    }
    s
}

fn check(
    old: &Config,
    new: &Config,
    history: &[Op],
    switch: prop::sample::Index,
    store: impl Fn() -> Arc<dyn Store>,
) -> Result<(), TestCaseError> {
    // Under its own configuration: nothing changes, boards included.
    let made = make(old.clone(), store(), history);
    let before = states(&*made.store);
    let live = standings(&made.engine);
    let now = made.engine.now();
    let restarted = standings(&restart(old, &made.store, now));
    prop_assert_eq!(
        scores_on_ordinal_boards_only(old, restarted),
        scores_on_ordinal_boards_only(old, live.clone()),
        "a restart rebuilds the boards the history built"
    );
    let dry = made.engine.replay_dry_run().unwrap();
    prop_assert!(dry.changes.is_empty(), "dry run: {:?}", dry.changes);
    let report = made.engine.replay().unwrap();
    prop_assert!(report.changes.is_empty(), "replay: {:?}", report.changes);
    prop_assert_eq!(&states(&*made.store), &before);
    check_ledgers(&*made.store)?;
    prop_assert_eq!(
        scores_on_ordinal_boards_only(old, standings(&made.engine)),
        scores_on_ordinal_boards_only(old, live)
    );

    // Under another: what making the history there gives.
    let there = make(new.clone(), Arc::new(MemoryStore::new()), history);
    if there.succeeded != made.succeeded {
        return Ok(());
    }
    let replayer = restart(new, &made.store, there.engine.now());
    replayer.replay().unwrap();
    let expected = states(&*there.store);
    let got = states(&*made.store);
    prop_assert_eq!(got.len(), expected.len());
    for (user, state) in &expected {
        prop_assert_eq!(&got[user], state, "{}", user);
    }
    check_ledgers(&*made.store)?;
    let again = replayer.replay_dry_run().unwrap();
    prop_assert!(again.changes.is_empty(), "again: {:?}", again.changes);
    let live = scores_on_ordinal_boards_only(new, standings(&there.engine));
    prop_assert_eq!(
        scores_on_ordinal_boards_only(new, standings(&replayer)),
        live.clone()
    );
    let restarted = restart(new, &made.store, there.engine.now());
    prop_assert_eq!(
        scores_on_ordinal_boards_only(new, standings(&restarted)),
        live
    );
    // Rebuilt from equal states, boards are equal, ordinal ties included.
    prop_assert_eq!(
        standings(&restarted),
        standings(&restart(new, &there.store, there.engine.now()))
    );

    // Switched to the other configuration part way (replayed there, the
    // rest made there): what making it all there gives, and a replay
    // under the first gives back what making it all there gave.
    let switched = make_switching(
        old.clone(),
        store(),
        history,
        Some((switch.index(history.len()), new)),
    );
    if switched.succeeded != there.succeeded {
        return Ok(());
    }
    let dry = switched.engine.replay_dry_run().unwrap();
    prop_assert!(
        dry.changes.is_empty(),
        "after the switch: {:?}",
        dry.changes
    );
    prop_assert_eq!(states(&*switched.store), expected);
    restart(old, &switched.store, now).replay().unwrap();
    prop_assert_eq!(states(&*switched.store), before);
    check_ledgers(&*switched.store)?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any history of several users replays unchanged under its own
    /// configuration, and under another as if made there.
    #[test]
    fn any_history_replays_as_if_made_under_the_new_configuration(
        old in variation(),
        new in variation(),
        history in prop::collection::vec(op(), 1..50),
        from in 0..STARTS.len(),
        switch in any::<prop::sample::Index>(),
    ) {
        START.set(from);
        check(&config(&old), &config(&new), &history, switch, || Arc::new(MemoryStore::new()))?;
    }
}

#[cfg(feature = "sqlite")]
proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// `SqliteStore` replays as `MemoryStore` does.
    #[test]
    fn sqlite_replays_as_memory_does(
        old in variation(),
        new in variation(),
        history in prop::collection::vec(op(), 1..40),
        from in 0..STARTS.len(),
        switch in any::<prop::sample::Index>(),
    ) {
        START.set(from);
        static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!("gamify-replay-model-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let open = || -> Arc<dyn Store> {
            let n = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Arc::new(gamify::store::SqliteStore::open(dir.join(format!("{n}.db"))).unwrap())
        };
        check(&config(&old), &config(&new), &history, switch, open)?;
        // And the same store contents as memory after replaying.
        let (old, new) = (config(&old), config(&new));
        let replayed = |store: Arc<dyn Store>| {
            let made = make(old.clone(), store, &history);
            let now = made.engine.now();
            restart(&new, &made.store, now).replay().unwrap();
            let kept = made.store.board_resets().unwrap();
            (states(&*made.store), resets(&*made.store), kept)
        };
        let memory = replayed(Arc::new(MemoryStore::new()));
        let sqlite = replayed(open());
        let _ = std::fs::remove_dir_all(&dir);
        prop_assert_eq!(sqlite, memory);
    }
}

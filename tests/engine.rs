//! The engine's promises: exactly-once recording, refusals that change
//! nothing, ledger and balance in agreement, sinks that cannot hurt state,
//! stats, admin operations and replay.

mod common;
#[path = "../examples/sim/mod.rs"]
mod sim;

use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use gamify::activity::{Activity, UserId};
use gamify::config::Config;
use gamify::engine::{Engine, RecordError};
use gamify::ledger::{Currency, Reason};
use gamify::outcome::{Event, Outcome};
use gamify::sink::{ChannelSink, CollectingSink, EventSink, SinkError};
use gamify::step::StepError;
use gamify::time::{Clock, FakeClock, Tz};

use common::{assert_ledger_explains_balances, engine_at, engine_on, memory_store, t0};

#[test]
fn a_repeated_id_returns_the_first_outcome_and_changes_nothing() {
    let (engine, _) = engine_at(t0());
    let post = Activity::new("p1", UserId(1), "post_created", t0());
    let first = engine.record(post.clone()).unwrap();
    assert!(!first.duplicate);
    let state = engine.store().load(UserId(1)).unwrap();
    let ledger = engine.ledger(UserId(1), 0, 100).unwrap();
    for _ in 0..3 {
        let again = engine.record(post.clone()).unwrap();
        assert!(again.duplicate);
        assert_eq!(again.outcome, first.outcome);
    }
    assert_eq!(engine.store().load(UserId(1)).unwrap(), state);
    assert_eq!(engine.ledger(UserId(1), 0, 100).unwrap(), ledger);
}

#[test]
fn the_same_id_with_another_payload_is_a_conflict_that_changes_nothing() {
    let (engine, _) = engine_at(t0());
    engine
        .record(Activity::new("p1", UserId(1), "post_created", t0()))
        .unwrap();
    let state = engine.store().load(UserId(1)).unwrap();
    let other = Activity::new("p1", UserId(1), "comment_created", t0());
    assert!(matches!(engine.record(other), Err(RecordError::Conflict(id)) if id.0 == "p1"));
    let other_user = Activity::new("p1", UserId(2), "post_created", t0());
    assert!(matches!(
        engine.record(other_user),
        Err(RecordError::Conflict(_))
    ));
    assert_eq!(engine.store().load(UserId(1)).unwrap(), state);
    assert_eq!(engine.store().load(UserId(2)).unwrap(), None);
}

#[test]
fn a_refused_activity_changes_nothing_and_its_id_stays_free() {
    let (engine, _) = engine_at(t0());
    engine
        .record(Activity::new("p1", UserId(1), "post_created", t0()))
        .unwrap();
    let state = engine.store().load(UserId(1)).unwrap();
    let unknown = Activity::new("x1", UserId(1), "no_such_kind", t0());
    assert!(matches!(
        engine.record(unknown),
        Err(RecordError::Refused(StepError::Award(_)))
    ));
    let future = Activity::new("f1", UserId(1), "post_created", t0() + TimeDelta::hours(1));
    assert!(matches!(
        engine.record(future),
        Err(RecordError::Refused(StepError::FromTheFuture { .. }))
    ));
    assert_eq!(engine.store().load(UserId(1)).unwrap(), state);
    // The refused id was not recorded: a corrected activity may use it.
    let fixed = Activity::new("x1", UserId(1), "comment_created", t0());
    assert!(!engine.record(fixed).unwrap().duplicate);
}

#[test]
fn events_come_in_the_documented_order() {
    let (engine, _) = engine_at(t0());
    let outcome = engine
        .record(Activity::new("p1", UserId(1), "post_created", t0()))
        .unwrap()
        .outcome;
    let rank = |e: &Event| match e {
        Event::XpAwarded { .. } => 0,
        Event::LevelUp { .. } => 1,
        Event::AchievementUnlocked(_) | Event::AchievementProgress { .. } => 2,
        Event::QuestCompleted(_) => 3,
        Event::Streak(_) => 4,
        Event::PointsEarned { .. } => 5,
        _ => 6,
    };
    let ranks: Vec<_> = outcome.events.iter().map(rank).collect();
    assert!(ranks.is_sorted(), "{:#?}", outcome.events);
    assert!(matches!(
        outcome.events[0],
        Event::XpAwarded { amount: 50, .. }
    ));
    // 50 XP for the post + 25 for the one-post quest + the first-post
    // achievement: level 2 at least, one LevelUp per level crossed.
    let levels: Vec<_> = outcome.levels_reached().collect();
    assert!(!levels.is_empty());
    assert_eq!(levels, (2..=*levels.last().unwrap()).collect::<Vec<_>>());
}

#[test]
fn seed_defect_2_level_up_bonus_is_in_the_ledger_and_the_balance() {
    let (engine, _) = engine_at(t0());
    let outcome = engine
        .record(Activity::new("p1", UserId(1), "post_created", t0()))
        .unwrap()
        .outcome;
    assert!(outcome.levels_reached().count() > 0);
    let ledger = engine.ledger(UserId(1), 0, 100).unwrap();
    assert!(
        ledger
            .iter()
            .any(|e| matches!(e.reason, Reason::LevelUp { .. }) && e.amount == 100)
    );
    assert_ledger_explains_balances(&engine);
}

/// A sink that always fails, and one that panics.
struct Failing;
impl EventSink for Failing {
    fn deliver(&self, _: &Outcome) -> Result<(), SinkError> {
        Err(SinkError("notification service down".into()))
    }
}
struct Panicking;
impl EventSink for Panicking {
    fn deliver(&self, _: &Outcome) -> Result<(), SinkError> {
        panic!("sink bug")
    }
}

/// What `EventSink` says reaches it: new activities, the per-user admin
/// operations and each user a replay changes; `reset_board`, nothing.
#[test]
fn sinks_get_activities_and_per_user_admin_outcomes_only() {
    let collecting = Arc::new(CollectingSink::new());
    let store = memory_store();
    let engine = Engine::builder(Config::sparkle())
        .shared_store(store.clone())
        .clock(FakeClock::new(t0()))
        .sink(collecting.clone())
        .build()
        .unwrap();
    engine
        .record(Activity::new("p1", UserId(1), "post_created", t0()))
        .unwrap();
    engine.grant(UserId(1), "ach_bug_hunter").unwrap();
    engine.revoke(UserId(1), "ach_bug_hunter").unwrap();
    engine
        .adjust(UserId(1), Currency::Points, 5, "gift")
        .unwrap();
    engine.set_time_zone(UserId(1), Tz::Europe__Berlin).unwrap();
    let delivered = collecting.take();
    assert_eq!(delivered.len(), 5);
    assert_eq!(delivered[0].activity.as_ref().unwrap().0, "p1");
    assert!(delivered[1..].iter().all(|o| o.activity.is_none()));

    assert!(engine.reset_board("xp_daily").unwrap());
    let unchanged = engine.replay().unwrap();
    assert!(unchanged.changes.is_empty());
    assert!(collecting.is_empty());

    // Under a configuration where posts pay more, the replay changes the
    // user, and the sink hears of it once.
    let mut richer = Config::sparkle();
    if let Some(rule) = richer.xp.kinds.get_mut("post_created") {
        rule.xp += 10;
    }
    let replaying = Arc::new(CollectingSink::new());
    let engine = Engine::builder(richer)
        .shared_store(store)
        .clock(FakeClock::new(t0()))
        .sink(replaying.clone())
        .build()
        .unwrap();
    let report = engine.replay().unwrap();
    assert_eq!(report.changes.len(), 1);
    let delivered = replaying.take();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].user, UserId(1));
}

#[test]
fn a_failing_sink_never_loses_or_corrupts_state() {
    let clock = Arc::new(FakeClock::new(t0()));
    let collecting = Arc::new(CollectingSink::new());
    let (channel, received) = ChannelSink::new();
    let engine = Engine::builder(Config::sparkle())
        .clock(clock)
        .sink(Failing)
        .sink(Panicking)
        .sink(collecting.clone())
        .sink(channel)
        .build()
        .unwrap();
    for i in 0..5 {
        let a = Activity::new(format!("c{i}"), UserId(1), "comment_created", t0());
        engine.record(a).unwrap();
    }
    // Duplicates are not delivered again.
    engine
        .record(Activity::new("c0", UserId(1), "comment_created", t0()))
        .unwrap();
    assert_eq!(engine.sink_failures(), 10);
    assert_eq!(collecting.len(), 5);
    let delivered: Vec<_> = received.try_iter().collect();
    assert_eq!(delivered.len(), 5);
    assert_eq!(delivered[0].activity.as_ref().unwrap().0, "c0");
    assert_eq!(
        engine
            .store()
            .load(UserId(1))
            .unwrap()
            .unwrap()
            .metrics
            .get("comments"),
        5
    );
    assert_ledger_explains_balances(&engine);
}

#[test]
fn a_simulated_month_keeps_every_ledger_equal_to_its_balance() {
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let (engine, clock) = engine_at(start);
    let mut rng = sim::Rng::new(7);
    let members = sim::members(150, &mut rng);
    for m in &members {
        engine.set_time_zone(m.user, m.tz).unwrap();
    }
    for day in 0..31 {
        let activities = sim::day_activities(&members, start, day, &mut rng);
        clock.set(start + TimeDelta::days(i64::from(day) + 2));
        for result in engine.record_batch(&activities).unwrap() {
            // Every outcome survives JSON, as sinks and stores carry it.
            let outcome = result.unwrap().outcome;
            let json = serde_json::to_string(&outcome).unwrap();
            assert_eq!(serde_json::from_str::<Outcome>(&json).unwrap(), outcome);
        }
    }
    assert_ledger_explains_balances(&engine);
    // Boards agree with the states they were built from.
    let xp_board = engine
        .config()
        .boards
        .iter()
        .find(|b| b.source == gamify::leaderboard::Source::Xp && b.window.period_kind().is_none())
        .unwrap()
        .id
        .clone();
    let board = engine.board(&xp_board).unwrap();
    for standing in board.top(20) {
        let state = engine.store().load(standing.user).unwrap().unwrap();
        assert_eq!(standing.score, state.xp);
    }
}

#[test]
fn stats_report_level_progress_streak_ranks_and_recent_ledger() {
    let (engine, clock) = engine_at(t0());
    engine.set_time_zone(UserId(1), Tz::Europe__Berlin).unwrap();
    for day in 0..3 {
        let at = t0() + TimeDelta::days(day);
        clock.set(at);
        engine
            .record(Activity::new(
                format!("l{day}"),
                UserId(1),
                "daily_login",
                at,
            ))
            .unwrap();
    }
    engine
        .record(Activity::new("p", UserId(2), "post_created", clock.now()))
        .unwrap();
    let stats = engine.stats(UserId(1)).unwrap().unwrap();
    assert_eq!(stats.streak.current, 3);
    assert_eq!(stats.streak.longest, 3);
    // Berlin's date of the last login (t0 is noon UTC, 14:00 there).
    let last = (t0() + TimeDelta::days(2)).date_naive();
    assert_eq!(stats.streak.last_day, Some(last));
    assert_eq!(stats.metrics.get("logins"), 3);
    assert_eq!(stats.progress.level, stats.level);
    assert!(!stats.recent.is_empty() && stats.recent.len() <= 10);
    assert!(stats.ranks.iter().any(|r| r.rank >= 1 && r.total >= 2));
    assert_eq!(engine.stats(UserId(99)).unwrap(), None);
    let grid = engine.achievement_progress(UserId(1)).unwrap();
    assert_eq!(grid.len(), engine.config().achievements.len());
}

#[test]
fn adjustments_are_ledger_entries_and_refuse_going_negative() {
    let (engine, _) = engine_at(t0());
    engine
        .record(Activity::new("p1", UserId(1), "post_created", t0()))
        .unwrap();
    let before = engine.store().load(UserId(1)).unwrap().unwrap();
    let err = engine.adjust(UserId(1), Currency::Xp, -(before.xp as i64) - 1, "too much");
    assert!(matches!(
        err,
        Err(RecordError::Refused(StepError::BalanceOutOfRange { .. }))
    ));
    let message = err.unwrap_err().to_string();
    let expected = format!(
        "the XP balance {} cannot change by {}",
        before.xp,
        -(before.xp as i64) - 1
    );
    assert!(message.contains(&expected), "{message}");
    assert_eq!(engine.store().load(UserId(1)).unwrap().unwrap(), before);
    let down = engine
        .adjust(UserId(1), Currency::Xp, -(before.xp as i64), "spam cleanup")
        .unwrap();
    assert!(
        down.events
            .iter()
            .any(|e| matches!(e, Event::LevelDown { level: 1 }))
    );
    let after = engine.store().load(UserId(1)).unwrap().unwrap();
    assert_eq!((after.xp, after.level), (0, 1));
    let ledger = engine.ledger(UserId(1), 0, 100).unwrap();
    assert!(
        matches!(&ledger.last().unwrap().reason, Reason::Adjustment { note } if note == "spam cleanup")
    );
    assert_ledger_explains_balances(&engine);
}

#[test]
fn replay_under_a_changed_configuration_reports_then_applies_the_difference() {
    let (engine, _) = engine_at(t0());
    for i in 0..3 {
        let a = Activity::new(format!("p{i}"), UserId(1), "post_created", t0());
        engine.record(a).unwrap();
    }
    engine
        .adjust(UserId(1), Currency::Points, 7, "welcome gift")
        .unwrap();
    // Same configuration: replay is a no-op.
    assert!(engine.replay_dry_run().unwrap().changes.is_empty());

    // Posts are now worth more.
    let store = memory_store();
    let clock = Arc::new(FakeClock::new(t0()));
    let old = engine_on(Config::sparkle(), &store, &clock);
    for i in 0..3 {
        old.record(Activity::new(
            format!("p{i}"),
            UserId(1),
            "post_created",
            t0(),
        ))
        .unwrap();
    }
    let mut richer = Config::sparkle();
    let json = serde_json::to_string(&richer.xp)
        .unwrap()
        .replace("\"xp\":50,", "\"xp\":80,");
    richer.xp = serde_json::from_str(&json).unwrap();
    let new = engine_on(richer, &store, &clock);
    let before = store.load(UserId(1)).unwrap().unwrap();
    let dry = new.replay_dry_run().unwrap();
    assert_eq!(dry.changes.len(), 1);
    assert!(dry.changes[0].xp.1 > dry.changes[0].xp.0);
    assert_eq!(
        store.load(UserId(1)).unwrap().unwrap(),
        before,
        "a dry run changes nothing"
    );
    let applied = new.replay().unwrap();
    assert_eq!(applied.changes, dry.changes);
    let after = store.load(UserId(1)).unwrap().unwrap();
    assert_eq!(after.xp, dry.changes[0].xp.1);
    let ledger = store.ledger(UserId(1), 0, 1000).unwrap();
    assert!(ledger.iter().any(|e| e.reason == Reason::Replay));
    assert!(
        new.replay_dry_run().unwrap().changes.is_empty(),
        "replay is idempotent"
    );
    assert_ledger_explains_balances(&new);
}

#[test]
fn grants_revocations_and_board_resets_are_ledger_entries() {
    let store = memory_store();
    let clock = Arc::new(FakeClock::new(t0()));
    let build = || engine_on(Config::sparkle(), &store, &clock);
    let engine = build();
    engine
        .record(Activity::new("p1", UserId(1), "post_created", t0()))
        .unwrap();
    engine
        .record(Activity::new("p2", UserId(2), "post_created", t0()))
        .unwrap();

    let granted = engine.grant(UserId(1), "ach_bug_hunter").unwrap();
    assert_eq!(granted.unlocked().next().unwrap().id, "ach_bug_hunter");
    let score = |e: &Engine| {
        e.board("achievements_all_time")
            .unwrap()
            .rank_of(UserId(1))
            .unwrap()
            .score
    };
    let with_grant = score(&engine);
    let revoked = engine.revoke(UserId(1), "ach_bug_hunter").unwrap();
    assert!(
        revoked
            .events
            .iter()
            .any(|e| matches!(e, Event::AchievementRevoked { id } if id == "ach_bug_hunter"))
    );
    assert_eq!(
        score(&engine),
        with_grant - 50,
        "a rare achievement's score leaves the board"
    );
    assert!(engine.grant(UserId(1), "ach_nope").is_err());

    assert!(engine.reset_board("xp_weekly").unwrap());
    // A typo in a board id is an error that names it, not a quiet `false`.
    let unknown = engine.reset_board("no_such_board").unwrap_err();
    assert!(matches!(&unknown, RecordError::UnknownBoard(id) if id == "no_such_board"));
    assert_eq!(unknown.to_string(), "unknown board `no_such_board`");
    assert!(engine.board("xp_weekly").unwrap().is_empty());
    assert_eq!(
        engine
            .board("xp_weekly")
            .unwrap()
            .previous()
            .unwrap()
            .top
            .len(),
        2
    );
    let reasons: Vec<Reason> = engine
        .ledger(UserId(1), 0, 100)
        .unwrap()
        .into_iter()
        .map(|e| e.reason)
        .collect();
    assert!(reasons.contains(&Reason::Achievement {
        achievement: "ach_bug_hunter".into()
    }));
    assert!(reasons.contains(&Reason::Revoked {
        achievement: "ach_bug_hunter".into()
    }));
    assert!(reasons.contains(&Reason::BoardReset {
        board: "xp_weekly".into()
    }));
    // The reset survives a restart: boards are rebuilt from the states.
    let restarted = build();
    assert!(restarted.board("xp_weekly").unwrap().is_empty());
    assert_eq!(restarted.board("xp_all_time").unwrap().len(), 2);
    assert_ledger_explains_balances(&restarted);
}

#[test]
fn seed_defects_7_and_8_the_achievement_board_ranks_achievers_by_score() {
    let (engine, _) = engine_at(t0());
    // User 1: first post + a granted epic; user 2: first post; user 3: a
    // comment only (no achievement).
    engine
        .record(Activity::new("p1", UserId(1), "post_created", t0()))
        .unwrap();
    engine.grant(UserId(1), "ach_verified_creator").unwrap();
    engine
        .record(Activity::new("p2", UserId(2), "post_created", t0()))
        .unwrap();
    engine
        .record(Activity::new("c3", UserId(3), "comment_created", t0()))
        .unwrap();
    let board = engine.board("achievements_all_time").unwrap();
    let top: Vec<(u64, u64, u64)> = board
        .top(10)
        .iter()
        .map(|s| (s.user.0, s.rank, s.score))
        .collect();
    let score = |u: u64| {
        engine
            .store()
            .load(UserId(u))
            .unwrap()
            .unwrap()
            .achievements
            .score()
    };
    assert_eq!(top, [(1, 1, score(1)), (2, 2, score(2))]);
    assert!(score(1) > score(2) && score(2) > 0);
    assert_eq!(board.rank_of(UserId(3)), None, "no achievement, no rank");
    assert_eq!(board.rank_of(UserId(2)).unwrap().total, 2);
}

/// Live boards equal the boards a restart rebuilds from the stored states,
/// after admin operations and edge cases that once made them differ: an
/// upward adjustment or a grant (windowed gains), a balance back to zero,
/// a reset asked of an all-time board, an activity stamped just after
/// `now` near midnight, and a metric counter that saturates.
#[test]
fn live_boards_equal_rebuilt_boards_after_admin_and_edge_cases() {
    let late = Utc.with_ymd_and_hms(2026, 5, 4, 23, 58, 0).unwrap();
    let clock = Arc::new(FakeClock::new(late));
    let store = memory_store();
    let engine = engine_on(Config::sparkle(), &store, &clock);
    let post = |id: &str, user: u64, at| Activity::new(id, UserId(user), "post_created", at);
    engine
        .record(post("p1", 1, late - TimeDelta::hours(1)))
        .unwrap();
    engine
        .record(post("p2", 2, late - TimeDelta::hours(1)))
        .unwrap();
    engine
        .adjust(UserId(1), Currency::Xp, 1000, "gift")
        .unwrap();
    engine.grant(UserId(2), "ach_bug_hunter").unwrap();
    // User 3 back at zero leaves the all-time board.
    engine
        .record(post("p3", 3, late - TimeDelta::hours(1)))
        .unwrap();
    let xp = store.load(UserId(3)).unwrap().unwrap().xp;
    engine
        .adjust(UserId(3), Currency::Xp, -(xp as i64), "reset")
        .unwrap();
    // An all-time board has no window to reset.
    assert!(!engine.reset_board("xp_all_time").unwrap());
    // Two minutes "in the future" (within the tolerance), past midnight:
    // counted in today's window, which does not close early.
    engine
        .record(post("p4", 4, late + TimeDelta::minutes(4)))
        .unwrap();
    engine.record(post("p5", 5, late)).unwrap();
    // A counter that saturates.
    engine
        .record(post("p6", 6, late).with_metric("posts", u64::MAX - 5))
        .unwrap();
    engine
        .record(post("p7", 6, late).with_metric("posts", 10))
        .unwrap();

    let rebuilt = engine_on(Config::sparkle(), &store, &clock);
    let standings = |e: &Engine, id: &str| -> Vec<(u64, u64)> {
        let mut v: Vec<_> = e
            .board(id)
            .unwrap()
            .top(1000)
            .iter()
            .map(|s| (s.user.0, s.score))
            .collect();
        v.sort_unstable();
        v
    };
    for id in engine.board_ids() {
        assert_eq!(
            standings(&engine, &id),
            standings(&rebuilt, &id),
            "board {id}"
        );
    }
    let daily = standings(&engine, "xp_daily");
    assert!(
        daily.iter().any(|&(u, _)| u == 4),
        "the early-stamped post counts today"
    );
    assert!(
        daily.iter().any(|&(u, _)| u == 5),
        "today's window stayed open"
    );
    assert!(
        standings(&engine, "xp_all_time")
            .iter()
            .all(|&(u, _)| u != 3)
    );
    assert_eq!(
        engine
            .board("posts_all_time")
            .unwrap()
            .rank_of(UserId(6))
            .unwrap()
            .score,
        u64::MAX
    );
}

/// Levels reached by an adjustment or a grant count for the level
/// achievements at once, and a replay under the same configuration
/// reproduces what grants and adjustments did (a grant's level-up bonus
/// included): it reports no change.
#[test]
fn admin_levels_unlock_level_achievements_and_replay_agrees() {
    let (engine, _clock) = engine_at(t0());
    let post = Activity::new("p1", UserId(1), "post_created", t0());
    engine.record(post.clone()).unwrap();
    engine
        .record(Activity::new("p2", UserId(2), "post_created", t0()))
        .unwrap();
    let unlocked = |user: u64, id: &str| {
        engine
            .store()
            .load(UserId(user))
            .unwrap()
            .unwrap()
            .achievements
            .is_unlocked(id)
    };
    assert!(!unlocked(1, "ach_level_10"));
    let adjusted = engine
        .adjust(UserId(1), Currency::Xp, 100_000, "migration")
        .unwrap();
    assert!(unlocked(1, "ach_level_10"), "{:?}", adjusted.events);
    assert!(adjusted.unlocked().any(|u| u.id == "ach_level_10"));

    engine.grant(UserId(2), "ach_sparkle_anniversary").unwrap();
    let state = engine.store().load(UserId(2)).unwrap().unwrap();
    assert!(state.level >= 10, "level {}", state.level);
    assert!(unlocked(2, "ach_level_10"));

    assert_ledger_explains_balances(&engine);
    let report = engine.replay_dry_run().unwrap();
    assert!(report.changes.is_empty(), "{:?}", report.changes);
}

/// Ordinal boards give a tie to whoever reached the score first; a board
/// rebuilt from the stored states (a restart) keeps that order instead of
/// falling back to user ids.
#[test]
fn ordinal_ties_keep_who_reached_first_across_a_restart() {
    use gamify::leaderboard::{BoardSpec, BoardWindow, RankPolicy, Source};
    let mut config = Config::sparkle();
    config.boards = [
        ("xp_all_time", BoardWindow::AllTime),
        ("xp_daily", BoardWindow::Day),
    ]
    .into_iter()
    .map(|(id, window)| {
        let mut spec = BoardSpec::new(id, Source::Xp, window);
        spec.policy = RankPolicy::Ordinal;
        spec
    })
    .collect();
    let store = memory_store();
    let clock = Arc::new(FakeClock::new(t0()));
    let engine = engine_on(config.clone(), &store, &clock);
    // Users 3, then 1, then 2 make the same post: equal XP, reached in
    // that order.
    for (i, user) in [3, 1, 2].into_iter().enumerate() {
        let at = t0() + TimeDelta::minutes(i as i64);
        clock.set(at);
        engine
            .record(Activity::new(
                format!("p{user}"),
                UserId(user),
                "post_created",
                at,
            ))
            .unwrap();
    }
    let order = |engine: &Engine, board: &str| -> Vec<(u64, u64)> {
        engine
            .board(board)
            .unwrap()
            .top(10)
            .iter()
            .map(|s| (s.user.0, s.rank))
            .collect()
    };
    let expected = vec![(3, 1), (1, 2), (2, 3)];
    for board in ["xp_all_time", "xp_daily"] {
        assert_eq!(order(&engine, board), expected, "live {board}");
    }
    drop(engine);
    let restarted = engine_on(config, &store, &clock);
    for board in ["xp_all_time", "xp_daily"] {
        assert_eq!(order(&restarted, board), expected, "rebuilt {board}");
    }
}

#[test]
fn record_batch_ends_as_recording_one_at_a_time_boards_included() {
    // Big batches run as a pipeline (every shard and board held, the next
    // users touched ahead); they must end exactly as `record` does.
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let (single, single_clock) = engine_at(start);
    let (batched, batched_clock) = engine_at(start);
    let mut rng = sim::Rng::new(11);
    let members = sim::members(120, &mut rng);
    for m in &members {
        single.set_time_zone(m.user, m.tz).unwrap();
        batched.set_time_zone(m.user, m.tz).unwrap();
    }
    for day in 0..10 {
        let mut activities = sim::day_activities(&members, start, day, &mut rng);
        // Repeats of the day's first activities, and one with another
        // payload: a conflict.
        let repeats: Vec<Activity> = activities.iter().take(5).cloned().collect();
        activities.extend(repeats);
        if let Some(first) = activities.first() {
            activities.push(Activity::new(
                first.id.0.clone(),
                first.user,
                "post_created",
                first.at,
            ));
        }
        let now = start + TimeDelta::days(i64::from(day) + 1);
        single_clock.set(now);
        batched_clock.set(now);
        let one_by_one: Vec<String> = activities
            .iter()
            .map(|a| format!("{:?}", single.record(a.clone())))
            .collect();
        // The whole day in one batch: its repeats and conflict inside it.
        assert!(activities.len() >= 64, "a batch big enough to pipeline");
        let in_batches: Vec<String> = batched
            .record_batch(&activities)
            .unwrap()
            .iter()
            .map(|result| format!("{result:?}"))
            .collect();
        assert_eq!(in_batches, one_by_one, "day {day}");
    }
    for m in &members {
        assert_eq!(
            batched.store().load(m.user).unwrap(),
            single.store().load(m.user).unwrap()
        );
    }
    for id in single.board_ids() {
        let (a, b) = (single.board(&id).unwrap(), batched.board(&id).unwrap());
        assert_eq!(a.len(), b.len(), "{id}");
        assert_eq!(a.top(a.len()), b.top(b.len()), "{id}");
    }
    assert_ledger_explains_balances(&batched);
}

/// A grant unlocks, in the same operation, what depends on the granted
/// achievement (by criterion or prerequisite), as a whole-catalog check
/// would; a replay of the history agrees.
#[test]
fn a_grant_unlocks_what_depends_on_it_at_once() {
    use common::{entry, metric_at_least};
    use gamify::achievement::{Catalog, Criterion};
    let mut gated = entry("first_post_verified", metric_at_least("posts", 1));
    gated.prerequisites = vec!["verified".into()];
    let mut config = Config::sparkle();
    config.achievements = Catalog::new(vec![
        entry("verified", Criterion::Granted),
        entry(
            "after_verified",
            Criterion::Achievements {
                ids: vec!["verified".into()],
            },
        ),
        gated,
    ])
    .unwrap();
    let engine = Engine::builder(config)
        .clock(Arc::new(FakeClock::new(t0())))
        .build()
        .unwrap();
    engine
        .record(Activity::new("p1", UserId(1), "post_created", t0()))
        .unwrap();
    let granted = engine.grant(UserId(1), "verified").unwrap();
    let mut unlocked: Vec<_> = granted.unlocked().map(|u| u.id.to_string()).collect();
    unlocked.sort();
    assert_eq!(
        unlocked,
        ["after_verified", "first_post_verified", "verified"],
        "{:?}",
        granted.events
    );
    let state = engine.store().load(UserId(1)).unwrap().unwrap();
    assert_eq!(state.achievements.unlocked_count(), 3);
    assert_ledger_explains_balances(&engine);
    let report = engine.replay_dry_run().unwrap();
    assert!(report.changes.is_empty(), "{:?}", report.changes);
}

/// A replay that moves a balance by more than one `i64` ledger entry holds
/// writes the difference in parts: the ledger still sums to the balance.
#[test]
fn a_replay_moving_a_balance_past_an_i64_keeps_the_ledger_equal_to_it() {
    let with_big = |xp: u64| -> Config {
        let mut value = serde_json::to_value(Config::sparkle()).unwrap();
        value["xp"]["kinds"]["big"] = serde_json::json!({ "xp": xp });
        serde_json::from_value(value).unwrap()
    };
    let user = UserId(1);
    let store = memory_store();
    let clock = Arc::new(FakeClock::new(t0()));
    let engine = engine_on(with_big(u64::MAX), &store, &clock);
    for i in 0..3 {
        let big = Activity::new(format!("b{i}"), user, "big", engine.now());
        engine.record(big).unwrap();
        clock.advance(TimeDelta::minutes(1));
    }
    assert_eq!(store.load(user).unwrap().unwrap().xp, u64::MAX);
    drop(engine);
    let replayer = engine_on(with_big(0), &store, &clock);
    replayer.replay().unwrap();
    let state = store.load(user).unwrap().unwrap();
    assert!(state.xp < 1_000, "{}", state.xp);
    assert_ledger_explains_balances(&replayer);
}

/// A board reset while a user records: the user's gains after the reset
/// are on the live board and in their stored state alike, so a restart
/// (boards rebuilt from states) shows what the live board showed.
#[test]
fn a_board_reset_racing_records_keeps_live_and_rebuilt_boards_equal() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let store = memory_store();
    let clock = Arc::new(FakeClock::new(t0()));
    let build = || engine_on(Config::sparkle(), &store, &clock);
    let engine = build();
    // Enough users on today's window that the reset's walk takes a while.
    let seed: Vec<Activity> = (0..3000u64)
        .map(|u| Activity::new(format!("seed{u}"), UserId(u), "comment_created", t0()))
        .collect();
    for result in engine.record_batch(&seed).unwrap() {
        result.unwrap();
    }
    let hot = UserId(2999);
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0u64;
            while !done.load(Ordering::Relaxed) {
                let comment = Activity::new(format!("hot{i}"), hot, "comment_created", t0());
                engine.record(comment).unwrap();
                i += 1;
            }
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(engine.reset_board("xp_daily").unwrap());
        std::thread::sleep(std::time::Duration::from_millis(20));
        done.store(true, Ordering::Relaxed);
    });
    let live = engine
        .board("xp_daily")
        .unwrap()
        .rank_of(hot)
        .map(|s| s.score);
    drop(engine);
    let rebuilt = build()
        .board("xp_daily")
        .unwrap()
        .rank_of(hot)
        .map(|s| s.score);
    assert!(live.is_some(), "the hot user recorded after the reset");
    assert_eq!(live, rebuilt);
}

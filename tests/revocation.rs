//! Revocations are remembered: a revoked achievement is never unlocked or
//! paid again (by criterion, backfill or level-up), until a grant lifts the
//! revocation; a replay reproduces revocations; stats and the grid show a
//! revoked achievement locked.

mod common;

use chrono::TimeDelta;
use gamify::activity::{Activity, UserId};
use gamify::config::Config;
use gamify::engine::Engine;
use gamify::ledger::{Currency, Reason};
use gamify::outcome::Event;
use gamify::state::UserState;
use gamify::time::FakeClock;

use common::{assert_ledger_explains_balances, engine_at, t0};

/// Epic, 3,000 XP and 100 points, for an activity with 1,000 reactions; its
/// criterion is checked on every activity that carries the attribute.
const VIRAL: &str = "ach_viral_sensation";

fn state(engine: &Engine, user: u64) -> UserState {
    engine
        .store()
        .load(UserId(user))
        .unwrap()
        .unwrap_or_default()
}

/// A post with `reactions`, `minutes` after `t0`, the clock moved there.
fn viral_post(engine: &Engine, clock: &FakeClock, user: u64, id: &str, minutes: i64) -> Vec<Event> {
    let at = t0() + TimeDelta::minutes(minutes);
    clock.set(at);
    let post =
        Activity::new(id, UserId(user), "post_created", at).with_attribute("reactions", 1500);
    engine.record(post).unwrap().outcome.events
}

/// Ledger entries paying `achievement` to `user`.
fn payments(engine: &Engine, user: u64, achievement: &str) -> usize {
    engine
        .ledger(UserId(user), 0, usize::MAX)
        .unwrap()
        .iter()
        .filter(|e| matches!(&e.reason, Reason::Achievement { achievement: a } if a == achievement))
        .count()
}

fn revocations(engine: &Engine, user: u64) -> usize {
    engine
        .ledger(UserId(user), 0, usize::MAX)
        .unwrap()
        .iter()
        .filter(|e| matches!(e.reason, Reason::Revoked { .. }))
        .count()
}

fn unlocks(events: &[Event], id: &str) -> bool {
    events
        .iter()
        .any(|e| matches!(e, Event::AchievementUnlocked(u) if u.id == id))
}

#[test]
fn a_revoked_achievement_met_again_neither_unlocks_nor_pays() {
    let (engine, clock) = engine_at(t0());
    assert!(unlocks(&viral_post(&engine, &clock, 1, "p1", 0), VIRAL));
    assert_eq!(payments(&engine, 1, VIRAL), 2, "XP and points");
    let revoked = engine.revoke(UserId(1), VIRAL).unwrap();
    assert_eq!(revoked.totals.achievement_score, -100);
    assert!(state(&engine, 1).achievements.is_revoked(VIRAL));
    let (xp, points) = (state(&engine, 1).xp, state(&engine, 1).points);

    // The criterion is met again: the post pays its own XP, nothing more.
    let events = viral_post(&engine, &clock, 1, "p2", 60);
    assert!(!unlocks(&events, VIRAL), "{events:?}");
    let after = state(&engine, 1);
    assert!(!after.achievements.is_unlocked(VIRAL));
    assert!(after.achievements.is_revoked(VIRAL));
    assert_eq!(payments(&engine, 1, VIRAL), 2, "paid once, not again");
    assert!(after.xp - xp < 3000, "{} → {}", xp, after.xp);
    assert_eq!(after.points - points, 0, "the post pays no points");
    assert_ledger_explains_balances(&engine);

    // Revoking again changes nothing and writes nothing.
    let again = engine.revoke(UserId(1), VIRAL).unwrap();
    assert!(again.events.is_empty(), "{:?}", again.events);
    assert_eq!(revocations(&engine, 1), 1);

    // Stats and the grid show it locked.
    let stats = engine.stats(UserId(1)).unwrap().unwrap();
    assert_eq!(stats.achievements.revoked, 1);
    assert!(
        !stats
            .achievements
            .by_rarity
            .contains_key(&gamify::achievement::Rarity::Epic)
    );
    let grid = engine.achievement_progress(UserId(1)).unwrap();
    let viral = grid.iter().find(|p| &*p.id == VIRAL).unwrap();
    assert!(!viral.unlocked);
}

#[test]
fn revoking_what_is_not_unlocked_bars_it() {
    let (engine, clock) = engine_at(t0());
    let revoked = engine.revoke(UserId(2), VIRAL).unwrap();
    assert!(revoked.events.is_empty(), "nothing was taken away");
    assert_eq!(revocations(&engine, 2), 1, "the bar is in the ledger");
    assert!(!unlocks(&viral_post(&engine, &clock, 2, "p1", 0), VIRAL));
    assert_eq!(payments(&engine, 2, VIRAL), 0);
    assert!(engine.revoke(UserId(2), "ach_nope").is_err());
    assert_ledger_explains_balances(&engine);
}

#[test]
fn a_grant_lifts_the_revocation() {
    let (engine, clock) = engine_at(t0());
    viral_post(&engine, &clock, 1, "p1", 0);
    engine.revoke(UserId(1), VIRAL).unwrap();
    let granted = engine.grant(UserId(1), VIRAL).unwrap();
    assert!(granted.unlocked().any(|u| u.id == VIRAL));
    let s = state(&engine, 1);
    assert!(s.achievements.is_unlocked(VIRAL));
    assert!(!s.achievements.is_revoked(VIRAL));
    assert_eq!(s.achievements.granted_ids().collect::<Vec<_>>(), [VIRAL]);
    assert_eq!(
        engine
            .stats(UserId(1))
            .unwrap()
            .unwrap()
            .achievements
            .revoked,
        0
    );
    // Unlocked once more, so meeting the criterion again pays nothing.
    assert!(!unlocks(&viral_post(&engine, &clock, 1, "p2", 60), VIRAL));
    assert_eq!(
        payments(&engine, 1, VIRAL),
        4,
        "the first unlock and the grant"
    );
    // A grant of a barred, never unlocked achievement lifts the bar too.
    engine.revoke(UserId(2), VIRAL).unwrap();
    engine.grant(UserId(2), VIRAL).unwrap();
    assert!(state(&engine, 2).achievements.is_unlocked(VIRAL));
    assert!(state(&engine, 2).achievements.revoked.is_empty());
    assert_ledger_explains_balances(&engine);
}

#[test]
fn a_revoked_level_achievement_stays_revoked_through_further_level_ups() {
    let (engine, clock) = engine_at(t0());
    let curve = engine.config().curve.clone();
    let at_10 = curve.threshold(10).unwrap();
    let reached = engine
        .adjust(UserId(1), Currency::Xp, at_10 as i64, "to 10")
        .unwrap();
    assert!(reached.unlocked().any(|u| u.id == "ach_level_10"));
    engine.revoke(UserId(1), "ach_level_10").unwrap();

    // Level 11 through an activity (the level-up cascade re-checks the
    // level achievements) ...
    let below_11 = curve.threshold(11).unwrap() - 1;
    let xp = state(&engine, 1).xp;
    engine
        .adjust(UserId(1), Currency::Xp, (below_11 - xp) as i64, "almost 11")
        .unwrap();
    let at = t0() + TimeDelta::minutes(5);
    clock.set(at);
    let post = engine
        .record(Activity::new("p1", UserId(1), "post_created", at))
        .unwrap()
        .outcome;
    assert!(post.levels_reached().any(|l| l >= 11), "{:?}", post.events);
    assert!(!unlocks(&post.events, "ach_level_10"), "{:?}", post.events);
    // ... and level 12 through an adjustment, and a backfill by a grant's
    // settling: none unlocks it.
    let to_12 = curve.threshold(12).unwrap() - state(&engine, 1).xp;
    let adjusted = engine
        .adjust(UserId(1), Currency::Xp, to_12 as i64, "to 12")
        .unwrap();
    assert!(!unlocks(&adjusted.events, "ach_level_10"));
    let granted = engine.grant(UserId(1), "ach_bug_hunter").unwrap();
    assert!(!unlocks(&granted.events, "ach_level_10"));
    let s = state(&engine, 1);
    assert!(s.level >= 12);
    assert!(!s.achievements.is_unlocked("ach_level_10"));
    assert_eq!(payments(&engine, 1, "ach_level_10"), 1);
    assert_ledger_explains_balances(&engine);
}

#[test]
fn the_catalog_never_unlocks_a_revoked_entry_by_backfill() {
    let config = Config::sparkle();
    let catalog = &config.achievements;
    let mut metrics = gamify::activity::Metrics::new();
    metrics.set("posts", 60);
    let by_family = Default::default();
    let facts = gamify::achievement::Facts {
        metrics: &metrics,
        level: 1,
        streak_current: 0,
        streak_longest: 0,
        quests_completed: 0,
        quests_by_family: &by_family,
    };
    let mut achievements = gamify::achievement::AchievementState::default();
    catalog
        .revoke(&mut achievements, "ach_prolific_writer")
        .unwrap();
    let found = catalog.backfill(&mut achievements, &facts, t0(), gamify::time::Tz::UTC);
    let ids: Vec<_> = found.unlocked.iter().map(|u| u.id.as_str()).collect();
    assert!(ids.contains(&"ach_content_creator"), "{ids:?}");
    assert!(!ids.contains(&"ach_prolific_writer"), "{ids:?}");
    // Its progress is reported (complete), locked.
    let progress = found
        .progress
        .iter()
        .find(|p| &*p.id == "ach_prolific_writer")
        .unwrap();
    assert!(!progress.unlocked && progress.current >= progress.target);
}

#[test]
fn a_replay_reproduces_revocations_and_reports_no_change() {
    let (engine, clock) = engine_at(t0());
    // 1: unlocked, revoked, met again. 2: barred before it was met.
    // 3: unlocked, revoked, nothing after. 4: revoked, then granted.
    // 5: a level achievement reached by adjustments, revoked between them.
    viral_post(&engine, &clock, 1, "p1", 0);
    engine.revoke(UserId(1), VIRAL).unwrap();
    viral_post(&engine, &clock, 1, "p2", 10);
    engine.revoke(UserId(2), VIRAL).unwrap();
    viral_post(&engine, &clock, 2, "q1", 20);
    viral_post(&engine, &clock, 3, "r1", 30);
    engine.revoke(UserId(3), VIRAL).unwrap();
    viral_post(&engine, &clock, 4, "s1", 40);
    engine.revoke(UserId(4), VIRAL).unwrap();
    engine.grant(UserId(4), VIRAL).unwrap();
    viral_post(&engine, &clock, 4, "s2", 50);
    let curve = engine.config().curve.clone();
    let at_10 = curve.threshold(10).unwrap() as i64;
    engine
        .adjust(UserId(5), Currency::Xp, at_10, "to 10")
        .unwrap();
    engine.revoke(UserId(5), "ach_level_10").unwrap();
    let to_12 = curve.threshold(12).unwrap() as i64 - at_10;
    engine
        .adjust(UserId(5), Currency::Xp, to_12, "to 12")
        .unwrap();

    let report = engine.replay_dry_run().unwrap();
    assert!(report.changes.is_empty(), "{:?}", report.changes);
    let before: Vec<_> = (1..=5).map(|u| state(&engine, u)).collect();
    let applied = engine.replay().unwrap();
    assert!(applied.changes.is_empty(), "{:?}", applied.changes);
    let after: Vec<_> = (1..=5).map(|u| state(&engine, u)).collect();
    assert_eq!(before, after);
    for user in [1, 2, 3] {
        assert!(
            after[user - 1].achievements.is_revoked(VIRAL),
            "user {user}"
        );
        assert!(
            !after[user - 1].achievements.is_unlocked(VIRAL),
            "user {user}"
        );
    }
    assert!(after[3].achievements.is_unlocked(VIRAL));
    assert!(after[4].achievements.is_revoked("ach_level_10"));
    assert_ledger_explains_balances(&engine);
}

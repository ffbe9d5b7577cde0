//! Replay walks each user's history in the order it happened: activities
//! and admin operations (adjustments, grants, revocations, time-zone
//! changes, board resets) interleaved as they were made. Under the same
//! configuration it changes nothing; under a changed one it gives what
//! recording the same history under that configuration would have given.

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

const USER: UserId = UserId(1);

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 4, 12, 0, 0).unwrap()
}

/// One step of a user's history, made at the time before it.
#[derive(Debug, Clone)]
enum Op {
    /// Move the clock forward.
    Wait(TimeDelta),
    /// Record an activity of this kind now.
    Record(&'static str),
    Adjust(Currency, i64),
    Grant(&'static str),
    Revoke(&'static str),
    Zone(Tz),
    Reset(&'static str),
    /// Record an activity of this kind now, dated this long before.
    Late(&'static str, TimeDelta),
    /// Reset a board, leaving the clock where it is: what comes next is
    /// recorded at the same clock reading.
    ResetNow(&'static str),
}

/// An engine on its own store, with `history` made on it from `start`.
fn run(config: Config, start: DateTime<Utc>, history: &[Op]) -> (Engine, Arc<dyn Store>) {
    let (engine, store, refused) = try_run(config, start, history);
    assert_eq!(refused, 0, "an operation was refused");
    (engine, store)
}

/// [`run`], counting the admin operations refused (an adjustment below
/// zero, an unknown id) rather than failing.
fn try_run(
    config: Config,
    start: DateTime<Utc>,
    history: &[Op],
) -> (Engine, Arc<dyn Store>, usize) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let clock = Arc::new(FakeClock::new(start));
    let engine = Engine::builder(config)
        .shared_store(store.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let mut refused = 0;
    for (i, op) in history.iter().enumerate() {
        let ok = match op {
            Op::Wait(by) => {
                clock.advance(*by);
                true
            }
            Op::Record(kind) => {
                let a = Activity::new(format!("a{i}"), USER, *kind, engine.now());
                engine.record(a).is_ok()
            }
            Op::Adjust(currency, amount) => engine.adjust(USER, *currency, *amount, "op").is_ok(),
            Op::Grant(id) => engine.grant(USER, id).is_ok(),
            Op::Revoke(id) => engine.revoke(USER, id).is_ok(),
            Op::Zone(tz) => engine.set_time_zone(USER, *tz).is_ok(),
            Op::Reset(board) | Op::ResetNow(board) => engine.reset_board(board).unwrap(),
            Op::Late(kind, by) => {
                let a = Activity::new(format!("a{i}"), USER, *kind, engine.now() - *by);
                engine.record(a).is_ok()
            }
        };
        refused += usize::from(!ok);
        if !matches!(
            op,
            Op::Wait(_) | Op::Record(_) | Op::Late(..) | Op::ResetNow(_)
        ) {
            // An activity that pays nothing, dated exactly when an admin
            // operation was made, is taken to precede it (replay.rs): the
            // history here has the operation's instant to itself.
            clock.advance(TimeDelta::seconds(1));
        }
    }
    (engine, store, refused)
}

fn state(store: &Arc<dyn Store>) -> UserState {
    store.load(USER).unwrap().unwrap()
}

fn assert_ledger_sums_to_balances(store: &Arc<dyn Store>) {
    let s = state(store);
    let ledger = store.ledger(USER, 0, usize::MAX).unwrap();
    assert_eq!(balance(&ledger, Currency::Xp), i128::from(s.xp));
    assert_eq!(balance(&ledger, Currency::Points), i128::from(s.points));
}

/// The history replays to what it built: the dry run reports nothing and
/// the replay changes nothing.
fn assert_replays_unchanged(engine: &Engine, store: &Arc<dyn Store>) {
    let before = state(store);
    let dry = engine.replay_dry_run().unwrap();
    assert!(dry.changes.is_empty(), "dry run: {:?}", dry.changes);
    let applied = engine.replay().unwrap();
    assert!(applied.changes.is_empty(), "replay: {:?}", applied.changes);
    assert_eq!(state(store), before);
    assert_ledger_sums_to_balances(store);
}

/// Replaying `history` (made under `old`) under `new` gives the state that
/// making it under `new` gives; the ledger sums to the new balances, and a
/// second replay changes nothing.
fn assert_replays_as_if_made_under(old: Config, new: Config, start: DateTime<Utc>, history: &[Op]) {
    let (_, store) = run(old, start, history);
    let (_, expected) = run(new.clone(), start, history);
    let end = store
        .ledger(USER, 0, usize::MAX)
        .unwrap()
        .iter()
        .map(|e| e.at)
        .max()
        .unwrap_or(start);
    let clock = Arc::new(FakeClock::new(end));
    let replayer = Engine::builder(new)
        .shared_store(store.clone())
        .clock(clock)
        .build()
        .unwrap();
    replayer.replay().unwrap();
    assert_eq!(state(&store), state(&expected));
    assert_ledger_sums_to_balances(&store);
    let again = replayer.replay_dry_run().unwrap();
    assert!(again.changes.is_empty(), "{:?}", again.changes);
}

/// Sparkle with posts worth `xp`.
fn posts_worth(xp: u64) -> Config {
    let mut config = Config::sparkle();
    let json = serde_json::to_string(&config.xp)
        .unwrap()
        .replace("\"xp\":50,", &format!("\"xp\":{xp},"));
    config.xp = serde_json::from_str(&json).unwrap();
    config
}

/// Sparkle with achievement `id` paying `xp` and no points.
fn achievement_paying(id: &str, xp: u64) -> Config {
    let mut value = serde_json::to_value(Config::sparkle()).unwrap();
    let list = value["achievements"]["achievements"]
        .as_array_mut()
        .unwrap();
    let entry = list.iter_mut().find(|a| a["id"] == id).unwrap();
    entry["xp"] = xp.into();
    entry["points"] = 0.into();
    serde_json::from_value(value).unwrap()
}

/// Sparkle with follows given worth `xp` (they pay nothing else).
fn follows_worth(xp: u64) -> Config {
    let mut config = Config::sparkle();
    if let Some(rule) = config.xp.kinds.get_mut("follow_given") {
        rule.xp = xp;
    }
    config
}

fn minutes(m: i64) -> Op {
    Op::Wait(TimeDelta::minutes(m))
}

/// An adjustment between activities crosses levels where it was made: the
/// posts after it cross later levels (their bonus paid at those levels),
/// and the level achievement it reached unlocked then. The old replay
/// added adjustments after every activity.
#[test]
fn an_adjustment_between_activities_replays_where_it_was_made() {
    let history = [
        Op::Record("post_created"),
        minutes(5),
        Op::Adjust(Currency::Xp, 5_000),
        minutes(5),
        Op::Record("post_created"),
        minutes(5),
        Op::Adjust(Currency::Xp, -300),
        minutes(5),
        Op::Record("post_created"),
        Op::Record("follow_received"),
    ];
    let (engine, store) = run(Config::sparkle(), t0(), &history);
    assert!(state(&store).achievements.is_unlocked("ach_level_10"));
    assert_replays_unchanged(&engine, &store);
    assert_replays_as_if_made_under(Config::sparkle(), posts_worth(400), t0(), &history);
}

/// An achievement an adjustment unlocked, then revoked: what it paid stays
/// paid, and it stays revoked. The old replay barred it before the
/// adjustment (which came last), so it was never paid.
#[test]
fn an_achievement_an_adjustment_unlocked_then_revoked_stays_paid() {
    let history = [
        Op::Record("post_created"),
        minutes(1),
        Op::Adjust(Currency::Xp, 100_000),
        minutes(1),
        Op::Revoke("ach_level_10"),
        minutes(1),
        Op::Record("post_created"),
    ];
    let (engine, store) = run(Config::sparkle(), t0(), &history);
    let s = state(&store);
    assert!(s.achievements.is_revoked("ach_level_10"));
    assert!(!s.achievements.is_unlocked("ach_level_10"));
    assert_replays_unchanged(&engine, &store);
    assert_replays_as_if_made_under(
        Config::sparkle(),
        achievement_paying("ach_level_10", 7),
        t0(),
        &history,
    );
}

/// A grant later revoked was paid and stays paid. The old replay could not
/// tell the grant from the ledger and lost it.
#[test]
fn a_grant_then_revoked_stays_paid() {
    let history = [
        Op::Record("post_created"),
        minutes(1),
        Op::Grant("ach_early_adopter"),
        minutes(1),
        Op::Record("post_created"),
        minutes(1),
        Op::Revoke("ach_early_adopter"),
        minutes(1),
        Op::Record("post_created"),
    ];
    let (engine, store) = run(Config::sparkle(), t0(), &history);
    let ledger = store.ledger(USER, 0, usize::MAX).unwrap();
    let granted = ledger
        .iter()
        .position(|e| matches!(&e.reason, Reason::Granted { achievement } if achievement == "ach_early_adopter"))
        .expect("a Granted entry");
    assert_eq!(ledger[granted].amount, 0);
    assert!(
        matches!(&ledger[granted + 1].reason, Reason::Achievement { achievement } if achievement == "ach_early_adopter"),
        "what the grant paid follows it"
    );
    assert_replays_unchanged(&engine, &store);
    assert_replays_as_if_made_under(
        Config::sparkle(),
        achievement_paying("ach_early_adopter", 2_000),
        t0(),
        &history,
    );
}

/// A grant that pays nothing is still a ledger entry, so a replay grants it
/// at its place (and, under a configuration where it pays, pays it there).
#[test]
fn a_zero_reward_grant_is_recorded_and_replayed() {
    let free = achievement_paying("ach_bug_hunter", 0);
    let history = [
        Op::Record("post_created"),
        minutes(1),
        Op::Grant("ach_bug_hunter"),
        minutes(1),
        Op::Record("post_created"),
    ];
    let (engine, store) = run(free.clone(), t0(), &history);
    let ledger = store.ledger(USER, 0, usize::MAX).unwrap();
    assert!(ledger.iter().any(
        |e| matches!(&e.reason, Reason::Granted { achievement } if achievement == "ach_bug_hunter")
    ));
    assert!(state(&store).achievements.is_unlocked("ach_bug_hunter"));
    assert_replays_unchanged(&engine, &store);
    assert_replays_as_if_made_under(free.clone(), Config::sparkle(), t0(), &history);

    // Granted, then revoked: the revocation is replayed after the grant.
    let mut revoked = history.to_vec();
    revoked.extend([
        minutes(1),
        Op::Revoke("ach_bug_hunter"),
        Op::Record("post_created"),
    ]);
    let (engine, store) = run(free.clone(), t0(), &revoked);
    assert_replays_unchanged(&engine, &store);
    assert_replays_as_if_made_under(free, Config::sparkle(), t0(), &revoked);
}

/// Activities before a time-zone change count their days in the zone they
/// were recorded in. Two posts a quarter of an hour apart, either side of a
/// move from UTC to Kolkata: the second falls on the next local day, so the
/// daily quest pays twice and the streak grows. The old replay counted both
/// in Kolkata, on one day.
#[test]
fn a_time_zone_change_between_activities_keeps_their_days() {
    let start = Utc.with_ymd_and_hms(2026, 5, 4, 23, 30, 0).unwrap();
    let history = [
        Op::Record("post_created"),
        Op::Record("daily_login"),
        minutes(5),
        Op::Zone(Tz::Asia__Kolkata),
        minutes(10),
        Op::Record("post_created"),
        Op::Record("daily_login"),
    ];
    let (engine, store) = run(Config::sparkle(), start, &history);
    let s = state(&store);
    assert_eq!(s.time_zone, Some(Tz::Asia__Kolkata));
    assert_eq!(s.quests.completed_by_family.get("daily").copied(), Some(4));
    let ledger = store.ledger(USER, 0, usize::MAX).unwrap();
    assert!(ledger.iter().any(|e| e.reason
        == Reason::TimeZoneChanged {
            time_zone: Tz::Asia__Kolkata
        }
        && e.amount == 0));
    assert_replays_unchanged(&engine, &store);
    assert_replays_as_if_made_under(Config::sparkle(), posts_worth(70), start, &history);

    // And back again near the other midnight.
    let mut back = history.to_vec();
    back.extend([
        Op::Wait(TimeDelta::hours(6)),
        Op::Zone(Tz::America__Santiago),
        Op::Record("post_created"),
    ]);
    let (engine, store) = run(Config::sparkle(), start, &back);
    assert_replays_unchanged(&engine, &store);
}

/// A board reset clears the window gain at its place: what was recorded
/// before it stays out of the window, what came after counts.
#[test]
fn a_board_reset_replays_at_its_place() {
    let history = [
        Op::Record("post_created"),
        minutes(1),
        Op::Adjust(Currency::Xp, 40),
        minutes(1),
        Op::Reset("xp_daily"),
        Op::Reset("posts_weekly"),
        minutes(1),
        Op::Record("post_created"),
    ];
    let (engine, store) = run(Config::sparkle(), t0(), &history);
    let daily = state(&store)
        .windows
        .get("xp_daily")
        .map_or(0, |g| g.amount);
    assert!(
        daily < state(&store).xp,
        "the reset cleared the earlier gain"
    );
    assert_replays_unchanged(&engine, &store);
    assert_replays_as_if_made_under(Config::sparkle(), posts_worth(90), t0(), &history);
}

/// A board reset clears the window for every user, also one who had no
/// gain in it when it was made: under a configuration where their earlier
/// activity pays, the replay clears what it pays at the reset, as making
/// the history under that configuration does. A follow paid nothing, so
/// the reset found no daily XP gain to clear and wrote no entry for the
/// user; replayed with follows worth 5 XP, their 5 XP stayed on the reset
/// daily board.
///
/// A fix was written and not taken: a zero `BoardReset` entry in every
/// user's ledger on every reset costs a transaction per known user and a
/// line in every user's ledger page. The fix wanted is one record of the
/// reset, kept once by the store and applied by a replay to every user.
#[test]
fn a_board_reset_replays_for_a_user_who_had_no_gain_then() {
    let history = [
        Op::Record("follow_given"),
        minutes(1),
        Op::Reset("xp_daily"),
        minutes(1),
    ];
    let (engine, store) = run(follows_worth(0), t0(), &history);
    assert_replays_unchanged(&engine, &store);
    assert_replays_as_if_made_under(follows_worth(0), follows_worth(5), t0(), &history);
}

/// An activity reported late, after a board reset but dated before it,
/// counts on the reset board: the engine notes the `now` it was recorded
/// at, and the replay puts it after the reset, not before it by its date.
/// A follow paying nothing, the daily XP board reset a minute later (the
/// user had no gain on it, so no entry), then a post dated five minutes
/// before the reset: under the same configuration the post's XP stays on
/// the daily board; under one where follows pay, the follow's is cleared
/// and the post's stays.
#[test]
fn an_activity_reported_late_after_a_reset_replays_after_it() {
    let history = [
        Op::Record("follow_given"),
        minutes(1),
        Op::Reset("xp_daily"),
        Op::Late("post_created", TimeDelta::minutes(5)),
    ];
    let (engine, store) = run(follows_worth(0), t0(), &history);
    assert!(state(&store).windows.contains_key("xp_daily"));
    let noted = store.activities(USER).unwrap()[1].recorded_at;
    assert!(noted.is_some_and(|n| n > t0() + TimeDelta::minutes(1)));
    assert_replays_unchanged(&engine, &store);
    assert_replays_as_if_made_under(follows_worth(0), follows_worth(5), t0(), &history);
}

/// Ties, with a clock that does not move: what was recorded at a reset's
/// very time before it comes before it (the follow's XP is cleared); what
/// is recorded after it at the same clock reading is recorded a
/// nanosecond after the reset, and comes after it (the second follow's XP
/// stays, dated at the reset's time or just before).
#[test]
fn at_a_reset_s_very_instant_what_came_before_and_after_keep_their_order() {
    let history = [
        Op::Record("follow_given"),
        Op::ResetNow("xp_daily"),
        Op::Record("follow_given"),
        Op::Late("follow_given", TimeDelta::seconds(1)),
    ];
    let (engine, store) = run(follows_worth(0), t0(), &history);
    let noted: Vec<_> = store
        .activities(USER)
        .unwrap()
        .iter()
        .map(|a| a.recorded_at)
        .collect();
    let after = t0() + TimeDelta::nanoseconds(1);
    assert_eq!(noted, [None, Some(after), Some(after)]);
    assert_replays_unchanged(&engine, &store);
    assert_replays_as_if_made_under(follows_worth(0), follows_worth(5), t0(), &history);
    let (_, there) = run(follows_worth(5), t0(), &history);
    assert_eq!(
        state(&there).windows.get("xp_daily").map(|g| g.amount),
        Some(10)
    );
}

/// A board reset made before the store kept them (by an older version):
/// only the users with a gain have an entry of it, which the replay
/// applies where it is, as before. Written here through the store as that
/// version wrote it: a post, then a minute later the daily XP board's gain
/// cleared with a `BoardReset` entry, then another post.
#[test]
fn a_reset_from_before_resets_were_kept_replays_as_before() {
    use gamify::ledger::LedgerDraft;
    use gamify::outcome::{Event, Outcome};
    use gamify::store::Commit;

    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let clock = Arc::new(FakeClock::new(t0()));
    let engine = Engine::builder(Config::sparkle())
        .shared_store(store.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    engine
        .record(Activity::new("p0", USER, "post_created", t0()))
        .unwrap();
    clock.advance(TimeDelta::minutes(1));
    let reset_at = engine.now();
    store
        .transact(USER, None, &mut |state| {
            state.windows.remove("xp_daily");
            let mut outcome = Outcome::new(USER, None, reset_at);
            outcome.events.push(Event::BoardReset {
                board: "xp_daily".into(),
            });
            Ok(Commit {
                outcome,
                ledger: vec![LedgerDraft {
                    currency: Currency::Xp,
                    amount: 0,
                    reason: Reason::BoardReset {
                        board: "xp_daily".into(),
                    },
                }],
            })
        })
        .unwrap();
    clock.advance(TimeDelta::minutes(1));
    engine
        .record(Activity::new("p1", USER, "post_created", engine.now()))
        .unwrap();
    assert!(store.board_resets().unwrap().is_empty());
    let daily = state(&store).windows.get("xp_daily").map(|g| g.amount);
    assert!(
        daily < Some(state(&store).xp),
        "the reset cleared the first post"
    );
    assert_replays_unchanged(&engine, &store);
}

/// A store that keeps no board resets (one written before the trait had
/// them, relying on the defaults): a reset is refused, changing nothing,
/// rather than made in a way a replay would half undo; everything else,
/// replay included, works.
#[test]
fn a_store_that_keeps_no_resets_refuses_a_reset_and_changes_nothing() {
    use gamify::ledger::LedgerEntry;
    use gamify::store::{Step, StoreError, TransactResult};

    /// `MemoryStore`, less the two board reset methods.
    struct Older(MemoryStore);

    impl Store for Older {
        fn transact(
            &self,
            user: UserId,
            activity: Option<&Activity>,
            step: &mut Step<'_, gamify::step::StepError>,
        ) -> TransactResult {
            self.0.transact(user, activity, step)
        }
        fn load(&self, user: UserId) -> Result<Option<UserState>, StoreError> {
            self.0.load(user)
        }
        fn users(&self) -> Result<Vec<UserId>, StoreError> {
            self.0.users()
        }
        fn ledger(
            &self,
            user: UserId,
            from: u64,
            limit: usize,
        ) -> Result<Vec<LedgerEntry>, StoreError> {
            self.0.ledger(user, from, limit)
        }
        fn activities(&self, user: UserId) -> Result<Vec<Activity>, StoreError> {
            self.0.activities(user)
        }
    }

    let store: Arc<dyn Store> = Arc::new(Older(MemoryStore::new()));
    let engine = Engine::builder(Config::sparkle())
        .shared_store(store.clone())
        .clock(FakeClock::new(t0()))
        .build()
        .unwrap();
    engine
        .record(Activity::new("p0", USER, "post_created", t0()))
        .unwrap();
    let before = state(&store);
    let ledger = store.ledger(USER, 0, usize::MAX).unwrap();
    let daily = |e: &Engine| e.board("xp_daily").unwrap().rank_of(USER).map(|s| s.score);
    let live = daily(&engine);
    let refused = engine.reset_board("xp_daily");
    assert!(
        matches!(
            refused,
            Err(gamify::engine::RecordError::Store(StoreError::Unsupported(
                _
            )))
        ),
        "{refused:?}"
    );
    assert_eq!(state(&store), before);
    assert_eq!(store.ledger(USER, 0, usize::MAX).unwrap(), ledger);
    assert_eq!(daily(&engine), live);
    assert!(live.is_some());
    // An all-time board has no window: nothing to keep, as before.
    assert!(!engine.reset_board("xp_all_time").unwrap());
    engine
        .adjust(USER, Currency::Xp, 10, "still works")
        .unwrap();
    assert_replays_unchanged(&engine, &store);
}

/// An activity stamped a little after `now` (within the configured
/// tolerance for clock skew) counts on the windowed boards in the window
/// of `now` (`Board::record`: the board never rolls ahead of `now`), and
/// the state's window gain follows the board. The store keeps the `now` it
/// was recorded at (`Activity::recorded_at`), and the replay steps it
/// there: one stamped just past midnight stays in the day it counted in,
/// the replay reports no change, and the rebuilt daily board keeps the
/// user. (The replay once stepped it at its own time, in the next day.)
#[test]
fn an_activity_stamped_past_midnight_by_clock_skew_replays_unchanged() {
    let now = Utc.with_ymd_and_hms(2026, 5, 4, 23, 59, 0).unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let engine = Engine::builder(Config::sparkle())
        .shared_store(store.clone())
        .clock(FakeClock::new(now))
        .build()
        .unwrap();
    let skewed = now + TimeDelta::minutes(2);
    engine
        .record(Activity::new("a", USER, "post_created", skewed))
        .unwrap();
    let daily = |e: &Engine| e.board("xp_daily").unwrap().rank_of(USER).map(|s| s.score);
    let live = daily(&engine);
    assert!(live.is_some());
    assert_replays_unchanged(&engine, &store);
    assert_eq!(daily(&engine), live);
}

/// The engine notes the `now` of an activity stamped after it, and only of
/// such an activity, in a batch as one by one; a repeat delivered later
/// (noted otherwise, or not at all) is still the same activity; and the
/// history replays unchanged.
#[test]
fn only_an_activity_stamped_ahead_is_noted_and_its_repeat_is_a_duplicate() {
    let now = Utc.with_ymd_and_hms(2026, 5, 4, 23, 59, 0).unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let clock = Arc::new(FakeClock::new(now));
    let engine = Engine::builder(Config::sparkle())
        .shared_store(store.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let ahead = Activity::new("ahead", USER, "post_created", now + TimeDelta::minutes(2));
    // What a host sets is replaced by what the engine notes.
    let claimed = Activity {
        recorded_at: Some(now - TimeDelta::days(3)),
        ..Activity::new("claimed", USER, "comment_created", now)
    };
    let results = engine.record_batch(&[claimed, ahead.clone()]).unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    engine
        .record(Activity::new(
            "ahead1",
            USER,
            "follow_received",
            now + TimeDelta::seconds(1),
        ))
        .unwrap();
    let noted = |store: &Arc<dyn Store>| -> Vec<(String, Option<DateTime<Utc>>)> {
        store
            .activities(USER)
            .unwrap()
            .into_iter()
            .map(|a| (a.id.to_string(), a.recorded_at))
            .collect()
    };
    let want = [
        ("claimed".to_owned(), None),
        ("ahead".to_owned(), Some(now)),
        ("ahead1".to_owned(), Some(now)),
    ];
    assert_eq!(noted(&store), want);
    // Delivered again past its own time: a repeat, nothing noted anew.
    clock.advance(TimeDelta::minutes(5));
    assert!(engine.record(ahead.clone()).unwrap().duplicate);
    let batch = engine.record_batch(&[ahead]).unwrap();
    assert!(matches!(&batch[..], [Ok(r)] if r.duplicate), "{batch:?}");
    assert_eq!(noted(&store), want);
    assert_replays_unchanged(&engine, &store);
}

/// An activity stamped ahead of the engine's clock that pays nothing has
/// no place in the ledger: among admin operations it goes by the `now` it
/// was recorded at, not its stamp. A follow (paying nothing) stamped two
/// minutes ahead at 23:59 UTC, then half a minute later a move to
/// Santiago, four hours behind: the follow's day (in the streak) is the
/// 5th, as it was counted in UTC. (Placed by its stamp, after the move,
/// the replay counted its day in Santiago, the 4th.)
#[test]
fn an_activity_stamped_ahead_that_paid_nothing_replays_before_a_later_operation() {
    let now = Utc.with_ymd_and_hms(2026, 5, 4, 23, 59, 0).unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let clock = Arc::new(FakeClock::new(now));
    let engine = Engine::builder(follows_worth(0))
        .shared_store(store.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let ahead = Activity::new("f", USER, "follow_given", now + TimeDelta::minutes(2));
    engine.record(ahead).unwrap();
    assert_eq!(store.ledger(USER, 0, usize::MAX).unwrap(), vec![]);
    clock.advance(TimeDelta::seconds(30));
    engine.set_time_zone(USER, Tz::America__Santiago).unwrap();
    let day = state(&store).streak.last_day;
    assert_eq!(
        day,
        Utc.with_ymd_and_hms(2026, 5, 5, 0, 0, 0)
            .unwrap()
            .date_naive()
            .into()
    );
    assert_replays_unchanged(&engine, &store);
}

/// A history as a version from before grants and time-zone changes were
/// ledger entries wrote it, written here through the store as it did: a
/// post, a minute later a grant of a zero-pay `ach_bug_hunter` with no
/// entry (its score counted in the windowed achievement boards), and
/// `zone` set the same way if given, then another post a minute later.
fn old_history(zone: Option<Tz>) -> (Engine, Arc<dyn Store>, Arc<FakeClock>) {
    use gamify::leaderboard::Source;
    use gamify::outcome::Outcome;
    use gamify::state::WindowGain;
    use gamify::store::Commit;

    let free = achievement_paying("ach_bug_hunter", 0);
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let clock = Arc::new(FakeClock::new(t0()));
    let engine = Engine::builder(free.clone())
        .shared_store(store.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    engine
        .record(Activity::new("p0", USER, "post_created", t0()))
        .unwrap();
    clock.advance(TimeDelta::minutes(1));
    let granted_at = engine.now();
    store
        .transact(USER, None, &mut |state| {
            if zone.is_some() {
                state.time_zone = zone;
            }
            let unlock = free
                .achievements
                .grant(&mut state.achievements, "ach_bug_hunter", granted_at)
                .unwrap()
                .unwrap();
            for board in free.boards.iter() {
                let (Source::AchievementScore, Some(kind)) =
                    (&board.source, board.window.period_kind())
                else {
                    continue;
                };
                let window = kind.containing(granted_at, board.time_zone).first_day();
                state
                    .windows
                    .entry(gamify::Name::new(&board.id))
                    .or_insert(WindowGain { window, amount: 0 })
                    .amount += unlock.score;
            }
            Ok(Commit {
                outcome: Outcome::new(USER, None, granted_at),
                ledger: vec![],
            })
        })
        .unwrap();
    clock.advance(TimeDelta::minutes(1));
    engine
        .record(Activity::new("p1", USER, "post_created", engine.now()))
        .unwrap();
    (engine, store, clock)
}

/// A history written before grants and time-zone changes were ledger
/// entries (a zone set, and a grant paying nothing, with no entry): the
/// grant is kept from the state and re-applied, the zone is kept, and a
/// replay under the same configuration changes nothing.
#[test]
fn an_old_history_without_grant_or_zone_entries_still_replays() {
    let (engine, store, _) = old_history(Some(Tz::Asia__Kolkata));
    let before = state(&store);
    assert!(before.achievements.is_unlocked("ach_bug_hunter"));
    let report = engine.replay_dry_run().unwrap();
    assert!(report.changes.is_empty(), "{:?}", report.changes);
    engine.replay().unwrap();
    assert_eq!(state(&store), before);
    assert_ledger_sums_to_balances(&store);
}

fn op() -> impl Strategy<Value = Op> {
    const KINDS: [&str; 5] = [
        "post_created",
        "daily_login",
        "follow_received",
        "comment_created",
        "reaction_given",
    ];
    const ACHIEVEMENTS: [&str; 4] = [
        "ach_early_adopter",
        "ach_bug_hunter",
        "ach_level_10",
        "ach_first_post",
    ];
    const ZONES: [Tz; 3] = [Tz::Asia__Kolkata, Tz::America__Santiago, Tz::UTC];
    const BOARDS: [&str; 3] = ["xp_daily", "achievements_weekly", "posts_daily"];
    prop_oneof![
        4 => (0..KINDS.len()).prop_map(|k| Op::Record(KINDS[k])),
        3 => (0..600i64).prop_map(minutes),
        2 => (any::<bool>(), -300..3_000i64).prop_map(|(xp, amount)| Op::Adjust(
            if xp { Currency::Xp } else { Currency::Points },
            amount
        )),
        1 => (0..ACHIEVEMENTS.len()).prop_map(|a| Op::Grant(ACHIEVEMENTS[a])),
        1 => (0..ACHIEVEMENTS.len()).prop_map(|a| Op::Revoke(ACHIEVEMENTS[a])),
        1 => (0..ZONES.len()).prop_map(|z| Op::Zone(ZONES[z])),
        1 => (0..BOARDS.len()).prop_map(|b| Op::Reset(BOARDS[b])),
        1 => (0..BOARDS.len()).prop_map(|b| Op::ResetNow(BOARDS[b])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any history of activities and admin operations, interleaved, replays
    /// under its own configuration to what it built; under one where posts
    /// pay more, to what making it there builds.
    #[test]
    fn any_history_replays_unchanged(history in prop::collection::vec(op(), 1..40)) {
        let start = Utc.with_ymd_and_hms(2026, 5, 4, 21, 0, 0).unwrap();
        let (engine, store, refused) = try_run(Config::sparkle(), start, &history);
        if store.load(USER).unwrap().is_none() {
            return Ok(());
        }
        let before = state(&store);
        let dry = engine.replay_dry_run().unwrap();
        prop_assert!(dry.changes.is_empty(), "dry run: {:?}", dry.changes);
        engine.replay().unwrap();
        prop_assert_eq!(state(&store), before);
        assert_ledger_sums_to_balances(&store);

        // Under a changed configuration, where it is well defined: the
        // same operations succeed both ways.
        let richer = posts_worth(120);
        let (_, expected, refused_there) = try_run(richer.clone(), start, &history);
        if refused == 0 && refused_there == 0 {
            let (_, store, _) = try_run(Config::sparkle(), start, &history);
            let replayer = Engine::builder(richer)
                .shared_store(store.clone())
                .clock(FakeClock::new(start + TimeDelta::days(30)))
                .build()
                .unwrap();
            replayer.replay().unwrap();
            prop_assert_eq!(state(&store), state(&expected));
            assert_ledger_sums_to_balances(&store);
        }
    }
}

/// Sparkle with achievement `id`'s metric threshold at `at_least`.
fn threshold(id: &str, at_least: u64) -> Config {
    let mut value = serde_json::to_value(Config::sparkle()).unwrap();
    let list = value["achievements"]["achievements"]
        .as_array_mut()
        .unwrap();
    let entry = list.iter_mut().find(|a| a["id"] == id).unwrap();
    entry["criterion"]["at_least"] = at_least.into();
    serde_json::from_value(value).unwrap()
}

/// A grant of an achievement the criterion had already unlocked changed
/// nothing when it was made, but under a configuration where the
/// criterion is not met yet it unlocks the achievement there.
#[test]
fn a_grant_of_an_unlocked_achievement_replays_where_it_was_made() {
    let history = [
        Op::Record("post_created"),
        minutes(1),
        Op::Grant("ach_first_post"),
        minutes(1),
        Op::Record("post_created"),
    ];
    let (engine, store) = run(Config::sparkle(), t0(), &history);
    assert_replays_unchanged(&engine, &store);
    assert_replays_as_if_made_under(
        Config::sparkle(),
        threshold("ach_first_post", 3),
        t0(),
        &history,
    );
}

/// An old history (a grant made before grants wrote entries), then the
/// same grant made again, which changes nothing: a repeat of a grant writes
/// no entry, so the replay still re-applies the old grant at the time it
/// unlocked rather than at the repeat's.
#[test]
fn a_repeated_grant_on_an_old_history_replays_unchanged() {
    let (engine, store, clock) = old_history(None);
    // Sanity: the old history alone replays unchanged.
    assert!(engine.replay_dry_run().unwrap().changes.is_empty());
    // A moderator grants it again, the next day: nothing to unlock.
    clock.advance(TimeDelta::days(1));
    let again = engine.grant(USER, "ach_bug_hunter").unwrap();
    assert!(again.events.is_empty(), "{:?}", again.events);
    let before = state(&store);
    let report = engine.replay_dry_run().unwrap();
    assert!(report.changes.is_empty(), "{:?}", report.changes);
    engine.replay().unwrap();
    let after = state(&store);
    assert_eq!(
        after.achievements.unlocked_at("ach_bug_hunter"),
        before.achievements.unlocked_at("ach_bug_hunter")
    );
    assert_eq!(after, before);
}

/// An activity that writes no ledger entry (a second login on a day the
/// check-in quest has paid) has no place of its own in the ledger: a
/// replay places it among admin operations by time, and one recorded at
/// an operation's very clock reading, or dated a little before it, is
/// walked before it. Recorded right after a change of time zone, it came
/// after the change: live it is a repeat of the day's login in UTC and
/// pays nothing, but the replay counts it in Tokyo, the zone before, where
/// it is a new day and pays the quest's 10 XP. Fixing it needs the order
/// of a user's silent activities and operations kept where a restarted
/// engine can read it (a fix through in-memory times per lock stripe was
/// tried and reverted: an engine built again mid-history dated operations
/// differently).
#[test]
#[ignore = "known defect: a silent activity recorded after an operation at the same clock reading, or dated before it, replays before it"]
fn a_silent_activity_recorded_after_an_operation_replays_after_it() {
    // 16:00 UTC on 4 May is 01:00 on 5 May in Tokyo: the zone decides the
    // login's day.
    let afternoon = Utc.with_ymd_and_hms(2026, 5, 4, 16, 0, 0).unwrap();
    let back_and_forth = [
        Op::Record("daily_login"),
        Op::Zone(Tz::Asia__Tokyo),
        minutes(1),
        Op::Zone(Tz::UTC),
    ];
    let at_the_same_reading = [Op::Record("daily_login")];
    let dated_before = [minutes(1), Op::Late("daily_login", TimeDelta::seconds(90))];
    for last in [&at_the_same_reading[..], &dated_before[..]] {
        let history: Vec<Op> = back_and_forth.iter().chain(last).cloned().collect();
        let (engine, store) = run(Config::sparkle(), afternoon, &history);
        let ledger = store.ledger(USER, 0, usize::MAX).unwrap();
        let logins_that_paid = ledger.iter().filter(|e| e.activity.is_some()).count();
        assert_eq!(logins_that_paid, 1, "the second login paid: {ledger:?}");
        assert_replays_unchanged(&engine, &store);
    }
}

//! Model-based test: random sequences of record, duplicate delivery,
//! conflicting payload, admin adjustment, time-zone change, revocation,
//! board reset and replay, interleaved per user, run against the engine and
//! against a simple reference model; every user's state must be equal (and
//! its ledger sum to its balances) after every step, and a replay under the
//! same configuration must change nothing.
//!
//! The model keeps its own map of recorded ids and applies the pure step to
//! its own states directly: it checks that the engine's plumbing (exactly
//! once, refusals, adjustments, replay) adds and loses nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use gamify::activity::{Activity, ActivityId, UserId};
use gamify::config::Config;
use gamify::engine::{Engine, RecordError};
use gamify::leaderboard::Source;
use gamify::ledger::Currency;
use gamify::state::{UserState, WindowGain};
use gamify::time::{FakeClock, Tz};
use proptest::prelude::*;

const KINDS: [&str; 6] = [
    "post_created",
    "comment_created",
    "reaction_given",
    "daily_login",
    "follow_received",
    "not_a_kind",
];

#[derive(Debug, Clone)]
enum Command {
    Record {
        user: u64,
        kind: usize,
        id: u8,
        minutes: u16,
    },
    Adjust {
        user: u64,
        xp: bool,
        amount: i64,
    },
    SetZone {
        user: u64,
        zone: bool,
    },
    Revoke {
        user: u64,
        achievement: usize,
    },
    Reset {
        board: usize,
    },
    Replay,
}

/// Achievements the model revokes: unlocked by the first post and the first
/// follower, so sequences revoke them before, after and between unlocks.
const REVOCABLE: [&str; 2] = ["ach_first_post", "ach_first_follower"];

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        8 => (1..4u64, 0..KINDS.len(), 0..40u8, 0..3000u16)
            .prop_map(|(user, kind, id, minutes)| Command::Record { user, kind, id, minutes }),
        2 => (1..4u64, any::<bool>(), -400..400i64)
            .prop_map(|(user, xp, amount)| Command::Adjust { user, xp, amount }),
        2 => (1..4u64, any::<bool>()).prop_map(|(user, zone)| Command::SetZone { user, zone }),
        1 => (1..4u64, 0..REVOCABLE.len())
            .prop_map(|(user, achievement)| Command::Revoke { user, achievement }),
        1 => (0..RESETTABLE.len()).prop_map(|board| Command::Reset { board }),
        1 => Just(Command::Replay),
    ]
}

/// One entry of a user's history, in the order it happened.
#[derive(Debug, Clone)]
enum Past {
    Activity(Activity),
    Adjust {
        xp: bool,
        amount: i64,
        at: DateTime<Utc>,
    },
    Zone(Tz),
    Revoke(&'static str),
    Reset(&'static str),
}

/// The reference model.
#[derive(Default)]
struct Model {
    states: BTreeMap<UserId, UserState>,
    recorded: BTreeMap<ActivityId, Activity>,
    /// Each user's history, as it happened: what a replay walks.
    history: BTreeMap<UserId, Vec<Past>>,
    /// When each user's last admin operation was made.
    last_admin: BTreeMap<UserId, DateTime<Utc>>,
}

/// A gain counts in the current window of each windowed XP board.
fn add_window_gain(config: &Config, state: &mut UserState, gain: u64, now: DateTime<Utc>) {
    if gain == 0 {
        return;
    }
    for board in config.boards.iter().filter(|b| b.source == Source::Xp) {
        let Some(kind) = board.window.period_kind() else {
            continue;
        };
        let window = kind.containing(now, board.time_zone).first_day();
        let entry = state
            .windows
            .entry(gamify::Name::new(&board.id))
            .or_insert(WindowGain { window, amount: 0 });
        if entry.window < window {
            *entry = WindowGain { window, amount: 0 };
        }
        if entry.window == window {
            entry.amount = entry.amount.saturating_add(gain);
        }
    }
}

/// Apply one past entry to `state`, as the engine does live; `false` if
/// it is refused (the state is then unchanged).
fn apply(config: &Config, state: &mut UserState, past: &Past) -> bool {
    match past {
        Past::Activity(a) => gamify::step::step(config, state, a, a.at).is_ok(),
        Past::Adjust { xp, amount, at } => {
            let balance = if *xp {
                &mut state.xp
            } else {
                &mut state.points
            };
            let Some(new) = balance.checked_add_signed(*amount) else {
                return false;
            };
            *balance = new;
            if *xp {
                state.level = config.curve.level_for_xp(state.xp);
                if let Ok(gain) = u64::try_from(*amount) {
                    add_window_gain(config, state, gain, *at);
                }
            }
            true
        }
        Past::Zone(tz) => {
            state.time_zone = Some(*tz);
            true
        }
        Past::Revoke(id) => config
            .achievements
            .revoke(&mut state.achievements, id)
            .is_ok(),
        Past::Reset(board) => {
            state.windows.remove(board);
            true
        }
    }
}

impl Model {
    fn record(&mut self, config: &Config, a: &Activity) -> Result<bool, ()> {
        if let Some(first) = self.recorded.get(&a.id) {
            return if first == a { Ok(true) } else { Err(()) };
        }
        self.recorded.insert(a.id.clone(), a.clone());
        if self.apply(config, a.user, Past::Activity(a.clone())) {
            Ok(false)
        } else {
            self.recorded.remove(&a.id);
            Err(())
        }
    }

    /// Apply `past` to `user`'s state; kept in the history if it applied.
    fn apply(&mut self, config: &Config, user: UserId, past: Past) -> bool {
        let mut state = self.states.get(&user).cloned().unwrap_or_default();
        if !apply(config, &mut state, &past) {
            return false;
        }
        self.states.insert(user, state);
        self.history.entry(user).or_default().push(past);
        true
    }

    /// An admin operation at `now`.
    fn admin(&mut self, config: &Config, user: UserId, past: Past, now: DateTime<Utc>) -> bool {
        self.last_admin.insert(user, now);
        self.apply(config, user, past)
    }

    /// Replay: each user's history walked, in the order it happened, into
    /// a fresh state.
    fn replay(&mut self, config: &Config) {
        for (user, state) in &mut self.states {
            let mut fresh = UserState::default();
            for past in self.history.get(user).into_iter().flatten() {
                apply(config, &mut fresh, past);
            }
            *state = fresh;
        }
    }
}

/// Windowed boards the model resets.
const RESETTABLE: [&str; 2] = ["xp_daily", "posts_weekly"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn engine_matches_the_model(commands in prop::collection::vec(command(), 1..60)) {
        let config = Config::sparkle();
        let start = Utc.with_ymd_and_hms(2026, 3, 7, 18, 0, 0).unwrap();
        let clock = Arc::new(FakeClock::new(start));
        let engine = Engine::builder(config.clone()).clock(clock.clone()).build().unwrap();
        let mut model = Model::default();
        let mut now = start;
        for command in commands {
            match command {
                Command::Record { user, kind, id, minutes } => {
                    // Time moves forward; the activity may be up to two days
                    // old, but not older than the user's last admin
                    // operation: an activity that pays nothing is placed
                    // among admin operations by its time (see replay.rs).
                    now += TimeDelta::minutes(7);
                    clock.set(now);
                    let mut at = now - TimeDelta::minutes(i64::from(minutes));
                    if let Some(last) = model.last_admin.get(&UserId(user)) {
                        at = at.max(*last + TimeDelta::seconds(1));
                    }
                    let a = Activity::new(format!("a{id}"), UserId(user), KINDS[kind], at);
                    let expected = model.record(&config, &a);
                    match (engine.record(a), expected) {
                        (Ok(r), Ok(dup)) => prop_assert_eq!(r.duplicate, dup),
                        (Err(RecordError::Conflict(_)), Err(())) | (Err(RecordError::Refused(_)), Err(())) => {}
                        (got, want) => prop_assert!(false, "engine {:?}, model {:?}", got.map(|r| r.duplicate), want),
                    }
                }
                Command::Adjust { user, xp, amount } => {
                    let currency = if xp { Currency::Xp } else { Currency::Points };
                    let ok = model.admin(&config, UserId(user), Past::Adjust { xp, amount, at: now }, now);
                    prop_assert_eq!(engine.adjust(UserId(user), currency, amount, "test").is_ok(), ok);
                }
                Command::SetZone { user, zone } => {
                    let tz = if zone { Tz::America__Santiago } else { Tz::Asia__Kolkata };
                    engine.set_time_zone(UserId(user), tz).unwrap();
                    model.admin(&config, UserId(user), Past::Zone(tz), now);
                }
                Command::Revoke { user, achievement } => {
                    let id = REVOCABLE[achievement];
                    engine.revoke(UserId(user), id).unwrap();
                    model.admin(&config, UserId(user), Past::Revoke(id), now);
                }
                Command::Reset { board } => {
                    let board = RESETTABLE[board];
                    prop_assert!(engine.reset_board(board).unwrap());
                    let users: Vec<UserId> = model.states.keys().copied().collect();
                    for user in users {
                        if model.states[&user].windows.contains_key(board) {
                            model.admin(&config, user, Past::Reset(board), now);
                        }
                    }
                }
                Command::Replay => {
                    // Under the same configuration the history replays to
                    // the state it built.
                    let dry = engine.replay_dry_run().unwrap();
                    prop_assert!(dry.changes.is_empty(), "dry run: {:?}", dry.changes);
                    let report = engine.replay().unwrap();
                    prop_assert!(report.changes.is_empty(), "replay: {:?}", report.changes);
                    model.replay(&config);
                }
            }
            let store = engine.store();
            prop_assert_eq!(store.users().unwrap(), model.states.keys().copied().collect::<Vec<_>>());
            for (user, state) in &model.states {
                prop_assert_eq!(&store.load(*user).unwrap().unwrap(), state);
                // The ledger sums to the balances.
                let ledger = store.ledger(*user, 0, usize::MAX).unwrap();
                prop_assert_eq!(gamify::ledger::balance(&ledger, Currency::Xp), i128::from(state.xp));
                prop_assert_eq!(gamify::ledger::balance(&ledger, Currency::Points), i128::from(state.points));
            }
        }
    }
}

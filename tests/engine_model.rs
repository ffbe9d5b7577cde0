//! Model-based test: random sequences of record, duplicate delivery,
//! conflicting payload, admin adjustment, revocation and replay, run
//! against the engine
//! and against a simple reference model; every user's state must be equal
//! after every step.
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
        1 => (1..4u64, any::<bool>()).prop_map(|(user, zone)| Command::SetZone { user, zone }),
        1 => (1..4u64, 0..REVOCABLE.len())
            .prop_map(|(user, achievement)| Command::Revoke { user, achievement }),
        1 => Just(Command::Replay),
    ]
}

/// The reference model.
#[derive(Default)]
struct Model {
    states: BTreeMap<UserId, UserState>,
    recorded: BTreeMap<ActivityId, Activity>,
    log: BTreeMap<UserId, Vec<Activity>>,
    adjustments: BTreeMap<UserId, (i128, i128)>,
    /// XP added by adjustments, with when: they count in windows.
    gains: BTreeMap<UserId, Vec<(u64, DateTime<Utc>)>>,
    /// Revocations, each with how many of the user's activities were
    /// recorded before it.
    revocations: BTreeMap<UserId, Vec<(usize, &'static str)>>,
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

impl Model {
    fn record(&mut self, config: &Config, a: &Activity, now: DateTime<Utc>) -> Result<bool, ()> {
        if let Some(first) = self.recorded.get(&a.id) {
            return if first == a { Ok(true) } else { Err(()) };
        }
        let mut state = self.states.get(&a.user).cloned().unwrap_or_default();
        gamify::step::step(config, &mut state, a, now).map_err(|_| ())?;
        self.states.insert(a.user, state);
        self.recorded.insert(a.id.clone(), a.clone());
        self.log.entry(a.user).or_default().push(a.clone());
        Ok(false)
    }

    fn adjust(
        &mut self,
        config: &Config,
        user: UserId,
        xp: bool,
        amount: i64,
        now: DateTime<Utc>,
    ) -> bool {
        let mut state = self.states.get(&user).cloned().unwrap_or_default();
        let balance = if xp { &mut state.xp } else { &mut state.points };
        let Some(new) = balance.checked_add_signed(amount) else {
            return false;
        };
        *balance = new;
        if xp {
            state.level = config.curve.level_for_xp(state.xp);
            if let Ok(gain) = u64::try_from(amount) {
                add_window_gain(config, &mut state, gain, now);
                self.gains.entry(user).or_default().push((gain, now));
            }
        }
        self.states.insert(user, state);
        let sums = self.adjustments.entry(user).or_default();
        if xp {
            sums.0 += i128::from(amount);
        } else {
            sums.1 += i128::from(amount);
        }
        true
    }

    /// Revoke `id`: remembered for the replay, in order with the activities.
    fn revoke(&mut self, config: &Config, user: UserId, id: &'static str) {
        let state = self.states.entry(user).or_default();
        config
            .achievements
            .revoke(&mut state.achievements, id)
            .unwrap();
        let recorded = self.log.get(&user).map_or(0, Vec::len);
        self.revocations
            .entry(user)
            .or_default()
            .push((recorded, id));
    }

    /// Replay: each user's activities folded into a fresh state (keeping the
    /// time zone), revocations between them where they were made, then the
    /// net adjustments added, then the revocations after the last activity.
    fn replay(&mut self, config: &Config) {
        for (user, state) in &mut self.states {
            let mut fresh = UserState {
                time_zone: state.time_zone,
                ..UserState::default()
            };
            let revoked = self.revocations.get(user).map_or(&[][..], Vec::as_slice);
            let revoke_at = |fresh: &mut UserState, i: usize| {
                for (_, id) in revoked.iter().filter(|(at, _)| *at == i) {
                    config
                        .achievements
                        .revoke(&mut fresh.achievements, id)
                        .unwrap();
                }
            };
            let log = self.log.get(user).map_or(&[][..], Vec::as_slice);
            for (i, a) in log.iter().enumerate() {
                revoke_at(&mut fresh, i);
                let _ = gamify::step::step(config, &mut fresh, a, a.at);
            }
            for (gain, at) in self.gains.get(user).into_iter().flatten() {
                add_window_gain(config, &mut fresh, *gain, *at);
            }
            let (xp, points) = self.adjustments.get(user).copied().unwrap_or_default();
            let add = |b: u64, d: i128| u64::try_from((i128::from(b) + d).max(0)).unwrap();
            fresh.xp = add(fresh.xp, xp);
            fresh.points = add(fresh.points, points);
            fresh.level = config.curve.level_for_xp(fresh.xp);
            revoke_at(&mut fresh, log.len());
            *state = fresh;
        }
    }
}

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
                    // Time moves forward; the activity may be up to two days old.
                    now += TimeDelta::minutes(7);
                    clock.set(now);
                    let at = now - TimeDelta::minutes(i64::from(minutes));
                    let a = Activity::new(format!("a{id}"), UserId(user), KINDS[kind], at);
                    let expected = model.record(&config, &a, now);
                    match (engine.record(a), expected) {
                        (Ok(r), Ok(dup)) => prop_assert_eq!(r.duplicate, dup),
                        (Err(RecordError::Conflict(_)), Err(())) | (Err(RecordError::Refused(_)), Err(())) => {}
                        (got, want) => prop_assert!(false, "engine {:?}, model {:?}", got.map(|r| r.duplicate), want),
                    }
                }
                Command::Adjust { user, xp, amount } => {
                    let currency = if xp { Currency::Xp } else { Currency::Points };
                    let ok = model.adjust(&config, UserId(user), xp, amount, now);
                    prop_assert_eq!(engine.adjust(UserId(user), currency, amount, "test").is_ok(), ok);
                }
                Command::SetZone { user, zone } => {
                    let tz = if zone { Tz::America__Santiago } else { Tz::Asia__Kolkata };
                    engine.set_time_zone(UserId(user), tz).unwrap();
                    model.states.entry(UserId(user)).or_default().time_zone = Some(tz);
                }
                Command::Revoke { user, achievement } => {
                    let id = REVOCABLE[achievement];
                    engine.revoke(UserId(user), id).unwrap();
                    model.revoke(&config, UserId(user), id);
                }
                Command::Replay => {
                    engine.replay().unwrap();
                    model.replay(&config);
                }
            }
            let store = engine.store();
            prop_assert_eq!(store.users().unwrap(), model.states.keys().copied().collect::<Vec<_>>());
            for (user, state) in &model.states {
                prop_assert_eq!(&store.load(*user).unwrap().unwrap(), state);
            }
        }
    }
}

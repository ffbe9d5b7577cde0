//! The pure step: a user's state, one activity and `now` in; the new state,
//! the outcome and the ledger entries out.
//!
//! This is the whole game logic of recording an activity, with no IO: the
//! engine runs it inside a store transaction, and a host that does its own
//! IO (async included) can run it itself.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use gamify::activity::{Activity, UserId};
//! use gamify::config::Config;
//! use gamify::ledger::Currency;
//! use gamify::state::UserState;
//!
//! let config = Config::sparkle();
//! let mut state = UserState::default();
//! let now = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();
//! let post = Activity::new("p1", UserId(7), "post_created", now);
//! let commit = gamify::step::step(&config, &mut state, &post, now).unwrap();
//! assert!(state.xp >= 50);
//! // The ledger written with the state explains the balance exactly.
//! let ledger: i64 = commit.ledger.iter().filter(|d| d.currency == Currency::Xp).map(|d| d.amount).sum();
//! assert_eq!(ledger as u64, state.xp);
//! ```
//!
//! Evaluation runs: the activity's XP (rules, boosts, limits) → metrics →
//! the login streak → quests → level-ups and achievements, which feed each
//! other until neither changes (an unlock's XP can cross a level; a level can
//! unlock an achievement) → the activity's points. The outcome lists the
//! events grouped as users read them: XP awarded, level-ups, achievements,
//! quests, streak, points, then metrics.

mod settle;
mod windows;

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use crate::achievement::Change;
use crate::activity::Activity;
use crate::config::Config;
use crate::ledger::{Currency, LedgerDraft, Reason};
use crate::outcome::{Event, MetricChange, Outcome, Totals};
use crate::state::UserState;
use crate::store::Commit;

pub(crate) use settle::{credit_unlocks, facts, settle_admin};
pub(crate) use windows::{record_windows, source_change, source_total};

/// Why an activity was refused. The state is unchanged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    /// The XP rules refused the activity (unknown kind, out-of-range amount).
    #[error(transparent)]
    Award(#[from] crate::xp::AwardError),
    /// The activity claims to have happened after `now` (beyond the
    /// configured tolerance for clock skew).
    #[error("activity at {at} is later than now ({now})")]
    FromTheFuture {
        /// The activity's time.
        at: DateTime<Utc>,
        /// The engine's time.
        now: DateTime<Utc>,
    },
    /// An adjustment would take a balance below zero or beyond `u64::MAX`.
    #[error(
        "the {currency} balance {balance} cannot change by {change}: a balance stays within 0 and u64::MAX"
    )]
    BalanceOutOfRange {
        /// Which balance.
        currency: Currency,
        /// Its current value.
        balance: u64,
        /// The refused change.
        change: i64,
    },
    /// An admin operation on achievements was refused.
    #[error(transparent)]
    Achievement(#[from] crate::achievement::AchievementError),
    /// A bug in gamify or a store (never caused by input); the text says what.
    #[error("internal error: {0}")]
    Internal(String),
    /// Refused by a host's own step (or a test); the text says why.
    #[error("refused: {0}")]
    Refused(String),
}

/// The events of one step. They happen in one order (a streak before the
/// quest it completes, level-ups between unlocks) and are listed in
/// another, grouped as users read them: XP, levels, achievements, quests,
/// streak, points, metrics. Kept in one vector sorted stably by group at
/// the end, rather than a vector per group: one allocation, not five.
#[derive(Default)]
pub(crate) struct Events(Vec<Event>);

impl Events {
    /// Room for a typical activity's three to five events, allocated on the
    /// first. Not more: eight events of 136 bytes would be over a kilobyte,
    /// past what glibc serves from its per-thread cache. (Gathering them on
    /// the stack instead cost more in moving 136-byte events twice.)
    const TYPICAL: usize = 4;

    pub(crate) fn push(&mut self, event: Event) {
        if self.0.capacity() == 0 {
            self.0.reserve_exact(Self::TYPICAL);
        }
        self.0.push(event);
    }

    pub(crate) fn into_vec(mut self) -> Vec<Event> {
        // Stable: within a group, events keep the order they happened in.
        // Most activities' events happen in the order they are listed in.
        if !self.0.is_sorted_by_key(group) {
            self.0.sort_by_key(group);
        }
        self.0
    }
}

/// Where an event is listed in an outcome (see [`Events`]).
fn group(event: &Event) -> u8 {
    match event {
        Event::XpAwarded { .. } => 0,
        Event::LevelUp { .. } | Event::LevelDown { .. } => 1,
        Event::AchievementUnlocked(_)
        | Event::AchievementProgress { .. }
        | Event::AchievementRevoked { .. } => 2,
        Event::QuestCompleted(_) => 3,
        Event::Streak(_) => 4,
        Event::PointsEarned { .. } => 5,
        Event::MetricsIncremented { .. } => 6,
        // Admin events: listed after what a step causes. Exhaustive on
        // purpose, so a new event must be given its place here.
        Event::Adjusted { .. }
        | Event::TimeZoneChanged { .. }
        | Event::BoardReset { .. }
        | Event::Replayed { .. } => 7,
    }
}

/// The balances, ledger and totals a step accumulates.
pub(crate) struct Books {
    pub(crate) ledger: Vec<LedgerDraft>,
    pub(crate) totals: Totals,
}

impl Books {
    pub(crate) fn new() -> Self {
        Self {
            // An activity's XP, and often its points or a bonus: allocated
            // once, not grown from nothing on the first entry.
            ledger: Vec::with_capacity(4),
            totals: Totals::default(),
        }
    }

    /// Add `amount` of `currency` to the balance (saturating at `u64::MAX`)
    /// and write ledger entries for what was actually added, so balance and
    /// ledger always agree. Returns what was added.
    pub(crate) fn credit(
        &mut self,
        state: &mut UserState,
        currency: Currency,
        amount: u64,
        reason: impl FnOnce() -> Reason,
    ) -> u64 {
        let balance = match currency {
            Currency::Xp => &mut state.xp,
            Currency::Points => &mut state.points,
        };
        let added = amount.min(u64::MAX - *balance);
        if added == 0 {
            return 0;
        }
        *balance += added;
        let total = match currency {
            Currency::Xp => &mut self.totals.xp,
            Currency::Points => &mut self.totals.points,
        };
        *total = total.saturating_add(i64::try_from(added).unwrap_or(i64::MAX));
        match i64::try_from(added) {
            Ok(amount) => self.ledger.push(LedgerDraft {
                currency,
                amount,
                reason: reason(),
            }),
            Err(_) => self.credit_in_parts(currency, added, reason()),
        }
        added
    }

    /// A ledger amount is an `i64`: a credit of more than it holds is
    /// written as several entries (at most three), each for the same
    /// reason. Out of line: it takes a balance near `u64::MAX`.
    #[cold]
    #[inline(never)]
    fn credit_in_parts(&mut self, currency: Currency, added: u64, reason: Reason) {
        let mut left = added;
        while left > i64::MAX as u64 {
            self.ledger.push(LedgerDraft {
                currency,
                amount: i64::MAX,
                reason: reason.clone(),
            });
            left -= i64::MAX as u64;
        }
        self.ledger.push(LedgerDraft {
            currency,
            amount: left as i64,
            reason,
        });
    }
}

/// Apply `activity` to `state` at `now` under `config`.
///
/// On `Err` the state is exactly as it was: everything that can refuse is
/// checked before anything is changed. XP and points saturate at
/// `u64::MAX`; metric counters saturate too.
pub fn step(
    config: &Config,
    state: &mut UserState,
    activity: &Activity,
    now: DateTime<Utc>,
) -> Result<Commit, StepError> {
    let at = activity.at;
    let tolerance = TimeDelta::seconds(i64::from(config.future_tolerance_secs));
    // Past the calendar's end nothing is later than `now + tolerance`.
    if now
        .checked_add_signed(tolerance)
        .is_some_and(|latest| at > latest)
    {
        return Err(StepError::FromTheFuture { at, now });
    }
    let tz = state.time_zone.unwrap_or(config.default_time_zone);

    // Everything that can refuse, first, on the unchanged state.
    let award = config.xp.award(&state.rules, activity, tz)?;

    // From here on nothing fails.
    let mut books = Books::new();
    let mut events = Events::default();
    state.rules.apply(&award);
    let xp = books.credit(state, Currency::Xp, award.xp, || Reason::Activity {
        kind: activity.kind.clone(),
    });
    events.push(Event::XpAwarded {
        amount: xp,
        award: award.clone(),
    });

    let increments = config.increments_of(activity);
    let metric_changes: Vec<MetricChange> = increments
        .iter()
        .map(|(metric, by)| {
            // What was actually added: a counter saturates at `u64::MAX`.
            let (added, total) = state.metrics.add_counted(metric, *by);
            MetricChange {
                metric: metric.clone(),
                by: added,
                total,
            }
        })
        .collect();

    let streak = config.streak.record(&mut state.streak, at, tz);
    if let Some(bonus) = streak.bonus_xp().filter(|b| *b > 0) {
        let days = state.streak.current;
        books.credit(state, Currency::Xp, bonus, || Reason::Streak { days });
    }
    let streak_changed = streak.is_event();
    if streak_changed {
        events.push(Event::Streak(streak));
    }

    let done = config
        .quests
        .record(&mut state.quests, &activity.kind, &increments, at, tz);
    let quests_changed = !done.is_empty();
    for quest in done {
        let reason = || Reason::Quest {
            quest: quest.quest.clone(),
        };
        books.credit(state, Currency::Xp, quest.xp, reason);
        books.credit(state, Currency::Points, quest.points, reason);
        events.push(Event::QuestCompleted(quest));
    }

    let change = Change {
        kind: Some(&activity.kind),
        at,
        tz,
        metrics: &increments,
        attributes: &activity.attributes,
        level_changed: false,
        streak_changed,
        quests_changed,
        achievements_changed: false,
    };
    settle::settle(config, state, change, &mut books, &mut events);

    let points = books.credit(state, Currency::Points, award.points, || Reason::Activity {
        kind: activity.kind.clone(),
    });
    if points > 0 {
        events.push(Event::PointsEarned { amount: points });
    }
    books.totals.close(state);
    // The window the boards count it in: never later than `now` (see
    // `Board::record`).
    record_windows(config, state, &books.totals, &metric_changes, at.min(now));
    if !metric_changes.is_empty() {
        events.push(Event::MetricsIncremented {
            metrics: metric_changes,
        });
    }

    let mut outcome = Outcome::new(activity.user, Some(activity.id.clone()), at);
    outcome.events = events.into_vec();
    outcome.totals = books.totals;
    Ok(Commit {
        outcome,
        ledger: books.ledger,
    })
}

/// Attributes of a change that is not an activity (a level-up cascade, a
/// backfill).
pub(crate) static NO_ATTRIBUTES: BTreeMap<crate::name::Name, i64> = BTreeMap::new();

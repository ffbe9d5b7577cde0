//! Admin operations: manual adjustments, time zones, achievement grants and
//! revocations, board resets. Each is its own atomic store transaction and
//! writes its own ledger entries; history is never edited.

use chrono::{DateTime, Utc};

use crate::activity::UserId;
use crate::config::Config;
use crate::ledger::{Currency, LedgerDraft, Reason};
use crate::name::Name;
use crate::outcome::{Event, Outcome};
use crate::state::UserState;
use crate::step::{Books, StepError};
use crate::store::{BoardReset, Commit, Transacted};
use crate::time::Tz;

use super::{Engine, RecordError};

impl Engine {
    /// Add `amount` (negative to remove) of XP or points to `user`, with the
    /// operator's `note`, as a ledger entry of its own. The level follows the
    /// new XP total, down as well as up (no level-up bonus is paid for an
    /// adjustment); levels it reaches count for the level achievements at
    /// once, whose rewards settle as an activity's would. Refused, changing
    /// nothing, if the balance would go below zero or beyond `u64::MAX`.
    pub fn adjust(
        &self,
        user: UserId,
        currency: Currency,
        amount: i64,
        note: impl Into<String>,
    ) -> Result<Outcome, RecordError> {
        let note = note.into();
        let config = &*self.config;
        self.admin(user, &mut |state, now| {
            adjust(config, user, state, currency, amount, &note, now)
        })
    }

    /// Set the time zone `user`'s days, weeks and months are counted in.
    ///
    /// The streak keeps its last local date: the next activity is compared
    /// with it in the new zone, so a traveller's streak survives the move.
    /// The change is a zero-amount `TimeZoneChanged` ledger entry, so a
    /// replay counts the days of earlier activities in the earlier zone.
    pub fn set_time_zone(&self, user: UserId, tz: Tz) -> Result<Outcome, RecordError> {
        self.admin(user, &mut |state, now| {
            Ok(set_time_zone(user, state, tz, now))
        })
    }

    /// Grant achievement `id` to `user` (the host's "granted" criterion, or a
    /// moderator's choice), with its rewards and any level-ups they cause.
    /// Granting an unlocked achievement changes nothing but the ledger. A
    /// grant lifts a [revocation](Self::revoke) of `id`. A grant is a
    /// zero-amount `Granted` ledger entry, before the entries of what it
    /// pays, so a replay grants it at the same point (even when it pays
    /// nothing, or, under the configuration it was made with, unlocked
    /// nothing: under another one it may). A repeat of a grant that stands
    /// writes nothing: the first grant unlocks it under any configuration.
    pub fn grant(&self, user: UserId, id: &str) -> Result<Outcome, RecordError> {
        let config = &*self.config;
        self.admin(user, &mut |state, now| grant(config, user, state, id, now))
    }

    /// Revoke achievement `id` from `user`. Its XP and points stay (they are
    /// history: use [`adjust`](Self::adjust) to take them back); its score
    /// leaves the achievements board.
    ///
    /// The revocation is remembered: meeting the criterion again (or a
    /// replay finding it met) neither unlocks the achievement nor pays it
    /// again, until a [`grant`](Self::grant) lifts it. Revoking an
    /// achievement the user has not unlocked bars it the same way.
    /// Each new revocation is a zero-amount `Revoked` ledger entry, which a
    /// replay reproduces in order; revoking again changes nothing.
    pub fn revoke(&self, user: UserId, id: &str) -> Result<Outcome, RecordError> {
        let config = &*self.config;
        self.admin(user, &mut |state, now| revoke(config, user, state, id, now))
    }

    /// Close the current window of board `id` now: its standings become the
    /// previous window's final standings and the window starts empty. Each
    /// user's recorded window gain is cleared in its own transaction, so the
    /// reset survives a restart. Returns `false` for an all-time board,
    /// which has no window: its scores are the users' totals (use
    /// [`adjust`](Self::adjust) to change those). A board id the
    /// configuration does not have is [`RecordError::UnknownBoard`].
    ///
    /// Recording waits while it runs (it walks every user): a gain landing
    /// on the fresh board before its user's stored gain was cleared would
    /// be cleared with it, and a restart would lose it.
    ///
    /// The store keeps one record of the reset ([`Store::keep_board_reset`]),
    /// first: a [replay](Self::replay) applies it to every user, also to
    /// one who had no gain on the board then (under the configuration
    /// replayed they may have). A user with a gain also gets a zero-amount
    /// `BoardReset` ledger entry, which explains the reset in their ledger.
    /// A store that does not keep resets refuses
    /// ([`StoreError::Unsupported`](crate::store::StoreError::Unsupported)),
    /// and nothing changes.
    ///
    /// A replay places the reset among a user's activities and operations
    /// by time (see [`replay`](Self::replay)): this engine records whatever
    /// comes after it after its time, and notes an activity recorded after
    /// it but dated at or before it
    /// ([`Activity::recorded_at`](crate::activity::Activity::recorded_at)).
    /// Another engine on the same store learns of the reset when it is
    /// built; what it records before then is placed by its own times.
    ///
    /// [`Store::keep_board_reset`]: crate::store::Store::keep_board_reset
    pub fn reset_board(&self, id: &str) -> Result<bool, RecordError> {
        let Some(spec) = self.config.board(id) else {
            return Err(RecordError::UnknownBoard(id.into()));
        };
        if spec.window.period_kind().is_none() {
            return Ok(false);
        }
        let _every = self.order.lock_every();
        // Read once every record has landed: a record that waited for the
        // locks may have rolled the board past an earlier reading. What
        // waits for this reset reads the clock after it, and records after
        // its time (see `recording_now`).
        let now = self.recording_now();
        // Kept first, so a store that cannot keep it changes nothing.
        self.store.keep_board_reset(&BoardReset {
            board: Name::new(id),
            at: now,
        })?;
        self.latest_reset.set(now);
        if !self.boards.reset(id, now) {
            // The configuration has the board, so the engine has it too.
            return Err(StepError::Internal(format!("board `{id}` has no live board")).into());
        }
        for user in self.store.users()? {
            let touched = self
                .store
                .load(user)?
                .is_some_and(|s| s.windows.contains_key(id));
            if touched {
                self.store.transact(user, None, &mut |state| {
                    Ok(reset_window(user, state, id, now))
                })?;
            }
        }
        Ok(true)
    }

    /// Run an admin step at `now` as its own transaction, then update
    /// boards and sinks.
    pub(super) fn admin(
        &self,
        user: UserId,
        step: &mut AdminStep<'_>,
    ) -> Result<Outcome, RecordError> {
        let outcome = {
            // As `record`: the user's outcomes reach the boards in commit
            // order, and `now` is read under the lock, so an operation that
            // waited for a board reset is dated after it (a replay places
            // the reset by that).
            let _order = self.order.lock(user);
            let now = self.recording_now();
            self.admin_locked(user, &mut |state| step(state, now))?
        };
        self.deliver(&outcome);
        Ok(outcome)
    }

    /// [`admin`](Self::admin)'s transaction and board update, for a caller
    /// that holds `user`'s order lock already (and delivers to the sinks
    /// itself, once it lets the lock go).
    pub(super) fn admin_locked(
        &self,
        user: UserId,
        step: &mut crate::store::Step<'_, StepError>,
    ) -> Result<Outcome, RecordError> {
        match self.store.transact(user, None, step)? {
            Transacted::Applied(outcome) | Transacted::Duplicate(outcome) => {
                self.boards.apply(&outcome, self.now());
                Ok(outcome)
            }
        }
    }
}

/// An admin operation's change to a user's state at `now`, under the
/// contract of [`Step`](crate::store::Step).
pub(super) type AdminStep<'a> =
    dyn FnMut(&mut UserState, DateTime<Utc>) -> Result<Commit, StepError> + 'a;

/// Assemble the commit of an admin step from its books and events.
fn finish(
    user: UserId,
    now: DateTime<Utc>,
    state: &UserState,
    mut books: Books,
    events: crate::step::Events,
) -> Commit {
    let mut outcome = Outcome::new(user, None, now);
    outcome.events = events.into_vec();
    books.totals.close(state);
    outcome.totals = books.totals;
    Commit {
        outcome,
        ledger: books.ledger,
    }
}

// The admin operations on one user's state, shared by the engine (inside a
// store transaction) and by replay (on the state it rebuilds), so a replay
// re-applies an operation exactly as it was applied. Each follows the
// `Step` contract: on `Err` the state is unchanged.

/// [`Engine::adjust`] on `state` at `now`.
pub(super) fn adjust(
    config: &Config,
    user: UserId,
    state: &mut UserState,
    currency: Currency,
    amount: i64,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Commit, StepError> {
    let balance = match currency {
        Currency::Xp => state.xp,
        Currency::Points => state.points,
    };
    let new = balance
        .checked_add_signed(amount)
        .ok_or(StepError::BalanceOutOfRange {
            currency,
            balance,
            change: amount,
        })?;
    let mut outcome = Outcome::new(user, None, now);
    outcome.events.push(Event::Adjusted {
        currency,
        amount,
        note: note.to_owned(),
    });
    let mut level_rose = false;
    match currency {
        Currency::Xp => {
            state.xp = new;
            let level = config.curve.level_for_xp(new);
            for level in (state.level.saturating_add(1))..=level {
                outcome.events.push(Event::LevelUp { level, bonus_xp: 0 });
            }
            if level < state.level {
                outcome.events.push(Event::LevelDown { level });
            }
            level_rose = level > state.level;
            state.level = level;
        }
        Currency::Points => state.points = new,
    }
    let mut ledger = vec![LedgerDraft {
        currency,
        amount,
        reason: Reason::Adjustment {
            note: note.to_owned(),
        },
    }];
    // Levels reached count for the level achievements at once; what
    // those unlocks pay is settled as an activity's would be.
    let mut books = Books::new();
    let mut events = crate::step::Events::default();
    crate::step::settle_admin(
        config,
        state,
        now,
        level_rose,
        false,
        &mut books,
        &mut events,
    );
    outcome.events.extend(events.into_vec());
    ledger.append(&mut books.ledger);
    let mut totals = books.totals;
    let adjusted = match currency {
        Currency::Xp => &mut totals.xp,
        Currency::Points => &mut totals.points,
    };
    *adjusted = adjusted.saturating_add(amount);
    totals.close(state);
    outcome.totals = totals;
    // A gain counts on the windowed boards as it does live.
    record_windows(config, state, &outcome, now);
    Ok(Commit { outcome, ledger })
}

/// [`Engine::set_time_zone`] on `state` at `now`.
pub(super) fn set_time_zone(
    user: UserId,
    state: &mut UserState,
    tz: Tz,
    now: DateTime<Utc>,
) -> Commit {
    state.time_zone = Some(tz);
    let mut outcome = Outcome::new(user, None, now);
    outcome
        .events
        .push(Event::TimeZoneChanged { time_zone: tz });
    outcome.totals.close(state);
    Commit {
        outcome,
        ledger: vec![LedgerDraft {
            currency: Currency::Xp,
            amount: 0,
            reason: Reason::TimeZoneChanged { time_zone: tz },
        }],
    }
}

/// Fold an admin outcome into the user's scores on the windowed boards,
/// as the step does for an activity's.
fn record_windows(config: &Config, state: &mut UserState, outcome: &Outcome, now: DateTime<Utc>) {
    crate::step::record_windows(
        config,
        state,
        &outcome.totals,
        outcome.metric_changes(),
        now,
    );
}

/// [`Engine::grant`] on `state` at `now`.
pub(super) fn grant(
    config: &Config,
    user: UserId,
    state: &mut UserState,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Commit, StepError> {
    let granted_before = state.achievements.granted_ids().any(|g| g == id);
    let mut achievements = state.achievements.clone();
    let unlock = config.achievements.grant(&mut achievements, id, now)?;
    state.achievements = achievements;
    let mut books = Books::new();
    let mut events = crate::step::Events::default();
    // The act first, then what it pays: a replay reads the entries after a
    // `Granted` one as the grant's own. Written also for a grant that
    // changes nothing because the achievement was unlocked by its
    // criterion: under another configuration (a higher threshold, more
    // tiers) the same grant unlocks something, and a replay must find it.
    // Not for a repeat of a grant: the first one unlocks it under any
    // configuration, and an entry for the repeat would make a first grant
    // an older version left unrecorded look recorded, so a replay would
    // move it to the repeat's time.
    if unlock.is_some() || !granted_before {
        books.ledger.push(LedgerDraft {
            currency: Currency::Xp,
            amount: 0,
            reason: Reason::Granted {
                achievement: Name::new(id),
            },
        });
    }
    if let Some(unlock) = unlock {
        crate::step::credit_unlocks(
            state,
            crate::achievement::Evaluation {
                unlocked: vec![unlock],
                progress: vec![],
            },
            &mut books,
            &mut events,
        );
        crate::step::settle_admin(config, state, now, false, true, &mut books, &mut events);
    }
    let commit = finish(user, now, state, books, events);
    // A gain counts on the windowed boards as it does live.
    record_windows(config, state, &commit.outcome, now);
    Ok(commit)
}

/// [`Engine::revoke`] on `state` at `now`.
pub(super) fn revoke(
    config: &Config,
    user: UserId,
    state: &mut UserState,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Commit, StepError> {
    let mut achievements = state.achievements.clone();
    let already = achievements.is_revoked(id);
    let revoked = config.achievements.revoke(&mut achievements, id)?;
    state.achievements = achievements;
    let mut books = Books::new();
    let mut events = crate::step::Events::default();
    if revoked.is_none() && !already {
        // Nothing was unlocked, but the bar is new: the ledger
        // records the act, so a replay bars it at the same point.
        books.ledger.push(LedgerDraft {
            currency: Currency::Xp,
            amount: 0,
            reason: Reason::Revoked {
                achievement: Name::new(id),
            },
        });
    }
    if let Some(unlock) = revoked {
        books.totals.achievement_score = -i64::try_from(unlock.score).unwrap_or(i64::MAX);
        books.ledger.push(LedgerDraft {
            currency: Currency::Xp,
            amount: 0,
            reason: Reason::Revoked {
                achievement: unlock.id.clone(),
            },
        });
        events.push(Event::AchievementRevoked { id: unlock.id });
    }
    let commit = finish(user, now, state, books, events);
    // The score's fall reaches the boards that follow it as it does live
    // (a windowed board that keeps the latest value; an ordinal board's
    // time of reaching).
    record_windows(config, state, &commit.outcome, now);
    Ok(commit)
}

/// [`Engine::reset_board`]'s change to one user's `state`: the recorded
/// gain in board `board`'s current window is cleared.
pub(super) fn reset_window(
    user: UserId,
    state: &mut UserState,
    board: &str,
    now: DateTime<Utc>,
) -> Commit {
    state.windows.remove(board);
    let mut outcome = Outcome::new(user, None, now);
    outcome.events.push(Event::BoardReset {
        board: board.to_owned(),
    });
    outcome.totals.close(state);
    Commit {
        outcome,
        ledger: vec![LedgerDraft {
            currency: Currency::Xp,
            amount: 0,
            reason: Reason::BoardReset {
                board: board.to_owned(),
            },
        }],
    }
}

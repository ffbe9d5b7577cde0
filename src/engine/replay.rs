//! Replay: rebuild every user's state from the recorded activities under the
//! engine's (possibly changed) configuration.
//!
//! How it walks the history is documented on [`Engine::replay`]: this
//! module is private, so its own docs are not rendered.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::activity::{ActivityId, UserId};
use crate::config::Config;
use crate::ledger::{Currency, LedgerDraft, LedgerEntry, Reason};
use crate::level::Level;
use crate::name::Name;
use crate::outcome::{Event, Outcome};
use crate::state::UserState;
use crate::step::StepError;
use crate::store::{BoardReset, Commit, StoreError};
use crate::time::Tz;

use super::{Engine, RecordError, admin};

mod resets;

use resets::Resets;

/// How often a user's replay is retried when activity arrives meanwhile,
/// before the last try, which holds the user's order lock.
const RETRIES: usize = 8;

/// What a replay changed, or would change (dry run).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplayReport {
    /// Users replayed.
    pub users: usize,
    /// Whether the changes were applied (`false` for a dry run).
    pub applied: bool,
    /// One entry per user whose state differs.
    pub changes: Vec<ReplayChange>,
    /// Recorded activities the current configuration refuses (they are
    /// skipped; their ids stay recorded).
    pub refused: usize,
}

/// How one user's state differs after a replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayChange {
    /// The user.
    pub user: UserId,
    /// XP before and after.
    pub xp: (u64, u64),
    /// Points before and after.
    pub points: (u64, u64),
    /// Level before and after.
    pub level: (Level, Level),
    /// Achievements the user gains.
    pub gained: Vec<Name>,
    /// Achievements the user loses.
    pub lost: Vec<Name>,
}

impl Engine {
    /// Report what a [replay](Self::replay) would change, changing
    /// nothing. Under the configuration the history was recorded with, it
    /// reports no change (see [`replay`](Self::replay) for what older
    /// histories, and a second engine on the same store, cannot tell).
    pub fn replay_dry_run(&self) -> Result<ReplayReport, StoreError> {
        let mut report = ReplayReport::default();
        let resets = self.board_resets()?;
        for user in self.store.users()? {
            let current = self.store.load(user)?.unwrap_or_default();
            let (rebuilt, refused) = self.rebuild(user, &current, &resets)?;
            report.users += 1;
            report.refused += refused;
            report.changes.extend(diff(user, &current, &rebuilt));
        }
        Ok(report)
    }

    /// Rebuild every user's state under the current configuration, then the
    /// boards. Each user is one atomic store transaction; a user who records
    /// activity meanwhile is rebuilt again, up to eight times, and then
    /// once more with that user's records (and those of the few users
    /// sharing their lock stripe) held back until it is written.
    ///
    /// # The history
    ///
    /// A user's history is their recorded activities and their ledger. Every
    /// admin operation leaves an entry of its own, without an activity id:
    /// `Adjustment` (the amount moved), `Granted` (zero amount, before the
    /// entries of what the grant pays), `Revoked`, `TimeZoneChanged` and
    /// `BoardReset` (zero amount). An activity's entries carry its id.
    /// Besides, the store keeps one record of each board reset
    /// ([`Store::board_resets`](crate::store::Store::board_resets)).
    ///
    /// # The walk
    ///
    /// A fresh state walks the history in the order it happened: the ledger
    /// in order, and at each activity's first entry that activity (and any
    /// recorded before it not yet walked) goes through the pure step at the
    /// `now` it was recorded at; at each admin entry the operation is
    /// re-applied at the entry's time by the function the engine ran
    /// ([`adjust`](Self::adjust), [`grant`](Self::grant) and the others), so
    /// it pays, crosses levels and unlocks exactly as it did. Entries without
    /// an activity that are not an operation (what an operation paid, a
    /// previous replay's correction) are skipped: re-applying the operation
    /// pays again what it pays now. Activities left after the last entry
    /// come last.
    ///
    /// The `now` an activity was recorded at is its own time, but where the
    /// engine noted another in
    /// [`Activity::recorded_at`](crate::activity::Activity::recorded_at):
    /// for one stamped ahead of its clock, which counted in the board
    /// windows of that `now` (and does again), and for one dated at or
    /// before a board reset made before it was recorded.
    ///
    /// An activity that wrote no ledger entry (it paid nothing) has no place
    /// of its own in the ledger: it comes after the activities recorded
    /// before it and before the next one that wrote entries, and among the
    /// admin operations between, before those made at or after the `now` it
    /// was recorded at (an activity recorded at the very instant of an
    /// operation counts as before it). That is exact when activities are
    /// reported as they happen; an activity that paid nothing, reported late
    /// (dated at or before the time of an admin operation made before it was
    /// recorded), is walked before that operation, which can matter when the
    /// operation changes what the activity would do (a time-zone change moves
    /// its day).
    ///
    /// # Board resets
    ///
    /// A reset closes a board's window for every user. A user who had a gain
    /// on the board then has a `BoardReset` entry of it, and the reset is
    /// applied there. For every other user the store's record of it is
    /// applied by time: after everything recorded at or before the reset's
    /// time, before everything recorded after it (an operation at its
    /// entry's time, an activity at the `now` it was recorded at). That is
    /// the order the engine saw: it reads its clock under the locks a reset
    /// takes and records whatever comes after a reset after the reset's time
    /// (a nanosecond after, should its clock not have moved), and it notes
    /// an activity recorded after a reset but dated at or before it. So a
    /// reset made when a user had nothing on the board still clears, under a
    /// configuration where their earlier activity pays, what that activity
    /// pays there. This needs the engine that recorded what followed a reset
    /// to have known of it: the engine that made it, or one built on the
    /// store after it. Resets made before the store kept them have their
    /// entries only, which are applied as before.
    ///
    /// Under the configuration the history was recorded with, the walk gives
    /// back the state it built, so a replay reports no change. Under a
    /// changed one, it gives what recording the same history would have
    /// given, except that an adjustment that would take a balance below zero
    /// takes what there is.
    ///
    /// # Older histories
    ///
    /// Before grants and time-zone changes wrote entries, the ledger could not
    /// tell them. For such a history: achievements the current state holds as
    /// granted, with no `Granted` entry, are granted again last, at the time
    /// they unlocked (a grant revoked since is lost); and if the ledger has no
    /// `TimeZoneChanged` entry, the whole history is walked in the user's
    /// current zone (once it has one, the walk starts in the default zone).
    ///
    /// # Writing
    ///
    /// The difference in each balance is written to the ledger as a `Replay`
    /// entry, so the ledger still sums to the balance and history is never
    /// edited.
    pub fn replay(&self) -> Result<ReplayReport, RecordError> {
        let mut report = ReplayReport {
            applied: true,
            ..ReplayReport::default()
        };
        // Read once. A reset made meanwhile is missing, but it left an
        // entry with every user it found a gain of, which the walk applies;
        // to any other user it changed nothing.
        let resets = self.board_resets()?;
        for user in self.store.users()? {
            report.users += 1;
            for attempt in 0.. {
                // The last try holds the user's order lock from reading the
                // state to writing it (records of users on its stripe wait
                // for one user's rebuild): no record of this engine can
                // land in between, so a user who keeps recording is still
                // replayed.
                let order = (attempt == RETRIES).then(|| self.order.lock(user));
                let current = self.store.load(user)?.unwrap_or_default();
                let (rebuilt, refused) = self.rebuild(user, &current, &resets)?;
                let Some(change) = diff(user, &current, &rebuilt) else {
                    report.refused += refused;
                    break;
                };
                let step = &mut |state: &mut UserState, now| {
                    if *state != current {
                        return Err(StepError::Internal("state changed during replay".into()));
                    }
                    Ok(replace(user, state, rebuilt.clone(), now))
                };
                let replaced = match order {
                    None => self.admin(user, step),
                    Some(order) => {
                        let now = self.recording_now();
                        let replaced = self.admin_locked(user, &mut |state| step(state, now));
                        drop(order);
                        if let Ok(outcome) = &replaced {
                            self.deliver(outcome);
                        }
                        replaced
                    }
                };
                match replaced {
                    Ok(_) => {
                        report.refused += refused;
                        report.changes.push(change);
                        break;
                    }
                    Err(RecordError::Refused(StepError::Internal(_))) if attempt < RETRIES => {}
                    Err(e) => return Err(e),
                }
            }
        }
        // No record may land between a user's state being read and their
        // entries being set, or the board would keep the older score. The
        // boards are built aside and swapped in, so readers meanwhile see
        // the old boards whole rather than emptied (at the cost of a second
        // set of boards in memory while it runs).
        let _every = self.order.lock_every();
        let fresh = super::Boards::new(&self.config);
        self.load_boards(&fresh)?;
        self.boards.replace(fresh);
        Ok(report)
    }

    /// Walk `user`'s history in the order it happened into a fresh state:
    /// the recorded activities, each at its own time through the pure step,
    /// and the admin operations at their places in the ledger, each
    /// re-applied at its own time by the code the engine ran (see the
    /// module doc for how the two are interleaved and what old histories
    /// cannot tell).
    fn rebuild(
        &self,
        user: UserId,
        current: &UserState,
        resets: &[BoardReset],
    ) -> Result<(UserState, usize), StoreError> {
        let config = &*self.config;
        let ledger = self.history(user)?;
        let mut resets = Resets::new(resets, &ledger);
        let activities = self.store.activities(user)?;
        let index: HashMap<&ActivityId, usize> = activities
            .iter()
            .enumerate()
            .map(|(i, a)| (&a.id, i))
            .collect();
        // Activities that wrote a ledger entry have an exact place in it.
        let mut anchored = vec![false; activities.len()];
        for entry in &ledger {
            if let Some(i) = entry.activity.as_ref().and_then(|id| index.get(id)) {
                anchored[*i] = true;
            }
        }
        let zones_recorded = ledger
            .iter()
            .any(|e| matches!(e.reason, Reason::TimeZoneChanged { .. }));
        let grants_recorded: BTreeSet<&str> = ledger
            .iter()
            .filter_map(|e| match &e.reason {
                Reason::Granted { achievement } => Some(achievement.as_str()),
                _ => None,
            })
            .collect();
        let mut state = UserState {
            // With changes recorded, the history starts in the default
            // zone; without, a zone set before changes were recorded (or
            // never) is all the history can use.
            time_zone: if zones_recorded {
                None
            } else {
                current.time_zone
            },
            ..UserState::default()
        };
        let mut refused = 0;
        let mut next = 0;
        let mut fold = |state: &mut UserState, next: &mut usize, resets: &mut Resets<'_>| {
            if let Some(activity) = activities.get(*next) {
                resets.before(user, state, recorded(activity));
                if crate::step::step(config, state, activity, recorded(activity)).is_err() {
                    refused += 1;
                }
            }
            *next += 1;
        };
        for entry in &ledger {
            match &entry.activity {
                // An activity's entries: it and every activity recorded
                // before it have happened.
                Some(id) => {
                    if let Some(&i) = index.get(id) {
                        while next <= i {
                            fold(&mut state, &mut next, &mut resets);
                        }
                    }
                }
                None => {
                    let Some(op) = Op::of(entry) else {
                        // What an operation paid: the operation pays it
                        // again when re-applied.
                        continue;
                    };
                    // Activities that wrote nothing cannot be placed by the
                    // ledger: those that happened by the operation's time
                    // are taken to have been recorded before it.
                    while activities
                        .get(next)
                        .is_some_and(|a| !anchored[next] && recorded(a) <= entry.at)
                    {
                        fold(&mut state, &mut next, &mut resets);
                    }
                    resets.before(user, &mut state, entry.at);
                    op.apply(config, user, &mut state, entry.at);
                }
            }
        }
        while next < activities.len() {
            fold(&mut state, &mut next, &mut resets);
        }
        resets.rest(user, &mut state);
        // Grants made before grants were recorded: kept from the current
        // state, re-applied last, at the time they unlocked.
        for id in current.achievements.granted_ids() {
            if !grants_recorded.contains(id) {
                let at = current
                    .achievements
                    .unlocked_at(id)
                    .unwrap_or_else(|| self.now());
                // An id the catalog no longer has grants nothing.
                let _ = admin::grant(config, user, &mut state, id, at);
            }
        }
        Ok((state, refused))
    }

    /// The board resets the store keeps, in time order (resets of one
    /// instant in the order kept).
    fn board_resets(&self) -> Result<Vec<BoardReset>, StoreError> {
        let mut resets = self.store.board_resets()?;
        resets.sort_by_key(|r| r.at);
        Ok(resets)
    }

    /// Every entry of `user`'s ledger, in order.
    fn history(&self, user: UserId) -> Result<Vec<LedgerEntry>, StoreError> {
        const PAGE: usize = 1024;
        let mut entries = Vec::new();
        loop {
            let page = self.store.ledger(user, entries.len() as u64, PAGE)?;
            let done = page.len() < PAGE;
            entries.extend(page);
            if done {
                return Ok(entries);
            }
        }
    }
}

/// The `now` `activity` was recorded at, as far as the history tells: the
/// one the engine noted, or else its own time (an activity is taken to be
/// reported as it happens). Stepped at it, an activity does what it did
/// when recorded: the step reads `now` only to refuse what is too far
/// ahead of it and to count what is ahead of it in its windows.
fn recorded(activity: &crate::activity::Activity) -> DateTime<Utc> {
    activity.recorded_at.unwrap_or(activity.at)
}

/// An admin operation, as its ledger entry records it.
enum Op<'a> {
    Adjust {
        currency: Currency,
        amount: i64,
        note: &'a str,
    },
    Grant(&'a str),
    Revoke(&'a str),
    TimeZone(Tz),
    BoardReset(&'a str),
}

impl<'a> Op<'a> {
    /// The operation an entry without an activity records, if it records
    /// one (rather than being paid by one, or written by a replay, whose
    /// correction the walk recomputes).
    fn of(entry: &'a LedgerEntry) -> Option<Self> {
        Some(match &entry.reason {
            Reason::Adjustment { note } => Self::Adjust {
                currency: entry.currency,
                amount: entry.amount,
                note,
            },
            Reason::Granted { achievement } => Self::Grant(achievement),
            Reason::Revoked { achievement } => Self::Revoke(achievement),
            Reason::TimeZoneChanged { time_zone } => Self::TimeZone(*time_zone),
            Reason::BoardReset { board } => Self::BoardReset(board),
            _ => return None,
        })
    }

    /// Re-apply the operation to `state` at `at`, as the engine did. What
    /// the current configuration refuses (an achievement it no longer
    /// has) changes nothing.
    fn apply(self, config: &Config, user: UserId, state: &mut UserState, at: DateTime<Utc>) {
        match self {
            Self::Adjust {
                currency,
                amount,
                note,
            } => {
                // Under a changed configuration the balance may be smaller
                // than it was: a removal takes what there is.
                let balance = match currency {
                    Currency::Xp => state.xp,
                    Currency::Points => state.points,
                };
                let amount = if amount < 0 {
                    amount.max(i64::try_from(balance).map_or(i64::MIN, |b| -b))
                } else {
                    amount.min(i64::try_from(u64::MAX - balance).unwrap_or(i64::MAX))
                };
                let _ = admin::adjust(config, user, state, currency, amount, note, at);
            }
            Self::Grant(id) => {
                let _ = admin::grant(config, user, state, id, at);
            }
            Self::Revoke(id) => {
                let _ = admin::revoke(config, user, state, id, at);
            }
            Self::TimeZone(tz) => {
                admin::set_time_zone(user, state, tz, at);
            }
            Self::BoardReset(board) => {
                admin::reset_window(user, state, board, at);
            }
        }
    }
}

/// The difference between two states of `user`, if any.
fn diff(user: UserId, before: &UserState, after: &UserState) -> Option<ReplayChange> {
    if before == after {
        return None;
    }
    let unlocked = |s: &UserState| -> BTreeSet<Name> {
        s.achievements.unlocked_ids().map(Name::new).collect()
    };
    let (old, new) = (unlocked(before), unlocked(after));
    Some(ReplayChange {
        user,
        xp: (before.xp, after.xp),
        points: (before.points, after.points),
        level: (before.level, after.level),
        gained: new.difference(&old).cloned().collect(),
        lost: old.difference(&new).cloned().collect(),
    })
}

/// Replace `state` by `rebuilt`, writing the balance differences to the
/// ledger.
fn replace(
    user: UserId,
    state: &mut UserState,
    rebuilt: UserState,
    now: chrono::DateTime<chrono::Utc>,
) -> Commit {
    let difference = |from: u64, to: u64| i128::from(to) - i128::from(from);
    let (xp_change, points_change) = (
        difference(state.xp, rebuilt.xp),
        difference(state.points, rebuilt.points),
    );
    // The event and totals saturate; the ledger does not (below).
    let saturated = |change: i128| {
        i64::try_from(change).unwrap_or(if change > 0 { i64::MAX } else { i64::MIN })
    };
    let (xp, points) = (saturated(xp_change), saturated(points_change));
    let mut outcome = Outcome::new(user, None, now);
    outcome.events.push(Event::Replayed { xp, points });
    outcome.totals.xp = xp;
    outcome.totals.points = points;
    let score_before = state.achievements.score();
    *state = rebuilt;
    outcome.totals.achievement_score =
        i64::try_from(i128::from(state.achievements.score()) - i128::from(score_before))
            .unwrap_or(0);
    outcome.totals.close(state);
    // A balance can move by more than one `i64` entry holds (up to
    // `u64::MAX`): the difference is written in parts, so the ledger still
    // sums to the balance.
    let mut ledger = Vec::new();
    for (currency, mut left) in [(Currency::Xp, xp_change), (Currency::Points, points_change)] {
        while left != 0 {
            let part = saturated(left);
            ledger.push(LedgerDraft {
                currency,
                amount: part,
                reason: Reason::Replay,
            });
            left -= i128::from(part);
        }
    }
    Commit { outcome, ledger }
}

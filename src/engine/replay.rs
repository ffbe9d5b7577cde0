//! Replay: rebuild every user's state from the recorded activities under the
//! engine's (possibly changed) configuration.
//!
//! Each user's activities are folded through the pure step in the order they
//! were recorded, each at its own time (so caps, windows and streaks see the
//! days they happened on). Kept from the old state: the time zone, the
//! achievements the host granted, and the sum of manual adjustments (applied
//! after the fold). Revocations are reproduced from the ledger's `Revoked`
//! entries, each before the activities recorded after it (one after the
//! last activity comes after the grants and adjustments too), so what was
//! paid before it stays paid and nothing after it unlocks the achievement
//! again; a grant kept from the old state lifts it, as it did. (As
//! adjustments are applied after the fold, an achievement an adjustment
//! unlocked and a revocation then took away before further activities is
//! not paid by the replay: it reports the difference.)
//! The difference in each balance is written to the ledger
//! as a `Replay` entry, so the ledger still sums to the balance and history
//! is never edited.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::activity::{ActivityId, UserId};
use crate::ledger::{Currency, LedgerDraft, Reason};
use crate::level::Level;
use crate::outcome::{Event, Outcome};
use crate::state::UserState;
use crate::step::StepError;
use crate::store::{Commit, StoreError};

use super::{Engine, RecordError};

/// How often a user's replay is retried when activity arrives meanwhile.
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
    pub gained: Vec<String>,
    /// Achievements the user loses.
    pub lost: Vec<String>,
}

impl Engine {
    /// Report what a replay would change, changing nothing.
    pub fn replay_dry_run(&self) -> Result<ReplayReport, StoreError> {
        let mut report = ReplayReport::default();
        for user in self.store.users()? {
            let current = self.store.load(user)?.unwrap_or_default();
            let (rebuilt, refused) = self.rebuild(user, &current)?;
            report.users += 1;
            report.refused += refused;
            report.changes.extend(diff(user, &current, &rebuilt));
        }
        Ok(report)
    }

    /// Rebuild every user's state under the current configuration, then the
    /// boards. Each user is one atomic store transaction; a user who records
    /// activity meanwhile is rebuilt again.
    pub fn replay(&self) -> Result<ReplayReport, RecordError> {
        let mut report = ReplayReport {
            applied: true,
            ..ReplayReport::default()
        };
        for user in self.store.users()? {
            report.users += 1;
            for attempt in 0.. {
                let current = self.store.load(user)?.unwrap_or_default();
                let (rebuilt, refused) = self.rebuild(user, &current)?;
                let Some(change) = diff(user, &current, &rebuilt) else {
                    report.refused += refused;
                    break;
                };
                match self.admin(user, &mut |state| {
                    if *state != current {
                        return Err(StepError::Internal("state changed during replay".into()));
                    }
                    Ok(replace(user, state, rebuilt.clone(), self.now()))
                }) {
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
        self.boards.clear();
        self.rebuild_boards()?;
        Ok(report)
    }

    /// Fold `user`'s recorded activities into a fresh state.
    fn rebuild(&self, user: UserId, current: &UserState) -> Result<(UserState, usize), StoreError> {
        let config = &*self.config;
        let mut state = UserState {
            time_zone: current.time_zone,
            ..UserState::default()
        };
        let mut refused = 0;
        let (before, after) = self.revocations(user)?;
        let mut before = before.into_iter().peekable();
        for activity in self.store.activities(user)? {
            if let Some((_, ids)) = before.next_if(|(next, _)| *next == activity.id) {
                for id in ids {
                    // An id the catalog no longer has bars nothing.
                    let _ = config.achievements.revoke(&mut state.achievements, &id);
                }
            }
            if crate::step::step(config, &mut state, &activity, activity.at).is_err() {
                refused += 1;
            }
        }
        // Revocations after the last activity (and any the activities did
        // not meet in order, which would be a store's bug: kept, not lost)
        // come last, after grants and adjustments.
        let last: Vec<String> = before.flat_map(|(_, ids)| ids).chain(after).collect();
        // Grants and adjustments settle as `grant` and `adjust` do: a
        // grant's rewards may cross levels (bonus paid), and levels an
        // adjustment reaches count for the level achievements. What they
        // write is not kept: the replay's ledger is the difference.
        let mut events = crate::step::Events::default();
        for id in current.achievements.granted_ids() {
            let at = current
                .achievements
                .unlocked_at(id)
                .unwrap_or_else(|| self.now());
            if let Ok(Some(unlock)) = config.achievements.grant(&mut state.achievements, id, at) {
                let mut books = crate::step::Books::new();
                let unlocked = crate::achievement::Evaluation {
                    unlocked: vec![unlock],
                    progress: vec![],
                };
                crate::step::credit_unlocks(&mut state, unlocked, &mut books, &mut events);
                crate::step::settle_admin(config, &mut state, at, false, &mut books, &mut events);
                books.totals.close(&state);
                crate::step::record_windows(config, &mut state, &books.totals, at);
            }
        }
        let (mut xp, mut points) = (0i128, 0i128);
        let mut adjusted_at = None;
        let mut from = 0;
        loop {
            let page = self.store.ledger(user, from, 1024)?;
            for entry in &page {
                if let Reason::Adjustment { .. } = entry.reason {
                    let mut totals = crate::outcome::Totals::default();
                    match entry.currency {
                        Currency::Xp => {
                            xp += i128::from(entry.amount);
                            totals.xp = entry.amount;
                        }
                        Currency::Points => {
                            points += i128::from(entry.amount);
                            totals.points = entry.amount;
                        }
                    }
                    // A gain counted in its window then, as `adjust` did.
                    totals.close(&state);
                    adjusted_at = adjusted_at.max(Some(entry.at));
                    crate::step::record_windows(config, &mut state, &totals, entry.at);
                }
            }
            from += page.len() as u64;
            if page.len() < 1024 {
                break;
            }
        }
        let apply = |balance: u64, change: i128| {
            u64::try_from((i128::from(balance) + change).max(0)).unwrap_or(u64::MAX)
        };
        state.xp = apply(state.xp, xp);
        state.points = apply(state.points, points);
        // Adjustments move the level without a bonus, as `adjust` does.
        let level = config.curve.level_for_xp(state.xp);
        let rose = level > state.level;
        state.level = level;
        // Settled when the (last) adjustment was made, as `adjust` did.
        let at = adjusted_at.unwrap_or_else(|| self.now());
        let mut books = crate::step::Books::new();
        crate::step::settle_admin(config, &mut state, at, rose, &mut books, &mut events);
        books.totals.close(&state);
        crate::step::record_windows(config, &mut state, &books.totals, at);
        // What they unlocked (an adjustment's level) stays paid, as it did
        // live; an achievement granted now was granted after its revocation,
        // which the grant lifted.
        for id in last {
            if !current.achievements.granted_ids().any(|g| g == id) {
                let _ = config.achievements.revoke(&mut state.achievements, &id);
            }
        }
        Ok((state, refused))
    }
}

/// Revoked achievement ids, grouped by the activity they preceded.
type Preceding = Vec<(ActivityId, Vec<String>)>;

impl Engine {
    /// The revocations in `user`'s ledger, in order: those recorded before
    /// an activity's entries, with that activity (the first recorded after
    /// them), and those after the last activity's entries.
    ///
    /// An activity that wrote no ledger entry cannot be placed, so it is
    /// folded before the revocations that follow it: it paid nothing, so it
    /// unlocked nothing that pays (and a revocation after it takes away
    /// what it did unlock).
    fn revocations(&self, user: UserId) -> Result<(Preceding, Vec<String>), StoreError> {
        let mut before: Preceding = Vec::new();
        let mut pending = Vec::new();
        let mut from = 0;
        loop {
            let page = self.store.ledger(user, from, 1024)?;
            for entry in &page {
                match (&entry.reason, &entry.activity) {
                    (Reason::Revoked { achievement }, _) => pending.push(achievement.to_string()),
                    (_, Some(activity)) if !pending.is_empty() => {
                        before.push((activity.clone(), std::mem::take(&mut pending)));
                    }
                    _ => {}
                }
            }
            from += page.len() as u64;
            if page.len() < 1024 {
                break;
            }
        }
        Ok((before, pending))
    }
}

/// The difference between two states of `user`, if any.
fn diff(user: UserId, before: &UserState, after: &UserState) -> Option<ReplayChange> {
    if before == after {
        return None;
    }
    let unlocked = |s: &UserState| -> BTreeSet<String> {
        s.achievements.unlocked_ids().map(str::to_owned).collect()
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
    let change = |from: u64, to: u64| {
        i64::try_from(i128::from(to) - i128::from(from)).unwrap_or(if to > from {
            i64::MAX
        } else {
            i64::MIN
        })
    };
    let (xp, points) = (
        change(state.xp, rebuilt.xp),
        change(state.points, rebuilt.points),
    );
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
    let ledger = [(Currency::Xp, xp), (Currency::Points, points)]
        .into_iter()
        .filter(|(_, amount)| *amount != 0)
        .map(|(currency, amount)| LedgerDraft {
            currency,
            amount,
            reason: Reason::Replay,
        })
        .collect();
    Commit { outcome, ledger }
}

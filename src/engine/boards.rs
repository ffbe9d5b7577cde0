//! The engine's leaderboards: derived data, kept in memory, updated from
//! each committed outcome and rebuilt from the users' states on start.
//!
//! A rebuild inserts users in id order, except on ordinal boards, where
//! ties go to who reached the score first: those are inserted in the order
//! the states say the scores were reached (see
//! [`RankPolicy::Ordinal`](crate::leaderboard::RankPolicy::Ordinal)).
//!
//! Increments commute, so boards can be updated after the store commits,
//! outside its lock, in whatever order threads finish.

use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use chrono::{DateTime, Utc};

use crate::activity::UserId;
use crate::config::Config;
use crate::leaderboard::{Board, BoardError, BoardSpec, RankPolicy, ScoreMode};
use crate::outcome::Outcome;
use crate::state::UserState;
use crate::step::{source_change, source_total};

/// One board and the lock it is read and written under.
struct Slot {
    spec: BoardSpec,
    board: RwLock<Board>,
}

/// Entries of ordinal boards read during a rebuild: board index, when the
/// score was reached, user, score.
#[derive(Default)]
pub(crate) struct OrdinalEntries(Vec<(usize, Option<DateTime<Utc>>, UserId, u64)>);

/// Every configured board, in configuration order.
pub(crate) struct Boards {
    slots: Vec<Slot>,
}

/// Read access to one board, rolled over to the engine's `now`. Holds the
/// board's read lock: drop it before recording on the same thread.
#[derive(Debug)]
pub struct BoardHandle<'a>(RwLockReadGuard<'a, Board>);

impl std::ops::Deref for BoardHandle<'_> {
    type Target = Board;

    fn deref(&self) -> &Board {
        &self.0
    }
}

impl Boards {
    pub(crate) fn new(config: &Config) -> Self {
        Self {
            slots: config
                .boards
                .iter()
                .map(|spec| Slot {
                    spec: spec.clone(),
                    board: RwLock::new(Board::new(spec.clone())),
                })
                .collect(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn ids(&self) -> Vec<String> {
        self.slots.iter().map(|s| s.spec.id.clone()).collect()
    }

    fn slot(&self, id: &str) -> Option<&Slot> {
        self.slots.iter().find(|s| s.spec.id == id)
    }

    /// Apply a committed outcome to every board its totals touch.
    pub(crate) fn apply(&self, outcome: &Outcome, now: DateTime<Utc>) {
        for slot in &self.slots {
            let Some((increase, after)) = source_change(&slot.spec.source, &outcome.totals) else {
                continue;
            };
            let mut board = slot.board.write().unwrap_or_else(PoisonError::into_inner);
            let _ = match slot.spec.mode {
                // An all-time board of a total shows the total itself, the
                // figure a rebuild reads from the state: saturated, never
                // overflowing, down as well as up (admin adjustments), and a
                // user back at zero leaves the board as a rebuild leaves
                // them off it. Whatever the mode: a lifetime total falls
                // only by a correction, which a best score must follow too.
                _ if slot.spec.window.period_kind().is_none() => {
                    if after == 0 {
                        board.remove(outcome.user);
                        Ok(())
                    } else {
                        board.set(outcome.user, after, now)
                    }
                }
                ScoreMode::Increment if increase == 0 => continue,
                ScoreMode::Increment => {
                    match board.record(outcome.user, increase, outcome.at, now) {
                        // The state's window gain saturates; so does the board.
                        Err(BoardError::Overflow) => board.set(outcome.user, u64::MAX, now),
                        other => other,
                    }
                }
                ScoreMode::Replace | ScoreMode::KeepBest => {
                    let recorded = board.record(outcome.user, after, outcome.at, now);
                    // A score of zero is no score: off the board, as a
                    // rebuild from the states leaves it.
                    if board.ranked().score(outcome.user) == Some(0) {
                        board.remove(outcome.user);
                    }
                    recorded
                }
            };
        }
    }

    /// Put `user` on every board their state scores on. Entries of ordinal
    /// boards are only gathered into `ordinal`, for
    /// [`load_ordinal`](Self::load_ordinal) once every user is read.
    pub(crate) fn load_user(
        &self,
        user: UserId,
        state: &UserState,
        now: DateTime<Utc>,
        ordinal: &mut OrdinalEntries,
    ) {
        for (i, slot) in self.slots.iter().enumerate() {
            let spec = &slot.spec;
            let score = match spec.window.period_kind() {
                None => source_total(&spec.source, state),
                Some(kind) => {
                    let current = kind.containing(now, spec.time_zone).first_day();
                    match state.windows.get(spec.id.as_str()) {
                        Some(gain) if gain.window == current => gain.amount,
                        _ => continue,
                    }
                }
            };
            if score > 0 && spec.policy == RankPolicy::Ordinal {
                let reached = state.reached.get(spec.id.as_str()).copied();
                ordinal.0.push((i, reached, user, score));
            } else if score > 0 {
                let mut board = slot.board.write().unwrap_or_else(PoisonError::into_inner);
                let _ = board.set(user, score, now);
            }
        }
    }

    /// Put the gathered entries on their ordinal boards in the order their
    /// scores were reached: a board gives a tie to whoever it got first, so
    /// "who reached the score first" survives a rebuild. Entries with no
    /// time (states written before times were kept) go first, by user id.
    pub(crate) fn load_ordinal(&self, mut ordinal: OrdinalEntries, now: DateTime<Utc>) {
        ordinal.0.sort_unstable();
        for (i, _, user, score) in ordinal.0 {
            if let Some(slot) = self.slots.get(i) {
                let mut board = slot.board.write().unwrap_or_else(PoisonError::into_inner);
                let _ = board.set(user, score, now);
            }
        }
    }

    /// Empty every board (before a rebuild).
    pub(crate) fn clear(&self) {
        for slot in &self.slots {
            let mut board = slot.board.write().unwrap_or_else(PoisonError::into_inner);
            *board = Board::new(slot.spec.clone());
        }
    }

    /// Read one board, rolled over to `now` first.
    pub(crate) fn handle(&self, id: &str, now: DateTime<Utc>) -> Option<BoardHandle<'_>> {
        let slot = self.slot(id)?;
        slot.board
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .roll_to(now);
        Some(BoardHandle(
            slot.board.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }

    /// Close the current window of board `id` now (admin reset). Returns
    /// whether the board exists.
    pub(crate) fn reset(&self, id: &str, now: DateTime<Utc>) -> bool {
        match self.slot(id) {
            Some(slot) => {
                slot.board
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .reset_window(now);
                true
            }
            None => false,
        }
    }
}

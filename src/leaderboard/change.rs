//! One score change as a value ([`Change`]), and updating several boards at
//! once with their cache misses overlapped.
//!
//! [`Board::touch_entry`] says why and how.

use chrono::{DateTime, Utc};

use super::{Board, BoardError, ScoreMode, in_range};
use crate::activity::UserId;

/// A change to one user's score on a board, as [`Board::apply`] takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// An event of `amount` at `at`, applied by the board's score mode:
    /// [`Board::record`].
    Record {
        /// The event's amount.
        amount: u64,
        /// When the event happened.
        at: DateTime<Utc>,
    },
    /// As [`Record`](Self::Record), except that on an
    /// [`Increment`](ScoreMode::Increment) board a sum past `u64::MAX`
    /// stays at `u64::MAX` instead of being refused (for a source whose
    /// own total saturates).
    RecordSaturating {
        /// The event's amount.
        amount: u64,
        /// When the event happened.
        at: DateTime<Utc>,
    },
    /// Set the score, whatever the mode: [`Board::set`].
    Set(u64),
    /// Take the user off the board: [`Board::remove`].
    Remove,
}

impl Board {
    /// Apply `change` to `user`'s score: [`record`](Self::record),
    /// [`set`](Self::set) or [`remove`](Self::remove) as the change says,
    /// with the same result.
    pub fn apply(
        &mut self,
        user: UserId,
        change: Change,
        now: DateTime<Utc>,
    ) -> Result<(), BoardError> {
        match change {
            Change::Record { amount, at } => self.record_by(user, amount, at, now, false),
            Change::RecordSaturating { amount, at } => self.record_by(user, amount, at, now, true),
            Change::Set(score) => self.set(user, score, now),
            Change::Remove => {
                self.remove(user);
                Ok(())
            }
        }
    }

    /// Read `user`'s bucket of the user table, the first cache miss of an
    /// update, and change nothing; returns a meaningless value to pass to
    /// `std::hint::black_box`, so the read is not optimised away.
    ///
    /// At a million entries an update waits on two dependent cache misses: the
    /// user's bucket in the user table, then the leaves of the order that hold
    /// the old and the new key. Updating boards one after another pays both
    /// once per board. A caller with several boards to update (the engine:
    /// one activity touches about five) can first call this on each, then
    /// [`Board::apply`] on each: the touches only read, so the
    /// boards' first misses are in flight together, and the updates find their
    /// entries in cache. The result is the same as applying the changes alone,
    /// in the same order: touches change nothing.
    ///
    /// Only the first miss is staged. Touching every board's leaves as a
    /// second stage was measured and lost (five boards of a million entries:
    /// about as slow as one board after another, where entries first is
    /// 11–30% faster): finding the leaves needs the search work the update then does
    /// again, and five boards' leaves are over a hundred lines at once.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use gamify::activity::UserId;
    /// use gamify::leaderboard::{Board, BoardSpec, BoardWindow, Change, Source};
    ///
    /// let now = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();
    /// let mut boards: Vec<Board> = [BoardWindow::AllTime, BoardWindow::Day]
    ///     .into_iter()
    ///     .map(|w| Board::new(BoardSpec::new("xp", Source::Xp, w)))
    ///     .collect();
    /// let (user, change) = (UserId(7), Change::Record { amount: 30, at: now });
    /// // The value only keeps the loads from being optimised away.
    /// let mut warm = 0;
    /// for board in &boards {
    ///     warm ^= board.touch_entry(user);
    /// }
    /// std::hint::black_box(warm);
    /// for board in &mut boards {
    ///     board.apply(user, change, now).unwrap();
    /// }
    /// assert!(boards.iter().all(|b| b.rank_of(user).unwrap().score == 30));
    /// ```
    pub fn touch_entry(&self, user: UserId) -> u64 {
        self.set.touch_user(user)
    }
}

/// The score an event of `amount` makes of `old` under `mode` and
/// `bounds` (a function of the spec's fields, not of the board, so
/// [`Board::record`] can call it while the set is borrowed).
pub(super) fn score_after(
    mode: ScoreMode,
    (min, max): (Option<u64>, Option<u64>),
    old: Option<u64>,
    amount: u64,
    saturate: bool,
) -> Result<u64, BoardError> {
    let new = match mode {
        ScoreMode::Increment if saturate => old.unwrap_or(0).saturating_add(amount),
        ScoreMode::Increment => old
            .unwrap_or(0)
            .checked_add(amount)
            .ok_or(BoardError::Overflow)?,
        ScoreMode::Replace => amount,
        ScoreMode::KeepBest => old.map_or(amount, |o| o.max(amount)),
    };
    in_range(new, min, max)
}

//! The engine's leaderboards: derived data, kept in memory, updated from
//! each committed outcome and rebuilt from the users' states on start.
//!
//! A rebuild inserts users in id order, except on ordinal boards, where
//! ties go to who reached the score first: those are inserted in the order
//! the states say the scores were reached (see
//! [`RankPolicy::Ordinal`](crate::leaderboard::RankPolicy::Ordinal)).
//!
//! Boards are updated after the store commits, outside its lock; the
//! engine holds a per-user lock from the transaction until the boards are
//! updated, so one user's outcomes reach them in commit order (an all-time
//! board is set to the total an outcome reports, which does not commute).

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};

use chrono::{DateTime, Utc};
use smallvec::SmallVec;

use crate::activity::UserId;
use crate::config::Config;
use crate::leaderboard::{Board, BoardSpec, Change, RankPolicy, ScoreMode};
use crate::name::Name;
use crate::outcome::{MetricChange, Outcome};
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

/// The change an outcome makes on a board of `spec`, if any. `metrics` is
/// the outcome's [`Outcome::metric_changes`], found once by the caller for
/// every board rather than once a board.
fn change_for(spec: &BoardSpec, outcome: &Outcome, metrics: &[MetricChange]) -> Option<Change> {
    let (increase, after) = source_change(&spec.source, &outcome.totals, metrics)?;
    let at = outcome.at;
    Some(match spec.mode {
        // An all-time board of a total shows the total itself, the figure a
        // rebuild reads from the state: saturated, never overflowing, down
        // as well as up (admin adjustments), and a user back at zero leaves
        // the board as a rebuild leaves them off it.
        // Whatever the mode: a lifetime total falls only by a correction,
        // which a best score must follow too.
        _ if spec.window.period_kind().is_none() => match after {
            0 => Change::Remove,
            _ => Change::Set(after),
        },
        ScoreMode::Increment if increase == 0 => return None,
        // The state's window gain saturates; so does the board.
        ScoreMode::Increment => Change::RecordSaturating {
            amount: increase,
            at,
        },
        ScoreMode::Replace | ScoreMode::KeepBest => Change::Record { amount: after, at },
    })
}

/// Update the locked boards of `batch` by `user`'s changes, every board's
/// entry touched first so their cache misses overlap, and unlock them. The
/// touches only read: the boards end as if each change were applied alone.
fn update(batch: &mut Locked<'_>, user: UserId, now: DateTime<Utc>) {
    let mut warm = 0;
    for (board, _) in batch.iter() {
        warm ^= board.touch_entry(user);
    }
    std::hint::black_box(warm);
    for (board, change) in batch.iter_mut() {
        apply_one(board, user, *change, now);
    }
    batch.clear();
}

/// Apply one change of `user` to `board`.
fn apply_one(board: &mut Board, user: UserId, change: Change, now: DateTime<Utc>) {
    // A refused change (out of the board's bounds) leaves the board as it
    // was; the activity itself is committed.
    let _ = board.apply(user, change, now);
    // A score replaced by zero is no score: off the board, as a rebuild
    // from the states leaves it.
    if matches!(change, Change::Record { .. }) && board.ranked().score(user) == Some(0) {
        board.remove(user);
    }
}

/// The boards an outcome changes, locked, with their changes: on the stack
/// for up to the sparkle preset's sixteen boards (this runs on every
/// activity).
type Locked<'a> = SmallVec<[(RwLockWriteGuard<'a, Board>, Change); 16]>;

/// Every configured board, in configuration order.
pub(crate) struct Boards {
    slots: Vec<Slot>,
}

/// Read access to one board, rolled over to the engine's `now`. Holds the
/// board's read lock, so drop it before calling any other engine method on
/// the same thread. Recording and the admin operations (`reset_board`,
/// `replay`) write the board and would wait for this thread forever; reads
/// (`stats`, another `board` of the same id) take the lock again, which a
/// writer waiting on another thread in between blocks, and the writer waits
/// for this handle. Query what you need and let the handle go.
///
/// Like the lock guard it holds, it is `Sync` but not `Send`: in async
/// code, copy out what you need (`top`, `page`, `rank_of` return owned
/// values) and drop it before an `.await`, or the future is not `Send`.
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

    pub(crate) fn ids(&self) -> Vec<Name> {
        self.slots.iter().map(|s| s.spec.id.clone()).collect()
    }

    fn slot(&self, id: &str) -> Option<&Slot> {
        self.slots.iter().find(|s| s.spec.id == id)
    }

    /// Apply a committed outcome to every board its totals or metric
    /// changes touch.
    ///
    /// At a million users each board's update starts with a cache miss
    /// on the user's entry, so the boards are updated in two stages (see
    /// [`Board::touch_entry`]): take the boards' write locks, touch every
    /// board's entry (their misses in flight together), then update each.
    /// Locks are taken in configuration order, and only the first one
    /// waits: a lock that is busy ends the batch (its boards are
    /// updated and unlocked) before it is waited for, so this never holds
    /// one board while waiting for another, and a reader holding one
    /// board's handle while asking for another cannot deadlock with it.
    pub(crate) fn apply(&self, outcome: &Outcome, now: DateTime<Utc>) {
        let mut batch = Locked::new();
        let metrics = outcome.metric_changes();
        for slot in &self.slots {
            let Some(change) = change_for(&slot.spec, outcome, metrics) else {
                continue;
            };
            let board = match slot.board.try_write() {
                Ok(board) => board,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => {
                    update(&mut batch, outcome.user, now);
                    slot.board.write().unwrap_or_else(PoisonError::into_inner)
                }
            };
            batch.push((board, change));
        }
        update(&mut batch, outcome.user, now);
    }

    /// Apply many committed outcomes, in order: what
    /// [`apply`](Self::apply) does for each, as a pipeline. Every board's
    /// write lock is held for the run, and while one outcome is applied the
    /// next one's entries are touched on the boards it changes, so their
    /// cache misses overlap this outcome's work instead of following it.
    ///
    /// The locks are only tried, never waited for while others are held:
    /// if any board is busy (a reader holds its handle), every lock taken
    /// is let go and the outcomes are applied one by one through `apply`,
    /// which waits without holding. So, as for `apply`, a reader holding
    /// one board's handle while asking for another cannot deadlock with it.
    pub(crate) fn apply_all(&self, outcomes: &[&Outcome], now: DateTime<Utc>) {
        let one_by_one = |outcomes: &[&Outcome]| {
            for outcome in outcomes {
                self.apply(outcome, now);
            }
        };
        if outcomes.len() < 2 {
            return one_by_one(outcomes);
        }
        let mut boards: SmallVec<[RwLockWriteGuard<'_, Board>; 16]> = SmallVec::new();
        for slot in &self.slots {
            match slot.board.try_write() {
                Ok(board) => boards.push(board),
                Err(TryLockError::Poisoned(poisoned)) => boards.push(poisoned.into_inner()),
                Err(TryLockError::WouldBlock) => {
                    drop(boards);
                    return one_by_one(outcomes);
                }
            }
        }
        let mut warm = 0;
        for (i, outcome) in outcomes.iter().enumerate() {
            if let Some(next) = outcomes.get(i + 1) {
                let metrics = next.metric_changes();
                for (slot, board) in self.slots.iter().zip(&boards) {
                    if change_for(&slot.spec, next, metrics).is_some() {
                        warm ^= board.touch_entry(next.user);
                    }
                }
            }
            let metrics = outcome.metric_changes();
            for (slot, board) in self.slots.iter().zip(&mut boards) {
                if let Some(change) = change_for(&slot.spec, outcome, metrics) {
                    apply_one(board, outcome.user, change, now);
                }
            }
        }
        std::hint::black_box(warm);
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

    /// Put the boards of `fresh`, built aside from the same configuration,
    /// in place of these, one board at a time: a reader sees each board
    /// whole, before or after, never emptied for a rebuild.
    pub(crate) fn replace(&self, fresh: Self) {
        for (slot, new) in self.slots.iter().zip(fresh.slots) {
            let new = new
                .board
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner);
            *slot.board.write().unwrap_or_else(PoisonError::into_inner) = new;
        }
    }

    /// Read one board, rolled over to `now` first.
    ///
    /// Only a board whose window has ended needs the write lock, and it is
    /// never waited for: a reader holding one board while asking for
    /// another would deadlock with a reader doing the opposite (and with
    /// itself, asking twice). If the board is busy at that moment, this read
    /// shows it unrolled; the next read or record closes the window.
    pub(crate) fn handle(&self, id: &str, now: DateTime<Utc>) -> Option<BoardHandle<'_>> {
        let slot = self.slot(id)?;
        let board = slot.board.read().unwrap_or_else(PoisonError::into_inner);
        if !board.needs_roll(now) {
            return Some(BoardHandle(board));
        }
        drop(board);
        match slot.board.try_write() {
            Ok(mut board) => board.roll_to(now),
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner().roll_to(now),
            Err(TryLockError::WouldBlock) => {}
        }
        Some(BoardHandle(
            slot.board.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }

    /// Close the current window of board `id` now (admin reset). Returns
    /// whether the board exists.
    ///
    /// A board already rolled past `now` (by a read or record whose clock
    /// read came later) has its current window closed: a reset never moves
    /// a board back into a window that has ended.
    pub(crate) fn reset(&self, id: &str, now: DateTime<Utc>) -> bool {
        match self.slot(id) {
            Some(slot) => {
                let mut board = slot.board.write().unwrap_or_else(PoisonError::into_inner);
                let tz = slot.spec.time_zone;
                let now = board.window().map_or(now, |w| now.max(w.start(tz)));
                board.reset_window(now);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;
    use crate::outcome::Totals;

    /// An outcome that adds `xp` to `user`'s XP, now at `after`.
    fn xp(user: u64, xp: i64, after: u64, at: DateTime<Utc>) -> Outcome {
        Outcome {
            user: UserId(user),
            activity: None,
            at,
            events: Vec::new(),
            totals: Totals {
                xp,
                xp_after: after,
                ..Totals::default()
            },
        }
    }

    /// Holds the weekly board's handle while `write` runs on another
    /// thread (long enough for it to lock what it can and wait for the
    /// weekly board), then asks for the daily board from a third thread:
    /// `check` gets that reader's length of it, or the timeout a deadlock
    /// gives, before the threads are joined.
    fn read_daily_while_weekly_held(
        boards: &Boards,
        now: DateTime<Utc>,
        write: impl FnOnce() + Send,
        check: impl FnOnce(Result<Option<usize>, mpsc::RecvTimeoutError>),
    ) {
        let (done, finished) = mpsc::channel();
        std::thread::scope(|s| {
            let weekly = boards.handle("xp_weekly", now);
            let writer = s.spawn(write);
            std::thread::sleep(Duration::from_millis(50));
            let reader = s.spawn(|| {
                let daily = boards.handle("xp_daily", now).map(|b| b.len());
                let _ = done.send(daily);
            });
            let daily = finished.recv_timeout(Duration::from_secs(10));
            drop(weekly);
            check(daily);
            let _ = (writer.join(), reader.join());
        });
    }

    /// A reader holding one board's handle while it asks for another must
    /// not deadlock with an update of both: the update never holds a board
    /// while it waits for another.
    #[test]
    fn a_reader_holding_two_handles_does_not_deadlock_with_an_update() {
        let now = Utc.with_ymd_and_hms(2026, 5, 4, 12, 0, 0).unwrap();
        let boards = Boards::new(&Config::sparkle());
        boards.apply(&xp(1, 10, 10, now), now);
        read_daily_while_weekly_held(
            &boards,
            now,
            || boards.apply(&xp(1, 5, 15, now), now),
            |daily| assert_eq!(daily, Ok(Some(1)), "deadlocked"),
        );
        let all = boards
            .handle("xp_all_time", now)
            .and_then(|b| b.rank_of(UserId(1)));
        assert_eq!(all.map(|s| s.score), Some(15));
        let daily = boards
            .handle("xp_daily", now)
            .and_then(|b| b.rank_of(UserId(1)));
        assert_eq!(daily.map(|s| s.score), Some(15));
    }

    /// The same for a batch: it takes every board only if none is busy.
    #[test]
    fn a_reader_holding_two_handles_does_not_deadlock_with_a_batch() {
        let now = Utc.with_ymd_and_hms(2026, 5, 4, 12, 0, 0).unwrap();
        let boards = Boards::new(&Config::sparkle());
        boards.apply(&xp(1, 10, 10, now), now);
        let batch = [xp(1, 5, 15, now), xp(2, 7, 7, now), xp(1, 1, 16, now)];
        let batch: Vec<&Outcome> = batch.iter().collect();
        read_daily_while_weekly_held(
            &boards,
            now,
            || boards.apply_all(&batch, now),
            |daily| assert!(matches!(daily, Ok(Some(1 | 2))), "deadlocked: {daily:?}"),
        );
        for (board, user, score) in [
            ("xp_all_time", 1, 16),
            ("xp_daily", 1, 16),
            ("xp_weekly", 2, 7),
        ] {
            let standing = boards
                .handle(board, now)
                .and_then(|b| b.rank_of(UserId(user)));
            assert_eq!(standing.map(|s| s.score), Some(score), "{board}");
        }
    }
}

//! Leaderboards: exact ranks for millions of users, with time windows.
//!
//! [`RankedSet`] is the order-statistic structure (O(log n) update, rank,
//! page, around-me). [`Board`] adds what a product needs on top: a
//! [`BoardSpec`] with a rank policy, a score mode, bounds, and a window
//! (all-time, day, week, month in a stated time zone) that rolls over at its
//! boundary, keeping the previous window's final standings readable.
//!
//! Memory: about 47 bytes an entry at a million. On Linux, a board's user
//! table and key arena, once each passes 2 MiB, live in an anonymous
//! mapping advised `MADV_HUGEPAGE`, so that under the common transparent
//! huge page setting (`madvise`) random reads into them do not also miss
//! the TLB. Under the other settings (`always`, `never`), smaller boards,
//! and every board elsewhere, they use the heap.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use gamify::activity::UserId;
//! use gamify::leaderboard::{Board, BoardSpec, BoardWindow, RankPolicy, Source};
//!
//! let mut board = Board::new(BoardSpec::new("xp", Source::Xp, BoardWindow::AllTime));
//! let now = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();
//! for (user, xp) in [(1, 500), (2, 800), (3, 500)] {
//!     board.record(UserId(user), xp, now, now).unwrap();
//! }
//! let top: Vec<(u64, u64)> = board.top(3).iter().map(|s| (s.user.0, s.rank)).collect();
//! assert_eq!(top, [(2, 1), (1, 2), (3, 2)]); // competition ranks: 1, 2, 2
//! assert_eq!(board.rank_of(UserId(3)).unwrap().total, 3);
//! ```

mod blocks;
mod change;
mod ranked;
mod slots;
mod spec;
mod tree;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use change::Change;
pub use ranked::RankedSet;
pub(crate) use spec::RawBoardSpec;
pub use spec::{BoardSpec, BoardWindow, RankPolicy, ScoreMode, Source, sparkle_boards};

use crate::activity::UserId;
use crate::time::Period;

/// One user's place on a board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    /// The user.
    pub user: UserId,
    /// The rank under the board's policy (1 is first).
    pub rank: u64,
    /// The score.
    pub score: u64,
    /// Users on the board.
    pub total: u64,
}

/// The final standings of a closed window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalStandings {
    /// The first local day of the window.
    pub window: NaiveDate,
    /// Its top entries (as many as the spec keeps).
    pub top: Vec<Standing>,
}

/// Why a score change was refused. The board is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BoardError {
    /// The new score is outside the board's bounds.
    #[error("score {score} is outside [{min}, {max}]")]
    OutOfRange {
        /// The refused score.
        score: u64,
        /// The lowest allowed.
        min: u64,
        /// The highest allowed.
        max: u64,
    },
    /// An increment would overflow `u64`.
    #[error("the score would pass u64::MAX")]
    Overflow,
}

/// `score` if it is within the bounds `[min, max]` (`None`: unbounded).
fn in_range(score: u64, min: Option<u64>, max: Option<u64>) -> Result<u64, BoardError> {
    let (min, max) = (min.unwrap_or(0), max.unwrap_or(u64::MAX));
    if score < min || score > max {
        return Err(BoardError::OutOfRange { score, min, max });
    }
    Ok(score)
}

/// The seed's rank badges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RankBadge {
    /// First place.
    Gold,
    /// Second place.
    Silver,
    /// Third place.
    Bronze,
    /// Ranks 4 to 10.
    Top10,
    /// Ranks 11 to 100.
    Top100,
}

impl RankBadge {
    /// The badge for `rank`, if any.
    pub fn for_rank(rank: u64) -> Option<Self> {
        match rank {
            1 => Some(Self::Gold),
            2 => Some(Self::Silver),
            3 => Some(Self::Bronze),
            4..=10 => Some(Self::Top10),
            11..=100 => Some(Self::Top100),
            _ => None,
        }
    }
}

/// A leaderboard: its spec, the current window's ranking, and the previous
/// window's final standings.
#[derive(Debug, Clone)]
pub struct Board {
    spec: BoardSpec,
    set: RankedSet,
    window: Option<Period>,
    /// The current window's `[start, end)` instants, kept so the hot path
    /// compares two instants instead of computing calendar dates.
    span: Option<(DateTime<Utc>, DateTime<Utc>)>,
    previous: Option<FinalStandings>,
}

impl Board {
    /// An empty board.
    pub fn new(spec: BoardSpec) -> Self {
        let set = RankedSet::new(spec.policy == RankPolicy::Dense);
        Self {
            spec,
            set,
            window: None,
            span: None,
            previous: None,
        }
    }

    /// The board's spec.
    pub fn spec(&self) -> &BoardSpec {
        &self.spec
    }

    /// The current window (`None` for all-time boards, or before the first
    /// update).
    pub fn window(&self) -> Option<Period> {
        self.window
    }

    /// The ranking structure, for direct use.
    pub fn ranked(&self) -> &RankedSet {
        &self.set
    }

    /// Users on the board.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether nobody is on the board.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// The previous window's final standings.
    pub fn previous(&self) -> Option<&FinalStandings> {
        self.previous.as_ref()
    }

    /// Whether [`roll_to`](Self::roll_to) at `now` may change the board:
    /// a windowed board with no window yet, or whose window has ended.
    /// Never true of an all-time board.
    pub fn needs_roll(&self, now: DateTime<Utc>) -> bool {
        self.spec.window.period_kind().is_some() && self.span.is_none_or(|(_, end)| now >= end)
    }

    /// Move to the window holding `now`, closing the current one if `now`
    /// is past it. A clock that goes back changes nothing.
    pub fn roll_to(&mut self, now: DateTime<Utc>) {
        let Some(kind) = self.spec.window.period_kind() else {
            return;
        };
        if let Some((_, end)) = self.span
            && now < end
        {
            return;
        }
        let current = kind.containing(now, self.spec.time_zone);
        match self.window {
            Some(w) if w.first_day() >= current.first_day() => {}
            Some(_) => self.close(current),
            None => self.enter(Some(current)),
        }
    }

    /// Make `window` the current one.
    fn enter(&mut self, window: Option<Period>) {
        let tz = self.spec.time_zone;
        self.window = window;
        self.span = window.map(|w| (w.start(tz), w.end(tz)));
    }

    /// Close the current window now, even if it has not ended (an admin
    /// reset): its standings become the previous window's.
    pub fn reset_window(&mut self, now: DateTime<Utc>) {
        let next = match self.spec.window.period_kind() {
            Some(kind) => Some(kind.containing(now, self.spec.time_zone)),
            None => None,
        };
        self.close_into(next);
    }

    fn close(&mut self, next: Period) {
        self.close_into(Some(next));
    }

    fn close_into(&mut self, next: Option<Period>) {
        let window = self.window.map_or(NaiveDate::MIN, |w| w.first_day());
        let top = self.top(self.spec.keep_previous);
        self.previous = Some(FinalStandings { window, top });
        self.set = RankedSet::new(self.spec.policy == RankPolicy::Dense);
        self.enter(next);
    }

    /// Apply a score change for an event at `at`, after rolling over to
    /// `now`. Increment adds `amount`, replace sets it, keep-best keeps the
    /// higher. On a windowed board an event outside the current window
    /// (arriving late) is ignored. An out-of-range result is refused and
    /// changes nothing.
    pub fn record(
        &mut self,
        user: UserId,
        amount: u64,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), BoardError> {
        self.record_by(user, amount, at, now, false)
    }

    /// [`record`](Self::record); with `saturate`, an increment past
    /// `u64::MAX` stops there instead of being refused.
    fn record_by(
        &mut self,
        user: UserId,
        amount: u64,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
        saturate: bool,
    ) -> Result<(), BoardError> {
        // An event stamped a little after `now` (clock skew the engine
        // tolerates) counts in the current window; the board never rolls
        // ahead of `now` because of it.
        let at = at.min(now);
        self.roll_to(now);
        if let Some((start, end)) = self.span
            && !(start <= at && at < end)
        {
            return Ok(());
        }
        let (mode, bounds) = (self.spec.mode, (self.spec.min, self.spec.max));
        // One search of the user table for the old score and the update.
        self.set
            .set_with(user, |old| {
                change::score_after(mode, bounds, old, amount, saturate)
            })
            .map(|_| ())
    }

    /// Set `user`'s score directly, whatever the mode (rebuilding a board,
    /// correcting a score). Refused if out of range.
    pub fn set(&mut self, user: UserId, score: u64, now: DateTime<Utc>) -> Result<(), BoardError> {
        self.roll_to(now);
        self.set_checked(user, score)
    }

    fn set_checked(&mut self, user: UserId, score: u64) -> Result<(), BoardError> {
        in_range(score, self.spec.min, self.spec.max)?;
        self.set.set(user, score);
        Ok(())
    }

    /// Take `user` off the board.
    pub fn remove(&mut self, user: UserId) -> Option<u64> {
        self.set.remove(user)
    }

    /// The rank of a score under the board's policy, given the entry's
    /// 0-based position in the total order.
    fn rank_at(&self, position: usize, score: u64) -> u64 {
        let rank = match self.spec.policy {
            RankPolicy::Ordinal => position,
            RankPolicy::Competition => self.set.count_above(score),
            RankPolicy::Dense => self.set.distinct_above(score).unwrap_or(position),
        };
        rank as u64 + 1
    }

    /// The first `n` entries.
    pub fn top(&self, n: usize) -> Vec<Standing> {
        self.page(0, n)
    }

    /// `limit` entries from position `offset` (0 is the top). Pages follow
    /// one total order, so consecutive pages list every user exactly once.
    pub fn page(&self, offset: usize, limit: usize) -> Vec<Standing> {
        let mut out = Vec::with_capacity(limit.min(self.len().saturating_sub(offset)));
        // Ranks within a page: compute the first by policy, then step.
        let mut prev: Option<(u64, u64)> = None; // (score, rank)
        for (i, (user, score)) in self.set.entries(offset, limit).enumerate() {
            let position = offset + i;
            let rank = match (self.spec.policy, prev) {
                (RankPolicy::Ordinal, _) => position as u64 + 1,
                (_, Some((s, r))) if s == score => r,
                (RankPolicy::Competition, Some(_)) => position as u64 + 1,
                (RankPolicy::Dense, Some((_, r))) => r + 1,
                (_, None) => self.rank_at(position, score),
            };
            prev = Some((score, rank));
            out.push(Standing {
                user,
                rank,
                score,
                total: self.set.len() as u64,
            });
        }
        out
    }

    /// Rank consecutive standings from position `first`: the first by
    /// `first_rank(score)` (the policy's count, the one search), each next
    /// one stepped from the one before, as [`page`](Self::page) does while
    /// it reads (a second pass there measured slower).
    fn rank_run(&self, run: &mut [Standing], first: usize, first_rank: impl FnOnce(u64) -> u64) {
        let Some((head, rest)) = run.split_first_mut() else {
            return;
        };
        head.rank = first_rank(head.score);
        let mut prev = *head;
        for (i, s) in rest.iter_mut().enumerate() {
            s.rank = match self.spec.policy {
                RankPolicy::Ordinal => (first + i + 1) as u64 + 1,
                _ if s.score == prev.score => prev.rank,
                RankPolicy::Competition => (first + i + 1) as u64 + 1,
                RankPolicy::Dense => prev.rank + 1,
            };
            prev = *s;
        }
    }

    /// `user`'s standing.
    pub fn rank_of(&self, user: UserId) -> Option<Standing> {
        let score = self.set.score(user)?;
        // One search: the policy's own count, not the position as well.
        let rank = match self.spec.policy {
            RankPolicy::Ordinal => self.set.position(user)?,
            RankPolicy::Competition => self.set.count_above(score),
            RankPolicy::Dense => self.set.distinct_above(score)?,
        };
        Some(Standing {
            user,
            rank: rank as u64 + 1,
            score,
            total: self.set.len() as u64,
        })
    }

    /// `user` with up to `k` entries above and `k` below.
    pub fn around(&self, user: UserId, k: usize) -> Vec<Standing> {
        if k > ranked::NEAR {
            return self.around_paged(user, k);
        }
        let mut keys = ranked::WindowKeys::default();
        let Some(window) = self.set.window(user, k, &mut keys) else {
            return Vec::new();
        };
        let total = self.set.len() as u64;
        let scores = window.scores();
        let mut out = Vec::with_capacity(scores.len());
        out.extend(scores.map(|score| Standing {
            user,
            rank: 0,
            score,
            total,
        }));
        // Ranks before users: the users' loads, the last cache misses, are
        // then the end of the call, and the next call's work overlaps them.
        let first = window.first();
        self.rank_run(&mut out, first, |score| {
            let above = match self.spec.policy {
                RankPolicy::Ordinal => first,
                RankPolicy::Competition => self.set.count_above_first(&window),
                RankPolicy::Dense => self.set.distinct_above(score).unwrap_or(first),
            };
            above as u64 + 1
        });
        self.set.users(&window, out.iter_mut().map(|s| &mut s.user));
        out
    }

    /// [`around`](Self::around) for a wide window, as a page.
    fn around_paged(&self, user: UserId, k: usize) -> Vec<Standing> {
        match self.set.position(user) {
            // Saturating: `k` is the caller's, and `page` clamps to the board.
            Some(p) => self.page(
                p.saturating_sub(k),
                k.saturating_add(1).saturating_add(p.min(k)),
            ),
            None => Vec::new(),
        }
    }

    /// The share of users (0–100) with a lower score than `user`.
    pub fn percentile(&self, user: UserId) -> Option<f64> {
        let score = self.set.score(user)?;
        let total = self.set.len();
        let not_below = self.set.count_above(score.saturating_sub(1));
        let below = if score == 0 { 0 } else { total - not_below };
        Some(100.0 * below as f64 / total as f64)
    }

    /// A ranking among `users` only (friends, a team), by the board's
    /// policy and order; users not on the board are left out.
    pub fn among(&self, users: &[UserId]) -> Vec<Standing> {
        let mut found: Vec<(u64, u32, UserId)> = users
            .iter()
            .filter_map(|u| Some((self.set.score(*u)?, self.set.sequence(*u)?, *u)))
            .collect();
        found.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        found.dedup_by_key(|e| e.2);
        let total = found.len() as u64;
        let mut out: Vec<Standing> = Vec::with_capacity(found.len());
        for (i, (score, _, user)) in found.iter().enumerate() {
            let rank = match (self.spec.policy, out.last()) {
                (RankPolicy::Ordinal, _) | (_, None) => i as u64 + 1,
                (_, Some(p)) if p.score == *score => p.rank,
                (RankPolicy::Competition, _) => i as u64 + 1,
                (RankPolicy::Dense, Some(p)) => p.rank + 1,
            };
            out.push(Standing {
                user: *user,
                rank,
                score: *score,
                total,
            });
        }
        out
    }
}

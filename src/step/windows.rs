//! Each user's score in the current window of every windowed board, kept in
//! the user's state so the boards can be rebuilt from states alone (on
//! start, after a replay).

use chrono::{DateTime, NaiveDate, Utc};
use smallvec::SmallVec;

use crate::config::Config;
use crate::leaderboard::{RankPolicy, ScoreMode, Source};
use crate::outcome::{MetricChange, Totals};
use crate::state::{UserState, WindowGain};
use crate::time::{PeriodKind, Tz, local_date};

/// What an outcome changed of a board's source, given its totals and its
/// metric changes: the increase, and the value afterwards. `None` if it
/// did not touch the source.
///
/// Always inlined: it runs once a board for every activity (sixteen times
/// with the sparkle preset), and as a call its prologue, epilogue and jump
/// table cost more than its work: inlined, the pure step with every
/// sparkle board takes 6% fewer instructions (callgrind), though no
/// difference in time shows through this machine's noise.
#[inline(always)]
pub(crate) fn source_change(
    source: &Source,
    totals: &Totals,
    metrics: &[MetricChange],
) -> Option<(u64, u64)> {
    let non_negative = |change: i64| u64::try_from(change).unwrap_or(0);
    match source {
        Source::Xp => (totals.xp != 0).then(|| (non_negative(totals.xp), totals.xp_after)),
        Source::Points => {
            (totals.points != 0).then(|| (non_negative(totals.points), totals.points_after))
        }
        Source::AchievementScore => (totals.achievement_score != 0).then(|| {
            (
                non_negative(totals.achievement_score),
                totals.achievement_score_after,
            )
        }),
        // A counter that did not move (saturated) changed nothing.
        Source::Metric(name) => metrics
            .iter()
            .find(|m| &m.metric == name && m.by > 0)
            .map(|m| (m.by, m.total)),
    }
}

/// A board source's lifetime value in `state`.
pub(crate) fn source_total(source: &Source, state: &UserState) -> u64 {
    match source {
        Source::Xp => state.xp,
        Source::Points => state.points,
        Source::AchievementScore => state.achievements.score(),
        Source::Metric(name) => state.metrics.get(name),
    }
}

/// Fold the outcome's changes into the user's current-window score of every
/// windowed board, and note when scores changed on ordinal boards (whose
/// ties go to who reached the score first). An activity that belongs to a window older than the one
/// recorded (it arrived late) does not count on windowed boards: that window
/// is closed.
pub(crate) fn record_windows(
    config: &Config,
    state: &mut UserState,
    totals: &Totals,
    metrics: &[MetricChange],
    at: DateTime<Utc>,
) {
    // Boards share a zone or two and a few window kinds, and finding a
    // window (a zone's offset, then the week's or month's first day in
    // chrono's calendar) costs more than the rest of a board's update
    // here: each (zone, kind) window found is kept for the next board.
    let mut found: SmallVec<[(Tz, PeriodKind, NaiveDate); 4]> = SmallVec::new();
    for board in &config.boards {
        let Some((increase, after)) = source_change(&board.source, totals, metrics) else {
            continue;
        };
        let Some(kind) = board.window.period_kind() else {
            // An all-time board shows the total, which changed.
            if board.policy == RankPolicy::Ordinal {
                state.reached.insert(board.id.clone(), at);
            }
            continue;
        };
        // Nothing gained (a decrease, a saturated counter): the window is
        // not touched, as its live board is not.
        if board.mode == ScoreMode::Increment && increase == 0 {
            continue;
        }
        let tz = board.time_zone;
        let window = match found.iter().find(|(z, k, _)| *z == tz && *k == kind) {
            Some(&(_, _, window)) => window,
            None => {
                let window = kind.of_date(local_date(at, tz)).first_day();
                found.push((tz, kind, window));
                window
            }
        };
        let fresh = WindowGain { window, amount: 0 };
        let gain = match state.windows.get_mut(board.id.as_str()) {
            Some(gain) if gain.window > window => continue,
            Some(gain) => {
                if gain.window < window {
                    *gain = fresh;
                }
                gain
            }
            None => state.windows.entry(board.id.clone()).or_insert(fresh),
        };
        let before = gain.amount;
        gain.amount = match board.mode {
            ScoreMode::Increment => gain.amount.saturating_add(increase),
            ScoreMode::Replace => after,
            ScoreMode::KeepBest => gain.amount.max(after),
        };
        if board.policy == RankPolicy::Ordinal && gain.amount != before {
            state.reached.insert(board.id.clone(), at);
        }
    }
}

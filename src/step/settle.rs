//! Level-ups and achievements, settled together: an unlock's XP can cross a
//! level, a level's bonus can cross another, and a level can unlock an
//! achievement. Each round either raises the level or unlocks something, so
//! the loop ends; a bound guards against a catalog that would not.

use chrono::{DateTime, Utc};

use super::{Books, Events, NO_ATTRIBUTES};
use crate::achievement::{Change, Evaluation, Facts};
use crate::config::Config;
use crate::ledger::{Currency, Reason};
use crate::outcome::Event;
use crate::state::UserState;
use crate::time::Tz;

/// More rounds than any real catalog needs (each round unlocks at least one
/// achievement or raises the level).
const MAX_ROUNDS: usize = 10_000;

/// The facts about a user the achievement evaluator reads.
pub(crate) fn facts(state: &UserState) -> Facts<'_> {
    let UserState {
        metrics,
        level,
        streak,
        quests,
        ..
    } = state;
    facts_of(metrics, *level, streak, quests)
}

/// [`facts`] from the parts of a state it reads, so the achievements can
/// be borrowed to change beside them (see [`split`]).
fn facts_of<'a>(
    metrics: &'a crate::activity::Metrics,
    level: crate::level::Level,
    streak: &crate::streak::StreakState,
    quests: &'a crate::quest::QuestState,
) -> Facts<'a> {
    Facts {
        metrics,
        level,
        streak_current: streak.current,
        streak_longest: streak.longest,
        quests_completed: quests.completed_total,
        quests_by_family: &quests.completed_by_family,
    }
}

/// The achievement state to change, and the facts to read, of one user.
fn split(state: &mut UserState) -> (&mut crate::achievement::AchievementState, Facts<'_>) {
    let UserState {
        metrics,
        level,
        streak,
        quests,
        achievements,
        ..
    } = state;
    (achievements, facts_of(metrics, *level, streak, quests))
}

/// Raise the level to what the XP balance reaches (crediting the level-up
/// bonus for every level gained) and evaluate achievements, until neither
/// changes. `change` is what the activity itself changed; later rounds only
/// report a level change.
pub(super) fn settle(
    config: &Config,
    state: &mut UserState,
    change: Change<'_>,
    books: &mut Books,
    events: &mut Events,
) {
    let (at, tz) = (change.at, change.tz);
    let mut first = Some(change);
    for _ in 0..MAX_ROUNDS {
        let level_changed = level_up(config, state, books, events);
        let change = match first.take() {
            Some(change) => Change {
                level_changed,
                ..change
            },
            None if level_changed => later_change(at, tz),
            None => return,
        };
        let (achievements, facts) = split(state);
        let evaluation = config.achievements.evaluate(achievements, &facts, &change);
        // Unlocks credit XP; the next round raises the level if it crossed
        // one, and stops if nothing changed.
        credit_unlocks(state, evaluation, books, events);
    }
}

/// What a later round of the cascade reports: only the level changed.
/// Settle after an admin operation: `level_moved` when the operation set
/// the level itself (an adjustment, which pays no level-up bonus), so the
/// level achievements are checked first; `granted` when it unlocked an
/// achievement, so what depends on it is checked; then whatever XP unlocks
/// (or a grant) brought is settled like an activity's, bonus included.
pub(crate) fn settle_admin(
    config: &Config,
    state: &mut UserState,
    at: DateTime<Utc>,
    level_moved: bool,
    granted: bool,
    books: &mut Books,
    events: &mut Events,
) {
    let tz = state.time_zone.unwrap_or(config.default_time_zone);
    if level_moved {
        let (achievements, facts) = split(state);
        let evaluation = config
            .achievements
            .evaluate(achievements, &facts, &later_change(at, tz));
        credit_unlocks(state, evaluation, books, events);
    }
    let change = Change {
        level_changed: false,
        achievements_changed: granted,
        ..later_change(at, tz)
    };
    settle(config, state, change, books, events);
}

fn later_change(at: DateTime<Utc>, tz: Tz) -> Change<'static> {
    Change {
        kind: None,
        at,
        tz,
        metrics: &[],
        attributes: &NO_ATTRIBUTES,
        level_changed: true,
        streak_changed: false,
        quests_changed: false,
        achievements_changed: false,
    }
}

/// Raise `state.level` to the level of its XP, crediting the level-up bonus
/// (which may itself cross further levels). Returns whether it rose.
pub(crate) fn level_up(
    config: &Config,
    state: &mut UserState,
    books: &mut Books,
    events: &mut Events,
) -> bool {
    let mut rose = false;
    loop {
        let reached = config.curve.level_for_xp(state.xp);
        if reached <= state.level {
            return rose;
        }
        let from = state.level;
        state.level = reached;
        rose = true;
        let per_level = config.xp.level_up_bonus(1);
        for level in from.saturating_add(1)..=reached {
            events.push(Event::LevelUp {
                level,
                bonus_xp: per_level,
            });
        }
        let bonus = config.xp.level_up_bonus(reached - from);
        books.credit(state, Currency::Xp, bonus, || Reason::LevelUp {
            from,
            to: reached,
        });
    }
}

/// Credit each unlock's XP, points and score and report it; also report the
/// progress of affected, still-locked achievements. Returns whether anything
/// unlocked.
pub(crate) fn credit_unlocks(
    state: &mut UserState,
    evaluation: Evaluation,
    books: &mut Books,
    events: &mut Events,
) -> bool {
    let unlocked = !evaluation.unlocked.is_empty();
    for unlock in evaluation.unlocked {
        let reason = || Reason::Achievement {
            achievement: unlock.id.clone(),
        };
        books.credit(state, Currency::Xp, unlock.xp, reason);
        books.credit(state, Currency::Points, unlock.points, reason);
        let score = i64::try_from(unlock.score).unwrap_or(i64::MAX);
        books.totals.achievement_score = books.totals.achievement_score.saturating_add(score);
        events.push(Event::AchievementUnlocked(unlock));
    }
    let progress: Vec<_> = evaluation
        .progress
        .into_iter()
        .filter(|p| !p.unlocked)
        .collect();
    if !progress.is_empty() {
        events.push(Event::AchievementProgress { progress });
    }
    unlocked
}

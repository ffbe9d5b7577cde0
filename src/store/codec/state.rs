//! The binary encoding of a user's state. Format 3 is format 1 followed by
//! the revoked achievements (format 2 ended there) and the instants scores
//! were reached on ordinal boards; older formats are still read, with
//! nothing revoked or reached.
//!
//! Every struct is destructured without `..`, so a field added to the state
//! fails to compile here instead of being silently dropped; such a change
//! must also change the format byte (and keep reading the old one).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::STATE_FORMAT;
use super::wire::{Reader, Writer};
use crate::achievement::{AchievementState, Unlocked};
use crate::activity::Metrics;
use crate::name::{Name, NameMap};
use crate::quest::{QuestProgress, QuestState};
use crate::state::{UserState, WindowGain};
use crate::store::StoreError;
use crate::streak::StreakState;
use crate::xp::{KindCounters, RuleState};

/// The revoked achievements (state format 2): their count, then each id.
fn write_revoked(w: &mut Writer, revoked: &BTreeSet<Name>) {
    w.u64(revoked.len() as u64);
    for id in revoked {
        w.str(id);
    }
}

/// What [`write_revoked`] wrote, or nothing revoked for a state of format 1
/// (written before revocations were remembered).
fn read_revoked(r: &mut Reader<'_>, format: u8) -> Result<BTreeSet<Name>, StoreError> {
    let mut revoked = BTreeSet::new();
    if format >= 2 {
        for _ in 0..r.len()? {
            revoked.insert(r.name()?);
        }
    }
    Ok(revoked)
}

/// When scores were reached on ordinal boards (state format 3).
fn write_reached(w: &mut Writer, reached: &NameMap<DateTime<Utc>>) {
    w.map(reached, |w, at| w.instant(*at));
}

/// What [`write_reached`] wrote, or nothing for a state of an earlier format.
fn read_reached(r: &mut Reader<'_>, format: u8) -> Result<NameMap<DateTime<Utc>>, StoreError> {
    if format >= 3 {
        r.map(Reader::instant)
    } else {
        Ok(NameMap::new())
    }
}

/// A user's state.
pub(in crate::store) fn encode_state(state: &UserState) -> Vec<u8> {
    let UserState {
        xp,
        points,
        level,
        time_zone,
        metrics,
        rules,
        streak,
        quests,
        achievements,
        windows,
        reached,
    } = state;
    let mut w = Writer::with_format(STATE_FORMAT);
    w.u64(*xp);
    w.u64(*points);
    w.u64(u64::from(*level));
    w.option(time_zone.as_ref(), |w, tz| w.str(tz.name()));
    w.u64(metrics.iter().count() as u64);
    for (name, v) in metrics.iter() {
        w.str(name);
        w.u64(v);
    }
    let RuleState { kinds } = rules;
    w.map(kinds, |w, c| {
        let KindCounters {
            day,
            day_xp,
            week,
            week_xp,
            last_award,
        } = c;
        w.date(*day);
        w.u64(*day_xp);
        w.date(*week);
        w.u64(*week_xp);
        w.option(*last_award, Writer::instant);
    });
    let StreakState {
        current,
        longest,
        freezes,
        last_day,
    } = streak;
    w.u64(u64::from(*current));
    w.u64(u64::from(*longest));
    w.u64(u64::from(*freezes));
    w.option(*last_day, Writer::date);
    let QuestState {
        completed_total,
        completed_by_family,
        progress,
    } = quests;
    w.u64(*completed_total);
    w.map(completed_by_family, |w, v| w.u64(*v));
    w.map(progress, |w, p| {
        let QuestProgress {
            window,
            count,
            completed,
        } = p;
        w.date(*window);
        w.u64(*count);
        w.bool(*completed);
    });
    let AchievementState {
        unlocked,
        counters,
        score,
        revoked,
    } = achievements;
    w.map(unlocked, |w, u| {
        let Unlocked {
            at,
            tiers,
            granted,
            score,
        } = u;
        w.instant(*at);
        w.u64(u64::from(*tiers));
        w.bool(*granted);
        w.u64(*score);
    });
    w.map(counters, |w, days| {
        w.seq(days, |w, (day, n)| {
            w.date(*day);
            w.u64(*n);
        });
    });
    w.u64(*score);
    w.map(windows, |w, g| {
        let WindowGain { window, amount } = g;
        w.date(*window);
        w.u64(*amount);
    });
    // Last, so each format is the next one cut short.
    write_revoked(&mut w, revoked);
    write_reached(&mut w, reached);
    w.finish()
}

/// What [`encode_state`] wrote.
pub(in crate::store) fn decode_state(bytes: &[u8]) -> Result<UserState, StoreError> {
    let (mut r, format) = Reader::versioned(bytes, "user state", STATE_FORMAT)?;
    let xp = r.u64()?;
    let points = r.u64()?;
    let level = r.u32()?;
    let time_zone = r.option(Reader::tz)?;
    let mut metrics = Metrics::new();
    for _ in 0..r.len()? {
        let name = r.name()?;
        metrics.set(name, r.u64()?);
    }
    let kinds = r.map(|r| {
        Ok(KindCounters {
            day: r.date()?,
            day_xp: r.u64()?,
            week: r.date()?,
            week_xp: r.u64()?,
            last_award: r.option(Reader::instant)?,
        })
    })?;
    let streak = StreakState {
        current: r.u32()?,
        longest: r.u32()?,
        freezes: r.u32()?,
        last_day: r.option(Reader::date)?,
    };
    let quests = QuestState {
        completed_total: r.u64()?,
        completed_by_family: r.map(Reader::u64)?,
        progress: r.map(|r| {
            Ok(QuestProgress {
                window: r.date()?,
                count: r.u64()?,
                completed: r.bool()?,
            })
        })?,
    };
    let mut achievements = AchievementState {
        unlocked: r.map(|r| {
            Ok(Unlocked {
                at: r.instant()?,
                tiers: r.u32()?,
                granted: r.bool()?,
                score: r.u64()?,
            })
        })?,
        counters: r.map(|r| r.seq(|r| Ok((r.date()?, r.u64()?))))?,
        score: r.u64()?,
        revoked: BTreeSet::new(),
    };
    let windows = r.map(|r| {
        Ok(WindowGain {
            window: r.date()?,
            amount: r.u64()?,
        })
    })?;
    achievements.revoked = read_revoked(&mut r, format)?;
    let reached = read_reached(&mut r, format)?;
    r.end()?;
    Ok(UserState {
        xp,
        points,
        level,
        time_zone,
        metrics,
        rules: RuleState { kinds },
        streak,
        quests,
        achievements,
        windows,
        reached,
    })
}

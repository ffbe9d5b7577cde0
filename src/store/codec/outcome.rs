//! The binary encoding of an outcome: its events, award and totals.
//!
//! Every struct is destructured without `..` and every enum matched without
//! a wildcard, so a field or variant added to these types fails to compile
//! here instead of being silently dropped. A change to how something is
//! laid out takes a new tag (an old build refuses it as unknown, never
//! misreads it) or a new format byte, and keeps reading the old layout.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use super::wire::{Reader, Writer};
use crate::achievement::{AchievementProgress, Rarity, Unlock};
use crate::activity::{ActivityId, UserId};
use crate::name::Name;
use crate::outcome::{Event, MetricChange, Outcome, Totals, metric_changes};
use crate::quest::QuestCompleted;
use crate::store::StoreError;
use crate::streak::StreakChange;
use crate::time::PeriodKind;
use crate::xp::{Award, Limit, Limited};

fn write_metric_changes(w: &mut Writer, changes: &[MetricChange]) {
    w.seq(changes, |w, c| {
        let MetricChange { metric, by, total } = c;
        w.str(metric);
        w.u64(*by);
        w.u64(*total);
    });
}

fn read_metric_changes(r: &mut Reader<'_>) -> Result<Vec<MetricChange>, StoreError> {
    r.seq(|r| {
        Ok(MetricChange {
            metric: r.name()?,
            by: r.u64()?,
            total: r.u64()?,
        })
    })
}

/// An outcome.
pub(in crate::store) fn encode_outcome(outcome: &Outcome) -> Vec<u8> {
    let mut w = Writer::new();
    write_outcome(&mut w, outcome);
    w.finish()
}

/// An outcome's fields, without a format byte: part of a larger blob.
fn write_outcome(w: &mut Writer, outcome: &Outcome) {
    let Outcome {
        user,
        activity,
        at,
        events,
        totals,
    } = outcome;
    w.u64(user.0);
    w.option(activity.as_ref(), |w, id| w.str(&id.0));
    w.instant(*at);
    write_outcome_body(w, events, totals, None);
}

/// What the journal knows of an outcome before reading it: the activity
/// it is the first outcome of. Given it, [`write_outcome_body`] leaves out
/// what the activity and the rest of the outcome imply (see
/// [`Tag::XP_AWARDED_IMPLIED`] and [`Tag::PROGRESS_DERIVED`]), and the
/// copy of the metric changes that stored blobs carry. Only
/// `MemoryStore`'s journal, which lives and dies with the process, writes
/// with it: no stored blob ever holds what it leaves out, and no older
/// build has to read it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Known<'a> {
    /// The activity's kind, which its award names.
    pub(super) kind: &'a str,
    /// The activity's instant, which its award names.
    pub(super) at: DateTime<Utc>,
}

/// Event tags written only with [`Known`], numbered after
/// [`write_event`]'s (a new event there must not take them).
struct Tag;

impl Tag {
    /// An XP award of the known activity, at its instant, in the ISO week
    /// of its day, crediting what it granted: its day as days from the
    /// instant's UTC date, then the award from its base on.
    const XP_AWARDED_IMPLIED: u8 = 14;
    /// Achievement progress whose every fraction is the one
    /// [`AchievementProgress::fraction_of`] gives: the fractions are left
    /// out (eight bytes an entry).
    const PROGRESS_DERIVED: u8 = 15;
}

/// An outcome's events and totals: what [`write_outcome`] writes after
/// its user, activity and instant; with `known`, leaving out what that
/// implies.
pub(super) fn write_outcome_body(
    w: &mut Writer,
    events: &[Event],
    totals: &Totals,
    known: Option<Known<'_>>,
) {
    match known {
        Some(known) => w.seq(events, |w, e| write_known_event(w, e, known)),
        None => w.seq(events, write_event),
    }
    let Totals {
        xp,
        points,
        achievement_score,
        xp_after,
        points_after,
        achievement_score_after,
    } = totals;
    w.i64(*xp);
    w.i64(*points);
    w.i64(*achievement_score);
    w.u64(*xp_after);
    w.u64(*points_after);
    w.u64(*achievement_score_after);
    // Outcomes once kept their metric changes twice, in the event and in
    // the totals; stored blobs keep that layout (the list again, read back
    // and dropped), and the journal, which no other build reads, leaves
    // it out.
    if known.is_none() {
        write_metric_changes(w, metric_changes(events));
    }
}

/// An event, written knowing the activity: in the shorter form where one
/// applies, else as [`write_event`] writes it.
fn write_known_event(w: &mut Writer, event: &Event, known: Known<'_>) {
    match event {
        Event::XpAwarded { amount, award }
            if award.kind == known.kind
                && award.at == known.at
                && *amount == award.xp
                && award.week == PeriodKind::ISO_WEEK.of_date(award.day).first_day() =>
        {
            w.u8(Tag::XP_AWARDED_IMPLIED);
            let days = award.day.signed_duration_since(known.at.date_naive());
            w.i64(days.num_days());
            write_award_from_base(w, award);
        }
        Event::AchievementProgress { progress }
            if progress.iter().all(|p| {
                let derived = AchievementProgress::fraction_of(p.current, p.target, p.unlocked);
                derived.to_bits() == p.fraction.to_bits()
            }) =>
        {
            w.u8(Tag::PROGRESS_DERIVED);
            w.seq(progress, |w, p| {
                let AchievementProgress {
                    id,
                    current,
                    target,
                    fraction: _,
                    unlocked,
                } = p;
                w.str(id);
                w.u64(*current);
                w.u64(*target);
                w.bool(*unlocked);
            });
        }
        _ => write_event(w, event),
    }
}

/// What [`encode_outcome`] wrote.
pub(in crate::store) fn decode_outcome(bytes: &[u8]) -> Result<Outcome, StoreError> {
    let mut r = Reader::new(bytes, "outcome")?;
    let outcome = read_outcome(&mut r)?;
    r.end()?;
    Ok(outcome)
}

/// What [`write_outcome`] wrote.
fn read_outcome(r: &mut Reader<'_>) -> Result<Outcome, StoreError> {
    let user = UserId(r.u64()?);
    let activity = r.option(|r| r.name().map(ActivityId))?;
    let at = r.instant()?;
    read_outcome_body(r, Outcome::new(user, activity, at), None)
}

/// What [`write_outcome_body`] wrote, into `outcome`, given the same
/// `known`.
pub(super) fn read_outcome_body(
    r: &mut Reader<'_>,
    outcome: Outcome,
    known: Option<Known<'_>>,
) -> Result<Outcome, StoreError> {
    let events = r.seq(|r| match known {
        Some(known) => read_known_event(r, known),
        None => read_event(r),
    })?;
    let totals = Totals {
        xp: r.i64()?,
        points: r.i64()?,
        achievement_score: r.i64()?,
        xp_after: r.u64()?,
        points_after: r.u64()?,
        achievement_score_after: r.u64()?,
    };
    if known.is_none() {
        // The event's metric changes again (see `write_outcome_body`).
        read_metric_changes(r)?;
    }
    Ok(Outcome {
        events,
        totals,
        ..outcome
    })
}

fn write_event(w: &mut Writer, event: &Event) {
    match event {
        Event::XpAwarded { amount, award } => {
            w.u8(0);
            w.u64(*amount);
            write_award(w, award);
        }
        Event::LevelUp { level, bonus_xp } => {
            w.u8(1);
            w.u64(u64::from(*level));
            w.u64(*bonus_xp);
        }
        Event::LevelDown { level } => {
            w.u8(2);
            w.u64(u64::from(*level));
        }
        Event::AchievementUnlocked(unlock) => {
            w.u8(3);
            let Unlock {
                id,
                code,
                name,
                tier,
                rarity,
                xp,
                points,
                score,
            } = unlock;
            w.str(id);
            w.str(code);
            w.str(name);
            w.option(*tier, |w, t| w.u64(u64::from(t)));
            w.u8(match rarity {
                Rarity::Common => 0,
                Rarity::Uncommon => 1,
                Rarity::Rare => 2,
                Rarity::Epic => 3,
                Rarity::Legendary => 4,
                Rarity::Mythic => 5,
            });
            w.u64(*xp);
            w.u64(*points);
            w.u64(*score);
        }
        Event::AchievementProgress { progress } => {
            w.u8(4);
            w.seq(progress, |w, p| {
                let AchievementProgress {
                    id,
                    current,
                    target,
                    fraction,
                    unlocked,
                } = p;
                w.str(id);
                w.u64(*current);
                w.u64(*target);
                w.f64(*fraction);
                w.bool(*unlocked);
            });
        }
        Event::AchievementRevoked { id } => {
            w.u8(5);
            w.str(id);
        }
        Event::QuestCompleted(q) => {
            w.u8(6);
            let QuestCompleted {
                quest,
                window,
                xp,
                points,
            } = q;
            w.str(quest);
            w.date(*window);
            w.u64(*xp);
            w.u64(*points);
        }
        Event::Streak(change) => {
            w.u8(7);
            write_streak_change(w, change);
        }
        Event::PointsEarned { amount } => {
            w.u8(8);
            w.u64(*amount);
        }
        Event::MetricsIncremented { metrics } => {
            w.u8(9);
            write_metric_changes(w, metrics);
        }
        Event::Adjusted {
            currency,
            amount,
            note,
        } => {
            w.u8(10);
            w.currency(*currency);
            w.i64(*amount);
            w.str(note);
        }
        Event::TimeZoneChanged { time_zone } => {
            w.u8(11);
            w.str(time_zone.name());
        }
        Event::BoardReset { board } => {
            w.u8(12);
            w.str(board);
        }
        // 14 and 15 are the journal's short forms (`Tag`), which it reads
        // before these: a new event takes 16.
        Event::Replayed { xp, points } => {
            w.u8(13);
            w.i64(*xp);
            w.i64(*points);
        }
    }
}

/// What [`write_known_event`] wrote.
fn read_known_event(r: &mut Reader<'_>, known: Known<'_>) -> Result<Event, StoreError> {
    match r.u8()? {
        Tag::XP_AWARDED_IMPLIED => {
            let days = TimeDelta::try_days(r.i64()?);
            let day = days
                .and_then(|d| known.at.date_naive().checked_add_signed(d))
                .ok_or_else(|| r.bad("award day out of range"))?;
            let award = read_award_from_base(
                r,
                Name::new(known.kind),
                known.at,
                day,
                PeriodKind::ISO_WEEK.of_date(day).first_day(),
            )?;
            Ok(Event::XpAwarded {
                amount: award.xp,
                award,
            })
        }
        Tag::PROGRESS_DERIVED => {
            let progress = r.seq(|r| {
                let id = Arc::from(r.borrowed_str()?);
                let (current, target, unlocked) = (r.u64()?, r.u64()?, r.bool()?);
                Ok(AchievementProgress {
                    id,
                    current,
                    target,
                    fraction: AchievementProgress::fraction_of(current, target, unlocked),
                    unlocked,
                })
            })?;
            Ok(Event::AchievementProgress { progress })
        }
        tag => read_tagged_event(r, tag),
    }
}

fn read_event(r: &mut Reader<'_>) -> Result<Event, StoreError> {
    let tag = r.u8()?;
    read_tagged_event(r, tag)
}

/// An event after its tag.
fn read_tagged_event(r: &mut Reader<'_>, tag: u8) -> Result<Event, StoreError> {
    Ok(match tag {
        0 => Event::XpAwarded {
            amount: r.u64()?,
            award: read_award(r)?,
        },
        1 => Event::LevelUp {
            level: r.u32()?,
            bonus_xp: r.u64()?,
        },
        2 => Event::LevelDown { level: r.u32()? },
        3 => Event::AchievementUnlocked(Unlock {
            id: r.name()?,
            code: r.name()?,
            name: r.str()?,
            tier: r.option(Reader::u32)?,
            rarity: match r.u8()? {
                0 => Rarity::Common,
                1 => Rarity::Uncommon,
                2 => Rarity::Rare,
                3 => Rarity::Epic,
                4 => Rarity::Legendary,
                5 => Rarity::Mythic,
                _ => return Err(r.bad("unknown rarity")),
            },
            xp: r.u64()?,
            points: r.u64()?,
            score: r.u64()?,
        }),
        4 => Event::AchievementProgress {
            progress: r.seq(|r| {
                Ok(AchievementProgress {
                    id: Arc::from(r.str()?),
                    current: r.u64()?,
                    target: r.u64()?,
                    fraction: r.f64()?,
                    unlocked: r.bool()?,
                })
            })?,
        },
        5 => Event::AchievementRevoked { id: r.name()? },
        6 => Event::QuestCompleted(QuestCompleted {
            quest: r.name()?,
            window: r.date()?,
            xp: r.u64()?,
            points: r.u64()?,
        }),
        7 => Event::Streak(read_streak_change(r)?),
        8 => Event::PointsEarned { amount: r.u64()? },
        9 => Event::MetricsIncremented {
            metrics: read_metric_changes(r)?,
        },
        10 => Event::Adjusted {
            currency: r.currency()?,
            amount: r.i64()?,
            note: r.str()?,
        },
        11 => Event::TimeZoneChanged { time_zone: r.tz()? },
        12 => Event::BoardReset { board: r.str()? },
        13 => Event::Replayed {
            xp: r.i64()?,
            points: r.i64()?,
        },
        _ => return Err(r.bad("unknown event")),
    })
}

fn write_award(w: &mut Writer, award: &Award) {
    // The rest is `write_award_from_base`'s, which names every field.
    let Award {
        kind,
        at,
        day,
        week,
        base: _,
        multiplier_permille: _,
        boosts: _,
        limited: _,
        xp: _,
        points: _,
        counted: _,
    } = award;
    w.str(kind);
    w.instant(*at);
    w.date(*day);
    w.date(*week);
    write_award_from_base(w, award);
}

/// An award's fields from `base` on: what [`write_award`] writes after
/// its kind and instants.
fn write_award_from_base(w: &mut Writer, award: &Award) {
    let Award {
        kind: _,
        at: _,
        day: _,
        week: _,
        base,
        multiplier_permille,
        boosts,
        limited,
        xp,
        points,
        counted,
    } = award;
    w.u64(*base);
    w.u64(u64::from(*multiplier_permille));
    w.seq(boosts, |w, b| w.str(b));
    w.seq(limited, |w, l| {
        let Limited {
            limit,
            removed,
            refused,
        } = l;
        match limit {
            Limit::Cooldown {
                secs,
                remaining_secs,
            } => {
                w.u8(0);
                w.u64(u64::from(*secs));
                w.i64(*remaining_secs);
            }
            Limit::MaxPerActivity { max } => {
                w.u8(1);
                w.u64(*max);
            }
            Limit::DailyCap { cap } => {
                w.u8(2);
                w.u64(*cap);
            }
            Limit::WeeklyCap { cap } => {
                w.u8(3);
                w.u64(*cap);
            }
        }
        w.u64(*removed);
        w.bool(*refused);
    });
    w.u64(*xp);
    w.u64(*points);
    w.bool(*counted);
}

fn read_award(r: &mut Reader<'_>) -> Result<Award, StoreError> {
    let kind = r.name()?;
    let at = r.instant()?;
    let day = r.date()?;
    let week = r.date()?;
    read_award_from_base(r, kind, at, day, week)
}

/// What [`write_award_from_base`] wrote, of an award of `kind` at `at`
/// counted on `day` and in the `week` starting on that date.
fn read_award_from_base(
    r: &mut Reader<'_>,
    kind: Name,
    at: DateTime<Utc>,
    day: NaiveDate,
    week: NaiveDate,
) -> Result<Award, StoreError> {
    Ok(Award {
        kind,
        at,
        day,
        week,
        base: r.u64()?,
        multiplier_permille: r.u32()?,
        boosts: r.seq(Reader::str)?,
        limited: r.seq(|r| {
            let limit = match r.u8()? {
                0 => Limit::Cooldown {
                    secs: r.u32()?,
                    remaining_secs: r.i64()?,
                },
                1 => Limit::MaxPerActivity { max: r.u64()? },
                2 => Limit::DailyCap { cap: r.u64()? },
                3 => Limit::WeeklyCap { cap: r.u64()? },
                _ => return Err(r.bad("unknown limit")),
            };
            Ok(Limited {
                limit,
                removed: r.u64()?,
                refused: r.bool()?,
            })
        })?,
        xp: r.u64()?,
        points: r.u64()?,
        counted: r.bool()?,
    })
}

fn write_streak_change(w: &mut Writer, change: &StreakChange) {
    match change {
        StreakChange::SameDay => w.u8(0),
        StreakChange::Late => w.u8(1),
        StreakChange::Started => w.u8(2),
        StreakChange::Extended {
            days,
            bonus_xp,
            milestone,
            freeze_earned,
        } => {
            w.u8(3);
            w.u64(u64::from(*days));
            w.u64(*bonus_xp);
            w.option(*milestone, |w, m| w.u64(u64::from(m)));
            w.bool(*freeze_earned);
        }
        StreakChange::Frozen {
            days,
            freezes_used,
            bonus_xp,
            milestone,
            freeze_earned,
        } => {
            // Tag 4 was `Frozen` before it said whether a freeze was
            // earned; it is still read, as no freeze earned.
            w.u8(6);
            w.u64(u64::from(*days));
            w.u64(u64::from(*freezes_used));
            w.u64(*bonus_xp);
            w.option(*milestone, |w, m| w.u64(u64::from(m)));
            w.bool(*freeze_earned);
        }
        StreakChange::Broken { previous } => {
            w.u8(5);
            w.u64(u64::from(*previous));
        }
    }
}

fn read_streak_change(r: &mut Reader<'_>) -> Result<StreakChange, StoreError> {
    Ok(match r.u8()? {
        0 => StreakChange::SameDay,
        1 => StreakChange::Late,
        2 => StreakChange::Started,
        3 => StreakChange::Extended {
            days: r.u32()?,
            bonus_xp: r.u64()?,
            milestone: r.option(Reader::u32)?,
            freeze_earned: r.bool()?,
        },
        4 => StreakChange::Frozen {
            days: r.u32()?,
            freezes_used: r.u32()?,
            bonus_xp: r.u64()?,
            milestone: r.option(Reader::u32)?,
            freeze_earned: false,
        },
        6 => StreakChange::Frozen {
            days: r.u32()?,
            freezes_used: r.u32()?,
            bonus_xp: r.u64()?,
            milestone: r.option(Reader::u32)?,
            freeze_earned: r.bool()?,
        },
        5 => StreakChange::Broken { previous: r.u32()? },
        _ => return Err(r.bad("unknown streak change")),
    })
}

#[cfg(test)]
mod tests {
    use super::{Reader, StreakChange, read_streak_change};

    #[test]
    fn a_frozen_streak_written_before_it_told_of_freezes_earned_still_reads() {
        // Tag 4, 7 days, 1 freeze used, 35 XP, milestone 7: the layout
        // written before `freeze_earned` existed.
        let old = [1, 4, 7, 1, 35, 1, 7];
        let read = Reader::new(&old, "test").and_then(|mut r| read_streak_change(&mut r));
        assert_eq!(
            read.ok(),
            Some(StreakChange::Frozen {
                days: 7,
                freezes_used: 1,
                bonus_xp: 35,
                milestone: Some(7),
                freeze_earned: false,
            })
        );
    }
}

//! Binary encodings of the user state and the outcome, on the
//! [`codec`](super) primitives.
//!
//! Every struct is destructured without `..` and every enum matched without
//! a wildcard, so a field or variant added to these types fails to compile
//! here instead of being silently dropped; such a change must also change
//! the format byte (and keep reading the old one).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::{Reader, STATE_FORMAT, Writer};
use crate::achievement::{AchievementProgress, AchievementState, Rarity, Unlock, Unlocked};
use crate::activity::{ActivityId, Metrics, UserId};
use crate::ledger::Currency;
use crate::name::Name;
use crate::outcome::{Event, MetricChange, Outcome, Totals};
use crate::quest::{QuestCompleted, QuestProgress, QuestState};
use crate::state::{UserState, WindowGain};
use crate::store::StoreError;
use crate::streak::{StreakChange, StreakState};
use crate::time::Tz;
use crate::xp::{Award, KindCounters, Limit, Limited, RuleState};

/// A string-keyed map: its length, then each key and value.
fn write_map<V>(w: &mut Writer, map: &BTreeMap<Name, V>, mut value: impl FnMut(&mut Writer, &V)) {
    w.u64(map.len() as u64);
    for (k, v) in map {
        w.str(k);
        value(w, v);
    }
}

fn read_map<'a, V>(
    r: &mut Reader<'a>,
    mut value: impl FnMut(&mut Reader<'a>) -> Result<V, StoreError>,
) -> Result<BTreeMap<Name, V>, StoreError> {
    let mut map = BTreeMap::new();
    for _ in 0..r.len()? {
        let k = r.name()?;
        map.insert(k, value(r)?);
    }
    Ok(map)
}

fn write_vec<T>(w: &mut Writer, items: &[T], mut item: impl FnMut(&mut Writer, &T)) {
    w.u64(items.len() as u64);
    for t in items {
        item(w, t);
    }
}

fn read_vec<'a, T>(
    r: &mut Reader<'a>,
    mut item: impl FnMut(&mut Reader<'a>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let n = r.len()?;
    let mut items = Vec::with_capacity(super::preallocate(n));
    for _ in 0..n {
        items.push(item(r)?);
    }
    Ok(items)
}

fn read_tz(r: &mut Reader<'_>) -> Result<Tz, StoreError> {
    let name = r.str()?;
    name.parse().map_err(|_| r.bad("unknown time zone"))
}

fn write_currency(w: &mut Writer, c: Currency) {
    w.u8(match c {
        Currency::Xp => 0,
        Currency::Points => 1,
    });
}

fn read_currency(r: &mut Reader<'_>) -> Result<Currency, StoreError> {
    match r.u8()? {
        0 => Ok(Currency::Xp),
        1 => Ok(Currency::Points),
        _ => Err(r.bad("unknown currency")),
    }
}

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
    write_map(&mut w, kinds, |w, c| {
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
    write_map(&mut w, completed_by_family, |w, v| w.u64(*v));
    write_map(&mut w, progress, |w, p| {
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
    write_map(&mut w, unlocked, |w, u| {
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
    write_map(&mut w, counters, |w, days| {
        write_vec(w, days, |w, (day, n)| {
            w.date(*day);
            w.u64(*n);
        });
    });
    w.u64(*score);
    write_map(&mut w, windows, |w, g| {
        let WindowGain { window, amount } = g;
        w.date(*window);
        w.u64(*amount);
    });
    // Last, so format 1 is format 2 without it.
    write_revoked(&mut w, revoked);
    w.finish()
}

/// What [`encode_state`] wrote.
pub(in crate::store) fn decode_state(bytes: &[u8]) -> Result<UserState, StoreError> {
    let (mut r, format) = Reader::versioned(bytes, "user state", STATE_FORMAT)?;
    let xp = r.u64()?;
    let points = r.u64()?;
    let level = r.u32()?;
    let time_zone = r.option(read_tz)?;
    let mut metrics = Metrics::new();
    for _ in 0..r.len()? {
        let name = r.str()?;
        metrics.set(name, r.u64()?);
    }
    let kinds = read_map(&mut r, |r| {
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
        completed_by_family: read_map(&mut r, Reader::u64)?,
        progress: read_map(&mut r, |r| {
            Ok(QuestProgress {
                window: r.date()?,
                count: r.u64()?,
                completed: r.bool()?,
            })
        })?,
    };
    let mut achievements = AchievementState {
        unlocked: read_map(&mut r, |r| {
            Ok(Unlocked {
                at: r.instant()?,
                tiers: r.u32()?,
                granted: r.bool()?,
                score: r.u64()?,
            })
        })?,
        counters: read_map(&mut r, |r| read_vec(r, |r| Ok((r.date()?, r.u64()?))))?,
        score: r.u64()?,
        revoked: BTreeSet::new(),
    };
    let windows = read_map(&mut r, |r| {
        Ok(WindowGain {
            window: r.date()?,
            amount: r.u64()?,
        })
    })?;
    achievements.revoked = read_revoked(&mut r, format)?;
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
    })
}

fn write_metric_changes(w: &mut Writer, changes: &[MetricChange]) {
    write_vec(w, changes, |w, c| {
        let MetricChange { metric, by, total } = c;
        w.str(metric);
        w.u64(*by);
        w.u64(*total);
    });
}

fn read_metric_changes(r: &mut Reader<'_>) -> Result<Vec<MetricChange>, StoreError> {
    read_vec(r, |r| {
        Ok(MetricChange {
            metric: r.name()?,
            by: r.u64()?,
            total: r.u64()?,
        })
    })
}

/// An outcome.
pub(in crate::store) fn encode_outcome(outcome: &Outcome) -> Vec<u8> {
    encode_outcome_into(Writer::new(), outcome)
}

pub(super) fn encode_outcome_into(mut w: Writer, outcome: &Outcome) -> Vec<u8> {
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
    write_vec(&mut w, events, write_event);
    let Totals {
        xp,
        points,
        achievement_score,
        xp_after,
        points_after,
        achievement_score_after,
        metrics,
    } = totals;
    w.i64(*xp);
    w.i64(*points);
    w.i64(*achievement_score);
    w.u64(*xp_after);
    w.u64(*points_after);
    w.u64(*achievement_score_after);
    write_metric_changes(&mut w, metrics);
    w.finish()
}

/// What [`encode_outcome`] wrote.
pub(in crate::store) fn decode_outcome(bytes: &[u8]) -> Result<Outcome, StoreError> {
    let mut r = Reader::new(bytes, "outcome")?;
    let user = UserId(r.u64()?);
    let activity = r.option(|r| r.name().map(ActivityId))?;
    let at = r.instant()?;
    let events = read_vec(&mut r, read_event)?;
    let totals = Totals {
        xp: r.i64()?,
        points: r.i64()?,
        achievement_score: r.i64()?,
        xp_after: r.u64()?,
        points_after: r.u64()?,
        achievement_score_after: r.u64()?,
        metrics: read_metric_changes(&mut r)?,
    };
    r.end()?;
    Ok(Outcome {
        user,
        activity,
        at,
        events,
        totals,
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
            write_vec(w, progress, |w, p| {
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
            write_currency(w, *currency);
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
        Event::Replayed { xp, points } => {
            w.u8(13);
            w.i64(*xp);
            w.i64(*points);
        }
    }
}

fn read_event(r: &mut Reader<'_>) -> Result<Event, StoreError> {
    Ok(match r.u8()? {
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
            id: r.str()?,
            code: r.str()?,
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
            progress: read_vec(r, |r| {
                Ok(AchievementProgress {
                    id: Arc::from(r.str()?),
                    current: r.u64()?,
                    target: r.u64()?,
                    fraction: r.f64()?,
                    unlocked: r.bool()?,
                })
            })?,
        },
        5 => Event::AchievementRevoked { id: r.str()? },
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
            currency: read_currency(r)?,
            amount: r.i64()?,
            note: r.str()?,
        },
        11 => Event::TimeZoneChanged {
            time_zone: read_tz(r)?,
        },
        12 => Event::BoardReset { board: r.str()? },
        13 => Event::Replayed {
            xp: r.i64()?,
            points: r.i64()?,
        },
        _ => return Err(r.bad("unknown event")),
    })
}

fn write_award(w: &mut Writer, award: &Award) {
    let Award {
        kind,
        at,
        day,
        week,
        base,
        multiplier_permille,
        boosts,
        limited,
        xp,
        points,
        counted,
    } = award;
    w.str(kind);
    w.instant(*at);
    w.date(*day);
    w.date(*week);
    w.u64(*base);
    w.u64(u64::from(*multiplier_permille));
    write_vec(w, boosts, |w, b| w.str(b));
    write_vec(w, limited, |w, l| {
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
    Ok(Award {
        kind: r.name()?,
        at: r.instant()?,
        day: r.date()?,
        week: r.date()?,
        base: r.u64()?,
        multiplier_permille: r.u32()?,
        boosts: read_vec(r, Reader::str)?,
        limited: read_vec(r, |r| {
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
        } => {
            w.u8(4);
            w.u64(u64::from(*days));
            w.u64(u64::from(*freezes_used));
            w.u64(*bonus_xp);
            w.option(*milestone, |w, m| w.u64(u64::from(m)));
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
        },
        5 => StreakChange::Broken { previous: r.u32()? },
        _ => return Err(r.bad("unknown streak change")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, NaiveDate};

    fn sample() -> (UserState, Outcome) {
        let at = DateTime::UNIX_EPOCH + chrono::TimeDelta::nanoseconds(1_700_000_000_123_456_789);
        let day = NaiveDate::from_ymd_opt(2026, 5, 4).unwrap_or_default();
        let mut state = UserState {
            xp: u64::MAX,
            level: 7,
            time_zone: Some(chrono_tz::Asia::Kolkata),
            ..UserState::default()
        };
        state.metrics.set("posts", 3);
        state.streak.last_day = Some(day);
        state
            .achievements
            .counters
            .insert("c".into(), vec![(day, 2)]);
        state.achievements.revoked = ["ach_b".into(), "ach_a-ü".into()].into();
        state.windows.insert(
            "xp_daily".into(),
            WindowGain {
                window: day,
                amount: 9,
            },
        );
        let mut outcome = Outcome::new(UserId(9), Some(ActivityId("a".into())), at);
        outcome.events = vec![
            Event::LevelUp {
                level: 2,
                bonus_xp: 5,
            },
            Event::Streak(StreakChange::Frozen {
                days: 3,
                freezes_used: 1,
                bonus_xp: 0,
                milestone: Some(7),
            }),
            Event::AchievementProgress {
                progress: vec![AchievementProgress {
                    id: Arc::from("p"),
                    current: 1,
                    target: 3,
                    fraction: 1.0 / 3.0,
                    unlocked: false,
                }],
            },
            Event::Adjusted {
                currency: Currency::Points,
                amount: -4,
                note: "n".into(),
            },
            Event::TimeZoneChanged {
                time_zone: chrono_tz::UTC,
            },
            Event::Replayed { xp: -1, points: 1 },
        ];
        outcome.totals.xp = -2;
        (state, outcome)
    }

    #[test]
    fn states_and_outcomes_round_trip() {
        let (state, outcome) = sample();
        assert_eq!(decode_state(&encode_state(&state)).ok(), Some(state));
        assert_eq!(
            decode_outcome(&encode_outcome(&outcome)).ok(),
            Some(outcome)
        );
    }

    #[test]
    fn a_state_of_format_1_reads_with_nothing_revoked() {
        // Written by the encoder before revocations were remembered (level
        // 2, 170 XP, 3 points, one post, `ach_first_post` unlocked): frozen
        // bytes, so the old format stays readable whatever the encoder does.
        const FORMAT_1: [u8; 50] = [
            1, 170, 1, 3, 2, 0, 1, 5, 112, 111, 115, 116, 115, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 14,
            97, 99, 104, 95, 102, 105, 114, 115, 116, 95, 112, 111, 115, 116, 226, 241, 181, 159,
            13, 5, 1, 0, 10, 0, 10, 0,
        ];
        let decoded = decode_state(&FORMAT_1);
        assert!(decoded.is_ok(), "{decoded:?}");
        let state = decoded.unwrap_or_default();
        assert_eq!((state.xp, state.points, state.level), (170, 3, 2));
        assert_eq!(state.metrics.get("posts"), 1);
        assert!(state.achievements.is_unlocked("ach_first_post"));
        assert_eq!(state.achievements.score(), 10);
        assert!(state.achievements.revoked.is_empty());
        // Written again, it is format 2, and reads back the same.
        let again = encode_state(&state);
        assert_eq!(again.first(), Some(&STATE_FORMAT));
        assert_eq!(decode_state(&again).ok(), Some(state));
        // A format 1 blob with the revoked set appended is not format 1.
        let mut longer = FORMAT_1.to_vec();
        longer.push(0);
        assert!(decode_state(&longer).is_err());
        // Formats this build does not know are refused, not guessed at.
        for format in [0, STATE_FORMAT + 1] {
            let mut other = FORMAT_1.to_vec();
            other[0] = format;
            assert!(decode_state(&other).is_err(), "format {format}");
        }
    }

    #[test]
    fn revocations_round_trip_and_only_states_use_format_2() {
        let (state, outcome) = sample();
        let bytes = encode_state(&state);
        assert_eq!(bytes.first(), Some(&2));
        let back = decode_state(&bytes).unwrap_or_default();
        assert_eq!(
            back.achievements.revoked_ids().collect::<Vec<_>>(),
            ["ach_a-ü", "ach_b"]
        );
        // Other blobs keep format 1 (older builds still read them).
        assert_eq!(encode_outcome(&outcome).first(), Some(&1));
    }

    #[test]
    fn truncated_or_padded_blobs_are_errors_not_panics() {
        let (state, outcome) = sample();
        let (state, outcome) = (encode_state(&state), encode_outcome(&outcome));
        for cut in 0..state.len() {
            assert!(decode_state(&state[..cut]).is_err());
        }
        for cut in 0..outcome.len() {
            assert!(decode_outcome(&outcome[..cut]).is_err());
        }
        let mut padded = state.clone();
        padded.push(0);
        assert!(decode_state(&padded).is_err());
    }
}

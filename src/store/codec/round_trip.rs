//! Round trips of states and outcomes through their encodings, and the
//! old formats that must stay readable.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate};

use super::STATE_FORMAT;
use super::outcome::{decode_outcome, encode_outcome};
use super::state::{decode_state, encode_state};
use crate::achievement::AchievementProgress;
use crate::activity::{ActivityId, UserId};
use crate::ledger::Currency;
use crate::outcome::{Event, Outcome};
use crate::state::{UserState, WindowGain};
use crate::streak::StreakChange;

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
    state.achievements.counters.insert("c", vec![(day, 2)]);
    state.reached.insert("xp_ordinal", at);
    state.achievements.revoked = ["ach_b".into(), "ach_a-ü".into()].into();
    state.windows.insert(
        "xp_daily",
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
            freeze_earned: true,
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
        1, 170, 1, 3, 2, 0, 1, 5, 112, 111, 115, 116, 115, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 14, 97,
        99, 104, 95, 102, 105, 114, 115, 116, 95, 112, 111, 115, 116, 226, 241, 181, 159, 13, 5, 1,
        0, 10, 0, 10, 0,
    ];
    let decoded = decode_state(&FORMAT_1);
    assert!(decoded.is_ok(), "{decoded:?}");
    let state = decoded.unwrap_or_default();
    assert_eq!((state.xp, state.points, state.level), (170, 3, 2));
    assert_eq!(state.metrics.get("posts"), 1);
    assert!(state.achievements.is_unlocked("ach_first_post"));
    assert_eq!(state.achievements.score(), 10);
    assert!(state.achievements.revoked.is_empty());
    // Written again, it is the current format, and reads back the same.
    let again = encode_state(&state);
    assert_eq!(again.first(), Some(&STATE_FORMAT));
    assert_eq!(decode_state(&again).ok(), Some(state.clone()));
    // A format 1 blob with the revoked set appended is not format 1.
    let mut longer = FORMAT_1.to_vec();
    longer.push(0);
    assert!(decode_state(&longer).is_err());
    // With that byte and format 2, it is a format 2 state: nothing reached.
    longer[0] = 2;
    let format_2 = decode_state(&longer);
    assert!(format_2.is_ok(), "{format_2:?}");
    let format_2 = format_2.unwrap_or_default();
    assert!(format_2.reached.is_empty());
    assert_eq!(format_2.achievements, state.achievements);
    // Formats this build does not know are refused, not guessed at.
    for format in [0, STATE_FORMAT + 1] {
        let mut other = FORMAT_1.to_vec();
        other[0] = format;
        assert!(decode_state(&other).is_err(), "format {format}");
    }
}

#[test]
fn revocations_and_reach_times_round_trip_and_only_states_use_format_3() {
    let (state, outcome) = sample();
    let bytes = encode_state(&state);
    assert_eq!(bytes.first(), Some(&3));
    let back = decode_state(&bytes).unwrap_or_default();
    assert_eq!(
        back.achievements.revoked_ids().collect::<Vec<_>>(),
        ["ach_a-ü", "ach_b"]
    );
    assert_eq!(back.reached, state.reached);
    assert_eq!(back.reached.len(), 1);
    // Other blobs keep format 1 (new tags aside, such as `Frozen`'s 6, which
    // older builds refuse as unknown rather than misread).
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

/// An outcome blob written before outcomes kept their metric changes once
/// (by `b80bb52~1`): the totals carried a copy of the `MetricsIncremented`
/// event's list, and stored blobs keep that layout. It reads back with the
/// event's changes and encodes to the same bytes.
#[test]
fn an_outcome_blob_from_before_totals_lost_their_metrics_reads_the_same() {
    use crate::outcome::{MetricChange, Totals};
    // User 7, no activity, MetricsIncremented {posts +2 = 9}, PointsEarned
    // 1, zero totals, then the totals' copy of the metric changes.
    const OLD: [u8; 37] = [
        0x01, 0x07, 0x00, 0xc0, 0xb8, 0xa0, 0x9a, 0x0d, 0x00, 0x02, 0x09, 0x01, 0x05, 0x70, 0x6f,
        0x73, 0x74, 0x73, 0x02, 0x09, 0x08, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x05,
        0x70, 0x6f, 0x73, 0x74, 0x73, 0x02, 0x09,
    ];
    let outcome = decode_outcome(&OLD).unwrap();
    let posts = [MetricChange {
        metric: "posts".into(),
        by: 2,
        total: 9,
    }];
    assert_eq!(outcome.metric_changes(), posts.as_slice());
    assert_eq!(outcome.totals, Totals::default());
    assert_eq!(encode_outcome(&outcome), OLD);
}

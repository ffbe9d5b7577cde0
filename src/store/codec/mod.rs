//! The compact binary encodings the stores write: `SqliteStore` for its
//! rows, `MemoryStore` for the transactions it keeps (their ledger
//! entries, activities and outcomes).
//!
//! JSON cost more per activity than SQLite's own work on the row (number
//! and date formatting, string escaping, field names), and it made rows
//! several times larger, so every commit and checkpoint wrote more pages.
//! These encodings are hand-written rather than derived: the types use
//! serde attributes (internally tagged enums, `skip_serializing_if`) that
//! a non-self-describing serde format cannot read back.
//!
//! Every blob starts with a format byte, so an encoding can change later
//! without a schema migration; values written as JSON text by schema
//! version 1 are still read (the SQLite value's type tells which). User
//! states are at format 3 (see `state`); states of formats 1 and 2 are
//! still read. An activity the engine noted when it recorded is at format
//! 2; every other activity stays at format 1.
//! Integers are LEB128 varints (signed ones zigzag-encoded), strings a
//! varint length and UTF-8 bytes, instants seconds and nanoseconds.
//!
//! Here: the activity and ledger encodings; the primitives are in `wire`,
//! the user state's encoding in `state`, the outcome's in `outcome`, and
//! a transaction as `MemoryStore` keeps it in `kept`.

// The state encoding and the ledger blob serve only `SqliteStore`.
#![cfg_attr(not(feature = "sqlite"), allow(dead_code, unused_imports))]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::activity::{Activity, ActivityId, UserId};
use crate::ledger::{LedgerDraft, LedgerEntry, Reason};
use crate::name::Name;
use crate::store::StoreError;

mod kept;
mod outcome;
#[cfg(test)]
mod round_trip;
mod state;
mod wire;

pub(super) use kept::{Head, Transaction, encode_transaction};
pub(super) use outcome::{decode_outcome, encode_outcome};
use outcome::{read_outcome_body, write_outcome_body};
pub(super) use state::{decode_state, encode_state};
use wire::{Reader, Writer};

/// The format byte of every blob this version writes, but user states.
const FORMAT: u8 = 1;

/// The format byte of the user states this version writes: 3 is format 2
/// followed by when scores were reached on ordinal boards, 2 is format 1
/// followed by the revoked achievements; formats 1 and 2 are still read
/// (nothing revoked, nothing reached).
pub(super) const STATE_FORMAT: u8 = 3;

/// The format byte of an activity that carries the instant the engine
/// recorded it at ([`Activity::recorded_at`]): format 1 followed by that
/// instant. Every other activity is still written in format 1, byte for
/// byte as before; an older build refuses a format 2 activity as unknown
/// rather than misread it.
const NOTED_ACTIVITY_FORMAT: u8 = 2;

/// Capacity to reserve for a collection of `n` items read from a blob: no
/// more than a few, since `n` comes from data that may be corrupt (a count
/// bounded only by the blob's length would still ask for 100× its size).
pub(super) fn preallocate(n: usize) -> usize {
    n.min(16)
}

/// An activity, less its id and user (columns of their own).
pub(super) fn encode_activity(a: &Activity) -> Vec<u8> {
    let mut w = match a.recorded_at {
        None => Writer::new(),
        Some(_) => Writer::with_format(NOTED_ACTIVITY_FORMAT),
    };
    write_activity(&mut w, a);
    if let Some(recorded_at) = a.recorded_at {
        w.instant(recorded_at);
    }
    w.finish()
}

/// An activity's fields but its id and user, without a format byte.
fn write_activity(w: &mut Writer, a: &Activity) {
    w.str(&a.kind);
    w.instant(a.at);
    write_activity_payload(w, a);
}

/// An activity's metric increments and attributes.
fn write_activity_payload(w: &mut Writer, a: &Activity) {
    w.u64(a.metrics.len() as u64);
    for (name, v) in &a.metrics {
        w.str(name);
        w.u64(*v);
    }
    w.u64(a.attributes.len() as u64);
    for (name, v) in &a.attributes {
        w.str(name);
        w.i64(*v);
    }
}

/// The activity `id` of `user` encoded by [`encode_activity`].
pub(super) fn decode_activity(
    id: ActivityId,
    user: UserId,
    bytes: &[u8],
) -> Result<Activity, StoreError> {
    let (mut r, format) = Reader::versioned(bytes, "activity", NOTED_ACTIVITY_FORMAT)?;
    let mut activity = read_activity(&mut r, id, user)?;
    if format >= NOTED_ACTIVITY_FORMAT {
        activity.recorded_at = Some(r.instant()?);
    }
    r.end()?;
    Ok(activity)
}

/// What [`write_activity`] wrote, as the activity `id` of `user`.
fn read_activity(r: &mut Reader<'_>, id: ActivityId, user: UserId) -> Result<Activity, StoreError> {
    let kind = r.name()?;
    let at = r.instant()?;
    read_activity_payload(r, Activity::new(id, user, kind, at))
}

/// What [`write_activity_payload`] wrote, into `activity`.
fn read_activity_payload(r: &mut Reader<'_>, activity: Activity) -> Result<Activity, StoreError> {
    let mut metrics = BTreeMap::new();
    for _ in 0..r.len()? {
        let name = r.name()?;
        metrics.insert(name, r.u64()?);
    }
    let mut attributes = BTreeMap::new();
    for _ in 0..r.len()? {
        let name = r.name()?;
        attributes.insert(name, r.i64()?);
    }
    Ok(Activity {
        metrics,
        attributes,
        ..activity
    })
}

/// The ledger entries of one transaction: their shared instant, then each
/// draft (the user, activity and numbering come from the row).
pub(super) fn encode_ledger(at: DateTime<Utc>, drafts: &[LedgerDraft]) -> Vec<u8> {
    let mut w = Writer::new();
    write_ledger(&mut w, at, drafts);
    w.finish()
}

/// [`encode_ledger`]'s fields, without a format byte.
fn write_ledger(w: &mut Writer, at: DateTime<Utc>, drafts: &[LedgerDraft]) {
    w.instant(at);
    write_entries(w, drafts, None);
}

/// Ledger entries without their instant. An entry for an activity of
/// `kind` (the kind of the activity written beside them) leaves the kind
/// out: tag 11, which a blob from [`encode_ledger`] never holds.
fn write_entries(w: &mut Writer, drafts: &[LedgerDraft], kind: Option<&str>) {
    w.u64(drafts.len() as u64);
    for d in drafts {
        w.currency(d.currency);
        w.i64(d.amount);
        // Exhaustive on purpose: a new reason must get a tag here.
        match &d.reason {
            Reason::Activity { kind: k } if Some(k.as_str()) == kind => w.u8(11),
            Reason::Activity { kind } => {
                w.u8(0);
                w.str(kind);
            }
            Reason::LevelUp { from, to } => {
                w.u8(1);
                w.u64(u64::from(*from));
                w.u64(u64::from(*to));
            }
            Reason::Streak { days } => {
                w.u8(2);
                w.u64(u64::from(*days));
            }
            Reason::Quest { quest } => {
                w.u8(3);
                w.str(quest);
            }
            Reason::Achievement { achievement } => {
                w.u8(4);
                w.str(achievement);
            }
            Reason::Adjustment { note } => {
                w.u8(5);
                w.str(note);
            }
            Reason::Replay => w.u8(6),
            Reason::Revoked { achievement } => {
                w.u8(7);
                w.str(achievement);
            }
            Reason::BoardReset { board } => {
                w.u8(8);
                w.str(board);
            }
            Reason::Granted { achievement } => {
                w.u8(9);
                w.str(achievement);
            }
            Reason::TimeZoneChanged { time_zone } => {
                w.u8(10);
                w.str(time_zone.name());
            }
        }
    }
}

/// The entries of a blob from [`encode_ledger`], numbered from `first_seq`.
pub(super) fn decode_ledger(
    bytes: &[u8],
    user: UserId,
    activity: Option<&ActivityId>,
    first_seq: u64,
) -> Result<Vec<LedgerEntry>, StoreError> {
    let mut r = Reader::new(bytes, "ledger entry")?;
    let entries = read_ledger(&mut r, user, activity, first_seq)?;
    r.end()?;
    Ok(entries)
}

/// What [`write_ledger`] wrote, numbered from `first_seq`.
fn read_ledger(
    r: &mut Reader<'_>,
    user: UserId,
    activity: Option<&ActivityId>,
    first_seq: u64,
) -> Result<Vec<LedgerEntry>, StoreError> {
    let at = r.instant()?;
    read_entries(r, (user, at, activity), first_seq, None)
}

/// What [`write_entries`] wrote: the entries of `user` at `at` for
/// `activity`, numbered from `first_seq`; `kind` is the activity's kind,
/// for tag 11.
fn read_entries(
    r: &mut Reader<'_>,
    (user, at, activity): (UserId, DateTime<Utc>, Option<&ActivityId>),
    first_seq: u64,
    kind: Option<&Name>,
) -> Result<Vec<LedgerEntry>, StoreError> {
    let n = r.len()?;
    let mut entries = Vec::with_capacity(preallocate(n));
    for i in 0..n as u64 {
        // A corrupt first number must not overflow.
        let seq = first_seq
            .checked_add(i)
            .ok_or_else(|| r.bad("entry number out of range"))?;
        let currency = r.currency()?;
        let amount = r.i64()?;
        let reason = match r.u8()? {
            0 => Reason::Activity { kind: r.name()? },
            1 => Reason::LevelUp {
                from: r.u32()?,
                to: r.u32()?,
            },
            2 => Reason::Streak { days: r.u32()? },
            3 => Reason::Quest { quest: r.name()? },
            4 => Reason::Achievement {
                achievement: r.name()?,
            },
            5 => Reason::Adjustment { note: r.str()? },
            6 => Reason::Replay,
            7 => Reason::Revoked {
                achievement: r.name()?,
            },
            8 => Reason::BoardReset { board: r.str()? },
            9 => Reason::Granted {
                achievement: r.name()?,
            },
            10 => {
                let name = r.str()?;
                Reason::TimeZoneChanged {
                    time_zone: name.parse().map_err(|_| r.bad("unknown time zone"))?,
                }
            }
            11 => Reason::Activity {
                kind: kind.cloned().ok_or_else(|| r.bad("unknown reason"))?,
            },
            _ => return Err(r.bad("unknown reason")),
        };
        entries.push(LedgerEntry {
            seq,
            user,
            at,
            activity: activity.cloned(),
            currency,
            amount,
            reason,
        });
    }
    Ok(entries)
}

/// How many entries a blob from [`encode_ledger`] holds, without decoding
/// them.
pub(super) fn ledger_count(bytes: &[u8]) -> Result<u64, StoreError> {
    let mut r = Reader::new(bytes, "ledger entry")?;
    r.instant()?;
    r.u64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Currency;
    use chrono::TimeZone;

    #[test]
    fn varints_that_overflow_64_bits_are_refused() {
        let read = |bytes: &[u8]| {
            let mut blob = vec![FORMAT];
            blob.extend_from_slice(bytes);
            Reader::new(&blob, "x").and_then(|mut r| r.u64())
        };
        let mut max = vec![0xff; 9];
        max.push(0x01);
        assert_eq!(read(&max).unwrap(), u64::MAX);
        for tenth in [0x02, 0x7f] {
            let mut over = vec![0xff; 9];
            over.push(tenth);
            assert!(read(&over).is_err(), "tenth byte {tenth:#x}");
        }
    }

    #[test]
    fn a_huge_count_is_an_error_without_a_huge_allocation() {
        // A count as large as the blob allows, of items that do not decode:
        // an error, and the collection never reserves for the whole count.
        let mut w = Writer::new();
        w.u64(7); // the user
        w.option(None::<&str>, |w, id| w.str(id)); // no activity
        w.instant(DateTime::UNIX_EPOCH);
        w.u64(1_000_000); // events
        let mut blob = w.finish();
        blob.resize(blob.len() + 1_000_000, 0xee);
        assert!(decode_outcome(&blob).is_err());
        assert_eq!(preallocate(1_000_000), 16);
    }

    #[test]
    fn activities_and_ledgers_round_trip() {
        let at = Utc
            .with_ymd_and_hms(2026, 5, 4, 12, 0, 0)
            .single()
            .unwrap_or(DateTime::UNIX_EPOCH)
            + chrono::TimeDelta::nanoseconds(123_456_789);
        let a = Activity::new("x-ü", UserId(u64::MAX), "post_created", at)
            .with_metric("posts", u64::MAX)
            .with_attribute("reactions", i64::MIN)
            .with_attribute("z", -1);
        let bytes = encode_activity(&a);
        assert_eq!(
            decode_activity(a.id.clone(), a.user, &bytes).ok(),
            Some(a.clone())
        );
        // With the instant it was recorded at: format 2, format 1's bytes
        // and the instant; without, format 1 (`==` does not compare it).
        assert_eq!(bytes.first(), Some(&FORMAT));
        let noted = Activity {
            recorded_at: Some(at - chrono::TimeDelta::seconds(90)),
            ..a.clone()
        };
        let noted_bytes = encode_activity(&noted);
        assert_eq!(noted_bytes.first(), Some(&NOTED_ACTIVITY_FORMAT));
        assert_eq!(noted_bytes[1..bytes.len()], bytes[1..]);
        let back = decode_activity(a.id.clone(), a.user, &noted_bytes);
        assert_eq!(back.ok().and_then(|b| b.recorded_at), noted.recorded_at);
        let plain = decode_activity(a.id.clone(), a.user, &bytes);
        assert_eq!(plain.ok().map(|b| b.recorded_at), Some(None));
        let reasons = [
            Reason::Activity { kind: "k".into() },
            Reason::LevelUp {
                from: 1,
                to: u32::MAX,
            },
            Reason::Streak { days: 7 },
            Reason::Quest { quest: "q".into() },
            Reason::Achievement {
                achievement: "a".into(),
            },
            Reason::Adjustment { note: "n".into() },
            Reason::Replay,
            Reason::Revoked {
                achievement: "r".into(),
            },
            Reason::BoardReset { board: "b".into() },
            Reason::Granted {
                achievement: "g".into(),
            },
            Reason::TimeZoneChanged {
                time_zone: chrono_tz::Asia::Kolkata,
            },
        ];
        let drafts: Vec<_> = reasons
            .into_iter()
            .zip([i64::MIN, -1, 0, 1, i64::MAX].into_iter().cycle())
            .enumerate()
            .map(|(i, (reason, amount))| LedgerDraft {
                currency: if i % 2 == 0 {
                    Currency::Xp
                } else {
                    Currency::Points
                },
                amount,
                reason,
            })
            .collect();
        let bytes = encode_ledger(at, &drafts);
        assert_eq!(ledger_count(&bytes).ok(), Some(drafts.len() as u64));
        let entries = decode_ledger(&bytes, UserId(3), Some(&a.id), 5).unwrap_or_default();
        let expected: Vec<_> = drafts
            .into_iter()
            .enumerate()
            .map(|(i, d)| d.into_entry(5 + i as u64, UserId(3), at, Some(a.id.clone())))
            .collect();
        assert_eq!(entries, expected);
    }

    #[test]
    fn malformed_blobs_are_errors_not_panics() {
        let a = Activity::new("x", UserId(1), "k", DateTime::UNIX_EPOCH).with_metric("m", 300);
        let good = encode_activity(&a);
        for cut in 0..good.len() {
            assert!(decode_activity(a.id.clone(), a.user, &good[..cut]).is_err());
        }
        let noted = Activity {
            recorded_at: Some(DateTime::UNIX_EPOCH),
            ..a.clone()
        };
        let good_noted = encode_activity(&noted);
        for cut in 0..good_noted.len() {
            assert!(decode_activity(a.id.clone(), a.user, &good_noted[..cut]).is_err());
        }
        // Format 1 bytes under format 2 lack the instant; format 3 is unknown.
        let mut relabelled = good.clone();
        relabelled[0] = NOTED_ACTIVITY_FORMAT;
        assert!(decode_activity(a.id.clone(), a.user, &relabelled).is_err());
        relabelled[0] = NOTED_ACTIVITY_FORMAT + 1;
        assert!(decode_activity(a.id.clone(), a.user, &relabelled).is_err());
        let mut extra = good.clone();
        extra.push(0);
        assert!(decode_activity(a.id.clone(), a.user, &extra).is_err());
        assert!(decode_activity(a.id.clone(), a.user, &[2]).is_err());
        assert!(
            decode_ledger(&[1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f], UserId(1), None, 0).is_err()
        );
        assert!(decode_ledger(&[1, 0, 0, 1, 9, 0, 0], UserId(1), None, 0).is_err());
        assert!(decode_ledger(&[1; 12], UserId(1), None, 0).is_err());
    }
}

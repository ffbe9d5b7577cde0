//! The compact binary encodings the stores write: `SqliteStore` for its
//! rows, `MemoryStore` for the activities and outcomes it keeps.
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
//! states are at format 2 (format 1 and the revoked achievements); states
//! of format 1 are still read, with nothing revoked.
//! Integers are LEB128 varints (signed ones zigzag-encoded), strings a
//! varint length and UTF-8 bytes, instants seconds and nanoseconds.

// The state and ledger encodings serve only `SqliteStore`.
#![cfg_attr(not(feature = "sqlite"), allow(dead_code, unused_imports))]

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::activity::{Activity, ActivityId, UserId};
use crate::ledger::{Currency, LedgerDraft, LedgerEntry, Reason};
use crate::name::Name;
use crate::outcome::Outcome;
use crate::store::StoreError;

mod values;

use values::encode_outcome_into;
pub(super) use values::{decode_outcome, decode_state, encode_outcome, encode_state};

/// The format byte of every blob this version writes, but user states.
const FORMAT: u8 = 1;

/// The format byte of the user states this version writes: 2 is format 1
/// followed by the revoked achievements; format 1 is still read (nothing
/// revoked).
pub(super) const STATE_FORMAT: u8 = 2;

/// Capacity to reserve for a collection of `n` items read from a blob: no
/// more than a few, since `n` comes from data that may be corrupt (a count
/// bounded only by the blob's length would still ask for 100× its size).
pub(super) fn preallocate(n: usize) -> usize {
    n.min(16)
}

/// Appends values to a byte buffer.
#[derive(Debug, Default)]
pub(super) struct Writer(Vec<u8>);

impl Writer {
    /// A writer for one blob, its format byte written.
    pub(super) fn new() -> Self {
        let mut bytes = Vec::with_capacity(64);
        bytes.push(FORMAT);
        Self(bytes)
    }

    /// A writer that appends a blob to `bytes` (its format byte written),
    /// so two blobs can share one allocation.
    fn appending(mut bytes: Vec<u8>) -> Self {
        bytes.push(FORMAT);
        Self(bytes)
    }

    /// A writer for one blob of an encoding whose format has moved on from
    /// [`FORMAT`], its format byte written.
    pub(super) fn with_format(format: u8) -> Self {
        let mut bytes = Vec::with_capacity(64);
        bytes.push(format);
        Self(bytes)
    }

    /// The encoded blob.
    pub(super) fn finish(self) -> Vec<u8> {
        self.0
    }

    pub(super) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    pub(super) fn u64(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    pub(super) fn i64(&mut self, v: i64) {
        self.u64(((v << 1) ^ (v >> 63)) as u64);
    }

    pub(super) fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    pub(super) fn instant(&mut self, at: DateTime<Utc>) {
        self.i64(at.timestamp());
        self.u64(u64::from(at.timestamp_subsec_nanos()));
    }

    pub(super) fn bool(&mut self, v: bool) {
        self.u8(u8::from(v));
    }

    /// The exact bits, little-endian (a varint of float bits saves nothing).
    pub(super) fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_bits().to_le_bytes());
    }

    pub(super) fn date(&mut self, d: NaiveDate) {
        self.i64(i64::from(d.num_days_from_ce()));
    }

    /// `None` as 0, `Some(v)` as 1 and `v`.
    pub(super) fn option<T>(&mut self, v: Option<T>, mut write: impl FnMut(&mut Self, T)) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                write(self, v);
            }
        }
    }
}

/// Reads values back from a blob, refusing truncated or malformed input.
#[derive(Debug)]
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader of the blob `bytes` holding a `what`, after its format byte.
    pub(super) fn new(bytes: &'a [u8], what: &'static str) -> Result<Self, StoreError> {
        match bytes.split_first() {
            Some((&FORMAT, rest)) => Ok(Self { bytes: rest, what }),
            Some((format, _)) => Err(StoreError::Corrupt(format!(
                "a stored {what} has unknown format {format}"
            ))),
            None => Err(StoreError::Corrupt(format!("a stored {what} is empty"))),
        }
    }

    /// A reader of the blob `bytes` holding a `what` in any format from
    /// [`FORMAT`] to `newest`, after its format byte, and that format (what
    /// to read depends on it).
    pub(super) fn versioned(
        bytes: &'a [u8],
        what: &'static str,
        newest: u8,
    ) -> Result<(Self, u8), StoreError> {
        match bytes.split_first() {
            Some((&format, rest)) if (FORMAT..=newest).contains(&format) => {
                Ok((Self { bytes: rest, what }, format))
            }
            Some((format, _)) => Err(StoreError::Corrupt(format!(
                "a stored {what} has unknown format {format}"
            ))),
            None => Err(StoreError::Corrupt(format!("a stored {what} is empty"))),
        }
    }

    pub(super) fn bad(&self, problem: &str) -> StoreError {
        StoreError::Corrupt(format!("a stored {} does not decode: {problem}", self.what))
    }

    /// Everything was read: trailing bytes mean the blob is not what we
    /// think it is.
    pub(super) fn end(&self) -> Result<(), StoreError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(self.bad("trailing bytes"))
        }
    }

    pub(super) fn u8(&mut self) -> Result<u8, StoreError> {
        let (&b, rest) = self
            .bytes
            .split_first()
            .ok_or_else(|| self.bad("truncated"))?;
        self.bytes = rest;
        Ok(b)
    }

    pub(super) fn u64(&mut self) -> Result<u64, StoreError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            // The tenth byte holds only the top bit: more would be cut off.
            if shift == 63 && b > 1 {
                return Err(self.bad("varint overflows 64 bits"));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(self.bad("varint too long"))
    }

    pub(super) fn u32(&mut self) -> Result<u32, StoreError> {
        let v = self.u64()?;
        u32::try_from(v).map_err(|_| self.bad("integer out of range"))
    }

    pub(super) fn i64(&mut self) -> Result<i64, StoreError> {
        let v = self.u64()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// A count of items still to come, bounded by the remaining bytes (an
    /// item takes at least one). Items can be a hundred times larger in
    /// memory than their smallest encoding, so a collection is sized with
    /// [`preallocate`], never with a count read from the blob.
    pub(super) fn len(&mut self) -> Result<usize, StoreError> {
        let n = self.u64()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.bytes.len())
            .ok_or_else(|| self.bad("count larger than the blob"))
    }

    pub(super) fn str(&mut self) -> Result<String, StoreError> {
        self.borrowed_str().map(str::to_owned)
    }

    /// A string read as a [`Name`] (short names without allocating).
    pub(super) fn name(&mut self) -> Result<Name, StoreError> {
        self.borrowed_str().map(Name::new)
    }

    fn borrowed_str(&mut self) -> Result<&'a str, StoreError> {
        let n = self.len()?;
        let (s, rest) = self.bytes.split_at(n);
        let s = std::str::from_utf8(s).map_err(|_| self.bad("invalid UTF-8"))?;
        self.bytes = rest;
        Ok(s)
    }

    pub(super) fn bool(&mut self) -> Result<bool, StoreError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.bad("invalid boolean")),
        }
    }

    pub(super) fn f64(&mut self) -> Result<f64, StoreError> {
        let (bits, rest) = self
            .bytes
            .split_first_chunk::<8>()
            .ok_or_else(|| self.bad("truncated"))?;
        self.bytes = rest;
        Ok(f64::from_bits(u64::from_le_bytes(*bits)))
    }

    pub(super) fn date(&mut self) -> Result<NaiveDate, StoreError> {
        let days = i32::try_from(self.i64()?).map_err(|_| self.bad("date out of range"))?;
        NaiveDate::from_num_days_from_ce_opt(days).ok_or_else(|| self.bad("date out of range"))
    }

    /// What [`Writer::option`] wrote.
    pub(super) fn option<T>(
        &mut self,
        mut read: impl FnMut(&mut Self) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        match self.u8()? {
            0 => Ok(None),
            1 => read(self).map(Some),
            _ => Err(self.bad("invalid option")),
        }
    }

    pub(super) fn instant(&mut self) -> Result<DateTime<Utc>, StoreError> {
        let secs = self.i64()?;
        let nanos = self.u32()?;
        DateTime::from_timestamp(secs, nanos).ok_or_else(|| self.bad("instant out of range"))
    }
}

/// An activity, less its id and user (columns of their own).
pub(super) fn encode_activity(a: &Activity) -> Vec<u8> {
    encode_activity_into(Writer::new(), a)
}

fn encode_activity_into(mut w: Writer, a: &Activity) -> Vec<u8> {
    w.str(&a.kind);
    w.instant(a.at);
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
    w.finish()
}

/// An activity (as [`encode_activity`]) followed by its outcome (as
/// [`encode_outcome`]) in one buffer, and where the outcome starts: what
/// the memory store keeps per recorded activity, in one allocation sized
/// for a typical pair, where two blobs grown separately took five.
pub(super) fn encode_activity_and_outcome(a: &Activity, outcome: &Outcome) -> (Box<[u8]>, usize) {
    let mut w = Writer(Vec::with_capacity(256));
    w.u8(FORMAT);
    let bytes = encode_activity_into(w, a);
    let split = bytes.len();
    let bytes = encode_outcome_into(Writer::appending(bytes), outcome);
    (bytes.into_boxed_slice(), split)
}

/// The activity `id` of `user` encoded by [`encode_activity`].
pub(super) fn decode_activity(
    id: ActivityId,
    user: UserId,
    bytes: &[u8],
) -> Result<Activity, StoreError> {
    let mut r = Reader::new(bytes, "activity")?;
    let kind = r.name()?;
    let at = r.instant()?;
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
    r.end()?;
    Ok(Activity {
        id,
        user,
        kind,
        at,
        metrics,
        attributes,
    })
}

/// The ledger entries of one transaction: their shared instant, then each
/// draft (the user, activity and numbering come from the row).
pub(super) fn encode_ledger(at: DateTime<Utc>, drafts: &[LedgerDraft]) -> Vec<u8> {
    let mut w = Writer::new();
    w.instant(at);
    w.u64(drafts.len() as u64);
    for d in drafts {
        w.u8(match d.currency {
            Currency::Xp => 0,
            Currency::Points => 1,
        });
        w.i64(d.amount);
        // Exhaustive on purpose: a new reason must get a tag here.
        match &d.reason {
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
    w.finish()
}

/// The entries of a blob from [`encode_ledger`], numbered from `first_seq`.
pub(super) fn decode_ledger(
    bytes: &[u8],
    user: UserId,
    activity: Option<&ActivityId>,
    first_seq: u64,
) -> Result<Vec<LedgerEntry>, StoreError> {
    let mut r = Reader::new(bytes, "ledger entry")?;
    let at = r.instant()?;
    let n = r.len()?;
    let mut entries = Vec::with_capacity(preallocate(n));
    for seq in (first_seq..).take(n) {
        let currency = match r.u8()? {
            0 => Currency::Xp,
            1 => Currency::Points,
            _ => return Err(r.bad("unknown currency")),
        };
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
    r.end()?;
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

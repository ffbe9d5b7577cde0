//! The wire primitives of every encoding: a [`Writer`] that appends values
//! to a buffer and a [`Reader`] that takes them back, refusing whatever is
//! malformed (a blob may be corrupt) with an error, never a panic.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::{FORMAT, preallocate};
use crate::ledger::Currency;
use crate::name::{Name, NameMap};
use crate::store::StoreError;
use crate::time::Tz;

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

    /// A writer for one blob into `bytes`, emptied first (a buffer reused
    /// between blobs), its format byte written.
    pub(super) fn reusing(mut bytes: Vec<u8>) -> Self {
        bytes.clear();
        bytes.push(FORMAT);
        Self(bytes)
    }

    /// A writer for a part of a blob into `bytes`, emptied first: no format
    /// byte (the blob it goes into has one).
    pub(super) fn part(mut bytes: Vec<u8>) -> Self {
        bytes.clear();
        Self(bytes)
    }

    /// Bytes written so far.
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    /// Bytes written as they are (a part written by another writer).
    pub(super) fn bytes(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
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

    /// A map keyed by names: its length, then each key and value.
    pub(super) fn map<V>(&mut self, map: &NameMap<V>, mut value: impl FnMut(&mut Self, &V)) {
        self.u64(map.len() as u64);
        for (k, v) in map {
            self.str(k);
            value(self, v);
        }
    }

    /// A sequence: its length, then each item.
    pub(super) fn seq<T>(&mut self, items: &[T], mut item: impl FnMut(&mut Self, &T)) {
        self.u64(items.len() as u64);
        for t in items {
            item(self, t);
        }
    }

    pub(super) fn currency(&mut self, c: Currency) {
        self.u8(match c {
            Currency::Xp => 0,
            Currency::Points => 1,
        });
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

    /// A reader of a part of a blob (see [`Writer::part`]): no format byte.
    pub(super) fn part(bytes: &'a [u8], what: &'static str) -> Self {
        Self { bytes, what }
    }

    /// The next `n` bytes, as they are.
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if n > self.bytes.len() {
            return Err(self.bad("truncated"));
        }
        let (taken, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(taken)
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

    pub(super) fn borrowed_str(&mut self) -> Result<&'a str, StoreError> {
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

    /// What [`Writer::map`] wrote.
    pub(super) fn map<V>(
        &mut self,
        mut value: impl FnMut(&mut Self) -> Result<V, StoreError>,
    ) -> Result<NameMap<V>, StoreError> {
        let n = self.len()?;
        let mut entries = Vec::with_capacity(preallocate(n));
        for _ in 0..n {
            let k = self.name()?;
            entries.push((k, value(self)?));
        }
        // Written in key order; collecting sorts whatever a corrupt blob
        // holds instead of trusting it.
        Ok(entries.into_iter().collect())
    }

    /// What [`Writer::seq`] wrote.
    pub(super) fn seq<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let n = self.len()?;
        let mut items = Vec::with_capacity(preallocate(n));
        for _ in 0..n {
            items.push(item(self)?);
        }
        Ok(items)
    }

    pub(super) fn currency(&mut self) -> Result<Currency, StoreError> {
        match self.u8()? {
            0 => Ok(Currency::Xp),
            1 => Ok(Currency::Points),
            _ => Err(self.bad("unknown currency")),
        }
    }

    /// A time zone, by its IANA name.
    pub(super) fn tz(&mut self) -> Result<Tz, StoreError> {
        let name = self.str()?;
        name.parse().map_err(|_| self.bad("unknown time zone"))
    }
}

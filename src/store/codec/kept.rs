//! What `MemoryStore` keeps of one transaction in its shard's journal: the
//! ledger entries it wrote, the activity it recorded with its first
//! outcome, and the links a user's transactions are read back through.
//!
//! Read back only for ledger pages, repeats and replays, so packed as
//! tightly as the other encodings: the format byte; where the user's
//! previous transaction is (an option of an opaque `u64`, the store's to
//! read); the number of its first ledger entry; the lengths of its two
//! parts; then the parts. The ledger part is [`encode_ledger`]'s fields
//! (empty for no entries); the kept part is the activity id,
//! [`encode_activity`]'s fields and [`encode_outcome`]'s (empty for an
//! admin update).
//!
//! [`encode_ledger`]: super::encode_ledger
//! [`encode_activity`]: super::encode_activity
//! [`encode_outcome`]: super::encode_outcome

use chrono::{DateTime, Utc};

use super::wire::{Reader, Writer};
use super::{
    read_activity, read_ledger, read_outcome, write_activity, write_ledger, write_outcome,
};
use crate::activity::{Activity, ActivityId, UserId};
use crate::ledger::{LedgerDraft, LedgerEntry};
use crate::outcome::Outcome;
use crate::store::StoreError;

/// How a transaction links into its user's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::store) struct Head {
    /// Where the user's previous transaction is, as the store names places.
    pub(in crate::store) prev: Option<u64>,
    /// The number of the transaction's first ledger entry.
    pub(in crate::store) first_seq: u64,
}

/// Encode a transaction into `out`, emptied first, through `part`, a
/// buffer the caller reuses between calls (so encoding allocates nothing
/// once both have grown).
pub(in crate::store) fn encode_transaction(
    out: &mut Vec<u8>,
    part: &mut Vec<u8>,
    head: Head,
    at: DateTime<Utc>,
    ledger: &[LedgerDraft],
    kept: Option<(&Activity, &Outcome)>,
) {
    // The parts first: the header gives their lengths.
    let mut parts = Writer::part(std::mem::take(part));
    if !ledger.is_empty() {
        write_ledger(&mut parts, at, ledger);
    }
    let ledger_len = parts.len();
    if let Some((activity, outcome)) = kept {
        parts.str(&activity.id.0);
        write_activity(&mut parts, activity);
        write_outcome(&mut parts, outcome);
    }
    let kept_len = parts.len() - ledger_len;
    let parts = parts.finish();
    let mut w = Writer::reusing(std::mem::take(out));
    w.option(head.prev, Writer::u64);
    w.u64(head.first_seq);
    w.u64(ledger_len as u64);
    w.u64(kept_len as u64);
    w.bytes(&parts);
    *out = w.finish();
    *part = parts;
}

/// A transaction as [`encode_transaction`] wrote it, its parts decoded
/// only when asked for.
#[derive(Debug, Clone, Copy)]
pub(in crate::store) struct Transaction<'a> {
    /// How it links into its user's history.
    pub(in crate::store) head: Head,
    ledger: &'a [u8],
    kept: &'a [u8],
}

impl<'a> Transaction<'a> {
    const WHAT: &'static str = "kept transaction";

    /// The transaction at the start of `bytes` (which may go on past it).
    pub(in crate::store) fn read(bytes: &'a [u8]) -> Result<Self, StoreError> {
        let mut r = Reader::new(bytes, Self::WHAT)?;
        let prev = r.option(Reader::u64)?;
        let first_seq = r.u64()?;
        let ledger_len = r.len()?;
        let kept_len = r.len()?;
        Ok(Self {
            head: Head { prev, first_seq },
            ledger: r.take(ledger_len)?,
            kept: r.take(kept_len)?,
        })
    }

    /// The id of the activity it recorded; `None` for an admin update.
    pub(in crate::store) fn id(&self) -> Result<Option<&'a str>, StoreError> {
        if self.kept.is_empty() {
            return Ok(None);
        }
        Reader::part(self.kept, Self::WHAT).borrowed_str().map(Some)
    }

    /// Its ledger entries, of `user`.
    pub(in crate::store) fn ledger(&self, user: UserId) -> Result<Vec<LedgerEntry>, StoreError> {
        if self.ledger.is_empty() {
            return Ok(Vec::new());
        }
        let activity = self.id()?.map(ActivityId::from);
        let mut r = Reader::part(self.ledger, Self::WHAT);
        let entries = read_ledger(&mut r, user, activity.as_ref(), self.head.first_seq)?;
        r.end()?;
        Ok(entries)
    }

    /// The activity it recorded, of `user`; `None` for an admin update.
    pub(in crate::store) fn activity(&self, user: UserId) -> Result<Option<Activity>, StoreError> {
        self.read_kept(user, |_| Ok(()))
            .map(|kept| kept.map(|(a, ())| a))
    }

    /// The activity it recorded, of `user`, and that activity's outcome;
    /// `None` for an admin update.
    pub(in crate::store) fn activity_and_outcome(
        &self,
        user: UserId,
    ) -> Result<Option<(Activity, Outcome)>, StoreError> {
        self.read_kept(user, |r| {
            let outcome = read_outcome(r)?;
            r.end()?;
            Ok(outcome)
        })
    }

    /// The kept part: the activity, then what `rest` reads after it.
    fn read_kept<T>(
        &self,
        user: UserId,
        rest: impl FnOnce(&mut Reader<'a>) -> Result<T, StoreError>,
    ) -> Result<Option<(Activity, T)>, StoreError> {
        if self.kept.is_empty() {
            return Ok(None);
        }
        let mut r = Reader::part(self.kept, Self::WHAT);
        let id = ActivityId(r.name()?);
        let activity = read_activity(&mut r, id, user)?;
        let rest = rest(&mut r)?;
        Ok(Some((activity, rest)))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::{Head, Transaction, encode_transaction};
    use crate::activity::{Activity, UserId};
    use crate::ledger::{Currency, LedgerDraft, Reason};
    use crate::outcome::Outcome;

    #[test]
    fn a_cut_or_corrupt_transaction_is_an_error_not_a_panic() {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 1, 0, 0).unwrap();
        let activity = Activity::new("a1", UserId(4), "post_created", at).with_metric("posts", 2);
        let outcome = Outcome::new(UserId(4), Some(activity.id.clone()), at);
        let ledger = [LedgerDraft {
            currency: Currency::Xp,
            amount: 50,
            reason: Reason::Activity {
                kind: "post_created".into(),
            },
        }];
        let (mut bytes, mut part) = (Vec::new(), Vec::new());
        let head = Head {
            prev: Some(u64::MAX),
            first_seq: 7,
        };
        encode_transaction(
            &mut bytes,
            &mut part,
            head,
            at,
            &ledger,
            Some((&activity, &outcome)),
        );
        let whole = Transaction::read(&bytes).unwrap();
        assert_eq!(whole.head, head);
        assert_eq!(
            whole.activity_and_outcome(UserId(4)).unwrap(),
            Some((activity, outcome))
        );
        let read_all = |bytes: &[u8]| -> Result<(), crate::store::StoreError> {
            let t = Transaction::read(bytes)?;
            t.ledger(UserId(4))?;
            t.activity_and_outcome(UserId(4))?;
            Ok(())
        };
        for cut in 0..bytes.len() {
            assert!(read_all(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..bytes.len() {
            for b in [0x00, 0x7f, 0x80, 0xff] {
                let mut corrupt = bytes.clone();
                corrupt[i] = b;
                // Whatever it reads as, it must not panic.
                let _ = read_all(&corrupt);
            }
        }
    }
}

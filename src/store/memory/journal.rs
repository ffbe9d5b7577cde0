//! A shard's journal: every transaction of the shard's users, packed end
//! to end in chunks that never move, each user's transactions linked
//! newest first.
//!
//! Why not vectors per user (as before): a user's ledger entries and kept
//! activities in two vectors of their own meant two more cold lines to
//! read on every record at a million users, reallocations as they grew,
//! and 70-odd bytes an entry. Appending to the shard's journal writes
//! where the last transaction ended, a line that is warm; a user's record
//! keeps where its newest transactions are, its counts, and a few marks.

use chrono::{DateTime, Utc};

use crate::activity::{Activity, UserId};
use crate::ledger::LedgerDraft;
use crate::outcome::Outcome;
use crate::pages::{HUGE, PageVec};
use crate::store::StoreError;
use crate::store::codec::{self, Head, Transaction};

/// Where a transaction starts in its shard's journal. Ordered as the
/// journal is: a transaction kept later is at a greater place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Loc {
    chunk: u32,
    start: u32,
}

impl Loc {
    /// As a transaction's [`Head`] names its previous one.
    fn packed(self) -> u64 {
        (u64::from(self.chunk) << 32) | u64::from(self.start)
    }

    fn unpacked(packed: u64) -> Self {
        Self {
            chunk: (packed >> 32) as u32,
            start: packed as u32,
        }
    }
}

/// Where a user's newest transactions are, before another is kept.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Links {
    /// The newest transaction.
    pub(super) newest: Option<Loc>,
    /// The newest transaction with ledger entries.
    pub(super) newest_ledger: Option<Loc>,
}

/// Which link a walk back through a user's transactions follows.
#[derive(Debug, Clone, Copy)]
pub(super) enum Link {
    /// Every transaction.
    Prev,
    /// Only transactions with ledger entries.
    PrevLedger,
}

impl Link {
    /// Where the transaction before `transaction` along this link is.
    pub(super) fn before(self, transaction: &Transaction<'_>) -> Option<Loc> {
        match self {
            Self::Prev => transaction.head.prev,
            Self::PrevLedger => transaction.head.prev_ledger,
        }
        .map(Loc::unpacked)
    }
}

/// The transactions of one shard.
#[derive(Debug, Default)]
pub(super) struct Journal {
    /// Up to [`CHUNK`](Self::CHUNK) bytes each: the full-size ones are a
    /// huge page each where the system gives them (see [`PageVec`]).
    chunks: Vec<PageVec<u8>>,
    /// A transaction is encoded here, then copied to its chunk: reused, so
    /// keeping a transaction allocates nothing once it has grown.
    scratch: Vec<u8>,
    /// The parts of a transaction, before its header (see
    /// [`codec::encode_transaction`]).
    parts: Vec<u8>,
}

impl Journal {
    /// Bytes in a shard's first chunk: a store with few activities keeps
    /// little.
    const FIRST_CHUNK: usize = 16 << 10;

    /// Bytes a chunk grows to, doubling from the first (a transaction
    /// longer than the next chunk gets one of its own): one huge page
    /// where transparent huge pages are in `madvise` mode (see
    /// [`PageVec`]), so a shard's journal takes a page fault per 2 MiB, not
    /// per 4 KiB. In 4 KiB pages, page faults were a tenth of the time of a
    /// record at a million users. The price: a shard's last chunk is
    /// resident whole once touched, at most 2 MiB a shard, in a shard
    /// whose journal already holds 2 MiB.
    pub(super) const CHUNK: usize = HUGE;

    /// Whether another transaction can be kept. Chunks are numbered in 32
    /// bits (a [`Loc`] is 8 bytes): four billion chunks of 16 KiB and more,
    /// at least 64 TiB in one shard, so this refuses only in principle.
    /// Asked before a transaction's step runs, so a refusal changes nothing.
    pub(super) fn has_room(&self) -> bool {
        self.chunks.len() < u32::MAX as usize
    }

    /// Keep a transaction of `user`, whose newest transactions are at
    /// `links` and whose next ledger entry is number `first_seq`: the
    /// ledger entries it wrote at `at`, and the activity it recorded with
    /// its outcome. Returns where it is.
    #[allow(clippy::too_many_arguments)] // One call site; a struct would only rename them.
    pub(super) fn keep(
        &mut self,
        user: UserId,
        links: Links,
        first_seq: u64,
        at: DateTime<Utc>,
        ledger: &[LedgerDraft],
        kept: Option<(&Activity, &Outcome)>,
    ) -> Loc {
        let head = Head {
            prev: links.newest.map(Loc::packed),
            prev_ledger: links.newest_ledger.map(Loc::packed),
            first_seq,
        };
        let (scratch, parts) = (&mut self.scratch, &mut self.parts);
        codec::encode_transaction(scratch, parts, user, head, at, ledger, kept);
        let len = self.scratch.len();
        // A chunk is appended to only while it is within `CHUNK`: a start
        // then always fits in 32 bits, even after a transaction that had a
        // (larger) chunk of its own.
        let fits = self.chunks.last().is_some_and(|chunk| {
            chunk.len() <= Self::CHUNK && chunk.capacity() - chunk.len() >= len
        });
        if !fits {
            let next = self.chunks.last().map_or(Self::FIRST_CHUNK, |chunk| {
                (chunk.capacity() * 2).min(Self::CHUNK)
            });
            self.chunks.push(PageVec::with_capacity(len.max(next)));
        }
        let index = self.chunks.len() - 1;
        let chunk = &mut self.chunks[index];
        let start = chunk.len();
        chunk.extend_from_slice(&self.scratch);
        // Neither conversion can fail: `has_room` bounds the chunks, and a
        // start is at most `CHUNK`.
        debug_assert!(index < u32::MAX as usize && start <= Self::CHUNK);
        Loc {
            chunk: u32::try_from(index).unwrap_or(u32::MAX),
            start: u32::try_from(start).unwrap_or(u32::MAX),
        }
    }

    /// The transactions of a user from `from` back along `link`, newest
    /// first. A link that does not lead back (corrupt) ends the walk with
    /// an error rather than going round for ever.
    pub(super) fn walk(
        &self,
        from: Option<Loc>,
        link: Link,
    ) -> impl Iterator<Item = Result<Transaction<'_>, StoreError>> + '_ {
        let mut next = from;
        std::iter::from_fn(move || {
            let at = next.take()?;
            let transaction = self.get(at).and_then(|t| match link.before(&t) {
                Some(before) if before >= at => Err(StoreError::Corrupt(
                    "a kept transaction links forward".into(),
                )),
                before => {
                    next = before;
                    Ok(t)
                }
            });
            Some(transaction)
        })
    }

    /// The transaction at `loc`.
    pub(super) fn get(&self, loc: Loc) -> Result<Transaction<'_>, StoreError> {
        let bytes = self
            .chunks
            .get(loc.chunk as usize)
            .and_then(|chunk| chunk.get(loc.start as usize..))
            .ok_or_else(|| {
                StoreError::Corrupt("a kept transaction is out of its journal".into())
            })?;
        Transaction::read(bytes)
    }

    /// Chunks in use (tests).
    #[cfg(test)]
    pub(super) fn chunks(&self) -> &[PageVec<u8>] {
        &self.chunks
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::{Journal, Link, Links, Loc};
    use crate::activity::{Activity, UserId};
    use crate::config::Config;
    use crate::ledger::LedgerDraft;
    use crate::outcome::Outcome;
    use crate::state::UserState;

    /// What one kept transaction should read back as.
    struct Expected {
        activity: Option<Activity>,
        outcome: Outcome,
        ledger: Vec<LedgerDraft>,
        first_seq: u64,
        links: Links,
    }

    fn check(journal: &Journal, at: Loc, user: UserId, want: &Expected) {
        let kept = journal.get(at).unwrap();
        assert_eq!(kept.head.first_seq, want.first_seq);
        assert_eq!(Link::Prev.before(&kept), want.links.newest);
        let ledger_link = (!want.ledger.is_empty()).then_some(want.links.newest_ledger);
        assert_eq!(Link::PrevLedger.before(&kept), ledger_link.flatten());
        let id = want.activity.as_ref().map(|a| a.id.0.as_str());
        assert_eq!(kept.id().unwrap(), id);
        let entries: Vec<_> = want
            .ledger
            .iter()
            .cloned()
            .zip(want.first_seq..)
            .map(|(draft, seq)| {
                let id = want.activity.as_ref().map(|a| a.id.clone());
                draft.into_entry(seq, user, want.outcome.at, id)
            })
            .collect();
        assert_eq!(kept.ledger(user).unwrap(), entries);
        assert_eq!(kept.activity(user).unwrap(), want.activity);
        assert_eq!(
            kept.activity_and_outcome(user).unwrap(),
            want.activity.clone().map(|a| (a, want.outcome.clone()))
        );
    }

    #[test]
    fn kept_transactions_read_back_as_written() {
        let config = Config::sparkle();
        let user = UserId(9);
        let mut state = UserState::default();
        let mut journal = Journal::default();
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 1, 0, 0).unwrap();
        let (mut links, mut seq) = (Links::default(), 0);
        let mut kept = Vec::new();
        for (i, kind) in ["daily_login", "post_created", "follow_received"]
            .iter()
            .enumerate()
        {
            let activity = Activity::new(format!("a{i}"), user, *kind, at)
                .with_metric("posts", 2)
                .with_attribute("reactions", -5);
            let commit = crate::step::step(&config, &mut state, &activity, at).unwrap();
            let (ledger, outcome) = (commit.ledger, commit.outcome);
            let loc = journal.keep(user, links, seq, at, &ledger, Some((&activity, &outcome)));
            let want = Expected {
                activity: Some(activity),
                outcome,
                first_seq: seq,
                links,
                ledger,
            };
            links.newest = Some(loc);
            if !want.ledger.is_empty() {
                links.newest_ledger = Some(loc);
            }
            seq += want.ledger.len() as u64;
            kept.push((loc, want));
        }
        // An admin update: entries, no activity.
        let admin = Outcome::new(user, None, at);
        let ledger = kept[1].1.ledger.clone();
        let loc = journal.keep(user, links, seq, at, &ledger, None);
        let want = Expected {
            activity: None,
            outcome: admin,
            ledger,
            first_seq: seq,
            links,
        };
        kept.push((loc, want));
        for (loc, want) in &kept {
            check(&journal, *loc, user, want);
        }
    }

    #[test]
    fn the_journal_keeps_transactions_across_chunks_and_beyond_a_chunk() {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 1, 0, 0).unwrap();
        let mut journal = Journal::default();
        let mut kept = Vec::new();
        let mut links = Links::default();
        for i in 0..3_000u64 {
            // Every 1,000th is larger than the largest chunk.
            let attributes = if i % 1_000 == 999 { 150_000 } else { i % 40 };
            let mut activity = Activity::new(format!("a{i}"), UserId(i), "post_created", at);
            for a in 0..attributes {
                activity = activity.with_attribute(format!("attribute{a}"), a as i64);
            }
            let outcome = Outcome::new(activity.user, Some(activity.id.clone()), at);
            let user = activity.user;
            let loc = journal.keep(user, links, i, at, &[], Some((&activity, &outcome)));
            let want = Expected {
                activity: Some(activity),
                outcome,
                ledger: Vec::new(),
                first_seq: i,
                links,
            };
            links.newest = Some(loc);
            kept.push((loc, want));
        }
        assert!(
            journal.chunks().len() > 5,
            "{} chunks",
            journal.chunks().len()
        );
        assert!(
            journal.chunks().iter().any(|c| c.len() > Journal::CHUNK),
            "a transaction beyond a chunk has its own"
        );
        for (loc, want) in &kept {
            let user = want.activity.as_ref().map_or(UserId(0), |a| a.user);
            check(&journal, *loc, user, want);
        }
        // Walks go back along the links, newest first.
        let walked: Vec<_> = journal
            .walk(links.newest, Link::Prev)
            .map(|t| t.unwrap().head.first_seq)
            .collect();
        assert_eq!(walked, (0..3_000).rev().collect::<Vec<_>>());
    }

    #[test]
    fn a_place_outside_the_journal_is_an_error() {
        let journal = Journal::default();
        assert!(journal.get(Loc { chunk: 3, start: 0 }).is_err());
        let walked: Vec<_> = journal
            .walk(Some(Loc { chunk: 0, start: 0 }), Link::Prev)
            .collect();
        assert!(matches!(walked.as_slice(), [Err(_)]));
    }
}

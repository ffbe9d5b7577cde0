//! The user table: an open-addressing hash table whose buckets *are* the
//! entries (user, score, sequence), so finding a user's score is one cache
//! miss, not two (a table of indices, then the entry).
//!
//! A bucket's index is the entry's slot, which the order's keys carry; so
//! when an entry moves (growth rehashes everything, a removal shifts a few
//! back), the caller is told and relabels the keys.

use bytemuck::{Pod, Zeroable};

use crate::pages::PageVec;

/// One user's entry. Packed to 20 bytes (4-byte alignment: the `u64`s are
/// read unaligned, which x86 and ARM do at full speed). A sequence of 0
/// marks an empty bucket: live entries' sequences start at 1. Plain old
/// data, so a large table can live in huge pages ([`PageVec`]).
#[derive(Debug, Clone, Copy, Default, Pod, Zeroable)]
#[repr(C, packed(4))]
pub(super) struct Slot {
    /// The user id.
    pub(super) user: u64,
    /// The score.
    pub(super) score: u64,
    /// When the score was reached (tie-break; 0 for an empty bucket).
    pub(super) seq: u32,
}

/// Marks a vacant bucket in a growth's old-to-new map.
pub(super) const VACANT: u32 = u32::MAX;

/// The home bucket of `user` in a table of `len` buckets: a multiplicative
/// hash mapped onto `0..len` by Lemire's multiply-shift, so the table can
/// have any size (memory grows in steps of 1.25, not 2).
fn bucket(user: u64, len: usize) -> usize {
    let hash = user.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (user >> 29);
    ((u128::from(hash) * len as u128) >> 64) as usize
}

/// Entries keyed by user, linear probing, at most 85% full.
#[derive(Debug, Clone, Default)]
pub(super) struct Slots {
    buckets: PageVec<Slot>,
    len: usize,
}

impl Slots {
    /// Bytes held.
    pub(super) fn memory_bytes(&self) -> usize {
        self.buckets.memory_bytes()
    }

    /// The entry in bucket `i` (an empty one past the end).
    pub(super) fn get(&self, i: usize) -> Slot {
        self.buckets.get(i).copied().unwrap_or_default()
    }

    /// Every bucket, as a slice (for loops that read many: one deref of
    /// the table, not one per bucket).
    pub(super) fn buckets(&self) -> &[Slot] {
        &self.buckets
    }

    /// Replace the entry in bucket `i` (same user).
    pub(super) fn set(&mut self, i: usize, slot: Slot) {
        if let Some(b) = self.buckets.get_mut(i) {
            *b = slot;
        }
    }

    fn next(&self, b: usize) -> usize {
        if b + 1 == self.buckets.len() {
            0
        } else {
            b + 1
        }
    }

    /// Read the buckets a search for `user` reads first: its home bucket
    /// and the one three on, so the second line of a probe that crosses a
    /// line is asked for at once too. Returns a meaningless value.
    pub(super) fn touch(&self, user: u64) -> u64 {
        let len = self.buckets.len();
        if len == 0 {
            return 0;
        }
        let b = bucket(user, len);
        let (home, on) = (self.buckets[b], self.buckets[(b + 3) % len]);
        home.user ^ on.user
    }

    /// The bucket holding `user`, and its entry (read by the search, so a
    /// caller needs no second look at the table).
    #[inline]
    pub(super) fn find(&self, user: u64) -> Option<(usize, Slot)> {
        // The table once: each `self.buckets` is a deref of a page array.
        let buckets = &*self.buckets;
        if buckets.is_empty() {
            return None;
        }
        let mut b = bucket(user, buckets.len());
        loop {
            let slot = buckets[b];
            if slot.seq == 0 {
                return None;
            }
            if { slot.user } == user {
                return Some((b, slot));
            }
            b = if b + 1 == buckets.len() { 0 } else { b + 1 };
        }
    }

    /// Whether one more entry needs [`grow`](Self::grow) first (load at
    /// most 0.85, so probes stay short).
    pub(super) fn full(&self) -> bool {
        (self.len + 1) * 20 > self.buckets.len() * 17
    }

    /// Rehash into a table 1.25 times larger. Returns where each old
    /// bucket's entry went ([`VACANT`] for empty ones).
    pub(super) fn grow(&mut self) -> Vec<u32> {
        let size = (self.buckets.len() * 5 / 4).max(16);
        let old = std::mem::replace(&mut self.buckets, PageVec::zeroed(size));
        let mut moved = vec![VACANT; old.len()];
        for (to, slot) in moved
            .iter_mut()
            .zip(old.iter().copied())
            .filter(|(_, s)| s.seq != 0)
        {
            let mut b = bucket(slot.user, size);
            while self.buckets[b].seq != 0 {
                b = self.next(b);
            }
            self.buckets[b] = slot;
            // Buckets are u32 in keys; 4 billion users is out of scope.
            *to = u32::try_from(b).unwrap_or(VACANT);
        }
        moved
    }

    /// Add an absent user's entry (after [`full`](Self::full) was checked);
    /// returns its bucket.
    pub(super) fn insert(&mut self, slot: Slot) -> usize {
        let mut b = bucket(slot.user, self.buckets.len());
        while self.buckets[b].seq != 0 {
            b = self.next(b);
        }
        self.buckets[b] = slot;
        self.len += 1;
        b
    }

    /// Empty bucket `hole` by backward shift (no tombstones); `moved(from,
    /// to, entry)` hears of each entry shifted.
    pub(super) fn remove(&mut self, mut hole: usize, mut moved: impl FnMut(usize, usize, Slot)) {
        let mut b = hole;
        loop {
            b = self.next(b);
            let slot = self.buckets[b];
            if slot.seq == 0 {
                break;
            }
            let home = bucket(slot.user, self.buckets.len());
            // Move it back unless its home is cyclically in (hole, b].
            let in_between = if hole <= b {
                hole < home && home <= b
            } else {
                hole < home || home <= b
            };
            if !in_between {
                self.buckets[hole] = slot;
                moved(b, hole, slot);
                hole = b;
            }
        }
        self.buckets[hole] = Slot::default();
        self.len -= 1;
    }
}

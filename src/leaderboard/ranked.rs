//! [`RankedSet`]: users and scores with exact ranks, in O(log n).
//!
//! Entries are ordered by score (highest first), then by who reached that
//! score first, then by user id: a total order, so ranks, pages and
//! "around me" never depend on chance (seed defect 12). The order lives in
//! one counted [`Tree`] of 16-byte keys `(inverted score, sequence, slot)`;
//! each user's slot holds their id, score and sequence number, and a compact
//! open-addressing table maps user ids to slots. About 45 bytes per entry at
//! a million entries (see `memory_bytes`).

use std::collections::HashMap;

use super::blocks::Blocks;
use super::tree::Tree;
use crate::activity::UserId;

/// Sentinel of an empty table bucket.
const EMPTY: u32 = u32::MAX;

/// An order-statistic set of `(user, score)`.
#[derive(Debug, Clone, Default)]
pub struct RankedSet {
    order: Tree,
    slots: Vec<Slot>,
    free: Vec<u32>,
    table: Vec<u32>,
    next_seq: u32,
    /// Distinct scores (inverted) and how many hold each, for dense ranks;
    /// kept only when asked for.
    distinct: Option<(Blocks<u64>, HashMap<u64, u32>)>,
}

/// One user's entry. Packed to 20 bytes (4-byte alignment: the `u64`s are
/// read unaligned, which x86 and ARM do at full speed); one cache miss
/// reads all three.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, packed(4))]
struct Slot {
    user: u64,
    score: u64,
    seq: u32,
}

fn key(score: u64, seq: u32, slot: u32) -> u128 {
    (u128::from(u64::MAX - score) << 64) | (u128::from(seq) << 32) | u128::from(slot)
}

fn slot_of(key: u128) -> usize {
    (key as u32) as usize
}

/// The home bucket of `user` in a table of `len` buckets: a multiplicative
/// hash mapped onto `0..len` by Lemire's multiply-shift, so the table can
/// have any size (memory grows in steps of 1.25, not 2).
fn bucket(user: u64, len: usize) -> usize {
    let hash = user.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (user >> 29);
    ((u128::from(hash) * len as u128) >> 64) as usize
}

impl RankedSet {
    /// An empty set. With `dense`, it also keeps the distinct scores that
    /// dense ranks need (more memory).
    pub fn new(dense: bool) -> Self {
        Self {
            distinct: dense.then(Default::default),
            ..Self::default()
        }
    }

    /// Entries in the set.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.order.len() == 0
    }

    /// Bytes held by the set, capacity included.
    pub fn memory_bytes(&self) -> usize {
        self.order.memory_bytes()
            + self.slots.capacity() * size_of::<Slot>()
            + self.free.capacity() * 4
            + self.table.capacity() * 4
            + self
                .distinct
                .as_ref()
                .map_or(0, |(b, m)| b.memory_bytes() + m.capacity() * 16)
    }

    /// The slot of `user`, and the bucket it sits in.
    fn find(&self, user: u64) -> Option<(usize, usize)> {
        let len = self.table.len();
        if len == 0 {
            return None;
        }
        let mut b = bucket(user, len);
        loop {
            let slot = self.table[b];
            if slot == EMPTY {
                return None;
            }
            if { self.slots[slot as usize].user } == user {
                return Some((slot as usize, b));
            }
            b = if b + 1 == len { 0 } else { b + 1 };
        }
    }

    fn table_insert(&mut self, user: u64, slot: u32) {
        // Load at most 0.85: linear probing stays short.
        if (self.len() + 1) * 20 > self.table.len() * 17 {
            self.grow_table();
        }
        let len = self.table.len();
        let mut b = bucket(user, len);
        while self.table[b] != EMPTY {
            b = if b + 1 == len { 0 } else { b + 1 };
        }
        self.table[b] = slot;
    }

    fn grow_table(&mut self) {
        let size = (self.table.len() * 5 / 4).max(16);
        let old = std::mem::replace(&mut self.table, vec![EMPTY; size]);
        for slot in old.into_iter().filter(|s| *s != EMPTY) {
            let mut b = bucket(self.slots[slot as usize].user, size);
            while self.table[b] != EMPTY {
                b = if b + 1 == size { 0 } else { b + 1 };
            }
            self.table[b] = slot;
        }
    }

    /// Linear probing deletion by backward shift: no tombstones.
    fn table_remove(&mut self, mut hole: usize) {
        let len = self.table.len();
        let mut b = hole;
        loop {
            b = if b + 1 == len { 0 } else { b + 1 };
            let slot = self.table[b];
            if slot == EMPTY {
                break;
            }
            let home = bucket(self.slots[slot as usize].user, len);
            // Move it back unless its home is cyclically in (hole, b].
            let in_between = if hole <= b {
                hole < home && home <= b
            } else {
                hole < home || home <= b
            };
            if !in_between {
                self.table[hole] = slot;
                hole = b;
            }
        }
        self.table[hole] = EMPTY;
    }

    /// The score of `user`.
    pub fn score(&self, user: UserId) -> Option<u64> {
        self.find(user.0).map(|(slot, _)| self.slots[slot].score)
    }

    /// Set `user`'s score. The tie-break sequence changes only when the
    /// score does, so "who reached it first" stays true. Returns the old
    /// score.
    pub fn set(&mut self, user: UserId, score: u64) -> Option<u64> {
        if let Some((slot, _)) = self.find(user.0) {
            let old = self.slots[slot].score;
            if old != score {
                let seq = self.next_seq();
                // `next_seq` may have renumbered: read the old key after it.
                let old_key = key(old, self.slots[slot].seq, slot as u32);
                self.slots[slot] = Slot {
                    user: user.0,
                    score,
                    seq,
                };
                self.order.replace(old_key, key(score, seq, slot as u32));
                self.distinct_remove(old);
                self.distinct_add(score);
            }
            return Some(old);
        }
        let seq = self.next_seq();
        let entry = Slot {
            user: user.0,
            score,
            seq,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = entry;
                slot
            }
            None => {
                // Slots are u32; a board of 4 billion users is out of scope.
                let slot = u32::try_from(self.slots.len()).unwrap_or(EMPTY - 1);
                self.slots.push(entry);
                slot
            }
        };
        self.table_insert(user.0, slot);
        self.order.insert(key(score, seq, slot));
        self.distinct_add(score);
        None
    }

    /// Remove `user`; returns their score.
    pub fn remove(&mut self, user: UserId) -> Option<u64> {
        let (slot, b) = self.find(user.0)?;
        let Slot { score, seq, .. } = self.slots[slot];
        self.order.remove(key(score, seq, slot as u32));
        self.distinct_remove(score);
        self.table_remove(b);
        self.free.push(slot as u32);
        Some(score)
    }

    fn next_seq(&mut self) -> u32 {
        if self.next_seq == u32::MAX {
            self.renumber();
        }
        self.next_seq += 1;
        self.next_seq
    }

    /// Give every entry a fresh sequence in the current order (after 4
    /// billion score changes), keeping the order.
    fn renumber(&mut self) {
        let keys: Vec<u128> = self.order.iter_from(0).collect();
        let mut order = Tree::default();
        for (seq, k) in keys.into_iter().enumerate() {
            let slot = slot_of(k);
            let seq = u32::try_from(seq).unwrap_or(u32::MAX - 1);
            self.slots[slot].seq = seq;
            order.insert(key(self.slots[slot].score, seq, slot as u32));
        }
        self.order = order;
        self.next_seq = u32::try_from(self.len()).unwrap_or(u32::MAX - 1);
    }

    fn distinct_add(&mut self, score: u64) {
        if let Some((blocks, counts)) = &mut self.distinct {
            let n = counts.entry(score).or_insert(0);
            *n += 1;
            if *n == 1 {
                blocks.insert(u64::MAX - score);
            }
        }
    }

    fn distinct_remove(&mut self, score: u64) {
        if let Some((blocks, counts)) = &mut self.distinct
            && let Some(n) = counts.get_mut(&score)
        {
            *n -= 1;
            if *n == 0 {
                counts.remove(&score);
                blocks.remove(&(u64::MAX - score));
            }
        }
    }

    /// `user`'s 0-based position in the total order.
    pub fn position(&self, user: UserId) -> Option<usize> {
        let (slot, _) = self.find(user.0)?;
        let Slot { score, seq, .. } = self.slots[slot];
        Some(self.order.rank(key(score, seq, slot as u32)))
    }

    /// How many entries have a score above `score`.
    pub fn count_above(&self, score: u64) -> usize {
        self.order.rank_hi(u64::MAX - score)
    }

    /// How many distinct scores are above `score` (only for sets made
    /// with `dense`; otherwise `None`).
    pub fn distinct_above(&self, score: u64) -> Option<usize> {
        let (blocks, _) = self.distinct.as_ref()?;
        Some(blocks.rank(&(u64::MAX - score)))
    }

    /// Entries from position `from` on, in order.
    pub fn iter_from(&self, from: usize) -> impl Iterator<Item = (UserId, u64)> + '_ {
        self.entries(from, usize::MAX)
    }

    /// Up to `limit` entries from position `from`, in order.
    pub(super) fn entries(&self, from: usize, limit: usize) -> Entries<'_> {
        Entries {
            keys: self.order.iter_from(from),
            slots: &self.slots,
            left: limit,
            buf: [(0, 0); CHUNK],
            at: 0,
            len: 0,
        }
    }

    /// The entry at `position`.
    pub fn get(&self, position: usize) -> Option<(UserId, u64)> {
        let Slot { user, score, .. } = self.slots[slot_of(self.order.get(position)?)];
        Some((UserId(user), score))
    }

    /// `user`'s tie-break sequence (lower reached the score first).
    pub(super) fn sequence(&self, user: UserId) -> Option<u32> {
        self.find(user.0).map(|(slot, _)| self.slots[slot].seq)
    }
}

/// Entries an [`Entries`] reads ahead.
const CHUNK: usize = 16;

/// Entries in order, their users read a chunk at a time: first up to
/// [`CHUNK`] keys (one or two leaves, which hold the scores), then the
/// users' slots in a tight loop with no branch on what it loads, so the
/// slots' cache misses overlap instead of each waiting for the last (the
/// ten neighbours of "around me" are ten random slots).
pub(super) struct Entries<'a> {
    keys: super::tree::Iter<'a>,
    slots: &'a [Slot],
    /// Entries still wanted (reading ahead stops there).
    left: usize,
    /// `(user, score)` read ahead; `buf[at..len]` not yet returned.
    buf: [(u64, u64); CHUNK],
    at: usize,
    len: usize,
}

impl Entries<'_> {
    fn refill(&mut self) {
        let mut keys = [0u128; CHUNK];
        let mut n = 0;
        for (place, key) in keys[..self.left.min(CHUNK)].iter_mut().zip(&mut self.keys) {
            *place = key;
            n += 1;
        }
        for (out, key) in self.buf.iter_mut().zip(&keys[..n]) {
            let user = self.slots.get(slot_of(*key)).map_or(0, |s| s.user);
            *out = (user, u64::MAX - (*key >> 64) as u64);
        }
        (self.left, self.at, self.len) = (self.left - n, 0, n);
    }
}

impl Iterator for Entries<'_> {
    type Item = (UserId, u64);

    fn next(&mut self) -> Option<(UserId, u64)> {
        if self.at == self.len {
            self.refill();
        }
        let (user, score) = *self.buf[..self.len].get(self.at)?;
        self.at += 1;
        Some((UserId(user), score))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_to_who_reached_the_score_first() {
        let mut set = RankedSet::new(true);
        set.set(UserId(9), 100);
        set.set(UserId(3), 100);
        set.set(UserId(5), 200);
        let order: Vec<_> = set.iter_from(0).map(|(u, _)| u.0).collect();
        assert_eq!(order, [5, 9, 3]);
        assert_eq!(set.count_above(100), 1);
        assert_eq!(set.distinct_above(50), Some(2));
        // Re-setting the same score keeps the place.
        set.set(UserId(9), 100);
        assert_eq!(set.position(UserId(9)), Some(1));
        assert_eq!(set.remove(UserId(5)), Some(200));
        assert_eq!(set.position(UserId(3)), Some(1));
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn table_survives_growth_and_backward_shift_deletes() {
        let mut set = RankedSet::new(false);
        for u in 0..5000u64 {
            set.set(UserId(u * 7919), u);
        }
        for u in (0..5000u64).step_by(3) {
            assert_eq!(set.remove(UserId(u * 7919)), Some(u));
        }
        for u in 0..5000u64 {
            let expect = (u % 3 != 0).then_some(u);
            assert_eq!(set.score(UserId(u * 7919)), expect, "{u}");
        }
    }
}

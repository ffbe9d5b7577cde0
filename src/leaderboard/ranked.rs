//! [`RankedSet`]: users and scores with exact ranks, in O(log n).
//!
//! Entries are ordered by score (highest first), then by who reached that
//! score first, then by user id: a total order, so ranks, pages and
//! "around me" never depend on chance (seed defect 12). The order lives in
//! one counted [`Tree`] of 16-byte keys `(inverted score, sequence, slot)`;
//! each user's slot, a bucket of an open-addressing table keyed by user
//! ([`Slots`]), holds their id, score and sequence number. About 47 bytes
//! per entry at a million entries (see `memory_bytes`).

use std::collections::HashMap;

use super::blocks::Blocks;
use super::slots::{Slot, Slots, VACANT};
use super::tree::{Near, Tree};
use crate::activity::UserId;

/// An order-statistic set of `(user, score)`.
#[derive(Debug, Clone, Default)]
pub struct RankedSet {
    order: Tree,
    slots: Slots,
    next_seq: u32,
    /// Distinct scores (inverted) and how many hold each, for dense ranks;
    /// kept only when asked for.
    distinct: Option<(Blocks<u64>, HashMap<u64, u32>)>,
}

fn key(score: u64, seq: u32, slot: usize) -> u128 {
    // Buckets fit u32 (see `Slots::grow`).
    let slot = u32::try_from(slot).unwrap_or(VACANT);
    (u128::from(u64::MAX - score) << 64) | (u128::from(seq) << 32) | u128::from(slot)
}

fn slot_of(key: u128) -> usize {
    (key as u32) as usize
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
            + self.slots.memory_bytes()
            + self
                .distinct
                .as_ref()
                .map_or(0, |(b, m)| b.memory_bytes() + m.capacity() * 16)
    }

    /// The score of `user`.
    pub fn score(&self, user: UserId) -> Option<u64> {
        self.slots.find(user.0).map(|(_, slot)| slot.score)
    }

    /// Read `user`'s bucket of the user table, the first cache miss of
    /// [`set`](Self::set) or [`remove`](Self::remove), so several sets'
    /// misses can be in flight together (see
    /// [`Board::touch_entry`](super::Board::touch_entry)). Changes
    /// nothing; returns a meaningless value to pass to
    /// `std::hint::black_box`.
    pub fn touch_user(&self, user: UserId) -> u64 {
        self.slots.touch(user.0)
    }

    /// Set `user`'s score. The tie-break sequence changes only when the
    /// score does, so "who reached it first" stays true. Returns the old
    /// score.
    pub fn set(&mut self, user: UserId, score: u64) -> Option<u64> {
        let found = self.slots.find(user.0);
        self.set_found(user, found, score)
    }

    /// Set `user`'s score to `new(old score)`, unless it fails; returns the
    /// old score. One search of the user table, where reading the score
    /// and then [`set`](Self::set) would search it twice.
    pub(super) fn set_with<E>(
        &mut self,
        user: UserId,
        new: impl FnOnce(Option<u64>) -> Result<u64, E>,
    ) -> Result<Option<u64>, E> {
        let found = self.slots.find(user.0);
        let score = new(found.map(|(_, slot)| slot.score))?;
        Ok(self.set_found(user, found, score))
    }

    /// [`set`](Self::set), given the bucket `user` was found in and its
    /// entry (`None`: absent), with no change to the set since the search.
    fn set_found(&mut self, user: UserId, found: Option<(usize, Slot)>, score: u64) -> Option<u64> {
        if let Some((i, slot)) = found {
            let old = slot.score;
            if old != score {
                let seq = self.next_seq();
                // `next_seq` may have renumbered: read the old key after it.
                let old_key = key(old, self.slots.get(i).seq, i);
                let entry = Slot {
                    user: user.0,
                    score,
                    seq,
                };
                self.slots.set(i, entry);
                self.order.replace(old_key, key(score, seq, i));
                self.distinct_remove(old);
                self.distinct_add(score);
            }
            return Some(old);
        }
        if self.slots.full() {
            // Every entry changes bucket: relabel the keys to match.
            let moved = self.slots.grow();
            self.order
                .relabel(|from| moved.get(from as usize).copied().unwrap_or(VACANT));
        }
        let seq = self.next_seq();
        let i = self.slots.insert(Slot {
            user: user.0,
            score,
            seq,
        });
        self.order.insert(key(score, seq, i));
        self.distinct_add(score);
        None
    }

    /// Remove `user`; returns their score.
    pub fn remove(&mut self, user: UserId) -> Option<u64> {
        let (i, Slot { score, seq, .. }) = self.slots.find(user.0)?;
        self.order.remove(key(score, seq, i));
        self.distinct_remove(score);
        let order = &mut self.order;
        self.slots.remove(i, |from, to, moved| {
            let Slot { score, seq, .. } = moved;
            order.replace(key(score, seq, from), key(score, seq, to));
        });
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
    /// billion score changes), keeping the order. Sequences start at 1: 0
    /// marks an empty bucket.
    fn renumber(&mut self) {
        let keys: Vec<u128> = self.order.iter_from(0).collect();
        let mut order = Tree::default();
        for (n, k) in keys.into_iter().enumerate() {
            let i = slot_of(k);
            let seq = u32::try_from(n + 1).unwrap_or(u32::MAX - 1);
            let entry = Slot {
                seq,
                ..self.slots.get(i)
            };
            self.slots.set(i, entry);
            order.insert(key(entry.score, seq, i));
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
        let (i, Slot { score, seq, .. }) = self.slots.find(user.0)?;
        Some(self.order.rank(key(score, seq, i)))
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
            slots: self.slots.buckets(),
            left: limit,
            buf: [(0, 0); CHUNK],
            at: 0,
            len: 0,
        }
    }

    /// `user` with up to `k` entries above and below (`k` at most
    /// [`NEAR`]; more reads `NEAR`), or `None` if `user` is absent: their
    /// scores and where they start, from one search of the user table and
    /// one of the order, where [`position`](Self::position) and then
    /// [`entries`](Self::entries) search the order twice. Their users are
    /// read last, by [`users`](Self::users).
    pub(super) fn window<'a>(
        &self,
        user: UserId,
        k: usize,
        keys: &'a mut WindowKeys,
    ) -> Option<Window<'a>> {
        let (i, Slot { score, seq, .. }) = self.slots.find(user.0)?;
        let k = k.min(NEAR);
        let near = self.order.near(key(score, seq, i), k, k, &mut keys.0)?;
        let keys = &keys.0[..near.len.min(WINDOW)];
        Some(Window { near, keys })
    }

    /// The users of `window`'s entries, in order, written to `out`: a loop
    /// of independent loads, so their cache misses overlap, and nothing
    /// after them in [`Board::around`](super::Board::around) waits long.
    pub(super) fn users<'a>(&self, window: &Window, out: impl Iterator<Item = &'a mut UserId>) {
        for (user, key) in out.zip(window.keys) {
            *user = UserId(self.slots.get(slot_of(*key)).user);
        }
    }

    /// [`count_above`](Self::count_above) the first entry of `window`
    /// (with no change since it was read), mostly counted in the leaf
    /// [`window`](Self::window) already read.
    pub(super) fn count_above_first(&self, window: &Window) -> usize {
        let hi = window.keys.first().map_or(u64::MAX, |k| (*k >> 64) as u64);
        self.order.rank_hi_near(&window.near, hi)
    }

    /// The entry at `position`.
    pub fn get(&self, position: usize) -> Option<(UserId, u64)> {
        let Slot { user, score, .. } = self.slots.get(slot_of(self.order.get(position)?));
        Some((UserId(user), score))
    }

    /// `user`'s tie-break sequence (lower reached the score first).
    pub(super) fn sequence(&self, user: UserId) -> Option<u32> {
        self.slots.find(user.0).map(|(_, slot)| slot.seq)
    }
}

/// The most entries above and below that [`RankedSet::window`] reads
/// ("around me" windows wider than that are read as a page).
pub(super) const NEAR: usize = 16;

/// Entries [`RankedSet::window`] reads at most.
const WINDOW: usize = 2 * NEAR + 1;

/// Room for the keys of a [`Window`] (kept by the caller, so a window is
/// not copied on its way out).
pub(super) struct WindowKeys([u128; WINDOW]);

impl Default for WindowKeys {
    fn default() -> Self {
        Self([0; WINDOW])
    }
}

/// Entries around a user, read by [`RankedSet::window`].
pub(super) struct Window<'a> {
    near: Near,
    keys: &'a [u128],
}

impl Window<'_> {
    /// The position of the first entry.
    pub(super) fn first(&self) -> usize {
        self.near.first
    }

    /// The entries' scores, in order.
    pub(super) fn scores(&self) -> impl ExactSizeIterator<Item = u64> + '_ {
        self.keys.iter().map(|k| u64::MAX - (*k >> 64) as u64)
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
    // Out of line, so `next` stays small enough to inline into its loop.
    #[inline(never)]
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

    #[inline]
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

    /// Sequences run out after 4 billion score changes; renumbering must
    /// keep "who reached the score first" exactly. Started just short of
    /// the end, so the test crosses it (twice, with inserts and removals).
    #[test]
    fn renumbering_keeps_who_reached_first() {
        use std::collections::BTreeMap;

        let mut set = RankedSet::new(true);
        // The model: user -> (score, arrival); ties go to the earlier arrival.
        let mut model: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
        let mut arrival = 0u64;
        for u in 1..=300u64 {
            set.set(UserId(u), (u % 7) * 10);
            model.insert(u, ((u % 7) * 10, arrival));
            arrival += 1;
        }
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        for round in 0..2 {
            set.next_seq = u32::MAX - 40;
            for _ in 0..400 {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let user = rng % 360 + 1;
                if rng.is_multiple_of(11) {
                    assert_eq!(set.remove(UserId(user)), model.remove(&user).map(|e| e.0));
                } else {
                    let score = (rng >> 20) % 7 * 10;
                    let old = model.get(&user).map(|e| e.0);
                    assert_eq!(set.set(UserId(user), score), old);
                    if old != Some(score) {
                        model.insert(user, (score, arrival));
                        arrival += 1;
                    }
                }
                let mut expected: Vec<(u64, u64, u64)> =
                    model.iter().map(|(u, (s, a))| (*s, *a, *u)).collect();
                expected.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
                let order: Vec<u64> = set.iter_from(0).map(|(u, _)| u.0).collect();
                let want: Vec<u64> = expected.iter().map(|e| e.2).collect();
                assert_eq!(order, want, "round {round}");
            }
            assert!(set.next_seq < u32::MAX - 40, "round {round} renumbered");
        }
    }

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
        // Growth and backward shifts moved entries between buckets; the
        // order's keys followed them.
        let order: Vec<(UserId, u64)> = set.iter_from(0).collect();
        let expect: Vec<(UserId, u64)> = (0..5000u64)
            .rev()
            .filter(|u| u % 3 != 0)
            .map(|u| (UserId(u * 7919), u))
            .collect();
        assert_eq!(order, expect);
        for (p, (user, _)) in expect.iter().enumerate() {
            assert_eq!(set.position(*user), Some(p));
        }
        for u in (1..5000u64).step_by(3) {
            set.set(UserId(u * 7919), 10_000 + u);
            assert_eq!(set.position(UserId(u * 7919)), Some(0));
        }
    }
}

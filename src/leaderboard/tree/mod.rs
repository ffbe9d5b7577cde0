//! A counted three-level tree of sorted `u128` keys: order statistics
//! (rank, select) with few cache misses at a million keys.
//!
//! Why this shape: at a million entries every random touch of the key
//! storage is a DRAM and TLB miss (~130 ns here), while anything within a
//! few MiB stays in cache. So everything but the keys lives in a small
//! index — per group of up to [`GROUP`] leaves, the leaves' ids, counts and
//! largest keys; per group, its largest key and a Fenwick tree over group
//! sizes — about 1.5% of the key bytes, which stays cached. A search walks
//! the index without a miss and then reads one 1 KiB leaf, whose sixteen
//! lines load in parallel ([`leaf`]). An insert or removal moves at most one
//! leaf's keys, and restructures one group (or, rarely, the short list of
//! groups); it never moves memory proportional to the whole set.
//!
//! The key `u128::MAX` is reserved (it marks unused leaf places) and must
//! not be inserted.

mod edit;
mod leaf;
mod moves;
mod near;

use crate::pages::PageVec;
use leaf::{LEAF, Leaf};
pub(super) use near::Near;

/// The most leaves a group indexes: 64 leaves of 64 keys, so a million keys
/// need ~300 groups, whose maxima (5 KiB) and Fenwick tree stay in L1/L2.
const GROUP: usize = 64;

/// The index of up to [`GROUP`] consecutive leaves.
#[derive(Debug, Clone)]
struct Group {
    /// Leaves in use (never 0 for a group in the tree).
    len: usize,
    /// Keys in all of them.
    total: usize,
    /// The leaves' ids in the arena, in key order.
    leaves: [u32; GROUP],
    /// Keys in each leaf (never 0 for a leaf in use).
    counts: [u16; GROUP],
    /// The largest key of each leaf.
    maxes: [u128; GROUP],
}

impl Default for Group {
    fn default() -> Self {
        Self {
            len: 0,
            total: 0,
            leaves: [0; GROUP],
            counts: [0; GROUP],
            maxes: [0; GROUP],
        }
    }
}

impl Group {
    /// Keys in the leaves before leaf `li`.
    fn before(&self, li: usize) -> usize {
        self.counts[..li.min(GROUP)]
            .iter()
            .map(|c| usize::from(*c))
            .sum()
    }

    /// The leaf a key belongs in: the first whose maximum is not below it
    /// (the last one for a key above all). The maxima's lines are all
    /// asked for first, then a branch-free binary search runs over all
    /// [`GROUP`] places, those past `len` counting as above every key:
    /// six conditional moves, where a count over all maxima cost four
    /// times the instructions (the index is in cache; its instructions
    /// were most of an update's work). A fixed step count matters: over
    /// `len` places the compiler made the steps branches, which
    /// mispredict every other step.
    fn route(&self, key: u128) -> usize {
        let len = self.len.min(GROUP);
        let mut warm = 0u64;
        for m in self.maxes[..len].iter().step_by(64 / size_of::<u128>()) {
            warm = warm.wrapping_add(*m as u64);
        }
        std::hint::black_box(warm);
        let below = |i: usize| self.maxes[i & (GROUP - 1)] < key && i < len;
        let mut pos = 0;
        let mut step = GROUP / 2;
        while step > 0 {
            if below(pos + step - 1) {
                pos += step;
            }
            step /= 2;
        }
        (pos + usize::from(below(pos))).min(len.saturating_sub(1))
    }
}

/// A sorted set of `u128` keys with rank and select.
#[derive(Debug, Clone, Default)]
pub(super) struct Tree {
    /// Leaf arena; groups refer to leaves by index. In huge pages once
    /// large: a search's one leaf read is otherwise a TLB miss too.
    leaves: PageVec<Leaf>,
    /// Arena places free for reuse.
    free: Vec<u32>,
    /// Groups in key order.
    groups: Vec<Group>,
    /// The largest key of each group.
    maxes: Vec<u128>,
    /// Fenwick tree over group totals (1-based; empty with no groups).
    fenwick: Vec<usize>,
    len: usize,
}

impl Tree {
    /// Keys in the tree.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Bytes held, capacity included.
    pub(super) fn memory_bytes(&self) -> usize {
        self.leaves.memory_bytes()
            + self.free.capacity() * size_of::<u32>()
            + self.groups.capacity() * size_of::<Group>()
            + self.maxes.capacity() * size_of::<u128>()
            + self.fenwick.capacity() * size_of::<usize>()
    }

    /// The group and leaf a key belongs in (`None` when empty).
    fn route(&self, key: u128) -> Option<(usize, usize)> {
        let last = self.groups.len().checked_sub(1)?;
        let g = self.maxes.partition_point(|m| *m < key).min(last);
        Some((g, self.groups[g].route(key)))
    }

    /// Keys in groups before group `g`.
    fn before(&self, g: usize) -> usize {
        let (mut i, mut sum) = (g.min(self.fenwick.len().saturating_sub(1)), 0usize);
        while i > 0 {
            sum = sum.saturating_add(self.fenwick[i]);
            i -= i & i.wrapping_neg();
        }
        sum
    }

    fn fenwick_add(&mut self, g: usize, delta: isize) {
        let mut i = g + 1;
        while i < self.fenwick.len() {
            self.fenwick[i] = self.fenwick[i].wrapping_add_signed(delta);
            i += i & i.wrapping_neg();
        }
    }

    fn rebuild_fenwick(&mut self) {
        let n = self.groups.len();
        self.fenwick.clear();
        self.fenwick.resize(n + 1, 0);
        for (g, group) in self.groups.iter().enumerate() {
            let i = g + 1;
            self.fenwick[i] += group.total;
            let parent = i + (i & i.wrapping_neg());
            if parent <= n {
                self.fenwick[parent] += self.fenwick[i];
            }
        }
    }

    /// How many keys are below `key`, counting within the leaf by `count`.
    fn rank_by(&self, key: u128, count: impl Fn(&Leaf) -> usize) -> usize {
        let g = self.maxes.partition_point(|m| *m < key);
        let Some(group) = self.groups.get(g) else {
            return self.len;
        };
        let li = group.route(key);
        self.before(g) + group.before(li) + count(&self.leaves[group.leaves[li] as usize])
    }

    /// How many keys are below `key`.
    pub(super) fn rank(&self, key: u128) -> usize {
        self.rank_by(key, |leaf| leaf.count_below(key))
    }

    /// How many keys have a high word below `hi`; reads half a leaf.
    pub(super) fn rank_hi(&self, hi: u64) -> usize {
        self.rank_by(u128::from(hi) << 64, |leaf| leaf.count_hi_below(hi))
    }

    /// The group, leaf and place of the key at `index`.
    fn locate(&self, index: usize) -> Option<(usize, usize, usize)> {
        if index >= self.len {
            return None;
        }
        // Fenwick descent: the last group whose prefix is <= index.
        let n = self.groups.len();
        let (mut g, mut left) = (0, index);
        let mut step = n.checked_ilog2().map_or(0, |l| 1 << l);
        while step > 0 {
            if g + step <= n && self.fenwick[g + step] <= left {
                g += step;
                left -= self.fenwick[g];
            }
            step >>= 1;
        }
        let group = self.groups.get(g)?;
        for (li, count) in group.counts[..group.len].iter().enumerate() {
            let count = usize::from(*count);
            if left < count {
                return Some((g, li, left));
            }
            left -= count;
        }
        None
    }

    /// The key at `index` in sorted order.
    pub(super) fn get(&self, index: usize) -> Option<u128> {
        let (g, li, i) = self.locate(index)?;
        Some(self.leaves[self.groups[g].leaves[li] as usize].get(i))
    }

    /// Keys from `index` on, in order.
    pub(super) fn iter_from(&self, index: usize) -> Iter<'_> {
        let (g, li, i) = self.locate(index).unwrap_or((self.groups.len(), 0, 0));
        Iter {
            groups: &self.groups,
            leaves: &self.leaves,
            g,
            li,
            i,
        }
    }
}

/// Keys in order from a position; see [`Tree::iter_from`].
pub(super) struct Iter<'a> {
    groups: &'a [Group],
    // The arena as a slice, taken once: reaching it through the tree
    // derefs a `PageVec` (a match and a cast) on every key, which made a
    // top 100 about a fifth slower.
    leaves: &'a [Leaf],
    g: usize,
    li: usize,
    i: usize,
}

impl Iterator for Iter<'_> {
    type Item = u128;

    // Inlined into the reading loop of `RankedSet::entries`, where a call
    // per key measured 10-15% slower on pages (the compiler stopped
    // inlining it on its own when `near` was added beside it).
    #[inline]
    fn next(&mut self) -> Option<u128> {
        loop {
            let group = self.groups.get(self.g)?;
            if self.li >= group.len {
                (self.g, self.li, self.i) = (self.g + 1, 0, 0);
                continue;
            }
            if self.i < usize::from(group.counts[self.li]) {
                let leaf = self.leaves.get(group.leaves[self.li] as usize)?;
                self.i += 1;
                return Some(leaf.get(self.i - 1));
            }
            (self.li, self.i) = (self.li + 1, 0);
        }
    }
}

#[cfg(test)]
mod tests;

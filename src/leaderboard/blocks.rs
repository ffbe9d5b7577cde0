//! A sorted multiset (the distinct scores dense ranks need) as a list of small sorted blocks with a Fenwick tree
//! over the block sizes: O(log n) search and rank, and inserts that move at
//! most one block's worth of memory.
//!
//! This is the layout of Python's `sortedcontainers`, chosen over a pointer
//! B-tree because it is short to write, keeps keys contiguous (one cache
//! line holds four 16-byte keys) and measured within the issue's targets.
//! Blocks hold at most [`MAX_BLOCK`] keys; a full block first spills a key
//! to a neighbour with room, so blocks stay nearly full (memory), and splits
//! only when both neighbours are full.

use std::collections::VecDeque;

/// The most keys one block holds: a memmove of half a block (4 KiB) is
/// cheap, and 1,000,000 keys need only ~2,000 blocks.
pub(super) const MAX_BLOCK: usize = 1024;

/// A sorted multiset of `K`.
#[derive(Debug, Clone)]
pub(super) struct Blocks<K> {
    blocks: Vec<VecDeque<K>>,
    /// The largest key of each block (blocks are never empty).
    maxes: Vec<K>,
    /// Fenwick tree over block lengths (1-based inside, 0 unused).
    fenwick: Vec<usize>,
    len: usize,
}

impl<K: Ord + Copy> Default for Blocks<K> {
    fn default() -> Self {
        Self {
            blocks: Vec::new(),
            maxes: Vec::new(),
            fenwick: vec![0],
            len: 0,
        }
    }
}

impl<K: Ord + Copy> Blocks<K> {
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Bytes held, capacity included.
    pub(super) fn memory_bytes(&self) -> usize {
        let keys: usize = self
            .blocks
            .iter()
            .map(|b| b.capacity() * size_of::<K>())
            .sum();
        keys + self.blocks.capacity() * size_of::<VecDeque<K>>()
            + self.maxes.capacity() * size_of::<K>()
            + self.fenwick.capacity() * size_of::<usize>()
    }

    /// The block a key belongs in: the first whose maximum is not below it.
    fn block_for(&self, key: &K) -> usize {
        self.maxes
            .partition_point(|m| m < key)
            .min(self.blocks.len().saturating_sub(1))
    }

    fn fenwick_add(&mut self, block: usize, delta: isize) {
        let mut i = block + 1;
        while i < self.fenwick.len() {
            self.fenwick[i] = self.fenwick[i].wrapping_add_signed(delta);
            i += i & i.wrapping_neg();
        }
    }

    /// Keys in blocks before `block`.
    fn before(&self, block: usize) -> usize {
        let (mut i, mut sum) = (block, 0);
        while i > 0 {
            sum += self.fenwick[i];
            i -= i & i.wrapping_neg();
        }
        sum
    }

    fn rebuild_fenwick(&mut self) {
        let n = self.blocks.len();
        self.fenwick.clear();
        self.fenwick.resize(n + 1, 0);
        for (b, block) in self.blocks.iter().enumerate() {
            self.fenwick[b + 1] += block.len();
            let parent = (b + 1) + ((b + 1) & (b + 1).wrapping_neg());
            if parent <= n {
                self.fenwick[parent] += self.fenwick[b + 1];
            }
        }
    }

    /// Insert `key` (duplicates allowed).
    pub(super) fn insert(&mut self, key: K) {
        self.len += 1;
        if self.blocks.is_empty() {
            let mut block = VecDeque::with_capacity(MAX_BLOCK);
            block.push_back(key);
            self.blocks.push(block);
            self.maxes.push(key);
            self.rebuild_fenwick();
            return;
        }
        let b = self.block_for(&key);
        let pos = self.blocks[b].partition_point(|k| k < &key);
        if self.blocks[b].len() < MAX_BLOCK {
            self.blocks[b].insert(pos, key);
        } else if b > 0 && self.blocks[b - 1].len() < MAX_BLOCK && pos > 0 {
            // Spill the smallest key to the left neighbour.
            let first = self.blocks[b].pop_front().unwrap_or(key);
            self.blocks[b - 1].push_back(first);
            self.maxes[b - 1] = first;
            self.fenwick_add(b - 1, 1);
            self.fenwick_add(b, -1);
            self.blocks[b].insert(pos - 1, key);
        } else if b + 1 < self.blocks.len() && self.blocks[b + 1].len() < MAX_BLOCK {
            // Spill the largest key (or the new one) to the right neighbour.
            let moved = if pos == self.blocks[b].len() {
                key
            } else {
                let last = self.blocks[b].pop_back().unwrap_or(key);
                self.blocks[b].insert(pos, key);
                last
            };
            self.blocks[b + 1].push_front(moved);
            self.fenwick_add(b + 1, 1);
            self.fenwick_add(b, -1);
        } else {
            let mut right = self.blocks[b].split_off(MAX_BLOCK / 2);
            right.reserve_exact(MAX_BLOCK - right.len());
            if pos <= MAX_BLOCK / 2 {
                self.blocks[b].insert(pos, key);
            } else {
                right.insert(pos - MAX_BLOCK / 2, key);
            }
            self.blocks.insert(b + 1, right);
            self.maxes.insert(b + 1, key);
            self.refresh_max(b + 1);
            self.refresh_max(b);
            self.rebuild_fenwick();
            return;
        }
        self.refresh_max(b);
        self.fenwick_add(b, 1);
    }

    fn refresh_max(&mut self, b: usize) {
        if let Some(last) = self.blocks[b].back() {
            self.maxes[b] = *last;
        }
    }

    /// Remove one `key`; returns whether it was present.
    pub(super) fn remove(&mut self, key: &K) -> bool {
        if self.blocks.is_empty() {
            return false;
        }
        let b = self.block_for(key);
        let pos = self.blocks[b].partition_point(|k| k < key);
        if self.blocks[b].get(pos) != Some(key) {
            return false;
        }
        self.blocks[b].remove(pos);
        self.len -= 1;
        if self.blocks[b].is_empty() {
            self.blocks.remove(b);
            self.maxes.remove(b);
            self.rebuild_fenwick();
        } else if b > 0 && self.blocks[b].len() + self.blocks[b - 1].len() <= MAX_BLOCK / 2 {
            // Merge small neighbours so memory follows the contents.
            let block = self.blocks.remove(b);
            self.maxes.remove(b);
            self.blocks[b - 1].extend(block);
            self.refresh_max(b - 1);
            self.rebuild_fenwick();
        } else {
            self.refresh_max(b);
            self.fenwick_add(b, -1);
        }
        true
    }

    /// How many keys are below `key`.
    pub(super) fn rank(&self, key: &K) -> usize {
        if self.blocks.is_empty() {
            return 0;
        }
        let b = self.maxes.partition_point(|m| m < key);
        if b == self.blocks.len() {
            return self.len;
        }
        self.before(b) + self.blocks[b].partition_point(|k| k < key)
    }

    /// The block and offset of the key at `index`.
    #[cfg(test)]
    fn locate(&self, index: usize) -> Option<(usize, usize)> {
        if index >= self.len {
            return None;
        }
        // Fenwick descent: the last block whose prefix is <= index.
        let (mut b, mut left) = (0, index);
        let mut step = (self.fenwick.len() - 1)
            .checked_ilog2()
            .map_or(0, |l| 1 << l);
        while step > 0 {
            if b + step < self.fenwick.len() && self.fenwick[b + step] <= left {
                b += step;
                left -= self.fenwick[b];
            }
            step >>= 1;
        }
        Some((b, left))
    }

    /// The key at `index` in sorted order.
    #[cfg(test)]
    pub(super) fn get(&self, index: usize) -> Option<K> {
        let (b, i) = self.locate(index)?;
        self.blocks[b].get(i).copied()
    }

    /// Keys from `index` on, in order.
    #[cfg(test)]
    pub(super) fn iter_from(&self, index: usize) -> impl Iterator<Item = K> + '_ {
        let (b, i) = self.locate(index).unwrap_or((self.blocks.len(), 0));
        self.blocks
            .get(b..)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .flat_map(move |(n, block)| block.range(if n == 0 { i } else { 0 }..))
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_sorted_vec_through_splits_spills_and_merges() {
        let mut blocks = Blocks::default();
        let mut model: Vec<u64> = Vec::new();
        let mut x = 12345u64;
        for step in 0..40_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let key = (x >> 33) % 5000;
            if step % 3 == 2 {
                let i = model.partition_point(|k| *k < key);
                let present = model.get(i) == Some(&key);
                assert_eq!(blocks.remove(&key), present);
                if present {
                    model.remove(i);
                }
            } else {
                blocks.insert(key);
                let i = model.partition_point(|k| *k <= key);
                model.insert(i, key);
            }
            if step % 997 == 0 {
                assert_eq!(blocks.len(), model.len());
                assert!(blocks.iter_from(0).eq(model.iter().copied()));
                for probe in [0, 1, 2500, 4999, 6000] {
                    assert_eq!(blocks.rank(&probe), model.partition_point(|k| *k < probe));
                }
                for i in [0, model.len() / 3, model.len().saturating_sub(1)] {
                    assert_eq!(blocks.get(i), model.get(i).copied());
                    assert!(blocks.iter_from(i).eq(model[i..].iter().copied()));
                }
            }
        }
    }
}

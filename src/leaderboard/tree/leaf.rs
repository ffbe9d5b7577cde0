//! A leaf of the counted tree: up to [`LEAF`] sorted `u128` keys, stored as
//! two halves (high and low words), the high words' lines first.
//!
//! A leaf keeps no length: its count lives in the group (the cached index),
//! so a search reads the leaf's lines only, all asked for at once before a
//! fixed-length, branch-free binary search. Unused places hold the sentinel
//! `u128::MAX`, which no stored key equals, so a search over all places
//! counts the same as one over the used ones.

use bytemuck::{Pod, Zeroable};

/// The most keys one leaf holds: 1 KiB, sixteen cache lines read in
/// parallel (one DRAM latency, not the six of a plain binary search). 32
/// keys (eight lines) measured no faster on five 1M-entry boards.
pub(super) const LEAF: usize = 64;

/// Words per cache line.
const PER_LINE: usize = 64 / size_of::<u64>();

/// Sixteen lines of keys, high words first. Plain old data, so a large
/// arena can live in huge pages (`PageVec`).
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
#[repr(C)]
pub(super) struct Leaf {
    hi: [u64; LEAF],
    lo: [u64; LEAF],
}

impl Default for Leaf {
    fn default() -> Self {
        Self {
            hi: [u64::MAX; LEAF],
            lo: [u64::MAX; LEAF],
        }
    }
}

/// The key of a high and a low word. Comparing whole `u128`s compiles to
/// a compare and a subtract-with-borrow, free of branches; `hi < k || (hi
/// == k && lo < l)` compiles to branches that mispredict at the one place
/// per leaf where the answer flips, each stalling until the leaf arrives.
fn join(hi: u64, lo: u64) -> u128 {
    (u128::from(hi) << 64) | u128::from(lo)
}

fn split(key: u128) -> (u64, u64) {
    ((key >> 64) as u64, key as u64)
}

impl Leaf {
    /// The key at place `i` (the sentinel past the used places).
    pub(super) fn get(&self, i: usize) -> u128 {
        match (self.hi.get(i), self.lo.get(i)) {
            (Some(h), Some(l)) => join(*h, *l),
            _ => u128::MAX,
        }
    }

    /// Read one word of each of the leaf's sixteen cache lines and return
    /// them combined (a meaningless value, for `std::hint::black_box`): a
    /// few dozen independent loads that ask for every line at once, before
    /// a search whose steps each need one of them.
    pub(super) fn touch(&self) -> u64 {
        let mut sum = 0u64;
        for i in (0..LEAF).step_by(PER_LINE) {
            sum = sum.wrapping_add(self.hi[i] ^ self.lo[i]);
        }
        sum
    }

    /// How many keys are below `key`: every line asked for at once
    /// ([`touch`](Self::touch)), then a branch-free binary search, whose
    /// seven steps find their lines arriving together. (A scan of all
    /// sixteen lines costs four times the instructions, and a plain binary
    /// search would wait for one line after another.)
    pub(super) fn count_below(&self, key: u128) -> usize {
        std::hint::black_box(self.touch());
        self.search(key)
    }

    /// [`count_below`](Self::count_below) in two leaves at once, both
    /// leaves' lines asked for before either search (an update reads its
    /// old and new leaf).
    pub(super) fn count_below_pair(a: &Self, ka: u128, b: &Self, kb: u128) -> (usize, usize) {
        std::hint::black_box(a.touch() ^ b.touch());
        (a.search(ka), b.search(kb))
    }

    /// The branch-free binary search: places are sorted, the unused ones
    /// hold the sentinel, so a fixed number of halvings over all [`LEAF`]
    /// places finds the count, each step a conditional move.
    fn search(&self, key: u128) -> usize {
        let mut pos = 0;
        let mut step = LEAF / 2;
        while step > 0 {
            // `pos + step - 1 < LEAF` always; the mask lets the compiler see it.
            let i = (pos + step - 1) & (LEAF - 1);
            if join(self.hi[i], self.lo[i]) < key {
                pos += step;
            }
            step /= 2;
        }
        // `pos < LEAF` here: one place is left to compare.
        let i = pos & (LEAF - 1);
        pos + usize::from(join(self.hi[i], self.lo[i]) < key)
    }

    /// How many keys have a high word below `hi` (reads half the leaf):
    /// [`count_below`](Self::count_below) over the high words alone.
    pub(super) fn count_hi_below(&self, hi: u64) -> usize {
        let mut warm = 0u64;
        for i in (0..LEAF).step_by(PER_LINE) {
            warm = warm.wrapping_add(self.hi[i]);
        }
        std::hint::black_box(warm);
        let mut pos = 0;
        let mut step = LEAF / 2;
        while step > 0 {
            let i = (pos + step - 1) & (LEAF - 1);
            if self.hi[i] < hi {
                pos += step;
            }
            step /= 2;
        }
        let i = pos & (LEAF - 1);
        pos + usize::from(self.hi[i] < hi)
    }

    /// Put `key` at place `pos` of a leaf holding `n < LEAF` keys.
    pub(super) fn insert(&mut self, n: usize, pos: usize, key: u128) {
        let (h, l) = split(key);
        if pos <= n && n < LEAF {
            self.hi.copy_within(pos..n, pos + 1);
            self.lo.copy_within(pos..n, pos + 1);
            self.hi[pos] = h;
            self.lo[pos] = l;
        }
    }

    /// Take out the key at place `pos` of a leaf holding `n` keys.
    pub(super) fn remove(&mut self, n: usize, pos: usize) -> u128 {
        let key = self.get(pos);
        if pos < n && n <= LEAF {
            self.hi.copy_within(pos + 1..n, pos);
            self.lo.copy_within(pos + 1..n, pos);
            self.hi[n - 1] = u64::MAX;
            self.lo[n - 1] = u64::MAX;
        }
        key
    }

    /// Move keys `from..n` out into a fresh leaf (its places `0..n-from`).
    pub(super) fn split_off(&mut self, n: usize, from: usize) -> Self {
        let mut right = Self::default();
        if from <= n && n <= LEAF {
            right.hi[..n - from].copy_from_slice(&self.hi[from..n]);
            right.lo[..n - from].copy_from_slice(&self.lo[from..n]);
            self.hi[from..n].fill(u64::MAX);
            self.lo[from..n].fill(u64::MAX);
        }
        right
    }

    /// A leaf holding `keys` (at most [`LEAF`]; any more are left out).
    pub(super) fn from_keys(keys: &[u128]) -> Self {
        let mut leaf = Self::default();
        for ((h, l), key) in leaf.hi.iter_mut().zip(&mut leaf.lo).zip(keys) {
            (*h, *l) = split(*key);
        }
        leaf
    }

    /// Rewrite the low 32 bits of the first `n` keys by `f`.
    pub(super) fn relabel(&mut self, n: usize, f: &impl Fn(u32) -> u32) {
        for lo in self.lo.iter_mut().take(n) {
            *lo = (*lo & !0xffff_ffff) | u64::from(f(*lo as u32));
        }
    }

    /// Append the `m` keys of `other` to this leaf of `n` keys
    /// (`n + m <= LEAF`).
    pub(super) fn append(&mut self, n: usize, other: &Self, m: usize) {
        if n + m <= LEAF {
            self.hi[n..n + m].copy_from_slice(&other.hi[..m]);
            self.lo[n..n + m].copy_from_slice(&other.lo[..m]);
        }
    }
}

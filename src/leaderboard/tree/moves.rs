//! Replacing one key by another (a score change) in one pass: both leaves
//! are found from the cached index and scanned together, so an update
//! costs one leaf latency, not two; a move within one leaf touches no
//! count at all.

use super::{LEAF, Leaf, Tree};

impl Tree {
    /// Replace `old` by `new` (not `u128::MAX`, not already present);
    /// returns false, changing nothing, if `old` is absent.
    pub(in crate::leaderboard) fn replace(&mut self, old: u128, new: u128) -> bool {
        let (Some((g1, l1)), Some((g2, l2))) = (self.route(old), self.route(new)) else {
            return false;
        };
        let (id1, n1) = self.leaf_at(g1, l1);
        let (id2, n2) = self.leaf_at(g2, l2);
        // The arena once: each `self.leaves[..]` is a deref of the page
        // array, and between writes to a leaf the compiler redoes it.
        let leaves = &mut *self.leaves;
        let (p1, p2) = Leaf::count_below_pair(&leaves[id1], old, &leaves[id2], new);
        if p1 >= n1 || leaves[id1].get(p1) != old {
            return false;
        }
        if (g1, l1) == (g2, l2) {
            // Same leaf: shift the keys between the two places; counts and
            // the Fenwick tree stay as they are.
            let leaf = &mut leaves[id1];
            leaf.remove(n1, p1);
            leaf.insert(n1 - 1, if p2 > p1 { p2 - 1 } else { p2 }, new);
            let last = leaf.get(n1 - 1);
            self.set_leaf_max(g1, l1, last);
            return true;
        }
        let group = &self.groups[g1];
        let fits = |a: u16, b: usize| usize::from(a) + b <= LEAF / 2;
        let merges = (l1 > 0 && fits(group.counts[l1 - 1], n1 - 1))
            || (l1 + 1 < group.len && fits(group.counts[l1 + 1], n1 - 1));
        if n1 == 1 || merges || n2 == LEAF {
            // The index changes shape: the general path (its leaves are
            // in cache now).
            self.remove(old);
            self.insert(new);
            return true;
        }
        leaves[id1].remove(n1, p1);
        let last1 = leaves[id1].get(n1 - 2);
        leaves[id2].insert(n2, p2, new);
        let last2 = leaves[id2].get(n2);
        self.set_count(g1, l1, -1, last1);
        self.set_count(g2, l2, 1, last2);
        true
    }

    /// Rewrite the low 32 bits of every key by `f` (the user table moved
    /// its entries). `f` must keep keys distinct in their upper 96 bits
    /// apart, so the order is unchanged.
    pub(in crate::leaderboard) fn relabel(&mut self, f: impl Fn(u32) -> u32) {
        for (g, group) in self.groups.iter_mut().enumerate() {
            for li in 0..group.len {
                let n = usize::from(group.counts[li]);
                let leaf = &mut self.leaves[group.leaves[li] as usize];
                leaf.relabel(n, &f);
                group.maxes[li] = leaf.get(n.saturating_sub(1));
            }
            self.maxes[g] = group.maxes[group.len.saturating_sub(1)];
        }
    }

    /// The arena id and key count of leaf `li` of group `g`.
    fn leaf_at(&self, g: usize, li: usize) -> (usize, usize) {
        let group = &self.groups[g];
        (group.leaves[li] as usize, usize::from(group.counts[li]))
    }

    /// Record leaf `li` of group `g`'s new largest key.
    fn set_leaf_max(&mut self, g: usize, li: usize, max: u128) {
        let group = &mut self.groups[g];
        group.maxes[li] = max;
        self.maxes[g] = group.maxes[group.len - 1];
    }

    /// Record that leaf `li` of group `g` gained (`delta` 1) or lost
    /// (`delta` -1) a key and now ends at `max`.
    fn set_count(&mut self, g: usize, li: usize, delta: i16, max: u128) {
        let group = &mut self.groups[g];
        group.counts[li] = group.counts[li].wrapping_add_signed(delta);
        group.total = group.total.wrapping_add_signed(isize::from(delta));
        self.set_leaf_max(g, li, max);
        self.fenwick_add(g, isize::from(delta));
    }
}

//! Inserting and removing keys: in place within a leaf when it has room;
//! a full leaf first hands a key to a neighbour with room (so leaves stay
//! nearly full, which is most of the memory), and splits only when both
//! neighbours are full. Leaves and groups that shrink merge with a
//! neighbour, so memory follows the contents.

use super::{GROUP, Group, LEAF, Leaf, Tree};

/// Leaf counts are `u16`; `LEAF` fits, so the conversions never saturate.
fn count(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

impl Tree {
    fn alloc_leaf(&mut self, leaf: Leaf) -> u32 {
        if let Some(id) = self.free.pop() {
            self.leaves[id as usize] = leaf;
            return id;
        }
        if self.leaves.len() == self.leaves.capacity() {
            // On the heap, grow by a sixteenth, not double: leaves are most
            // of the memory, and a `Vec` this large grows in place. A
            // mapped arena is copied whole into a new mapping at each
            // growth, so it doubles: growing by a sixteenth copied it
            // sixteen times over, a fifth of the time of a million-user
            // engine gaining users on its windowed boards. The room it
            // does not use yet is address space, not memory.
            let more = if self.leaves.is_mapped() {
                self.leaves.len()
            } else {
                self.leaves.len() / 16
            };
            self.leaves.reserve_exact(more.max(4));
        }
        // Leaf ids are u32: 4 billion leaves is far beyond any board.
        let id = u32::try_from(self.leaves.len()).unwrap_or(u32::MAX);
        self.leaves.push(leaf);
        id
    }

    /// Insert `key` (not `u128::MAX`; keys are distinct).
    pub(in crate::leaderboard) fn insert(&mut self, key: u128) {
        let Some((g, li)) = self.route(key) else {
            let mut leaf = Leaf::default();
            leaf.insert(0, 0, key);
            let id = self.alloc_leaf(leaf);
            let mut group = Group {
                len: 1,
                total: 1,
                ..Group::default()
            };
            (group.leaves[0], group.counts[0], group.maxes[0]) = (id, 1, key);
            self.groups.push(group);
            self.maxes.push(key);
            self.rebuild_fenwick();
            self.len = 1;
            return;
        };
        let group = &mut self.groups[g];
        let n = usize::from(group.counts[li]);
        if n < LEAF {
            let leaf = &mut self.leaves[group.leaves[li] as usize];
            let pos = leaf.count_below(key);
            leaf.insert(n, pos, key);
            group.counts[li] = count(n + 1);
            group.maxes[li] = group.maxes[li].max(key);
        } else if !self.spill(g, li, key) {
            if self.groups[g].len == GROUP {
                // Make room for a leaf, then route again.
                self.split_group(g);
                return self.insert(key);
            }
            self.split_leaf(g, li, key);
        }
        let group = &mut self.groups[g];
        group.total += 1;
        self.maxes[g] = group.maxes[group.len - 1];
        self.fenwick_add(g, 1);
        self.len += 1;
    }

    /// Put `key` in full leaf `li` by handing one key to a neighbour with
    /// room; false if neither has room.
    fn spill(&mut self, g: usize, li: usize, key: u128) -> bool {
        let group = &mut self.groups[g];
        let id = group.leaves[li] as usize;
        if li > 0 && usize::from(group.counts[li - 1]) < LEAF {
            let pos = self.leaves[id].count_below(key);
            let moved = if pos == 0 {
                key
            } else {
                let first = self.leaves[id].remove(LEAF, 0);
                self.leaves[id].insert(LEAF - 1, pos - 1, key);
                // A key past the last leaf's end is its new maximum.
                group.maxes[li] = group.maxes[li].max(key);
                first
            };
            let m = usize::from(group.counts[li - 1]);
            self.leaves[group.leaves[li - 1] as usize].insert(m, m, moved);
            group.counts[li - 1] = count(m + 1);
            group.maxes[li - 1] = moved;
            return true;
        }
        if li + 1 < group.len && usize::from(group.counts[li + 1]) < LEAF {
            let pos = self.leaves[id].count_below(key);
            let moved = if pos == LEAF {
                key
            } else {
                let last = self.leaves[id].remove(LEAF, LEAF - 1);
                self.leaves[id].insert(LEAF - 1, pos, key);
                group.maxes[li] = self.leaves[id].get(LEAF - 1);
                last
            };
            let m = usize::from(group.counts[li + 1]);
            self.leaves[group.leaves[li + 1] as usize].insert(m, 0, moved);
            group.counts[li + 1] = count(m + 1);
            return true;
        }
        false
    }

    /// Insert `key` into full leaf `li` of group `g` (which has room for a
    /// leaf) whose neighbours are full too (else it would have spilled):
    /// two full leaves and the key become three leaves two-thirds full, as
    /// in a B*-tree, so leaves average well above the half-full of a plain
    /// split (the memory target).
    fn split_leaf(&mut self, g: usize, li: usize, key: u128) {
        let len = self.groups[g].len;
        let pos = self.leaves[self.groups[g].leaves[li] as usize].count_below(key);
        // Past the group's first or last key: a run of falling or rising
        // keys, which a fresh leaf serves best (see `split_alone`).
        let first = if (pos == 0 && li == 0) || (pos == LEAF && li + 1 == len) {
            return self.split_alone(g, li, key);
        } else if li + 1 < len {
            li
        } else if li > 0 {
            li - 1
        } else {
            return self.split_alone(g, li, key);
        };
        let group = &self.groups[g];
        let (a, b) = (
            group.leaves[first] as usize,
            group.leaves[first + 1] as usize,
        );
        let (n, m) = (
            usize::from(group.counts[first]),
            usize::from(group.counts[first + 1]),
        );
        let mut keys = [0u128; 2 * LEAF + 1];
        let mut k = 0;
        for (leaf, count) in [(a, n), (b, m)] {
            for i in 0..count {
                keys[k] = self.leaves[leaf].get(i);
                k += 1;
            }
        }
        let pos = keys[..k].partition_point(|x| *x < key);
        keys.copy_within(pos..k, pos + 1);
        keys[pos] = key;
        k += 1;
        let (third, two) = (k / 3, 2 * k / 3);
        self.leaves[a] = Leaf::from_keys(&keys[..third]);
        self.leaves[b] = Leaf::from_keys(&keys[third..two]);
        let c = self.alloc_leaf(Leaf::from_keys(&keys[two..k]));
        let group = &mut self.groups[g];
        group.leaves.copy_within(first + 2..len, first + 3);
        group.counts.copy_within(first + 2..len, first + 3);
        group.maxes.copy_within(first + 2..len, first + 3);
        group.leaves[first + 2] = c;
        for (i, (from, to)) in [(0, third), (third, two), (two, k)].into_iter().enumerate() {
            group.counts[first + i] = count(to - from);
            group.maxes[first + i] = keys[to - 1];
        }
        group.len += 1;
    }

    /// Insert `key` into full leaf `li` of group `g` by splitting it alone:
    /// when it has no neighbour in the group, or the key runs past the
    /// group's first or last key.
    fn split_alone(&mut self, g: usize, li: usize, key: u128) {
        let id = self.groups[g].leaves[li] as usize;
        let pos = self.leaves[id].count_below(key);
        let (right, keep) = if pos == LEAF || pos == 0 {
            // A key past either end of the leaf starts a fresh leaf and
            // leaves this one full: runs of rising or falling keys
            // (renumbering, a new round of scores) then fill leaves
            // completely instead of leaving halves behind. At the front,
            // the keys swap leaves so the fresh one comes second.
            let mut right = Leaf::default();
            right.insert(0, 0, key);
            if pos == 0 {
                std::mem::swap(&mut right, &mut self.leaves[id]);
                (right, 1)
            } else {
                (right, LEAF)
            }
        } else {
            let half = LEAF / 2;
            let mut right = self.leaves[id].split_off(LEAF, half);
            if pos <= half {
                self.leaves[id].insert(half, pos, key);
                (right, half + 1)
            } else {
                right.insert(half, pos - half, key);
                (right, half)
            }
        };
        let moved = LEAF + 1 - keep;
        let right_max = right.get(moved - 1);
        let left_max = self.leaves[id].get(keep - 1);
        let rid = self.alloc_leaf(right);
        let group = &mut self.groups[g];
        let len = group.len;
        group.leaves.copy_within(li + 1..len, li + 2);
        group.counts.copy_within(li + 1..len, li + 2);
        group.maxes.copy_within(li + 1..len, li + 2);
        (
            group.leaves[li + 1],
            group.counts[li + 1],
            group.maxes[li + 1],
        ) = (rid, count(moved), right_max);
        (group.counts[li], group.maxes[li]) = (count(keep), left_max);
        group.len += 1;
    }

    /// Split full group `g` in two halves.
    fn split_group(&mut self, g: usize) {
        let half = GROUP / 2;
        let left = &mut self.groups[g];
        let m = left.len - half;
        let mut right = Group {
            len: m,
            ..Group::default()
        };
        right.leaves[..m].copy_from_slice(&left.leaves[half..left.len]);
        right.counts[..m].copy_from_slice(&left.counts[half..left.len]);
        right.maxes[..m].copy_from_slice(&left.maxes[half..left.len]);
        right.total = right.before(m);
        left.len = half;
        left.total -= right.total;
        self.maxes[g] = left.maxes[half - 1];
        self.maxes.insert(g + 1, right.maxes[m - 1]);
        self.groups.insert(g + 1, right);
        self.rebuild_fenwick();
    }

    /// Remove `key`; returns whether it was present.
    pub(in crate::leaderboard) fn remove(&mut self, key: u128) -> bool {
        let Some((g, li)) = self.route(key) else {
            return false;
        };
        let group = &mut self.groups[g];
        let id = group.leaves[li] as usize;
        let n = usize::from(group.counts[li]);
        let pos = self.leaves[id].count_below(key);
        if pos >= n || self.leaves[id].get(pos) != key {
            return false;
        }
        self.leaves[id].remove(n, pos);
        group.counts[li] = count(n - 1);
        group.total -= 1;
        self.len -= 1;
        if n == 1 {
            self.free.push(id as u32);
            self.drop_leaf(g, li);
        } else {
            if pos == n - 1 {
                group.maxes[li] = self.leaves[id].get(n - 2);
            }
            let fits = |a: u16, b: u16| usize::from(a) + usize::from(b) <= LEAF / 2;
            if li > 0 && fits(group.counts[li - 1], group.counts[li]) {
                self.merge_leaves(g, li - 1);
            } else if li + 1 < group.len && fits(group.counts[li], group.counts[li + 1]) {
                self.merge_leaves(g, li);
            }
        }
        if self.groups[g].len == 0 {
            self.groups.remove(g);
            self.maxes.remove(g);
            self.rebuild_fenwick();
            return true;
        }
        let group = &self.groups[g];
        self.maxes[g] = group.maxes[group.len - 1];
        let fits = |a: &Group, b: &Group| a.len + b.len <= GROUP / 2;
        if g > 0 && fits(&self.groups[g - 1], group) {
            self.merge_groups(g - 1);
        } else if g + 1 < self.groups.len() && fits(group, &self.groups[g + 1]) {
            self.merge_groups(g);
        } else {
            self.fenwick_add(g, -1);
        }
        true
    }

    /// Take leaf `li` out of group `g`'s index.
    fn drop_leaf(&mut self, g: usize, li: usize) {
        let group = &mut self.groups[g];
        let len = group.len;
        group.leaves.copy_within(li + 1..len, li);
        group.counts.copy_within(li + 1..len, li);
        group.maxes.copy_within(li + 1..len, li);
        group.len -= 1;
    }

    /// Move leaf `li + 1`'s keys into leaf `li` and free it.
    fn merge_leaves(&mut self, g: usize, li: usize) {
        let group = &mut self.groups[g];
        let (a, b) = (group.leaves[li] as usize, group.leaves[li + 1] as usize);
        let (n, m) = (
            usize::from(group.counts[li]),
            usize::from(group.counts[li + 1]),
        );
        let right = std::mem::take(&mut self.leaves[b]);
        self.leaves[a].append(n, &right, m);
        (group.counts[li], group.maxes[li]) = (count(n + m), group.maxes[li + 1]);
        self.free.push(b as u32);
        self.drop_leaf(g, li + 1);
    }

    /// Move group `g + 1`'s leaves into group `g`.
    fn merge_groups(&mut self, g: usize) {
        let right = self.groups.remove(g + 1);
        self.maxes.remove(g + 1);
        let left = &mut self.groups[g];
        let (n, m) = (left.len, right.len);
        left.leaves[n..n + m].copy_from_slice(&right.leaves[..m]);
        left.counts[n..n + m].copy_from_slice(&right.counts[..m]);
        left.maxes[n..n + m].copy_from_slice(&right.maxes[..m]);
        left.len += m;
        left.total += right.total;
        self.maxes[g] = left.maxes[left.len - 1];
        self.rebuild_fenwick();
    }
}

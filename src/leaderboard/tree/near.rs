//! A key's neighbours ("around me") from one search: the search that
//! finds the key's rank also leaves its leaf and place, so the keys before
//! and after it are read from there (mostly the same, already loaded leaf)
//! instead of being located again by position, and the count of keys with
//! a higher word below the first one's is taken from the same leaf where
//! it can be.

use super::Tree;

/// Keys read around one key by [`Tree::near`].
#[derive(Debug, Clone, Copy)]
pub(in crate::leaderboard) struct Near {
    /// The rank (0-based position) of the first key read.
    pub(in crate::leaderboard) first: usize,
    /// How many keys were read.
    pub(in crate::leaderboard) len: usize,
    /// The group, leaf and place of the first key read.
    at: (usize, usize, usize),
}

impl Tree {
    /// The rank of `key`, and its group, leaf and place (`None` if absent).
    fn find(&self, key: u128) -> Option<(usize, (usize, usize, usize))> {
        let g = self.maxes.partition_point(|m| *m < key);
        let group = self.groups.get(g)?;
        let li = group.route(key);
        let leaf = self.leaves.get(*group.leaves.get(li)? as usize)?;
        let i = leaf.count_below(key);
        if leaf.get(i) != key {
            return None;
        }
        Some((self.before(g) + group.before(li) + i, (g, li, i)))
    }

    /// The place `n` keys before place `(g, li, i)`, walking the cached
    /// counts back (no leaf is read). The caller knows it exists.
    fn back(
        &self,
        (mut g, mut li, mut i): (usize, usize, usize),
        mut n: usize,
    ) -> (usize, usize, usize) {
        while n > i {
            n -= i + 1;
            if li == 0 {
                let Some(prev) = g.checked_sub(1) else {
                    return (0, 0, 0);
                };
                g = prev;
                li = self.groups[g].len;
            }
            li -= 1;
            i = usize::from(self.groups[g].counts[li]).saturating_sub(1);
        }
        (g, li, i - n)
    }

    /// `key` with up to `back` keys before it and `ahead` after it (as
    /// many as the tree has and `out` holds), written to `out` in order;
    /// `None` if `key` is absent. One search, for `key`: its neighbours
    /// are read from its place on, and a run of keys spans a second leaf
    /// only where it crosses a leaf's end.
    pub(in crate::leaderboard) fn near(
        &self,
        key: u128,
        back: usize,
        ahead: usize,
        out: &mut [u128],
    ) -> Option<Near> {
        let (rank, at) = self.find(key)?;
        let back = back.min(rank).min(out.len().saturating_sub(1));
        let first = rank - back;
        let at = self.back(at, back);
        let wanted = back
            .saturating_add(1)
            .saturating_add(ahead)
            .min(out.len())
            .min(self.len - first);
        let (mut g, mut li, mut i) = at;
        let mut len = 0;
        while len < wanted {
            let Some(group) = self.groups.get(g) else {
                break;
            };
            if li >= group.len {
                (g, li, i) = (g + 1, 0, 0);
                continue;
            }
            let leaf = &self.leaves[group.leaves[li] as usize];
            let end = usize::from(group.counts[li]).min(i + wanted - len);
            for (place, k) in out[len..].iter_mut().zip(i..end) {
                *place = leaf.get(k);
            }
            len += end.saturating_sub(i);
            (li, i) = (li + 1, 0);
        }
        Some(Near { first, len, at })
    }

    /// How many keys have a high word below `hi`, as
    /// [`rank_hi`](Self::rank_hi), where `near` was read since the last
    /// change: counted in the leaf of `near`'s first key (already loaded)
    /// when the answer lies there, which it does unless keys with a high
    /// word of `hi` run back past that leaf's start (or `hi` is above all
    /// its keys); then by a fresh search.
    pub(in crate::leaderboard) fn rank_hi_near(&self, near: &Near, hi: u64) -> usize {
        let (g, li, i) = near.at;
        let Some(group) = self.groups.get(g) else {
            return self.rank_hi(hi);
        };
        let n = usize::from(group.counts[li.min(super::GROUP - 1)]);
        let leaf = &self.leaves[group.leaves[li.min(super::GROUP - 1)] as usize];
        let start = near.first - i.min(near.first);
        let below = leaf.count_hi_below(hi);
        // The leaf's first `below` keys are below `hi`, the rest are not:
        // all keys before the leaf are below a key of the leaf, so below
        // `hi` too, when `below > 0`.
        if (0 < below && below < n) || (below == 0 && start == 0) {
            return start + below;
        }
        // No key of the leaf is below `hi`: the answer is the leaf's start
        // if the previous leaf's largest key (cached) is below `hi`.
        let previous = match li.checked_sub(1) {
            Some(l) => group.maxes.get(l),
            None => g.checked_sub(1).and_then(|p| self.maxes.get(p)),
        };
        if below == 0 && previous.is_some_and(|m| ((m >> 64) as u64) < hi) {
            return start;
        }
        self.rank_hi(hi)
    }
}

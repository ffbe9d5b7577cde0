//! The tree against a `BTreeSet` model, through leaf spills, splits and
//! merges, group splits and merges, emptying and refilling.

use std::collections::BTreeSet;

use super::{GROUP, LEAF, Tree};

/// Checks every query against the model, and the index's invariants.
fn check(tree: &Tree, model: &BTreeSet<u128>) {
    assert_eq!(tree.len(), model.len());
    let all: Vec<u128> = model.iter().copied().collect();
    assert!(tree.iter_from(0).eq(all.iter().copied()));
    let mut total = 0;
    for (g, group) in tree.groups.iter().enumerate() {
        assert!(group.len > 0 && group.len <= GROUP);
        assert_eq!(group.total, group.before(group.len));
        assert_eq!(tree.before(g), total);
        assert_eq!(tree.maxes[g], group.maxes[group.len - 1]);
        for li in 0..group.len {
            let n = usize::from(group.counts[li]);
            assert!(n > 0 && n <= LEAF);
            let leaf = &tree.leaves[group.leaves[li] as usize];
            assert_eq!(
                group.maxes[li],
                leaf.get(n - 1),
                "g {g} li {li} n {n} len {}",
                group.len
            );
            assert_eq!(
                leaf.get(n),
                u128::MAX,
                "places past the end hold the sentinel"
            );
        }
        total += group.total;
    }
    for probe in [0, 1, all.len() / 2, all.len().saturating_sub(1), all.len()] {
        assert_eq!(tree.get(probe), all.get(probe).copied());
        assert!(
            tree.iter_from(probe)
                .eq(all[probe.min(all.len())..].iter().copied())
        );
    }
    for k in all
        .iter()
        .step_by(7)
        .copied()
        .chain([0, u128::MAX - 1, 1 << 64])
    {
        let below = all.partition_point(|x| *x < k);
        assert_eq!(tree.rank(k), below);
        let hi = (k >> 64) as u64;
        assert_eq!(
            tree.rank_hi(hi),
            all.partition_point(|x| (*x >> 64) < u128::from(hi))
        );
    }
    check_near(tree, &all);
}

/// `near` reads the keys around a present key, at the edges and across
/// leaves and groups; `rank_hi_near` counts like `rank_hi` for any high
/// word, in the leaf it read or by a fresh search.
fn check_near(tree: &Tree, all: &[u128]) {
    let mut out = [0u128; 2 * LEAF + 3];
    let edges = [0, 1, LEAF - 1, LEAF, all.len().saturating_sub(1)];
    let step = (all.len() / 97).max(1);
    for r in (0..all.len()).step_by(step).chain(edges) {
        let Some(&key) = all.get(r) else { continue };
        for (back, ahead) in [
            (0, 0),
            (1, 1),
            (5, 5),
            (3, 0),
            (0, 70),
            (LEAF + 1, LEAF + 1),
        ] {
            let near = tree.near(key, back, ahead, &mut out).unwrap();
            let first = r - back.min(r);
            let end = (r + ahead + 1).min(all.len()).min(first + out.len());
            assert_eq!(near.first, first, "rank {r} back {back}");
            assert_eq!(&out[..near.len], &all[first..end], "rank {r} back {back}");
            let heads = [all[first] >> 64, (all[first] >> 64) + 1, 0, all[r] >> 64];
            for hi in heads.map(|h| h.min(u128::from(u64::MAX)) as u64) {
                let want = all.partition_point(|x| (*x >> 64) < u128::from(hi));
                assert_eq!(tree.rank_hi_near(&near, hi), want, "rank {r} hi {hi}");
            }
        }
        assert!(tree.near(key + 1, 1, 1, &mut out).is_none() || all.contains(&(key + 1)));
    }
    let mut short = [0u128; 3];
    if let Some(&key) = all.get(all.len() / 2) {
        let near = tree.near(key, 5, 5, &mut short).unwrap();
        assert_eq!(near.len, short.len().min(all.len()));
    }
}

fn next(x: &mut u64) -> u64 {
    *x = x
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *x >> 33
}

#[test]
fn empty_and_single() {
    let mut tree = Tree::default();
    let model = BTreeSet::new();
    check(&tree, &model);
    assert!(!tree.remove(5));
    assert_eq!(tree.rank(5), 0);
    tree.insert(5);
    check(&tree, &BTreeSet::from([5]));
    assert!(!tree.remove(4));
    assert!(tree.remove(5));
    check(&tree, &model);
    assert!(tree.groups.is_empty());
}

#[test]
fn random_inserts_and_removes_match_a_btreeset() {
    // Few distinct high words: many keys share a "score", as on boards.
    let mut tree = Tree::default();
    let mut model = BTreeSet::new();
    let mut x = 7;
    for step in 0..60_000u64 {
        let key = (u128::from(next(&mut x) % 40) << 64) | u128::from(next(&mut x) % 3000);
        if step % 3 == 2 || (step > 40_000 && step % 5 != 0) {
            assert_eq!(tree.remove(key), model.remove(&key));
        } else if model.insert(key) {
            tree.insert(key);
        }
        if step % 4999 == 0 {
            check(&tree, &model);
        }
    }
    check(&tree, &model);
    // Drain completely: every merge path, down to empty.
    for key in model.clone() {
        assert!(tree.remove(key));
        model.remove(&key);
        if model.len() % 977 == 0 {
            check(&tree, &model);
        }
    }
    check(&tree, &model);
}

#[test]
fn ascending_descending_and_refill() {
    let mut tree = Tree::default();
    let mut model = BTreeSet::new();
    // Rising keys (appends), then falling ones (inserts at the front).
    for k in (1..20_000u128).chain((20_000..40_000).map(|k| 60_000 - k)) {
        tree.insert(k);
        model.insert(k);
    }
    check(&tree, &model);
    // Appends keep leaves full: memory near 16 bytes a key.
    assert!(
        tree.memory_bytes() / tree.len() < 24,
        "{}",
        tree.memory_bytes() / tree.len()
    );
    for k in (1..40_000u128).step_by(2) {
        assert_eq!(tree.remove(k), model.remove(&k));
    }
    check(&tree, &model);
    for k in (1..40_000u128).step_by(2) {
        tree.insert(k);
        model.insert(k);
    }
    check(&tree, &model);
}

#[test]
fn replace_matches_remove_then_insert() {
    // Keys move within a leaf, to neighbours and far away, through every
    // shape change (a leaf emptying, merging, a full target leaf).
    let mut tree = Tree::default();
    let mut model = BTreeSet::new();
    let mut x = 11;
    for k in 0..9000u128 {
        let key = (u128::from(next(&mut x) % 30) << 64) | k;
        tree.insert(key);
        model.insert(key);
    }
    let mut fresh = 9000u128;
    for step in 0..40_000 {
        let keys: Vec<u128> = model.iter().copied().collect();
        let Some(old) = keys.get(next(&mut x) as usize % keys.len().max(1)).copied() else {
            break;
        };
        fresh += 1;
        let hi = match step % 4 {
            0 => old >> 64,                     // same score: same leaf or next
            1 => (old >> 64) + 1,               // a small increment
            _ => u128::from(next(&mut x) % 30), // anywhere
        };
        let new = (hi << 64) | fresh;
        assert!(tree.replace(old, new));
        model.remove(&old);
        model.insert(new);
        assert!(!tree.replace(old, new + 1), "an absent key is refused");
        if step % 3 == 0 {
            // Shrink too, so leaves underflow and merge around the moves.
            let gone = keys[next(&mut x) as usize % keys.len()];
            assert_eq!(tree.remove(gone), model.remove(&gone));
        }
        if step % 1999 == 0 {
            check(&tree, &model);
        }
    }
    check(&tree, &model);
    let mut single = Tree::default();
    single.insert(3);
    assert!(single.replace(3, 1 << 70));
    check(&single, &BTreeSet::from([1 << 70]));
    assert!(!Tree::default().replace(1, 2));
}

#[test]
fn a_key_past_the_end_spilling_left_becomes_the_maximum() {
    let mut tree = Tree::default();
    let mut model = BTreeSet::new();
    for k in 1000..1000 + 2 * LEAF as u128 {
        tree.insert(k);
        model.insert(k);
    }
    // The first leaf gets room; the last stays full.
    assert!(tree.remove(1000));
    model.remove(&1000);
    tree.insert(5000);
    model.insert(5000);
    check(&tree, &model);
    assert_eq!(tree.rank(5000), model.len() - 1);
}

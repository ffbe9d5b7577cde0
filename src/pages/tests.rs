use super::{HUGE, PageVec, advice_is_heeded, selected};

/// Items of `T` that make `bytes`.
fn items<T>(bytes: usize) -> usize {
    bytes / size_of::<T>()
}

#[test]
fn empty_arrays_hold_nothing() {
    for v in [
        PageVec::<u64>::new(),
        PageVec::default(),
        PageVec::zeroed(0),
    ] {
        assert!(v.is_empty());
        assert_eq!((v.len(), v.capacity(), v.memory_bytes()), (0, 0, 0));
        assert_eq!(*v, [0u64; 0]);
        assert!(v.clone().is_empty());
        assert_eq!(format!("{v:?}"), "[]");
    }
}

#[test]
fn pushes_keep_their_contents_across_the_threshold() {
    let n = items::<u64>(3 * HUGE) + 5;
    let mut v = PageVec::new();
    let mut seen_small = false;
    for i in 0..n as u64 {
        v.push(i * 3);
        seen_small |= !v.is_mapped();
    }
    assert!(seen_small);
    assert_eq!(v.is_mapped(), advice_is_heeded());
    assert_eq!(v.len(), n);
    assert!(v.capacity() >= n);
    assert!(v.iter().enumerate().all(|(i, x)| *x == i as u64 * 3));
    v[7] = 1;
    assert_eq!(v[7], 1);
}

/// Twenty bytes, four-aligned, as a user table's bucket.
type Odd = [u32; 5];

#[test]
fn reserve_exact_gives_exactly_what_is_asked_on_both_sides() {
    let mut v = PageVec::<Odd>::new();
    v.push([1, 2, 3, 4, 5]);
    v.reserve_exact(10);
    assert_eq!(v.capacity(), 11);
    assert!(!v.is_mapped());
    let big = items::<Odd>(HUGE) + 100;
    v.reserve_exact(big);
    assert_eq!(v.capacity(), big + 1);
    assert_eq!(v.is_mapped(), advice_is_heeded());
    // Mapped, only the huge page its one item is in can be resident.
    let resident = if v.is_mapped() { HUGE } else { (big + 1) * 20 };
    assert_eq!(v.memory_bytes(), resident);
    assert_eq!(*v, [[1, 2, 3, 4, 5]]);
    // Room already there: nothing moves.
    v.reserve_exact(big);
    assert_eq!(v.capacity(), big + 1);
    for i in 0..big as u32 {
        v.push([i; 5]);
    }
    assert_eq!(v.capacity(), big + 1);
    assert_eq!(v[big], [big as u32 - 1; 5]);
    // A sixteenth more, as the leaf arena grows: copied to a new mapping.
    v.reserve_exact(v.len() / 16);
    assert_eq!(v.capacity(), big + 1 + (big + 1) / 16);
    assert_eq!(v[0], [1, 2, 3, 4, 5]);
    assert_eq!(v[big], [big as u32 - 1; 5]);
}

#[test]
fn zeroed_arrays_are_zero_and_exact() {
    for n in [3, items::<Odd>(HUGE) - 1, items::<Odd>(5 * HUGE) + 3] {
        let mut v = PageVec::<Odd>::zeroed(n);
        assert_eq!((v.len(), v.capacity(), v.memory_bytes()), (n, n, n * 20));
        assert_eq!(v.is_mapped(), advice_is_heeded() && n * 20 >= HUGE);
        assert!(v.iter().all(|x| *x == [0; 5]));
        v[n - 1] = [9; 5];
        assert_eq!(v.last(), Some(&[9; 5]));
    }
}

#[test]
fn clones_are_equal_and_independent() {
    for n in [10, items::<u64>(2 * HUGE) + 1] {
        let mut v = PageVec::<u64>::new();
        v.reserve_exact(2 * n);
        for i in 0..n as u64 {
            v.push(i);
        }
        let mut c = v.clone();
        assert_eq!(*c, *v);
        assert_eq!(c.capacity(), n);
        assert_eq!(c.is_mapped(), v.is_mapped());
        c[0] = 99;
        assert_eq!(v[0], 0);
        c.push(5);
        assert_eq!((c.len(), v.len()), (n + 1, n));
    }
    let small: PageVec<u64> = {
        let mut v = PageVec::new();
        v.push(4);
        v.push(2);
        v
    };
    assert_eq!(format!("{small:?}"), "[4, 2]");
}

/// The usable part starts on a huge page boundary, and (printed, since
/// whether the kernel gives huge pages is the machine's setting) the pages
/// it got.
#[cfg(target_os = "linux")]
#[test]
fn large_arrays_start_on_a_huge_page_boundary() {
    let mut v = PageVec::<u64>::zeroed(items::<u64>(16 * HUGE));
    if !advice_is_heeded() {
        // Transparent huge pages are `always` or `never` here: a `Vec`.
        assert!(!v.is_mapped());
        return;
    }
    assert!(v.is_mapped());
    let at = v.as_ptr() as usize;
    assert_eq!(at % HUGE, 0);
    for (i, x) in v.iter_mut().enumerate() {
        *x = i as u64;
    }
    let mode = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled");
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    // The huge pages of the mapping (madvise split it: the advised part is
    // its own entry, starting where the array does).
    let mut huge_kb = None;
    let mut inside = false;
    for line in smaps.lines() {
        if let Some((range, _)) = line.split_once(' ')
            && let Some((from, to)) = range.split_once('-')
            && let (Ok(from), Ok(to)) = (
                usize::from_str_radix(from, 16),
                usize::from_str_radix(to, 16),
            )
        {
            inside = from <= at && at < to;
        } else if inside && let Some(kb) = line.strip_prefix("AnonHugePages:") {
            huge_kb = kb.trim().trim_end_matches(" kB").parse::<usize>().ok();
        }
    }
    println!(
        "THP {:?}: {:?} kB of the array's {} kB in huge pages",
        mode.unwrap_or_default().trim(),
        huge_kb,
        v.memory_bytes() / 1024
    );
}

#[test]
fn the_huge_page_setting_is_read_from_its_brackets() {
    assert_eq!(selected("always [madvise] never\n"), Some("madvise"));
    assert_eq!(selected("[always] madvise never"), Some("always"));
    assert_eq!(selected("always madvise [never]"), Some("never"));
    assert_eq!(selected("always madvise never"), None);
    assert_eq!(selected("[unclosed"), None);
    assert_eq!(selected(""), None);
}

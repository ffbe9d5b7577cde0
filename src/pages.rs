//! A growable array of plain-old-data items that, once large, lives in
//! transparent huge pages.
//!
//! Why: at a million entries a board's user table and leaf arena are each
//! over 20 MiB, and every query makes random touches into both, each a
//! DRAM miss and, with 4 KiB pages, a TLB miss on top (the second-level
//! TLB covers a few MiB). And `MemoryStore`'s journal grows by every
//! record: in 4 KiB pages each new page is a fault (several microseconds
//! in a virtual machine), in 2 MiB pages one fault serves ten thousand
//! records. With 2 MiB pages the same TLB covers them whole.
//! Linux gives a heap `Vec` huge pages only when transparent huge pages
//! are set to `always`; the common default is `madvise`, which gives them
//! only to memory that asks. So a large array here is an anonymous mapping
//! that asks (`MADV_HUGEPAGE`), its usable part starting on a 2 MiB
//! boundary (over-mapped by 2 MiB to find one), so that every whole 2 MiB
//! of it can be one page. On a million-entry board that made rank,
//! update and around-me 7-11% faster here, close to what switching the
//! whole system to `always` gave.
//!
//! Below [`HUGE`] bytes it is a plain `Vec`: most boards are small, and a
//! mapping apiece would cost a system call and round memory up to pages.
//! Off Linux it is always a `Vec`, and on Linux too unless transparent
//! huge pages are in `madvise` mode: under `always` a `Vec` gets huge
//! pages without asking, under `never` nothing does, and either way a
//! mapping would only add a copy at each growth (a `Vec` that large grows
//! by `mremap`, in place).
//!
//! Only whole 2 MiB pages are advised: a partial last one stays in small
//! pages, so what can become resident is what
//! [`memory_bytes`](PageVec::memory_bytes) counts (the alignment slack is
//! address space, never touched). The crate forbids `unsafe`: the mapping
//! is `memmap2`'s and the byte-to-item casts are `bytemuck`'s.

use std::fmt;
use std::ops::{Deref, DerefMut};

use bytemuck::Pod;

/// The huge page size, and the size from which an array is mapped.
pub(crate) const HUGE: usize = 2 << 20;

/// A `Vec<T>` that moves into huge pages once it reaches [`HUGE`] bytes.
pub(crate) struct PageVec<T> {
    store: Store<T>,
}

enum Store<T> {
    Heap(Vec<T>),
    /// `len` items in use of room for `cap`.
    Mapped {
        region: region::Region,
        len: usize,
        cap: usize,
    },
}

impl<T: Pod> PageVec<T> {
    /// An empty array.
    pub(crate) fn new() -> Self {
        Self {
            store: Store::Heap(Vec::new()),
        }
    }

    /// An empty array with room for exactly `cap` items: mapped when that
    /// is [`HUGE`] bytes or more (a `Vec` if the mapping fails).
    pub(crate) fn with_capacity(cap: usize) -> Self {
        let store = cap
            .checked_mul(size_of::<T>())
            .filter(|bytes| *bytes >= HUGE)
            .and_then(region::Region::new)
            .map_or_else(
                || Store::Heap(Vec::with_capacity(cap)),
                |region| Store::Mapped {
                    region,
                    len: 0,
                    cap,
                },
            );
        Self { store }
    }

    /// `len` all-zero items, room for no more. A fresh mapping is zero
    /// already, so a large one costs no writes here.
    pub(crate) fn zeroed(len: usize) -> Self {
        let mut new = Self::with_capacity(len);
        match &mut new.store {
            Store::Heap(v) => v.resize(len, T::zeroed()),
            Store::Mapped { len: used, .. } => *used = len,
        }
        new
    }

    /// Items in use.
    pub(crate) fn len(&self) -> usize {
        match &self.store {
            Store::Heap(v) => v.len(),
            Store::Mapped { len, .. } => *len,
        }
    }

    /// Items there is room for.
    pub(crate) fn capacity(&self) -> usize {
        match &self.store {
            Store::Heap(v) => v.capacity(),
            Store::Mapped { cap, .. } => *cap,
        }
    }

    /// Whether the items live in a mapping (huge pages) rather than a `Vec`.
    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self.store, Store::Mapped { .. })
    }

    /// Bytes that can be resident: a `Vec`'s whole capacity; of a mapping,
    /// the items in use rounded up to whole huge pages. A mapping's room
    /// beyond them (and its alignment slack) is address space that no
    /// page backs until it is written.
    pub(crate) fn memory_bytes(&self) -> usize {
        let room = self.capacity() * size_of::<T>();
        match &self.store {
            Store::Heap(_) => room,
            Store::Mapped { len, .. } => (len * size_of::<T>()).next_multiple_of(HUGE).min(room),
        }
    }

    /// Make room for `additional` more items, exactly. A small array grows
    /// as a `Vec` does; one that reaches [`HUGE`] bytes moves to a new
    /// mapping, copied.
    pub(crate) fn reserve_exact(&mut self, additional: usize) {
        let want = self.len().saturating_add(additional);
        if want <= self.capacity() {
            return;
        }
        if let Store::Heap(v) = &mut self.store
            && want.saturating_mul(size_of::<T>()) < HUGE
        {
            v.reserve_exact(additional);
            return;
        }
        let mut new = Self::with_capacity(want);
        new.extend_from_slice(self);
        *self = new;
    }

    /// Append `items` (growing as [`push`](Self::push) does).
    pub(crate) fn extend_from_slice(&mut self, items: &[T]) {
        let want = self.len() + items.len();
        if want > self.capacity() {
            self.reserve_exact(want.max(self.capacity() * 2).max(4) - self.len());
        }
        match &mut self.store {
            Store::Heap(v) => v.extend_from_slice(items),
            Store::Mapped { region, len, .. } => {
                let from = *len * size_of::<T>();
                let to = region.bytes_mut(from + size_of_val(items));
                to[from..].copy_from_slice(bytemuck::cast_slice(items));
                *len += items.len();
            }
        }
    }

    /// Append `item`, doubling the room when full.
    pub(crate) fn push(&mut self, item: T) {
        self.extend_from_slice(&[item]);
    }
}

/// The bytes of `len` items (`None` past what a slice can hold). The
/// bound lets the compiler see that the product is a whole number of items,
/// so the cast below compiles to no division or remainder by the item size
/// (a 20-byte `Slot`'s cost a multiply each).
#[inline]
fn whole<T>(len: usize) -> Option<usize> {
    (len <= isize::MAX as usize / size_of::<T>()).then(|| len * size_of::<T>())
}

// A match and a cast: the hot paths index through these, so they stay a
// few compares of values already in cache. The casts cannot fail: a
// region starts on a page boundary, and `whole` counts whole items.
// Callers still take the slice once per operation where they can (see
// `Slots::find`, `Tree::replace`): after a write through it the compiler
// recomputes it.

impl<T: Pod> Deref for PageVec<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        match &self.store {
            Store::Heap(v) => v,
            Store::Mapped { region, len, .. } => match whole::<T>(*len) {
                Some(n) => bytemuck::cast_slice(region.bytes(n)),
                None => &[],
            },
        }
    }
}

impl<T: Pod> DerefMut for PageVec<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        match &mut self.store {
            Store::Heap(v) => v,
            Store::Mapped { region, len, .. } => match whole::<T>(*len) {
                Some(n) => bytemuck::cast_slice_mut(region.bytes_mut(n)),
                None => &mut [],
            },
        }
    }
}

impl<T: Pod> Default for PageVec<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Pod> Clone for PageVec<T> {
    /// A copy with room for the items in use only, as `Vec`'s clone.
    fn clone(&self) -> Self {
        let mut new = Self::with_capacity(self.len());
        new.extend_from_slice(self);
        new
    }
}

impl<T: Pod + fmt::Debug> fmt::Debug for PageVec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The mapping behind a large array.
#[cfg(target_os = "linux")]
mod region {
    use memmap2::{Advice, MmapMut, MmapOptions};

    use super::{HUGE, advice_is_heeded};

    /// An anonymous mapping whose usable part starts on a huge page
    /// boundary.
    pub(super) struct Region {
        map: MmapMut,
        /// Where the usable part starts in `map`.
        start: usize,
    }

    impl Region {
        /// `bytes` zeroed bytes (`None` if the mapping fails, or if the
        /// kernel does not heed the advice), each whole huge page of them
        /// advised to be one.
        pub(super) fn new(bytes: usize) -> Option<Self> {
            if !advice_is_heeded() {
                return None;
            }
            let map = MmapOptions::new()
                .len(bytes.checked_add(HUGE)?)
                .map_anon()
                .ok()?;
            let start = (HUGE - map.as_ptr().addr() % HUGE) % HUGE;
            let whole = bytes / HUGE * HUGE;
            // Refused (a kernel without transparent huge pages): small
            // pages, as a `Vec` would have.
            let _ = map.advise_range(Advice::HugePage, start, whole);
            Some(Self { map, start })
        }

        /// The first `len` usable bytes.
        #[inline]
        pub(super) fn bytes(&self, len: usize) -> &[u8] {
            &self.map[self.start..][..len]
        }

        /// The first `len` usable bytes, to write.
        #[inline]
        pub(super) fn bytes_mut(&mut self, len: usize) -> &mut [u8] {
            &mut self.map[self.start..][..len]
        }
    }
}

/// Whether the kernel gives huge pages to memory that asks for them and
/// only to it: transparent huge pages in `madvise` mode. Read once. A
/// kernel whose setting cannot be read is asked anyway, as before this
/// check (asking costs a system call; refused, the pages stay small).
#[cfg(target_os = "linux")]
fn advice_is_heeded() -> bool {
    static HEEDED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HEEDED.get_or_init(|| {
        std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .map_or(true, |setting| selected(&setting) == Some("madvise"))
    })
}

/// Off Linux, never (the tests ask; the library does not).
#[cfg(all(not(target_os = "linux"), test))]
fn advice_is_heeded() -> bool {
    false
}

/// The bracketed choice of a sysfs setting (`always [madvise] never`).
#[cfg(any(target_os = "linux", test))]
fn selected(setting: &str) -> Option<&str> {
    let (_, rest) = setting.split_once('[')?;
    rest.split_once(']').map(|(choice, _)| choice)
}

/// No mapping off Linux: `new` declines and arrays stay `Vec`s.
#[cfg(not(target_os = "linux"))]
mod region {
    /// Never made.
    pub(super) enum Region {}

    impl Region {
        pub(super) fn new(_bytes: usize) -> Option<Self> {
            None
        }

        pub(super) fn bytes(&self, _len: usize) -> &[u8] {
            match *self {}
        }

        pub(super) fn bytes_mut(&mut self, _len: usize) -> &mut [u8] {
            match *self {}
        }
    }
}

#[cfg(test)]
mod tests;

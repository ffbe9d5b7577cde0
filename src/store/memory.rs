//! The in-memory store: the default, and the reference implementation.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::ops::Deref;
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};

use super::{
    Commit, IndexedStep, Step, Store, StoreError, TransactError, TransactResult, Transacted, Work,
    codec,
};
use crate::activity::{Activity, ActivityId, UserId};
use crate::ledger::{Currency, LedgerEntry, Reason};
use crate::outcome::Outcome;
use crate::state::UserState;
use crate::step::StepError;

/// Shards per map: enough that 8–32 threads rarely meet on one lock.
const SHARDS: usize = 64;

/// Everything kept for one user.
#[derive(Debug, Default)]
struct UserRecord {
    state: UserState,
    ledger: Vec<Entry>,
    /// Recorded activities with their outcomes, in recording order.
    activities: Vec<Kept>,
}

/// A ledger entry as kept: the user and sequence number are implied by
/// where it is, and the activity is an index into the user's activities,
/// so an entry costs no allocation of its own beyond its reason.
#[derive(Debug)]
struct Entry {
    at: DateTime<Utc>,
    activity: Option<usize>,
    currency: Currency,
    amount: i64,
    reason: Reason,
}

/// A recorded activity and its first outcome. Both are read back only for a
/// repeat or a replay, so they are kept packed in the stores' binary
/// encoding ([`codec`](super::codec)), in their shard's [`Journal`]. The id
/// stays unpacked: ledger reads and collision checks need it.
#[derive(Debug)]
struct Kept {
    id: ActivityId,
    /// The activity (less id and user), then the outcome.
    packed: Span,
}

impl Kept {
    fn unpack(&self, user: UserId, journal: &Journal) -> Result<(Activity, Outcome), StoreError> {
        let packed = journal.get(self.packed)?;
        let split = self.packed.split.min(packed.len());
        let (activity, outcome) = packed.split_at(split);
        Ok((
            codec::decode_activity(self.id.clone(), user, activity)?,
            codec::decode_outcome(outcome)?,
        ))
    }
}

/// Where a kept activity lies in its shard's [`Journal`].
#[derive(Debug, Clone, Copy)]
struct Span {
    chunk: usize,
    start: usize,
    len: usize,
    /// Where the outcome starts, from `start`.
    split: usize,
}

/// The kept activities of one shard, packed end to end in chunks that
/// never move (16 KiB, doubling up to 1 MiB).
///
/// Why not a buffer per activity: that was an allocation on every record
/// that lives for good, and a realloc to trim it. A chunk is one
/// allocation for thousands of activities, and encoding goes through a
/// scratch buffer that is reused, so keeping an activity allocates
/// nothing. (At a million users: 7.6 allocations per record to 6.6,
/// reallocations 1.4 to 0.3; throughput the same within noise, and less
/// memory per activity.)
#[derive(Debug, Default)]
struct Journal {
    chunks: Vec<Vec<u8>>,
    scratch: Vec<u8>,
}

impl Journal {
    /// Bytes in a shard's first chunk: a store with few activities keeps
    /// little.
    const FIRST_CHUNK: usize = 16 << 10;

    /// Bytes a chunk grows to, doubling from the first (an activity longer
    /// than the next chunk gets one of its own).
    const CHUNK: usize = 1 << 20;

    /// Pack `activity` and `outcome` at the journal's end.
    fn keep(&mut self, activity: &Activity, outcome: &Outcome) -> Span {
        self.scratch.clear();
        let split = codec::encode_activity_and_outcome(activity, outcome, &mut self.scratch);
        let len = self.scratch.len();
        let fits = self
            .chunks
            .last()
            .is_some_and(|chunk| chunk.capacity() - chunk.len() >= len);
        if !fits {
            let next = self.chunks.last().map_or(Self::FIRST_CHUNK, |chunk| {
                (chunk.capacity() * 2).min(Self::CHUNK)
            });
            self.chunks.push(Vec::with_capacity(len.max(next)));
        }
        let chunk_index = self.chunks.len() - 1;
        let chunk = &mut self.chunks[chunk_index];
        let start = chunk.len();
        chunk.extend_from_slice(&self.scratch);
        Span {
            chunk: chunk_index,
            start,
            len,
            split,
        }
    }

    fn get(&self, span: Span) -> Result<&[u8], StoreError> {
        self.chunks
            .get(span.chunk)
            .and_then(|chunk| chunk.get(span.start..span.start.saturating_add(span.len)))
            .ok_or_else(|| StoreError::Corrupt("a kept activity is out of its journal".into()))
    }
}

/// A user as a shard's table keys them: with the keyed hash that picked
/// the shard, which the table uses as it is ([`PassThrough`]) instead of
/// hashing the id a second time.
#[derive(Debug, Clone, Copy)]
struct UserKey {
    hash: u64,
    user: UserId,
}

impl PartialEq for UserKey {
    fn eq(&self, other: &Self) -> bool {
        // The hash is a function of the user.
        self.user == other.user
    }
}

impl Eq for UserKey {}

impl Hash for UserKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// One shard of users: their records, and the journal their kept
/// activities are packed in.
#[derive(Debug, Default)]
struct Shard {
    // Boxed: the table then moves 8-byte pointers when it grows, not whole
    // states.
    users: HashMap<UserKey, Box<UserRecord>, std::hash::BuildHasherDefault<PassThrough>>,
    journal: Journal,
}

/// Where a recorded activity id points: its user and position.
#[derive(Debug, Clone, Copy)]
struct Recorded {
    user: UserId,
    index: usize,
}

/// Passes a `u64` key through: the id index's keys and the user tables'
/// [`UserKey`]s are already keyed SipHash values, so hashing them again (on
/// every lookup and whenever the table grows) would be wasted work.
#[derive(Default)]
struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// One shard of the activity-id index.
#[derive(Debug, Default)]
struct IdShard {
    /// By the id's keyed 64-bit hash, computed once per call.
    by_hash: HashMap<u64, Recorded, std::hash::BuildHasherDefault<PassThrough>>,
    /// Ids whose hash equals an earlier id's: vanishingly rare, kept exact.
    collided: HashMap<ActivityId, Recorded>,
}

impl std::fmt::Debug for PassThrough {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PassThrough")
    }
}

/// A thread-safe store in process memory.
///
/// Users and activity ids are spread over 64 shards each, every shard behind
/// its own mutex: two threads contend only when they touch the same shard, and
/// there is no global lock on the hot path. A `transact` with an activity
/// locks the id's shard, then the user's shard — always in that order, so it
/// cannot deadlock — and holds both for the atomic step, which makes
/// exactly-once recording hold under any interleaving. A `transact_many` of
/// 32 or more holds every shard for runs of up to 256 items (see there):
/// other calls wait for a run to end.
///
/// Activity ids are remembered for the store's lifetime.
#[derive(Debug)]
pub struct MemoryStore {
    users: Vec<Mutex<Shard>>,
    ids: Vec<Mutex<IdShard>>,
    hasher: RandomState,
    /// Tests: give every id the same hash, to exercise the collision path.
    #[cfg(test)]
    collide_all: bool,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            users: (0..SHARDS).map(|_| Mutex::default()).collect(),
            ids: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
            #[cfg(test)]
            collide_all: false,
        }
    }

    fn user_key(&self, user: UserId) -> UserKey {
        UserKey {
            hash: self.hasher.hash_one(user),
            user,
        }
    }

    /// The shard of a user: from the middle bits of its hash, for the
    /// reason given at [`id_shard`](Self::id_shard). The modulo keeps the
    /// index in range whatever the hash.
    fn user_shard_index(key: UserKey) -> usize {
        ((key.hash >> 32) % SHARDS as u64) as usize
    }

    fn id_hash(&self, id: &ActivityId) -> u64 {
        #[cfg(test)]
        if self.collide_all {
            return 0;
        }
        self.hasher.hash_one(id)
    }

    fn user_shard(&self, key: UserKey) -> MutexGuard<'_, Shard> {
        lock(&self.users[Self::user_shard_index(key)])
    }
}

/// A panic inside a step (a bug, never input) poisons the mutex; the data is
/// still consistent because steps mutate only after validating, so carry on.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether an activity was recorded before.
enum Seen {
    /// No: record it. `collision` if its id's hash belongs to another id.
    New { collision: bool },
    /// Yes, with the same payload: its first outcome.
    Before(Outcome),
}

/// Look `activity` up in its id shard `ids` by its hash, confirming a find
/// against the recorded activity itself (read from the shard `shard_of`
/// gives for its user's key, made by `key_of`). The same payload is a
/// repeat; another is a conflict.
fn seen<G: Deref<Target = Shard>>(
    ids: &IdShard,
    hash: u64,
    activity: &Activity,
    key_of: impl Fn(UserId) -> UserKey,
    shard_of: impl Fn(UserKey) -> G,
) -> Result<Seen, TransactError<StepError>> {
    let Some(by_hash) = ids.by_hash.get(&hash).copied() else {
        return Ok(Seen::New { collision: false });
    };
    // The activity recorded at `at`, if it has this id.
    let first = |at: Recorded| -> Result<Option<(Activity, Outcome)>, StoreError> {
        let key = key_of(at.user);
        let shard = shard_of(key);
        let kept = shard
            .users
            .get(&key)
            .and_then(|r| r.activities.get(at.index))
            .ok_or_else(|| StoreError::Corrupt(format!("activity `{}` lost", activity.id)))?;
        if kept.id == activity.id {
            kept.unpack(at.user, &shard.journal).map(Some)
        } else {
            Ok(None)
        }
    };
    let mut found = first(by_hash)?;
    let collision = found.is_none();
    if collision && let Some(at) = ids.collided.get(&activity.id).copied() {
        found = first(at)?;
    }
    match found {
        None => Ok(Seen::New { collision }),
        Some((first, outcome)) if first == *activity => Ok(Seen::Before(outcome)),
        Some(_) => Err(TransactError::Conflict(activity.id.clone())),
    }
}

/// Run `step` on the state of the user `key` in `shard` and commit what it wrote: the
/// ledger entries and, for an activity, the kept activity and its place in
/// the id shard (`id`: the shard, the id's hash, and whether that hash is
/// another id's).
fn commit(
    shard: &mut Shard,
    id: Option<(&mut IdShard, u64, bool)>,
    key: UserKey,
    activity: Option<&Activity>,
    step: &mut Step<'_, StepError>,
) -> TransactResult {
    let Shard { users, journal } = shard;
    let is_new = !users.contains_key(&key);
    let record = users.entry(key).or_default();
    // The step reads the state's maps one after another, each a cache miss
    // at a million users; asked for together here, the misses overlap.
    std::hint::black_box(record.touch());
    let Commit { outcome, ledger } = match step(&mut record.state) {
        Ok(commit) => commit,
        Err(e) => {
            // A refused first step leaves no trace of the user either.
            if is_new {
                users.remove(&key);
            }
            return Err(TransactError::Step(e));
        }
    };
    let kept = activity.map(|a| Kept {
        id: a.id.clone(),
        packed: journal.keep(a, &outcome),
    });
    let at = outcome.at;
    let activity_index = kept.as_ref().map(|_| record.activities.len());
    record.ledger.extend(ledger.into_iter().map(|draft| Entry {
        at,
        activity: activity_index,
        currency: draft.currency,
        amount: draft.amount,
        reason: draft.reason,
    }));
    if let (Some((ids, hash, collision)), Some(kept)) = (id, kept) {
        let index = record.activities.len();
        let recorded = Recorded {
            user: key.user,
            index,
        };
        if collision {
            ids.collided.insert(kept.id.clone(), recorded);
        } else {
            ids.by_hash.insert(hash, recorded);
        }
        record.activities.push(kept);
    }
    Ok(Transacted::Applied(outcome))
}

impl UserRecord {
    /// Read a word from each part of the record a step reads or appends
    /// to, so they are on their way into cache (see
    /// [`MemoryStore::transact_many`]). Returns a meaningless value.
    fn touch(&self) -> u64 {
        self.state.touch()
            ^ self.ledger.last().map_or(0, |e| e.amount as u64)
            ^ self.activities.last().map_or(0, |k| k.packed.len as u64)
    }
}

impl MemoryStore {
    /// Batches shorter than this run one transaction at a time: locking
    /// every shard costs more than the pipeline saves.
    const PIPELINE_FROM: usize = 32;

    /// Items a pipelined run holds every shard for.
    const PIPELINE_RUN: usize = 256;

    /// The id shard of an id's hash: from its middle bits. The shard's
    /// table uses the same hash (see [`PassThrough`]); hashbrown takes a
    /// bucket from the low bits and a tag from the top seven, so a shard
    /// chosen by either would give all of a shard's ids the same few
    /// buckets or the same tag.
    fn id_shard(hash: u64) -> usize {
        ((hash >> 32) % SHARDS as u64) as usize
    }

    /// One run of [`transact_many`](Store::transact_many)'s pipeline:
    /// `work` with its `keys` (id hash, user key), the first item being
    /// item `offset` of the batch; results are appended to `results`.
    fn run(
        &self,
        work: &[Work<'_>],
        keys: &[(Option<u64>, UserKey)],
        offset: usize,
        step: &mut IndexedStep<'_, StepError>,
        results: &mut Vec<TransactResult>,
    ) {
        let mut ids: Vec<MutexGuard<'_, IdShard>> = self.ids.iter().map(lock).collect();
        let mut shards: Vec<MutexGuard<'_, Shard>> = self.users.iter().map(lock).collect();
        let mut warm = 0u64;
        for (i, (w, &(hash, key))) in work.iter().zip(keys).enumerate() {
            // Two stages ahead, the tables: where the id and the user are.
            if let Some(&(hash, key)) = keys.get(i + 2) {
                warm ^= hash.map_or(0, |h| {
                    ids[Self::id_shard(h)]
                        .by_hash
                        .get(&h)
                        .map_or(0, |r| r.index as u64)
                });
                let users = &shards[Self::user_shard_index(key)].users;
                warm ^= users.get(&key).map_or(0, |r| r.state.xp);
            }
            // One stage ahead, the record itself (its table slot is warm now).
            if let Some(&(_, key)) = keys.get(i + 1) {
                let users = &shards[Self::user_shard_index(key)].users;
                warm ^= users.get(&key).map_or(0, |r| r.touch());
            }
            let mut collision = false;
            if let (Some(activity), Some(h)) = (w.activity, hash) {
                match seen(
                    &ids[Self::id_shard(h)],
                    h,
                    activity,
                    |u| self.user_key(u),
                    |k| &*shards[Self::user_shard_index(k)],
                ) {
                    Ok(Seen::Before(outcome)) => {
                        results.push(Ok(Transacted::Duplicate(outcome)));
                        continue;
                    }
                    Ok(Seen::New { collision: c }) => collision = c,
                    Err(e) => {
                        results.push(Err(e));
                        continue;
                    }
                }
            }
            let id = hash.map(|h| (&mut *ids[Self::id_shard(h)], h, collision));
            results.push(commit(
                &mut shards[Self::user_shard_index(key)],
                id,
                key,
                w.activity,
                &mut |state| step(offset + i, state),
            ));
        }
        std::hint::black_box(warm);
    }
}

impl Store for MemoryStore {
    fn transact(
        &self,
        user: UserId,
        activity: Option<&Activity>,
        step: &mut Step<'_, StepError>,
    ) -> TransactResult {
        let hash = activity.map(|a| self.id_hash(&a.id));
        let mut id_shard = hash.map(|h| lock(&self.ids[Self::id_shard(h)]));
        let mut collision = false;
        if let (Some(ids), Some(activity), Some(hash)) = (id_shard.as_deref(), activity, hash) {
            match seen(
                ids,
                hash,
                activity,
                |u| self.user_key(u),
                |k| self.user_shard(k),
            )? {
                Seen::Before(outcome) => return Ok(Transacted::Duplicate(outcome)),
                Seen::New { collision: c } => collision = c,
            }
        }
        let id = id_shard
            .as_deref_mut()
            .zip(hash)
            .map(|(ids, hash)| (ids, hash, collision));
        let key = self.user_key(user);
        commit(&mut self.user_shard(key), id, key, activity, step)
    }

    /// A batch of many runs as a pipeline, in runs of up to 256 items. A run
    /// holds every shard (taking the id shards, then the user shards, each
    /// in order: the order a single transaction takes them in, so the two
    /// cannot deadlock). At a million users each activity's data is cold,
    /// and its reads depend on each other (table, record, state), so one at
    /// a time they wait on memory one after another; with no lock taken
    /// between activities, the next two activities' data is touched while
    /// this one runs, and their misses overlap its work. Other threads'
    /// calls wait for the run to end (about a millisecond at a million
    /// users), which is why a run is not the whole batch.
    fn transact_many(
        &self,
        work: &[Work<'_>],
        step: &mut IndexedStep<'_, StepError>,
    ) -> Result<Vec<TransactResult>, StoreError> {
        if work.len() < Self::PIPELINE_FROM {
            return Ok(work
                .iter()
                .enumerate()
                .map(|(i, w)| self.transact(w.user, w.activity, &mut |state| step(i, state)))
                .collect());
        }
        // Each item's id hash and user key, computed once.
        let keys: Vec<(Option<u64>, UserKey)> = work
            .iter()
            .map(|w| {
                (
                    w.activity.map(|a| self.id_hash(&a.id)),
                    self.user_key(w.user),
                )
            })
            .collect();
        let mut results = Vec::with_capacity(work.len());
        for first in (0..work.len()).step_by(Self::PIPELINE_RUN) {
            let last = work.len().min(first + Self::PIPELINE_RUN);
            self.run(
                &work[first..last],
                &keys[first..last],
                first,
                step,
                &mut results,
            );
        }
        Ok(results)
    }

    fn load(&self, user: UserId) -> Result<Option<UserState>, StoreError> {
        let key = self.user_key(user);
        Ok(self
            .user_shard(key)
            .users
            .get(&key)
            .map(|r| r.state.clone()))
    }

    fn users(&self) -> Result<Vec<UserId>, StoreError> {
        let mut all: Vec<UserId> = self
            .users
            .iter()
            .flat_map(|shard| lock(shard).users.keys().map(|k| k.user).collect::<Vec<_>>())
            .collect();
        all.sort_unstable();
        Ok(all)
    }

    fn ledger(
        &self,
        user: UserId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let key = self.user_key(user);
        let shard = self.user_shard(key);
        let Some(record) = shard.users.get(&key) else {
            return Ok(Vec::new());
        };
        let from = usize::try_from(from).unwrap_or(usize::MAX);
        Ok(record
            .ledger
            .iter()
            .enumerate()
            .skip(from)
            .take(limit)
            .map(|(seq, e)| LedgerEntry {
                seq: seq as u64,
                user,
                at: e.at,
                activity: e
                    .activity
                    .and_then(|i| record.activities.get(i))
                    .map(|kept| kept.id.clone()),
                currency: e.currency,
                amount: e.amount,
                reason: e.reason.clone(),
            })
            .collect())
    }

    fn ledger_len(&self, user: UserId) -> Result<u64, StoreError> {
        let key = self.user_key(user);
        let shard = self.user_shard(key);
        Ok(shard.users.get(&key).map_or(0, |r| r.ledger.len() as u64))
    }

    fn activities(&self, user: UserId) -> Result<Vec<Activity>, StoreError> {
        let key = self.user_key(user);
        let shard = self.user_shard(key);
        let Some(record) = shard.users.get(&key) else {
            return Ok(Vec::new());
        };
        record
            .activities
            .iter()
            .map(|kept| {
                kept.unpack(user, &shard.journal)
                    .map(|(activity, _)| activity)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryStore;

    #[test]
    fn kept_activities_unpack_to_what_was_recorded() {
        use chrono::{TimeZone, Utc};

        use crate::activity::{Activity, UserId};
        use crate::config::Config;
        use crate::state::UserState;

        let config = Config::sparkle();
        let mut state = UserState::default();
        let mut journal = super::Journal::default();
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 1, 0, 0).unwrap();
        for (i, kind) in ["daily_login", "post_created", "follow_received"]
            .iter()
            .enumerate()
        {
            let activity = Activity::new(format!("a{i}"), UserId(9), *kind, at)
                .with_metric("posts", 2)
                .with_attribute("reactions", -5);
            let outcome = crate::step::step(&config, &mut state, &activity, at)
                .unwrap()
                .outcome;
            let packed = journal.keep(&activity, &outcome);
            let kept = super::Kept {
                id: activity.id.clone(),
                packed,
            };
            assert_eq!(
                kept.unpack(UserId(9), &journal).unwrap(),
                (activity, outcome)
            );
        }
    }

    #[test]
    fn the_journal_keeps_activities_across_chunks_and_beyond_a_chunk() {
        use chrono::{TimeZone, Utc};

        use crate::activity::{Activity, UserId};
        use crate::outcome::Outcome;

        let at = Utc.with_ymd_and_hms(2026, 3, 1, 1, 0, 0).unwrap();
        let mut journal = super::Journal::default();
        let mut kept = Vec::new();
        for i in 0..3_000u64 {
            // Every 1,000th is larger than the largest chunk.
            let attributes = if i % 1_000 == 999 { 90_000 } else { i % 40 };
            let mut activity = Activity::new(format!("a{i}"), UserId(i), "post_created", at);
            for a in 0..attributes {
                activity = activity.with_attribute(format!("attribute{a}"), a as i64);
            }
            let outcome = Outcome::new(activity.user, Some(activity.id.clone()), at);
            let packed = journal.keep(&activity, &outcome);
            kept.push((activity, outcome, packed));
        }
        assert!(journal.chunks.len() > 5, "{} chunks", journal.chunks.len());
        assert!(
            journal
                .chunks
                .iter()
                .any(|c| c.len() > super::Journal::CHUNK),
            "an activity beyond a chunk has its own"
        );
        for (activity, outcome, packed) in kept {
            let entry = super::Kept {
                id: activity.id.clone(),
                packed,
            };
            let user = activity.user;
            assert_eq!(entry.unpack(user, &journal).unwrap(), (activity, outcome));
        }
    }

    #[test]
    fn ids_whose_hashes_collide_stay_exact() {
        crate::store::conformance::check_store(|| MemoryStore {
            collide_all: true,
            ..MemoryStore::new()
        });
    }
}

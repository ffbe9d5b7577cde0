//! The in-memory store: the default, and the reference implementation.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::ops::Deref;
use std::sync::{Mutex, MutexGuard};

use super::{
    BoardReset, Commit, IndexedStep, Step, Store, StoreError, TransactError, TransactResult,
    Transacted, Work,
};
use crate::activity::{Activity, ActivityId, UserId};
use crate::ledger::LedgerEntry;
use crate::outcome::Outcome;
use crate::state::UserState;
use crate::step::StepError;

/// Shards per map: enough that 8–32 threads rarely meet on one lock.
const SHARDS: usize = 64;

mod journal;

use journal::{Journal, Link, Links, Loc};

/// Everything kept for one user: the state, and where the user's history
/// is in the shard's [`Journal`].
#[derive(Debug, Default)]
struct UserRecord {
    state: UserState,
    /// Where the user's newest transactions are.
    links: Links,
    /// Ledger entries written: the number of the next one.
    entries: u64,
    /// Transactions kept that wrote ledger entries.
    ledgered: u64,
    /// Every [`MARK_EVERY`]th transaction with entries: the number of its
    /// first entry, and where it is. A ledger page is read back from the
    /// first mark past it, along the links between transactions with
    /// entries (each holds at least one), so reading any page walks at
    /// most `MARK_EVERY` transactions beyond the page's own.
    marks: Vec<(u64, Loc)>,
}

/// How often a user's transactions with entries are marked (see
/// [`UserRecord::marks`]): a mark costs 16 bytes.
const MARK_EVERY: u64 = 16;

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

/// One shard of users: their records, and the journal their transactions
/// are kept in.
#[derive(Debug, Default)]
struct Shard {
    // Boxed: the table then moves 8-byte pointers when it grows, not whole
    // states.
    users: HashMap<UserKey, Box<UserRecord>, std::hash::BuildHasherDefault<PassThrough>>,
    journal: Journal,
}

/// Where a recorded activity id points: its user, and its transaction in
/// the journal of the user's shard.
#[derive(Debug, Clone, Copy)]
struct Recorded {
    user: UserId,
    at: Loc,
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
/// Activity ids are remembered for the store's lifetime, and every
/// transaction and board reset is kept (a replay reads them back), so
/// memory grows with history. What to expect, measured with the sparkle preset
/// and the engine bench's activity stream: about 145 bytes a recorded
/// activity in its shard's journal and 30 to 60 in the id index (a hash
/// table between half and seven-eighths full), and about 1.2 KB a user
/// after a first login, state and all-time XP board included.
#[derive(Debug)]
pub struct MemoryStore {
    users: Vec<Mutex<Shard>>,
    ids: Vec<Mutex<IdShard>>,
    /// Board resets, in the order kept: a few a day at most, so one lock.
    resets: Mutex<Vec<BoardReset>>,
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
            resets: Mutex::default(),
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
    let first = |recorded: Recorded| -> Result<Option<(Activity, Outcome)>, StoreError> {
        let shard = shard_of(key_of(recorded.user));
        let kept = shard.journal.get(recorded.at)?;
        if kept.id()? == Some(activity.id.0.as_str()) {
            kept.activity_and_outcome(recorded.user)
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
    if !journal.has_room() {
        return Err(StoreError::Backend("the shard's journal is full".into()).into());
    }
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
    if activity.is_none() && ledger.is_empty() {
        // An admin update that wrote no entry: nothing to keep.
        return Ok(Transacted::Applied(outcome));
    }
    let first_seq = record.entries;
    let at = journal.keep(
        key.user,
        record.links,
        first_seq,
        outcome.at,
        &ledger,
        activity.map(|a| (a, &outcome)),
    );
    record.links.newest = Some(at);
    if !ledger.is_empty() {
        record.links.newest_ledger = Some(at);
        record.entries = first_seq.saturating_add(ledger.len() as u64);
        record.ledgered += 1;
        if record.ledgered % MARK_EVERY == 0 {
            record.marks.push((first_seq, at));
        }
    }
    if let (Some((ids, hash, collision)), Some(activity)) = (id, activity) {
        let recorded = Recorded { user: key.user, at };
        if collision {
            ids.collided.insert(activity.id.clone(), recorded);
        } else {
            ids.by_hash.insert(hash, recorded);
        }
    }
    Ok(Transacted::Applied(outcome))
}

impl UserRecord {
    /// Read a word from each part of the record a step reads, so they are
    /// on their way into cache (see [`MemoryStore::transact_many`]).
    /// Returns a meaningless value.
    fn touch(&self) -> u64 {
        self.state.touch()
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
                        .map_or(0, |r| r.user.0)
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
        let end = from.saturating_add(limit as u64).min(record.entries);
        if from >= end {
            return Ok(Vec::new());
        }
        // Back from the first mark at or past the page's end (at most
        // `MARK_EVERY` transactions with entries from it), or from the
        // newest with entries, to the transaction holding entry `from`.
        let mark = record.marks.partition_point(|&(seq, _)| seq < end);
        let start = record.marks.get(mark).map(|&(_, at)| at);
        let start = start.or(record.links.newest_ledger);
        let mut page = Vec::new();
        for transaction in shard.journal.walk(start, Link::PrevLedger) {
            let transaction = transaction?;
            let first = transaction.head.first_seq;
            if first < end {
                page.push(transaction);
            }
            if first <= from {
                break;
            }
        }
        let mut entries = Vec::with_capacity(limit.min(256));
        for transaction in page.iter().rev() {
            entries.extend(
                transaction
                    .ledger(user)?
                    .into_iter()
                    .filter(|e| (from..end).contains(&e.seq)),
            );
        }
        Ok(entries)
    }

    fn ledger_len(&self, user: UserId) -> Result<u64, StoreError> {
        let key = self.user_key(user);
        let shard = self.user_shard(key);
        Ok(shard.users.get(&key).map_or(0, |r| r.entries))
    }

    fn activities(&self, user: UserId) -> Result<Vec<Activity>, StoreError> {
        let key = self.user_key(user);
        let shard = self.user_shard(key);
        let Some(record) = shard.users.get(&key) else {
            return Ok(Vec::new());
        };
        let mut activities = Vec::new();
        for transaction in shard.journal.walk(record.links.newest, Link::Prev) {
            activities.extend(transaction?.activity(user)?);
        }
        activities.reverse();
        Ok(activities)
    }

    fn keep_board_reset(&self, reset: &BoardReset) -> Result<(), StoreError> {
        lock(&self.resets).push(reset.clone());
        Ok(())
    }

    fn board_resets(&self) -> Result<Vec<BoardReset>, StoreError> {
        Ok(lock(&self.resets).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryStore;
    use super::journal::Link;
    use crate::activity::{Activity, UserId};
    use crate::ledger::{Currency, LedgerDraft, Reason};
    use crate::outcome::Outcome;
    use crate::store::{Commit, Store};

    /// Activities past a cap write no entry; a ledger page is read along the
    /// links between transactions with entries, so a long run of them is
    /// never walked through.
    #[test]
    fn ledger_pages_skip_transactions_that_wrote_no_entry() {
        let store = MemoryStore::new();
        let user = UserId(5);
        let at = chrono::DateTime::UNIX_EPOCH;
        let record = |i: u64, entries: i64| {
            let a = Activity::new(format!("z{i}"), user, "k", at);
            let ledger: Vec<_> = (0..entries)
                .map(|n| LedgerDraft {
                    currency: Currency::Xp,
                    amount: n + 1,
                    reason: Reason::Activity { kind: "k".into() },
                })
                .collect();
            let outcome = Outcome::new(user, Some(a.id.clone()), at);
            store
                .transact(user, Some(&a), &mut |_| {
                    Ok(Commit {
                        outcome: outcome.clone(),
                        ledger: ledger.clone(),
                    })
                })
                .unwrap();
        };
        record(0, 1);
        for i in 1..=2_000 {
            record(i, 0);
        }
        record(2_001, 2);
        let seqs: Vec<u64> = store
            .ledger(user, 0, 10)
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, [0, 1, 2]);
        assert_eq!(store.activities(user).unwrap().len(), 2_002);
        let key = store.user_key(user);
        let shard = store.user_shard(key);
        let links = shard.users.get(&key).unwrap().links;
        assert_eq!(
            shard
                .journal
                .walk(links.newest_ledger, Link::PrevLedger)
                .count(),
            2
        );
        assert_eq!(shard.journal.walk(links.newest, Link::Prev).count(), 2_002);
    }

    #[test]
    fn ids_whose_hashes_collide_stay_exact() {
        crate::store::conformance::check_store(|| MemoryStore {
            collide_all: true,
            ..MemoryStore::new()
        });
    }
}

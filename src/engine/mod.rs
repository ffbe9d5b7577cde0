//! The engine: the thin orchestrator a host service calls.
//!
//! For each activity it reads `now` from its [`Clock`], asks the [`Store`]
//! for one atomic read-modify-write of the user's state (recording the
//! activity id, so a repeat changes nothing), runs the pure
//! [`step`](crate::step::step) inside it, updates the in-memory boards from
//! the committed outcome, and hands the outcome to the [`EventSink`]s.

mod admin;
mod boards;
mod latest_reset;
mod replay;
mod stats;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use boards::BoardHandle;
pub use replay::{ReplayChange, ReplayReport};
pub use stats::{AchievementSummary, BoardStanding, StreakSummary, UserStats};

use crate::activity::{Activity, ActivityId, UserId};
use crate::config::Config;
use crate::name::Name;
use crate::outcome::Outcome;
use crate::sink::EventSink;
use crate::step::StepError;
use crate::store::{MemoryStore, Store, StoreError, TransactError, Transacted, Work};
use crate::time::{Clock, SystemClock};

use boards::Boards;
use latest_reset::LatestReset;

/// Why `record` (or an admin operation) changed nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The activity was refused (unknown kind, out-of-range value, …).
    #[error(transparent)]
    Refused(#[from] StepError),
    /// The activity id was recorded before with a different payload.
    #[error("activity id `{0}` was already recorded with a different payload")]
    Conflict(ActivityId),
    /// An admin operation named a board the configuration does not have.
    #[error("unknown board `{0}`")]
    UnknownBoard(Name),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<TransactError<StepError>> for RecordError {
    fn from(e: TransactError<StepError>) -> Self {
        match e {
            TransactError::Step(e) => Self::Refused(e),
            TransactError::Conflict(id) => Self::Conflict(id),
            TransactError::Store(e) => Self::Store(e),
        }
    }
}

// The pure core's refusals convert into the crate-wide error as the engine
// reports them (`Error::Record`), so a host that runs the pure step or the
// store itself can use `?` into `gamify::Result` as the engine's callers do.

impl From<StepError> for crate::Error {
    fn from(e: StepError) -> Self {
        Self::Record(RecordError::Refused(e))
    }
}

impl From<crate::xp::AwardError> for crate::Error {
    fn from(e: crate::xp::AwardError) -> Self {
        StepError::from(e).into()
    }
}

impl From<crate::achievement::AchievementError> for crate::Error {
    fn from(e: crate::achievement::AchievementError) -> Self {
        StepError::from(e).into()
    }
}

impl From<TransactError<StepError>> for crate::Error {
    fn from(e: TransactError<StepError>) -> Self {
        Self::Record(e.into())
    }
}

/// The result of recording an activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// What the activity caused (for a duplicate: what it caused the first time).
    pub outcome: Outcome,
    /// Whether this delivery was a repeat of an already recorded id, which
    /// changed nothing.
    pub duplicate: bool,
}

/// The gamification engine.
///
/// `Send + Sync`: share one engine (in an `Arc`) across a service's threads.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use gamify::activity::{Activity, UserId};
/// use gamify::config::Config;
/// use gamify::engine::Engine;
///
/// let engine = Engine::new(Config::sparkle());
/// let at = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();
/// let post = Activity::new("post-1", UserId(1), "post_created", at);
/// let first = engine.record(post.clone()).unwrap();
/// let again = engine.record(post).unwrap();
/// assert!(again.duplicate);
/// assert_eq!(again.outcome, first.outcome);
/// ```
pub struct Engine {
    config: Arc<Config>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    sinks: Vec<Arc<dyn EventSink>>,
    boards: Boards,
    order: UserOrder,
    latest_reset: LatestReset,
    sink_failures: AtomicU64,
}

/// Locks striped by user, held from a user's store transaction until its
/// outcome is on the boards, so each user's outcomes reach the boards in
/// the order they committed (records of different users still run side by
/// side, but for the rare pair that shares a stripe; a big `record_batch`
/// holds most stripes, and `MemoryStore` holds every shard for a run of
/// it, so records wait for those).
struct UserOrder(Box<[Mutex<()>]>);

impl UserOrder {
    const STRIPES: usize = 64;

    fn new() -> Self {
        Self((0..Self::STRIPES).map(|_| Mutex::new(())).collect())
    }

    fn stripe(user: UserId) -> usize {
        // The high bits of a multiplicative hash: consecutive ids spread.
        (user.0.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58) as usize % Self::STRIPES
    }

    fn lock(&self, user: UserId) -> MutexGuard<'_, ()> {
        let stripe = &self.0[Self::stripe(user)];
        stripe.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every stripe, in stripe order: for what must see no user's outcome
    /// half applied (a board reset, a rebuild of the boards).
    fn lock_every(&self) -> Vec<MutexGuard<'_, ()>> {
        self.0
            .iter()
            .map(|stripe| stripe.lock().unwrap_or_else(PoisonError::into_inner))
            .collect()
    }

    /// Every stripe of `users`, taken in stripe order (so two batches
    /// cannot deadlock).
    fn lock_all(&self, users: impl Iterator<Item = UserId>) -> Vec<MutexGuard<'_, ()>> {
        let mut stripes: Vec<usize> = users.map(Self::stripe).collect();
        stripes.sort_unstable();
        stripes.dedup();
        stripes
            .into_iter()
            .map(|i| self.0[i].lock().unwrap_or_else(PoisonError::into_inner))
            .collect()
    }
}

/// One work item per activity, for [`Store::transact_many`].
fn work_of(activities: &[Activity]) -> Vec<Work<'_>> {
    activities
        .iter()
        .map(|a| Work {
            user: a.user,
            activity: Some(a),
        })
        .collect()
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("sinks", &self.sinks.len())
            .field("boards", &self.boards.len())
            .finish_non_exhaustive()
    }
}

/// Builds an [`Engine`] from a configuration and its plug-ins.
pub struct EngineBuilder {
    config: Config,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    sinks: Vec<Arc<dyn EventSink>>,
}

impl std::fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("sinks", &self.sinks.len())
            .field("boards", &self.config.boards.len())
            .finish_non_exhaustive()
    }
}

impl EngineBuilder {
    /// Keep state in `store` (default: a new [`MemoryStore`]).
    #[must_use]
    pub fn store(mut self, store: impl Store + 'static) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// Keep state in a store shared with others (another engine, a reader).
    #[must_use]
    pub fn shared_store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = store;
        self
    }

    /// Read `now` from `clock` (default: [`SystemClock`]).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Deliver outcomes to `sink` as well (sinks run in the order added).
    #[must_use]
    pub fn sink(mut self, sink: impl EventSink + 'static) -> Self {
        self.sinks.push(Arc::new(sink));
        self
    }

    /// Build the engine, loading the boards from what the store holds.
    pub fn build(self) -> Result<Engine, StoreError> {
        let boards = Boards::new(&self.config);
        let engine = Engine {
            config: Arc::new(self.config),
            store: self.store,
            clock: self.clock,
            sinks: self.sinks,
            boards,
            order: UserOrder::new(),
            latest_reset: LatestReset::new(),
            sink_failures: AtomicU64::new(0),
        };
        engine.rebuild_boards()?;
        // Not shared yet: no stripe needs holding.
        for reset in engine.store.board_resets()? {
            engine.latest_reset.set(reset.at);
        }
        Ok(engine)
    }
}

impl Engine {
    /// An engine on a new [`MemoryStore`] and the [`SystemClock`], no sinks.
    pub fn new(config: Config) -> Self {
        let boards = Boards::new(&config);
        Self {
            config: Arc::new(config),
            store: Arc::new(MemoryStore::new()),
            clock: Arc::new(SystemClock),
            sinks: Vec::new(),
            boards,
            order: UserOrder::new(),
            latest_reset: LatestReset::new(),
            sink_failures: AtomicU64::new(0),
        }
    }

    /// Start building an engine with its own store, clock or sinks.
    pub fn builder(config: Config) -> EngineBuilder {
        EngineBuilder {
            config,
            store: Arc::new(MemoryStore::new()),
            clock: Arc::new(SystemClock),
            sinks: Vec::new(),
        }
    }

    /// The configuration the engine runs.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The store the engine writes to.
    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// The current instant, from the engine's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// How many sink deliveries have failed since the engine started.
    pub fn sink_failures(&self) -> u64 {
        self.sink_failures.load(Ordering::Relaxed)
    }

    /// Record one activity: exactly once per activity id.
    ///
    /// A new id is applied atomically and its outcome returned (and delivered
    /// to the sinks). A repeat of a recorded id with the same payload returns
    /// the first outcome with `duplicate: true` and changes nothing; with a
    /// different payload it is [`RecordError::Conflict`]. A refused activity
    /// changes nothing (and its id stays free). Ids are remembered for as
    /// long as the store keeps them: `MemoryStore` for its lifetime,
    /// `SqliteStore` for good.
    ///
    /// An activity stamped after `now` (by clock skew, within
    /// [`Config::future_tolerance_secs`](crate::config::Config::future_tolerance_secs))
    /// counts in the board windows of `now`: the engine notes that `now`
    /// with it ([`Activity::recorded_at`]), so a [replay](Self::replay)
    /// counts it there again. So it does for an activity dated at or before
    /// a [board reset](Self::reset_board) made before it, so a replay puts
    /// it after the reset. Nothing is noted of any other activity.
    ///
    /// `now` is read once the user's records are in order (after a board
    /// reset the activity waited for), and is never at or before the time
    /// of the latest board reset: a clock that has not moved since one is
    /// taken to be a nanosecond past it, so a replay can tell what came
    /// after the reset.
    pub fn record(&self, mut activity: Activity) -> Result<Recorded, RecordError> {
        let config = &*self.config;
        let result = {
            let _order = self.order.lock(activity.user);
            let now = self.recording_now();
            activity.recorded_at = self.recorded_at(&activity, now);
            let result = self
                .store
                .transact(activity.user, Some(&activity), &mut |state| {
                    crate::step::step(config, state, &activity, now)
                });
            self.apply_boards(&result, now);
            result
        };
        self.finish(result)
    }

    /// Record many activities, in order, as one unit of durability where the
    /// store has one (one transaction for the batch in SQLite). Each activity
    /// still succeeds or fails on its own; the results come back in order.
    pub fn record_batch(
        &self,
        activities: &[Activity],
    ) -> Result<Vec<Result<Recorded, RecordError>>, StoreError> {
        let config = &*self.config;
        let work = work_of(activities);
        let results = {
            let _order = self.order.lock_all(activities.iter().map(|a| a.user));
            let now = self.recording_now();
            // Noted copies only where a note differs from what the host
            // sent (rarely): the batch as sent otherwise, copying nothing.
            let (noted, noted_work): (Vec<Activity>, Vec<Work<'_>>);
            let (activities, work) = if activities
                .iter()
                .all(|a| a.recorded_at == self.recorded_at(a, now))
            {
                (activities, &work[..])
            } else {
                noted = activities
                    .iter()
                    .map(|a| Activity {
                        recorded_at: self.recorded_at(a, now),
                        ..a.clone()
                    })
                    .collect();
                noted_work = work_of(&noted);
                (&noted[..], &noted_work[..])
            };
            let results = self.store.transact_many(work, &mut |i, state| {
                // `transact_many` calls back with indices of `work`, which has
                // one entry per activity.
                match activities.get(i) {
                    Some(activity) => crate::step::step(config, state, activity, now),
                    None => Err(StepError::Internal("batch index out of range".into())),
                }
            })?;
            let applied: Vec<&Outcome> = results
                .iter()
                .filter_map(|r| match r {
                    Ok(Transacted::Applied(outcome)) => Some(outcome),
                    _ => None,
                })
                .collect();
            self.boards.apply_all(&applied, now);
            results
        };
        Ok(results.into_iter().map(|r| self.finish(r)).collect())
    }

    /// The time the engine records at: the clock's, read under the order
    /// stripes of the users recorded, so whatever waited for a board reset
    /// reads it after the reset did; and after the latest reset's time,
    /// even if the clock has not moved since (see [`LatestReset::after`]).
    fn recording_now(&self) -> DateTime<Utc> {
        self.latest_reset.after(self.clock.now())
    }

    /// What the engine notes of `activity`, recorded at `now`, for a replay
    /// ([`Activity::recorded_at`]): `now`, where the activity's own time
    /// does not tell it; nothing for an activity reported as it happens, so
    /// what the store keeps of it does not grow. Called holding the
    /// activity's user's order stripe.
    ///
    /// - Stamped after `now`: it counts in the board windows of `now`, not
    ///   of its own time, and a replay steps it at `now` again.
    /// - Dated at or before the latest board reset: it was recorded after
    ///   the reset, which a replay could not tell from its date.
    fn recorded_at(&self, activity: &Activity, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let noted = activity.at > now || self.latest_reset.not_after(activity.at).is_some();
        noted.then_some(now)
    }

    /// Put a committed outcome on the boards. Called under the user's
    /// [`UserOrder`] lock, held since before the store transaction: an
    /// all-time board is set to the total the outcome reports, which does
    /// not commute, so two records of one user must reach the boards in
    /// the order they committed.
    ///
    /// `now` is the time the step ran at: the boards roll their windows to
    /// the same instant the outcome was computed at (and a clock read is
    /// saved).
    fn apply_boards(&self, result: &crate::store::TransactResult, now: DateTime<Utc>) {
        if let Ok(Transacted::Applied(outcome)) = result {
            self.boards.apply(outcome, now);
        }
    }

    /// After a committed transaction (and its boards): the sinks.
    fn finish(&self, result: crate::store::TransactResult) -> Result<Recorded, RecordError> {
        match result? {
            Transacted::Applied(outcome) => {
                self.deliver(&outcome);
                Ok(Recorded {
                    outcome,
                    duplicate: false,
                })
            }
            Transacted::Duplicate(outcome) => Ok(Recorded {
                outcome,
                duplicate: true,
            }),
        }
    }

    /// Hand an outcome to every sink; a failing or panicking sink loses only
    /// its own delivery.
    fn deliver(&self, outcome: &Outcome) {
        for sink in &self.sinks {
            let delivered =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink.deliver(outcome)));
            if !matches!(delivered, Ok(Ok(()))) {
                self.sink_failures.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A board by id, for queries; `None` if the configuration has no
    /// board `id` ([`board_ids`](Self::board_ids) lists those it has).
    /// The handle holds the board's read lock: drop it before calling the
    /// engine again on this thread (see [`BoardHandle`]).
    pub fn board(&self, id: &str) -> Option<BoardHandle<'_>> {
        self.boards.handle(id, self.clock.now())
    }

    /// The ids of the configured boards, in configuration order.
    pub fn board_ids(&self) -> Vec<Name> {
        self.boards.ids()
    }

    /// Rebuild every board from the store (used on start; boards are derived).
    fn rebuild_boards(&self) -> Result<(), StoreError> {
        self.load_boards(&self.boards)
    }

    /// Load `boards` (empty, of this configuration) from the store.
    fn load_boards(&self, boards: &Boards) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut ordinal = boards::OrdinalEntries::default();
        for user in self.store.users()? {
            if let Some(state) = self.store.load(user)? {
                boards.load_user(user, &state, now, &mut ordinal);
            }
        }
        boards.load_ordinal(ordinal, now);
        Ok(())
    }
}

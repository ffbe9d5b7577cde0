//! Persistence behind one small, object-safe, synchronous trait.
//!
//! The heart of [`Store`] is [`transact`](Store::transact): one atomic
//! read-modify-write of a user's state that, in the same step, records the
//! activity id (so a repeat is recognised) and appends the ledger entries.
//! Besides it, a store keeps one record of each board reset
//! ([`keep_board_reset`](Store::keep_board_reset)); everything else is
//! reads. [`MemoryStore`] is the reference implementation;
//! every store runs the shared conformance suite
//! (`conformance`, behind the `conformance` feature).

mod codec;
mod memory;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

pub use memory::MemoryStore;
#[cfg(feature = "sqlite")]
pub use sqlite::{SCHEMA_VERSION, SqliteStore, Synchronous};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::activity::{Activity, UserId};
use crate::ledger::{LedgerDraft, LedgerEntry};
use crate::name::Name;
use crate::outcome::Outcome;
use crate::state::UserState;

/// A failure of the storage backend itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend failed (IO, a database error); the source says how.
    #[error("storage backend failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The stored data is not what this version of gamify can read.
    #[error("stored data is corrupt or incompatible: {0}")]
    Corrupt(String),
    /// The store does not implement an operation the call needs (the text
    /// names it); nothing changed. See [`Store::keep_board_reset`].
    #[error("the store does not support {0}")]
    Unsupported(&'static str),
}

/// A board reset as a store keeps it: one record, whatever the number of
/// users, made by [`Engine::reset_board`](crate::engine::Engine::reset_board).
///
/// The reset closed the board's current window for every user, and a
/// replay applies it to every user at its place in their history (see
/// [`Engine::replay`](crate::engine::Engine::replay)): also to one who had
/// nothing on the board when it was made, and so no ledger entry of it,
/// but who does under the configuration replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardReset {
    /// The board whose window was closed.
    pub board: Name,
    /// The engine's `now` when it was made (the time of the `BoardReset`
    /// ledger entries it wrote).
    pub at: DateTime<Utc>,
}

/// What a [`Store::transact`] step produced: the outcome to return and the
/// ledger entries to append, in the same atomic step as the new state.
#[derive(Debug, Clone, PartialEq)]
pub struct Commit {
    /// What happened, as returned to the caller and the sinks.
    pub outcome: Outcome,
    /// The XP and points changes, in order.
    pub ledger: Vec<LedgerDraft>,
}

/// How a [`Store::transact`] call ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Transacted {
    /// The step ran and its result was committed.
    Applied(Outcome),
    /// The activity id was already recorded with the same payload: nothing
    /// ran and nothing changed; this is the first recording's outcome.
    Duplicate(Outcome),
}

/// Why a [`Store::transact`] call changed nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransactError<E> {
    /// The step refused (an invalid activity); its error.
    #[error(transparent)]
    Step(E),
    /// The activity id was recorded before with a different payload.
    #[error("activity id `{0}` was already recorded with a different payload")]
    Conflict(crate::activity::ActivityId),
    /// The backend failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The state transition a store runs inside its atomic step.
///
/// It must either return `Err` without having modified the state, or `Ok`
/// with the state updated; stores rely on this and need not copy the state
/// first.
pub type Step<'a, E> = dyn FnMut(&mut UserState) -> Result<Commit, E> + 'a;

/// One unit of work of [`Store::transact_many`]: a user and, optionally,
/// the activity whose id is recorded with it.
#[derive(Debug, Clone, Copy)]
pub struct Work<'a> {
    /// Whose state the step changes.
    pub user: UserId,
    /// The activity recorded with it, if any.
    pub activity: Option<&'a Activity>,
}

/// The step of [`Store::transact_many`]: called with the index of the work
/// item and the user's state, under the same contract as [`Step`].
pub type IndexedStep<'a, E> = dyn FnMut(usize, &mut UserState) -> Result<Commit, E> + 'a;

/// The result of one [`Work`] item.
pub type TransactResult = Result<Transacted, TransactError<crate::step::StepError>>;

/// Where users' states, ledgers and recorded activities live.
///
/// Object-safe and `Send + Sync`: the engine holds an `Arc<dyn Store>` and
/// calls it from many threads.
pub trait Store: Send + Sync {
    /// Atomically apply `step` to `user`'s state (a default state if the user
    /// is new) and append the ledger entries it returns.
    ///
    /// With an `activity`, its id is recorded in the same step. If the id is
    /// already recorded, `step` does not run: an identical payload gives
    /// [`Transacted::Duplicate`] with the first outcome, a different one
    /// [`TransactError::Conflict`]. On any error nothing changes.
    ///
    /// The activity is kept as `user`'s: it should name `user` (the engine
    /// always passes `activity.user`). One that names another user is read
    /// back as `user`'s, so its repeat is a conflict, in every store here.
    /// It is kept whole, [`Activity::recorded_at`] included (a replay reads
    /// it back), and a repeat is told by `==`, which leaves that field out.
    fn transact(
        &self,
        user: UserId,
        activity: Option<&Activity>,
        step: &mut Step<'_, crate::step::StepError>,
    ) -> TransactResult;

    /// [`transact`](Self::transact) each work item in order, as one unit of
    /// durability where the backend has one (SQLite commits the whole batch
    /// with one fsync). Each item is still atomic on its own: a refused
    /// step or a duplicate affects only its item. If the batch as a whole
    /// cannot be committed the result is `Err` and nothing of it is stored.
    ///
    /// The default runs `transact` once per item.
    fn transact_many(
        &self,
        work: &[Work<'_>],
        step: &mut IndexedStep<'_, crate::step::StepError>,
    ) -> Result<Vec<TransactResult>, StoreError> {
        Ok(work
            .iter()
            .enumerate()
            .map(|(i, w)| self.transact(w.user, w.activity, &mut |state| step(i, state)))
            .collect())
    }

    /// A user's state, if the user has any.
    fn load(&self, user: UserId) -> Result<Option<UserState>, StoreError>;

    /// Every user with a state, in ascending id order.
    fn users(&self) -> Result<Vec<UserId>, StoreError>;

    /// Up to `limit` ledger entries of `user`, starting at entry `from`
    /// (entries are numbered from 0 in the order they were written).
    fn ledger(&self, user: UserId, from: u64, limit: usize)
    -> Result<Vec<LedgerEntry>, StoreError>;

    /// How many ledger entries `user` has.
    ///
    /// The default pages through [`ledger`](Self::ledger); stores that
    /// know the count should say so.
    fn ledger_len(&self, user: UserId) -> Result<u64, StoreError> {
        const PAGE: usize = 1024;
        let mut count = 0u64;
        loop {
            let page = self.ledger(user, count, PAGE)?.len();
            count += page as u64;
            if page < PAGE {
                return Ok(count);
            }
        }
    }

    /// The activities recorded for `user`, in the order they were recorded
    /// (the input of a replay), each as [`transact`](Self::transact) was
    /// given it, [`Activity::recorded_at`] included.
    fn activities(&self, user: UserId) -> Result<Vec<Activity>, StoreError>;

    /// Keep `reset` durably, after every reset kept before it. It is the
    /// one record of a board reset that a replay applies to every user (the
    /// engine writes a `BoardReset` ledger entry only for the users with a
    /// gain on the board, which explains the reset in their ledger). It
    /// creates no user.
    ///
    /// The default refuses with [`StoreError::Unsupported`]: a store that
    /// implements neither this nor [`board_resets`](Self::board_resets)
    /// cannot have its boards reset ([`Engine::reset_board`] refuses and
    /// changes nothing), rather than reset them in a way that a replay
    /// under another configuration would half undo. Everything else works
    /// without them. A store implements both or neither.
    ///
    /// [`Engine::reset_board`]: crate::engine::Engine::reset_board
    fn keep_board_reset(&self, reset: &BoardReset) -> Result<(), StoreError> {
        let _ = reset;
        Err(StoreError::Unsupported("keeping board resets"))
    }

    /// Every board reset kept, in the order kept.
    ///
    /// The default returns none: true of a store that keeps none, as one
    /// whose [`keep_board_reset`](Self::keep_board_reset) is the default.
    /// Resets made by versions of gamify from before resets were kept left
    /// only their ledger entries, which a replay still reads.
    fn board_resets(&self) -> Result<Vec<BoardReset>, StoreError> {
        Ok(Vec::new())
    }
}

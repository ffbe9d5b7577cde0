//! Persistence behind one small, object-safe, synchronous trait.
//!
//! The heart of [`Store`] is [`transact`](Store::transact): one atomic
//! read-modify-write of a user's state that, in the same step, records the
//! activity id (so a repeat is recognised) and appends the ledger entries.
//! Everything else is reads. [`MemoryStore`] is the reference implementation;
//! every store runs the shared conformance suite
//! ([`conformance`], behind the `conformance` feature).

mod memory;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

pub use memory::MemoryStore;

use crate::activity::{Activity, UserId};
use crate::ledger::{LedgerDraft, LedgerEntry};
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

/// Called after a successful commit, still inside the user's critical
/// section, with the committed state and outcome (the engine updates its
/// in-memory boards here, so boards and states agree per user).
pub type AfterCommit<'a> = dyn FnMut(&UserState, &Outcome) + 'a;

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
    fn transact(
        &self,
        user: UserId,
        activity: Option<&Activity>,
        step: &mut Step<'_, crate::step::StepError>,
        after_commit: &mut AfterCommit<'_>,
    ) -> Result<Transacted, TransactError<crate::step::StepError>>;

    /// A user's state, if the user has any.
    fn load(&self, user: UserId) -> Result<Option<UserState>, StoreError>;

    /// Every user with a state, in ascending id order.
    fn users(&self) -> Result<Vec<UserId>, StoreError>;

    /// Up to `limit` ledger entries of `user`, starting at entry `from`
    /// (entries are numbered from 0 in the order they were written).
    fn ledger(&self, user: UserId, from: u64, limit: usize)
    -> Result<Vec<LedgerEntry>, StoreError>;

    /// The activities recorded for `user`, in the order they were recorded
    /// (the input of a replay).
    fn activities(&self, user: UserId) -> Result<Vec<Activity>, StoreError>;
}

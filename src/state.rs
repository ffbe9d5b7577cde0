//! A user's whole game state: balances, level, metrics, and the state each
//! rule keeps.

use serde::{Deserialize, Serialize};

use crate::activity::Metrics;

/// Everything the engine keeps for one user, as one value the store reads
/// and writes atomically.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserState {
    /// XP balance (the sum of the user's XP ledger entries).
    pub xp: u64,
    /// Points balance (the sum of the user's points ledger entries).
    pub points: u64,
    /// Lifetime metric counters.
    pub metrics: Metrics,
}

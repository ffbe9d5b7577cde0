//! The ledger: the append-only record of every XP and points change.
//!
//! Each entry says how much, of which currency, why, and which activity (if
//! any) caused it. Balances are derived data: a user's XP and points always
//! equal the sum of their entries, and corrections are new entries, never
//! edits of old ones.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::activity::{ActivityId, UserId};
use crate::name::Name;

/// What a ledger entry counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Currency {
    /// Experience points, which drive levels.
    Xp,
    /// Spendable points (the seed's "sparkle points").
    Points,
}

impl std::fmt::Display for Currency {
    /// `XP` or `points`, as a message to a person names them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Xp => "XP",
            Self::Points => "points",
        })
    }
}

/// Why a ledger entry was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reason {
    /// The XP or points rule of an activity kind.
    Activity {
        /// The activity kind.
        kind: Name,
    },
    /// The bonus for levels gained.
    LevelUp {
        /// The level before.
        from: u32,
        /// The level after.
        to: u32,
    },
    /// A login-streak bonus.
    Streak {
        /// Streak length in days.
        days: u32,
    },
    /// A quest's reward.
    Quest {
        /// The quest id.
        quest: Name,
    },
    /// An achievement's reward (or, negative, its revocation).
    Achievement {
        /// The achievement id.
        achievement: Name,
    },
    /// A manual correction by an operator.
    Adjustment {
        /// The operator's reason.
        note: String,
    },
    /// A correction written by a replay under a changed configuration.
    Replay,
    /// An operator revoked an achievement (amount 0: what it paid stays
    /// paid; the entry records the act).
    Revoked {
        /// The achievement id.
        achievement: Name,
    },
    /// An operator reset the current window of a board (amount 0: the
    /// entry records the act in each affected user's history).
    BoardReset {
        /// The board id.
        board: String,
    },
    /// An operator granted an achievement (amount 0: the entry records the
    /// act, so a replay grants it at the same point; what the grant pays
    /// follows as `Achievement` and `LevelUp` entries).
    Granted {
        /// The achievement id.
        achievement: Name,
    },
    /// An operator set the user's time zone (amount 0: the entry records
    /// the act, so a replay counts the days of the activities before it in
    /// the zone they were recorded in).
    TimeZoneChanged {
        /// The new time zone.
        time_zone: crate::time::Tz,
    },
}

/// One change of a user's XP or points balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Position in the user's ledger, from 0, assigned by the store.
    pub seq: u64,
    /// Whose balance changed.
    pub user: UserId,
    /// When (the activity's time, or the engine's `now` for admin entries).
    pub at: DateTime<Utc>,
    /// The activity that caused it, if any.
    pub activity: Option<ActivityId>,
    /// XP or points.
    pub currency: Currency,
    /// The signed change.
    pub amount: i64,
    /// Why.
    pub reason: Reason,
}

/// A ledger entry before the store numbers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerDraft {
    /// XP or points.
    pub currency: Currency,
    /// The signed change.
    pub amount: i64,
    /// Why.
    pub reason: Reason,
}

impl LedgerDraft {
    /// Number the draft as entry `seq` of `user`'s ledger.
    pub fn into_entry(
        self,
        seq: u64,
        user: UserId,
        at: DateTime<Utc>,
        activity: Option<ActivityId>,
    ) -> LedgerEntry {
        LedgerEntry {
            seq,
            user,
            at,
            activity,
            currency: self.currency,
            amount: self.amount,
            reason: self.reason,
        }
    }
}

/// Sum a user's entries of one currency, as the balance they imply.
///
/// Saturates at the ends of `i128` (unreachable with `i64` amounts in
/// practice, but never wraps).
pub fn balance<'a>(entries: impl IntoIterator<Item = &'a LedgerEntry>, currency: Currency) -> i128 {
    entries
        .into_iter()
        .filter(|e| e.currency == currency)
        .fold(0i128, |sum, e| sum.saturating_add(i128::from(e.amount)))
}

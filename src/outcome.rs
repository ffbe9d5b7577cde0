//! What one activity (or admin operation) caused: an [`Outcome`] holding its
//! [`Event`]s in order.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::activity::{ActivityId, UserId};
use crate::ledger::Currency;

/// Everything one recorded activity or admin operation caused, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Whose state changed.
    pub user: UserId,
    /// The activity recorded, or `None` for an admin operation.
    pub activity: Option<ActivityId>,
    /// The activity's time, or the engine's `now` for admin operations.
    pub at: DateTime<Utc>,
    /// What happened, in order.
    pub events: Vec<Event>,
}

/// One thing that happened to a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A manual XP or points correction.
    Adjusted {
        /// XP or points.
        currency: Currency,
        /// The signed change.
        amount: i64,
        /// The operator's reason.
        note: String,
    },
}

impl Outcome {
    /// An outcome with no events yet.
    pub fn new(user: UserId, activity: Option<ActivityId>, at: DateTime<Utc>) -> Self {
        Self {
            user,
            activity,
            at,
            events: Vec::new(),
        }
    }
}

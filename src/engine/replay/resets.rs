//! The board resets a store keeps, walked beside one user's history by a
//! replay: where each falls among the user's activities and operations.
//!
//! The store keeps one record of every reset; the user's ledger has an
//! entry of those that found a gain of theirs to clear. A reset with an
//! entry is applied at the entry, its exact place. One without is placed
//! by time, before the first activity or operation recorded after it (the
//! rule, and why it is the order the engine saw, is on `Engine::replay`).

use chrono::{DateTime, Utc};

use crate::activity::UserId;
use crate::ledger::{LedgerEntry, Reason};
use crate::state::UserState;
use crate::store::BoardReset;

use super::super::admin;

/// The kept resets, as far as one user's walk has got.
pub(super) struct Resets<'a> {
    /// Every kept reset, in time order.
    kept: &'a [BoardReset],
    /// Which of them the user's ledger has an entry of.
    entered: Vec<bool>,
    /// The first one the walk has not passed.
    next: usize,
}

impl<'a> Resets<'a> {
    /// The resets `kept` (in time order) for a user whose ledger is
    /// `ledger`: each `BoardReset` entry is the record of the same board
    /// and time (the first not already matched, should two share both).
    pub(super) fn new(kept: &'a [BoardReset], ledger: &[LedgerEntry]) -> Self {
        let mut entered = vec![false; kept.len()];
        for entry in ledger {
            let (Reason::BoardReset { board }, None) = (&entry.reason, &entry.activity) else {
                continue;
            };
            let from = kept.partition_point(|r| r.at < entry.at);
            let same = (from..kept.len())
                .take_while(|&i| kept[i].at == entry.at)
                .find(|&i| !entered[i] && kept[i].board == board.as_str());
            if let Some(i) = same {
                entered[i] = true;
            }
        }
        Self {
            kept,
            entered,
            next: 0,
        }
    }

    /// Apply to `state` the resets without an entry that were made before
    /// something recorded at `recorded` (an activity's noted `now` or own
    /// time, an operation's time): those made before that time. What was
    /// recorded at a reset's very time came before it (see `Engine::replay`).
    pub(super) fn before(&mut self, user: UserId, state: &mut UserState, recorded: DateTime<Utc>) {
        self.apply_while(user, state, |at| at < recorded);
    }

    /// Apply to `state` every reset without an entry that is left: they
    /// came after everything the user did.
    pub(super) fn rest(&mut self, user: UserId, state: &mut UserState) {
        self.apply_while(user, state, |_| true);
    }

    /// Apply, in order, the resets without an entry while `first` says one
    /// came first (passing those with an entry: the walk applies them).
    fn apply_while(
        &mut self,
        user: UserId,
        state: &mut UserState,
        first: impl Fn(DateTime<Utc>) -> bool,
    ) {
        while let Some(reset) = self.kept.get(self.next) {
            if !self.entered[self.next] {
                if !first(reset.at) {
                    return;
                }
                admin::reset_window(user, state, &reset.board, reset.at);
            }
            self.next += 1;
        }
    }
}

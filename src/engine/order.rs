//! [`UserOrder`]: the locks that keep each user's records, operations and
//! board resets in one order, and the times the engine records them at, so
//! a replay can tell that order again from times alone.
//!
//! A replay walks a user's ledger, which orders the activities that wrote
//! an entry and the admin operations exactly. What it cannot order by the
//! ledger (an activity that wrote nothing, a board reset that found no gain
//! of the user's) it places by time: what was recorded at or before an
//! operation's or a reset's time came before it (see `Engine::replay`). The
//! times here make that rule true of the order the engine saw:
//! - an activity recorded after an operation or a reset is recorded at a
//!   later time, a nanosecond later if the clock has not moved (or went
//!   back);
//! - an operation is never dated before what came before it on its user's
//!   stripe, and always after the latest reset;
//! - a reset is never dated before anything already recorded;
//! - an activity dated at or before the latest operation or reset on its
//!   stripe (reported late) is noted with the time it was recorded at
//!   ([`Activity::recorded_at`](crate::activity::Activity::recorded_at)),
//!   since its own date would put it before.
//!
//! Each stripe remembers its latest times under its own lock: no atomics,
//! nothing shared between stripes on the recording path.

use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};

use crate::activity::{Activity, UserId};

/// Locks striped by user, held from a user's store transaction until its
/// outcome is on the boards, so each user's outcomes reach the boards in
/// the order they committed (records of different users still run side by
/// side, but for the rare pair that shares a stripe; a big `record_batch`
/// holds most stripes, and `MemoryStore` holds every shard for a run of
/// it, so records wait for those).
pub(super) struct UserOrder(Box<[Mutex<Times>]>);

/// What one stripe remembers of the times its users' changes were recorded
/// at (see the module docs). `None`: nothing yet.
#[derive(Debug, Default)]
pub(super) struct Times {
    /// The latest time anything was recorded at.
    latest: Option<DateTime<Utc>>,
    /// The latest time an admin operation or a board reset was made at.
    latest_operation: Option<DateTime<Utc>>,
    /// The latest time a board reset was made at.
    latest_reset: Option<DateTime<Utc>>,
}

/// The stripe locks a caller holds.
pub(super) type Held<'a> = MutexGuard<'a, Times>;

impl UserOrder {
    const STRIPES: usize = 64;

    pub(super) fn new() -> Self {
        Self((0..Self::STRIPES).map(|_| Mutex::default()).collect())
    }

    fn stripe(user: UserId) -> usize {
        // The high bits of a multiplicative hash: consecutive ids spread.
        (user.0.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58) as usize % Self::STRIPES
    }

    /// `user`'s stripe.
    pub(super) fn lock(&self, user: UserId) -> Held<'_> {
        let stripe = &self.0[Self::stripe(user)];
        stripe.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every stripe, in stripe order: for what must see no user's outcome
    /// half applied (a board reset, a rebuild of the boards).
    pub(super) fn lock_every(&self) -> Vec<Held<'_>> {
        self.0
            .iter()
            .map(|stripe| stripe.lock().unwrap_or_else(PoisonError::into_inner))
            .collect()
    }

    /// Every stripe of `users`, taken in stripe order (so two batches
    /// cannot deadlock).
    pub(super) fn lock_all(&self, users: impl Iterator<Item = UserId>) -> Vec<Held<'_>> {
        let mut stripes: Vec<usize> = users.map(Self::stripe).collect();
        stripes.sort_unstable();
        stripes.dedup();
        stripes
            .into_iter()
            .map(|i| self.0[i].lock().unwrap_or_else(PoisonError::into_inner))
            .collect()
    }
}

/// A nanosecond after `t` (or `t` itself at the end of time).
fn just_after(t: DateTime<Utc>) -> DateTime<Utc> {
    t.checked_add_signed(TimeDelta::nanoseconds(1)).unwrap_or(t)
}

impl Times {
    /// The time to record activities at on these stripes, the clock
    /// reading `clock`: after the latest operation or reset on any of them.
    pub(super) fn activity_now(held: &[Held<'_>], clock: DateTime<Utc>) -> DateTime<Utc> {
        held.iter()
            .filter_map(|t| t.latest_operation)
            .max()
            .map_or(clock, |op| clock.max(just_after(op)))
    }

    /// What the engine notes of `activity`, recorded at `now` on these
    /// stripes ([`Activity::recorded_at`]): `now`, where the activity's own
    /// time does not tell it; nothing for an activity reported as it
    /// happens, so what the store keeps of it does not grow.
    ///
    /// - Stamped after `now`: it counts in the board windows of `now`, not
    ///   of its own time, and a replay steps it at `now` again.
    /// - Dated at or before the latest operation or reset on the stripes: it
    ///   was recorded after them, which a replay could not tell from its
    ///   date. (In a batch that is the latest on any stripe the batch holds:
    ///   a note more than needed places an activity as exactly.)
    pub(super) fn noted(
        held: &[Held<'_>],
        activity: &Activity,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let late = held
            .iter()
            .filter_map(|t| t.latest_operation)
            .any(|op| activity.at <= op);
        (activity.at > now || late).then_some(now)
    }

    /// Activities were recorded at `now` on these stripes.
    pub(super) fn recorded(held: &mut [Held<'_>], now: DateTime<Utc>) {
        for t in held {
            t.latest = t.latest.max(Some(now));
        }
    }

    /// The time to make an admin operation at on this stripe: never before
    /// what was recorded on it, and after the latest reset.
    pub(super) fn operation_now(&self, clock: DateTime<Utc>) -> DateTime<Utc> {
        let after_reset = self
            .latest_reset
            .map_or(clock, |r| clock.max(just_after(r)));
        after_reset.max(self.latest.unwrap_or(after_reset))
    }

    /// An admin operation was made at `now` on this stripe.
    pub(super) fn operated(&mut self, now: DateTime<Utc>) {
        self.latest = self.latest.max(Some(now));
        self.latest_operation = self.latest_operation.max(Some(now));
    }

    /// The time to reset a board at, holding every stripe: never before
    /// anything recorded on any of them.
    pub(super) fn reset_now(every: &[Held<'_>], clock: DateTime<Utc>) -> DateTime<Utc> {
        every
            .iter()
            .filter_map(|t| t.latest)
            .fold(clock, DateTime::max)
    }

    /// A board reset was made at `at`, holding every stripe (or before the
    /// engine is shared, for the resets its store kept).
    pub(super) fn reset(every: &mut [Held<'_>], at: DateTime<Utc>) {
        for t in every {
            t.operated(at);
            t.latest_reset = t.latest_reset.max(Some(at));
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone, Utc};

    use super::{Times, UserOrder};
    use crate::activity::{Activity, UserId};

    #[test]
    fn what_comes_after_an_operation_or_a_reset_is_recorded_after_its_time() {
        let t = Utc.with_ymd_and_hms(2026, 5, 4, 12, 0, 0).unwrap();
        let ns = TimeDelta::nanoseconds;
        let order = UserOrder::new();
        let user = UserId(7);
        {
            // Nothing yet: the clock's time, and nothing is noted.
            let mut held = [order.lock(user)];
            assert_eq!(Times::activity_now(&held, t), t);
            let a = Activity::new("a", user, "post_created", t - ns(5));
            assert_eq!(Times::noted(&held, &a, t), None);
            Times::recorded(&mut held, t);
            // An operation at a clock that has not moved: not before the
            // activity (a tie puts the activity first).
            let [stripe] = &mut held;
            assert_eq!(stripe.operation_now(t - ns(3)), t);
            stripe.operated(t);
        }
        let mut held = [order.lock(user)];
        // After it: a nanosecond later, and an activity dated at or before
        // it is noted with when it was recorded.
        let now = Times::activity_now(&held, t);
        assert_eq!(now, t + ns(1));
        let late = Activity::new("b", user, "post_created", t);
        assert_eq!(Times::noted(&held, &late, now), Some(now));
        let ahead = Activity::new("c", user, "post_created", now + ns(2));
        assert_eq!(Times::noted(&held, &ahead, now), Some(now));
        let on_time = Activity::new("d", user, "post_created", now);
        assert_eq!(Times::noted(&held, &on_time, now), None);
        Times::recorded(&mut held, now);
        drop(held);

        // A reset is not before anything recorded, and an operation after
        // it is after it.
        let mut every = order.lock_every();
        let at = Times::reset_now(&every, t - TimeDelta::hours(1));
        assert_eq!(at, t + ns(1));
        Times::reset(&mut every, at);
        assert_eq!(every[0].operation_now(t), t + ns(2));
        assert_eq!(Times::activity_now(&every[..1], t), t + ns(2));
    }
}

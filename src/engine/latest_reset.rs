//! [`LatestReset`]: the time of the latest board reset, which the engine
//! records after and notes late activities by.

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

/// The time of the latest board reset the engine knows of: made by it, or
/// kept by the store when it was built. Whatever the engine records after
/// a reset it records after that time ([`after`](Self::after)), and an
/// activity recorded after it but dated at or before it is noted
/// ([`Activity::recorded_at`](crate::activity::Activity::recorded_at)):
/// so a replay can tell, by time alone, what came before a reset from
/// what came after.
///
/// Written only under every order stripe (by `reset_board`, or before the
/// engine is shared) and read under a stripe, so the two halves are always
/// read as written, and what waited for a reset sees it: plain atomics, no
/// lock, on every record.
pub(super) struct LatestReset {
    /// Whole seconds since the epoch; `i64::MIN` for none.
    secs: AtomicI64,
    /// Nanoseconds past them.
    nanos: AtomicU32,
}

impl LatestReset {
    /// None yet.
    pub(super) fn new() -> Self {
        Self {
            secs: AtomicI64::new(i64::MIN),
            nanos: AtomicU32::new(0),
        }
    }

    /// A reset made at `at`; one earlier than the latest changes nothing.
    /// Called holding every order stripe (or before the engine is shared).
    pub(super) fn set(&self, at: DateTime<Utc>) {
        let at = (at.timestamp(), at.timestamp_subsec_nanos());
        let latest = (
            self.secs.load(Ordering::Relaxed),
            self.nanos.load(Ordering::Relaxed),
        );
        if at > latest {
            self.secs.store(at.0, Ordering::Relaxed);
            self.nanos.store(at.1, Ordering::Relaxed);
        }
    }

    /// The latest reset's time, if `at` is not after it. Called holding an
    /// order stripe.
    pub(super) fn not_after(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let secs = self.secs.load(Ordering::Relaxed);
        // Nearly always: a time past the latest reset's second.
        if at.timestamp() > secs {
            return None;
        }
        let nanos = self.nanos.load(Ordering::Relaxed);
        DateTime::from_timestamp(secs, nanos).filter(|latest| at <= *latest)
    }

    /// `now`, or if it is not after the latest reset (a clock that has not
    /// moved since, or went back), a nanosecond after the reset: the time
    /// the engine records at, under an order stripe.
    pub(super) fn after(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self.not_after(now) {
            None => now,
            Some(latest) => latest
                .checked_add_signed(TimeDelta::nanoseconds(1))
                .unwrap_or(latest),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone, Utc};

    use super::LatestReset;

    #[test]
    fn what_comes_after_a_reset_is_recorded_after_its_time() {
        let t = Utc.with_ymd_and_hms(2026, 5, 4, 12, 0, 0).unwrap() + TimeDelta::nanoseconds(5);
        let ns = TimeDelta::nanoseconds;
        let latest = LatestReset::new();
        // No reset yet: the clock's time, and nothing is at or before one.
        assert_eq!(latest.after(t - ns(10)), t - ns(10));
        assert_eq!(latest.not_after(t - TimeDelta::days(365_000)), None);
        latest.set(t);
        // An earlier reset changes nothing.
        latest.set(t - ns(1));
        assert_eq!(latest.not_after(t), Some(t));
        assert_eq!(latest.not_after(t - ns(4)), Some(t));
        assert_eq!(latest.not_after(t + ns(1)), None);
        assert_eq!(latest.not_after(t + TimeDelta::seconds(1)), None);
        // A clock at the reset's time, or gone back: a nanosecond after.
        assert_eq!(latest.after(t), t + ns(1));
        assert_eq!(latest.after(t - TimeDelta::hours(1)), t + ns(1));
        assert_eq!(latest.after(t + ns(2)), t + ns(2));
        latest.set(t + ns(1));
        assert_eq!(latest.after(t + ns(1)), t + ns(2));
    }
}

//! Where `now` comes from: the [`Clock`] trait, the system clock, and a fake
//! clock that tests, examples and hosts can set and advance.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

/// The engine's only source of the current instant.
///
/// The pure core never calls a clock: it takes `now` as an argument. Only the
/// engine asks a `Clock`, once per recorded activity, so a host can substitute
/// [`FakeClock`] to replay history or test time-dependent behaviour.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until it is set or advanced.
///
/// It is shared by reference (or `Arc`) and safe to move between threads;
/// its resolution is one microsecond, which covers every instant from the
/// year -290,000 to 290,000.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use gamify::time::{Clock, FakeClock};
///
/// let clock = FakeClock::new(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap());
/// clock.advance(TimeDelta::days(1));
/// assert_eq!(clock.now(), Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap());
/// ```
#[derive(Debug)]
pub struct FakeClock {
    micros: AtomicI64,
}

impl FakeClock {
    /// A clock that reads `start` until told otherwise.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            micros: AtomicI64::new(start.timestamp_micros()),
        }
    }

    /// Jump to `instant` (forwards or backwards).
    pub fn set(&self, instant: DateTime<Utc>) {
        self.micros
            .store(instant.timestamp_micros(), Ordering::SeqCst);
    }

    /// Move the clock by `delta` (negative moves it back). Saturates at the
    /// ends of the representable range instead of wrapping.
    pub fn advance(&self, delta: TimeDelta) {
        let step = delta
            .num_microseconds()
            .unwrap_or(if delta < TimeDelta::zero() {
                i64::MIN
            } else {
                i64::MAX
            });
        // `fetch_update` never fails with a closure that always returns `Some`.
        let _ = self
            .micros
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                Some(now.saturating_add(step))
            });
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        let micros = self.micros.load(Ordering::SeqCst);
        // Saturated values beyond chrono's range read as its bounds.
        DateTime::from_timestamp_micros(micros).unwrap_or(if micros < 0 {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn fake_clock_sets_and_advances_both_ways() {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let clock = FakeClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(TimeDelta::hours(25));
        assert_eq!(clock.now(), start + TimeDelta::hours(25));
        clock.advance(TimeDelta::hours(-25));
        assert_eq!(clock.now(), start);
        clock.set(start + TimeDelta::days(400));
        assert_eq!(clock.now(), start + TimeDelta::days(400));
    }

    #[test]
    fn fake_clock_saturates_instead_of_wrapping() {
        let clock = FakeClock::new(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
        clock.advance(TimeDelta::MAX);
        clock.advance(TimeDelta::MAX);
        assert!(clock.now() > Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
        clock.advance(TimeDelta::MIN);
        clock.advance(TimeDelta::MIN);
        clock.advance(TimeDelta::MIN);
        assert!(clock.now() < Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
    }

    #[test]
    fn clocks_are_object_safe_and_shareable() {
        let clock: Arc<dyn Clock> = Arc::new(FakeClock::new(DateTime::UNIX_EPOCH));
        assert_eq!(clock.now(), DateTime::UNIX_EPOCH);
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<FakeClock>();
        assert_send_sync::<SystemClock>();
    }
}

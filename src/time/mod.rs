//! Time: the [`Clock`] the engine reads `now` from, and the local calendar
//! (day, week, month in a user's IANA time zone) the rest of the crate uses.
//!
//! Nothing in the pure core reads a clock; every decision that depends on the
//! date takes `now` and a [`Tz`] as arguments.

mod calendar;
mod clock;
pub(crate) mod instant;

pub(crate) use calendar::local_date_at_offset;
pub use calendar::{Period, PeriodKind, iso_week, local_date, start_of_day};
pub use chrono_tz::Tz;
pub use clock::{Clock, FakeClock, SystemClock};

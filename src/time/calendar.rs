//! The local calendar: which day, week and month an instant falls in for a
//! user's IANA time zone, and where those periods start and end.
//!
//! Every period is half-open, `[start, end)`, and the end of one period is the
//! start of the next, so consecutive periods cover time with no gap and no
//! overlap — also on days of 23 or 25 hours, and in zones whose clocks skip or
//! repeat midnight (America/Santiago, America/Havana). A date that a zone
//! skipped altogether (Pacific/Apia jumped from 2011-12-29 to 2011-12-31) is
//! an empty period: its start equals its end.

use chrono::{
    DateTime, Datelike, IsoWeek, LocalResult, NaiveDate, Offset, TimeDelta, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The local date of `at` in `tz`.
///
/// At the very ends of chrono's range, where the local time would fall
/// outside it, the answer is clamped to the first or last representable date.
pub fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    let utc = at.naive_utc();
    // UTC, the default zone, needs no offset lookup (a search of the
    // zone's transitions, run several times for each activity).
    if tz == Tz::UTC {
        return utc.date();
    }
    let offset = tz.offset_from_utc_datetime(&utc).fix();
    // `DateTime::date_naive` would panic there; the checked form cannot.
    match utc.checked_add_offset(offset) {
        Some(local) => local.date(),
        None if offset.local_minus_utc() > 0 => NaiveDate::MAX,
        None => NaiveDate::MIN,
    }
}

/// The ISO 8601 week (Monday first, week 1 holds the year's first Thursday)
/// of `at` in `tz`.
pub fn iso_week(at: DateTime<Utc>, tz: Tz) -> IsoWeek {
    local_date(at, tz).iso_week()
}

/// The first instant whose local date in `tz` is `date` or later.
///
/// Usually local midnight. Where midnight is skipped (a DST change at
/// 00:00, as in America/Santiago) the day starts at the transition, when
/// the clock jumps to 01:00; where midnight happens twice (America/Havana
/// falls back from 01:00 to 00:00) it is the first of the two.
pub fn start_of_day(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    match tz.from_local_datetime(&midnight) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(earliest, _) => earliest.with_timezone(&Utc),
        LocalResult::None => first_instant_on_or_after(date, tz),
    }
}

/// Midnight does not exist on `date`: search for the transition.
///
/// Offsets today lie within UTC−12 … UTC+14, but the tz database's local
/// mean times of the past reach almost ±16 hours (Asia/Manila before 1845:
/// +15:56), so the answer lies within 17 hours of midnight read as UTC.
/// Binary search over whole seconds (offsets and transitions fall on
/// seconds) takes 17 steps; it runs only on the rare days whose midnight is
/// skipped.
fn first_instant_on_or_after(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    const REACH: i64 = 17 * 3600;
    let as_utc = date.and_time(chrono::NaiveTime::MIN).and_utc();
    let (mut lo, mut hi) = (
        as_utc.timestamp().saturating_sub(REACH),
        as_utc.timestamp().saturating_add(REACH),
    );
    let on_or_after =
        |secs: i64| DateTime::from_timestamp(secs, 0).is_none_or(|t| local_date(t, tz) >= date);
    // Invariant: `lo` is before the day, `hi` is on or after it.
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if on_or_after(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0).unwrap_or(as_utc)
}

/// A kind of calendar period, for windows, caps and quests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// One local day, from midnight to midnight.
    Day,
    /// Seven local days from the stated first weekday; `Mon` gives ISO weeks.
    Week {
        /// The weekday a week starts on.
        starts_on: Weekday,
    },
    /// One local calendar month.
    Month,
}

impl PeriodKind {
    /// ISO weeks: Monday first.
    pub const ISO_WEEK: Self = Self::Week {
        starts_on: Weekday::Mon,
    };

    /// The period of this kind that holds `at`, in `tz`.
    pub fn containing(self, at: DateTime<Utc>, tz: Tz) -> Period {
        self.of_date(local_date(at, tz))
    }

    /// The period of this kind that holds the local date `date`.
    pub fn of_date(self, date: NaiveDate) -> Period {
        let first = match self {
            Self::Day => date,
            Self::Week { starts_on } => {
                let back = date.weekday().days_since(starts_on);
                // Only the first days of chrono's range have no week start;
                // the week is clipped there rather than panicking.
                date.checked_sub_signed(TimeDelta::days(i64::from(back)))
                    .unwrap_or(NaiveDate::MIN)
            }
            Self::Month => date.with_day(1).unwrap_or(date),
        };
        Period { kind: self, first }
    }
}

/// One concrete local period: a day, week or month, named by its kind and
/// its first local date.
///
/// The same `Period` covers different instants in different zones; pass the
/// zone to [`start`](Self::start) and [`end`](Self::end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Period {
    kind: PeriodKind,
    first: NaiveDate,
}

impl PartialOrd for PeriodKind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PeriodKind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let rank = |k: &Self| match k {
            Self::Day => (0, 0),
            Self::Week { starts_on } => (1, starts_on.num_days_from_monday()),
            Self::Month => (2, 0),
        };
        rank(self).cmp(&rank(other))
    }
}

impl Period {
    /// The kind of period.
    pub fn kind(&self) -> PeriodKind {
        self.kind
    }

    /// The first local date of the period.
    pub fn first_day(&self) -> NaiveDate {
        self.first
    }

    /// The first local date after the period, or `None` at the end of
    /// chrono's calendar.
    pub fn next_first_day(&self) -> Option<NaiveDate> {
        match self.kind {
            PeriodKind::Day => self.first.succ_opt(),
            PeriodKind::Week { .. } => self.first.checked_add_signed(TimeDelta::days(7)),
            PeriodKind::Month => self.first.checked_add_months(chrono::Months::new(1)),
        }
    }

    /// The period that follows this one.
    pub fn next(&self) -> Option<Self> {
        self.next_first_day().map(|first| Self {
            kind: self.kind,
            first,
        })
    }

    /// The period before this one.
    pub fn previous(&self) -> Option<Self> {
        let first = match self.kind {
            PeriodKind::Day => self.first.pred_opt(),
            PeriodKind::Week { .. } => self.first.checked_sub_signed(TimeDelta::days(7)),
            PeriodKind::Month => self.first.checked_sub_months(chrono::Months::new(1)),
        }?;
        Some(Self {
            kind: self.kind,
            first,
        })
    }

    /// Whether the local date `date` lies in the period.
    pub fn contains_date(&self, date: NaiveDate) -> bool {
        date >= self.first && self.next_first_day().is_none_or(|end| date < end)
    }

    /// The first instant of the period in `tz`.
    pub fn start(&self, tz: Tz) -> DateTime<Utc> {
        start_of_day(self.first, tz)
    }

    /// The first instant after the period in `tz` (the period is `[start, end)`).
    pub fn end(&self, tz: Tz) -> DateTime<Utc> {
        self.next_first_day()
            .map_or(DateTime::<Utc>::MAX_UTC, |d| start_of_day(d, tz))
    }

    /// Whether the instant `at` lies in the period, in `tz`.
    pub fn contains(&self, at: DateTime<Utc>, tz: Tz) -> bool {
        self.contains_date(local_date(at, tz))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_skipped_with_a_local_mean_time_offset_is_empty() {
        // Asia/Manila moved from -8:04 to +15:56 local mean time: 1844-12-31
        // never happened there, so its day is empty.
        let tz = Tz::Asia__Manila;
        let d = |m: u32, day: u32, y: i32| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(
            start_of_day(d(12, 31, 1844), tz),
            start_of_day(d(1, 1, 1845), tz)
        );
        assert!(start_of_day(d(12, 30, 1844), tz) < start_of_day(d(12, 31, 1844), tz));
    }
    use chrono::NaiveTime;

    const ZONES: [Tz; 10] = [
        Tz::UTC,
        Tz::America__New_York,
        Tz::Europe__Berlin,
        Tz::America__Santiago,
        Tz::America__Havana,
        Tz::America__Sao_Paulo,
        Tz::Australia__Lord_Howe,
        Tz::Pacific__Chatham,
        Tz::Asia__Kolkata,
        Tz::Pacific__Apia,
    ];

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// The sweep: every date 1970–2100 in ten awkward zones. Day
    /// windows tile time (each ends where the next starts), every instant of
    /// the window reads as that local date at its ends, and the window holds
    /// local noon — except a date the zone skipped, whose window is empty.
    #[test]
    fn day_windows_tile_time_and_hold_local_noon() {
        for tz in ZONES {
            let mut day = ymd(1970, 1, 1);
            let mut start = start_of_day(day, tz);
            while day <= ymd(2100, 12, 31) {
                let period = PeriodKind::Day.of_date(day);
                assert_eq!(period.start(tz), start, "{tz} {day}");
                let end = period.end(tz);
                let noon = tz
                    .from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap()))
                    .earliest();
                if end == start {
                    assert!(noon.is_none(), "{tz} {day}: empty day that exists");
                    day = day.succ_opt().unwrap();
                    continue;
                }
                assert!(end > start, "{tz} {day}: reversed day");
                let hours = (end - start).num_minutes() as f64 / 60.0;
                assert!((20.0..=28.0).contains(&hours), "{tz} {day}: {hours} h");
                assert_eq!(local_date(start, tz), day, "{tz} {day} start");
                assert_eq!(
                    local_date(end - TimeDelta::seconds(1), tz),
                    day,
                    "{tz} {day} end"
                );
                assert!(
                    local_date(start - TimeDelta::seconds(1), tz) < day,
                    "{tz} {day}"
                );
                let noon = noon.unwrap().with_timezone(&Utc);
                assert!(start <= noon && noon < end, "{tz} {day}: noon outside");
                assert!(period.contains(noon, tz));
                day = day.succ_opt().unwrap();
                start = end;
            }
        }
    }

    #[test]
    fn skipped_midnight_starts_the_day_at_the_transition() {
        // Santiago sprang forward at 2022-09-11 00:00 (UTC-4 → UTC-3).
        let tz = Tz::America__Santiago;
        let start = start_of_day(ymd(2022, 9, 11), tz);
        assert_eq!(
            start.with_timezone(&tz).time(),
            NaiveTime::from_hms_opt(1, 0, 0).unwrap()
        );
        assert_eq!(start, Utc.with_ymd_and_hms(2022, 9, 11, 4, 0, 0).unwrap());
        assert_eq!(PeriodKind::Day.of_date(ymd(2022, 9, 10)).end(tz), start);
        let hours = (start_of_day(ymd(2022, 9, 12), tz) - start).num_hours();
        assert_eq!(hours, 23);
    }

    #[test]
    fn repeated_midnight_starts_the_day_at_the_first_one() {
        // Havana fell back at 2022-11-06 01:00 (UTC-4 → UTC-5): midnight twice.
        let tz = Tz::America__Havana;
        let start = start_of_day(ymd(2022, 11, 6), tz);
        assert_eq!(start, Utc.with_ymd_and_hms(2022, 11, 6, 4, 0, 0).unwrap());
        let hours = (start_of_day(ymd(2022, 11, 7), tz) - start).num_hours();
        assert_eq!(hours, 25);
    }

    #[test]
    fn a_skipped_date_is_an_empty_period() {
        let tz = Tz::Pacific__Apia;
        let skipped = PeriodKind::Day.of_date(ymd(2011, 12, 30));
        assert_eq!(skipped.start(tz), skipped.end(tz));
        let before = PeriodKind::Day.of_date(ymd(2011, 12, 29));
        assert_eq!(before.end(tz), skipped.start(tz));
        assert_eq!(local_date(before.end(tz), tz), ymd(2011, 12, 31));
    }

    #[test]
    fn half_and_quarter_hour_zones() {
        let kolkata = start_of_day(ymd(2026, 1, 1), Tz::Asia__Kolkata);
        assert_eq!(
            kolkata,
            Utc.with_ymd_and_hms(2025, 12, 31, 18, 30, 0).unwrap()
        );
        let chatham = start_of_day(ymd(2026, 1, 1), Tz::Pacific__Chatham);
        assert_eq!(
            chatham,
            Utc.with_ymd_and_hms(2025, 12, 31, 10, 15, 0).unwrap()
        );
        // Lord Howe moves its clocks by only thirty minutes.
        let tz = Tz::Australia__Lord_Howe;
        let spring = start_of_day(ymd(2025, 10, 6), tz) - start_of_day(ymd(2025, 10, 5), tz);
        assert_eq!(spring.num_minutes(), 24 * 60 - 30);
    }

    #[test]
    fn weeks_and_months_across_dst() {
        let tz = Tz::America__New_York;
        // 2026-03-08 is a Sunday, the day New York springs forward.
        let at = Utc.with_ymd_and_hms(2026, 3, 8, 15, 0, 0).unwrap();
        let iso = PeriodKind::ISO_WEEK.containing(at, tz);
        assert_eq!(iso.first_day(), ymd(2026, 3, 2));
        assert_eq!((iso.end(tz) - iso.start(tz)).num_hours(), 7 * 24 - 1);
        assert_eq!(iso_week(at, tz).week(), 10);
        let sunday = PeriodKind::Week {
            starts_on: Weekday::Sun,
        }
        .containing(at, tz);
        assert_eq!(sunday.first_day(), ymd(2026, 3, 8));
        let month = PeriodKind::Month.containing(at, tz);
        assert_eq!(month.first_day(), ymd(2026, 3, 1));
        assert_eq!(month.next().unwrap().first_day(), ymd(2026, 4, 1));
        assert_eq!(month.previous().unwrap().first_day(), ymd(2026, 2, 1));
        assert_eq!((month.end(tz) - month.start(tz)).num_hours(), 31 * 24 - 1);
        // The same instant is in different local days in different zones.
        let late = Utc.with_ymd_and_hms(2026, 3, 9, 2, 0, 0).unwrap();
        assert_eq!(local_date(late, tz), ymd(2026, 3, 8));
        assert_eq!(local_date(late, Tz::Europe__Berlin), ymd(2026, 3, 9));
    }

    #[test]
    fn weeks_tile_like_days() {
        for tz in ZONES {
            let mut week = PeriodKind::ISO_WEEK.of_date(ymd(2019, 12, 30));
            for _ in 0..400 {
                let next = week.next().unwrap();
                assert_eq!(week.end(tz), next.start(tz));
                assert_eq!(next.first_day().weekday(), Weekday::Mon);
                week = next;
            }
        }
    }

    #[test]
    fn calendar_edges_do_not_panic() {
        let last = PeriodKind::Month.of_date(NaiveDate::MAX);
        assert_eq!(last.next(), None);
        assert_eq!(last.end(Tz::UTC), DateTime::<Utc>::MAX_UTC);
        let first = PeriodKind::ISO_WEEK.of_date(NaiveDate::MIN);
        let _ = first.start(Tz::Pacific__Apia);
        let _ = first.previous();
        let _ = PeriodKind::Day.containing(DateTime::<Utc>::MAX_UTC, Tz::Pacific__Kiritimati);
    }
}

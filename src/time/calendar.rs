//! The local calendar: which day, week and month an instant falls in for a
//! user's IANA time zone, and where those periods start and end.
//!
//! Every period is half-open, `[start, end)`, and the end of one period is the
//! start of the next, so consecutive periods cover time with no gap and no
//! overlap — also on days of 23 or 25 hours, and in zones whose clocks skip or
//! repeat midnight (America/Santiago, America/Havana). A date that a zone
//! skipped altogether (Pacific/Apia jumped from 2011-12-29 to 2011-12-31) is
//! an empty period: its start equals its end.
//!
//! A local day, once begun, lasts until the next one begins: the local date
//! never runs backwards, and it is always the date of the day period that
//! holds the instant. That differs from the date the clocks show only where
//! a zone fell back across midnight, so the clocks showed the evening of the
//! day before again after the new day had begun: America/St_Johns and
//! America/Goose_Bay fell back from 00:01 to 23:01 until 2010 (two hours, to
//! 22:01, in 1988), America/Moncton until 2006, Antarctica/Casey from 02:00
//! to 23:00 in 2010, America/Phoenix in 1944, Pacific/Guam in 1969, and the
//! Alaskan zones set their clocks back a day in 1867. That repeated stretch
//! belongs to the day that has already begun.

use chrono::{
    DateTime, Datelike, FixedOffset, IsoWeek, LocalResult, NaiveDate, Offset, TimeDelta, TimeZone,
    Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The local date of `at` in `tz`: the latest date whose day has begun by
/// `at` (see [`start_of_day`]), so it never decreases as `at` advances and
/// always names the [`PeriodKind::Day`] period holding `at`.
///
/// This is the date the zone's clocks show, except in the stretch after a
/// fall-back across midnight (America/St_Johns before 2011: 00:01 back to
/// 23:01), where the clocks show the previous date again; that stretch
/// belongs to the day that has already begun.
///
/// At the very ends of chrono's range, where the local time would fall
/// outside it, the answer is clamped to the first or last representable date.
pub fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    // UTC, the default zone, needs no offset lookup (a search of the
    // zone's transitions, run several times for each activity), and its
    // clocks never go back.
    if tz == Tz::UTC {
        return at.naive_utc().date();
    }
    let offset = tz.offset_from_utc_datetime(&at.naive_utc()).fix();
    local_date_at_offset(at, tz, offset)
}

/// The longest the clocks have shown the previous date again after a
/// fall-back across midnight (1867 aside, see
/// [`FIRST_YEAR_WITHOUT_LONG_REPEATS`]): such a repeated evening starts no
/// earlier than this before midnight on the clocks, so an instant whose
/// clock time is earlier cannot be in one and needs no second lookup.
///
/// Checked against every transition of every zone in chrono-tz's tables
/// (tzdb 2025b, up to 2100): since 1868 the longest such stretch is 1 h
/// 59 min (St_Johns and Goose_Bay, 1988-10-30, 00:01 back to 22:01); the
/// others last an hour at most (Antarctica/Casey in 2010; the 00:01
/// fall-backs of Newfoundland to 2010 and Moncton to 2006; Phoenix and
/// Creston in 1944, Guam and Saipan in 1969), and none comes after 2010.
/// The test `the_repeated_evening_bound_holds_for_every_zone` re-checks it
/// against the zone data each build carries, so an upgrade of chrono-tz
/// that brings a longer one fails there.
const LATEST_REPEATED_EVENING: u32 = 2 * 3600;

/// Instants before this year take the full check whatever their time of
/// day: in 1867 the Alaskan zones (America/Adak to America/Metlakatla)
/// moved from Asian to American time, showing the previous date again for
/// up to 11 h 15 min, far more than [`LATEST_REPEATED_EVENING`].
const FIRST_YEAR_WITHOUT_LONG_REPEATS: i32 = 1900;

const DAY: u32 = 24 * 3600;

/// [`local_date`] with `offset`, the zone's offset at `at`, already looked
/// up.
pub(crate) fn local_date_at_offset(at: DateTime<Utc>, tz: Tz, offset: FixedOffset) -> NaiveDate {
    let utc = at.naive_utc();
    let Some(clock) = utc.checked_add_offset(offset) else {
        return clamped(offset);
    };
    let shown = clock.date();
    // The clocks show the previous date again only late in its clock day
    // (or in 1867), so the common case costs no second lookup; the check
    // itself is the definition, which keeps this in step with the periods.
    let may_repeat = clock.num_seconds_from_midnight() >= DAY - LATEST_REPEATED_EVENING
        || utc.year() < FIRST_YEAR_WITHOUT_LONG_REPEATS;
    if tz == Tz::UTC || !may_repeat {
        return shown;
    }
    // No zone has ever gone back by more than one date, so one step is
    // enough.
    match shown.succ_opt() {
        Some(next) if start_of_day(next, tz) <= at => next,
        _ => shown,
    }
}

/// The date the zone's clocks show at `at`, which can run backwards (see
/// [`local_date`]).
fn clock_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    let offset = tz.offset_from_utc_datetime(&at.naive_utc()).fix();
    at.naive_utc()
        .checked_add_offset(offset)
        .map_or_else(|| clamped(offset), |clock| clock.date())
}

/// The date for a local time beyond chrono's range (`DateTime::date_naive`
/// would panic there).
fn clamped(offset: FixedOffset) -> NaiveDate {
    if offset.local_minus_utc() > 0 {
        NaiveDate::MAX
    } else {
        NaiveDate::MIN
    }
}

/// The ISO 8601 week (Monday first, week 1 holds the year's first Thursday)
/// of `at` in `tz`.
pub fn iso_week(at: DateTime<Utc>, tz: Tz) -> IsoWeek {
    local_date(at, tz).iso_week()
}

/// The first instant whose local date in `tz` is `date` or later: the
/// first at which the zone's clocks show `date` or a later date.
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
    // The clocks' date, not `local_date`: that asks `start_of_day`, which
    // would bring the search back here.
    let on_or_after =
        |secs: i64| DateTime::from_timestamp(secs, 0).is_none_or(|t| clock_date(t, tz) >= date);
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

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    /// Instants from `from` up to (not including) `to`, `step` apart.
    fn every(
        step: TimeDelta,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Iterator<Item = DateTime<Utc>> {
        std::iter::successors(Some(from), move |t| t.checked_add_signed(step))
            .take_while(move |t| *t < to)
    }

    #[test]
    fn a_fall_back_across_midnight_keeps_the_day_that_began() {
        // St_Johns fell back at 2006-10-29 00:01 NDT (02:31 UTC) to 23:01
        // NST: its clocks showed the 28th again after the 29th began.
        let tz = Tz::America__St_Johns;
        let mut previous = NaiveDate::MIN;
        let mut repeated = 0;
        for at in every(
            TimeDelta::minutes(1),
            utc(2006, 10, 28, 20, 0),
            utc(2006, 10, 29, 8, 0),
        ) {
            let date = local_date(at, tz);
            assert!(date >= previous, "{at}: {date} after {previous}");
            previous = date;
            let day = PeriodKind::Day.containing(at, tz);
            assert_eq!(day.first_day(), date, "{at}");
            assert!(day.start(tz) <= at && at < day.end(tz), "{at}: {day:?}");
            let clock = at.with_timezone(&tz);
            if clock.date_naive() != date {
                // Only the repeated evening reads differently from the clocks.
                assert_eq!(clock.date_naive().succ_opt(), Some(date), "{at}");
                assert_eq!(clock.hour(), 23, "{at}");
                repeated += 1;
            }
        }
        // Every minute of the repeated 23:01–00:00 was swept.
        assert_eq!(repeated, 59);
    }

    /// Zones whose clocks went back across midnight (St_Johns, Goose_Bay,
    /// Moncton until 2011; Casey in 2010, from 02:00 to 23:00; Anchorage in
    /// 1867), skipped or repeated midnight (Havana, Santiago), skipped a
    /// date (Apia) or move by half an hour (Lord_Howe), beside two plain
    /// ones.
    const ODD_ZONES: [Tz; 11] = [
        Tz::America__St_Johns,
        Tz::America__Goose_Bay,
        Tz::America__Moncton,
        Tz::Antarctica__Casey,
        Tz::America__Havana,
        Tz::America__Santiago,
        Tz::Pacific__Apia,
        Tz::Australia__Lord_Howe,
        Tz::America__Anchorage,
        Tz::Europe__Berlin,
        Tz::UTC,
    ];

    /// A period with its start and end in the zone under test.
    type PeriodBounds = (Period, DateTime<Utc>, DateTime<Utc>);

    #[test]
    fn local_dates_never_run_backwards_and_agree_with_the_periods() {
        let ranges = [
            // Alaska's move from Asian to American time: on 1867-10-19,
            // in the afternoon, the clocks went back to the 18th.
            (utc(1867, 9, 1, 0, 0), utc(1868, 3, 1, 0, 0)),
            // Newfoundland's two-hour fall-back from 00:01 to 22:01.
            (utc(1988, 9, 1, 0, 0), utc(1989, 1, 1, 0, 0)),
            // The last 00:01 fall-backs (to 2010), Apia's skipped date (2011).
            (utc(2005, 1, 1, 0, 0), utc(2012, 3, 1, 0, 0)),
        ];
        let kinds = [PeriodKind::Day, PeriodKind::ISO_WEEK, PeriodKind::Month];
        for tz in ODD_ZONES {
            let mut previous = NaiveDate::MIN;
            // Each kind's current period and its bounds, computed once per
            // period to keep the sweep quick.
            let mut current: [Option<PeriodBounds>; 3] = [None; 3];
            for (from, to) in ranges {
                for at in every(TimeDelta::minutes(17), from, to) {
                    let date = local_date(at, tz);
                    assert!(date >= previous, "{tz} {at}: {date} after {previous}");
                    previous = date;
                    for (kind, current) in kinds.iter().zip(&mut current) {
                        let period = kind.of_date(date);
                        assert!(period.contains_date(date), "{tz} {at} {period:?}");
                        let (start, end) = match *current {
                            Some((p, start, end)) if p == period => (start, end),
                            _ => {
                                let (start, end) = (period.start(tz), period.end(tz));
                                *current = Some((period, start, end));
                                (start, end)
                            }
                        };
                        assert!(
                            start <= at && at < end,
                            "{tz} {at}: {period:?} {start}..{end}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn utc_keeps_its_own_date_and_range_ends_do_not_panic() {
        let late_evenings = every(
            TimeDelta::minutes(7),
            utc(2026, 3, 27, 20, 0),
            utc(2026, 4, 2, 0, 0),
        );
        for at in late_evenings.chain([DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC]) {
            assert_eq!(local_date(at, Tz::UTC), at.naive_utc().date(), "{at}");
        }
        let (min, max) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        let span = TimeDelta::days(3);
        // The widest offsets, both ways, besides the odd zones.
        let zones = ODD_ZONES.into_iter().chain([
            Tz::Pacific__Kiritimati,
            Tz::Pacific__Pago_Pago,
            Tz::Asia__Manila,
        ]);
        for tz in zones {
            let near_ends = every(TimeDelta::minutes(17), min, min + span)
                .chain(every(TimeDelta::minutes(17), max - span, max))
                .chain([max]);
            let mut previous = NaiveDate::MIN;
            for at in near_ends {
                let date = local_date(at, tz);
                assert!(date >= previous, "{tz} {at}: {date} after {previous}");
                previous = date;
                let day = PeriodKind::Day.containing(at, tz);
                // Clamped dates aside, the periods still hold the instant.
                let clamped = date == NaiveDate::MIN || date == NaiveDate::MAX;
                assert!(clamped || day.start(tz) <= at, "{tz} {at}");
                assert!(clamped || at < day.end(tz), "{tz} {at}");
                let _ = iso_week(at, tz);
            }
            for date in [NaiveDate::MIN, NaiveDate::MAX] {
                let _ = start_of_day(date, tz);
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

    /// The bound `local_date` relies on, checked against the time zone
    /// data this build carries (so a chrono-tz upgrade that brings a longer
    /// repeated evening fails here rather than letting dates run
    /// backwards): in every zone, from 1900 to 2100, a fall-back that takes
    /// the clocks' date back lands no earlier than
    /// [`LATEST_REPEATED_EVENING`] before midnight, and one date back at
    /// most. Offsets are sampled weekly and each change found is narrowed
    /// to the second, so two transitions within one week are not seen (no
    /// zone has a fall-back across midnight that close to another change).
    #[test]
    fn the_repeated_evening_bound_holds_for_every_zone() {
        let offset_at = |tz: Tz, secs: i64| -> Option<i32> {
            let at = DateTime::from_timestamp(secs, 0)?;
            Some(
                tz.offset_from_utc_datetime(&at.naive_utc())
                    .fix()
                    .local_minus_utc(),
            )
        };
        let clock = |secs: i64, offset: i32| {
            DateTime::from_timestamp(secs + i64::from(offset), 0).map(|t| t.naive_utc())
        };
        let from = utc(FIRST_YEAR_WITHOUT_LONG_REPEATS, 1, 1, 0, 0).timestamp();
        let to = utc(2100, 12, 31, 0, 0).timestamp();
        const WEEK: i64 = 7 * 86_400;
        let mut fall_backs_across_midnight = 0;
        for &tz in chrono_tz::TZ_VARIANTS.iter() {
            let mut t = from;
            let mut before = offset_at(tz, t).unwrap();
            while t < to {
                let next = t + WEEK;
                let after = offset_at(tz, next).unwrap();
                if after < before {
                    // Narrow to the last second of the old offset.
                    let (mut lo, mut hi) = (t, next);
                    while hi - lo > 1 {
                        let mid = lo + (hi - lo) / 2;
                        if offset_at(tz, mid) == Some(before) {
                            lo = mid;
                        } else {
                            hi = mid;
                        }
                    }
                    let new = offset_at(tz, hi).unwrap();
                    let (last, first) = (clock(lo, before).unwrap(), clock(hi, new).unwrap());
                    if first.date() < last.date() {
                        fall_backs_across_midnight += 1;
                        assert_eq!(first.date().succ_opt(), Some(last.date()), "{tz} at {hi}");
                        assert!(
                            first.time().num_seconds_from_midnight()
                                >= DAY - LATEST_REPEATED_EVENING,
                            "{tz} at {hi}: the clocks went back to {first}"
                        );
                    }
                }
                (t, before) = (next, after);
            }
        }
        // St_Johns, Goose_Bay, Moncton, Casey, Phoenix, Guam and more: the
        // sweep did find them.
        assert!(
            fall_backs_across_midnight >= 10,
            "{fall_backs_across_midnight}"
        );
    }

    /// An independent reference for the day periods, built from the zones'
    /// offsets alone (no local-time lookup): the offset is constant between
    /// transitions, so within each such stretch the clocks show `date` or a
    /// later one from `date`'s midnight minus the offset on, and a day
    /// starts at the first instant of any stretch at which they do. The
    /// local date of an instant is the latest date whose day has started.
    /// Checked for every date from 1970 to 2040, and around every
    /// transition, in the zones the sweep above leaves out: a skipped date
    /// (Apia), a fall-back across midnight (St_Johns and Goose_Bay to 2010),
    /// the Nuuk and Godthab names, thirty-minute DST (Lord_Howe), a +5:45
    /// offset (Kathmandu), two-hour DST at 01:00 UTC (Troll), negative DST
    /// (Dublin), DST at midnight (Santiago, Havana, Asuncion) and Ramadan's
    /// suspended DST (Casablanca).
    #[test]
    fn days_match_a_reference_built_from_the_offsets() {
        const REFERENCE_ZONES: [Tz; 14] = [
            Tz::Pacific__Apia,
            Tz::America__St_Johns,
            Tz::America__Goose_Bay,
            Tz::America__Godthab,
            Tz::America__Nuuk,
            Tz::Australia__Lord_Howe,
            Tz::Asia__Kathmandu,
            Tz::Antarctica__Troll,
            Tz::Europe__Dublin,
            Tz::America__Santiago,
            Tz::America__Havana,
            Tz::America__Asuncion,
            Tz::Africa__Casablanca,
            Tz::UTC,
        ];
        let offset = |tz: Tz, secs: i64| {
            let at = DateTime::from_timestamp(secs, 0).unwrap();
            i64::from(
                tz.offset_from_utc_datetime(&at.naive_utc())
                    .fix()
                    .local_minus_utc(),
            )
        };
        let (from, to) = (utc(1969, 12, 30, 0, 0), utc(2040, 1, 2, 0, 0));
        let (from, to) = (from.timestamp(), to.timestamp());
        let instant = |secs: i64| DateTime::from_timestamp(secs, 0).unwrap();
        for tz in REFERENCE_ZONES {
            // The stretches of constant offset, `(first second, end, offset)`:
            // offsets sampled every six hours (no zone changes twice within
            // six hours), each change narrowed to the second.
            let mut stretches: Vec<(i64, i64, i64)> = Vec::new();
            let (mut first, mut current) = (from, offset(tz, from));
            let mut t = from;
            while t < to {
                let next = (t + 6 * 3600).min(to);
                if offset(tz, next) != current {
                    let (mut lo, mut hi) = (t, next);
                    while hi - lo > 1 {
                        let mid = lo + (hi - lo) / 2;
                        if offset(tz, mid) == current {
                            lo = mid;
                        } else {
                            hi = mid;
                        }
                    }
                    stretches.push((first, hi, current));
                    (first, current) = (hi, offset(tz, hi));
                }
                t = next;
            }
            stretches.push((first, to, current));
            // The first instant at which the clocks show `date` or later.
            let reference_start = |date: NaiveDate| {
                let midnight = date.and_time(NaiveTime::MIN).and_utc().timestamp();
                stretches
                    .iter()
                    .find_map(|&(a, b, off)| Some(a.max(midnight - off)).filter(|s| *s < b))
                    .map(instant)
            };
            let mut date = ymd(1970, 1, 1);
            while date < ymd(2040, 1, 1) {
                let start = reference_start(date).unwrap();
                assert_eq!(start_of_day(date, tz), start, "{tz} {date}");
                let second = TimeDelta::seconds(1);
                assert!(local_date(start - second, tz) < date, "{tz} {date}");
                assert!(local_date(start, tz) >= date, "{tz} {date}");
                date = date.succ_opt().unwrap();
            }
            // The local date either side of every transition: the latest
            // date whose reference day has started.
            for w in stretches.windows(2) {
                for at in [w[1].0 - 1, w[1].0, w[1].0 + 1].map(instant) {
                    let clock = at.with_timezone(&tz).date_naive();
                    // The clocks go back a date at most, so the day that has
                    // started is the clocks' date or the one after.
                    let expected = match clock.succ_opt() {
                        Some(next) if reference_start(next).is_some_and(|s| s <= at) => next,
                        _ => clock,
                    };
                    assert_eq!(local_date(at, tz), expected, "{tz} {at}");
                }
            }
        }
    }
}

//! Criteria: when an achievement unlocks, as data.

use std::cell::Cell;

use chrono::{DateTime, FixedOffset, NaiveDate, Offset, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, ConfigProblem};
use crate::name::Name;
use crate::time::{PeriodKind, Tz};

/// A window in the user's local calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocalWindow {
    /// Today.
    Day,
    /// This ISO week.
    Week,
    /// This month.
    Month,
}

impl LocalWindow {
    /// The first local day of the window holding `at`.
    pub fn first_day(self, at: DateTime<Utc>, tz: Tz) -> NaiveDate {
        self.first_day_of(crate::time::local_date(at, tz))
    }

    /// The first local day of the window holding the local date `date`.
    pub(super) fn first_day_of(self, date: NaiveDate) -> NaiveDate {
        let kind = match self {
            Self::Day => PeriodKind::Day,
            Self::Week => PeriodKind::ISO_WEEK,
            Self::Month => PeriodKind::Month,
        };
        kind.of_date(date).first_day()
    }
}

/// An instant in the user's time zone, its offset looked up once and only
/// if a criterion asks (the lookup searches the zone's transitions; one
/// activity may ask for every windowed and time-of-day entry it touches).
#[derive(Debug, Clone)]
pub(super) struct Local {
    at: DateTime<Utc>,
    tz: Tz,
    offset: Cell<Option<FixedOffset>>,
    // Late in the clock day the date may take a second lookup (see
    // `crate::time::local_date`), so it is kept too.
    date: Cell<Option<NaiveDate>>,
}

impl Local {
    pub(super) fn new(at: DateTime<Utc>, tz: Tz) -> Self {
        Self {
            at,
            tz,
            offset: Cell::new(None),
            date: Cell::new(None),
        }
    }

    fn offset(&self) -> FixedOffset {
        if let Some(offset) = self.offset.get() {
            return offset;
        }
        let offset = self.tz.offset_from_utc_datetime(&self.at.naive_utc()).fix();
        self.offset.set(Some(offset));
        offset
    }

    /// The local hour the clocks show (as `at.with_timezone(&tz).hour()`,
    /// which wraps at the ends of chrono's range rather than failing).
    ///
    /// After a fall-back across midnight this is the repeated evening's
    /// hour, while [`date`](Self::date) is the day that has begun.
    pub(super) fn hour(&self) -> u32 {
        let seconds = i64::from(self.at.num_seconds_from_midnight())
            + i64::from(self.offset().local_minus_utc());
        (seconds.rem_euclid(86_400) / 3600) as u32
    }

    /// The local date, as [`crate::time::local_date`] (clamped at the ends
    /// of chrono's range; never running backwards where a zone fell back
    /// across midnight).
    pub(super) fn date(&self) -> NaiveDate {
        if let Some(date) = self.date.get() {
            return date;
        }
        let date = crate::time::local_date_at_offset(self.at, self.tz, self.offset());
        self.date.set(Some(date));
        date
    }
}

/// When an achievement unlocks. Combine with `all` / `any`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Criterion {
    /// A lifetime metric reaches a value (10 posts).
    Metric {
        /// The metric.
        metric: Name,
        /// The value to reach.
        at_least: u64,
    },
    /// A metric's increase within the current local day, week or month
    /// reaches a value (20 comments this week).
    MetricInWindow {
        /// The metric.
        metric: Name,
        /// The window.
        window: LocalWindow,
        /// The value to reach.
        at_least: u64,
    },
    /// One activity (of `kind`, or any) carries an attribute at or above a
    /// value (a post with 1,000 reactions).
    Attribute {
        /// Only activities of this kind.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<Name>,
        /// The attribute.
        attribute: Name,
        /// The value to reach (at least 1).
        at_least: i64,
    },
    /// Activities of `kind` at a local time of day in `[from_hour,
    /// to_hour)` (wrapping past midnight if `from_hour > to_hour`) reach a
    /// count (10 posts between midnight and 5 AM).
    TimeOfDay {
        /// The activity kind.
        kind: Name,
        /// First hour (0–23).
        from_hour: u32,
        /// Hour the range ends before (1–24).
        to_hour: u32,
        /// The count to reach.
        at_least: u64,
    },
    /// The level reaches a value.
    Level {
        /// The level.
        at_least: u32,
    },
    /// The login streak (the longest, so it also backfills) reaches a value.
    Streak {
        /// Days.
        at_least: u32,
    },
    /// Quests completed (of a family, or any) reach a count.
    Quests {
        /// Only quests of this family.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        family: Option<Name>,
        /// The count.
        at_least: u64,
    },
    /// Every listed achievement is unlocked.
    Achievements {
        /// Their ids.
        ids: Vec<Name>,
    },
    /// Achievements unlocked in a category reach a count.
    AchievementsInCategory {
        /// The category.
        category: Name,
        /// The count.
        at_least: u64,
    },
    /// Granted by the host (verified account, bug fixed, moderator's
    /// choice, event participation).
    Granted,
    /// Every sub-criterion holds.
    All {
        /// The sub-criteria.
        of: Vec<Self>,
    },
    /// At least one sub-criterion holds.
    Any {
        /// The sub-criteria.
        of: Vec<Self>,
    },
}

/// What a leaf criterion reacts to, for the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Trigger<'a> {
    Metric(&'a str),
    Kind(&'a str),
    Attribute(&'a str),
    Level,
    Streak,
    Quests,
    Achievements,
}

impl Criterion {
    /// Check targets and windows; `field` is this criterion's path.
    pub(super) fn validate(&self, field: &str) -> Result<(), ConfigError> {
        let err = |name: &str, problem| Err(ConfigError::new(format!("{field}.{name}"), problem));
        match self {
            Self::Metric { metric, at_least }
            | Self::MetricInWindow {
                metric, at_least, ..
            } => {
                if metric.trim().is_empty() {
                    return err("metric", ConfigProblem::Empty);
                }
                if *at_least == 0 {
                    return err("at_least", ConfigProblem::Zero);
                }
            }
            Self::Attribute {
                attribute,
                at_least,
                ..
            } => {
                if attribute.trim().is_empty() {
                    return err("attribute", ConfigProblem::Empty);
                }
                if *at_least <= 0 {
                    return err("at_least", ConfigProblem::OutOfRange("at least 1".into()));
                }
            }
            Self::TimeOfDay {
                from_hour,
                to_hour,
                at_least,
                ..
            } => {
                if *from_hour > 23 {
                    return err("from_hour", ConfigProblem::OutOfRange("0 to 23".into()));
                }
                if *to_hour == 0 || *to_hour > 24 {
                    return err("to_hour", ConfigProblem::OutOfRange("1 to 24".into()));
                }
                if from_hour == to_hour {
                    return err("to_hour", ConfigProblem::Empty);
                }
                if *at_least == 0 {
                    return err("at_least", ConfigProblem::Zero);
                }
            }
            Self::Level { at_least } | Self::Streak { at_least } if *at_least == 0 => {
                return err("at_least", ConfigProblem::Zero);
            }
            Self::Quests { at_least, .. } | Self::AchievementsInCategory { at_least, .. }
                if *at_least == 0 =>
            {
                return err("at_least", ConfigProblem::Zero);
            }
            Self::Achievements { ids } if ids.is_empty() => {
                return err("ids", ConfigProblem::Empty);
            }
            Self::All { of } | Self::Any { of } => {
                if of.is_empty() {
                    return err("of", ConfigProblem::Empty);
                }
                for (i, c) in of.iter().enumerate() {
                    c.validate(&format!("{field}.of[{i}]"))?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Every leaf, depth first.
    pub(super) fn leaves(&self) -> Vec<&Self> {
        match self {
            Self::All { of } | Self::Any { of } => of.iter().flat_map(Self::leaves).collect(),
            leaf => vec![leaf],
        }
    }

    /// Call `f` on every leaf, depth first (as [`Self::leaves`] lists them,
    /// without collecting them).
    pub(super) fn for_each_leaf<'a>(&'a self, f: &mut impl FnMut(&'a Self)) {
        match self {
            Self::All { of } | Self::Any { of } => {
                for c in of {
                    c.for_each_leaf(f);
                }
            }
            leaf => f(leaf),
        }
    }

    /// What this leaf reacts to.
    pub(super) fn trigger(&self) -> Option<Trigger<'_>> {
        Some(match self {
            Self::Metric { metric, .. } | Self::MetricInWindow { metric, .. } => {
                Trigger::Metric(metric)
            }
            Self::Attribute {
                kind: Some(kind), ..
            }
            | Self::TimeOfDay { kind, .. } => Trigger::Kind(kind),
            Self::Attribute { attribute, .. } => Trigger::Attribute(attribute),
            Self::Level { .. } => Trigger::Level,
            Self::Streak { .. } => Trigger::Streak,
            Self::Quests { .. } => Trigger::Quests,
            Self::Achievements { .. } | Self::AchievementsInCategory { .. } => {
                Trigger::Achievements
            }
            Self::Granted | Self::All { .. } | Self::Any { .. } => return None,
        })
    }

    /// Whether this leaf keeps a per-user counter.
    pub(super) fn counts(&self) -> bool {
        matches!(
            self,
            Self::MetricInWindow { .. } | Self::TimeOfDay { .. } | Self::Attribute { .. }
        )
    }

    /// Fold one activity into this leaf's counter `(window, value)`.
    pub(super) fn observe(
        &self,
        counter: &mut (NaiveDate, u64),
        kind: Option<&str>,
        metrics: &[(Name, u64)],
        attributes: &std::collections::BTreeMap<Name, i64>,
        local: &Local,
    ) {
        match self {
            Self::MetricInWindow { metric, window, .. } => {
                let by = metrics
                    .iter()
                    .filter(|(m, _)| m == metric)
                    .fold(0u64, |s, (_, by)| s.saturating_add(*by));
                if by == 0 {
                    return;
                }
                let w = window.first_day_of(local.date());
                if w > counter.0 {
                    *counter = (w, by);
                } else if w == counter.0 {
                    counter.1 = counter.1.saturating_add(by);
                }
            }
            Self::TimeOfDay {
                kind: k,
                from_hour,
                to_hour,
                ..
            } if kind == Some(k.as_str()) => {
                let hour = local.hour();
                let inside = if from_hour < to_hour {
                    *from_hour <= hour && hour < *to_hour
                } else {
                    hour >= *from_hour || hour < *to_hour
                };
                if inside {
                    counter.1 = counter.1.saturating_add(1);
                }
            }
            Self::Attribute {
                kind: k, attribute, ..
            } if k.is_none() || k.as_deref() == kind => {
                if let Some(v) = attributes.get(attribute.as_str()) {
                    counter.1 = counter.1.max(u64::try_from(*v).unwrap_or(0));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn local_hour_and_date_match_chrono_across_zones_and_ranges() {
        let zones = [
            Tz::UTC,
            Tz::Europe__Berlin,
            Tz::America__St_Johns,
            Tz::Pacific__Kiritimati,
            Tz::Pacific__Pago_Pago,
            Tz::Asia__Kathmandu,
        ];
        let mut instants = vec![DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC];
        let start = DateTime::<Utc>::from_timestamp(1_772_000_000, 0).unwrap_or_default();
        // Every 37 minutes from late February over three months (the
        // spring DST changes of 2026 in North America and Europe).
        instants.extend((0..4000).map(|k| start + TimeDelta::minutes(37 * k)));
        // Every minute around St_Johns's fall-back of 2006-10-29 from 00:01
        // to 23:01 of the 28th (02:31 UTC), whose clocks went back a date.
        let fall_back = DateTime::<Utc>::from_timestamp(1_162_080_000, 0).unwrap_or_default();
        instants.extend((0..600).map(|k| fall_back + TimeDelta::minutes(k)));
        instants.sort();
        for tz in zones {
            // The latest date the clocks have shown: a local day, once
            // begun, lasts until the next begins.
            let mut begun = NaiveDate::MIN;
            let mut repeated = 0;
            for &at in &instants {
                let local = Local::new(at, tz);
                let clock = at.with_timezone(&tz);
                assert_eq!(local.hour(), clock.hour(), "{at} {tz}");
                // Chrono's date, clamped like `local_date` where the local
                // time is out of its range.
                let offset = clock.offset().fix();
                let shown = at.naive_utc().checked_add_offset(offset).map_or(
                    if offset.local_minus_utc() > 0 {
                        NaiveDate::MAX
                    } else {
                        NaiveDate::MIN
                    },
                    |t| t.date(),
                );
                begun = begun.max(shown);
                if shown != begun {
                    repeated += 1;
                }
                assert_eq!(local.date(), begun, "{at} {tz}");
                assert_eq!(local.date(), crate::time::local_date(at, tz), "{at} {tz}");
                for window in [LocalWindow::Day, LocalWindow::Week, LocalWindow::Month] {
                    assert_eq!(
                        window.first_day_of(local.date()),
                        window.first_day(at, tz),
                        "{at} {tz}"
                    );
                }
            }
            // Only St_Johns's clocks went back a date here, for the 59
            // minutes from 23:01 to midnight.
            let expected = if tz == Tz::America__St_Johns { 59 } else { 0 };
            assert_eq!(repeated, expected, "{tz}");
        }
    }
}

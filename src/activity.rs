//! What a host reports: an [`Activity`] of a user, and the per-user
//! [`Metrics`] the engine keeps from them.
//!
//! These are the shared words of the pure core: rules, streaks, quests,
//! achievements and boards all read activities and metrics.

use std::collections::BTreeMap;
use std::fmt;

use crate::name::{Name, NameMap};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A user, as the host identifies them.
///
/// A 64-bit id keeps leaderboards compact (a board entry is a few words). A
/// host whose ids are UUIDs or strings keeps its own mapping to these.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct UserId(pub u64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "user#{}", self.0)
    }
}

impl From<u64> for UserId {
    fn from(id: u64) -> Self {
        Self(id)
    }
}

/// The host's id for one activity, used to recognise a repeated delivery.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActivityId(pub Name);

impl fmt::Display for ActivityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<S: Into<Name>> From<S> for ActivityId {
    fn from(id: S) -> Self {
        Self(id.into())
    }
}

/// Something a user did, as reported by the host.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use gamify::activity::{Activity, UserId};
///
/// let post = Activity::new("req-42", UserId(7), "post_created", Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap())
///     .with_metric("posts", 1)
///     .with_attribute("reactions", 0);
/// assert_eq!(post.metric("posts"), 1);
/// ```
///
/// Two activities are equal when they report the same thing: the
/// engine's note [`recorded_at`](Self::recorded_at) is not compared, so a
/// repeated delivery is the same activity whenever it arrives.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    /// The host's id for this activity; a repeat with the same id is a
    /// duplicate delivery.
    pub id: ActivityId,
    /// Who did it.
    pub user: UserId,
    /// What kind of thing it was (`post_created`, `login`).
    pub kind: Name,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Metric increments it causes (`posts += 1`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<Name, u64>,
    /// Facts about it that criteria can test (`reactions = 1000`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<Name, i64>,
    /// The engine's `now` when it recorded the activity, where a replay
    /// needs it and `at` does not tell it; `None` for an activity reported
    /// as it happens. The engine sets it as it records the activity (what a
    /// host sets is replaced), and a store keeps it with the activity.
    ///
    /// - An activity stamped after the engine's `now` (by clock skew, within
    ///   [`Config::future_tolerance_secs`](crate::config::Config::future_tolerance_secs))
    ///   counts in the board windows of `now`, not of `at`:
    ///   [`Engine::replay`](crate::engine::Engine::replay) steps it at the
    ///   same `now`, so it counts in the same windows again.
    /// - An activity dated at or before a board reset made before it was
    ///   recorded (reported late): a replay places it after the reset, as
    ///   it was recorded, not before, as its date would.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<DateTime<Utc>>,
}

impl PartialEq for Activity {
    fn eq(&self, other: &Self) -> bool {
        // Destructured whole, so a field added later is compared or left
        // out here on purpose.
        let Self {
            id,
            user,
            kind,
            at,
            metrics,
            attributes,
            // The engine's note, not part of what the host reported.
            recorded_at: _,
        } = self;
        *id == other.id
            && *user == other.user
            && *kind == other.kind
            && *at == other.at
            && *metrics == other.metrics
            && *attributes == other.attributes
    }
}

impl Eq for Activity {}

impl Activity {
    /// An activity with no metric increments or attributes.
    pub fn new(
        id: impl Into<ActivityId>,
        user: UserId,
        kind: impl Into<Name>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: id.into(),
            user,
            kind: kind.into(),
            at,
            metrics: BTreeMap::new(),
            attributes: BTreeMap::new(),
            recorded_at: None,
        }
    }

    /// Add a metric increment (replacing an earlier one of the same name).
    #[must_use]
    pub fn with_metric(mut self, name: impl Into<Name>, increment: u64) -> Self {
        self.metrics.insert(name.into(), increment);
        self
    }

    /// Add an attribute (replacing an earlier one of the same name).
    #[must_use]
    pub fn with_attribute(mut self, name: impl Into<Name>, value: i64) -> Self {
        self.attributes.insert(name.into(), value);
        self
    }

    /// The increment of metric `name`, 0 when absent.
    pub fn metric(&self, name: &str) -> u64 {
        self.metrics.get(name).copied().unwrap_or(0)
    }

    /// The value of attribute `name`, if present.
    pub fn attribute(&self, name: &str) -> Option<i64> {
        self.attributes.get(name).copied()
    }
}

/// A user's lifetime counters by metric name (`posts`, `followers`).
///
/// Counters saturate at `u64::MAX` rather than wrap.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Metrics(NameMap<u64>);

impl Metrics {
    /// See [`NameMap::touch`].
    pub(crate) fn touch(&self) -> u64 {
        self.0.touch()
    }

    /// No counters yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `name`, 0 when never counted.
    pub fn get(&self, name: &str) -> u64 {
        self.0.get(name).copied().unwrap_or(0)
    }

    /// Add `by` to `name`, saturating; returns the new value.
    pub fn add(&mut self, name: &str, by: u64) -> u64 {
        self.add_counted(name, by).1
    }

    /// Add `by` to `name`, saturating; returns what was actually added and
    /// the new value, with one lookup.
    pub(crate) fn add_counted(&mut self, name: &str, by: u64) -> (u64, u64) {
        match self.0.get_mut(name) {
            Some(value) => {
                let before = *value;
                *value = value.saturating_add(by);
                (*value - before, *value)
            }
            None => {
                self.0.insert(Name::new(name), by);
                (by, by)
            }
        }
    }

    /// Set `name` to `value`.
    pub fn set(&mut self, name: impl Into<Name>, value: u64) {
        self.0.insert(name.into(), value);
    }

    /// Every counter, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_saturate() {
        let mut m = Metrics::new();
        assert_eq!(m.add("posts", 2), 2);
        assert_eq!(m.add("posts", u64::MAX), u64::MAX);
        assert_eq!(m.get("posts"), u64::MAX);
        assert_eq!(m.get("never"), 0);
    }

    #[test]
    fn activity_round_trips_through_json() {
        let a = Activity::new("a1", UserId(3), "post_created", DateTime::UNIX_EPOCH)
            .with_metric("posts", 1)
            .with_attribute("reactions", 1000);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Activity>(&json).unwrap(), a);
    }

    /// The engine's note reads back when set, is left out of the JSON of
    /// every other activity (which reads as it did), and is not compared:
    /// a repeat delivered without it is the same activity.
    #[test]
    fn when_it_was_recorded_round_trips_and_is_not_compared() {
        let at = DateTime::UNIX_EPOCH + chrono::TimeDelta::seconds(60);
        let plain = Activity::new("a1", UserId(3), "post_created", at);
        let json = serde_json::to_string(&plain).unwrap();
        assert!(!json.contains("recorded_at"), "{json}");
        let noted = Activity {
            recorded_at: Some(DateTime::UNIX_EPOCH),
            ..plain.clone()
        };
        let back: Activity = serde_json::from_str(&serde_json::to_string(&noted).unwrap()).unwrap();
        assert_eq!(back.recorded_at, Some(DateTime::UNIX_EPOCH));
        assert_eq!(back, plain);
        assert_ne!(noted, plain.clone().with_metric("posts", 1));
    }
}

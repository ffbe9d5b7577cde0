//! Errors: one crate-wide [`Error`] and the per-operation errors it wraps.
//!
//! Configuration is validated once, when it is built or deserialized; every
//! problem found there is a [`ConfigError`] that names the offending field by
//! its path (`curve.thresholds[3]`,
//! `achievements.achievements[ach_night_owl].criterion`), so a host can point
//! its operator at the line to fix. A part validated on its own (a
//! [`Catalog`](crate::achievement::Catalog), a
//! [`BoardSpec`](crate::leaderboard::BoardSpec)) names the field from that
//! part; loaded in a [`Config`](crate::config::Config), from the
//! configuration's root.

use std::fmt;

/// The crate-wide error: every fallible operation's error converts into it.
// Not `Clone`/`PartialEq`: a store error carries the backend's own error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration (level curve, rule set, catalog, board) was rejected.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Recording an activity or an admin operation changed nothing.
    #[error(transparent)]
    Record(#[from] crate::engine::RecordError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A leaderboard used on its own refused a score change.
    #[error(transparent)]
    Board(#[from] crate::leaderboard::BoardError),
}

/// A rejected configuration: which field is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration at `{field}`: {problem}")]
pub struct ConfigError {
    field: String,
    problem: ConfigProblem,
}

impl ConfigError {
    /// A problem found at `field` (a path such as `curve.growth`).
    pub fn new(field: impl Into<String>, problem: ConfigProblem) -> Self {
        Self {
            field: field.into(),
            problem,
        }
    }

    /// The path of the offending field, for example `curve.thresholds[4]`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong with the field.
    pub fn problem(&self) -> &ConfigProblem {
        &self.problem
    }

    /// Prefix the field path with the name of the enclosing value, so an
    /// error found deep inside a configuration reads from its root.
    #[must_use]
    pub fn within(mut self, parent: impl fmt::Display) -> Self {
        self.field = format!("{parent}.{}", self.field);
        self
    }
}

/// What is wrong with a configuration field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// The value must be greater than zero.
    #[error("must be greater than zero")]
    Zero,
    /// A floating-point parameter is NaN or infinite.
    #[error("must be a finite number")]
    NonFinite,
    /// A sequence that must strictly increase does not.
    #[error("must be strictly increasing")]
    NotIncreasing,
    /// A computed value does not fit the integer type that holds it.
    #[error("overflows the integer range")]
    Overflow,
    /// The value is outside its allowed range; the text says which range.
    #[error("out of range: {0}")]
    OutOfRange(String),
    /// An id or code appears more than once.
    #[error("duplicate `{0}`")]
    Duplicate(String),
    /// A reference to something that does not exist.
    #[error("unknown `{0}`")]
    Unknown(String),
    /// References that form a cycle; the ids along it, in order.
    #[error("cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    /// A list or window that must not be empty is.
    #[error("must not be empty")]
    Empty,
    /// Any other violated rule, described in words.
    #[error("{0}")]
    Invalid(String),
    /// The document does not have the configuration's shape: a value of the
    /// wrong type, an unknown or missing field, an unknown variant, a key
    /// given twice, bad syntax. The text is the format's own message (for
    /// JSON read from text, with its line and column); see
    /// [`Config::from_json`](crate::config::Config::from_json).
    #[error("{0}")]
    Malformed(String),
}

/// Shorthand for results whose error is the crate-wide [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

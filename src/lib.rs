//! # gamify
//!
//! XP, levels, achievements, leaderboards, login streaks and quests for any
//! Rust service — as a library you embed, not a server you run.
//!
//! The core is pure: level math, XP rules, streaks, quests, the achievement
//! evaluator and leaderboard ranking are plain data types and functions. They
//! never read a clock, a store or the environment; every decision that depends
//! on time takes `now` and the user's time zone as arguments. That makes them
//! usable on their own, from any runtime, sync or async.
//!
//! ```
//! use gamify::level::LevelCurve;
//! use gamify::time::{PeriodKind, Tz};
//! use chrono::{TimeZone, Utc};
//!
//! // The built-in "sparkle" curve: level 2 at 100 XP, then ×1.5 a level.
//! let curve = LevelCurve::sparkle();
//! let (before, after) = (90, 90 + 450);
//! let crossed: Vec<u32> = curve.levels_crossed(before, after).collect();
//! assert_eq!(crossed, [2, 3, 4, 5, 6]); // one level-up event per level
//! let progress = curve.progress(after);
//! assert_eq!((progress.level, progress.xp_to_next), (6, Some(759 - 540)));
//!
//! // Which local day an instant falls in, in the user's own zone.
//! let now = Utc.with_ymd_and_hms(2026, 3, 8, 3, 30, 0).unwrap();
//! let today = PeriodKind::Day.containing(now, Tz::America__New_York);
//! assert_eq!(today.first_day().to_string(), "2026-03-07");
//! ```
//!
//! ## Modules
//!
//! The pure core (no IO, no clock reads):
//!
//! - [`level`]: the [`LevelCurve`](level::LevelCurve) — level for an XP
//!   total, progress, levels crossed — and named level bands.
//! - [`time`]: the [`Clock`](time::Clock) trait with system and fake clocks,
//!   and the local calendar (day, week, month in an IANA zone, DST-safe).
//! - [`activity`]: what a host reports ([`Activity`](activity::Activity)) and
//!   the per-user [`Metrics`](activity::Metrics) counters.
//! - [`xp`]: XP rules per activity kind, boosts, caps and cooldowns; an
//!   award decision is a value.
//! - [`streak`]: the daily login streak in the user's own zone, with freezes.
//! - [`quest`]: daily and weekly quests, rewarded once per window.
//! - [`achievement`]: the declarative catalog, its index and evaluator, UI
//!   queries, and the sparkle catalog.
//! - [`leaderboard`]: exact ranks ([`RankedSet`](leaderboard::RankedSet)) and
//!   windowed [`Board`](leaderboard::Board)s.
//! - [`config`]: everything above as one validated, serde-loadable
//!   [`Config`](config::Config), with the sparkle preset.
//! - [`step`]: the pure step — state, activity, `now` in; new state, outcome
//!   and ledger entries out — for hosts that do their own IO.
//! - [`state`], [`outcome`], [`ledger`]: a user's state, what an activity
//!   caused, and the append-only XP and points ledger.
//!
//! Around it:
//!
//! - [`store`]: the [`Store`](store::Store) trait (one atomic
//!   read-modify-write per activity, exactly once), the sharded
//!   [`MemoryStore`](store::MemoryStore), and a conformance suite
//!   (feature `conformance`).
//! - [`sink`]: the [`EventSink`](sink::EventSink) trait and no-op, channel
//!   and collecting sinks.
//! - [`engine`]: the [`Engine`](engine::Engine) a service calls: record,
//!   batches, admin operations, stats, boards, replay.
//! - [`error`]: the crate-wide [`Error`] and the [`ConfigError`] that names
//!   the field a rejected configuration got wrong.
//! - [`Name`] and [`NameMap`]: the identifiers everything is named by
//!   (short ones kept inline) and the small sorted maps a user's state
//!   keeps by them.
//!
//! The arrows point one way: the engine uses the core and the traits;
//! stores and sinks implement the traits; the core uses nothing above it.
//!
//! ## Cargo features
//!
//! Nothing is on by default; the core, the engine and `MemoryStore` need
//! no feature.
//!
//! - `sqlite`: `store::SqliteStore`, the embedded durable
//!   store, on rusqlite with SQLite compiled in (nothing to install): WAL,
//!   one transaction per activity or batch, a versioned schema migrated on
//!   open, and boards rebuilt in memory from the stored states.
//! - `conformance`: `store::conformance`, the test suite every `Store`
//!   passes, public so a host's own store can run it too.
//!
//! ## Errors and panics
//!
//! Configurations are validated once, when built or deserialized; after that
//! evaluation cannot fail on configuration. No input reaches a panic. Game
//! arithmetic is integer, checked or saturating as each function documents.

pub mod achievement;
pub mod activity;
pub mod config;
pub mod engine;
pub mod error;
pub mod leaderboard;
pub mod ledger;
pub mod level;
mod name;
pub mod outcome;
mod pages;
pub mod quest;
pub mod sink;
pub mod state;
pub mod step;
pub mod store;
pub mod streak;
pub mod time;
pub mod xp;

pub use error::{ConfigError, ConfigProblem, Error, Result};
pub use name::{Name, NameEntry, NameMap};

/// The README's code, compiled and run as a doc test so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

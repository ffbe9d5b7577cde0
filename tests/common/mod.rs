//! Fixtures the integration tests share: the instant they start at, a
//! sparkle engine on a fake clock, an engine over a store and clock the
//! test keeps (so a second engine on them is a restart), the
//! ledger-against-balance check, and catalog entries made for a test.
//!
//! Included with `mod common;` by each test file that needs it.

// Every test file that includes this module compiles its own copy and uses
// only part of it.
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use gamify::achievement::{Achievement, Criterion, Rarity};
use gamify::config::Config;
use gamify::engine::Engine;
use gamify::ledger::{Currency, balance};
use gamify::store::{MemoryStore, Store};
use gamify::time::FakeClock;

/// Noon UTC on Monday 4 May 2026: where the tests' clocks start.
pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 4, 12, 0, 0).unwrap()
}

/// An engine running the sparkle configuration on its own in-memory store,
/// and the fake clock it reads, starting at `now`.
pub(crate) fn engine_at(now: DateTime<Utc>) -> (Engine, Arc<FakeClock>) {
    let clock = Arc::new(FakeClock::new(now));
    let engine = Engine::builder(Config::sparkle())
        .clock(clock.clone())
        .build()
        .unwrap();
    (engine, clock)
}

/// An empty in-memory store, shared so the test can read it directly and
/// build a second engine on it.
pub(crate) fn memory_store() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

/// An engine running `config` over `store` and `clock`. Built again on the
/// same store and clock, it is what a restart gives: boards rebuilt from
/// the stored states.
pub(crate) fn engine_on(config: Config, store: &Arc<dyn Store>, clock: &Arc<FakeClock>) -> Engine {
    Engine::builder(config)
        .shared_store(store.clone())
        .clock(clock.clone())
        .build()
        .unwrap()
}

/// Every user's balances equal the sum of their ledger.
pub(crate) fn assert_ledger_explains_balances(engine: &Engine) {
    let store = engine.store();
    for user in store.users().unwrap() {
        let state = store.load(user).unwrap().unwrap();
        let entries = store.ledger(user, 0, usize::MAX).unwrap();
        assert_eq!(
            balance(&entries, Currency::Xp),
            i128::from(state.xp),
            "{user:?} XP"
        );
        assert_eq!(
            balance(&entries, Currency::Points),
            i128::from(state.points),
            "{user:?} points"
        );
    }
}

/// A catalog entry for tests: `criterion` under plain defaults (rare,
/// 100 XP, no points of its own, no tiers, prerequisites or window), which
/// a test changes where it matters.
pub(crate) fn entry(id: &str, criterion: Criterion) -> Achievement {
    Achievement {
        id: id.into(),
        code: id.to_uppercase().into(),
        name: id.into(),
        description: String::new(),
        icon: String::new(),
        animated_icon: None,
        xp: 100,
        points: None,
        rarity: Rarity::Rare,
        category: "test".into(),
        hidden: false,
        seasonal: false,
        available: None,
        prerequisites: vec![],
        criterion,
        tiers: vec![],
    }
}

/// The criterion "`metric` has reached `at_least`", the one most test
/// entries use.
pub(crate) fn metric_at_least(metric: &str, at_least: u64) -> Criterion {
    Criterion::Metric {
        metric: metric.into(),
        at_least,
    }
}

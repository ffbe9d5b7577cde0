//! Implementing `Store` for a host's own persistence.
//!
//! The host here keeps everything in one key-value map of JSON documents —
//! a stand-in for Redis hashes, DynamoDB items or rows of a service's own
//! database. One mutex makes each `transact` atomic; a real backend would use
//! its own transaction (or a compare-and-swap on a version) instead.
//!
//! Run with `cargo run --example custom_store --features conformance`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use gamify::activity::{Activity, UserId};
use gamify::config::Config;
use gamify::engine::Engine;
use gamify::ledger::LedgerEntry;
use gamify::state::UserState;
use gamify::step::StepError;
use gamify::store::{
    BoardReset, Commit, Step, Store, StoreError, TransactError, TransactResult, Transacted,
};
use gamify::time::FakeClock;

/// Everything under string keys, values as JSON text, like a document store.
#[derive(Default)]
struct JsonKvStore {
    kv: Mutex<BTreeMap<String, String>>,
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

impl JsonKvStore {
    fn get<T: serde::de::DeserializeOwned>(
        kv: &BTreeMap<String, String>,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        kv.get(key)
            .map(|text| serde_json::from_str(text).map_err(corrupt))
            .transpose()
    }

    fn put<T: serde::Serialize>(
        kv: &mut BTreeMap<String, String>,
        key: String,
        value: &T,
    ) -> Result<(), StoreError> {
        kv.insert(key, serde_json::to_string(value).map_err(corrupt)?);
        Ok(())
    }
}

impl Store for JsonKvStore {
    fn transact(
        &self,
        user: UserId,
        activity: Option<&Activity>,
        step: &mut Step<'_, StepError>,
    ) -> TransactResult {
        let mut kv = self.kv.lock().unwrap_or_else(|p| p.into_inner());
        // The activity is kept as `user`'s, whatever user it names (the
        // trait's contract): its repeat, sent as `user`'s, is then a repeat.
        let kept = activity.map(|a| Activity { user, ..a.clone() });
        let activity = kept.as_ref();
        // Exactly once: the activity id is a key of its own.
        if let Some(a) = activity {
            let seen: Option<(Activity, gamify::outcome::Outcome)> =
                Self::get(&kv, &format!("activity:{}", a.id))?;
            if let Some((first, outcome)) = seen {
                return if first == *a {
                    Ok(Transacted::Duplicate(outcome))
                } else {
                    Err(TransactError::Conflict(a.id.clone()))
                };
            }
        }
        let mut state: UserState =
            Self::get(&kv, &format!("state:{}", user.0))?.unwrap_or_default();
        let Commit { outcome, ledger } = step(&mut state).map_err(TransactError::Step)?;
        // Write everything, then it is committed (the mutex is our transaction).
        let mut entries: Vec<LedgerEntry> =
            Self::get(&kv, &format!("ledger:{}", user.0))?.unwrap_or_default();
        for draft in ledger {
            let seq = entries.len() as u64;
            entries.push(draft.into_entry(seq, user, outcome.at, activity.map(|a| a.id.clone())));
        }
        Self::put(&mut kv, format!("ledger:{}", user.0), &entries)?;
        Self::put(&mut kv, format!("state:{}", user.0), &state)?;
        if let Some(a) = activity {
            Self::put(&mut kv, format!("activity:{}", a.id), &(a, &outcome))?;
            let mut log: Vec<Activity> =
                Self::get(&kv, &format!("log:{}", user.0))?.unwrap_or_default();
            log.push(a.clone());
            Self::put(&mut kv, format!("log:{}", user.0), &log)?;
        }
        Ok(Transacted::Applied(outcome))
    }

    fn load(&self, user: UserId) -> Result<Option<UserState>, StoreError> {
        let kv = self.kv.lock().unwrap_or_else(|p| p.into_inner());
        Self::get(&kv, &format!("state:{}", user.0))
    }

    fn users(&self) -> Result<Vec<UserId>, StoreError> {
        let kv = self.kv.lock().unwrap_or_else(|p| p.into_inner());
        let mut users: Vec<UserId> = kv
            .keys()
            .filter_map(|k| k.strip_prefix("state:")?.parse().ok().map(UserId))
            .collect();
        users.sort_unstable();
        Ok(users)
    }

    fn ledger(
        &self,
        user: UserId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let kv = self.kv.lock().unwrap_or_else(|p| p.into_inner());
        let all: Vec<LedgerEntry> =
            Self::get(&kv, &format!("ledger:{}", user.0))?.unwrap_or_default();
        Ok(all.into_iter().skip(from as usize).take(limit).collect())
    }

    fn activities(&self, user: UserId) -> Result<Vec<Activity>, StoreError> {
        let kv = self.kv.lock().unwrap_or_else(|p| p.into_inner());
        Ok(Self::get(&kv, &format!("log:{}", user.0))?.unwrap_or_default())
    }

    // Board resets: one list under a key of its own (they are few), so a
    // replay can apply each to every user. Without these two methods the
    // store would work, but `Engine::reset_board` would refuse.
    fn keep_board_reset(&self, reset: &BoardReset) -> Result<(), StoreError> {
        let mut kv = self.kv.lock().unwrap_or_else(|p| p.into_inner());
        let mut resets: Vec<BoardReset> = Self::get(&kv, "resets")?.unwrap_or_default();
        resets.push(reset.clone());
        Self::put(&mut kv, "resets".to_owned(), &resets)
    }

    fn board_resets(&self) -> Result<Vec<BoardReset>, StoreError> {
        let kv = self.kv.lock().unwrap_or_else(|p| p.into_inner());
        Ok(Self::get(&kv, "resets")?.unwrap_or_default())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The same conformance suite MemoryStore passes.
    #[cfg(feature = "conformance")]
    {
        gamify::store::conformance::check_store(JsonKvStore::default);
        println!("JsonKvStore passes the store conformance suite");
    }

    let start = Utc
        .with_ymd_and_hms(2026, 6, 1, 9, 0, 0)
        .single()
        .ok_or("bad date")?;
    let clock = Arc::new(FakeClock::new(start));
    let engine = Engine::builder(Config::sparkle())
        .store(JsonKvStore::default())
        .clock(clock)
        .build()?;
    let post = Activity::new("post-1", UserId(42), "post_created", start);
    let outcome = engine.record(post.clone())?;
    println!(
        "first delivery: {} events, {} XP",
        outcome.outcome.events.len(),
        outcome.outcome.totals.xp
    );
    let again = engine.record(post)?;
    println!(
        "second delivery recognised as duplicate: {}",
        again.duplicate
    );
    let stats = engine.stats(UserId(42))?.ok_or("user 42 has state")?;
    println!("user 42: level {}, {} XP", stats.level, stats.xp);
    Ok(())
}

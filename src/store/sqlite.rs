//! [`SqliteStore`]: the embedded durable store (feature `sqlite`).
//!
//! One SQLite transaction per recorded activity covers the activity id (a
//! primary key, which backs exactly-once), the ledger entries and the user's
//! new state; [`Store::transact_many`] commits a whole batch in one
//! transaction (one fsync). The database runs in WAL mode. Boards are not
//! tables: the engine keeps them in memory and rebuilds them from the users'
//! states when it starts, so no request scans a table.
//!
//! Durability by [`Synchronous`] setting (SQLite's `PRAGMA synchronous` in
//! WAL mode):
//!
//! - [`Full`](Synchronous::Full) (the default): every acknowledged activity
//!   survives a process crash and a power loss.
//! - [`Normal`](Synchronous::Normal): survives a process crash; a power loss
//!   may lose the last transactions (never corrupts the database).
//! - [`Off`](Synchronous::Off): survives a process crash; a power loss may
//!   lose transactions or corrupt the database. For tests and throwaway data.
//!
//! ```
//! # #[cfg(feature = "sqlite")] {
//! use gamify::store::{SqliteStore, Store};
//!
//! let dir = std::env::temp_dir().join(format!("gamify-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let store = SqliteStore::open(dir.join("game.db")).unwrap();
//! assert!(store.users().unwrap().is_empty());
//! assert_eq!(store.integrity_check().unwrap(), "ok");
//! # std::fs::remove_dir_all(&dir).ok();
//! # }
//! ```

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::{
    Commit, IndexedStep, Step, Store, StoreError, TransactError, TransactResult, Transacted, Work,
};
use crate::activity::{Activity, UserId};
use crate::ledger::{Currency, LedgerEntry};
use crate::state::UserState;
use crate::step::StepError;

/// Marks a SQLite file as a gamify database (`PRAGMA application_id`):
/// "gami" in ASCII.
const APPLICATION_ID: i32 = 0x6761_6d69;

/// Migrations, in order: `MIGRATIONS[i]` takes the schema from version `i`
/// to `i + 1`. The schema version is `PRAGMA user_version`.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE users (
        user       INTEGER PRIMARY KEY,
        state      TEXT NOT NULL,
        ledger_len INTEGER NOT NULL
    );
    CREATE TABLE ledger (
        user     INTEGER NOT NULL,
        seq      INTEGER NOT NULL,
        currency TEXT NOT NULL,
        amount   INTEGER NOT NULL,
        entry    TEXT NOT NULL,
        PRIMARY KEY (user, seq)
    ) WITHOUT ROWID;
    CREATE TABLE activities (
        id       TEXT PRIMARY KEY,
        user     INTEGER NOT NULL,
        activity TEXT NOT NULL,
        outcome  TEXT NOT NULL
    );
    CREATE INDEX activities_by_user ON activities (user);
"];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// How hard SQLite syncs to disk; see the module docs for what each
/// setting survives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// Every commit reaches the disk before it is acknowledged.
    #[default]
    Full,
    /// WAL checkpoints sync; commits may be lost on power loss.
    Normal,
    /// No syncs at all.
    Off,
}

/// A durable store in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(e))
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!("a stored value does not parse: {e}"))
}

fn to_json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("cannot encode: {e}")))
}

/// User ids are `u64`; SQLite integers are `i64`. The bits are kept.
fn db_user(user: UserId) -> i64 {
    user.0 as i64
}

impl SqliteStore {
    /// Open (or create) the database at `path` with `synchronous = FULL`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, Synchronous::Full)
    }

    /// Open (or create) the database at `path`. A file that is not a gamify
    /// database, or one written by a newer gamify, is refused and left as it
    /// was; an older schema is migrated.
    pub fn open_with(path: impl AsRef<Path>, synchronous: Synchronous) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let mut conn = Connection::open(&path).map_err(backend)?;
        // Look before writing anything: reading these changes nothing.
        let application_id: i32 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|e| {
                StoreError::Corrupt(format!("{} is not a SQLite database: {e}", path.display()))
            })?;
        let version: i32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(backend)?;
        let objects: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(backend)?;
        let fresh = application_id == 0 && objects == 0;
        if !fresh && application_id != APPLICATION_ID {
            return Err(StoreError::Corrupt(format!(
                "{} is a SQLite database but not a gamify one (application_id {application_id:#x})",
                path.display()
            )));
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::Corrupt(format!(
                "{} has schema version {version}, newer than this gamify's {SCHEMA_VERSION}: upgrade gamify",
                path.display()
            )));
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(backend)?;
        let sync = match synchronous {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
            Synchronous::Off => "OFF",
        };
        conn.pragma_update(None, "synchronous", sync)
            .map_err(backend)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Exclusive)
            .map_err(backend)?;
        for (from, migration) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            tx.execute_batch(migration).map_err(backend)?;
            tx.pragma_update(None, "user_version", from as i32 + 1)
                .map_err(backend)?;
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// SQLite's `PRAGMA integrity_check`: `"ok"` for a sound database.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        self.lock()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(backend)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves at most an open transaction,
        // which rusqlite rolls back when it is dropped: carry on.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run one work item inside the open transaction `tx`.
    fn apply(
        tx: &Transaction<'_>,
        user: UserId,
        activity: Option<&Activity>,
        step: &mut Step<'_, StepError>,
    ) -> TransactResult {
        if let Some(a) = activity {
            let seen: Option<(String, String)> = tx
                .prepare_cached("SELECT activity, outcome FROM activities WHERE id = ?1")
                .and_then(|mut s| {
                    s.query_row([&a.id.0], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })
                .map_err(backend)?;
            if let Some((first, outcome)) = seen {
                let first: Activity = serde_json::from_str(&first).map_err(corrupt)?;
                return if first == *a {
                    Ok(Transacted::Duplicate(
                        serde_json::from_str(&outcome).map_err(corrupt)?,
                    ))
                } else {
                    Err(TransactError::Conflict(a.id.clone()))
                };
            }
        }
        // The ledger's length lives beside the state: a `MAX(seq)` query
        // with a bound user would be re-prepared by SQLite on every call.
        let stored: Option<(String, i64)> = tx
            .prepare_cached("SELECT state, ledger_len FROM users WHERE user = ?1")
            .and_then(|mut s| {
                s.query_row([db_user(user)], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(backend)?;
        let (mut state, first_seq): (UserState, u64) = match stored {
            Some((json, len)) => (serde_json::from_str(&json).map_err(corrupt)?, len as u64),
            None => (UserState::default(), 0),
        };
        let Commit { outcome, ledger } = step(&mut state).map_err(TransactError::Step)?;
        let ledger_len = first_seq + ledger.len() as u64;
        let activity_id = activity.map(|a| a.id.clone());
        for (seq, draft) in (first_seq..).zip(ledger) {
            let entry = draft.into_entry(seq, user, outcome.at, activity_id.clone());
            let currency = match entry.currency {
                Currency::Xp => "xp",
                Currency::Points => "points",
            };
            let json = to_json(&entry)?;
            tx.prepare_cached("INSERT INTO ledger (user, seq, currency, amount, entry) VALUES (?1, ?2, ?3, ?4, ?5)")
                .and_then(|mut s| s.execute(params![db_user(user), seq as i64, currency, entry.amount, json]))
                .map_err(backend)?;
        }
        let json = to_json(&state)?;
        tx.prepare_cached(
            "INSERT INTO users (user, state, ledger_len) VALUES (?1, ?2, ?3) \
             ON CONFLICT (user) DO UPDATE SET state = excluded.state, ledger_len = excluded.ledger_len",
        )
        .and_then(|mut s| s.execute(params![db_user(user), json, ledger_len as i64]))
        .map_err(backend)?;
        if let Some(a) = activity {
            let (json, outcome_json) = (to_json(a)?, to_json(&outcome)?);
            tx.prepare_cached(
                "INSERT INTO activities (id, user, activity, outcome) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(params![a.id.0, db_user(user), json, outcome_json]))
            .map_err(backend)?;
        }
        Ok(Transacted::Applied(outcome))
    }
}

impl Store for SqliteStore {
    fn transact(
        &self,
        user: UserId,
        activity: Option<&Activity>,
        step: &mut Step<'_, StepError>,
    ) -> TransactResult {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let result = Self::apply(&tx, user, activity, step)?;
        if matches!(result, Transacted::Applied(_)) {
            tx.commit().map_err(backend)?;
        }
        Ok(result)
    }

    fn transact_many(
        &self,
        work: &[Work<'_>],
        step: &mut IndexedStep<'_, StepError>,
    ) -> Result<Vec<TransactResult>, StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let mut results = Vec::with_capacity(work.len());
        for (i, w) in work.iter().enumerate() {
            let result = Self::apply(&tx, w.user, w.activity, &mut |state| step(i, state));
            // A backend failure fails the batch: nothing of it is stored.
            if let Err(TransactError::Store(e)) = result {
                return Err(e);
            }
            results.push(result);
        }
        tx.commit().map_err(backend)?;
        Ok(results)
    }

    fn load(&self, user: UserId) -> Result<Option<UserState>, StoreError> {
        let json: Option<String> = self
            .lock()
            .query_row(
                "SELECT state FROM users WHERE user = ?1",
                [db_user(user)],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)?;
        json.map(|j| serde_json::from_str(&j).map_err(corrupt))
            .transpose()
    }

    fn users(&self) -> Result<Vec<UserId>, StoreError> {
        let conn = self.lock();
        let mut statement = conn.prepare("SELECT user FROM users").map_err(backend)?;
        let mut users = statement
            .query_map([], |r| r.get::<_, i64>(0))
            .map_err(backend)?
            .map(|u| u.map(|u| UserId(u as u64)).map_err(backend))
            .collect::<Result<Vec<_>, _>>()?;
        users.sort_unstable();
        Ok(users)
    }

    fn ledger(
        &self,
        user: UserId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let conn = self.lock();
        let mut statement = conn
            .prepare_cached(
                "SELECT entry FROM ledger WHERE user = ?1 AND seq >= ?2 ORDER BY seq LIMIT ?3",
            )
            .map_err(backend)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let from = i64::try_from(from).unwrap_or(i64::MAX);
        statement
            .query_map(params![db_user(user), from, limit], |r| {
                r.get::<_, String>(0)
            })
            .map_err(backend)?
            .map(|j| serde_json::from_str(&j.map_err(backend)?).map_err(corrupt))
            .collect()
    }

    fn ledger_len(&self, user: UserId) -> Result<u64, StoreError> {
        let n: i64 = self
            .lock()
            .query_row(
                "SELECT count(*) FROM ledger WHERE user = ?1",
                [db_user(user)],
                |r| r.get(0),
            )
            .map_err(backend)?;
        Ok(n as u64)
    }

    fn activities(&self, user: UserId) -> Result<Vec<Activity>, StoreError> {
        let conn = self.lock();
        let mut statement = conn
            .prepare_cached("SELECT activity FROM activities WHERE user = ?1 ORDER BY rowid")
            .map_err(backend)?;
        statement
            .query_map([db_user(user)], |r| r.get::<_, String>(0))
            .map_err(backend)?
            .map(|j| serde_json::from_str(&j.map_err(backend)?).map_err(corrupt))
            .collect()
    }
}

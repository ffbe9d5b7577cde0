//! [`SqliteStore`]: the embedded durable store (feature `sqlite`). This
//! module is private: what a host needs to know is on the type, where the
//! rendered docs show it.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::codec;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::{
    BoardReset, Commit, IndexedStep, Step, Store, StoreError, TransactError, TransactResult,
    Transacted, Work,
};
use crate::activity::{Activity, ActivityId, UserId};
use crate::ledger::LedgerEntry;
use crate::outcome::Outcome;
use crate::state::UserState;
use crate::step::StepError;

/// Marks a SQLite file as a gamify database (`PRAGMA application_id`):
/// "gami" in ASCII.
const APPLICATION_ID: i32 = 0x6761_6d69;

/// Migrations, in order: `MIGRATIONS[i]` takes the schema from version `i`
/// to `i + 1`. The schema version is `PRAGMA user_version`.
const MIGRATIONS: &[&str] = &[
    "
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
",
    "
    -- One append-only journal row per applied transaction replaces the
    -- `activities` table and the row-per-entry `ledger`: an activity now
    -- writes one row at the end of one table, one small entry into each
    -- index and the user's state, where it wrote a row into each of two
    -- tables spread over all users plus two index entries.
    --
    -- `ledger_end` is the user's ledger length after the row, so a row
    -- holds entries `ledger_end - n .. ledger_end`; it never decreases for
    -- a user, so `(user, ledger_end, seq)` orders a user's rows as they
    -- were written. New rows hold binary blobs; rows moved here from
    -- version 1 keep their JSON text (one ledger entry per row, the ids,
    -- activities and outcomes as they were), told apart by value type.
    CREATE TABLE journal (
        seq        INTEGER PRIMARY KEY,
        user       INTEGER NOT NULL,
        ledger_end INTEGER NOT NULL,
        id         TEXT,
        activity   BLOB,
        outcome    BLOB,
        ledger     BLOB
    );
    INSERT INTO journal (user, ledger_end, id, activity, outcome, ledger)
        SELECT user, seq + 1, NULL, NULL, NULL, entry FROM ledger ORDER BY user, seq;
    INSERT INTO journal (user, ledger_end, id, activity, outcome, ledger)
        SELECT a.user, (SELECT count(*) FROM ledger l WHERE l.user = a.user),
               a.id, a.activity, a.outcome, NULL
        FROM activities a ORDER BY a.rowid;
    DROP TABLE ledger;
    DROP TABLE activities;
    CREATE UNIQUE INDEX journal_by_id ON journal (id) WHERE id IS NOT NULL;
    CREATE INDEX journal_by_user ON journal (user, ledger_end);
",
    "
    -- One row per board reset, however many users it touched: a replay
    -- applies it to every user, also to one who had nothing on the board
    -- when it was made (and so no ledger entry of it). Resets made before
    -- this version left only those entries; there is nothing to move.
    CREATE TABLE board_resets (
        seq   INTEGER PRIMARY KEY,
        board TEXT NOT NULL,
        secs  INTEGER NOT NULL,
        nanos INTEGER NOT NULL
    );
",
];

/// Files of the first builds of version 1 have no `users.ledger_len` (it
/// was added to version 1 without a version bump): add it, counted from
/// their ledger, before they migrate on.
fn add_missing_ledger_lengths(tx: &Transaction<'_>) -> Result<(), StoreError> {
    let has_column: i64 = tx
        .query_row(
            "SELECT count(*) FROM pragma_table_info('users') WHERE name = 'ledger_len'",
            [],
            |r| r.get(0),
        )
        .map_err(backend)?;
    if has_column == 0 {
        tx.execute_batch(
            "ALTER TABLE users ADD COLUMN ledger_len INTEGER NOT NULL DEFAULT 0;
             UPDATE users SET ledger_len =
                 (SELECT count(*) FROM ledger l WHERE l.user = users.user);",
        )
        .map_err(backend)?;
    }
    Ok(())
}

/// The schema version this build writes.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// The page cache of each connection, in KiB (`PRAGMA cache_size`, negative
/// means KiB): 64 MiB.
const CACHE_SIZE_KIB: i64 = -65_536;

/// WAL pages after which a commit checkpoints (`PRAGMA wal_autocheckpoint`;
/// SQLite's default is 1,000): about 40 MiB of 4 KiB pages.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 10_000;

/// The size, in bytes, the WAL file is truncated to after a checkpoint
/// (`PRAGMA journal_size_limit`), so a burst does not leave a large file.
const JOURNAL_SIZE_LIMIT: i64 = 16 * 1024 * 1024;

/// How hard SQLite syncs to disk; see [`SqliteStore`] for what each
/// setting survives. Serde reads it as `"full"`, `"normal"` or `"off"`,
/// so it can sit in a host's own configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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
///
/// One SQLite transaction per recorded activity covers the activity id (a
/// unique index, which backs exactly-once), the ledger entries and the
/// user's new state (a board reset is one row of a table of its own); [`Store::transact_many`] commits a whole batch in one
/// transaction (one fsync). An applied activity appends one row to an
/// append-only journal (its id, the activity, the outcome and its ledger
/// entries as compact binary blobs) and rewrites the user's state row. The
/// database runs in WAL mode. Boards are not tables: the engine keeps them
/// in memory and rebuilds them from the users' states when it starts, so no
/// request scans a table.
///
/// The schema is versioned (`PRAGMA user_version`, [`SCHEMA_VERSION`]);
/// opening an older file migrates it in one transaction, and a newer or a
/// foreign file is refused untouched.
///
/// Durability by [`Synchronous`] setting (SQLite's `PRAGMA synchronous` in
/// WAL mode):
///
/// - [`Full`](Synchronous::Full) (the default): every acknowledged activity
///   survives a process crash and a power loss.
/// - [`Normal`](Synchronous::Normal): survives a process crash; a power loss
///   may lose the last transactions (never corrupts the database).
/// - [`Off`](Synchronous::Off): survives a process crash; a power loss may
///   lose transactions or corrupt the database. For tests and throwaway data.
///
/// The other settings the store makes (a 64 MiB page cache, a checkpoint
/// every ~40 MiB of WAL) trade memory and disk space for speed and change
/// none of the above; a larger WAL only makes the first open after a crash
/// read more of it.
///
/// ```
/// # #[cfg(feature = "sqlite")] {
/// use gamify::store::{SqliteStore, Store};
///
/// let dir = std::env::temp_dir().join(format!("gamify-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let store = SqliteStore::open(dir.join("game.db")).unwrap();
/// assert!(store.users().unwrap().is_empty());
/// assert_eq!(store.integrity_check().unwrap(), "ok");
/// # std::fs::remove_dir_all(&dir).ok();
/// # }
/// ```
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

/// A user's stored ledger length: a count, so a negative one is corrupt
/// (read as `u64` it would be a huge count that overflows the next one).
fn stored_ledger_len(len: i64) -> Result<u64, StoreError> {
    u64::try_from(len)
        .map_err(|_| StoreError::Corrupt(format!("a stored ledger length is negative: {len}")))
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
        // Performance settings; none of them changes what a commit survives
        // (that is `synchronous` alone) and none is stored in the file.
        //
        // A batch dirties a page per user it touches, spread over the whole
        // file: with SQLite's 2 MiB default cache the pager spills dirty
        // pages into the WAL mid-transaction and reads back pages it just
        // dropped. The cache grows only as pages are used.
        conn.pragma_update(None, "cache_size", CACHE_SIZE_KIB)
            .map_err(backend)?;
        // Checkpoint less often: each checkpoint copies the distinct pages
        // in the WAL into the database and fsyncs it, so a longer WAL copies
        // a page rewritten by many commits once. The cost: a WAL up to this
        // size on disk (truncated back after a checkpoint) and a longer
        // recovery scan when opening after a crash.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
            .map_err(backend)?;
        conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
            .map_err(backend)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Exclusive)
            .map_err(backend)?;
        for (from, migration) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            if from == 1 {
                add_missing_ledger_lengths(&tx)?;
            }
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
            let seen: Option<(i64, Value, Value)> = tx
                .prepare_cached("SELECT user, activity, outcome FROM journal WHERE id = ?1")
                .and_then(|mut s| {
                    s.query_row([a.id.0.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .optional()
                })
                .map_err(backend)?;
            if let Some((first_user, first, outcome)) = seen {
                // The user comes from the row: the same id sent for another
                // user is a conflict, not a duplicate.
                let first = decode_activity(a.id.clone(), UserId(first_user as u64), first)?;
                return if first == *a {
                    Ok(Transacted::Duplicate(decode_outcome(outcome)?))
                } else {
                    Err(TransactError::Conflict(a.id.clone()))
                };
            }
        }
        // The ledger's length lives beside the state: a `MAX(seq)` query
        // with a bound user would be re-prepared by SQLite on every call.
        let stored: Option<(Value, i64)> = tx
            .prepare_cached("SELECT state, ledger_len FROM users WHERE user = ?1")
            .and_then(|mut s| {
                s.query_row([db_user(user)], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(backend)?;
        let (mut state, first_seq): (UserState, u64) = match stored {
            Some((state, len)) => (decode_state(state)?, stored_ledger_len(len)?),
            None => (UserState::default(), 0),
        };
        let Commit { outcome, ledger } = step(&mut state).map_err(TransactError::Step)?;
        let ledger_len = u64::try_from(ledger.len())
            .ok()
            .and_then(|n| first_seq.checked_add(n))
            .and_then(|n| i64::try_from(n).ok())
            .ok_or_else(|| {
                StoreError::Corrupt(format!("a ledger length overflows: {first_seq}"))
            })?;
        // An activity that moved no balance (a capped one) writes no
        // ledger blob at all.
        let ledger_blob = (!ledger.is_empty()).then(|| codec::encode_ledger(outcome.at, &ledger));
        let state_value = codec::encode_state(&state);
        tx.prepare_cached(
            "INSERT INTO users (user, state, ledger_len) VALUES (?1, ?2, ?3) \
             ON CONFLICT (user) DO UPDATE SET state = excluded.state, ledger_len = excluded.ledger_len",
        )
        .and_then(|mut s| s.execute(params![db_user(user), state_value, ledger_len]))
        .map_err(backend)?;
        // Admin updates (no activity) keep only their ledger entries: an
        // outcome is read back only to answer a duplicate delivery.
        let (id, activity_blob, outcome_value) = match activity {
            Some(a) => (
                Some(a.id.0.as_str()),
                Some(codec::encode_activity(a)),
                Some(codec::encode_outcome(&outcome)),
            ),
            None => (None, None, None),
        };
        if id.is_some() || ledger_blob.is_some() {
            tx.prepare_cached(
                "INSERT INTO journal (user, ledger_end, id, activity, outcome, ledger) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    db_user(user),
                    ledger_len,
                    id,
                    activity_blob,
                    outcome_value,
                    ledger_blob
                ])
            })
            .map_err(backend)?;
        }
        Ok(Transacted::Applied(outcome))
    }
}

/// A stored activity: binary, or JSON text from schema version 1.
fn decode_activity(id: ActivityId, user: UserId, value: Value) -> Result<Activity, StoreError> {
    match value {
        Value::Blob(bytes) => codec::decode_activity(id, user, &bytes),
        Value::Text(json) => serde_json::from_str(&json).map_err(corrupt),
        other => Err(unexpected("activity", &other)),
    }
}

/// A stored outcome: binary, or JSON text from schema version 1.
fn decode_outcome(value: Value) -> Result<Outcome, StoreError> {
    match value {
        Value::Blob(bytes) => codec::decode_outcome(&bytes),
        Value::Text(json) => serde_json::from_str(&json).map_err(corrupt),
        other => Err(unexpected("outcome", &other)),
    }
}

/// A stored user state: binary, or JSON text from schema version 1 (a
/// state is rewritten in binary the next time its user changes).
fn decode_state(value: Value) -> Result<UserState, StoreError> {
    match value {
        Value::Blob(bytes) => codec::decode_state(&bytes),
        Value::Text(json) => serde_json::from_str(&json).map_err(corrupt),
        other => Err(unexpected("user state", &other)),
    }
}

fn unexpected(what: &str, value: &Value) -> StoreError {
    StoreError::Corrupt(format!(
        "a stored {what} has the unexpected type {:?}",
        value.data_type()
    ))
}

/// The ledger entries of one journal row, numbered to end before
/// `ledger_end`: a binary blob of the row's entries, or one entry as JSON
/// text from schema version 1.
fn row_entries(
    user: UserId,
    ledger_end: i64,
    id: Option<String>,
    ledger: Value,
) -> Result<Vec<LedgerEntry>, StoreError> {
    match ledger {
        Value::Null => Ok(Vec::new()),
        Value::Blob(bytes) => {
            let n = codec::ledger_count(&bytes)?;
            let first = (ledger_end as u64).checked_sub(n).ok_or_else(|| {
                StoreError::Corrupt("a journal row's ledger_end is too small".into())
            })?;
            codec::decode_ledger(&bytes, user, id.map(ActivityId::from).as_ref(), first)
        }
        Value::Text(json) => Ok(vec![serde_json::from_str(&json).map_err(corrupt)?]),
        other => Err(unexpected("ledger entry", &other)),
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
        let state: Option<Value> = self
            .lock()
            .prepare_cached("SELECT state FROM users WHERE user = ?1")
            .and_then(|mut s| s.query_row([db_user(user)], |r| r.get(0)).optional())
            .map_err(backend)?;
        state.map(decode_state).transpose()
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
        let mut entries = Vec::new();
        if limit == 0 {
            return Ok(entries);
        }
        let conn = self.lock();
        // Rows ending after `from`, in order; the first may start before it.
        let mut statement = conn
            .prepare_cached(
                "SELECT ledger_end, id, ledger FROM journal \
                 WHERE user = ?1 AND ledger_end > ?2 AND ledger IS NOT NULL \
                 ORDER BY ledger_end, seq",
            )
            .map_err(backend)?;
        let from_db = i64::try_from(from).unwrap_or(i64::MAX);
        let mut rows = statement
            .query(params![db_user(user), from_db])
            .map_err(backend)?;
        while let Some(row) = rows.next().map_err(backend)? {
            let (end, id, ledger) = (
                row.get(0).map_err(backend)?,
                row.get(1).map_err(backend)?,
                row.get(2).map_err(backend)?,
            );
            for entry in row_entries(user, end, id, ledger)? {
                if entry.seq >= from {
                    entries.push(entry);
                    if entries.len() == limit {
                        return Ok(entries);
                    }
                }
            }
        }
        Ok(entries)
    }

    fn ledger_len(&self, user: UserId) -> Result<u64, StoreError> {
        let n: Option<i64> = self
            .lock()
            .prepare_cached("SELECT ledger_len FROM users WHERE user = ?1")
            .and_then(|mut s| s.query_row([db_user(user)], |r| r.get(0)).optional())
            .map_err(backend)?;
        n.map_or(Ok(0), stored_ledger_len)
    }

    fn activities(&self, user: UserId) -> Result<Vec<Activity>, StoreError> {
        let conn = self.lock();
        let mut statement = conn
            .prepare_cached(
                "SELECT id, activity FROM journal \
                 WHERE user = ?1 AND id IS NOT NULL ORDER BY ledger_end, seq",
            )
            .map_err(backend)?;
        let rows = statement
            .query_map([db_user(user)], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Value>(1)?))
            })
            .map_err(backend)?;
        rows.map(|row| {
            let (id, activity) = row.map_err(backend)?;
            decode_activity(ActivityId::from(id), user, activity)
        })
        .collect()
    }

    fn keep_board_reset(&self, reset: &BoardReset) -> Result<(), StoreError> {
        // One statement: atomic and durable on its own.
        self.lock()
            .prepare_cached("INSERT INTO board_resets (board, secs, nanos) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| {
                s.execute(params![
                    reset.board.as_str(),
                    reset.at.timestamp(),
                    reset.at.timestamp_subsec_nanos()
                ])
            })
            .map_err(backend)?;
        Ok(())
    }

    fn board_resets(&self) -> Result<Vec<BoardReset>, StoreError> {
        let conn = self.lock();
        let mut statement = conn
            .prepare_cached("SELECT board, secs, nanos FROM board_resets ORDER BY seq")
            .map_err(backend)?;
        let rows = statement
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(backend)?;
        rows.map(|row| {
            let (board, secs, nanos) = row.map_err(backend)?;
            let at = u32::try_from(nanos)
                .ok()
                .and_then(|nanos| chrono::DateTime::from_timestamp(secs, nanos))
                .ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "a stored board reset's time is out of range: {secs} s {nanos} ns"
                    ))
                })?;
            Ok(BoardReset {
                board: board.into(),
                at,
            })
        })
        .collect()
    }
}

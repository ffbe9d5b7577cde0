//! SqliteStore: reopening keeps everything, bad files are refused and left
//! untouched, and a writer killed with SIGKILL at random moments never loses
//! an acknowledged activity or leaves one half-applied.
#![cfg(feature = "sqlite")]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use gamify::activity::{Activity, UserId};
use gamify::config::Config;
use gamify::engine::Engine;
use gamify::ledger::{Currency, balance};
use gamify::store::{SqliteStore, Store, StoreError, Synchronous};
use gamify::time::FakeClock;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 4, 12, 0, 0).unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gamify-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn engine(path: &Path) -> Engine {
    Engine::builder(Config::sparkle())
        .store(SqliteStore::open(path).unwrap())
        .clock(FakeClock::new(now()))
        .build()
        .unwrap()
}

#[test]
fn reopening_keeps_state_ledger_ids_and_boards() {
    let dir = temp_dir("reopen");
    let path = dir.join("game.db");
    let (state, top) = {
        let engine = engine(&path);
        for i in 0..30u64 {
            let kind = ["post_created", "comment_created", "follow_received"][(i % 3) as usize];
            engine
                .record(Activity::new(format!("a{i}"), UserId(i % 4), kind, now()))
                .unwrap();
        }
        (
            engine.store().load(UserId(1)).unwrap(),
            engine.board("xp_all_time").unwrap().top(4),
        )
    };
    let engine = engine(&path);
    assert_eq!(engine.store().load(UserId(1)).unwrap(), state);
    assert_eq!(
        engine.board("xp_all_time").unwrap().top(4),
        top,
        "boards are rebuilt on open"
    );
    let again = engine
        .record(Activity::new("a1", UserId(1), "comment_created", now()))
        .unwrap();
    assert!(again.duplicate, "ids are remembered across restarts");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_files_are_refused_and_left_untouched() {
    let dir = temp_dir("bad");
    let text = dir.join("notes.txt");
    std::fs::write(
        &text,
        "these are not the bytes you are looking for\n".repeat(200),
    )
    .unwrap();
    let before = std::fs::read(&text).unwrap();
    let err = SqliteStore::open(&text).unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt(m) if m.contains("not a SQLite database")),
        "{err}"
    );
    assert_eq!(std::fs::read(&text).unwrap(), before);

    // A SQLite database of another application.
    let other = dir.join("other.db");
    drop(SqliteStore::open_with(&other, Synchronous::Off).unwrap());
    set_pragma(&other, "application_id", 0x1234);
    let before = std::fs::read(&other).unwrap();
    let err = SqliteStore::open(&other).unwrap_err();
    assert!(err.to_string().contains("not a gamify"), "{err}");
    assert_eq!(std::fs::read(&other).unwrap(), before);

    let newer = dir.join("newer.db");
    drop(SqliteStore::open(&newer).unwrap());
    bump_schema(&newer);
    let before = std::fs::read(&newer).unwrap();
    let err = SqliteStore::open(&newer).unwrap_err();
    assert!(err.to_string().contains("newer"), "{err}");
    assert_eq!(std::fs::read(&newer).unwrap(), before);
    std::fs::remove_dir_all(&dir).ok();
}

fn bump_schema(path: &Path) {
    set_pragma(path, "user_version", 99);
}

/// Set a header pragma by patching the file header (offsets from the SQLite
/// file format: user_version at 60, application_id at 68, big-endian).
fn set_pragma(path: &Path, pragma: &str, value: u32) {
    let offset = match pragma {
        "user_version" => 60,
        "application_id" => 68,
        _ => unreachable!(),
    };
    // Make sure the WAL is checkpointed into the main file first.
    drop(SqliteStore::open_with(path, Synchronous::Off));
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset..offset + 4].copy_from_slice(&value.to_be_bytes());
    std::fs::write(path, bytes).unwrap();
    for ext in ["-wal", "-shm"] {
        std::fs::remove_file(format!("{}{ext}", path.display())).ok();
    }
}

/// Helper run as a child: records until killed, printing each acknowledged
/// activity id.
#[test]
fn crash_child() {
    let Some(path) = std::env::var_os("GAMIFY_CRASH_DB") else {
        return;
    };
    let cycle = std::env::var("GAMIFY_CRASH_CYCLE").unwrap();
    let engine = Engine::builder(Config::sparkle())
        .store(SqliteStore::open(&path).unwrap())
        .clock(FakeClock::new(now()))
        .build()
        .unwrap();
    for i in 0.. {
        let id = format!("c{cycle}-{i}");
        let activity = Activity::new(id.clone(), UserId(i % 7), "comment_created", now());
        if i % 5 == 4 {
            // Some batches too.
            let batch: Vec<_> = (0..3)
                .map(|j| Activity::new(format!("{id}-b{j}"), UserId(j), "comment_created", now()))
                .collect();
            for r in engine.record_batch(&batch).unwrap() {
                println!("ack {}", r.unwrap().outcome.activity.unwrap().0);
            }
        } else {
            engine.record(activity).unwrap();
            println!("ack {id}");
        }
    }
}

#[test]
fn sigkill_at_random_moments_loses_nothing_acknowledged() {
    let cycles: u64 = std::env::var("GAMIFY_CRASH_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(200);
    let dir = temp_dir("crash");
    let path = dir.join("crash.db");
    let mut acked: BTreeSet<String> = BTreeSet::new();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for cycle in 0..cycles {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env("GAMIFY_CRASH_DB", &path)
            .env("GAMIFY_CRASH_CYCLE", cycle.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| l.strip_prefix("ack ").map(str::to_owned))
                .collect::<Vec<_>>()
        });
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(10 + seed % 60));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        acked.extend(reader.join().unwrap());

        let store = Arc::new(SqliteStore::open(&path).unwrap());
        assert_eq!(store.integrity_check().unwrap(), "ok", "cycle {cycle}");
        let mut present = BTreeSet::new();
        for user in store.users().unwrap() {
            let activities = store.activities(user).unwrap();
            let state = store.load(user).unwrap().unwrap();
            // Not half-applied: state, ledger and recorded ids agree.
            assert_eq!(
                state.metrics.get("comments"),
                activities.len() as u64,
                "cycle {cycle} {user:?}"
            );
            let ledger = store.ledger(user, 0, usize::MAX).unwrap();
            assert_eq!(
                balance(&ledger, Currency::Xp),
                i128::from(state.xp),
                "cycle {cycle} {user:?}"
            );
            assert_eq!(balance(&ledger, Currency::Points), i128::from(state.points));
            present.extend(activities.into_iter().map(|a| a.id.0.to_string()));
        }
        let lost: Vec<_> = acked.difference(&present).collect();
        assert!(
            lost.is_empty(),
            "cycle {cycle}: acknowledged but lost: {lost:?}"
        );
    }
    assert!(
        acked.len() as u64 > cycles,
        "the child made progress ({} acknowledged)",
        acked.len()
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Schema version 1 exactly as that version created it: the fixture for the
/// migration test.
const SCHEMA_V1: &str = "
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
    PRAGMA user_version = 1;
    PRAGMA application_id = 1734438249;
";

#[test]
fn a_version_1_file_is_migrated_and_keeps_everything() {
    check_version_1_migration(false);
}

/// The first builds of version 1 kept no `users.ledger_len` column (it was
/// added without a version bump); such files migrate too.
#[test]
fn an_early_version_1_file_without_ledger_lengths_is_migrated() {
    check_version_1_migration(true);
}

fn check_version_1_migration(early: bool) {
    let dir = temp_dir(if early { "migrate-early" } else { "migrate" });
    let path = dir.join("v1.db");
    // The reference: the same history in a MemoryStore.
    let reference = Engine::builder(Config::sparkle())
        .clock(FakeClock::new(now()))
        .build()
        .unwrap();
    let mut recorded = Vec::new();
    for i in 0..40u64 {
        let kind = [
            "post_created",
            "comment_created",
            "follow_received",
            "reaction_given",
        ][(i % 4) as usize];
        let a = Activity::new(format!("v1-{i}"), UserId(i % 3), kind, now())
            .with_metric("posts", i % 2)
            .with_attribute("reactions", -(i as i64));
        let outcome = reference.record(a.clone()).unwrap().outcome;
        recorded.push((a, outcome));
    }
    reference
        .adjust(UserId(1), Currency::Points, 5, "a gift")
        .unwrap();
    reference
        .adjust(UserId(7), Currency::Xp, 3, "admin only")
        .unwrap();
    let store = reference.store();
    let users = store.users().unwrap();

    // Write the history as version 1 wrote it.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(SCHEMA_V1).unwrap();
        for &user in &users {
            let state = store.load(user).unwrap().unwrap();
            let ledger = store.ledger(user, 0, usize::MAX).unwrap();
            conn.execute(
                "INSERT INTO users (user, state, ledger_len) VALUES (?1, ?2, ?3)",
                rusqlite::params![
                    user.0 as i64,
                    serde_json::to_string(&state).unwrap(),
                    ledger.len() as i64
                ],
            )
            .unwrap();
            for e in &ledger {
                let currency = match e.currency {
                    Currency::Xp => "xp",
                    Currency::Points => "points",
                };
                conn.execute(
                    "INSERT INTO ledger (user, seq, currency, amount, entry) VALUES (?1, ?2, ?3, ?4, ?5)",
                    rusqlite::params![
                        user.0 as i64,
                        e.seq as i64,
                        currency,
                        e.amount,
                        serde_json::to_string(e).unwrap()
                    ],
                )
                .unwrap();
            }
        }
        for (a, outcome) in &recorded {
            conn.execute(
                "INSERT INTO activities (id, user, activity, outcome) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    a.id.0.as_str(),
                    a.user.0 as i64,
                    serde_json::to_string(a).unwrap(),
                    serde_json::to_string(outcome).unwrap()
                ],
            )
            .unwrap();
        }
        if early {
            conn.execute_batch("ALTER TABLE users DROP COLUMN ledger_len")
                .unwrap();
        }
    }

    let migrated = engine(&path);
    let sqlite = migrated.store();
    assert_eq!(sqlite.users().unwrap(), users);
    for &user in &users {
        assert_eq!(sqlite.load(user).unwrap(), store.load(user).unwrap());
        assert_eq!(
            sqlite.ledger(user, 0, usize::MAX).unwrap(),
            store.ledger(user, 0, usize::MAX).unwrap()
        );
        assert_eq!(
            sqlite.ledger(user, 3, 4).unwrap(),
            store.ledger(user, 3, 4).unwrap()
        );
        assert_eq!(
            sqlite.ledger_len(user).unwrap(),
            store.ledger_len(user).unwrap()
        );
        assert_eq!(
            sqlite.activities(user).unwrap(),
            store.activities(user).unwrap()
        );
    }
    // Ids recorded by version 1 are still recognised, with their outcomes.
    for (a, outcome) in &recorded[..5] {
        let again = migrated.record(a.clone()).unwrap();
        assert!(again.duplicate);
        assert_eq!(&again.outcome, outcome);
    }
    let mut changed = recorded[0].0.clone();
    changed.kind = "reaction_given".into();
    assert!(
        migrated.record(changed).is_err(),
        "a changed payload conflicts"
    );
    // New activities continue the histories exactly as the reference does.
    for i in 0..6u64 {
        let a = Activity::new(format!("v2-{i}"), UserId(i % 4), "comment_created", now());
        assert_eq!(
            migrated.record(a.clone()).unwrap(),
            reference.record(a).unwrap()
        );
    }
    migrated
        .adjust(UserId(2), Currency::Xp, 1, "after")
        .unwrap();
    reference
        .adjust(UserId(2), Currency::Xp, 1, "after")
        .unwrap();
    for user in store.users().unwrap() {
        assert_eq!(sqlite.load(user).unwrap(), store.load(user).unwrap());
        assert_eq!(
            sqlite.ledger(user, 0, usize::MAX).unwrap(),
            store.ledger(user, 0, usize::MAX).unwrap()
        );
        assert_eq!(
            sqlite.ledger_len(user).unwrap(),
            store.ledger_len(user).unwrap()
        );
        assert_eq!(
            sqlite.activities(user).unwrap(),
            store.activities(user).unwrap()
        );
    }
    // A history written before grants and time-zone changes were ledger
    // entries still replays, to what it built.
    let report = migrated.replay_dry_run().unwrap();
    assert!(report.changes.is_empty(), "{:?}", report.changes);
    drop(migrated);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, gamify::store::SCHEMA_VERSION);
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    std::fs::remove_dir_all(&dir).ok();
}

/// A file of schema version 2 (before board resets were kept: no
/// `board_resets` table, a reset left only its ledger entries) is migrated
/// on open, keeping everything; its history replays as before, and it then
/// keeps board resets across a reopen.
#[test]
fn a_version_2_file_is_migrated_and_then_keeps_board_resets() {
    use gamify::store::BoardReset;

    let dir = temp_dir("migrate-2");
    let path = dir.join("v2.db");
    let e = engine(&path);
    for i in 0..5u64 {
        e.record(Activity::new(
            format!("a{i}"),
            UserId(i % 2),
            "post_created",
            now(),
        ))
        .unwrap();
    }
    e.adjust(UserId(1), Currency::Points, 9, "gift").unwrap();
    assert!(e.reset_board("xp_daily").unwrap());
    e.record(Activity::new("after", UserId(1), "comment_created", now()))
        .unwrap();
    let users = e.store().users().unwrap();
    let kept = |store: &dyn Store| {
        users
            .iter()
            .map(|&u| {
                (
                    store.load(u).unwrap(),
                    store.ledger(u, 0, usize::MAX).unwrap(),
                    store.activities(u).unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    let before = kept(e.store());
    drop(e);
    // As version 2 left it.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TABLE board_resets; PRAGMA user_version = 2;")
        .unwrap();
    drop(conn);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.users().unwrap(), users);
    assert_eq!(kept(&store), before);
    assert_eq!(store.board_resets().unwrap(), vec![]);
    let e = engine_on(store);
    let report = e.replay_dry_run().unwrap();
    assert!(report.changes.is_empty(), "{:?}", report.changes);
    drop(e);
    let store = SqliteStore::open(&path).unwrap();
    let reset = BoardReset {
        board: "xp_daily".into(),
        at: now() + chrono::TimeDelta::nanoseconds(1_500_000_001),
    };
    store.keep_board_reset(&reset).unwrap();
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.board_resets().unwrap(), [reset]);
    assert_eq!(store.integrity_check().unwrap(), "ok");
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, gamify::store::SCHEMA_VERSION);
    assert_eq!(version, 3);
    drop(conn);
    std::fs::remove_dir_all(&dir).ok();
}

/// A long, varied history (every activity kind, caps, level-ups, unlocks,
/// quests, streaks kept, frozen and broken, time zones, every admin
/// operation) gives exactly what MemoryStore gives, and after a reopen the
/// stored states, ledgers, activities and first outcomes read back equal.
#[test]
fn a_varied_history_matches_the_memory_store_and_reads_back_exactly() {
    const KINDS: [&str; 16] = [
        "comment_created",
        "comment_liked",
        "comment_thread_popular",
        "daily_login",
        "follow_given",
        "follow_received",
        "post_created",
        "post_featured",
        "post_trending",
        "post_viral",
        "reaction_given",
        "reaction_received",
        "sparkle_reaction_given",
        "watch_party_hosted",
        "youtube_connected",
        "no_such_kind",
    ];
    let dir = temp_dir("varied");
    let path = dir.join("varied.db");
    let start = now();
    let (mem_clock, sql_clock) = (
        Arc::new(FakeClock::new(start)),
        Arc::new(FakeClock::new(start)),
    );
    let reference = Engine::builder(Config::sparkle())
        .clock(ClockRef(mem_clock.clone()))
        .build()
        .unwrap();
    let engine = Engine::builder(Config::sparkle())
        .store(SqliteStore::open(&path).unwrap())
        .clock(ClockRef(sql_clock.clone()))
        .build()
        .unwrap();
    let mut sent = Vec::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for day in 0..120i64 {
        // Days skipped now and then: streaks freeze and break.
        if day % 11 == 5 || day % 17 == 3 || day % 29 == 7 {
            continue;
        }
        let at = start + chrono::TimeDelta::days(day) + chrono::TimeDelta::minutes(day * 7);
        mem_clock.set(at);
        sql_clock.set(at);
        for j in 0..12u64 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let kind = KINDS[(seed % KINDS.len() as u64) as usize];
            let a = Activity::new(format!("v{day}-{j}"), UserId(seed % 3), kind, at)
                .with_metric("reactions", seed % 40)
                .with_attribute("trending_posts", (seed % 5) as i64)
                .with_attribute("reactions", (seed % 2000) as i64);
            let expected = reference.record(a.clone());
            let got = engine.record(a.clone());
            assert_eq!(format!("{got:?}"), format!("{expected:?}"), "{a:?}");
            if let Ok(r) = got {
                sent.push((a, r.outcome));
            }
        }
        let admin = |e: &Engine| -> String {
            let u = UserId(day as u64 % 3);
            format!(
                "{:?}",
                match day % 10 {
                    1 => e.adjust(u, Currency::Points, 7, "gift"),
                    2 => e.adjust(u, Currency::Xp, -3, "fix"),
                    3 => e.set_time_zone(u, "Asia/Kolkata".parse().unwrap()),
                    4 => e.grant(u, "ach_bug_hunter"),
                    6 => e.revoke(u, "ach_bug_hunter"),
                    8 => e
                        .reset_board("xp_daily")
                        .map(|_| gamify::outcome::Outcome::new(u, None, at)),
                    _ => return String::new(),
                }
            )
        };
        assert_eq!(admin(&engine), admin(&reference), "day {day}");
    }
    drop(engine);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.users().unwrap(), reference.store().users().unwrap());
    for user in store.users().unwrap() {
        assert_eq!(
            store.load(user).unwrap(),
            reference.store().load(user).unwrap()
        );
        assert_eq!(
            store.ledger(user, 0, usize::MAX).unwrap(),
            reference.store().ledger(user, 0, usize::MAX).unwrap()
        );
        assert_eq!(
            store.activities(user).unwrap(),
            reference.store().activities(user).unwrap()
        );
    }
    let engine = engine_on(store);
    for (a, outcome) in &sent {
        let again = engine.record(a.clone()).unwrap();
        assert!(again.duplicate);
        assert_eq!(&again.outcome, outcome);
    }
    assert!(sent.len() > 500, "{} applied", sent.len());
    // The history reached every kind of event an activity can cause.
    let kinds: BTreeSet<String> = sent
        .iter()
        .flat_map(|(_, o)| &o.events)
        .map(|e| {
            format!("{e:?}")
                .split([' ', '(', '{'])
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    for kind in [
        "XpAwarded",
        "LevelUp",
        "AchievementUnlocked",
        "AchievementProgress",
        "QuestCompleted",
        "Streak",
        "MetricsIncremented",
    ] {
        assert!(kinds.contains(kind), "no {kind} in {kinds:?}");
    }
    let streaks: BTreeSet<String> = sent
        .iter()
        .flat_map(|(_, o)| &o.events)
        .filter_map(|e| match e {
            gamify::outcome::Event::Streak(s) => Some(
                format!("{s:?}")
                    .split([' ', '{'])
                    .next()
                    .unwrap_or("")
                    .to_owned(),
            ),
            _ => None,
        })
        .collect();
    // ... and every streak change a day can make (a repeat the same day
    // or a late activity is not an event).
    for change in ["Started", "Extended", "Frozen", "Broken"] {
        assert!(streaks.contains(change), "no {change} in {streaks:?}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

fn engine_on(store: SqliteStore) -> Engine {
    Engine::builder(Config::sparkle())
        .store(store)
        .clock(FakeClock::new(now()))
        .build()
        .unwrap()
}

/// A shared fake clock, so the test can move it while the engine holds it.
struct ClockRef(Arc<FakeClock>);

impl gamify::time::Clock for ClockRef {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }
}

/// A state written before revocations were remembered (state format 1:
/// level 2, 170 XP, 3 points, one post, `ach_first_post` unlocked) still
/// loads from a file, with nothing revoked; written again, it keeps a
/// revocation across a reopen.
#[test]
fn a_state_blob_of_format_1_loads_and_is_rewritten_with_revocations() {
    const FORMAT_1: [u8; 50] = [
        1, 170, 1, 3, 2, 0, 1, 5, 112, 111, 115, 116, 115, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 14, 97,
        99, 104, 95, 102, 105, 114, 115, 116, 95, 112, 111, 115, 116, 226, 241, 181, 159, 13, 5, 1,
        0, 10, 0, 10, 0,
    ];
    let dir = temp_dir("state-format-1");
    let path = dir.join("g.db");
    let e = engine(&path);
    e.record(Activity::new("p1", UserId(1), "post_created", now()))
        .unwrap();
    drop(e);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE users SET state = ?1 WHERE user = 1",
        [&FORMAT_1[..]],
    )
    .unwrap();
    drop(conn);

    let e = engine(&path);
    let state = e.store().load(UserId(1)).unwrap().unwrap();
    assert_eq!((state.xp, state.level), (170, 2));
    assert!(state.achievements.is_unlocked("ach_first_post"));
    assert!(state.achievements.revoked.is_empty());
    e.revoke(UserId(1), "ach_first_post").unwrap();
    drop(e);

    let e = engine(&path);
    let state = e.store().load(UserId(1)).unwrap().unwrap();
    assert!(state.achievements.is_revoked("ach_first_post"));
    assert!(!state.achievements.is_unlocked("ach_first_post"));
    drop(e);
    std::fs::remove_dir_all(&dir).ok();
}

/// Every admin operation's ledger entry (grant, revocation, adjustment,
/// time-zone change, board reset) reads back from a reopened file, and the
/// history replays from it to what it built.
#[test]
fn admin_entries_survive_a_reopen_and_replay_to_the_same_state() {
    let dir = temp_dir("admin-replay");
    let path = dir.join("g.db");
    let clock = Arc::new(FakeClock::new(now()));
    let open = |clock: &Arc<FakeClock>| {
        Engine::builder(Config::sparkle())
            .store(SqliteStore::open(&path).unwrap())
            .clock(ClockRef(clock.clone()))
            .build()
            .unwrap()
    };
    let e = open(&clock);
    let user = UserId(1);
    let mut at = now();
    let mut step = |e: &Engine, i: u32, kind: &str| {
        at += chrono::TimeDelta::minutes(20);
        clock.set(at);
        e.record(Activity::new(format!("a{i}"), user, kind, at))
            .unwrap();
    };
    step(&e, 0, "post_created");
    e.grant(user, "ach_early_adopter").unwrap();
    step(&e, 1, "daily_login");
    e.adjust(user, Currency::Xp, 2_000, "migration").unwrap();
    step(&e, 2, "post_created");
    e.set_time_zone(user, gamify::time::Tz::Asia__Kolkata)
        .unwrap();
    step(&e, 3, "post_created");
    e.revoke(user, "ach_early_adopter").unwrap();
    assert!(e.reset_board("xp_daily").unwrap());
    step(&e, 4, "follow_received");
    let state = e.store().load(user).unwrap();
    let ledger = e.store().ledger(user, 0, usize::MAX).unwrap();
    drop(e);

    let e = open(&clock);
    assert_eq!(e.store().load(user).unwrap(), state);
    assert_eq!(e.store().ledger(user, 0, usize::MAX).unwrap(), ledger);
    let report = e.replay_dry_run().unwrap();
    assert!(report.changes.is_empty(), "{:?}", report.changes);
    drop(e);
    std::fs::remove_dir_all(&dir).ok();
}

/// An activity stamped ahead of the clock keeps, across a reopen, the
/// `now` it was recorded at: a post stamped two minutes past midnight at
/// 23:59 counted on the daily board of the 4th, and replays there from
/// the file (the replay reports no change and the daily board keeps it).
#[test]
fn an_activity_stamped_ahead_keeps_its_recorded_now_across_a_reopen() {
    let dir = temp_dir("stamped-ahead");
    let path = dir.join("g.db");
    let now = Utc.with_ymd_and_hms(2026, 5, 4, 23, 59, 0).unwrap();
    let open = || {
        Engine::builder(Config::sparkle())
            .store(SqliteStore::open(&path).unwrap())
            .clock(FakeClock::new(now))
            .build()
            .unwrap()
    };
    let e = open();
    let ahead = Activity::new(
        "p",
        UserId(1),
        "post_created",
        now + chrono::TimeDelta::minutes(2),
    );
    e.record(ahead.clone()).unwrap();
    e.record(Activity::new("c", UserId(1), "comment_created", now))
        .unwrap();
    let daily = |e: &Engine| {
        e.board("xp_daily")
            .unwrap()
            .rank_of(UserId(1))
            .map(|s| s.score)
    };
    let live = daily(&e);
    assert!(live.is_some());
    drop(e);

    let e = open();
    let kept: Vec<_> = e
        .store()
        .activities(UserId(1))
        .unwrap()
        .into_iter()
        .map(|a| a.recorded_at)
        .collect();
    assert_eq!(kept, [Some(now), None]);
    assert!(e.record(ahead).unwrap().duplicate);
    let report = e.replay().unwrap();
    assert!(report.changes.is_empty(), "{:?}", report.changes);
    assert_eq!(daily(&e), live);
    drop(e);
    std::fs::remove_dir_all(&dir).ok();
}

/// A `users.ledger_len` that is not a valid count (negative, as a bad
/// write or a hand edit leaves it) is reported as corruption by every read
/// and write of that user, never a panic or a wrapped count, and the
/// user's state is left as it was; so is one the next record would take
/// past the column's `i64`.
#[test]
fn a_negative_ledger_length_is_corruption_not_a_panic() {
    let dir = temp_dir("negative-ledger-len");
    let path = dir.join("g.db");
    let e = engine(&path);
    e.record(Activity::new("p1", UserId(1), "post_created", now()))
        .unwrap();
    let before = e.store().load(UserId(1)).unwrap();
    drop(e);
    let set_ledger_len = |len: i64| {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute("UPDATE users SET ledger_len = ?1 WHERE user = 1", [len])
            .unwrap();
    };
    for bad in [-1i64, i64::MIN] {
        set_ledger_len(bad);
        let e = engine(&path);
        let err = e
            .record(Activity::new("p2", UserId(1), "post_created", now()))
            .unwrap_err();
        assert!(err.to_string().contains("ledger"), "{bad}: {err}");
        let err = e.store().ledger_len(UserId(1)).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{bad}: {err}");
        assert!(e.stats(UserId(1)).is_err(), "{bad}");
        assert_eq!(e.store().load(UserId(1)).unwrap(), before, "{bad}");
        drop(e);
    }
    // A length so large that the next one would not fit the column is
    // refused too, rather than wrapping to a negative length.
    set_ledger_len(i64::MAX);
    let e = engine(&path);
    let err = e
        .record(Activity::new("p2", UserId(1), "post_created", now()))
        .unwrap_err();
    assert!(err.to_string().contains("ledger"), "{err}");
    assert_eq!(e.store().load(UserId(1)).unwrap(), before);
    assert_eq!(e.store().ledger_len(UserId(1)).unwrap(), i64::MAX as u64);
    drop(e);
    std::fs::remove_dir_all(&dir).ok();
}

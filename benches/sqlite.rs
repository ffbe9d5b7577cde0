//! SqliteStore: `record` one activity per transaction and in batches of
//! 1,000, beside the disk's own fsync rate measured in the same run (the
//! physical limit of per-activity durability); and rank-of-user on a board
//! rebuilt from a 1,000,000-user database.
//!
//! Run with `cargo bench --features sqlite --bench sqlite`; add
//! `-- sqlite_record` to skip writing the million-user database. The disk
//! is shared and noisy: read `record` against `fsync_4k_baseline` of the
//! same run.

use std::hint::black_box;
use std::io::{Seek, SeekFrom, Write};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use gamify::activity::{Activity, UserId};
use gamify::config::Config;
use gamify::engine::Engine;
use gamify::store::SqliteStore;
use gamify::time::FakeClock;

const KINDS: [&str; 4] = [
    "post_created",
    "comment_created",
    "reaction_given",
    "follow_received",
];

fn sqlite(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("gamify-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 5, 4, 12, 0, 0).unwrap();
    let engine = Engine::builder(Config::sparkle())
        .store(SqliteStore::open(dir.join("bench.db")).unwrap())
        .clock(FakeClock::new(now))
        .build()
        .unwrap();
    let mut n = 0u64;
    let mut next = move || {
        n += 1;
        Activity::new(
            format!("a{n}"),
            UserId(n % 10_000),
            KINDS[(n % 4) as usize],
            now,
        )
    };

    let mut g = c.benchmark_group("sqlite_record");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(1));
    let mut file = std::fs::File::create(dir.join("fsync.bin")).unwrap();
    let page = [7u8; 4096];
    g.bench_function("fsync_4k_baseline", |b| {
        b.iter(|| {
            file.seek(SeekFrom::Start(0)).unwrap();
            file.write_all(&page).unwrap();
            file.sync_data().unwrap();
        })
    });
    g.bench_function("one_per_transaction", |b| {
        b.iter_batched(
            &mut next,
            |a| black_box(engine.record(a).unwrap()),
            BatchSize::SmallInput,
        )
    });
    g.throughput(Throughput::Elements(1000));
    g.bench_function("batch_of_1000", |b| {
        b.iter_batched(
            || (0..1000).map(|_| next()).collect::<Vec<_>>(),
            |batch| black_box(engine.record_batch(&batch).unwrap()),
            BatchSize::SmallInput,
        )
    });
    g.finish();

    // Rank of a user on a board rebuilt from a 1,000,000-user database,
    // built on first use so that a filter leaving this benchmark out (say
    // `-- sqlite_record`) does not pay for writing a million users.
    let mut g = c.benchmark_group("sqlite_rank_1m");
    let mut million: Option<Engine> = None;
    let mut u = 0u64;
    g.bench_function("rank_of_user", |b| {
        let engine = million.get_or_insert_with(|| million_users(&dir.join("million.db"), now));
        b.iter(|| {
            u = (u + 7919) % 1_000_000;
            black_box(engine.board("xp_all_time").unwrap().rank_of(UserId(u)))
        })
    });
    g.finish();
    std::fs::remove_dir_all(&dir).ok();
}

/// Write a database of 1,000,000 users, one activity each, then reopen it
/// (which rebuilds the boards) and report how long the reopening took.
fn million_users(path: &std::path::Path, now: chrono::DateTime<Utc>) -> Engine {
    {
        let engine = Engine::builder(Config::sparkle())
            .store(SqliteStore::open(path).unwrap())
            .clock(FakeClock::new(now))
            .build()
            .unwrap();
        let mut batch = Vec::with_capacity(10_000);
        for u in 0..1_000_000u64 {
            batch.push(Activity::new(
                format!("m{u}"),
                UserId(u),
                KINDS[(u % 4) as usize],
                now,
            ));
            if batch.len() == 10_000 {
                engine.record_batch(&batch).unwrap();
                batch.clear();
            }
        }
    }
    let started = Instant::now();
    let engine = Engine::builder(Config::sparkle())
        .store(SqliteStore::open(path).unwrap())
        .clock(FakeClock::new(now))
        .build()
        .unwrap();
    eprintln!(
        "reopened 1,000,000 users and rebuilt 16 boards in {:.1?}",
        started.elapsed()
    );
    engine
}

criterion_group!(benches, sqlite);
criterion_main!(benches);

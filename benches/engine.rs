//! `Engine::record` throughput with the sparkle preset on `MemoryStore` at
//! 1,000,000 users, beside the pure step alone, in one run.
//!
//! Run with `cargo bench --bench engine`. Throughput is reported in
//! activities per second (criterion's `elements/s`).

#[path = "../examples/sim/mod.rs"]
mod sim;

use std::hint::black_box;
use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use gamify::activity::{Activity, UserId};
use gamify::config::Config;
use gamify::engine::Engine;
use gamify::leaderboard::Source;
use gamify::state::UserState;
use gamify::time::FakeClock;

const USERS: u64 = 1_000_000;

/// Activities per `record_batch` call in the batch groups.
const BATCH: usize = 1_000;

/// The kinds a member does, weighted roughly as the simulation does.
const KINDS: [&str; 8] = [
    "daily_login",
    "post_created",
    "comment_created",
    "comment_created",
    "reaction_given",
    "reaction_given",
    "reaction_received",
    "follow_received",
];

/// An activity stream over `USERS` users, one activity every 10 ms of
/// simulated time so days and weeks roll by.
struct Stream {
    rng: sim::Rng,
    n: u64,
    start: chrono::DateTime<Utc>,
}

impl Stream {
    fn new(seed: u64) -> Self {
        Self {
            rng: sim::Rng::new(seed),
            n: 0,
            start: Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
        }
    }

    fn next(&mut self) -> Activity {
        self.n += 1;
        let user = UserId(self.rng.below(USERS) + 1);
        let kind = KINDS[self.rng.below(KINDS.len() as u64) as usize];
        let at = self.start + TimeDelta::milliseconds((self.n * 10) as i64);
        Activity::new(format!("a{}", self.n), user, kind, at)
    }
}

/// An engine with every user already present (one login each).
fn populated(config: Config, clock: &Arc<FakeClock>, stream: &mut Stream) -> Engine {
    let engine = Engine::builder(config)
        .clock(clock.clone())
        .build()
        .unwrap();
    let start = stream.start;
    let first: Vec<Activity> = (1..=USERS)
        .map(|u| Activity::new(format!("seed{u}"), UserId(u), "daily_login", start))
        .collect();
    for chunk in first.chunks(10_000) {
        engine.record_batch(chunk).unwrap();
    }
    engine
}

fn record(c: &mut Criterion) {
    let mut group = c.benchmark_group("record_1m_users");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(4));

    // The pure step alone (no store, no boards), on the states the engine
    // groups see: a million users who each logged in once, and the same
    // activity stream. Most of these users are new to what they do, so
    // their activities unlock achievements, cross levels and complete
    // quests; the step's cost depends on that far more than on where the
    // state lives.
    let config = Config::sparkle();
    let mut states: Option<Vec<UserState>> = None;
    let mut stream = Stream::new(2);
    group.bench_function("pure_step", |b| {
        let states = states.get_or_insert_with(|| {
            let start = stream.start;
            (1..=USERS)
                .map(|u| {
                    let mut state = UserState::default();
                    let login = Activity::new(format!("seed{u}"), UserId(u), "daily_login", start);
                    let _ = gamify::step::step(&config, &mut state, &login, start);
                    state
                })
                .collect()
        });
        b.iter_batched(
            || stream.next(),
            |a| {
                // Users are 1..=USERS, so the index is in range.
                let state = &mut states[(a.user.0 - 1) as usize];
                black_box(gamify::step::step(&config, state, &a, a.at)).is_ok()
            },
            BatchSize::SmallInput,
        )
    });
    // The pure step on 4,096 states, hot in cache and long past their
    // first unlocks: the cost of the step's logic alone.
    let mut hot = vec![UserState::default(); 4096];
    let mut stream = Stream::new(1);
    group.bench_function("pure_step_4096_hot_states", |b| {
        b.iter_batched(
            || stream.next(),
            |a| {
                let state = &mut hot[(a.user.0 % 4096) as usize];
                black_box(gamify::step::step(&config, state, &a, a.at)).is_ok()
            },
            BatchSize::SmallInput,
        )
    });

    let mut xp_only = Config::sparkle();
    xp_only
        .boards
        .retain(|b| b.source == Source::Xp && b.window.period_kind().is_none());
    for (name, config) in [
        ("engine_xp_board", xp_only),
        ("engine_all_sparkle_boards", Config::sparkle()),
    ] {
        let mut stream = Stream::new(2);
        let clock = Arc::new(FakeClock::new(stream.start));
        // Populated on first use, so a filtered run (`-- engine_xp_board`)
        // builds only the engine it measures.
        let mut engine = None;
        let mut config = Some(config);
        group.bench_function(name, |b| {
            let engine = engine.get_or_insert_with(|| {
                populated(config.take().expect("populated once"), &clock, &mut stream)
            });
            b.iter_batched(
                || {
                    let a = stream.next();
                    clock.set(a.at);
                    a
                },
                |a| black_box(engine.record(a)).is_ok(),
                BatchSize::SmallInput,
            )
        });
        // The same stream as `record_batch` calls of 1,000 (one lock of
        // each user stripe and one store call per batch).
        group.throughput(Throughput::Elements(BATCH as u64));
        group.bench_function(format!("{name}_batch{BATCH}"), |b| {
            let engine = engine.get_or_insert_with(|| {
                populated(config.take().expect("populated once"), &clock, &mut stream)
            });
            b.iter_batched(
                || {
                    let batch: Vec<Activity> = (0..BATCH).map(|_| stream.next()).collect();
                    clock.set(batch[BATCH - 1].at);
                    batch
                },
                |batch| black_box(engine.record_batch(&batch).ok()),
                BatchSize::PerIteration,
            )
        });
        group.throughput(Throughput::Elements(1));
    }
    group.finish();
}

criterion_group!(benches, record);
criterion_main!(benches);

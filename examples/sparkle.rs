//! The main job: a simulated Sparkle Universe community run through the
//! sparkle preset on the default in-memory store.
//!
//! 10,000 members in eight time zones, 30 days of seeded, realistic activity
//! (logins, posts, comments, reactions, follows, the odd viral post), with
//! about one delivery in fifty repeated, as a flaky network would. At the
//! end: the top of each board, the level distribution, and each
//! achievement's unlock rate beside its rarity.
//!
//! Run with `cargo run --release --example sparkle`
//! (options: `--users N`, `--days N`, `--seed N`). With
//! `--features sqlite` and `--sqlite FILE`, the community lives in a SQLite
//! file that a second run opens again (with the same seed, every activity is
//! recognised as already recorded; `--days 0` just reports).

#[path = "sim/mod.rs"]
mod sim;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use gamify::config::Config;
use gamify::engine::Engine;
use gamify::time::FakeClock;

/// The simulation's size and seed, from the command line.
struct Options {
    users: u64,
    days: u32,
    seed: u64,
    sqlite: Option<String>,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        users: 10_000,
        days: 30,
        seed: 42,
        sqlite: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let number = |v: &str| v.parse::<u64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--sqlite" => o.sqlite = Some(value),
            "--users" => o.users = number(&value)?.max(1),
            "--days" => o.days = u32::try_from(number(&value)?).unwrap_or(u32::MAX),
            "--seed" => o.seed = number(&value)?,
            _ => {
                return Err(format!(
                    "unknown option {flag} (use --users, --days, --seed)"
                ));
            }
        }
    }
    Ok(o)
}

/// The engine on the default in-memory store, or on a SQLite file.
fn open_engine(o: &Options, clock: Arc<FakeClock>) -> Result<Engine, Box<dyn std::error::Error>> {
    let builder = Engine::builder(Config::sparkle()).clock(clock);
    match &o.sqlite {
        None => Ok(builder.build()?),
        #[cfg(feature = "sqlite")]
        Some(path) => {
            // NORMAL: a simulation can afford to lose its last batch on a
            // power cut (never on a crash); see `Synchronous`.
            let store = gamify::store::SqliteStore::open_with(path, gamify::store::Synchronous::Normal)?;
            println!("Store: SQLite file {path}");
            Ok(builder.store(store).build()?)
        }
        #[cfg(not(feature = "sqlite"))]
        Some(_) => Err("--sqlite needs the `sqlite` feature: cargo run --release --features sqlite --example sparkle".into()),
    }
}

/// A one-line progress bar on stderr.
fn progress(done: u32, total: u32, recorded: u64, started: Instant) {
    let width = 30;
    let filled = (done as usize * width) / total.max(1) as usize;
    let rate = recorded as f64 / started.elapsed().as_secs_f64().max(1e-9);
    eprint!(
        "\r  day {done:>3}/{total} [{}{}] {recorded:>9} activities, {rate:>9.0}/s",
        "#".repeat(filled),
        " ".repeat(width - filled)
    );
    let _ = std::io::stderr().flush();
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = options()?;
    let start = Utc
        .with_ymd_and_hms(2026, 3, 1, 0, 0, 0)
        .single()
        .ok_or("start date")?;
    let clock = Arc::new(FakeClock::new(start));
    let reopened = o
        .sqlite
        .as_deref()
        .is_some_and(|p| std::path::Path::new(p).exists());
    let engine = open_engine(&o, clock.clone())?;
    let mut rng = sim::Rng::new(o.seed);
    let members = sim::members(o.users, &mut rng);
    for m in &members {
        let current = engine.store().load(m.user)?.and_then(|s| s.time_zone);
        if current != Some(m.tz) {
            engine.set_time_zone(m.user, m.tz)?;
        }
    }

    println!(
        "Sparkle Universe: {} members, {} days (seed {})",
        o.users, o.days, o.seed
    );
    let started = Instant::now();
    let (mut recorded, mut duplicates, mut refused) = (0u64, 0u64, 0u64);
    let mut latest = start;
    for day in 0..o.days {
        let mut activities = sim::day_activities(&members, start, day, &mut rng);
        // A flaky network: about one delivery in fifty arrives twice.
        let repeats: Vec<_> = activities
            .iter()
            .filter(|_| rng.below(50) == 0)
            .cloned()
            .collect();
        activities.extend(repeats);
        activities.sort_by_key(|a| a.at);
        for batch in activities.chunks(1_000) {
            // The engine's clock follows the simulated day.
            if let Some(last) = batch.last() {
                clock.set(last.at);
                latest = latest.max(last.at);
            }
            for result in engine.record_batch(batch)? {
                match result {
                    Ok(r) if r.duplicate => duplicates += 1,
                    Ok(_) => recorded += 1,
                    Err(_) => refused += 1,
                }
            }
        }
        progress(day + 1, o.days, recorded, started);
    }
    let elapsed = started.elapsed();
    eprintln!();
    // The boards as of the last activity (members far west of UTC act
    // after the last simulated UTC midnight).
    clock.set(latest);
    // A reopened file's boards were rebuilt from the stored states when the
    // engine opened, at the start of the simulation, and repeats change
    // nothing: open it again as of now, as a host restarting would.
    let engine = if reopened {
        drop(engine);
        open_engine(&o, clock.clone())?
    } else {
        engine
    };
    println!(
        "Recorded {recorded} activities in {:.2?} ({:.0}/s); {duplicates} repeated deliveries recognised, {refused} refused.\n",
        elapsed,
        recorded as f64 / elapsed.as_secs_f64().max(1e-9)
    );

    print_boards(&engine);
    let states = states(&engine)?;
    print_levels(&engine, &states);
    print_achievements(&engine, &states);
    Ok(())
}

/// Every user's state, for the distributions.
fn states(engine: &Engine) -> Result<Vec<gamify::state::UserState>, Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    for user in engine.store().users()? {
        out.extend(engine.store().load(user)?);
    }
    Ok(out)
}

fn print_boards(engine: &Engine) {
    println!("Top of each board (windowed boards: the current window)");
    for id in engine.board_ids() {
        let Some(board) = engine.board(&id) else {
            continue;
        };
        let top: Vec<String> = board
            .top(3)
            .iter()
            .map(|s| format!("#{} user {} ({})", s.rank, s.user.0, s.score))
            .collect();
        println!("  {id:<28} {:>6} ranked  {}", board.len(), top.join(", "));
    }
    println!();
}

fn print_levels(engine: &Engine, states: &[gamify::state::UserState]) {
    let config = engine.config();
    let mut by_band: BTreeMap<u32, (String, usize)> = BTreeMap::new();
    let mut levels: BTreeMap<u32, usize> = BTreeMap::new();
    for s in states {
        *levels.entry(s.level).or_default() += 1;
        let (from, title) = config
            .bands
            .band_for(s.level)
            .map_or((1, "—".to_owned()), |b| (b.min_level, b.title.clone()));
        by_band.entry(from).or_insert((title, 0)).1 += 1;
    }
    println!("Level distribution ({} members)", states.len());
    let max = levels.values().copied().max().unwrap_or(1).max(1);
    for (level, count) in &levels {
        let bar = "█".repeat((count * 40).div_ceil(max));
        println!("  level {level:>3} {count:>6} {bar}");
    }
    for (from, (title, count)) in by_band {
        println!("  {title:<12} (level {from}+): {count}");
    }
    println!();
}

fn print_achievements(engine: &Engine, states: &[gamify::state::UserState]) {
    let catalog = &engine.config().achievements;
    let mut unlocked: BTreeMap<&str, usize> = BTreeMap::new();
    for s in states {
        for id in s.achievements.unlocked_ids() {
            if let Some(entry) = catalog.get(id) {
                *unlocked.entry(entry.id.as_str()).or_default() += 1;
            }
        }
    }
    let members = states.len().max(1) as f64;
    println!("Achievement unlock rates");
    println!(
        "  {:<28} {:<10} {:>8} {:>8}",
        "achievement", "rarity", "users", "rate"
    );
    for entry in catalog.iter() {
        let count = unlocked.get(entry.id.as_str()).copied().unwrap_or(0);
        println!(
            "  {:<28} {:<10} {:>8} {:>7.2}%",
            entry.name,
            format!("{:?}", entry.rarity),
            count,
            100.0 * count as f64 / members
        );
    }
}

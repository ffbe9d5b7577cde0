//! From nothing to a level-up and an unlocked achievement.
//!
//! Run with `cargo run --example quickstart`.

use chrono::{TimeZone, Utc};
use gamify::activity::{Activity, UserId};
use gamify::config::Config;
use gamify::engine::Engine;
use gamify::outcome::Event;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The built-in "sparkle" game: XP table, level curve, quests, achievements, boards.
    let engine = Engine::new(Config::sparkle());
    let alice = UserId(1);
    let at = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();

    // Alice writes her first post. A retried request with the same id is
    // recognised and changes nothing.
    let post = Activity::new("post-1001", alice, "post_created", at);
    for event in engine.record(post)?.outcome.events {
        match event {
            Event::XpAwarded { amount, .. } => println!("+{amount} XP"),
            Event::LevelUp { level, bonus_xp } => println!("level {level}! (+{bonus_xp} XP bonus)"),
            Event::AchievementUnlocked(unlock) => {
                println!("unlocked “{}” (+{} XP)", unlock.name, unlock.xp)
            }
            _ => {}
        }
    }
    let stats = engine.stats(alice)?.ok_or("alice has a state")?;
    println!(
        "Alice: level {}, {} XP, {} XP to the next level",
        stats.level,
        stats.xp,
        stats.progress.xp_to_next.unwrap_or(0)
    );
    Ok(())
}

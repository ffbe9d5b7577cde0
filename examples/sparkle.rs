//! The Sparkle Universe preset, step by step: the level curve and its bands.
//!
//! Run with `cargo run --release --example sparkle`.

use gamify::level::LevelCurve;

fn main() {
    let curve = LevelCurve::sparkle();
    println!("Sparkle level curve: {} levels", curve.max_level());
    for level in [1, 2, 3, 4, 5, 10, 20, 30, 50, 100] {
        let start = curve.threshold(level).unwrap_or_default();
        println!("  level {level:>3} starts at {start:>26} XP");
    }
    let xp = 12_345;
    let p = curve.progress(xp);
    println!(
        "{xp} XP: level {}, {} XP into it, {} to go ({:.0} %)",
        p.level,
        p.xp_into_level,
        p.xp_to_next.unwrap_or(0),
        p.fraction * 100.0
    );
}

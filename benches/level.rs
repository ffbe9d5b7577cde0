//! Level curve queries beside the seed's `calculateLevel` loop.
//!
//! Each group runs gamify's table lookup and a faithful port of the seed's
//! loop over the same XP values, spread evenly across levels 1–60, so the
//! ratio between them can be read from one run.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gamify::level::LevelCurve;

/// The seed's `calculateLevel`, floats and `Math.pow` in the loop included.
fn seed_calculate_level(xp: u64) -> u32 {
    let xp = xp as f64;
    let xp_for_level = |level: u32| (100.0 * 1.5f64.powf(f64::from(level - 1))).floor();
    let mut level = 1;
    let mut required = 100.0;
    while xp >= required && level < 100 {
        level += 1;
        required = xp_for_level(level);
    }
    level
}

/// The seed's progress: the loop, then two more `getXPForLevel` calls.
fn seed_progress(xp: u64) -> f64 {
    let xp_for_level = |level: u32| {
        if level <= 1 {
            0.0
        } else {
            (100.0 * 1.5f64.powf(f64::from(level - 1))).floor()
        }
    };
    let level = seed_calculate_level(xp);
    let (next, current) = (xp_for_level(level + 1), xp_for_level(level));
    (xp as f64 - current) / (next - current) * 100.0
}

/// 1,024 XP totals spread evenly over levels 1–60 (each level equally
/// likely, a position inside the level varying), by a fixed LCG.
fn sample_xp(curve: &LevelCurve) -> Vec<u64> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..1024)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let level = 1 + (state >> 33) as u32 % 60;
            let start = curve.threshold(level).unwrap_or(0);
            let span = curve.threshold(level + 1).unwrap_or(start + 1) - start;
            start + (state >> 11) % span
        })
        .collect()
}

fn bench_level(c: &mut Criterion) {
    let curve = LevelCurve::sparkle();
    let xps = sample_xp(&curve);
    // Generic, not `&dyn Fn`: an indirect call per item would cost as much
    // as the lookup being measured.
    fn run(b: &mut criterion::Bencher, xps: &[u64], f: impl Fn(u64) -> u64) {
        b.iter(|| {
            let mut acc = 0u64;
            for &xp in xps {
                acc = acc.wrapping_add(f(black_box(xp)));
            }
            acc
        })
    }
    let per_item = |b: &mut criterion::Bencher, f: fn(&LevelCurve, u64) -> u64| {
        run(b, &xps, |xp| f(&curve, xp))
    };

    let mut group = c.benchmark_group("level_for_xp");
    group.throughput(criterion::Throughput::Elements(xps.len() as u64));
    group.bench_function("gamify", |b| {
        per_item(b, |c, xp| u64::from(c.level_for_xp(xp)))
    });
    group.bench_function("seed_loop", |b| {
        per_item(b, |_, xp| u64::from(seed_calculate_level(xp)))
    });
    group.finish();

    let mut group = c.benchmark_group("progress");
    group.throughput(criterion::Throughput::Elements(xps.len() as u64));
    group.bench_function("gamify", |b| {
        per_item(b, |c, xp| c.progress(xp).fraction.to_bits())
    });
    group.bench_function("seed_loop", |b| {
        per_item(b, |_, xp| seed_progress(xp).to_bits())
    });
    group.finish();

    // Levels crossed by an award of 0–4,095 XP: gamify's range against the
    // seed's way (two loop runs, then counting between them).
    let mut group = c.benchmark_group("levels_crossed");
    group.throughput(criterion::Throughput::Elements(xps.len() as u64));
    group.bench_function("gamify", |b| {
        per_item(b, |c, xp| {
            c.levels_crossed(xp, xp + (xp & 4095)).map(u64::from).sum()
        })
    });
    group.bench_function("seed_loop", |b| {
        per_item(b, |_, xp| {
            let (old, new) = (
                seed_calculate_level(xp),
                seed_calculate_level(xp + (xp & 4095)),
            );
            (old + 1..=new).map(u64::from).sum()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_level);
criterion_main!(benches);

//! One activity evaluated against the sparkle catalog and a generated
//! catalog of 1,000 achievements: through the index, beside checking every
//! achievement (the baseline), in one run.
//!
//! Run with `cargo bench --bench achievements`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use gamify::achievement::{
    Achievement, AchievementState, Catalog, Change, Criterion as Rule, Facts, Rarity,
};
use gamify::activity::Metrics;
use gamify::time::Tz;

/// 1,000 achievements: 40 metrics × 20 thresholds, plus level, streak,
/// time-of-day and attribute ones.
fn generated() -> Catalog {
    let mut entries = Vec::new();
    let mut push = |id: String, criterion: Rule| {
        entries.push(Achievement {
            code: id.to_uppercase().into(),
            name: id.clone(),
            id: id.into(),
            description: String::new(),
            icon: String::new(),
            animated_icon: None,
            xp: 10,
            points: None,
            rarity: Rarity::Common,
            category: "generated".into(),
            hidden: false,
            seasonal: false,
            available: None,
            prerequisites: vec![],
            criterion,
            tiers: vec![],
        })
    };
    for m in 0..40 {
        for t in 0..20u64 {
            push(
                format!("m{m}_{t}"),
                Rule::Metric {
                    metric: format!("metric{m}").into(),
                    at_least: 10 * (t + 1) * (t + 1),
                },
            );
        }
    }
    for l in 0..100 {
        push(format!("level{l}"), Rule::Level { at_least: l + 2 });
    }
    for s in 0..50 {
        push(format!("streak{s}"), Rule::Streak { at_least: s + 2 });
    }
    for k in 0..50 {
        push(
            format!("night{k}"),
            Rule::TimeOfDay {
                kind: format!("kind{k}").into(),
                from_hour: 0,
                to_hour: 5,
                at_least: 10,
            },
        );
    }
    Catalog::new(entries).unwrap()
}

fn evaluate(c: &mut Criterion) {
    let at = Utc.with_ymd_and_hms(2026, 5, 1, 13, 0, 0).unwrap();
    let by_family = gamify::NameMap::new();
    let attributes: BTreeMap<gamify::Name, i64> = [("reactions".into(), 12)].into();
    for (name, catalog, metric) in [
        ("sparkle_33", Catalog::sparkle().clone(), "posts"),
        ("generated_1000", generated(), "metric7"),
    ] {
        let mut metrics = Metrics::new();
        metrics.set(metric, 37);
        let increments = vec![(gamify::Name::new(metric), 1u64)];
        let facts = Facts {
            metrics: &metrics,
            level: 5,
            streak_current: 3,
            streak_longest: 3,
            quests_completed: 4,
            quests_by_family: &by_family,
        };
        let change = Change {
            kind: Some("post_created"),
            at,
            tz: Tz::Europe__Berlin,
            metrics: &increments,
            attributes: &attributes,
            level_changed: false,
            streak_changed: false,
            quests_changed: false,
            achievements_changed: false,
        };
        // A user who already unlocked what 36 of the metric gives.
        let mut state = AchievementState::default();
        let mut before = metrics.clone();
        before.set(metric, 36);
        let facts_before = Facts {
            metrics: &before,
            ..facts
        };
        catalog.backfill(&mut state, &facts_before, at, Tz::Europe__Berlin);
        // A returning user: the counters this kind of activity keeps exist.
        let earlier = Change {
            at: at - chrono::TimeDelta::days(1),
            metrics: &[],
            ..change
        };
        catalog.evaluate(&mut state, &facts_before, &earlier);

        let mut g = c.benchmark_group(format!("achievements_{name}"));
        // Each evaluation gets a fresh copy of the user (an evaluation may
        // unlock and count); copies are made outside the timed loop, in
        // chunks so memory stays bounded. Dropping the result is timed, as
        // a caller pays for it too.
        let timed = |iters: u64, run: &dyn Fn(&mut AchievementState)| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(4096);
                let mut users: Vec<AchievementState> = (0..n).map(|_| state.clone()).collect();
                let started = Instant::now();
                for user in &mut users {
                    run(user);
                }
                total += started.elapsed();
                left -= n;
            }
            total
        };
        g.bench_function("indexed", |b| {
            b.iter_custom(|iters| {
                timed(iters, &|s| {
                    // Inputs through black_box too: nothing about the
                    // activity may be folded into the loop.
                    black_box(catalog.evaluate(s, black_box(&facts), black_box(&change)));
                })
            })
        });
        g.bench_function("evaluate_all", |b| {
            b.iter_custom(|iters| {
                timed(iters, &|s| {
                    black_box(catalog.backfill(s, black_box(&facts), at, Tz::Europe__Berlin));
                })
            })
        });
        g.finish();
    }
}

criterion_group!(benches, evaluate);
criterion_main!(benches);

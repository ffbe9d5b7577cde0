//! A seeded, realistic activity generator for a Sparkle Universe community.
//!
//! Shared by the `sparkle` example and the engine benchmark (through
//! `#[path]`), so both run the same kind of traffic. Deterministic for a seed.

#![allow(dead_code)]

use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use gamify::activity::{Activity, UserId};
use gamify::time::Tz;

/// splitmix64: small, fast and good enough for a simulation.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Poisson-distributed count with mean `lambda` (Knuth; small means).
    pub(crate) fn poisson(&mut self, lambda: f64) -> u32 {
        let limit = (-lambda).exp();
        let (mut k, mut p) = (0, 1.0);
        loop {
            p *= self.unit();
            if p <= limit || k > 200 {
                return k;
            }
            k += 1;
        }
    }
}

/// The zones our simulated members live in, with rough weights.
pub(crate) const ZONES: [(Tz, u32); 8] = [
    (Tz::America__New_York, 25),
    (Tz::America__Los_Angeles, 15),
    (Tz::Europe__Berlin, 20),
    (Tz::Europe__London, 10),
    (Tz::America__Sao_Paulo, 10),
    (Tz::Asia__Kolkata, 8),
    (Tz::Asia__Tokyo, 7),
    (Tz::Australia__Sydney, 5),
];

/// One simulated member: their zone and how active they are.
#[derive(Clone)]
pub(crate) struct Member {
    pub(crate) user: UserId,
    pub(crate) tz: Tz,
    /// Chance of visiting on a given day.
    pub(crate) visit: f64,
    /// Mean posts per visit.
    pub(crate) posts: f64,
    /// Mean comments per visit.
    pub(crate) comments: f64,
    /// Mean reactions given per visit.
    pub(crate) reactions: f64,
    /// Posts mostly between midnight and 5 AM.
    pub(crate) night_owl: bool,
    /// How much the community likes their posts (reactions per post).
    pub(crate) appeal: f64,
}

/// `n` members drawn from a heavy-tailed activity distribution: most visit
/// now and then, a few are power users.
pub(crate) fn members(n: u64, rng: &mut Rng) -> Vec<Member> {
    let total_weight: u32 = ZONES.iter().map(|z| z.1).sum();
    (0..n)
        .map(|i| {
            let mut pick = rng.below(u64::from(total_weight)) as u32;
            let tz = ZONES
                .iter()
                .find(|(_, w)| {
                    if pick < *w {
                        true
                    } else {
                        pick -= w;
                        false
                    }
                })
                .map_or(Tz::UTC, |z| z.0);
            // A Pareto-like engagement factor: median ~1, a long tail.
            let engagement = (1.0 / (1.0 - rng.unit() * 0.98)).powf(0.8);
            Member {
                user: UserId(i + 1),
                tz,
                visit: (0.15 + 0.25 * engagement).min(0.97),
                posts: 0.15 * engagement,
                comments: 0.6 * engagement,
                reactions: 2.0 * engagement,
                night_owl: rng.unit() < 0.05,
                appeal: 3.0 * (1.0 / (1.0 - rng.unit() * 0.999)).powf(1.1),
            }
        })
        .collect()
}

/// Every activity of day `day` (0-based from `start`), sorted by time.
/// Ids are unique per (day, member, index).
pub(crate) fn day_activities(
    members: &[Member],
    start: DateTime<Utc>,
    day: u32,
    rng: &mut Rng,
) -> Vec<Activity> {
    let date = start.date_naive() + TimeDelta::days(i64::from(day));
    let mut out = Vec::new();
    for m in members {
        if rng.unit() >= m.visit {
            continue;
        }
        let local_time = |rng: &mut Rng, night: bool| {
            let hour = if night {
                rng.below(5)
            } else {
                7 + rng.below(17)
            };
            let secs = hour * 3600 + rng.below(3600);
            let naive = date.and_time(NaiveTime::MIN) + TimeDelta::seconds(secs as i64);
            m.tz.from_local_datetime(&naive)
                .earliest()
                .map_or(start, |t| t.with_timezone(&Utc))
        };
        let mut seq = 0u32;
        let mut push = |kind: &str, at: DateTime<Utc>, out: &mut Vec<Activity>| {
            seq += 1;
            let id = format!("d{day}-u{}-{seq}", m.user.0);
            out.push(Activity::new(id, m.user, kind, at));
        };
        let night = m.night_owl && rng.unit() < 0.7;
        let visit_at = local_time(rng, night);
        push("daily_login", visit_at, &mut out);
        for _ in 0..rng.poisson(m.posts) {
            let night = m.night_owl && rng.unit() < 0.8;
            let at = local_time(rng, night);
            push("post_created", at, &mut out);
            // Reactions arrive later, as one batch per post.
            let reactions = rng.poisson(m.appeal.min(150.0)) as u64
                + if rng.unit() < 0.0005 {
                    1000 + rng.below(4000)
                } else {
                    0
                };
            if let Some(last) = out.last_mut() {
                last.attributes.insert("reactions".into(), reactions as i64);
            }
            if reactions > 0 {
                push("reaction_received", at + TimeDelta::minutes(30), &mut out);
                if let Some(last) = out.last_mut() {
                    last.metrics.insert("reactions_received".into(), reactions);
                }
            }
            if reactions >= 1000 {
                push("post_viral", at + TimeDelta::hours(2), &mut out);
            } else if reactions >= 100 && rng.unit() < 0.1 {
                push("post_featured", at + TimeDelta::hours(1), &mut out);
            }
        }
        for _ in 0..rng.poisson(m.comments) {
            push("comment_created", local_time(rng, false), &mut out);
        }
        let given = rng.poisson(m.reactions);
        if given > 0 {
            push("reaction_given", local_time(rng, false), &mut out);
            if let Some(last) = out.last_mut() {
                last.metrics
                    .insert("reactions_given".into(), u64::from(given));
            }
        }
        if rng.unit() < 0.02 * m.appeal.min(20.0) {
            push("follow_received", local_time(rng, false), &mut out);
        }
    }
    out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
    out
}

//! Levels: the [`LevelCurve`] that maps XP totals to levels and progress, and
//! the named [`LevelBands`] shown beside them.
//!
//! One threshold table answers every question — the level of an XP total, where
//! a level starts, progress within it and the levels crossed by an award — so
//! the answers always agree with each other.

mod bands;
mod curve;

pub use bands::{LevelBand, LevelBands};
pub use curve::{CurveSpec, Level, LevelCurve, MAX_LEVELS, Progress};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ConfigProblem;

    /// A faithful port of the seed's `calculateLevel`, floats and all.
    fn seed_calculate_level(xp: f64) -> u32 {
        let xp_for_level = |level: u32| -> f64 {
            if level <= 1 {
                0.0
            } else {
                (100.0 * 1.5f64.powf(f64::from(level - 1))).floor()
            }
        };
        let mut level = 1;
        let mut required = 100.0;
        while xp >= required && level < 100 {
            level += 1;
            required = xp_for_level(level);
        }
        level
    }

    #[test]
    fn sparkle_thresholds_match_the_seed_behaviour() {
        let curve = LevelCurve::sparkle();
        assert_eq!(curve.max_level(), 100);
        assert_eq!(&curve.thresholds()[..7], &[0, 100, 150, 225, 337, 506, 759]);
        for level in 2..=60 {
            let t = curve.threshold(level).unwrap();
            assert_eq!(seed_calculate_level(t as f64), level, "at {t}");
            assert_eq!(seed_calculate_level((t - 1) as f64), level - 1, "below {t}");
        }
        for xp in (0..200_000).step_by(7) {
            assert_eq!(
                curve.level_for_xp(xp),
                seed_calculate_level(xp as f64),
                "xp {xp}"
            );
        }
    }

    /// Seed defect 1: `calculateLevel` put 120 XP at level 2 while
    /// `getXPForLevel(2)` said level 2 starts at 150, so progress was -40 %.
    #[test]
    fn seed_defect_1_level_and_progress_agree() {
        let curve = LevelCurve::sparkle();
        let p = curve.progress(120);
        assert_eq!(p.level, 2);
        assert_eq!(p.level_start, 100);
        assert_eq!(p.xp_into_level, 20);
        assert_eq!(p.xp_to_next, Some(30));
        assert!((p.fraction - 0.4).abs() < 1e-12);
        assert_eq!(curve.threshold(p.level), Some(p.level_start));
    }

    /// Seed defect 13: at the maximum level, progress divided by a threshold
    /// beyond the curve.
    #[test]
    fn seed_defect_13_progress_at_max_level_is_complete() {
        let curve = LevelCurve::sparkle();
        let top = curve.threshold(100).unwrap();
        for xp in [top, top + 1, u64::MAX] {
            let p = curve.progress(xp);
            assert_eq!(p.level, 100);
            assert_eq!(p.xp_to_next, None);
            assert_eq!(p.fraction, 1.0);
        }
        assert_eq!(curve.threshold(101), None);
    }

    #[test]
    fn levels_crossed_lists_every_level_of_a_jump() {
        let curve = LevelCurve::sparkle();
        assert_eq!(curve.levels_crossed(0, 99).count(), 0);
        assert_eq!(curve.levels_crossed(0, 100).collect::<Vec<_>>(), vec![2]);
        assert_eq!(
            curve.levels_crossed(99, 506).collect::<Vec<_>>(),
            vec![2, 3, 4, 5, 6]
        );
        assert_eq!(curve.levels_crossed(506, 0).count(), 0);
        assert_eq!(curve.levels_crossed(0, u64::MAX).count(), 99);
    }

    #[test]
    fn other_curve_kinds() {
        let linear = LevelCurve::new(CurveSpec::Linear {
            step: 1000,
            max_level: 50,
        })
        .unwrap();
        assert_eq!(linear.level_for_xp(999), 1);
        assert_eq!(linear.level_for_xp(1000), 2);
        assert_eq!(linear.level_for_xp(u64::MAX), 50);
        let poly = LevelCurve::new(CurveSpec::Polynomial {
            coefficient: 50.0,
            exponent: 2.0,
            max_level: 20,
        })
        .unwrap();
        assert_eq!(&poly.thresholds()[..4], &[0, 50, 200, 450]);
        let table = LevelCurve::new(CurveSpec::Table {
            thresholds: vec![0, 10, 30],
        })
        .unwrap();
        assert_eq!(table.max_level(), 3);
        assert_eq!(table.progress(20).fraction, 0.5);
        let single = LevelCurve::new(CurveSpec::Table {
            thresholds: vec![0],
        })
        .unwrap();
        assert_eq!(single.progress(5).fraction, 1.0);
    }

    fn problem(spec: CurveSpec) -> (String, ConfigProblem) {
        let err = LevelCurve::new(spec).unwrap_err();
        (err.field().to_string(), err.problem().clone())
    }

    #[test]
    fn invalid_curves_are_rejected_with_the_field() {
        let table = |thresholds: Vec<u64>| CurveSpec::Table { thresholds };
        assert_eq!(
            problem(table(vec![0, 5, 5])),
            ("thresholds[2]".into(), ConfigProblem::NotIncreasing)
        );
        assert_eq!(
            problem(table(vec![0, 5, 4])).1,
            ConfigProblem::NotIncreasing
        );
        assert_eq!(problem(table(vec![])).1, ConfigProblem::Empty);
        assert_eq!(problem(table(vec![1, 5])).0, "thresholds[0]");
        let exp = |base: f64, growth: f64, max_level| CurveSpec::Exponential {
            base,
            growth,
            max_level,
        };
        assert_eq!(
            problem(exp(100.0, 1.5, 0)),
            ("max_level".into(), ConfigProblem::Zero)
        );
        assert_eq!(
            problem(exp(f64::NAN, 1.5, 10)),
            ("base".into(), ConfigProblem::NonFinite)
        );
        assert_eq!(
            problem(exp(100.0, f64::INFINITY, 10)),
            ("growth".into(), ConfigProblem::NonFinite)
        );
        assert_eq!(problem(exp(100.0, 1.0, 10)).0, "growth");
        // The seed curve fits u64 exactly up to level 100; level 101 does not.
        let (field, p) = problem(exp(100.0, 1.5, 101));
        assert_eq!(p, ConfigProblem::Overflow);
        assert!(field.contains("101"), "{field}");
        // A base below 1 (negative, zero) is the base's fault, named so.
        assert_eq!(problem(exp(-5.0, 1.5, 10)).0, "base");
        assert_eq!(problem(exp(0.5, 1.1, 10)).0, "base");
        // Slow growth gives equal thresholds after flooring: growth's
        // fault, and the level where it shows is said.
        let (field, p) = problem(exp(1.0, 1.1, 10));
        assert_eq!(field, "growth");
        assert!(p.to_string().contains("level 3"), "{p}");
        let poly = |coefficient: f64, exponent: f64| CurveSpec::Polynomial {
            coefficient,
            exponent,
            max_level: 10,
        };
        assert_eq!(problem(poly(-5.0, 2.0)).0, "coefficient");
        assert_eq!(problem(poly(50.0, 0.0)).0, "exponent");
        assert_eq!(
            problem(CurveSpec::Linear {
                step: 0,
                max_level: 3
            }),
            ("step".into(), ConfigProblem::Zero)
        );
        assert_eq!(
            problem(CurveSpec::Linear {
                step: u64::MAX,
                max_level: 3
            })
            .1,
            ConfigProblem::Overflow
        );
        assert_eq!(
            problem(CurveSpec::Linear {
                step: 1,
                max_level: u32::MAX
            })
            .0,
            "max_level"
        );
        let falling = CurveSpec::Polynomial {
            coefficient: 1.0,
            exponent: -1.0,
            max_level: 5,
        };
        assert_eq!(problem(falling).0, "exponent");
        // Too small a coefficient floors to equal thresholds.
        assert_eq!(problem(poly(0.1, 1.0)).0, "coefficient");
    }

    #[test]
    fn deserializing_rejects_invalid_curves() {
        let err =
            serde_json::from_str::<LevelCurve>(r#"{"kind": "table", "thresholds": [0, 10, 10]}"#)
                .unwrap_err()
                .to_string();
        assert!(err.contains("thresholds[2]"), "{err}");
        let err = toml::from_str::<LevelCurve>(
            "kind = 'exponential'\nbase = 100.0\ngrowth = 1.5\nmax_level = 0\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("max_level"), "{err}");
    }
}

//! Property tests of the level curve, through the public API.

use gamify::level::{CurveSpec, LevelCurve};
use proptest::prelude::*;

fn curves() -> impl Strategy<Value = LevelCurve> {
    prop_oneof![
        Just(LevelCurve::sparkle()),
        (1u64..10_000, 1u32..500).prop_map(|(step, max_level)| {
            LevelCurve::new(CurveSpec::Linear { step, max_level }).unwrap()
        }),
        (10.0f64..1000.0, 1.05f64..3.0, 1u32..60).prop_filter_map(
            "valid",
            |(base, growth, max_level)| {
                LevelCurve::new(CurveSpec::Exponential {
                    base,
                    growth,
                    max_level,
                })
                .ok()
            }
        ),
        (1.0f64..500.0, 1.0f64..3.0, 1u32..200).prop_filter_map(
            "valid",
            |(coefficient, exponent, max_level)| {
                LevelCurve::new(CurveSpec::Polynomial {
                    coefficient,
                    exponent,
                    max_level,
                })
                .ok()
            }
        ),
        proptest::collection::btree_set(1u64..u64::MAX, 0..50).prop_map(|set| {
            let thresholds = std::iter::once(0).chain(set).collect();
            LevelCurve::new(CurveSpec::Table { thresholds }).unwrap()
        }),
    ]
}

proptest! {
    #[test]
    fn level_is_monotonic_in_xp(curve in curves(), a: u64, b: u64) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(curve.level_for_xp(lo) <= curve.level_for_xp(hi));
    }

    #[test]
    fn thresholds_are_exact_level_boundaries(curve in curves()) {
        for level in 2..=curve.max_level() {
            let t = curve.threshold(level).unwrap();
            prop_assert_eq!(curve.level_for_xp(t), level);
            prop_assert_eq!(curve.level_for_xp(t - 1), level - 1);
        }
        prop_assert_eq!(curve.level_for_xp(0), 1);
        prop_assert_eq!(curve.level_for_xp(u64::MAX), curve.max_level());
    }

    #[test]
    fn progress_is_consistent_and_bounded(curve in curves(), xp: u64) {
        let p = curve.progress(xp);
        prop_assert!((0.0..=1.0).contains(&p.fraction));
        prop_assert_eq!(p.level, curve.level_for_xp(xp));
        prop_assert_eq!(p.level_start + p.xp_into_level, xp);
        match p.xp_to_next {
            Some(left) => prop_assert_eq!(curve.threshold(p.level + 1), Some(xp + left)),
            None => {
                prop_assert_eq!(p.level, curve.max_level());
                prop_assert_eq!(p.fraction, 1.0);
            }
        }
    }

    #[test]
    fn levels_crossed_is_one_entry_per_level(curve in curves(), a: u64, b: u64) {
        let crossed: Vec<u32> = curve.levels_crossed(a, b).collect();
        let (from, to) = (curve.level_for_xp(a), curve.level_for_xp(b));
        let expected: Vec<u32> = if to > from { (from + 1..=to).collect() } else { vec![] };
        prop_assert_eq!(crossed, expected);
    }

    #[test]
    fn serde_round_trips(curve in curves()) {
        let json = serde_json::to_string(&curve).unwrap();
        let back: LevelCurve = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back.thresholds(), curve.thresholds());
        let toml_text = toml::to_string(&curve).unwrap();
        let back: LevelCurve = toml::from_str(&toml_text).unwrap();
        prop_assert_eq!(back.thresholds(), curve.thresholds());
    }
}

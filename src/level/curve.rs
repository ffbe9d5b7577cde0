//! The level curve: a validated table of integer thresholds, built once.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, ConfigProblem};

/// A level number. Level 1 starts at 0 XP.
pub type Level = u32;

/// The most levels a curve may have, which bounds the table's memory (8 MiB).
pub const MAX_LEVELS: Level = 1_000_000;

/// How a curve's thresholds are generated: the serialized form of a
/// [`LevelCurve`].
///
/// `threshold(L)` is the XP total at which level `L` starts; level 1 always
/// starts at 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CurveSpec {
    /// Level 2 starts at `base`, each further level at `growth` times the
    /// previous: `threshold(L) = floor(base · growth^(L−2))` for `L ≥ 2`.
    Exponential {
        /// XP at which level 2 starts.
        base: f64,
        /// Factor between consecutive thresholds (greater than 1).
        growth: f64,
        /// The highest level.
        max_level: Level,
    },
    /// Every level takes the same XP: `threshold(L) = step · (L−1)`.
    Linear {
        /// XP per level.
        step: u64,
        /// The highest level.
        max_level: Level,
    },
    /// `threshold(L) = floor(coefficient · (L−1)^exponent)`.
    Polynomial {
        /// Scale of the curve.
        coefficient: f64,
        /// Power of the level (1 is linear, 2 quadratic).
        exponent: f64,
        /// The highest level.
        max_level: Level,
    },
    /// Explicit thresholds: `thresholds[i]` is where level `i + 1` starts.
    /// The first must be 0; the maximum level is the table's length.
    Table {
        /// Strictly increasing XP totals, starting at 0.
        thresholds: Vec<u64>,
    },
}

/// A level curve: answers every level question from one integer table.
///
/// Building it validates the spec — thresholds strictly increasing, a max
/// level of at least 1, finite parameters, every threshold within `u64` — so
/// the queries never fail and never panic. Level, progress and "XP to the next
/// level" read the same table, so they cannot disagree (seed defect 1).
///
/// ```
/// use gamify::level::LevelCurve;
///
/// let curve = LevelCurve::sparkle();
/// assert_eq!(curve.level_for_xp(99), 1);
/// assert_eq!(curve.level_for_xp(100), 2);
/// let p = curve.progress(120);
/// assert_eq!((p.level, p.xp_into_level, p.xp_to_next), (2, 20, Some(30)));
/// assert_eq!(curve.levels_crossed(90, 400), 2..=5);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CurveSpec", into = "CurveSpec")]
pub struct LevelCurve {
    spec: CurveSpec,
    /// `thresholds[i]` is the XP at which level `i + 1` starts; `thresholds[0] == 0`.
    thresholds: Box<[u64]>,
    /// `buckets[b]..buckets[b + 1]`: the indices of thresholds whose bit
    /// length is `b`. Derived from `thresholds`, so never serialized.
    buckets: [u32; 66],
}

/// Where an XP total stands on the curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The level reached.
    pub level: Level,
    /// The XP at which that level started.
    pub level_start: u64,
    /// XP earned since the level started.
    pub xp_into_level: u64,
    /// XP still needed for the next level; `None` at the maximum level.
    pub xp_to_next: Option<u64>,
    /// Share of the level completed, in `[0, 1]`; 1 at the maximum level.
    pub fraction: f64,
}

impl LevelCurve {
    /// Build and validate a curve.
    pub fn new(spec: CurveSpec) -> Result<Self, ConfigError> {
        let thresholds = build_table(&spec)?;
        let buckets = bit_length_buckets(&thresholds);
        Ok(Self {
            spec,
            thresholds: thresholds.into_boxed_slice(),
            buckets,
        })
    }

    /// The curve of the seed design, as its `calculateLevel` behaves: level 2
    /// at 100 XP, each further level 1.5 times the last (150, 225, 337, 506,
    /// …), up to level 100.
    pub fn sparkle() -> Self {
        static SPARKLE: std::sync::LazyLock<LevelCurve> = std::sync::LazyLock::new(|| {
            // The seed's numbers are known to build: level 100 starts at
            // about 1.8e19 XP, just inside u64.
            LevelCurve::new(CurveSpec::Exponential {
                base: 100.0,
                growth: 1.5,
                max_level: 100,
            })
            .unwrap_or_else(|e| unreachable!("the sparkle curve is valid: {e}"))
        });
        SPARKLE.clone()
    }

    /// The spec the curve was built from.
    pub fn spec(&self) -> &CurveSpec {
        &self.spec
    }

    /// The highest level.
    pub fn max_level(&self) -> Level {
        // The table has at most `Level::MAX` entries (checked at build).
        self.thresholds.len() as Level
    }

    /// All thresholds, where `thresholds()[i]` starts level `i + 1`.
    pub fn thresholds(&self) -> &[u64] {
        &self.thresholds
    }

    /// The level an XP total has reached.
    #[inline]
    pub fn level_for_xp(&self, xp: u64) -> Level {
        // Thresholds are strictly increasing and start at 0, so the count of
        // thresholds at or below `xp` is the level (at least 1). Every
        // threshold of a shorter bit length than `xp` is below it and every
        // longer one above, so only the thresholds sharing its bit length
        // need a search: one or two on geometric curves, which makes the
        // lookup short and predictable (a plain binary search over the whole
        // table measured about three times slower on random XP).
        let bits = (u64::BITS - xp.leading_zeros()) as usize;
        let (from, to) = (self.buckets[bits] as usize, self.buckets[bits + 1] as usize);
        let same_length = self.thresholds.get(from..to).unwrap_or_default();
        (from + same_length.partition_point(|&t| t <= xp)) as Level
    }

    /// The XP at which `level` starts, or `None` beyond the curve (level 0
    /// reads as level 1).
    pub fn threshold(&self, level: Level) -> Option<u64> {
        let index = level.max(1) as usize - 1;
        self.thresholds.get(index).copied()
    }

    /// Where `xp` stands: level, XP into it, XP still needed and the fraction.
    pub fn progress(&self, xp: u64) -> Progress {
        let level = self.level_for_xp(xp);
        let index = level as usize - 1;
        let level_start = self.thresholds[index];
        let xp_into_level = xp - level_start;
        match self.thresholds.get(index + 1) {
            Some(&next) => {
                let span = next - level_start;
                Progress {
                    level,
                    level_start,
                    xp_into_level,
                    xp_to_next: Some(next - xp),
                    fraction: (xp_into_level as f64 / span as f64).clamp(0.0, 1.0),
                }
            }
            // At the top there is nothing left to divide by (seed defect 13).
            None => Progress {
                level,
                level_start,
                xp_into_level,
                xp_to_next: None,
                fraction: 1.0,
            },
        }
    }

    /// The levels entered when XP goes from `from` to `to`: one per level, so
    /// a jump of several levels yields each. Empty when no level is crossed
    /// (including when `to < from`).
    pub fn levels_crossed(&self, from: u64, to: u64) -> RangeInclusive<Level> {
        let (old, new) = (self.level_for_xp(from), self.level_for_xp(to));
        // `old + 1..=old` is empty; levels stay far below `Level::MAX`.
        old + 1..=new.max(old)
    }
}

impl TryFrom<CurveSpec> for LevelCurve {
    type Error = ConfigError;

    fn try_from(spec: CurveSpec) -> Result<Self, Self::Error> {
        Self::new(spec)
    }
}

impl From<LevelCurve> for CurveSpec {
    fn from(curve: LevelCurve) -> Self {
        curve.spec
    }
}

/// `result[b]` is the number of thresholds shorter than `b` bits, for
/// `b` in `0..=65` (bit lengths run 0..=64).
fn bit_length_buckets(thresholds: &[u64]) -> [u32; 66] {
    let mut buckets = [0u32; 66];
    for (bits, slot) in buckets.iter_mut().enumerate() {
        // Shorter than `bits` bits means below 2^(bits-1), or nothing at 0.
        let count = match bits {
            0 => 0,
            1..=64 => thresholds.partition_point(|&t| t < 1u64 << (bits - 1)),
            _ => thresholds.len(),
        };
        // The table holds at most MAX_LEVELS entries.
        *slot = count as u32;
    }
    buckets
}

/// Compute and check the threshold table of a spec.
fn build_table(spec: &CurveSpec) -> Result<Vec<u64>, ConfigError> {
    let table = match spec {
        CurveSpec::Exponential {
            base,
            growth,
            max_level,
        } => {
            finite("base", *base)?;
            finite("growth", *growth)?;
            // Level 2 must cost XP: the field to blame, not a threshold.
            if *base < 1.0 {
                return Err(ConfigError::new(
                    "base",
                    ConfigProblem::OutOfRange("must be at least 1".into()),
                ));
            }
            if *growth <= 1.0 {
                return Err(ConfigError::new(
                    "growth",
                    ConfigProblem::OutOfRange("must be greater than 1".into()),
                ));
            }
            generate(*max_level, |level| {
                float_threshold(base * growth.powf(f64::from(level - 2)))
            })?
        }
        CurveSpec::Linear { step, max_level } => {
            if *step == 0 {
                return Err(ConfigError::new("step", ConfigProblem::Zero));
            }
            generate(*max_level, |level| step.checked_mul(u64::from(level - 1)))?
        }
        CurveSpec::Polynomial {
            coefficient,
            exponent,
            max_level,
        } => {
            finite("coefficient", *coefficient)?;
            finite("exponent", *exponent)?;
            if *coefficient <= 0.0 {
                return Err(ConfigError::new(
                    "coefficient",
                    ConfigProblem::OutOfRange("must be greater than 0".into()),
                ));
            }
            if *exponent <= 0.0 {
                return Err(ConfigError::new(
                    "exponent",
                    ConfigProblem::OutOfRange("must be greater than 0".into()),
                ));
            }
            generate(*max_level, |level| {
                float_threshold(coefficient * f64::from(level - 1).powf(*exponent))
            })?
        }
        CurveSpec::Table { thresholds } => {
            if thresholds.is_empty() {
                return Err(ConfigError::new("thresholds", ConfigProblem::Empty));
            }
            if thresholds[0] != 0 {
                return Err(ConfigError::new(
                    "thresholds[0]",
                    ConfigProblem::Invalid("level 1 must start at 0 XP".into()),
                ));
            }
            if thresholds.len() > MAX_LEVELS as usize {
                return Err(ConfigError::new(
                    "thresholds",
                    ConfigProblem::OutOfRange(format!("at most {MAX_LEVELS} levels")),
                ));
            }
            thresholds.clone()
        }
    };
    // A generated curve that stops rising does so because of the parameter
    // that makes it rise: that field is named, with the level.
    let rising = match spec {
        CurveSpec::Table { .. } => None,
        CurveSpec::Exponential { .. } => Some("growth"),
        CurveSpec::Polynomial { .. } => Some("coefficient"),
        CurveSpec::Linear { .. } => Some("step"),
    };
    for (i, pair) in table.windows(2).enumerate() {
        if pair[1] <= pair[0] {
            return Err(match rising {
                None => ConfigError::new(
                    format!("thresholds[{}]", i + 1),
                    ConfigProblem::NotIncreasing,
                ),
                Some(field) => ConfigError::new(
                    field,
                    ConfigProblem::Invalid(format!(
                        "too small: the threshold of level {} is not above level {}'s",
                        i + 2,
                        i + 1
                    )),
                ),
            });
        }
    }
    Ok(table)
}

fn finite(field: &str, value: f64) -> Result<(), ConfigError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(ConfigError::new(field, ConfigProblem::NonFinite))
    }
}

/// Floor a computed threshold into `u64`, or `None` when it does not fit.
fn float_threshold(value: f64) -> Option<u64> {
    // 2^64 as f64; anything at or above it (or NaN) does not fit.
    const LIMIT: f64 = 18_446_744_073_709_551_616.0;
    let floored = value.floor();
    (0.0..LIMIT).contains(&floored).then_some(floored as u64)
}

/// Thresholds for levels 1..=max_level, level 1 fixed at 0.
fn generate(
    max_level: Level,
    threshold: impl Fn(Level) -> Option<u64>,
) -> Result<Vec<u64>, ConfigError> {
    if max_level == 0 {
        return Err(ConfigError::new("max_level", ConfigProblem::Zero));
    }
    if max_level > MAX_LEVELS {
        return Err(ConfigError::new(
            "max_level",
            ConfigProblem::OutOfRange(format!("at most {MAX_LEVELS}")),
        ));
    }
    let mut table = Vec::with_capacity(max_level as usize);
    table.push(0);
    for level in 2..=max_level {
        let value = threshold(level).ok_or_else(|| {
            ConfigError::new(
                format!("max_level (threshold of level {level})"),
                ConfigProblem::Overflow,
            )
        })?;
        table.push(value);
    }
    Ok(table)
}

//! Named level bands ("Rising Star 10+", "Elite 50+") and milestones.

use serde::{Deserialize, Serialize};

use super::Level;
use crate::error::{ConfigError, ConfigProblem};

/// A title held from `min_level` until the next band starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelBand {
    /// The first level of the band.
    pub min_level: Level,
    /// The title shown for levels in the band.
    pub title: String,
}

/// Level bands, ordered by their first level.
///
/// ```
/// use gamify::level::{LevelBand, LevelBands};
///
/// let bands = LevelBands::new(vec![
///     LevelBand { min_level: 1, title: "Newcomer".into() },
///     LevelBand { min_level: 10, title: "Rising Star".into() },
///     LevelBand { min_level: 50, title: "Elite".into() },
/// ])
/// .unwrap();
/// assert_eq!(bands.band_for(12).unwrap().title, "Rising Star");
/// assert_eq!(bands.next_milestone(12).unwrap().min_level, 50);
/// assert!(bands.next_milestone(50).is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<LevelBand>", into = "Vec<LevelBand>")]
pub struct LevelBands(Vec<LevelBand>);

impl LevelBands {
    /// Validate bands: first levels strictly increasing and at least 1,
    /// titles not empty.
    pub fn new(bands: Vec<LevelBand>) -> Result<Self, ConfigError> {
        for (i, band) in bands.iter().enumerate() {
            if band.min_level == 0 {
                return Err(ConfigError::new(
                    format!("bands[{i}].min_level"),
                    ConfigProblem::Zero,
                ));
            }
            if band.title.trim().is_empty() {
                return Err(ConfigError::new(
                    format!("bands[{i}].title"),
                    ConfigProblem::Empty,
                ));
            }
            if i > 0 && band.min_level <= bands[i - 1].min_level {
                return Err(ConfigError::new(
                    format!("bands[{i}].min_level"),
                    ConfigProblem::NotIncreasing,
                ));
            }
        }
        Ok(Self(bands))
    }

    /// The band `level` belongs to, if any band starts at or below it.
    pub fn band_for(&self, level: Level) -> Option<&LevelBand> {
        let after = self.0.partition_point(|b| b.min_level <= level);
        after.checked_sub(1).map(|i| &self.0[i])
    }

    /// The next band to reach from `level`.
    pub fn next_milestone(&self, level: Level) -> Option<&LevelBand> {
        self.0.get(self.0.partition_point(|b| b.min_level <= level))
    }

    /// All bands in order.
    pub fn as_slice(&self) -> &[LevelBand] {
        &self.0
    }
}

impl TryFrom<Vec<LevelBand>> for LevelBands {
    type Error = ConfigError;

    fn try_from(bands: Vec<LevelBand>) -> Result<Self, Self::Error> {
        Self::new(bands)
    }
}

impl From<LevelBands> for Vec<LevelBand> {
    fn from(bands: LevelBands) -> Self {
        bands.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn band(min_level: Level, title: &str) -> LevelBand {
        LevelBand {
            min_level,
            title: title.into(),
        }
    }

    #[test]
    fn below_the_first_band_there_is_none() {
        let bands = LevelBands::new(vec![band(10, "Rising Star")]).unwrap();
        assert!(bands.band_for(9).is_none());
        assert_eq!(bands.next_milestone(9).unwrap().title, "Rising Star");
        assert_eq!(bands.band_for(Level::MAX).unwrap().title, "Rising Star");
    }

    #[test]
    fn invalid_bands_name_the_field() {
        let err = LevelBands::new(vec![band(5, "a"), band(5, "b")]).unwrap_err();
        assert_eq!(err.field(), "bands[1].min_level");
        assert_eq!(err.problem(), &ConfigProblem::NotIncreasing);
        let err = LevelBands::new(vec![band(0, "a")]).unwrap_err();
        assert_eq!(err.field(), "bands[0].min_level");
        let err = LevelBands::new(vec![band(1, " ")]).unwrap_err();
        assert_eq!(err.field(), "bands[0].title");
    }

    #[test]
    fn deserializing_validates() {
        let bad = r#"[{"min_level": 3, "title": "x"}, {"min_level": 2, "title": "y"}]"#;
        let err = serde_json::from_str::<LevelBands>(bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("bands[1].min_level"), "{err}");
    }
}

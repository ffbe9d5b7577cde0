//! Daily and weekly quests: a metric, a target, a window that resets at the
//! user's local midnight or week start, and a reward given once per window
//! (seed defect 9).
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use gamify::quest::{QuestBook, QuestState};
//! use gamify::time::Tz;
//!
//! let book = QuestBook::sparkle();
//! let mut state = QuestState::default();
//! let at = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();
//! let done = book.record(&mut state, "post_created", &[("posts".into(), 1)], at, Tz::UTC);
//! assert_eq!(done[0].quest, "daily_post");
//! assert_eq!(done[0].xp, 25);
//! // A second post the same day completes nothing.
//! assert!(book.record(&mut state, "post_created", &[("posts".into(), 1)], at, Tz::UTC).is_empty());
//! ```

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, ConfigProblem};
use crate::name::{Name, NameMap};
use crate::time::{PeriodKind, Tz, local_date};

/// When a quest resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestWindow {
    /// At the user's local midnight.
    Daily,
    /// At the start of the user's local ISO week (Monday).
    Weekly,
}

impl QuestWindow {
    fn period(self) -> PeriodKind {
        match self {
            Self::Daily => PeriodKind::Day,
            Self::Weekly => PeriodKind::ISO_WEEK,
        }
    }
}

/// One quest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestDef {
    /// Unique id.
    pub id: Name,
    /// Shown to users.
    pub name: String,
    /// A family for achievements that count quests of a kind ("daily").
    #[serde(default)]
    pub family: Option<Name>,
    /// What is counted: a metric's increments (`posts`) or activities of a
    /// kind (`post_created`).
    pub metric: Name,
    /// How much completes it (at least 1).
    pub target: u64,
    /// When it resets.
    pub window: QuestWindow,
    /// XP reward.
    #[serde(default)]
    pub xp: u64,
    /// Points reward.
    #[serde(default)]
    pub points: u64,
}

/// The configured quests, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<QuestDef>", into = "Vec<QuestDef>")]
pub struct QuestBook(Vec<QuestDef>);

impl TryFrom<Vec<QuestDef>> for QuestBook {
    type Error = ConfigError;

    fn try_from(quests: Vec<QuestDef>) -> Result<Self, ConfigError> {
        Self::new(quests)
    }
}

impl From<QuestBook> for Vec<QuestDef> {
    fn from(book: QuestBook) -> Self {
        book.0
    }
}

/// Progress on one quest in its current window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestProgress {
    /// The first local day of the window counted.
    pub window: NaiveDate,
    /// Progress in it.
    pub count: u64,
    /// Whether it was completed (and rewarded) in it.
    pub completed: bool,
}

/// A user's quest progress and completions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestState {
    /// Quests completed, all time.
    pub completed_total: u64,
    /// Quests completed by family, all time.
    pub completed_by_family: NameMap<u64>,
    /// Progress by quest id.
    pub progress: NameMap<QuestProgress>,
}

/// A quest completed in its current window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestCompleted {
    /// The quest's id.
    pub quest: Name,
    /// The first local day of the window it was completed in.
    pub window: NaiveDate,
    /// XP reward.
    pub xp: u64,
    /// Points reward.
    pub points: u64,
}

impl QuestBook {
    /// Validate quests: unique non-empty ids, a metric, a target of at
    /// least 1.
    pub fn new(quests: Vec<QuestDef>) -> Result<Self, ConfigError> {
        let mut ids = BTreeSet::new();
        for (i, q) in quests.iter().enumerate() {
            let at = |field: &str, problem| {
                Err(ConfigError::new(format!("quests[{i}].{field}"), problem))
            };
            if q.id.trim().is_empty() {
                return at("id", ConfigProblem::Empty);
            }
            if !ids.insert(q.id.as_str()) {
                return at("id", ConfigProblem::Duplicate(q.id.to_string()));
            }
            if q.name.trim().is_empty() {
                return at("name", ConfigProblem::Empty);
            }
            if q.family.as_deref().is_some_and(|f| f.trim().is_empty()) {
                return at("family", ConfigProblem::Empty);
            }
            if q.metric.trim().is_empty() {
                return at("metric", ConfigProblem::Empty);
            }
            if q.target == 0 {
                return at("target", ConfigProblem::Zero);
            }
        }
        Ok(Self(quests))
    }

    /// The seed's daily quests: log in (10 XP), one post (25 XP), five
    /// reactions (15 XP).
    pub fn sparkle() -> Self {
        let daily = |id: &str, name: &str, metric: &str, target, xp| QuestDef {
            id: Name::new(id),
            name: name.to_owned(),
            family: Some(Name::new("daily")),
            metric: Name::new(metric),
            target,
            window: QuestWindow::Daily,
            xp,
            points: 0,
        };
        Self(vec![
            daily("daily_login", "Daily check-in", "logins", 1, 10),
            daily("daily_post", "Share a post", "posts", 1, 25),
            daily(
                "daily_reactions",
                "React to five posts",
                "reactions_given",
                5,
                15,
            ),
        ])
    }

    /// The quests, in configuration order.
    pub fn quests(&self) -> &[QuestDef] {
        &self.0
    }

    /// Count an activity of `kind` that caused metric `increments`, at `at`
    /// in zone `tz`; returns the quests it completed. A quest completes
    /// once per window. An activity for a window older than the one
    /// counted (it arrived late) does not count: that window is closed.
    pub fn record(
        &self,
        state: &mut QuestState,
        kind: &str,
        increments: &[(Name, u64)],
        at: DateTime<Utc>,
        tz: Tz,
    ) -> Vec<QuestCompleted> {
        let mut done = Vec::new();
        // The local date, looked up once for every quest it counts for.
        let mut today = None;
        for quest in &self.0 {
            let by_metric = increments
                .iter()
                .filter(|(m, _)| *m == quest.metric)
                .fold(0u64, |sum, (_, by)| sum.saturating_add(*by));
            let amount = by_metric.saturating_add(u64::from(quest.metric == kind));
            if amount == 0 {
                continue;
            }
            let today = *today.get_or_insert_with(|| local_date(at, tz));
            let window = quest.window.period().of_date(today).first_day();
            let progress = match state.progress.get_mut(quest.id.as_str()) {
                Some(p) => p,
                // Opened at this window: a default date (1970) would make
                // an earlier activity look late.
                None => state
                    .progress
                    .entry(quest.id.clone())
                    .or_insert(QuestProgress {
                        window,
                        count: 0,
                        completed: false,
                    }),
            };
            if window < progress.window {
                continue;
            }
            if window > progress.window {
                *progress = QuestProgress {
                    window,
                    count: 0,
                    completed: false,
                };
            }
            if progress.completed {
                continue;
            }
            progress.count = progress.count.saturating_add(amount);
            if progress.count >= quest.target {
                progress.completed = true;
                state.completed_total = state.completed_total.saturating_add(1);
                if let Some(family) = &quest.family {
                    let n = state.completed_by_family.entry(family.clone()).or_default();
                    *n = n.saturating_add(1);
                }
                done.push(QuestCompleted {
                    quest: quest.id.clone(),
                    window,
                    xp: quest.xp,
                    points: quest.points,
                });
            }
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone};

    fn reactions(n: u64) -> Vec<(Name, u64)> {
        vec![("reactions_given".into(), n)]
    }

    #[test]
    fn seed_defect_9_quest_rewarded_once_per_window() {
        let book = QuestBook::sparkle();
        let mut state = QuestState::default();
        let tz = Tz::America__Sao_Paulo;
        let morning = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
        assert!(
            book.record(&mut state, "reaction_given", &reactions(4), morning, tz)
                .is_empty()
        );
        let done = book.record(&mut state, "reaction_given", &reactions(1), morning, tz);
        assert_eq!(done.len(), 1);
        for i in 0..20 {
            let later = morning + TimeDelta::minutes(i);
            assert!(
                book.record(&mut state, "reaction_given", &reactions(5), later, tz)
                    .is_empty()
            );
        }
        // Next local day: available again.
        let tomorrow = morning + TimeDelta::days(1);
        assert_eq!(
            book.record(&mut state, "reaction_given", &reactions(5), tomorrow, tz)
                .len(),
            1
        );
        assert_eq!(state.completed_total, 2);
        assert_eq!(
            state.completed_by_family.get("daily").copied().unwrap_or(0),
            2
        );
    }

    #[test]
    fn quests_complete_before_1970_too() {
        let book = QuestBook::sparkle();
        let mut state = QuestState::default();
        let at = Utc.with_ymd_and_hms(1969, 7, 20, 20, 17, 0).unwrap();
        let done = book.record(&mut state, "reaction_given", &reactions(5), at, Tz::UTC);
        assert_eq!(done.len(), 1);
    }

    #[test]
    fn windows_reset_at_local_midnight_and_week_start() {
        let book = QuestBook::new(vec![QuestDef {
            id: "weekly_posts".into(),
            name: "Ten posts a week".into(),
            family: None,
            metric: "post_created".into(),
            target: 2,
            window: QuestWindow::Weekly,
            xp: 100,
            points: 5,
        }])
        .unwrap();
        let tz = Tz::Asia__Kolkata;
        let mut state = QuestState::default();
        // Sunday 23:00 local, then Monday 00:30 local: different ISO weeks.
        let sunday = Utc.with_ymd_and_hms(2026, 5, 3, 17, 30, 0).unwrap();
        let monday = sunday + TimeDelta::minutes(90);
        assert!(
            book.record(&mut state, "post_created", &[], sunday, tz)
                .is_empty()
        );
        assert!(
            book.record(&mut state, "post_created", &[], monday, tz)
                .is_empty()
        );
        let done = book.record(&mut state, "post_created", &[], monday, tz);
        assert_eq!((done[0].xp, done[0].points), (100, 5));
        // Late for last week: closed.
        assert!(
            book.record(&mut state, "post_created", &[], sunday, tz)
                .is_empty()
        );
    }

    #[test]
    fn invalid_quests_name_the_field() {
        let mut quests: Vec<QuestDef> = QuestBook::sparkle().into();
        quests[1].target = 0;
        assert_eq!(
            QuestBook::new(quests.clone()).unwrap_err().field(),
            "quests[1].target"
        );
        quests[1].target = 1;
        quests[2].id = "daily_login".into();
        assert_eq!(QuestBook::new(quests).unwrap_err().field(), "quests[2].id");
    }
}

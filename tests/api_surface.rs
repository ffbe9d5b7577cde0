//! The public API's promises, checked at compile time: what a service
//! shares between threads is `Send + Sync`, every error is a
//! `std::error::Error + Send + Sync + 'static` (so it fits in a
//! `Box<dyn Error + Send + Sync>` or an `anyhow::Error`), and the data a
//! host sends over the wire or stores is `Debug + Clone + PartialEq` and
//! serde both ways.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

fn send_sync<T: Send + Sync>() {}
fn error<T: std::error::Error + Send + Sync + 'static>() {}
fn data<T: Debug + Clone + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static>() {}
fn debug<T: Debug>() {}

#[test]
fn what_a_service_shares_is_send_and_sync() {
    use gamify::config::Config;
    use gamify::engine::{BoardHandle, Engine, EngineBuilder, Recorded};
    use gamify::leaderboard::{Board, RankedSet};
    use gamify::outcome::Outcome;
    use gamify::sink::{ChannelSink, CollectingSink, NoopSink};
    use gamify::store::MemoryStore;
    use gamify::time::{FakeClock, SystemClock};

    send_sync::<Engine>();
    send_sync::<EngineBuilder>();
    send_sync::<std::sync::Arc<Engine>>();
    send_sync::<MemoryStore>();
    send_sync::<NoopSink>();
    send_sync::<ChannelSink>();
    send_sync::<CollectingSink>();
    send_sync::<Config>();
    send_sync::<Board>();
    send_sync::<RankedSet>();
    // A handle holds a board's read lock: shared by reference, not sent.
    fn sync<T: Sync>() {}
    sync::<BoardHandle<'static>>();
    send_sync::<Outcome>();
    send_sync::<Recorded>();
    send_sync::<SystemClock>();
    send_sync::<FakeClock>();
    send_sync::<Box<dyn gamify::store::Store>>();
    send_sync::<Box<dyn gamify::sink::EventSink>>();
    send_sync::<Box<dyn gamify::time::Clock>>();
}

#[cfg(feature = "sqlite")]
#[test]
fn the_sqlite_store_and_an_engine_on_it_are_send_and_sync() {
    use gamify::config::Config;
    use gamify::engine::Engine;
    use gamify::store::{SqliteStore, Synchronous};

    send_sync::<SqliteStore>();
    send_sync::<Synchronous>();
    // A host keeps the durability setting in its own configuration.
    data::<Synchronous>();
    let normal: Synchronous = serde_json::from_str(r#""normal""#).unwrap();
    assert_eq!(normal, Synchronous::Normal);
    assert_eq!(
        serde_json::to_string(&Synchronous::Full).unwrap(),
        r#""full""#
    );
    // An engine on SQLite is the same `Engine` type; build one to be sure.
    let dir = std::env::temp_dir().join(format!("gamify-api-surface-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(dir.join("game.db")).unwrap();
    let engine: Engine = Engine::builder(Config::sparkle())
        .store(store)
        .build()
        .unwrap();
    fn takes<T: Send + Sync>(_: &T) {}
    takes(&engine);
    drop(engine);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn every_error_is_a_std_error_send_sync_and_static() {
    use gamify::achievement::AchievementError;
    use gamify::engine::RecordError;
    use gamify::leaderboard::BoardError;
    use gamify::sink::SinkError;
    use gamify::step::StepError;
    use gamify::store::{StoreError, TransactError};
    use gamify::xp::AwardError;
    use gamify::{ConfigError, ConfigProblem, Error};

    error::<Error>();
    error::<ConfigError>();
    error::<ConfigProblem>();
    error::<RecordError>();
    error::<StoreError>();
    error::<StepError>();
    error::<AwardError>();
    error::<AchievementError>();
    error::<BoardError>();
    error::<SinkError>();
    error::<TransactError<StepError>>();
}

#[test]
fn wire_data_is_debug_clone_eq_and_serde() {
    use gamify::achievement::{
        Achievement, AchievementProgress, AchievementState, Availability, Catalog, Criterion,
        Evaluation, LocalWindow, Rarity, SortBy, Summary, Tier, Unlock, Unlocked,
    };
    use gamify::activity::{Activity, ActivityId, Metrics, UserId};
    use gamify::config::Config;
    use gamify::engine::{
        AchievementSummary, BoardStanding, Recorded, ReplayChange, ReplayReport, StreakSummary,
        UserStats,
    };
    use gamify::leaderboard::{
        BoardSpec, BoardWindow, FinalStandings, RankBadge, RankPolicy, ScoreMode, Source, Standing,
    };
    use gamify::ledger::{Currency, LedgerDraft, LedgerEntry, Reason};
    use gamify::level::{CurveSpec, LevelBand, LevelBands, LevelCurve, Progress};
    use gamify::outcome::{Event, MetricChange, Outcome, Totals};
    use gamify::quest::{
        QuestBook, QuestCompleted, QuestDef, QuestProgress, QuestState, QuestWindow,
    };
    use gamify::state::{UserState, WindowGain};
    use gamify::streak::{FreezeRule, StreakChange, StreakRules, StreakState};
    use gamify::time::{Period, PeriodKind, Tz};
    use gamify::xp::{
        Award, Boost, KindCounters, KindRule, Limit, Limited, RuleState, Stacking, XpRules,
    };
    use gamify::{Name, NameMap};

    // What recording returns and what sinks receive.
    data::<Recorded>();
    data::<Outcome>();
    data::<Event>();
    data::<Totals>();
    data::<MetricChange>();
    data::<Award>();
    data::<Limit>();
    data::<Limited>();
    data::<Unlock>();
    data::<QuestCompleted>();
    data::<StreakChange>();
    // What a host reports.
    data::<Activity>();
    data::<ActivityId>();
    data::<UserId>();
    data::<Name>();
    // Stats, progress, boards, the ledger, replays.
    data::<UserStats>();
    data::<AchievementSummary>();
    data::<StreakSummary>();
    data::<BoardStanding>();
    data::<AchievementProgress>();
    data::<Evaluation>();
    data::<Summary>();
    data::<Standing>();
    data::<FinalStandings>();
    data::<RankBadge>();
    data::<LedgerEntry>();
    data::<LedgerDraft>();
    data::<Currency>();
    data::<Reason>();
    data::<ReplayReport>();
    data::<ReplayChange>();
    data::<Progress>();
    data::<Period>();
    data::<PeriodKind>();
    // A user's state, as a host's own store keeps it.
    data::<UserState>();
    data::<WindowGain>();
    data::<Metrics>();
    data::<NameMap<u64>>();
    data::<AchievementState>();
    data::<Unlocked>();
    data::<QuestState>();
    data::<QuestProgress>();
    data::<StreakState>();
    data::<RuleState>();
    data::<KindCounters>();
    // Configuration, loaded from JSON or TOML and echoed back.
    data::<Config>();
    data::<LevelCurve>();
    data::<CurveSpec>();
    data::<LevelBand>();
    data::<LevelBands>();
    data::<XpRules>();
    data::<KindRule>();
    data::<Boost>();
    data::<Stacking>();
    data::<StreakRules>();
    data::<FreezeRule>();
    data::<QuestBook>();
    data::<QuestDef>();
    data::<QuestWindow>();
    data::<Catalog>();
    data::<Achievement>();
    data::<Criterion>();
    data::<Tier>();
    data::<Availability>();
    data::<LocalWindow>();
    data::<Rarity>();
    data::<SortBy>();
    data::<BoardSpec>();
    data::<BoardWindow>();
    data::<RankPolicy>();
    data::<ScoreMode>();
    data::<Source>();
    data::<Tz>();
}

#[test]
fn every_public_type_is_debug() {
    use gamify::achievement::{Change, Facts, Query, View};
    use gamify::engine::{BoardHandle, Engine, EngineBuilder};
    use gamify::leaderboard::{Board, RankedSet};
    use gamify::store::{Commit, MemoryStore, Transacted, Work};

    debug::<Engine>();
    debug::<EngineBuilder>();
    debug::<BoardHandle<'static>>();
    debug::<Board>();
    debug::<RankedSet>();
    debug::<MemoryStore>();
    debug::<Commit>();
    debug::<Transacted>();
    debug::<Work<'static>>();
    debug::<Query>();
    debug::<View<'static>>();
    debug::<Facts<'static>>();
    debug::<Change<'static>>();
    debug::<gamify::leaderboard::Change>();
    debug::<gamify::NameEntry<'static, u64>>();
}

/// What the engine returns goes through JSON and back unchanged: the
/// derives above are not only there, they agree with each other.
#[test]
fn engine_results_round_trip_through_json() {
    use chrono::{TimeZone, Utc};
    use gamify::activity::{Activity, UserId};
    use gamify::config::Config;
    use gamify::engine::{Engine, Recorded, UserStats};
    use gamify::ledger::Currency;
    use gamify::time::{FakeClock, Tz};

    fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
        let json = serde_json::to_string(value).unwrap();
        let back: T = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, value, "{json}");
    }

    let at = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();
    let engine = Engine::builder(Config::sparkle())
        .clock(FakeClock::new(at))
        .build()
        .unwrap();
    let login = Activity::new("login-1", UserId(1), "daily_login", at);
    let post = Activity::new("post-1", UserId(1), "post_created", at).with_metric("posts", 1);
    let recorded: Vec<Recorded> = [login, post]
        .into_iter()
        .map(|a| engine.record(a).unwrap())
        .collect();
    assert!(recorded.iter().all(|r| !r.outcome.events.is_empty()));
    for r in &recorded {
        round_trip(r);
    }
    // Every kind of event, admin operations' included, goes through JSON.
    let admin = [
        engine.grant(UserId(1), "ach_bug_hunter").unwrap(),
        engine.revoke(UserId(1), "ach_bug_hunter").unwrap(),
        engine
            .adjust(UserId(1), Currency::Xp, -500, "moderation")
            .unwrap(),
        engine.set_time_zone(UserId(1), Tz::Europe__Berlin).unwrap(),
    ];
    for outcome in &admin {
        round_trip(outcome);
    }
    assert!(engine.reset_board("xp_daily").unwrap());
    let mut seen: Vec<String> = recorded
        .iter()
        .map(|r| &r.outcome)
        .chain(&admin)
        .flat_map(|o| &o.events)
        .map(|e| {
            serde_json::to_value(e).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    seen.sort();
    seen.dedup();
    for kind in [
        "xp_awarded",
        "level_up",
        "level_down",
        "achievement_unlocked",
        "achievement_revoked",
        "streak",
        "quest_completed",
        "adjusted",
        "time_zone_changed",
    ] {
        assert!(
            seen.iter().any(|s| s == kind),
            "no `{kind}` event in {seen:?}"
        );
    }
    let stats: UserStats = engine.stats(UserId(1)).unwrap().unwrap();
    round_trip(&stats);
    round_trip(&engine.ledger(UserId(1), 0, 100).unwrap());
    round_trip(&engine.achievement_progress(UserId(1)).unwrap());
    round_trip(&engine.store().load(UserId(1)).unwrap().unwrap());
    round_trip(&engine.board("xp_all_time").unwrap().top(10));
    round_trip(&engine.replay_dry_run().unwrap());
    round_trip(engine.config());
}

/// `gamify::Error` says every fallible operation's error converts into it:
/// a host that runs the pure step, the XP rules, the catalog or a store
/// itself can use `?` into `gamify::Result`, as the engine's callers do.
#[test]
fn the_pure_cores_errors_convert_into_the_crate_error() {
    use chrono::{TimeZone, Utc};
    use gamify::activity::{Activity, UserId};
    use gamify::config::Config;
    use gamify::state::UserState;
    use gamify::store::{MemoryStore, Store};

    let config = Config::sparkle();
    let now = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();
    let typo = Activity::new("a-1", UserId(1), "post_creatd", now);

    let step = || -> gamify::Result<()> {
        gamify::step::step(&config, &mut UserState::default(), &typo, now)?;
        Ok(())
    };
    let award = || -> gamify::Result<()> {
        let state = UserState::default();
        config
            .xp
            .award(&state.rules, &typo, config.default_time_zone)?;
        Ok(())
    };
    let grant = || -> gamify::Result<()> {
        let mut state = UserState::default();
        config
            .achievements
            .grant(&mut state.achievements, "ach_nope", now)?;
        Ok(())
    };
    let store = MemoryStore::new();
    let transact = || -> gamify::Result<()> {
        store.transact(UserId(1), Some(&typo), &mut |state| {
            gamify::step::step(&config, state, &typo, now)
        })?;
        Ok(())
    };
    for (what, result) in [
        ("step", step()),
        ("award", award()),
        ("transact", transact()),
    ] {
        let e = result.unwrap_err();
        assert!(matches!(e, gamify::Error::Record(_)), "{what}: {e:?}");
        assert_eq!(
            e.to_string(),
            "unknown activity kind `post_creatd`",
            "{what}"
        );
    }
    let e = grant().unwrap_err();
    assert_eq!(e.to_string(), "unknown achievement `ach_nope`");

    // A leaderboard used on its own.
    use gamify::leaderboard::{Board, BoardSpec, BoardWindow, ScoreMode, Source};
    let mut spec = BoardSpec::new("capped", Source::Xp, BoardWindow::AllTime);
    spec.mode = ScoreMode::Replace;
    spec.max = Some(100);
    let mut board = Board::new(spec);
    let mut over = || -> gamify::Result<()> {
        board.record(UserId(1), 101, now, now)?;
        Ok(())
    };
    let e = over().unwrap_err();
    assert!(matches!(e, gamify::Error::Board(_)), "{e:?}");
    assert_eq!(e.to_string(), "score 101 is outside [0, 100]");
}

/// The errors a host meets first, as it would log them (through
/// `gamify::Error`): each says what is wrong and with which value.
#[test]
fn common_mistakes_name_the_value_at_fault() {
    use chrono::{TimeDelta, TimeZone, Utc};
    use gamify::activity::{Activity, UserId};
    use gamify::config::Config;
    use gamify::engine::Engine;
    use gamify::time::FakeClock;

    let at = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();
    let engine = Engine::builder(Config::sparkle())
        .clock(FakeClock::new(at))
        .build()
        .unwrap();
    let message = |e: gamify::engine::RecordError| gamify::Error::from(e).to_string();

    let typo = Activity::new("a-1", UserId(1), "login", at);
    assert_eq!(
        message(engine.record(typo).unwrap_err()),
        "unknown activity kind `login`"
    );
    engine
        .record(Activity::new("a-2", UserId(1), "post_created", at))
        .unwrap();
    let reused = Activity::new("a-2", UserId(1), "comment_created", at);
    assert_eq!(
        message(engine.record(reused).unwrap_err()),
        "activity id `a-2` was already recorded with a different payload"
    );
    let ahead = Activity::new("a-3", UserId(1), "post_created", at + TimeDelta::days(1));
    assert_eq!(
        message(engine.record(ahead).unwrap_err()),
        "activity at 2026-05-02 09:00:00 UTC is later than now (2026-05-01 09:00:00 UTC)"
    );
    assert_eq!(
        message(engine.grant(UserId(1), "ach_frist_post").unwrap_err()),
        "unknown achievement `ach_frist_post`"
    );
    assert_eq!(
        message(engine.reset_board("xp_wekly").unwrap_err()),
        "unknown board `xp_wekly`"
    );
}

//! The configuration: the sparkle preset as code and as the shipped data
//! file, serde round trips in JSON and TOML, and rejection of bad input with
//! the field named.

use gamify::config::Config;
use gamify::{ConfigError, ConfigProblem};

const SHIPPED: &str = include_str!("../presets/sparkle.json");

#[test]
fn the_shipped_preset_file_is_the_sparkle_preset() {
    if std::env::var_os("GAMIFY_BLESS").is_some() {
        let json = serde_json::to_string_pretty(&Config::sparkle()).unwrap();
        std::fs::write(
            concat!(env!("CARGO_MANIFEST_DIR"), "/presets/sparkle.json"),
            json + "\n",
        )
        .unwrap();
        return;
    }
    let shipped: Config = serde_json::from_str(SHIPPED).unwrap();
    assert_eq!(
        shipped,
        Config::sparkle(),
        "regenerate with GAMIFY_BLESS=1 cargo test --test config"
    );
}

#[test]
fn sparkle_round_trips_through_json_and_toml() {
    let sparkle = Config::sparkle();
    let json = serde_json::to_string(&sparkle).unwrap();
    assert_eq!(serde_json::from_str::<Config>(&json).unwrap(), sparkle);
    let toml_text = toml::to_string(&sparkle).unwrap();
    assert_eq!(toml::from_str::<Config>(&toml_text).unwrap(), sparkle);
    assert_eq!(sparkle.achievements.len(), 33);
    assert_eq!(sparkle.achievements.groups().len(), 4);
    assert_eq!(sparkle.boards.len(), 16);
    assert_eq!(sparkle.quests.quests().len(), 3);
}

/// One edit of the preset's JSON.
type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;

#[test]
fn bad_configurations_are_rejected_with_the_field_named() {
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|v| v["achievements"]["achievements"][1]["id"] = "ach_first_post".into()),
            "`achievements.achievements[1].id`",
        ),
        (
            Box::new(|v| v["achievements"]["achievements"][1]["code"] = "FIRST_POST".into()),
            "code",
        ),
        (
            Box::new(|v| {
                v["achievements"]["achievements"][0]["prerequisites"] =
                    serde_json::json!(["ach_nope"])
            }),
            "`achievements.achievements[ach_first_post].prerequisites[0]`",
        ),
        (
            Box::new(|v| {
                v["achievements"]["achievements"][0]["prerequisites"] =
                    serde_json::json!(["ach_prolific_writer"]);
                v["achievements"]["achievements"][1]["prerequisites"] =
                    serde_json::json!(["ach_first_post"]);
            }),
            "cycle",
        ),
        (
            Box::new(|v| v["achievements"]["achievements"][0]["criterion"]["at_least"] = 0.into()),
            "criterion.at_least",
        ),
        (
            Box::new(|v| {
                v["achievements"]["achievements"][0]["criterion"]["metric"] = "postz".into()
            }),
            "`achievements.achievements[ach_first_post].criterion.metric`",
        ),
        (
            Box::new(|v| {
                let c = &mut v["achievements"]["achievements"][23]["criterion"];
                assert_eq!(c["type"], "time_of_day");
                c["to_hour"] = c["from_hour"].clone(); // an empty range
            }),
            "to_hour",
        ),
        (
            Box::new(|v| v["boards"][1]["id"] = "xp_all_time".into()),
            "`boards[1].id`: duplicate `xp_all_time`",
        ),
        (
            Box::new(|v| v["boards"][4]["source"] = serde_json::json!({"metric": "karma"})),
            "`boards[4].source.metric`",
        ),
        // A board's own rules, named with the board's place in the list.
        (
            Box::new(|v| {
                v["boards"][2]["min"] = 10.into();
                v["boards"][2]["max"] = 5.into();
            }),
            "`boards[2].max`: out of range",
        ),
        (
            Box::new(|v| v["boards"][3]["id"] = " ".into()),
            "`boards[3].id`: must not be empty",
        ),
        (
            Box::new(|v| v["boards"][5]["source"] = serde_json::json!({"metric": ""})),
            "`boards[5].source.metric`: must not be empty",
        ),
        // The catalog's groups, under the catalog's field.
        (
            Box::new(|v| v["achievements"]["groups"]["social"][0] = "ach_nope".into()),
            "`achievements.groups.social[0]`: unknown `ach_nope`",
        ),
        (
            Box::new(|v| v["bands"][1]["min_level"] = 1.into()),
            "`bands[1].min_level`: must be strictly increasing",
        ),
        (
            Box::new(|v| v["quests"][0]["target"] = 0.into()),
            "`quests[0].target`",
        ),
        (
            Box::new(|v| {
                v["curve"] = serde_json::json!({"kind": "table", "thresholds": [0, 100, 50]})
            }),
            "thresholds",
        ),
        (
            Box::new(|v| v["future_tolerance_secs"] = 999_999.into()),
            "future_tolerance_secs",
        ),
        // Errors inside the parts that validate themselves are named from
        // the root.
        (
            Box::new(|v| v["xp"]["kinds"]["post_created"]["daily_cap"] = 0.into()),
            "`xp.kinds.post_created.daily_cap`",
        ),
        (
            Box::new(|v| {
                v["curve"] = serde_json::json!({"kind": "table", "thresholds": [0, 100, 50]})
            }),
            "`curve.thresholds[2]`",
        ),
        (
            Box::new(|v| {
                v["curve"] = serde_json::json!({"kind": "linear", "step": 0, "max_level": 5})
            }),
            "`curve.step`",
        ),
        (
            Box::new(|v| v["curve"]["growth"] = 1.0001.into()),
            "`curve.growth`",
        ),
        // A boost naming a kind that does not exist would never apply.
        (
            Box::new(|v| {
                v["xp"]["boosts"] = serde_json::json!([{"name": "double", "multiplier": 2.0,
                    "starts": "2026-01-01T00:00:00Z", "ends": "2026-01-02T00:00:00Z",
                    "kinds": ["post_creatd"]}])
            }),
            "`xp.boosts[0].kinds[0]`: unknown `post_creatd`",
        ),
        (
            Box::new(|v| v["xp"]["kinds"]["post_created"]["per"] = " ".into()),
            "`xp.kinds.post_created.per`",
        ),
        // Streak settings that would be accepted and then do nothing.
        (
            Box::new(|v| v["streak"]["milestones"] = serde_json::json!([1, 7])),
            "`streak.milestones[0]`",
        ),
        (
            Box::new(|v| v["streak"]["freeze"]["earn_every_days"] = 1.into()),
            "`streak.freeze.earn_every_days`",
        ),
        (
            Box::new(|v| v["streak"]["bonus_cap"] = 0.into()),
            "`streak.bonus_cap`",
        ),
        // Empty and repeated names, and a band no level reaches.
        (
            Box::new(|v| v["quests"][0]["name"] = "".into()),
            "`quests[0].name`",
        ),
        (
            Box::new(|v| v["quests"][0]["family"] = " ".into()),
            "`quests[0].family`",
        ),
        (Box::new(|v| v["metrics"][0] = "".into()), "`metrics[0]`"),
        (
            Box::new(|v| v["metrics"][1] = v["metrics"][0].clone()),
            "`metrics[1]`: duplicate",
        ),
        (
            Box::new(|v| {
                v["bands"]
                    .as_array_mut()
                    .unwrap()
                    .push(serde_json::json!({"min_level": 500, "title": "Unreachable"}))
            }),
            "`bands[5].min_level`",
        ),
        (
            // A metric listed twice would count twice per activity.
            Box::new(|v| v["kind_metrics"]["post_created"] = serde_json::json!(["posts", "posts"])),
            "`kind_metrics.post_created`: duplicate `posts`",
        ),
    ];
    for (edit, field) in cases {
        let mut value = serde_json::to_value(Config::sparkle()).unwrap();
        edit(&mut value);
        let err = serde_json::from_value::<Config>(value.clone())
            .unwrap_err()
            .to_string();
        assert!(err.contains(field), "expected `{field}` in: {err}");
        // `Config::from_json` finds the same error, as a `ConfigError`.
        let loaded = Config::from_json(&value.to_string()).unwrap_err();
        assert_eq!(loaded.to_string(), err);
    }
}

/// A key written twice in a JSON map (a kind, a kind's metrics) is an
/// error, not a silent choice of the last one.
#[test]
fn a_key_given_twice_is_rejected() {
    let json = serde_json::to_string(&Config::sparkle()).unwrap();
    for (from, to) in [
        (r#""kinds":{"#, r#""kinds":{"post_created":{"xp":999999},"#),
        (
            r#""kind_metrics":{"#,
            r#""kind_metrics":{"post_created":["posts"],"#,
        ),
    ] {
        let twice = json.replacen(from, to, 1);
        assert_ne!(twice, json, "{from} not found");
        let err = serde_json::from_str::<Config>(&twice)
            .unwrap_err()
            .to_string();
        assert!(err.contains("duplicate key `post_created`"), "{err}");
    }
}

/// A boost's name is a label, not an id: a recurring boost may be listed
/// once per window under one name.
#[test]
fn a_recurring_boost_listed_once_per_window_loads() {
    let mut value = serde_json::to_value(Config::sparkle()).unwrap();
    value["xp"]["boosts"] = serde_json::json!([
        {"name": "Double XP Weekend", "multiplier": 2.0,
         "starts": "2026-05-02T00:00:00Z", "ends": "2026-05-04T00:00:00Z"},
        {"name": "Double XP Weekend", "multiplier": 2.0,
         "starts": "2026-05-09T00:00:00Z", "ends": "2026-05-11T00:00:00Z"}
    ]);
    let loaded = serde_json::from_value::<Config>(value);
    assert!(loaded.is_ok(), "{}", loaded.unwrap_err());
}

/// TOML writes instants as native date-times, unquoted; they load as the
/// quoted RFC 3339 strings do, and a date-time without an offset (which
/// names no instant) is refused at its field.
#[test]
fn native_toml_datetimes_load() {
    let mut doc: toml::Table =
        toml::from_str(&toml::to_string(&Config::sparkle()).unwrap()).unwrap();
    let instant = |text: &str| toml::Value::Datetime(text.parse().unwrap());
    let mut boost = toml::Table::new();
    boost.insert("name".into(), "Double XP Weekend".into());
    boost.insert("multiplier".into(), 2.0.into());
    boost.insert("starts".into(), instant("2026-05-02T00:00:00Z"));
    boost.insert("ends".into(), instant("2026-05-04T02:00:00+02:00"));
    doc["xp"]["boosts"] = toml::Value::Array(vec![boost.into()]);
    let mut window = toml::Table::new();
    window.insert("from".into(), instant("2026-06-01T00:00:00Z"));
    let first = doc["achievements"]["achievements"][0]
        .as_table_mut()
        .unwrap();
    first.insert("available".into(), window.into());
    let text = toml::to_string(&doc).unwrap();
    assert!(text.contains("starts = 2026-05-02T00:00:00Z"), "{text}");

    let config: Config = toml::from_str(&text).unwrap();
    let boost = &config.xp.boosts[0];
    assert_eq!(boost.starts.to_rfc3339(), "2026-05-02T00:00:00+00:00");
    assert_eq!(boost.ends.to_rfc3339(), "2026-05-04T00:00:00+00:00");
    let available = config.achievements.iter().next().unwrap().available;
    assert_eq!(
        available.unwrap().from.unwrap().to_rfc3339(),
        "2026-06-01T00:00:00+00:00"
    );

    let local = text.replace(
        "starts = 2026-05-02T00:00:00Z",
        "starts = 2026-05-02T00:00:00",
    );
    let err = toml::from_str::<Config>(&local).unwrap_err().to_string();
    assert!(
        err.contains("with an offset") && err.contains("starts"),
        "{err}"
    );
}

/// The sparkle preset's JSON with one edit, loaded with `Config::from_json`.
fn from_json_error(edit: impl FnOnce(&mut serde_json::Value)) -> ConfigError {
    let mut value = serde_json::to_value(Config::sparkle()).unwrap();
    edit(&mut value);
    Config::from_json(&value.to_string()).unwrap_err()
}

#[test]
fn from_json_loads_the_shipped_preset() {
    assert_eq!(Config::from_json(SHIPPED).unwrap(), Config::sparkle());
}

/// A malformed value is named by its path from the root, with serde_json's
/// message and its line and column.
#[test]
fn from_json_names_the_field_of_a_malformed_value() {
    let cases: Vec<(Edit, &str)> = vec![
        // A type error in a nested list.
        (
            Box::new(|v| v["streak"]["milestones"][1] = "thirty".into()),
            "streak.milestones[1]",
        ),
        (
            Box::new(|v| v["bands"][2]["min_level"] = "x".into()),
            "bands[2].min_level",
        ),
        (
            Box::new(|v| v["xp"]["kinds"]["post_created"]["xp"] = (-5).into()),
            "xp.kinds.post_created.xp",
        ),
        // An unknown field inside a board.
        (
            Box::new(|v| v["boards"][3]["windw"] = "day".into()),
            "boards[3].windw",
        ),
        // An unknown enum variant.
        (
            Box::new(|v| v["boards"][2]["window"] = "fortnight".into()),
            "boards[2].window",
        ),
        (
            Box::new(|v| v["quests"][1]["window"] = "hourly".into()),
            "quests[1].window",
        ),
        // A bad time zone.
        (
            Box::new(|v| v["default_time_zone"] = "Mars/Olympus_Mons".into()),
            "default_time_zone",
        ),
        (
            Box::new(|v| v["boards"][5]["time_zone"] = "Europe/Atlantis".into()),
            "boards[5].time_zone",
        ),
        // A missing field is named itself, not the value it is missing from.
        (
            Box::new(|v| {
                v["boards"][1].as_object_mut().unwrap().remove("window");
            }),
            "boards[1].window",
        ),
        (
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("xp");
            }),
            "xp",
        ),
        // An instant without an offset names no instant.
        (
            Box::new(|v| {
                v["xp"]["boosts"] = serde_json::json!([{"name": "double", "multiplier": 2.0,
                    "starts": "2026-01-01T00:00:00", "ends": "2026-01-02T00:00:00Z"}])
            }),
            "xp.boosts[0].starts",
        ),
        // Inside a value tagged by one of its fields (a curve's `kind`, a
        // criterion's `type`) the path stops at the tagged value.
        (
            Box::new(|v| {
                v["curve"] = serde_json::json!({"kind": "table", "thresholds": [0, "x", 200]})
            }),
            "curve",
        ),
        (
            Box::new(|v| {
                v["achievements"]["achievements"][2]["criterion"]["at_least"] = "x".into()
            }),
            "achievements.achievements[2].criterion",
        ),
    ];
    for (edit, field) in cases {
        let err = from_json_error(edit);
        assert_eq!(err.field(), field, "{err}");
        assert!(
            matches!(err.problem(), ConfigProblem::Malformed(_)),
            "{err:?}"
        );
        assert!(err.to_string().contains(" at line "), "{err}");
    }
}

/// A key given twice, in a map or a struct, is named with its path.
#[test]
fn from_json_names_a_key_given_twice() {
    let json = serde_json::to_string(&Config::sparkle()).unwrap();
    for (from, to, field) in [
        (
            r#""kinds":{"#,
            r#""kinds":{"post_created":{"xp":999999},"#,
            "xp.kinds.post_created",
        ),
        (
            r#""kind_metrics":{"#,
            r#""kind_metrics":{"post_created":["posts"],"#,
            "kind_metrics.post_created",
        ),
        (
            r#""future_tolerance_secs":300"#,
            r#""future_tolerance_secs":300,"future_tolerance_secs":60"#,
            "future_tolerance_secs",
        ),
        (
            r#""window":"all_time""#,
            r#""window":"all_time","window":"day""#,
            "boards[0].window",
        ),
    ] {
        let twice = json.replacen(from, to, 1);
        assert_ne!(twice, json, "{from} not found");
        let err = Config::from_json(&twice).unwrap_err();
        assert_eq!(err.field(), field, "{err}");
        assert!(err.to_string().contains("duplicate"), "{err}");
    }
}

/// What is wrong with the document as a whole is named `(root)`.
#[test]
fn from_json_names_the_root() {
    let json = serde_json::to_string(&Config::sparkle()).unwrap();
    for text in ["", "[]", "{", &format!("{json} trailing")] {
        let err = Config::from_json(text).unwrap_err();
        assert_eq!(err.field(), "(root)", "{err}");
        assert!(
            matches!(err.problem(), ConfigProblem::Malformed(_)),
            "{err:?}"
        );
    }
    // Bad syntax deeper in is named by the value it is in.
    let cut = &json[..json.find(r#""boards":[{"#).unwrap() + 11];
    assert_eq!(Config::from_json(cut).unwrap_err().field(), "boards[0]");
}

/// A value that parses but breaks a rule comes back as the structured
/// `ConfigError` validation found, named from the root.
#[test]
fn from_json_returns_invalid_values_as_validation_found_them() {
    let err = from_json_error(|v| v["quests"][0]["target"] = 0.into());
    assert_eq!(err.field(), "quests[0].target");
    assert_eq!(err.problem(), &ConfigProblem::Zero);
    let err = from_json_error(|v| {
        v["achievements"]["achievements"][0]["prerequisites"] = serde_json::json!(["ach_nope"])
    });
    assert_eq!(
        err.field(),
        "achievements.achievements[ach_first_post].prerequisites[0]"
    );
    assert_eq!(err.problem(), &ConfigProblem::Unknown("ach_nope".into()));
    let err = from_json_error(|v| {
        v["boards"][2]["min"] = 10.into();
        v["boards"][2]["max"] = 5.into();
    });
    assert_eq!(err.field(), "boards[2].max");
    let err = from_json_error(|v| v["curve"]["growth"] = 1.0001.into());
    assert_eq!(err.field(), "curve.growth");
}

/// The parts still validate when they are loaded on their own, naming the
/// field from their own root.
#[test]
fn the_parts_still_validate_on_their_own() {
    use gamify::achievement::Catalog;
    use gamify::leaderboard::BoardSpec;
    use gamify::level::LevelBands;
    use gamify::quest::QuestBook;

    let value = serde_json::to_value(Config::sparkle()).unwrap();
    let mut catalog = value["achievements"].clone();
    catalog["achievements"][0]["prerequisites"] = serde_json::json!(["ach_nope"]);
    let err = serde_json::from_value::<Catalog>(catalog).unwrap_err();
    assert!(
        err.to_string()
            .contains("`achievements[ach_first_post].prerequisites[0]`"),
        "{err}"
    );
    let mut board = value["boards"][0].clone();
    board["min"] = 10.into();
    board["max"] = 5.into();
    let err = serde_json::from_value::<BoardSpec>(board).unwrap_err();
    assert!(err.to_string().contains("`max`"), "{err}");
    let mut bands = value["bands"].clone();
    bands[1]["min_level"] = 1.into();
    let err = serde_json::from_value::<LevelBands>(bands).unwrap_err();
    assert!(err.to_string().contains("`bands[1].min_level`"), "{err}");
    let mut quests = value["quests"].clone();
    quests[1]["target"] = 0.into();
    let err = serde_json::from_value::<QuestBook>(quests).unwrap_err();
    assert!(err.to_string().contains("`quests[1].target`"), "{err}");
}

/// A configuration changed in code is checked by `validate` as loading
/// checks one: what holds between parts (unique board ids, metrics that
/// something produces, prerequisites that exist) is named from the root.
#[test]
fn a_configuration_changed_in_code_is_validated_on_request() {
    use gamify::leaderboard::{BoardSpec, BoardWindow, Source};

    assert_eq!(Config::sparkle().validate(), Ok(()));

    let mut twice = Config::sparkle();
    twice
        .boards
        .push(BoardSpec::new("xp_daily", Source::Xp, BoardWindow::Day));
    assert_eq!(twice.validate().unwrap_err().field(), "boards[16].id");

    let mut unknown = Config::sparkle();
    unknown.boards.push(BoardSpec::new(
        "likes",
        Source::Metric("likes_nobody_counts".into()),
        BoardWindow::AllTime,
    ));
    let err = unknown.validate().unwrap_err();
    assert_eq!(err.field(), "boards[16].source.metric", "{err}");

    let mut blank = Config::sparkle();
    blank.metrics.push("".into());
    assert_eq!(blank.validate().unwrap_err().field(), "metrics[2]");

    // A float JSON cannot hold is named for what it is, as loading names it.
    let mut boosted = serde_json::to_value(Config::sparkle()).unwrap();
    boosted["xp"]["boosts"] = serde_json::json!([
        {"name": "Double XP Weekend", "multiplier": 2.0,
         "starts": "2026-05-02T00:00:00Z", "ends": "2026-05-04T00:00:00Z"}
    ]);
    let mut nan: Config = serde_json::from_value(boosted).unwrap();
    nan.xp.boosts[0].multiplier = f64::NAN;
    let err = nan.validate().unwrap_err();
    assert_eq!(err.field(), "xp.boosts[0].multiplier", "{err}");
    assert_eq!(err.problem(), &ConfigProblem::NonFinite, "{err}");
}

/// Serde "from any format": RON names newtypes, so an optional instant
/// must read as an `Option` of a string (`Some("…")`), as RON writes it.
#[test]
fn an_available_window_round_trips_through_ron() {
    let mut value = serde_json::to_value(Config::sparkle()).unwrap();
    value["achievements"]["achievements"][0]["available"] =
        serde_json::json!({"from": "2026-06-01T00:00:00Z", "until": "2026-07-01T00:00:00Z"});
    value["xp"]["boosts"] = serde_json::json!([
        {"name": "Double XP Weekend", "multiplier": 2.0,
         "starts": "2026-05-02T00:00:00Z", "ends": "2026-05-04T00:00:00Z"}
    ]);
    let config: Config = serde_json::from_value(value).unwrap();
    let text = ron::to_string(&config).unwrap();
    let back: Config = ron::from_str(&text).unwrap_or_else(|e| panic!("RON: {e}"));
    assert_eq!(back, config);
}

//! Reading an instant from a configuration: an RFC 3339 string (in JSON,
//! TOML or any serde format), or TOML's own date-time value.
//!
//! Why not chrono's `Deserialize` alone: it takes a string only, and the
//! `toml` crate hands a native date-time (`starts = 2026-05-02T00:00:00Z`,
//! unquoted, as TOML files write them) to other types as a map of one
//! private key to the value's text, which chrono refuses.

use std::fmt;

use chrono::{DateTime, FixedOffset, Utc};
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// The key of the one-entry map the `toml` crate gives a native date-time
/// as. Not a public constant of `toml`; the test
/// `a_native_toml_datetime_loads` pins it.
const TOML_DATETIME_KEY: &str = "$__toml_private_datetime";

/// An instant: an RFC 3339 string, or a TOML date-time with an offset.
pub(crate) fn instant<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_str(InstantVisitor)
}

/// [`instant`], optional: for fields that may be absent or null. Read as
/// serde reads an `Option` of chrono's instant, so every format writes it
/// as it writes one (RON as `Some("…")`, not as a named newtype).
pub(crate) fn optional_instant<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    deserializer.deserialize_option(OptionalInstantVisitor)
}

struct OptionalInstantVisitor;

impl<'de> Visitor<'de> for OptionalInstantVisitor {
    type Value = Option<DateTime<Utc>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("nothing, or ")?;
        InstantVisitor.expecting(f)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        instant(deserializer).map(Some)
    }
}

struct InstantVisitor;

impl<'de> Visitor<'de> for InstantVisitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 date and time with an offset, such as 2026-05-02T00:00:00Z")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        parse(text)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        match map.next_key::<String>()? {
            Some(key) if key == TOML_DATETIME_KEY => {
                let text: String = map.next_value()?;
                parse(&text)
            }
            _ => Err(de::Error::invalid_type(de::Unexpected::Map, &self)),
        }
    }
}

/// Parse `text` as chrono's `Deserialize` does, with an error that says
/// what is expected: a date alone or a time without an offset (both valid
/// TOML) names no instant.
fn parse<E: de::Error>(text: &str) -> Result<DateTime<Utc>, E> {
    text.parse::<DateTime<FixedOffset>>()
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            E::custom(format_args!(
                "`{text}` is not an instant ({e}): write an RFC 3339 date and time with an offset, such as 2026-05-02T00:00:00Z"
            ))
        })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct When {
        #[serde(deserialize_with = "super::instant")]
        at: chrono::DateTime<Utc>,
        #[serde(default, deserialize_with = "super::optional_instant")]
        until: Option<chrono::DateTime<Utc>>,
    }

    #[test]
    fn a_native_toml_datetime_loads() {
        let when: When =
            toml::from_str("at = 2026-05-02T02:00:00+02:00\nuntil = 2026-05-03T00:00:00Z").unwrap();
        assert_eq!(when.at, Utc.with_ymd_and_hms(2026, 5, 2, 0, 0, 0).unwrap());
        assert_eq!(
            when.until,
            Some(Utc.with_ymd_and_hms(2026, 5, 3, 0, 0, 0).unwrap())
        );
        let quoted: When = toml::from_str("at = \"2026-05-02T00:00:00Z\"").unwrap();
        assert_eq!(quoted.at, when.at);
        assert_eq!(quoted.until, None);
    }

    #[test]
    fn strings_load_as_chrono_loads_them() {
        let when: When =
            serde_json::from_str(r#"{"at": "2026-05-02T00:00:00.5Z", "until": null}"#).unwrap();
        let chrono: chrono::DateTime<Utc> =
            serde_json::from_str(r#""2026-05-02T00:00:00.5Z""#).unwrap();
        assert_eq!(when.at, chrono);
        assert_eq!(when.until, None);
    }

    #[test]
    fn a_time_without_an_offset_is_refused_with_what_to_write() {
        for toml_text in [
            "at = 2026-05-02T00:00:00",
            "at = 2026-05-02",
            "at = 10:00:00",
        ] {
            let err = toml::from_str::<When>(toml_text).unwrap_err().to_string();
            assert!(err.contains("with an offset"), "{toml_text}: {err}");
        }
        let err = serde_json::from_str::<When>(r#"{"at": {"x": "2026-05-02T00:00:00Z"}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid type: map"), "{err}");
    }
}

//! [`Name`]: the short identifiers the game is written in — activity kinds,
//! metrics, quests, achievements, boards.
//!
//! Why not `String`: a user's state is a handful of small maps keyed by
//! these names, and at a million users that state is cold when an activity
//! arrives. A `String` key keeps its bytes behind a pointer, so every
//! comparison during a map lookup is one more cache miss, and every copy
//! into an outcome is an allocation. A `Name` of up to 23 bytes (every
//! name in the sparkle preset) keeps its bytes inline: compared where it
//! lies, copied without allocating. Longer names live behind a shared
//! pointer and are cloned by a reference count.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

/// An identifier: a kind, metric, quest, achievement or board name.
///
/// Ordered, compared and hashed exactly as the `str` it holds, so maps
/// keyed by `Name` are looked up by `&str`.
///
/// ```
/// use std::collections::BTreeMap;
/// use gamify::Name;
///
/// let mut posts = BTreeMap::new();
/// posts.insert(Name::new("posts"), 3);
/// assert_eq!(posts.get("posts"), Some(&3));
/// assert_eq!(Name::from("posts"), "posts");
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(SmolStr);

impl Name {
    /// A name holding `text`.
    pub fn new(text: impl AsRef<str>) -> Self {
        Self(SmolStr::new(text))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Name {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl From<&String> for Name {
    fn from(text: &String) -> Self {
        Self::new(text)
    }
}

impl From<String> for Name {
    fn from(text: String) -> Self {
        Self(SmolStr::from(text))
    }
}

impl From<Box<str>> for Name {
    fn from(text: Box<str>) -> Self {
        Self::new(text)
    }
}

impl From<std::borrow::Cow<'_, str>> for Name {
    fn from(text: std::borrow::Cow<'_, str>) -> Self {
        Self::new(text)
    }
}

impl From<&Self> for Name {
    fn from(name: &Self) -> Self {
        name.clone()
    }
}

impl From<Name> for String {
    fn from(name: Name) -> Self {
        name.as_str().to_owned()
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Name> for String {
    fn eq(&self, other: &Name) -> bool {
        self == other.as_str()
    }
}

mod map;

pub use map::{NameEntry, NameMap};

#[cfg(test)]
mod tests {
    use super::Name;

    #[test]
    fn short_names_are_inline_and_long_ones_still_equal() {
        let short = Name::new("comment_created_at_noon");
        assert_eq!(short.len(), 23);
        let long = Name::new("a name well past twenty-three bytes");
        assert_eq!(long.clone(), "a name well past twenty-three bytes");
        assert!(long < short, "ordered as text, not by length or storage");
        assert_eq!(Name::from(String::from("x")), Name::from("x"));
    }

    #[test]
    fn orders_and_hashes_as_its_str() {
        use std::hash::{BuildHasher, RandomState};
        let s = RandomState::new();
        let names = ["b", "a", "ab", "", "z".repeat(40).leak()];
        for x in names {
            assert_eq!(s.hash_one(Name::new(x)), s.hash_one(x));
            for y in names {
                assert_eq!(Name::new(x).cmp(&Name::new(y)), x.cmp(y));
            }
        }
    }

    #[test]
    fn serializes_as_a_plain_string() {
        let json = serde_json::to_string(&Name::new("posts")).unwrap();
        assert_eq!(json, "\"posts\"");
        assert_eq!(serde_json::from_str::<Name>(&json).unwrap(), "posts");
    }
}

//! What `MemoryStore` keeps of one transaction in its shard's journal: the
//! ledger entries it wrote, the activity it recorded with its first
//! outcome, and the links a user's transactions are read back through.
//!
//! Read back only for ledger pages, repeats and replays, and written on
//! every record into memory that is new (the journal only grows), so
//! packed tighter than the other encodings: what the rest of the
//! transaction implies is left out. The format byte; where the user's
//! previous transaction is (an option of an opaque `u64`, the store's to
//! read); the number of its first ledger entry; its instant (the
//! outcome's, shared by its entries); the lengths of its two parts; for a
//! transaction with entries, where the user's previous transaction with
//! entries is (none, the previous transaction, or a place); then the
//! parts.
//!
//! - The ledger part (empty for no entries): the entries without their
//!   instant, an entry for the activity without its kind.
//! - The kept part (empty for an admin update): the activity id and kind;
//!   a byte of [`Implied`] flags; the activity's instant unless it is the
//!   transaction's; the instant the engine recorded it at, if it noted one
//!   (a flag of its own, so no other activity grows); its metric
//!   increments and attributes; the outcome's
//!   user and activity unless they are the activity's; the outcome's
//!   events and totals, in the shorter forms the activity allows (its
//!   award without the kind and instants the activity gives, progress
//!   without the fractions the evaluator derives), and without the copy
//!   of the metric changes that stored outcomes carry (see
//!   `outcome::Known`).

use chrono::{DateTime, Utc};

use super::outcome::Known;
use super::wire::{Reader, Writer};
use super::{
    read_activity_payload, read_entries, read_outcome_body, write_activity_payload, write_entries,
    write_outcome_body,
};
use crate::activity::{Activity, ActivityId, UserId};
use crate::ledger::{LedgerDraft, LedgerEntry};
use crate::outcome::Outcome;
use crate::store::StoreError;

/// How a transaction links into its user's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::store) struct Head {
    /// Where the user's previous transaction is, as the store names places.
    pub(in crate::store) prev: Option<u64>,
    /// Where the user's previous transaction with ledger entries is: a
    /// ledger page is read along these links, so transactions that wrote
    /// no entry (activities past a cap) are never walked through. Kept
    /// only by a transaction with entries (`None` read back otherwise).
    pub(in crate::store) prev_ledger: Option<u64>,
    /// The number of the transaction's first ledger entry.
    pub(in crate::store) first_seq: u64,
}

/// How [`Head::prev_ledger`] is written: one byte when it is the previous
/// transaction, as it mostly is.
struct LedgerLink;

impl LedgerLink {
    const NONE: u8 = 0;
    const PREV: u8 = 1;
    const AT: u8 = 2;
}

/// Which of a kept activity's and outcome's fields the rest implies.
struct Implied;

impl Implied {
    /// The activity happened at the transaction's instant.
    const ACTIVITY_AT: u8 = 1;
    /// The outcome is of the user the transaction is for.
    const OUTCOME_USER: u8 = 2;
    /// The outcome names the activity.
    const OUTCOME_ACTIVITY: u8 = 4;
    /// Not an implication: the activity carries the instant the engine
    /// recorded it at ([`Activity::recorded_at`]), written after its own.
    /// A bit no earlier journal set.
    const RECORDED_AT: u8 = 8;
}

/// Encode a transaction of `user` at `at` into `out`, emptied first,
/// through `part`, a buffer the caller reuses between calls (so encoding
/// allocates nothing once both have grown).
#[allow(clippy::too_many_arguments)] // One call site; a struct would only rename them.
pub(in crate::store) fn encode_transaction(
    out: &mut Vec<u8>,
    part: &mut Vec<u8>,
    user: UserId,
    head: Head,
    at: DateTime<Utc>,
    ledger: &[LedgerDraft],
    kept: Option<(&Activity, &Outcome)>,
) {
    // The parts first: the header gives their lengths.
    let mut parts = Writer::part(std::mem::take(part));
    if !ledger.is_empty() {
        write_entries(&mut parts, ledger, kept.map(|(a, _)| a.kind.as_str()));
    }
    let ledger_len = parts.len();
    if let Some((activity, outcome)) = kept {
        let mut implied = 0;
        for (flag, holds) in [
            (Implied::ACTIVITY_AT, activity.at == at),
            (Implied::OUTCOME_USER, outcome.user == user),
            (
                Implied::OUTCOME_ACTIVITY,
                outcome.activity.as_ref() == Some(&activity.id),
            ),
            (Implied::RECORDED_AT, activity.recorded_at.is_some()),
        ] {
            if holds {
                implied |= flag;
            }
        }
        parts.str(&activity.id.0);
        parts.str(&activity.kind);
        parts.u8(implied);
        if implied & Implied::ACTIVITY_AT == 0 {
            parts.instant(activity.at);
        }
        if let Some(recorded_at) = activity.recorded_at {
            parts.instant(recorded_at);
        }
        write_activity_payload(&mut parts, activity);
        if implied & Implied::OUTCOME_USER == 0 {
            parts.u64(outcome.user.0);
        }
        if implied & Implied::OUTCOME_ACTIVITY == 0 {
            parts.option(outcome.activity.as_ref(), |w, id| w.str(&id.0));
        }
        let known = Known {
            kind: &activity.kind,
            at: activity.at,
        };
        write_outcome_body(&mut parts, &outcome.events, &outcome.totals, Some(known));
    }
    let kept_len = parts.len() - ledger_len;
    let parts = parts.finish();
    let mut w = Writer::reusing(std::mem::take(out));
    w.option(head.prev, Writer::u64);
    w.u64(head.first_seq);
    w.instant(at);
    w.u64(ledger_len as u64);
    w.u64(kept_len as u64);
    if ledger_len > 0 {
        match head.prev_ledger {
            None => w.u8(LedgerLink::NONE),
            Some(place) if Some(place) == head.prev => w.u8(LedgerLink::PREV),
            Some(place) => {
                w.u8(LedgerLink::AT);
                w.u64(place);
            }
        }
    }
    w.bytes(&parts);
    *out = w.finish();
    *part = parts;
}

/// A transaction as [`encode_transaction`] wrote it, its parts decoded
/// only when asked for.
#[derive(Debug, Clone, Copy)]
pub(in crate::store) struct Transaction<'a> {
    /// How it links into its user's history.
    pub(in crate::store) head: Head,
    at: DateTime<Utc>,
    ledger: &'a [u8],
    kept: &'a [u8],
}

impl<'a> Transaction<'a> {
    const WHAT: &'static str = "kept transaction";

    /// The transaction at the start of `bytes` (which may go on past it).
    pub(in crate::store) fn read(bytes: &'a [u8]) -> Result<Self, StoreError> {
        let mut r = Reader::new(bytes, Self::WHAT)?;
        let prev = r.option(Reader::u64)?;
        let first_seq = r.u64()?;
        let at = r.instant()?;
        let ledger_len = r.len()?;
        let kept_len = r.len()?;
        let prev_ledger = match ledger_len {
            0 => None,
            _ => match r.u8()? {
                LedgerLink::NONE => None,
                LedgerLink::PREV => prev,
                LedgerLink::AT => Some(r.u64()?),
                _ => return Err(r.bad("unknown ledger link")),
            },
        };
        Ok(Self {
            head: Head {
                prev,
                prev_ledger,
                first_seq,
            },
            at,
            ledger: r.take(ledger_len)?,
            kept: r.take(kept_len)?,
        })
    }

    /// The id of the activity it recorded; `None` for an admin update.
    pub(in crate::store) fn id(&self) -> Result<Option<&'a str>, StoreError> {
        if self.kept.is_empty() {
            return Ok(None);
        }
        Reader::part(self.kept, Self::WHAT).borrowed_str().map(Some)
    }

    /// Its ledger entries, of `user`.
    pub(in crate::store) fn ledger(&self, user: UserId) -> Result<Vec<LedgerEntry>, StoreError> {
        if self.ledger.is_empty() {
            return Ok(Vec::new());
        }
        // The activity's id and kind: the entries name the one and may
        // leave out the other.
        let (id, kind) = match self.kept.is_empty() {
            true => (None, None),
            false => {
                let mut r = Reader::part(self.kept, Self::WHAT);
                (Some(ActivityId(r.name()?)), Some(r.name()?))
            }
        };
        let mut r = Reader::part(self.ledger, Self::WHAT);
        let head = (user, self.at, id.as_ref());
        let entries = read_entries(&mut r, head, self.head.first_seq, kind.as_ref())?;
        r.end()?;
        Ok(entries)
    }

    /// The activity it recorded, of `user`; `None` for an admin update.
    pub(in crate::store) fn activity(&self, user: UserId) -> Result<Option<Activity>, StoreError> {
        self.read_kept(user, |_, _, _| Ok(()))
            .map(|kept| kept.map(|(a, ())| a))
    }

    /// The activity it recorded, of `user`, and that activity's outcome;
    /// `None` for an admin update.
    pub(in crate::store) fn activity_and_outcome(
        &self,
        user: UserId,
    ) -> Result<Option<(Activity, Outcome)>, StoreError> {
        self.read_kept(user, |r, implied, activity| {
            let user = match implied & Implied::OUTCOME_USER {
                0 => UserId(r.u64()?),
                _ => user,
            };
            let id = match implied & Implied::OUTCOME_ACTIVITY {
                0 => r.option(|r| r.name().map(ActivityId))?,
                _ => Some(activity.id.clone()),
            };
            let known = Known {
                kind: &activity.kind,
                at: activity.at,
            };
            let outcome = read_outcome_body(r, Outcome::new(user, id, self.at), Some(known))?;
            r.end()?;
            Ok(outcome)
        })
    }

    /// The kept part: the activity, then what `rest` reads after it (given
    /// the implied flags and the activity).
    fn read_kept<T>(
        &self,
        user: UserId,
        rest: impl FnOnce(&mut Reader<'a>, u8, &Activity) -> Result<T, StoreError>,
    ) -> Result<Option<(Activity, T)>, StoreError> {
        if self.kept.is_empty() {
            return Ok(None);
        }
        let mut r = Reader::part(self.kept, Self::WHAT);
        let id = ActivityId(r.name()?);
        let kind = r.name()?;
        let implied = r.u8()?;
        let at = match implied & Implied::ACTIVITY_AT {
            0 => r.instant()?,
            _ => self.at,
        };
        let recorded_at = match implied & Implied::RECORDED_AT {
            0 => None,
            _ => Some(r.instant()?),
        };
        let activity = Activity {
            recorded_at,
            ..Activity::new(id, user, kind, at)
        };
        let activity = read_activity_payload(&mut r, activity)?;
        let rest = rest(&mut r, implied, &activity)?;
        Ok(Some((activity, rest)))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::{Head, Transaction, encode_transaction};
    use crate::activity::{Activity, UserId};
    use crate::ledger::{Currency, LedgerDraft, Reason};
    use crate::outcome::Outcome;

    /// What the rest implies is left out only when it holds: an outcome of
    /// another user, naming no activity, at another instant than the
    /// activity, and entries for another kind, read back as written.
    #[test]
    fn fields_are_left_out_only_when_implied() {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 1, 0, 0).unwrap();
        let earlier = at - chrono::TimeDelta::milliseconds(1_500);
        let activity =
            Activity::new("a1", UserId(4), "post_created", earlier).with_attribute("x", -3);
        let draft = |kind: &str| LedgerDraft {
            currency: Currency::Xp,
            amount: 5,
            reason: Reason::Activity { kind: kind.into() },
        };
        let ledger = [draft("post_created"), draft("comment_created")];
        for (outcome, (prev, prev_ledger)) in [
            (
                Outcome::new(UserId(4), Some(activity.id.clone()), at),
                (None, None),
            ),
            (Outcome::new(UserId(5), None, at), (Some(5), Some(5))),
            (
                Outcome::new(UserId(4), Some("another".into()), at),
                (Some(9), Some(3)),
            ),
        ] {
            let (mut bytes, mut part) = (Vec::new(), Vec::new());
            let head = Head {
                prev,
                prev_ledger,
                first_seq: 0,
            };
            encode_transaction(
                &mut bytes,
                &mut part,
                UserId(4),
                head,
                at,
                &ledger,
                Some((&activity, &outcome)),
            );
            let kept = Transaction::read(&bytes).unwrap();
            assert_eq!(kept.head, head);
            assert_eq!(
                kept.activity_and_outcome(UserId(4)).unwrap(),
                Some((activity.clone(), outcome.clone()))
            );
            // The instant the engine recorded it at, when it noted one,
            // reads back (`==` does not compare it), and costs nothing
            // when it did not.
            assert_eq!(kept.activity(UserId(4)).unwrap().unwrap().recorded_at, None);
            let noted = Activity {
                recorded_at: Some(at - chrono::TimeDelta::seconds(30)),
                ..activity.clone()
            };
            let mut noted_bytes = Vec::new();
            let kept_noted = Some((&noted, &outcome));
            encode_transaction(
                &mut noted_bytes,
                &mut part,
                UserId(4),
                head,
                at,
                &ledger,
                kept_noted,
            );
            let read = Transaction::read(&noted_bytes).unwrap();
            let (back, back_outcome) = read.activity_and_outcome(UserId(4)).unwrap().unwrap();
            assert_eq!(back.recorded_at, noted.recorded_at);
            assert_eq!((back, back_outcome), (noted.clone(), outcome.clone()));
            assert_eq!(
                read.activity(UserId(4)).unwrap().unwrap().recorded_at,
                noted.recorded_at
            );
            assert_eq!(
                read.ledger(UserId(4)).unwrap(),
                kept.ledger(UserId(4)).unwrap()
            );
            assert!(noted_bytes.len() > bytes.len());
            let entries: Vec<_> = ledger
                .iter()
                .cloned()
                .zip(0..)
                .map(|(d, seq)| d.into_entry(seq, UserId(4), at, Some(activity.id.clone())))
                .collect();
            assert_eq!(kept.ledger(UserId(4)).unwrap(), entries);
        }
    }

    #[test]
    fn a_cut_or_corrupt_transaction_is_an_error_not_a_panic() {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 1, 0, 0).unwrap();
        // Noted with the instant it was recorded at, so cuts go through it.
        let activity = Activity {
            recorded_at: Some(at - chrono::TimeDelta::seconds(1)),
            ..Activity::new("a1", UserId(4), "post_created", at).with_metric("posts", 2)
        };
        let outcome = Outcome::new(UserId(4), Some(activity.id.clone()), at);
        let ledger = [LedgerDraft {
            currency: Currency::Xp,
            amount: 50,
            reason: Reason::Activity {
                kind: "post_created".into(),
            },
        }];
        let (mut bytes, mut part) = (Vec::new(), Vec::new());
        let head = Head {
            prev: Some(u64::MAX),
            prev_ledger: Some(12),
            first_seq: 7,
        };
        encode_transaction(
            &mut bytes,
            &mut part,
            UserId(4),
            head,
            at,
            &ledger,
            Some((&activity, &outcome)),
        );
        let whole = Transaction::read(&bytes).unwrap();
        assert_eq!(whole.head, head);
        assert_eq!(
            whole.activity_and_outcome(UserId(4)).unwrap(),
            Some((activity, outcome))
        );
        let read_all = |bytes: &[u8]| -> Result<(), crate::store::StoreError> {
            let t = Transaction::read(bytes)?;
            t.ledger(UserId(4))?;
            t.activity_and_outcome(UserId(4))?;
            Ok(())
        };
        // Entries numbered past `u64::MAX`: an error, not an overflow.
        let (mut last, two) = (Vec::new(), [ledger[0].clone(), ledger[0].clone()]);
        let head_at_end = Head {
            first_seq: u64::MAX,
            ..head
        };
        encode_transaction(&mut last, &mut part, UserId(4), head_at_end, at, &two, None);
        assert!(Transaction::read(&last).unwrap().ledger(UserId(4)).is_err());
        for cut in 0..bytes.len() {
            assert!(read_all(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..bytes.len() {
            for b in [0x00, 0x7f, 0x80, 0xff] {
                let mut corrupt = bytes.clone();
                corrupt[i] = b;
                // Whatever it reads as, it must not panic.
                let _ = read_all(&corrupt);
            }
        }
    }

    /// A step's own outcome of a first post: an award of the activity,
    /// achievement progress with the fractions the evaluator gives, and
    /// metric changes.
    fn first_post() -> (Activity, Outcome, Vec<LedgerDraft>) {
        let config = crate::config::Config::sparkle();
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 23, 30, 0).unwrap();
        let mut state = crate::state::UserState::default();
        let post = Activity::new("p1", UserId(4), "post_created", at);
        let commit = crate::step::step(&config, &mut state, &post, at).unwrap();
        (post, commit.outcome, commit.ledger)
    }

    fn award(o: &mut Outcome) -> &mut crate::xp::Award {
        o.events
            .iter_mut()
            .find_map(|e| match e {
                crate::outcome::Event::XpAwarded { award, .. } => Some(award),
                _ => None,
            })
            .unwrap()
    }

    /// The short forms (an award of the activity, derived fractions) are
    /// written only where they hold:
    /// any outcome reads back exactly, and one that breaks an implication
    /// takes the longer form.
    #[test]
    fn short_forms_are_used_only_where_they_hold() {
        use crate::outcome::Event;

        let (activity, outcome, ledger) = first_post();
        let has_progress = |o: &Outcome| {
            o.events.iter().any(
                |e| matches!(e, Event::AchievementProgress { progress } if !progress.is_empty()),
            )
        };
        assert!(has_progress(&outcome));
        assert!(!outcome.metric_changes().is_empty());
        let encoded_len = |o: &Outcome| {
            let (mut bytes, mut part) = (Vec::new(), Vec::new());
            let head = Head {
                prev: None,
                prev_ledger: None,
                first_seq: 0,
            };
            let at = o.at;
            let kept = Some((&activity, o));
            encode_transaction(&mut bytes, &mut part, UserId(4), head, at, &ledger, kept);
            let read = Transaction::read(&bytes).unwrap();
            assert_eq!(
                read.activity_and_outcome(UserId(4)).unwrap(),
                Some((activity.clone(), o.clone()))
            );
            bytes.len()
        };
        let short = encoded_len(&outcome);
        type Change = fn(&mut Outcome);
        let longer: [(&str, Change); 5] = [
            ("another kind", |o| award(o).kind = "comment_created".into()),
            ("another instant", |o| {
                award(o).at -= chrono::TimeDelta::seconds(1);
            }),
            ("credited more than awarded", |o| {
                if let Some(Event::XpAwarded { amount, .. }) = o.events.first_mut() {
                    *amount += 1;
                }
            }),
            ("a week not of its day", |o| {
                award(o).week -= chrono::TimeDelta::days(7);
            }),
            ("a fraction of its own", |o| {
                for e in &mut o.events {
                    if let Event::AchievementProgress { progress } = e {
                        progress[0].fraction = 0.123;
                    }
                }
            }),
        ];
        for (what, change) in longer {
            let mut changed = outcome.clone();
            change(&mut changed);
            assert!(encoded_len(&changed) > short, "{what}");
        }
        // Still short, read back exactly: a day after the instant's UTC
        // date (a zone ahead of UTC), and an outcome with no metrics.
        let mut ahead = outcome.clone();
        let next = award(&mut ahead).day.succ_opt().unwrap();
        award(&mut ahead).day = next;
        award(&mut ahead).week = crate::time::PeriodKind::ISO_WEEK.of_date(next).first_day();
        encoded_len(&ahead);
        let mut no_event = outcome.clone();
        no_event
            .events
            .retain(|e| !matches!(e, Event::MetricsIncremented { .. }));
        encoded_len(&no_event);
    }

    #[test]
    fn a_cut_or_corrupt_short_form_is_an_error_not_a_panic() {
        let (activity, outcome, ledger) = first_post();
        let (mut bytes, mut part) = (Vec::new(), Vec::new());
        let head = Head {
            prev: Some(3),
            prev_ledger: Some(3),
            first_seq: 1,
        };
        let kept = Some((&activity, &outcome));
        encode_transaction(
            &mut bytes,
            &mut part,
            UserId(4),
            head,
            outcome.at,
            &ledger,
            kept,
        );
        let read_all = |bytes: &[u8]| -> Result<(), crate::store::StoreError> {
            let t = Transaction::read(bytes)?;
            t.ledger(UserId(4))?;
            t.activity_and_outcome(UserId(4))?;
            Ok(())
        };
        assert!(read_all(&bytes).is_ok());
        for cut in 0..bytes.len() {
            assert!(read_all(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..bytes.len() {
            for b in [0x00, 0x01, 0x0e, 0x0f, 0x7f, 0x80, 0xff] {
                let mut corrupt = bytes.clone();
                corrupt[i] = b;
                let _ = read_all(&corrupt);
            }
        }
    }
}

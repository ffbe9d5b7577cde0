//! The store conformance suite: the behaviour every [`Store`] must have.
//!
//! Every store in this crate runs it, and a third-party store can too, with
//! the `conformance` feature:
//!
//! ```
//! # #[cfg(feature = "conformance")] {
//! use gamify::store::{MemoryStore, conformance};
//!
//! conformance::check_store(MemoryStore::new);
//! # }
//! ```
//!
//! The checks are assertions: they panic with a message naming the broken
//! promise, as a test should.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

use super::{BoardReset, Commit, Store, TransactError, Transacted};
use crate::activity::{Activity, UserId};
use crate::ledger::{Currency, LedgerDraft, Reason, balance};
use crate::outcome::Outcome;
use crate::state::UserState;
use crate::step::StepError;

/// Run every check against fresh stores made by `make`.
pub fn check_store<S: Store + 'static>(make: impl Fn() -> S) {
    new_user_starts_from_default(&make());
    applies_and_appends_ledger(&make());
    duplicate_returns_first_outcome_and_changes_nothing(&make());
    the_first_outcome_comes_back_exactly(&make());
    different_payload_is_a_conflict(&make());
    keeps_when_an_activity_was_recorded(&make());
    keeps_board_resets_in_order(&make());
    refused_step_changes_nothing(&make());
    admin_updates_have_no_id(&make());
    ledger_pages_in_order(&make());
    every_ledger_page_is_a_slice_of_the_ledger(&make());
    batches_act_per_item(&make());
    big_batches_match_one_at_a_time(&make(), &make());
    concurrent_duplicates_apply_once(Arc::new(make()));
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).unwrap_or(DateTime::UNIX_EPOCH)
}

fn activity(id: &str, user: u64, xp: u64) -> Activity {
    Activity::new(id, UserId(user), "test", t0()).with_metric("xp", xp)
}

/// A step that adds the activity's `xp` metric to the balance.
fn award(store: &dyn Store, a: &Activity) -> Result<Transacted, TransactError<StepError>> {
    let xp = a.metric("xp");
    store.transact(a.user, Some(a), &mut |state: &mut UserState| {
        state.xp += xp;
        Ok(Commit {
            outcome: Outcome::new(a.user, Some(a.id.clone()), a.at),
            ledger: vec![LedgerDraft {
                currency: Currency::Xp,
                amount: xp as i64,
                reason: Reason::Activity {
                    kind: a.kind.clone(),
                },
            }],
        })
    })
}

fn xp_of(store: &dyn Store, user: u64) -> u64 {
    store.load(UserId(user)).expect("load").map_or(0, |s| s.xp)
}

fn ledger_sum(store: &dyn Store, user: u64) -> i128 {
    let entries = store.ledger(UserId(user), 0, usize::MAX).expect("ledger");
    balance(&entries, Currency::Xp)
}

/// A user never seen has no state; the first step sees the default state.
pub fn new_user_starts_from_default(store: &dyn Store) {
    assert_eq!(
        store.load(UserId(1)).expect("load"),
        None,
        "unknown user has a state"
    );
    let mut seen = None;
    store
        .transact(UserId(1), None, &mut |state: &mut UserState| {
            seen = Some(state.clone());
            Ok(Commit {
                outcome: Outcome::new(UserId(1), None, t0()),
                ledger: vec![],
            })
        })
        .expect("transact");
    assert_eq!(
        seen,
        Some(UserState::default()),
        "first step did not see the default state"
    );
    assert_eq!(store.users().expect("users"), vec![UserId(1)]);
}

/// A step's state and ledger are committed together.
pub fn applies_and_appends_ledger(store: &dyn Store) {
    let a = activity("a", 7, 50);
    assert!(matches!(award(store, &a), Ok(Transacted::Applied(_))));
    store
        .transact(
            UserId(7),
            Some(&activity("b", 7, 5)),
            &mut |state: &mut UserState| {
                state.xp += 5;
                Ok(Commit {
                    outcome: Outcome::new(UserId(7), None, t0()),
                    ledger: vec![LedgerDraft {
                        currency: Currency::Xp,
                        amount: 5,
                        reason: Reason::Replay,
                    }],
                })
            },
        )
        .expect("transact");
    assert_eq!(xp_of(store, 7), 55);
    assert_eq!(ledger_sum(store, 7), 55, "balance and ledger disagree");
    let acts = store.activities(UserId(7)).expect("activities");
    assert_eq!(
        acts.iter().map(|a| a.id.0.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
}

/// The same id and payload again: the first outcome, nothing changes.
pub fn duplicate_returns_first_outcome_and_changes_nothing(store: &dyn Store) {
    let a = activity("dup", 3, 10);
    let Ok(Transacted::Applied(first)) = award(store, &a) else {
        panic!("first delivery not applied")
    };
    for _ in 0..3 {
        match award(store, &a) {
            Ok(Transacted::Duplicate(again)) => {
                assert_eq!(again, first, "duplicate gave another outcome")
            }
            other => panic!("repeat delivery not recognised: {other:?}"),
        }
    }
    assert_eq!(xp_of(store, 3), 10, "a duplicate changed the state");
    assert_eq!(
        store.ledger(UserId(3), 0, 100).expect("ledger").len(),
        1,
        "a duplicate wrote the ledger"
    );
}

/// A repeat returns the outcome the first step returned, field for field,
/// however it relates to the activity: of another user than the activity
/// names, naming no activity, at another time.
pub fn the_first_outcome_comes_back_exactly(store: &dyn Store) {
    let cases = [
        // (user transacted, the activity's user, the outcome's user)
        (30, 30, 30),
        (31, 32, 32),
        (33, 33, 34),
    ];
    for (i, (user, activity_user, outcome_user)) in cases.into_iter().enumerate() {
        let a = activity(&format!("exact{i}"), activity_user, 7);
        let mut outcome = Outcome::new(UserId(outcome_user), None, a.at + TimeDelta::seconds(5));
        outcome.totals.xp = 7;
        let first = outcome.clone();
        let mut step = |state: &mut UserState| {
            state.xp += 7;
            Ok(Commit {
                outcome: outcome.clone(),
                ledger: vec![LedgerDraft {
                    currency: Currency::Xp,
                    amount: 7,
                    reason: Reason::Activity {
                        kind: a.kind.clone(),
                    },
                }],
            })
        };
        let applied = store.transact(UserId(user), Some(&a), &mut step);
        assert!(
            matches!(applied, Ok(Transacted::Applied(_))),
            "case {i}: {applied:?}"
        );
        // The repeat as the store keeps the activity: of the user it was
        // transacted for.
        let repeat = Activity {
            user: UserId(user),
            ..a.clone()
        };
        match store.transact(UserId(user), Some(&repeat), &mut step) {
            Ok(Transacted::Duplicate(again)) => assert_eq!(again, first, "case {i}"),
            other => panic!("case {i}: repeat not recognised: {other:?}"),
        }
    }
}

/// The same id with another payload (or user) is a conflict; nothing changes.
pub fn different_payload_is_a_conflict(store: &dyn Store) {
    award(store, &activity("c", 4, 10)).expect("first");
    for other in [activity("c", 4, 11), activity("c", 5, 10)] {
        assert!(
            matches!(award(store, &other), Err(TransactError::Conflict(id)) if id.0 == "c"),
            "changed payload under a recorded id was not a conflict"
        );
    }
    assert_eq!(xp_of(store, 4), 10);
    assert_eq!(xp_of(store, 5), 0);
}

/// An activity's [`recorded_at`](Activity::recorded_at) is kept with it
/// and read back by `activities` (a replay steps the activity at it); a
/// repeat noted otherwise, or not at all, is still a repeat.
pub fn keeps_when_an_activity_was_recorded(store: &dyn Store) {
    let plain = activity("noted0", 13, 4);
    let noted = Activity {
        recorded_at: Some(t0() - TimeDelta::seconds(70)),
        ..activity("noted1", 13, 5)
    };
    for a in [&plain, &noted] {
        assert!(matches!(award(store, a), Ok(Transacted::Applied(_))));
    }
    let kept: Vec<_> = store
        .activities(UserId(13))
        .expect("activities")
        .into_iter()
        .map(|a| (a.id.0.to_string(), a.recorded_at))
        .collect();
    assert_eq!(
        kept,
        [
            ("noted0".to_owned(), None),
            ("noted1".to_owned(), noted.recorded_at)
        ],
        "the instant an activity was recorded at was not kept"
    );
    for recorded_at in [None, Some(t0())] {
        let repeat = Activity {
            recorded_at,
            ..noted.clone()
        };
        assert!(
            matches!(award(store, &repeat), Ok(Transacted::Duplicate(_))),
            "a repeat noted otherwise was not recognised"
        );
    }
    assert_eq!(xp_of(store, 13), 9);
}

/// Board resets are kept and read back in the order kept (not sorted by
/// time), beside the users' histories and without creating a user.
pub fn keeps_board_resets_in_order(store: &dyn Store) {
    assert_eq!(
        store.board_resets().expect("board resets"),
        vec![],
        "a new store has board resets"
    );
    let reset = |board: &str, secs: i64| BoardReset {
        board: board.into(),
        at: t0() + TimeDelta::seconds(secs) + TimeDelta::nanoseconds(secs * 7 + 1),
    };
    let resets = [
        reset("xp_daily", 10),
        reset("posts_weekly", 10),
        reset("xp_daily", 5),
        reset("a-board-id-longer-than-twenty-three-bytes", 3_600),
    ];
    for (i, r) in resets.iter().enumerate() {
        store.keep_board_reset(r).expect("keep a board reset");
        if i == 1 {
            award(store, &activity("between", 14, 1)).expect("award");
        }
    }
    assert_eq!(
        store.board_resets().expect("board resets"),
        resets,
        "board resets not read back as kept"
    );
    assert_eq!(store.users().expect("users"), vec![UserId(14)]);
}

/// A refused step leaves no state, ledger or id behind: the id can be
/// recorded later.
pub fn refused_step_changes_nothing(store: &dyn Store) {
    let a = activity("r", 9, 10);
    let refused = store.transact(a.user, Some(&a), &mut |_: &mut UserState| {
        Err(StepError::Refused("test".into()))
    });
    assert!(matches!(refused, Err(TransactError::Step(_))));
    assert_eq!(
        store.load(UserId(9)).expect("load"),
        None,
        "a refused first step created the user"
    );
    assert!(!store.users().expect("users").contains(&UserId(9)));
    assert_eq!(store.ledger(UserId(9), 0, 10).expect("ledger"), vec![]);
    assert!(store.activities(UserId(9)).expect("activities").is_empty());
    assert!(
        matches!(award(store, &a), Ok(Transacted::Applied(_))),
        "refused id was remembered"
    );
}

/// Admin updates (no activity) always apply and record no id.
pub fn admin_updates_have_no_id(store: &dyn Store) {
    for _ in 0..2 {
        store
            .transact(UserId(11), None, &mut |state: &mut UserState| {
                state.points += 3;
                Ok(Commit {
                    outcome: Outcome::new(UserId(11), None, t0()),
                    ledger: vec![LedgerDraft {
                        currency: Currency::Points,
                        amount: 3,
                        reason: Reason::Adjustment {
                            note: "gift".into(),
                        },
                    }],
                })
            })
            .expect("admin update");
    }
    let state = store.load(UserId(11)).expect("load").expect("state");
    assert_eq!(state.points, 6);
    let entries = store.ledger(UserId(11), 0, 10).expect("ledger");
    assert_eq!(balance(&entries, Currency::Points), 6);
    assert!(entries.iter().all(|e| e.activity.is_none()));
}

/// Ledger entries are numbered from 0 in write order and page by `from`.
pub fn ledger_pages_in_order(store: &dyn Store) {
    for i in 0..25u64 {
        let mut a = activity(&format!("p{i}"), 12, i + 1);
        a.at = t0() + TimeDelta::seconds(i as i64);
        award(store, &a).expect("award");
    }
    let mut all = Vec::new();
    let mut from = 0;
    loop {
        let page = store.ledger(UserId(12), from, 10).expect("ledger");
        if page.is_empty() {
            break;
        }
        from += page.len() as u64;
        all.extend(page);
    }
    assert_eq!(all.len(), 25);
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.seq, i as u64, "ledger numbering");
        assert_eq!(e.amount, i as i64 + 1, "ledger order");
        assert_eq!(
            e.activity.as_ref().map(|id| id.0.clone()),
            Some(format!("p{i}").into())
        );
    }
}

/// Any page (`from`, `limit`) of a long ledger is that slice of the whole,
/// whatever the transactions wrote: none, one or several entries, with an
/// activity or as an admin update. The activities come back in order.
pub fn every_ledger_page_is_a_slice_of_the_ledger(store: &dyn Store) {
    let user = UserId(21);
    let mut recorded = Vec::new();
    for i in 0..90u64 {
        // Entries 0, 1, 2 or 3, with an activity two times in three.
        let entries = (i * 7 % 4) as i64;
        let activity = (i % 3 != 0).then(|| {
            Activity::new(
                format!("l{i}"),
                user,
                "test",
                t0() + TimeDelta::seconds(i as i64),
            )
        });
        let at = activity.as_ref().map_or(t0(), |a| a.at);
        let result = store.transact(user, activity.as_ref(), &mut |state: &mut UserState| {
            state.points += entries as u64;
            Ok(Commit {
                outcome: Outcome::new(user, activity.as_ref().map(|a| a.id.clone()), at),
                ledger: (0..entries)
                    .map(|n| LedgerDraft {
                        currency: Currency::Points,
                        amount: i as i64 * 10 + n,
                        reason: Reason::Adjustment {
                            note: format!("t{i} e{n}"),
                        },
                    })
                    .collect(),
            })
        });
        assert!(result.is_ok(), "transaction {i}: {result:?}");
        recorded.extend(activity);
    }
    let all = store.ledger(user, 0, usize::MAX).expect("ledger");
    let n = all.len();
    assert_eq!(store.ledger_len(user).expect("ledger_len"), n as u64);
    assert!(n > 100, "{n} entries");
    for (seq, e) in all.iter().enumerate() {
        assert_eq!(e.seq, seq as u64, "ledger numbering");
    }
    assert!(
        all.windows(2).all(|w| w[0].amount < w[1].amount),
        "ledger order"
    );
    for from in 0..=n + 2 {
        for limit in [0, 1, 2, 3, 7, 16, 40, usize::MAX] {
            let page = store.ledger(user, from as u64, limit).expect("ledger page");
            let want = all
                .get(from..n.min(from.saturating_add(limit)))
                .unwrap_or(&[]);
            assert_eq!(page, want, "page from {from}, limit {limit}");
        }
    }
    assert_eq!(store.activities(user).expect("activities"), recorded);
}

/// `transact_many` applies each item on its own: a refused item and a
/// duplicate affect only themselves, and the results come back in order.
pub fn batches_act_per_item(store: &dyn Store) {
    let acts: Vec<Activity> = (0..6u64)
        .map(|i| activity(&format!("b{}", i % 5), 20 + i % 2, 10))
        .collect();
    let work: Vec<super::Work<'_>> = acts
        .iter()
        .map(|a| super::Work {
            user: a.user,
            activity: Some(a),
        })
        .collect();
    let results = store
        .transact_many(&work, &mut |i, state: &mut UserState| {
            if i == 2 {
                return Err(StepError::Refused("item 2".into()));
            }
            state.xp += 10;
            Ok(Commit {
                outcome: Outcome::new(acts[i].user, Some(acts[i].id.clone()), acts[i].at),
                ledger: vec![LedgerDraft {
                    currency: Currency::Xp,
                    amount: 10,
                    reason: Reason::Replay,
                }],
            })
        })
        .expect("batch");
    assert_eq!(results.len(), 6);
    assert!(
        matches!(results[2], Err(TransactError::Step(_))),
        "refused item"
    );
    // Item 5 repeats item 0's id with another user: a conflict.
    assert!(
        matches!(results[5], Err(TransactError::Conflict(_))),
        "{:?}",
        results[5]
    );
    for i in [0, 1, 3, 4] {
        assert!(
            matches!(results[i], Ok(Transacted::Applied(_))),
            "item {i}: {:?}",
            results[i]
        );
    }
    assert_eq!(xp_of(store, 20), 20);
    assert_eq!(xp_of(store, 21), 20);
    assert_eq!(ledger_sum(store, 20) + ledger_sum(store, 21), 40);
}

/// A batch of hundreds (a store may run big batches differently, as
/// `MemoryStore` does) ends exactly as the same items applied one at a
/// time on another store: the same results in order, states and ledgers.
/// The batch mixes new users, ids recorded before it, repeats and
/// conflicts within it, refused steps (a new user's first among them) and
/// admin updates with no activity.
pub fn big_batches_match_one_at_a_time(batched: &dyn Store, single: &dyn Store) {
    // Recorded before the batch, on both stores.
    let before: Vec<Activity> = (0..20u64)
        .map(|i| activity(&format!("old{i}"), 100 + i % 7, 3))
        .collect();
    for a in &before {
        award(batched, a).expect("before");
        award(single, a).expect("before");
    }
    let mut acts: Vec<Activity> = Vec::new();
    for i in 0..300u64 {
        let user = 100 + (i * 7919) % 53;
        acts.push(match i % 10 {
            // A repeat of an id recorded before the batch, same payload.
            3 => before[(i % 20) as usize].clone(),
            // A repeat of an earlier id of this batch, same payload.
            5 if i > 10 => acts[(i / 2) as usize].clone(),
            // An earlier id of this batch with another payload.
            7 if i > 10 => activity(&acts[(i / 3) as usize].id.0, user, 99),
            _ => activity(&format!("new{i}"), user, 1 + i % 5),
        });
    }
    // Refused: every item whose xp is 4 (item 8 among them), and the first
    // step of user 999. A refused id stays free: item 8's id is recorded
    // later in the batch with another payload, then repeated.
    assert_eq!(acts[8].metric("xp"), 4, "item 8 is refused");
    let reused = activity(&acts[8].id.0, 101, 2);
    acts.push(reused.clone());
    acts.push(reused);
    acts.push(activity("lonely", 999, 4));
    let refuse = |a: &Activity| a.metric("xp") == 4;
    let step = |a: &Activity, state: &mut UserState| {
        if refuse(a) {
            return Err(StepError::Refused("xp 4".into()));
        }
        let xp = a.metric("xp");
        state.xp += xp;
        Ok(Commit {
            outcome: Outcome::new(a.user, Some(a.id.clone()), a.at),
            ledger: vec![LedgerDraft {
                currency: Currency::Xp,
                amount: xp as i64,
                reason: Reason::Replay,
            }],
        })
    };
    // Every 17th item is an admin update of its user: no activity id.
    let admin = |i: usize| i % 17 == 16;
    let admin_step = |a: &Activity, state: &mut UserState| {
        state.points += 1;
        Ok(Commit {
            outcome: Outcome::new(a.user, None, a.at),
            ledger: vec![LedgerDraft {
                currency: Currency::Points,
                amount: 1,
                reason: Reason::Adjustment {
                    note: "batch".into(),
                },
            }],
        })
    };
    let work: Vec<super::Work<'_>> = acts
        .iter()
        .enumerate()
        .map(|(i, a)| super::Work {
            user: a.user,
            activity: (!admin(i)).then_some(a),
        })
        .collect();
    let results = batched
        .transact_many(&work, &mut |i, state: &mut UserState| {
            if admin(i) {
                admin_step(&acts[i], state)
            } else {
                step(&acts[i], state)
            }
        })
        .expect("batch");
    assert_eq!(results.len(), acts.len());
    let mut users: Vec<UserId> = Vec::new();
    for (i, (a, got)) in acts.iter().zip(&results).enumerate() {
        let want = if admin(i) {
            single.transact(a.user, None, &mut |state| admin_step(a, state))
        } else {
            single.transact(a.user, Some(a), &mut |state| step(a, state))
        };
        assert_eq!(
            format!("{got:?}"),
            format!("{want:?}"),
            "item {i} ({})",
            a.id
        );
        users.push(a.user);
    }
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Ok(Transacted::Duplicate(_)))),
        "the batch has repeats"
    );
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(TransactError::Conflict(_)))),
        "the batch has conflicts"
    );
    assert_eq!(
        batched.users().expect("users"),
        single.users().expect("users")
    );
    assert!(
        batched.load(UserId(999)).expect("load").is_none(),
        "refused first step"
    );
    let n = results.len();
    assert!(
        matches!(results[n - 3], Ok(Transacted::Applied(_)))
            && matches!(results[n - 2], Ok(Transacted::Duplicate(_))),
        "a refused id is free for a later item"
    );
    users.sort_unstable();
    users.dedup();
    for user in users {
        assert_eq!(
            batched.load(user).expect("load"),
            single.load(user).expect("load")
        );
        assert_eq!(
            batched.ledger(user, 0, usize::MAX).expect("ledger"),
            single.ledger(user, 0, usize::MAX).expect("ledger"),
            "ledger of {user:?}"
        );
        assert_eq!(
            batched.activities(user).expect("activities"),
            single.activities(user).expect("activities")
        );
    }
}

/// Eight threads deliver the same ids up to four times each: every id is
/// applied exactly once and the balance equals the ledger.
pub fn concurrent_duplicates_apply_once<S: Store + 'static>(store: Arc<S>) {
    let applied = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let (store, applied) = (Arc::clone(&store), Arc::clone(&applied));
            std::thread::spawn(move || {
                for i in 0..400u64 {
                    // Ids 0..200, each sent by four of the eight threads.
                    let id = (i + t * 50) % 200;
                    let a = activity(&format!("k{id}"), 100 + id % 5, id + 1);
                    if let Ok(Transacted::Applied(_)) = award(&*store, &a) {
                        applied.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    assert_eq!(
        applied.load(Ordering::Relaxed),
        200,
        "an id was applied more or less than once"
    );
    let mut total = 0;
    for user in 100..105 {
        let expected: u64 = (0..200u64)
            .filter(|id| 100 + id % 5 == user)
            .map(|id| id + 1)
            .sum();
        assert_eq!(xp_of(&*store, user), expected, "user {user}");
        assert_eq!(
            ledger_sum(&*store, user),
            i128::from(expected),
            "user {user} ledger"
        );
        total += expected;
    }
    assert_eq!(total, (1..=200).sum::<u64>());
}

#[cfg(test)]
mod tests {
    #[test]
    fn memory_store_conforms() {
        super::check_store(super::super::MemoryStore::new);
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn sqlite_store_conforms() {
        use super::super::{SqliteStore, Synchronous};
        let dir = std::env::temp_dir().join(format!("gamify-conformance-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let n = std::sync::atomic::AtomicUsize::new(0);
        super::check_store(|| {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            SqliteStore::open_with(dir.join(format!("store-{i}.db")), Synchronous::Off)
                .expect("open")
        });
        std::fs::remove_dir_all(&dir).ok();
    }
}

//! Boards against a sorted `Vec` model: random updates, ties and removals;
//! every query under every rank policy agrees with the model, and pages
//! stitch into every user exactly once (seed defect 12). Plus windows,
//! score modes, bounds, memory and badges.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use gamify::activity::UserId;
use gamify::leaderboard::{
    Board, BoardError, BoardSpec, BoardWindow, Change, RankBadge, RankPolicy, RankedSet, ScoreMode,
    Source, Standing,
};
use gamify::time::Tz;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Set(u64, u64),
    Remove(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        // Few users and few scores: many ties and many updates of one user.
        8 => (0..40u64, 0..12u64).prop_map(|(u, s)| Op::Set(u, s * 10)),
        1 => (0..40u64).prop_map(Op::Remove),
    ]
}

/// The model: (user, score, when it reached that score), sorted by score
/// descending, then arrival, then user.
#[derive(Default)]
struct Model {
    entries: Vec<(u64, u64, u64)>,
    clock: u64,
}

impl Model {
    fn apply(&mut self, op: &Op) {
        self.clock += 1;
        match *op {
            Op::Set(u, s) => match self.entries.iter_mut().find(|e| e.0 == u) {
                Some(e) if e.1 == s => {}
                Some(e) => *e = (u, s, self.clock),
                None => self.entries.push((u, s, self.clock)),
            },
            Op::Remove(u) => self.entries.retain(|e| e.0 != u),
        }
        self.entries
            .sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)).then(a.0.cmp(&b.0)));
    }

    fn rank(&self, i: usize, policy: RankPolicy) -> u64 {
        let score = self.entries[i].1;
        let above = self.entries.iter().filter(|e| e.1 > score).count();
        let distinct_above = {
            let mut s: Vec<u64> = self
                .entries
                .iter()
                .filter(|e| e.1 > score)
                .map(|e| e.1)
                .collect();
            s.dedup();
            s.len()
        };
        1 + match policy {
            RankPolicy::Competition => above,
            RankPolicy::Dense => distinct_above,
            RankPolicy::Ordinal => i,
        } as u64
    }

    fn standings(&self, policy: RankPolicy) -> Vec<Standing> {
        (0..self.entries.len())
            .map(|i| Standing {
                user: UserId(self.entries[i].0),
                rank: self.rank(i, policy),
                score: self.entries[i].1,
                total: self.entries.len() as u64,
            })
            .collect()
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 4, 12, 0, 0).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_query_and_policy_agrees_with_a_sorted_vec(
        ops in prop::collection::vec(op(), 1..120),
        page in 1..7usize,
        k in 0..24usize,
    ) {
        for policy in [RankPolicy::Competition, RankPolicy::Dense, RankPolicy::Ordinal] {
            let mut spec = BoardSpec::new("b", Source::Xp, BoardWindow::AllTime);
            spec.policy = policy;
            spec.mode = ScoreMode::Replace;
            let mut board = Board::new(spec);
            let mut model = Model::default();
            for op in &ops {
                model.apply(op);
                match *op {
                    Op::Set(u, s) => board.record(UserId(u), s, now(), now()).unwrap(),
                    Op::Remove(u) => { board.remove(UserId(u)); }
                }
            }
            let expected = model.standings(policy);
            prop_assert_eq!(board.len(), expected.len());
            prop_assert_eq!(&board.top(usize::MAX), &expected);
            // Pages stitch: every user exactly once, in order.
            let mut stitched = Vec::new();
            let mut offset = 0;
            loop {
                let p = board.page(offset, page);
                if p.is_empty() { break; }
                offset += p.len();
                stitched.extend(p);
            }
            prop_assert_eq!(&stitched, &expected);
            for (i, s) in expected.iter().enumerate() {
                prop_assert_eq!(board.rank_of(s.user), Some(*s));
                for k in [2, k] {
                    let around = board.around(s.user, k);
                    let lo = i.saturating_sub(k);
                    prop_assert_eq!(&around[..], &expected[lo..(i + k + 1).min(expected.len())]);
                }
                let below = expected.iter().filter(|e| e.score < s.score).count();
                let pct = board.percentile(s.user).unwrap();
                prop_assert!((pct - 100.0 * below as f64 / expected.len() as f64).abs() < 1e-9);
            }
            // Users not on the board (never there, or removed) have no window.
            for u in (0..45u64).filter(|u| expected.iter().all(|s| s.user.0 != *u)) {
                prop_assert!(board.around(UserId(u), k).is_empty());
            }
            // A scoped ranking (friends) ranks the subset alone, by policy.
            let friends: Vec<UserId> = expected.iter().step_by(2).map(|s| s.user).collect();
            let scoped = board.among(&friends);
            prop_assert_eq!(scoped.len(), friends.len());
            prop_assert!(scoped.windows(2).all(|w| w[0].score >= w[1].score && w[0].rank <= w[1].rank));
            if let Some(first) = scoped.first() { prop_assert_eq!(first.rank, 1); }
        }
    }
}

#[test]
fn windows_roll_over_and_keep_the_final_standings() {
    let mut spec = BoardSpec::new("xp_weekly", Source::Xp, BoardWindow::ISO_WEEK);
    spec.time_zone = Tz::America__New_York;
    spec.keep_previous = 2;
    let mut board = Board::new(spec);
    // Sunday 10 May 2026, 23:00 New York.
    let sunday = Utc.with_ymd_and_hms(2026, 5, 11, 3, 0, 0).unwrap();
    for (u, xp) in [(1, 50), (2, 70), (3, 60)] {
        board.record(UserId(u), xp, sunday, sunday).unwrap();
    }
    let monday = sunday + TimeDelta::hours(2);
    board.record(UserId(4), 5, monday, monday).unwrap();
    assert_eq!(board.len(), 1);
    let previous = board.previous().unwrap();
    assert_eq!(previous.window.to_string(), "2026-05-04");
    assert_eq!(
        previous.top.iter().map(|s| s.user.0).collect::<Vec<_>>(),
        [2, 3]
    );
    // A late event for the closed week does not count in the new one.
    board.record(UserId(1), 500, sunday, monday).unwrap();
    assert_eq!(board.rank_of(UserId(1)), None);
    // An admin reset closes the window early.
    board.reset_window(monday);
    assert!(board.is_empty());
    assert_eq!(board.previous().unwrap().top[0].user, UserId(4));
}

#[test]
fn score_modes_and_bounds() {
    let mut spec = BoardSpec::new("best", Source::Metric("laps".into()), BoardWindow::AllTime);
    spec.mode = ScoreMode::KeepBest;
    spec.max = Some(1000);
    let mut board = Board::new(spec);
    board.record(UserId(1), 300, now(), now()).unwrap();
    board.record(UserId(1), 200, now(), now()).unwrap();
    assert_eq!(board.rank_of(UserId(1)).unwrap().score, 300);
    assert_eq!(
        board.record(UserId(1), 5000, now(), now()),
        Err(BoardError::OutOfRange {
            score: 5000,
            min: 0,
            max: 1000
        })
    );
    assert_eq!(
        board.rank_of(UserId(1)).unwrap().score,
        300,
        "a refused score changes nothing"
    );
    let mut inc = Board::new(BoardSpec::new("xp", Source::Xp, BoardWindow::AllTime));
    inc.record(UserId(1), u64::MAX, now(), now()).unwrap();
    assert_eq!(
        inc.record(UserId(1), 1, now(), now()),
        Err(BoardError::Overflow)
    );
}

#[test]
fn rank_badges() {
    let badges: Vec<_> = [1, 2, 3, 4, 10, 11, 100, 101]
        .into_iter()
        .map(RankBadge::for_rank)
        .collect();
    use RankBadge::*;
    assert_eq!(
        badges,
        [
            Some(Gold),
            Some(Silver),
            Some(Bronze),
            Some(Top10),
            Some(Top10),
            Some(Top100),
            Some(Top100),
            None
        ]
    );
}

#[test]
fn a_million_entries_fit_in_48_bytes_each() {
    let mut set = RankedSet::new(false);
    for u in 0..1_000_000u64 {
        set.set(UserId(u.wrapping_mul(0x9e37_79b9)), u % 50_000);
    }
    let per_entry = set.memory_bytes() as f64 / 1_000_000.0;
    assert!(per_entry <= 48.0, "{per_entry:.1} bytes per entry");
    // Its large tables ask for transparent huge pages; whether they get
    // them is the machine's setting, so this prints rather than asserts.
    if let Ok(rollup) = std::fs::read_to_string("/proc/self/smaps_rollup") {
        let huge = rollup.lines().find(|l| l.starts_with("AnonHugePages"));
        println!("a million entries: {huge:?} in this process");
    }
}

/// One big-board operation: set a user's score (few scores: long ties), or
/// remove a user.
fn big_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..9000u64, 0..6u64).prop_map(|(u, s)| Op::Set(u, s)),
        1 => (0..9000u64).prop_map(Op::Remove),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// Thousands of entries: leaves and groups split, spill, merge and
    /// empty, ties run across many leaves, the user table grows and shifts
    /// on removal. Ordinal positions, competition ranks and pages still
    /// match the model.
    #[test]
    fn big_boards_with_long_ties_agree_with_a_sorted_vec(
        ops in prop::collection::vec(big_op(), 6000..16000),
        drain in any::<bool>(),
    ) {
        let mut board = Board::new(BoardSpec::new("b", Source::Xp, BoardWindow::AllTime));
        let with = |policy| {
            let mut spec = BoardSpec::new("o", Source::Xp, BoardWindow::AllTime);
            spec.policy = policy;
            Board::new(spec)
        };
        let mut ordinal = with(RankPolicy::Ordinal);
        let mut dense = with(RankPolicy::Dense);
        let mut model = Model::default();
        let mut apply = |op: &Op, model: &mut Model| {
            model.clock += 1;
            match *op {
                Op::Set(u, s) => {
                    board.set(UserId(u), s, now()).unwrap();
                    ordinal.set(UserId(u), s, now()).unwrap();
                    dense.set(UserId(u), s, now()).unwrap();
                    match model.entries.iter_mut().find(|e| e.0 == u) {
                        Some(e) if e.1 == s => {}
                        Some(e) => *e = (u, s, model.clock),
                        None => model.entries.push((u, s, model.clock)),
                    }
                }
                Op::Remove(u) => {
                    board.remove(UserId(u));
                    ordinal.remove(UserId(u));
                    dense.remove(UserId(u));
                    model.entries.retain(|e| e.0 != u);
                }
            }
        };
        for op in &ops {
            apply(op, &mut model);
        }
        if drain {
            // Remove nearly everyone: merges all the way down.
            let users: Vec<u64> = model.entries.iter().map(|e| e.0).collect();
            for u in users.iter().skip(3) {
                apply(&Op::Remove(*u), &mut model);
            }
        }
        model.entries.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)).then(a.0.cmp(&b.0)));
        let total = model.entries.len() as u64;
        let expected: Vec<Standing> = model
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| Standing { user: UserId(e.0), rank: i as u64 + 1, score: e.1, total })
            .collect();
        prop_assert_eq!(&ordinal.top(usize::MAX), &expected);
        // Competition and dense ranks: the first of a score's run, and the
        // count of distinct scores before it.
        let (mut competition, mut distinct) = (expected.clone(), expected.clone());
        for i in 1..expected.len() {
            if expected[i].score == expected[i - 1].score {
                competition[i].rank = competition[i - 1].rank;
                distinct[i].rank = distinct[i - 1].rank;
            } else {
                distinct[i].rank = distinct[i - 1].rank + 1;
            }
        }
        let len = expected.len();
        for (i, e) in model.entries.iter().enumerate() {
            // Every user near a run's or leaf's edge, and a sample besides.
            let edge = i == 0 || i + 1 == len || expected[i - 1].score != e.1 || expected[i + 1].score != e.1;
            if i % 37 == 0 || i % 64 < 2 || edge {
                prop_assert_eq!(ordinal.rank_of(UserId(e.0)).map(|s| s.rank), Some(i as u64 + 1));
                prop_assert_eq!(board.rank_of(UserId(e.0)), Some(competition[i]));
                for k in [0, 1, 5, 16, 17, 70] {
                    let (lo, hi) = (i.saturating_sub(k), (i + k + 1).min(len));
                    prop_assert_eq!(&ordinal.around(UserId(e.0), k)[..], &expected[lo..hi]);
                    prop_assert_eq!(&board.around(UserId(e.0), k)[..], &competition[lo..hi]);
                    prop_assert_eq!(&dense.around(UserId(e.0), k)[..], &distinct[lo..hi]);
                }
            }
        }
    }
}

/// `around` takes any `k`: one larger than the board (up to `usize::MAX`)
/// gives the whole board, never an overflow or a cut-off page.
#[test]
fn around_with_a_huge_k_gives_the_whole_board() {
    let mut spec = BoardSpec::new("b", Source::Xp, BoardWindow::AllTime);
    spec.mode = ScoreMode::Replace;
    let mut board = Board::new(spec);
    for u in 0..5 {
        board.record(UserId(u), u * 10, now(), now()).unwrap();
    }
    let all = board.top(usize::MAX);
    assert_eq!(all.len(), 5);
    for k in [5, usize::MAX / 2, usize::MAX - 1, usize::MAX] {
        assert_eq!(board.around(UserId(2), k), all, "k = {k}");
    }
}

/// A change for the staged-update test: amounts near `u64::MAX` overflow
/// increments, zero amounts and `Set(0)`/`Remove` take users off, events
/// land before, in and after the current window.
fn change(start: DateTime<Utc>) -> impl Strategy<Value = (u64, u8, Change, i64)> {
    let amount = prop_oneof![4 => 0..50u64, 1 => Just(u64::MAX - 10), 1 => Just(u64::MAX)];
    let at = -30..50i64; // hours from the step's `now`
    (
        0..12u64,
        0..4u8,
        prop_oneof![
            3 => (amount.clone(), at.clone()).prop_map(move |(amount, h)| Change::Record {
                amount,
                at: start + TimeDelta::hours(h),
            }),
            2 => (amount.clone(), at).prop_map(move |(amount, h)| Change::RecordSaturating {
                amount,
                at: start + TimeDelta::hours(h),
            }),
            1 => (0..50u64).prop_map(Change::Set),
            1 => Just(Change::Remove),
        ],
        0..30i64, // how far `now` moves on, in hours
    )
}

/// What `Board::apply` does, spelled with the older methods (the engine's
/// sequence before `Change` existed).
fn apply_alone(
    board: &mut Board,
    user: UserId,
    change: Change,
    now: DateTime<Utc>,
) -> Result<(), BoardError> {
    match change {
        Change::Record { amount, at } => board.record(user, amount, at, now),
        Change::RecordSaturating { amount, at } => match board.record(user, amount, at, now) {
            Err(BoardError::Overflow) => board.set(user, u64::MAX, now),
            other => other,
        },
        Change::Set(score) => board.set(user, score, now),
        Change::Remove => {
            board.remove(user);
            Ok(())
        }
        _ => unreachable!("a change this test does not know"),
    }
}

fn staged_boards() -> Vec<Board> {
    let mut specs = Vec::new();
    for window in [
        BoardWindow::AllTime,
        BoardWindow::Day,
        BoardWindow::ISO_WEEK,
    ] {
        for mode in [
            ScoreMode::Increment,
            ScoreMode::Replace,
            ScoreMode::KeepBest,
        ] {
            let mut spec = BoardSpec::new("b", Source::Xp, window);
            spec.mode = mode;
            spec.keep_previous = 5;
            specs.push(spec);
        }
    }
    let mut bounded = BoardSpec::new("bounded", Source::Xp, BoardWindow::Day);
    (bounded.min, bounded.max) = (Some(5), Some(60));
    specs.push(bounded);
    let mut dense = BoardSpec::new("dense", Source::Xp, BoardWindow::AllTime);
    dense.policy = RankPolicy::Dense;
    specs.push(dense);
    specs.into_iter().map(Board::new).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Boards updated in stages (every board's entry touched, then each
    /// applied) end exactly as boards updated one
    /// change at a time with `record`/`set`/`remove`: same results, same
    /// standings, same closed windows; under every mode, window and bound,
    /// with overflowing and saturating increments, removals, late and early
    /// events, and windows rolling over mid-batch.
    #[test]
    fn staged_updates_match_one_at_a_time(
        steps in prop::collection::vec(prop::collection::vec(change(now()), 1..6), 1..60),
    ) {
        let mut alone = staged_boards();
        let mut staged = staged_boards();
        let mut now = now();
        for step in &steps {
            now += TimeDelta::hours(step[0].3);
            for &(user, board, change, _) in step {
                // Each change goes to a board chosen by the step, a few
                // boards in one batch; the user is the same, as for an
                // engine outcome, or not.
                let user = UserId(user);
                let chosen: Vec<usize> = (0..alone.len()).filter(|b| b % 4 == usize::from(board)).collect();
                let mut warm = 0;
                for &b in &chosen {
                    warm ^= staged[b].touch_entry(user);
                }
                std::hint::black_box(warm);
                for &b in &chosen {
                    let want = apply_alone(&mut alone[b], user, change, now);
                    prop_assert_eq!(staged[b].apply(user, change, now), want);
                }
            }
            for (a, s) in alone.iter().zip(&staged) {
                prop_assert_eq!(a.top(usize::MAX), s.top(usize::MAX));
                prop_assert_eq!(a.previous(), s.previous());
                prop_assert_eq!(a.window(), s.window());
            }
        }
    }
}

/// A saturating increment stops at `u64::MAX`, where a plain one is
/// refused; out of bounds, both are refused and change nothing.
#[test]
fn saturating_records_stop_at_the_top() {
    let mut board = Board::new(BoardSpec::new("xp", Source::Xp, BoardWindow::AllTime));
    let (user, at) = (UserId(1), now());
    board.apply(user, Change::Set(u64::MAX - 1), at).unwrap();
    let plain = Change::Record { amount: 5, at };
    assert_eq!(board.apply(user, plain, at), Err(BoardError::Overflow));
    let saturating = Change::RecordSaturating { amount: 5, at };
    board.apply(user, saturating, at).unwrap();
    assert_eq!(board.rank_of(user).unwrap().score, u64::MAX);
    let mut spec = BoardSpec::new("capped", Source::Xp, BoardWindow::AllTime);
    spec.max = Some(100);
    let mut capped = Board::new(spec);
    capped.apply(user, Change::Set(98), at).unwrap();
    assert!(matches!(
        capped.apply(user, saturating, at),
        Err(BoardError::OutOfRange { score: 103, .. })
    ));
    assert_eq!(capped.rank_of(user).unwrap().score, 98);
    capped.apply(user, Change::Remove, at).unwrap();
    assert!(capped.is_empty());
    // Touches change nothing, on a user present or not, on an empty board.
    let before = board.top(usize::MAX);
    std::hint::black_box(board.touch_entry(UserId(9)) ^ board.touch_entry(user));
    assert_eq!(board.top(usize::MAX), before);
    let empty = Board::new(BoardSpec::new("e", Source::Xp, BoardWindow::Day));
    std::hint::black_box(empty.touch_entry(user));
    assert!(empty.is_empty());
}

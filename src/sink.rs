//! Event sinks: where outcomes go besides the return value — notifications,
//! websockets, analytics.
//!
//! # Delivery promise
//!
//! Delivery is **best-effort, after commit**: the engine hands a recorded
//! activity's outcome to every sink, in the sinks' order, once its state is
//! committed, on the thread that recorded it. Outcomes recorded on
//! different threads, even one user's, can reach a sink in another order
//! than they committed in (delivery runs outside the engine's locks, so a
//! slow sink holds up no one): order by the outcomes' own times where that
//! matters. A sink that fails (returns an error, or panics) loses only its own delivery;
//! state, ledger and the other sinks are unaffected, and the failure is
//! counted by the engine.
//! A host that needs at-least-once delivery has it from the return value:
//! retrying `record` with the same activity id returns the stored outcome, so
//! the host can deliver again.

use std::sync::Mutex;
use std::sync::mpsc;

use crate::outcome::Outcome;

/// A sink failed to take an outcome; the text says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event sink failed: {0}")]
pub struct SinkError(pub String);

/// Receives the outcome of every newly recorded activity, of each
/// per-user admin operation (`adjust`, `grant`, `revoke`,
/// `set_time_zone`), and of each user a `replay` changes (its `Replayed`
/// event, as the replay's report lists it). `reset_board`, which clears
/// a window for every user, delivers none: its caller has the result.
///
/// Called after the state is committed, outside any store lock, from the
/// thread that recorded the activity.
pub trait EventSink: Send + Sync {
    /// Take one outcome.
    fn deliver(&self, outcome: &Outcome) -> Result<(), SinkError>;
}

/// A sink that drops everything: a stand-in where a sink is required. The
/// engine calls it like any other (an engine with no sinks needs none).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopSink;

impl EventSink for NoopSink {
    #[inline]
    fn deliver(&self, _: &Outcome) -> Result<(), SinkError> {
        Ok(())
    }
}

/// A sink that sends each outcome down a standard channel, for a host thread
/// (a notifier, a websocket fan-out) to consume.
#[derive(Debug)]
pub struct ChannelSink {
    sender: Mutex<mpsc::Sender<Outcome>>,
}

impl ChannelSink {
    /// A sink and the receiving end of its channel.
    pub fn new() -> (Self, mpsc::Receiver<Outcome>) {
        let (sender, receiver) = mpsc::channel();
        (
            Self {
                sender: Mutex::new(sender),
            },
            receiver,
        )
    }
}

impl EventSink for ChannelSink {
    fn deliver(&self, outcome: &Outcome) -> Result<(), SinkError> {
        let sender = self
            .sender
            .lock()
            .map_err(|_| SinkError("channel sink lock poisoned".into()))?;
        sender
            .send(outcome.clone())
            .map_err(|_| SinkError("receiver dropped".into()))
    }
}

/// A sink that keeps every outcome in memory, for tests and examples.
#[derive(Debug, Default)]
pub struct CollectingSink {
    outcomes: Mutex<Vec<Outcome>>,
}

impl CollectingSink {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Take what has been collected so far, leaving the collector empty.
    pub fn take(&self) -> Vec<Outcome> {
        match self.outcomes.lock() {
            Ok(mut guard) => std::mem::take(&mut *guard),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }

    /// How many outcomes are held.
    pub fn len(&self) -> usize {
        self.outcomes.lock().map_or(0, |g| g.len())
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl EventSink for CollectingSink {
    fn deliver(&self, outcome: &Outcome) -> Result<(), SinkError> {
        self.outcomes
            .lock()
            .map_err(|_| SinkError("collecting sink lock poisoned".into()))?
            .push(outcome.clone());
        Ok(())
    }
}

impl<S: EventSink + ?Sized> EventSink for std::sync::Arc<S> {
    fn deliver(&self, outcome: &Outcome) -> Result<(), SinkError> {
        (**self).deliver(outcome)
    }
}

//! The pure step: state, activity and `now` in; new state and outcome out.

/// Why an activity was refused; the state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    /// Placeholder.
    #[error("refused: {0}")]
    Refused(String),
}

//! Attempt counting and retry timing: exponential backoff with jitter, and
//! the decision between "retry later" and "dead-letter now".

use std::time::Duration;

use rand::Rng as _;

/// How a job is retried: `max_attempts` attempts in all, the `n`-th failure
/// waiting [`backoff`]`(base, max, n)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    /// Delay after the first failure; doubles per failure.
    pub base: Duration,
    /// Cap of the delay.
    pub max: Duration,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AfterFailure {
    /// Run again after this delay.
    RetryIn(Duration),
    /// The attempts are used up (or the failure is permanent).
    DeadLetter,
}

impl RetryPolicy {
    /// The jittered delay after the `attempt`-th failure (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        backoff(self.base, self.max, attempt)
    }

    /// After the `attempt`-th attempt (1-based) failed.
    pub fn after_failure(&self, attempt: u32, permanent: bool) -> AfterFailure {
        if permanent || attempt >= self.max_attempts {
            AfterFailure::DeadLetter
        } else {
            AfterFailure::RetryIn(self.backoff(attempt))
        }
    }

    /// `max_attempts` as the SQL `integer` the stores compare with.
    pub fn max_attempts_i32(&self) -> i32 {
        i32::try_from(self.max_attempts).unwrap_or(i32::MAX)
    }
}

/// Exponential backoff with jitter: the `n`-th failed attempt (1-based)
/// waits `base · 2^(n−1)`, capped at `max`, then drawn uniformly from its
/// upper half so workers that failed together do not retry together.
pub fn backoff(base: Duration, max: Duration, attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(30);
    let delay = base.saturating_mul(1u32 << exponent).min(max);
    let half = delay / 2;
    half + half.mul_f64(rand::rng().random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_per_attempt_within_its_jitter_band() {
        let base = Duration::from_secs(10);
        let max = Duration::from_secs(3600);
        for attempt in 1..=6u32 {
            let full = base * (1 << (attempt - 1));
            for _ in 0..50 {
                let d = backoff(base, max, attempt);
                assert!(
                    d >= full / 2 && d <= full,
                    "attempt {attempt}: {d:?} not in [{:?}, {full:?}]",
                    full / 2
                );
            }
        }
    }

    #[test]
    fn backoff_is_capped() {
        let d = backoff(Duration::from_secs(10), Duration::from_secs(60), 20);
        assert!(d <= Duration::from_secs(60) && d >= Duration::from_secs(30));
        // Absurd attempt numbers do not overflow.
        assert!(
            backoff(Duration::from_secs(10), Duration::from_secs(60), u32::MAX)
                <= Duration::from_secs(60)
        );
    }

    #[test]
    fn the_last_attempt_and_a_permanent_failure_dead_letter() {
        let policy = RetryPolicy {
            max_attempts: 3,
            base: Duration::from_secs(1),
            max: Duration::from_secs(10),
        };
        assert!(matches!(
            policy.after_failure(1, false),
            AfterFailure::RetryIn(_)
        ));
        assert_eq!(policy.after_failure(3, false), AfterFailure::DeadLetter);
        assert_eq!(policy.after_failure(1, true), AfterFailure::DeadLetter);
    }
}

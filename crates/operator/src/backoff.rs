//! Per-object retry delays of failing reconciles.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Exponential retry delays per object: 2 s doubling up to 5 min, reset on success.
///
/// A failed reconcile usually writes the failure into the object's status, and that write
/// triggers the next reconcile at once. [`RetryBackoff::hold`] lets the reconciler wait out the
/// delay instead, unless the object's spec changed in between (a new generation is tried
/// immediately).
#[derive(Debug, Default)]
pub struct RetryBackoff {
    failures: Mutex<HashMap<String, Failure>>,
}

#[derive(Debug, Clone, Copy)]
struct Failure {
    count: u32,
    generation: Option<i64>,
    retry_at: std::time::Instant,
}

impl RetryBackoff {
    /// The first delay.
    pub const BASE: Duration = Duration::from_secs(2);
    /// The longest delay.
    pub const MAX: Duration = Duration::from_secs(300);

    /// Counts a failure of `key` and returns how long to wait before the next try.
    pub fn failed(&self, key: &str) -> Duration {
        self.failed_at(key, None)
    }

    /// Counts a failure of `key` at `generation`; see [`RetryBackoff::hold`].
    pub fn failed_at(&self, key: &str, generation: Option<i64>) -> Duration {
        let Ok(mut failures) = self.failures.lock() else {
            return Self::MAX;
        };
        let entry = failures.entry(key.to_owned()).or_insert(Failure {
            count: 0,
            generation,
            retry_at: std::time::Instant::now(),
        });
        let delay = Self::BASE
            .saturating_mul(1u32 << entry.count.min(16))
            .min(Self::MAX);
        entry.count = entry.count.saturating_add(1);
        entry.generation = generation;
        entry.retry_at = std::time::Instant::now() + delay;
        delay
    }

    /// How much longer `key` must wait before it is retried, if it failed at this same
    /// `generation` and its delay has not passed.
    pub fn hold(&self, key: &str, generation: Option<i64>) -> Option<Duration> {
        let failures = self.failures.lock().ok()?;
        let failure = failures.get(key)?;
        if failure.generation != generation || generation.is_none() {
            return None;
        }
        let left = failure
            .retry_at
            .checked_duration_since(std::time::Instant::now())?;
        (!left.is_zero()).then_some(left)
    }

    /// Forgets the failures of `key`.
    pub fn succeeded(&self, key: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_resets() {
        let backoff = RetryBackoff::default();
        let delays: Vec<u64> = (0..10).map(|_| backoff.failed("a").as_secs()).collect();
        assert_eq!(delays, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff.failed("b").as_secs(), 2);
        backoff.succeeded("a");
        assert_eq!(backoff.failed("a").as_secs(), 2);
    }

    #[test]
    fn a_failure_is_held_for_its_generation_only() {
        let backoff = RetryBackoff::default();
        assert_eq!(backoff.hold("a", Some(1)), None);
        backoff.failed_at("a", Some(1));
        assert!(
            backoff
                .hold("a", Some(1))
                .is_some_and(|d| d <= RetryBackoff::BASE)
        );
        assert_eq!(
            backoff.hold("a", Some(2)),
            None,
            "a spec change is tried at once"
        );
        assert_eq!(backoff.hold("a", None), None);
        backoff.succeeded("a");
        assert_eq!(backoff.hold("a", Some(1)), None);
    }
}

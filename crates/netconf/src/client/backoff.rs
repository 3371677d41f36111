//! Exponential backoff with jitter for reconnecting to devices. Pure: the random part is an
//! argument, so the schedule is testable.

use std::time::Duration;

/// Backoff schedule: `initial`, doubling per consecutive failure, capped at `max`; the actual
/// delay is drawn from the upper half of that value ("equal jitter") so that many devices
/// failing together (a site outage) do not reconnect in lock-step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure (before jitter).
    pub initial: Duration,
    /// Largest delay (before jitter).
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The un-jittered delay after `failures` consecutive failures (0 → no delay).
    pub fn ceiling(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32.checked_shl(failures - 1).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The delay to wait; `unit` in `[0, 1)` picks the point in the upper half of the ceiling.
    pub fn delay(&self, failures: u32, unit: f64) -> Duration {
        let ceiling = self.ceiling(failures);
        let half = ceiling / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// [`Backoff::delay`] with a random `unit`.
    pub fn delay_random(&self, failures: u32) -> Duration {
        self.delay(failures, rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_and_caps() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        let ceilings: Vec<u128> = (0..7).map(|n| b.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, vec![0, 100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_in_upper_half() {
        let b = Backoff::default();
        for failures in 1..10 {
            let ceiling = b.ceiling(failures);
            assert_eq!(b.delay(failures, 0.0), ceiling / 2);
            assert!(b.delay(failures, 0.999) <= ceiling);
            let r = b.delay_random(failures);
            assert!(r >= ceiling / 2 && r <= ceiling);
        }
    }
}

//! What every provisioning reconcile gets: the API client, the renderer, the transactor, the
//! caches, the metrics and an Event recorder; plus the per-object retry backoff.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrule_crds::Timestamp;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, EventType, Reporter};

use crate::metrics::Metrics;
use crate::provisioning::events::Recorder;
use crate::provisioning::stores::Stores;
use crate::provisioning::subscription::ledger::ClaimLedger;
use crate::provisioning::transactor::NetworkTransactor;
use crate::render::Renderer;

/// The field manager of every write of the provisioning controllers.
pub const FIELD_MANAGER: &str = "ferrule-provisioning";

/// Shared state of the provisioning controllers.
pub struct Context {
    /// API client.
    pub client: Client,
    /// Device profiles and templates.
    pub renderer: Arc<Renderer>,
    /// The network edge.
    pub transactor: Arc<dyn NetworkTransactor>,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// Watched caches.
    pub stores: Stores,
    /// Event recorder (bounded memory; see [`crate::provisioning::events`]).
    pub recorder: Recorder,
    /// Retry delays of failing objects.
    pub backoff: RetryBackoff,
    /// The last transaction committed on each device, shared by the controllers.
    pub last_transactions: Arc<LastTransactions>,
    /// Values recently claimed by this process.
    pub ledger: ClaimLedger,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("stores", &self.stores)
            .field("transactor", &self.transactor)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Builds the context; Events are reported as `controller`.
    pub fn new(
        client: Client,
        renderer: Arc<Renderer>,
        transactor: Arc<dyn NetworkTransactor>,
        metrics: Arc<Metrics>,
        stores: Stores,
        controller: &str,
    ) -> Self {
        let reporter = Reporter {
            controller: controller.to_owned(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            renderer,
            transactor,
            metrics,
            stores,
            backoff: RetryBackoff::default(),
            last_transactions: Arc::default(),
            ledger: ClaimLedger::default(),
        }
    }

    /// The same context sharing `last_transactions` with other controllers.
    pub fn with_last_transactions(mut self, shared: Arc<LastTransactions>) -> Self {
        self.last_transactions = shared;
        self
    }

    /// Publishes an Event; a failure is logged, never fails the reconcile.
    pub async fn publish(&self, reference: &ObjectReference, note: &Note) {
        let event = Event {
            type_: if note.warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: note.reason.clone(),
            note: Some(truncate(&note.message, 1024)),
            action: note.action.to_owned(),
            secondary: None,
        };
        if let Err(err) = self.recorder.publish(&event, reference).await {
            tracing::warn!(error = %err, reason = %note.reason, "could not publish Event");
        }
    }
}

/// The last transaction committed on each device (`namespace/name` → id). The Subscription
/// controller records commits here and the Device controller publishes them as
/// `status.lastTransaction` on its next pass, so a busy device's status is not rewritten (and
/// its controller not woken) on every commit.
#[derive(Debug, Default)]
pub struct LastTransactions(Mutex<HashMap<String, String>>);

impl LastTransactions {
    /// Records a commit on `device`.
    pub fn record(&self, device: &str, transaction: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(device.to_owned(), transaction.to_owned());
        }
    }

    /// The last commit recorded on `device`.
    pub fn get(&self, device: &str) -> Option<String> {
        self.0.lock().ok()?.get(device).cloned()
    }
}

/// An Event to publish about a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Warning (true) or Normal.
    pub warning: bool,
    /// CamelCase reason.
    pub reason: String,
    /// Human-readable text.
    pub message: String,
    /// What the controller did.
    pub action: &'static str,
}

/// The current time, as status timestamps carry it.
pub fn now() -> Timestamp {
    Timestamp::new(chrono::Utc::now())
}

/// Cuts `text` to at most `max` bytes on a character boundary.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

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

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("abc", 10), "abc");
        assert_eq!(truncate("ééééé", 7), "éé...");
        assert_eq!(truncate("ééééé", 6), "é...");
    }
}

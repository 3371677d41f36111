//! Prometheus metrics of the controllers, in one registry that the HTTP port's `/metrics`
//! serves ([`Metrics::encode`]).
//!
//! Names follow Prometheus conventions (`ferrule_` prefix, `_total` counters, `_seconds`
//! histograms). Labels have small fixed value sets (controller names, outcomes, phases): never
//! a subscription or customer name, which would make the series count grow with the business.

use std::fmt;
use std::sync::Mutex;
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of a reconcile counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReconcileLabels {
    /// Controller name (`subscription`, `serviceorder`, `device`, `resourcepool`).
    pub controller: String,
    /// `success`, `invalid` (the user must fix), `waiting`, `error` (retried).
    pub outcome: String,
}

/// Label of per-controller metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabel {
    /// Controller name.
    pub controller: String,
}

/// Label of transaction counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransactionLabels {
    /// `committed`, `noop`, `rejected`, `unreachable`, `failed`.
    pub outcome: String,
}

/// Label of device gauges.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabel {
    /// Device phase (`Connected`, `Unreachable`, `Pending`).
    pub phase: String,
}

fn duration_histogram() -> Histogram {
    // 1 ms .. ~65 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// The controllers' metrics and the registry they are registered in.
pub struct Metrics {
    registry: Mutex<Registry>,
    /// Reconciles by controller and outcome.
    pub reconciles: Family<ReconcileLabels, Counter>,
    /// Reconcile duration by controller.
    pub reconcile_duration: Family<ControllerLabel, Histogram, fn() -> Histogram>,
    /// Network transactions by outcome.
    pub transactions: Family<TransactionLabels, Counter>,
    /// Duration of network transactions that pushed something.
    pub transaction_duration: Histogram,
    /// Devices by connection phase (each has at most one NETCONF session).
    pub device_sessions: Family<PhaseLabel, Gauge>,
    /// Objects of a controller whose spec generation has not been reconciled yet.
    pub queue_depth: Family<ControllerLabel, Gauge>,
    /// Drift checks that found a difference.
    pub drift_detected: Counter,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates the metrics in a fresh registry.
    pub fn new() -> Self {
        Self::with_registry(Registry::with_prefix("ferrule"))
    }

    /// Registers the metrics in `registry` (other subsystems may register theirs too).
    pub fn with_registry(mut registry: Registry) -> Self {
        let reconciles = Family::<ReconcileLabels, Counter>::default();
        let reconcile_duration =
            Family::<ControllerLabel, Histogram, fn() -> Histogram>::new_with_constructor(
                duration_histogram as fn() -> Histogram,
            );
        let transactions = Family::<TransactionLabels, Counter>::default();
        let transaction_duration = duration_histogram();
        let device_sessions = Family::<PhaseLabel, Gauge>::default();
        let queue_depth = Family::<ControllerLabel, Gauge>::default();
        let drift_detected = Counter::default();
        registry.register(
            "reconciles",
            "Reconciles by controller and outcome",
            reconciles.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time spent in one reconcile",
            reconcile_duration.clone(),
        );
        registry.register(
            "network_transactions",
            "Network transactions by outcome",
            transactions.clone(),
        );
        registry.register(
            "network_transaction_duration_seconds",
            "Time of network transactions that pushed configuration",
            transaction_duration.clone(),
        );
        registry.register(
            "device_sessions",
            "Devices by connection phase",
            device_sessions.clone(),
        );
        registry.register(
            "controller_queue_depth",
            "Objects whose latest generation is not reconciled yet",
            queue_depth.clone(),
        );
        registry.register(
            "drift_detected",
            "Drift checks that found owned configuration missing or changed",
            drift_detected.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            reconciles,
            reconcile_duration,
            transactions,
            transaction_duration,
            device_sessions,
            queue_depth,
            drift_detected,
        }
    }

    /// Lets another subsystem register metrics in the same registry.
    pub fn register(&self, f: impl FnOnce(&mut Registry)) {
        if let Ok(mut registry) = self.registry.lock() {
            f(&mut registry);
        }
    }

    /// The OpenMetrics text exposition of every registered metric.
    pub fn encode(&self) -> Result<String, fmt::Error> {
        let mut out = String::new();
        let registry = self.registry.lock().map_err(|_| fmt::Error)?;
        prometheus_client::encoding::text::encode(&mut out, &registry)?;
        Ok(out)
    }

    /// Starts timing a reconcile of `controller`; [`ReconcileTimer::finish`] records it.
    pub fn reconcile_started(&self, controller: &'static str) -> ReconcileTimer<'_> {
        ReconcileTimer {
            metrics: self,
            controller,
            started: Instant::now(),
        }
    }

    /// Counts a network transaction.
    pub fn transaction(&self, outcome: &str) {
        self.transactions
            .get_or_create(&TransactionLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }
}

/// A reconcile being timed.
#[derive(Debug)]
pub struct ReconcileTimer<'a> {
    metrics: &'a Metrics,
    controller: &'static str,
    started: Instant,
}

impl ReconcileTimer<'_> {
    /// Records duration and outcome.
    pub fn finish(self, outcome: &str) {
        let label = ControllerLabel {
            controller: self.controller.to_owned(),
        };
        self.metrics
            .reconcile_duration
            .get_or_create(&label)
            .observe(self.started.elapsed().as_secs_f64());
        self.metrics
            .reconciles
            .get_or_create(&ReconcileLabels {
                controller: self.controller.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_names_every_family() {
        let metrics = Metrics::new();
        metrics.reconcile_started("subscription").finish("success");
        metrics.transaction("committed");
        metrics
            .device_sessions
            .get_or_create(&PhaseLabel {
                phase: "Connected".into(),
            })
            .set(2);
        metrics
            .queue_depth
            .get_or_create(&ControllerLabel {
                controller: "subscription".into(),
            })
            .set(3);
        let text = metrics.encode().unwrap();
        assert!(
            text.contains(
                "ferrule_reconciles_total{controller=\"subscription\",outcome=\"success\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "ferrule_reconcile_duration_seconds_count{controller=\"subscription\"} 1"
            )
        );
        assert!(text.contains("ferrule_network_transactions_total{outcome=\"committed\"} 1"));
        assert!(text.contains("ferrule_device_sessions{phase=\"Connected\"} 2"));
        assert!(text.contains("ferrule_controller_queue_depth{controller=\"subscription\"} 3"));
        assert!(text.ends_with("# EOF\n"));
    }
}

//! What every provisioning reconcile gets: the API client, the renderer, the transactor, the
//! caches, the metrics and an Event recorder; plus the per-object retry backoff.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, EventType, Reporter};

use ferrule_operator::backoff::RetryBackoff;
use ferrule_operator::context::{Note, truncate};

use crate::stores::Stores;
use crate::subscription::ledger::ClaimLedger;
use crate::transactor::NetworkTransactor;
use ferrule_operator::events::Recorder;
use ferrule_operator::metrics::Metrics;
use ferrule_render::Renderer;

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
    /// Event recorder (bounded memory; see [`ferrule_operator::events`]).
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

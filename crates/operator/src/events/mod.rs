//! Publishes `events.k8s.io/v1` Events the way kube's `Recorder` does, with bounded memory and
//! O(1) work per Event.
//!
//! The first occurrence of an Event creates it; a repeat within [`TTL`] of the last one (same
//! type, action, reason, regarding and related objects; the note may differ, as in kube and
//! client-go) becomes a series on that Event: a merge patch of `series.count` and
//! `series.lastObservedTime`, the rest unchanged. kube's `Recorder` remembers the full Event of
//! every key and scans all of them on every publish to expire the old ones; this one remembers
//! only the Event's name and count ([`Published`]) in a [`Recent`] map that expires in O(1)
//! amortised and holds at most [`CAP`] keys. A forgotten key only means that its next repeat
//! creates a new Event instead of extending the series.

pub mod recent;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event as K8sEvent, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Reporter};
use serde::Serialize;

pub use recent::Recent;

/// How long a key is remembered after its last occurrence (kube's `CACHE_TTL`).
pub const TTL: Duration = Duration::from_secs(6 * 60);

/// How many keys are remembered at most; beyond, the least recently seen is forgotten.
pub const CAP: usize = 10_000;

/// Why an Event could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The API server refused the new Event; the next occurrence tries to create it again.
    #[error("could not create Event {name} in namespace {namespace}: {source}")]
    Create {
        /// The Event's name.
        name: String,
        /// Its namespace.
        namespace: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The API server refused the series update; the count stays as it was and the next
    /// occurrence tries again.
    #[error("could not update the series of Event {name} in namespace {namespace}: {source}")]
    Series {
        /// The Event's name.
        name: String,
        /// Its namespace.
        namespace: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// What is remembered of a published Event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The Event's name (its namespace is part of the key).
    pub name: String,
    /// Occurrences so far: 1 once created, then its `series.count`.
    pub count: i32,
}

/// The state of one key; publishers of the same key take turns on it, so that a repeat is
/// never sent before the Event it extends was created.
type Slot = Arc<tokio::sync::Mutex<Option<Published>>>;

/// Publishes Events as one reporting controller.
pub struct Recorder {
    client: Client,
    reporter: Reporter,
    recent: Mutex<Recent<Slot>>,
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("reporter", &self.reporter)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// A recorder publishing as `reporter`, remembering keys for [`TTL`], at most [`CAP`].
    pub fn new(client: Client, reporter: Reporter) -> Self {
        Self::with_limits(client, reporter, TTL, CAP)
    }

    /// A recorder remembering keys for `ttl` after their last occurrence, at most `cap`.
    pub fn with_limits(client: Client, reporter: Reporter, ttl: Duration, cap: usize) -> Self {
        Self {
            client,
            reporter,
            recent: Mutex::new(Recent::new(ttl, cap)),
        }
    }

    /// Publishes `event` about `regarding`: creates the Event, or extends the series of the
    /// one published for the same key within the TTL. Events about a cluster-scoped object go
    /// to the `default` namespace.
    ///
    /// The shared map is locked only to look the key up; the API request holds nothing but
    /// the key's own slot, which only a concurrent publisher of the very same Event waits for.
    pub async fn publish(
        &self,
        event: &Event,
        regarding: &ObjectReference,
    ) -> Result<(), PublishError> {
        let key = event_key(event, regarding);
        let slot = {
            // Nothing panics while the map is locked; a poisoned lock still holds a usable map.
            let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
            recent.touch(&key, Instant::now(), Slot::default)
        };
        let mut published = slot.lock().await;
        let namespace = event_namespace(regarding);
        let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), namespace);
        let now = Timestamp::now();
        if let Some(last) = published.as_mut() {
            let count = last.count.saturating_add(1);
            let patch = Patch::Merge(series_patch(count, now));
            match api.patch(&last.name, &PatchParams::default(), &patch).await {
                Ok(_) => {
                    last.count = count;
                    return Ok(());
                }
                // Deleted since: this occurrence starts a new Event.
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(source) => {
                    return Err(PublishError::Series {
                        name: last.name.clone(),
                        namespace: namespace.to_owned(),
                        source,
                    });
                }
            }
        }
        let new = new_event(&self.reporter, event, regarding, now);
        let name = new.metadata.name.clone().unwrap_or_default();
        match api.create(&PostParams::default(), &new).await {
            Ok(_) => {
                *published = Some(Published { name, count: 1 });
                Ok(())
            }
            Err(source) => {
                *published = None;
                Err(PublishError::Create {
                    name,
                    namespace: namespace.to_owned(),
                    source,
                })
            }
        }
    }

    /// The number of keys remembered.
    pub fn remembered(&self) -> usize {
        self.recent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// The key under which repeats of an Event form a series: kube's (and client-go's) key, that
/// is the type, action, reason and the regarding and related references compared in full
/// (their `resourceVersion` included); the reporter is the recorder's own and the note is not
/// part of it. Each field is length-prefixed so that no two keys run together.
pub fn event_key(event: &Event, regarding: &ObjectReference) -> String {
    let mut key = String::with_capacity(160);
    push(&mut key, Some(type_name(event.type_)));
    push(&mut key, Some(&event.action));
    push(&mut key, Some(&event.reason));
    push_reference(&mut key, Some(regarding));
    push_reference(&mut key, event.secondary.as_ref());
    key
}

fn push_reference(key: &mut String, reference: Option<&ObjectReference>) {
    let Some(r) = reference else {
        key.push('!');
        return;
    };
    for field in [
        &r.api_version,
        &r.kind,
        &r.namespace,
        &r.name,
        &r.uid,
        &r.resource_version,
        &r.field_path,
    ] {
        push(key, field.as_deref());
    }
}

fn push(key: &mut String, field: Option<&str>) {
    match field {
        Some(text) => {
            key.push_str(&text.len().to_string());
            key.push(':');
            key.push_str(text);
        }
        None => key.push('-'),
    }
}

fn type_name(type_: EventType) -> &'static str {
    match type_ {
        EventType::Normal => "Normal",
        EventType::Warning => "Warning",
    }
}

/// The namespace of the Events about `regarding`: its own, `default` if it is cluster-scoped.
pub fn event_namespace(regarding: &ObjectReference) -> &str {
    regarding.namespace.as_deref().unwrap_or("default")
}

/// The Event kube's `Recorder` creates for a first occurrence at `now`, named
/// `<regarding name>.<nanoseconds since the epoch in hex>`.
pub fn new_event(
    reporter: &Reporter,
    event: &Event,
    regarding: &ObjectReference,
    now: Timestamp,
) -> K8sEvent {
    let base = regarding.name.as_deref().unwrap_or(&reporter.controller);
    K8sEvent {
        action: Some(event.action.clone()),
        reason: Some(event.reason.clone()),
        event_time: Some(MicroTime(now)),
        regarding: Some(regarding.clone()),
        related: event.secondary.clone(),
        note: event.note.clone(),
        metadata: ObjectMeta {
            namespace: Some(event_namespace(regarding).to_owned()),
            name: Some(format!("{base}.{:x}", now.as_nanosecond())),
            ..Default::default()
        },
        reporting_controller: Some(reporter.controller.clone()),
        reporting_instance: Some(
            reporter
                .instance
                .clone()
                .unwrap_or_else(|| reporter.controller.clone()),
        ),
        type_: Some(type_name(event.type_).to_owned()),
        ..Default::default()
    }
}

/// The merge patch that makes an Event a series of `count` occurrences, the last at `now`.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesPatch {
    /// The new series.
    pub series: EventSeries,
}

/// The patch of the `count`th occurrence at `now`.
pub fn series_patch(count: i32, now: Timestamp) -> SeriesPatch {
    SeriesPatch {
        series: EventSeries {
            count,
            last_observed_time: MicroTime(now),
        },
    }
}

#[cfg(test)]
mod tests;

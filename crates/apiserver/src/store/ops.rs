//! Write requests, their results, and the committed changes that watchers receive.

use std::sync::Arc;

use serde_json::Value;

use super::{ObjectKey, StoreError};

/// One write inside a [`Store::transaction`](super::Store::transaction).
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// Store a new object; fails with `AlreadyExists` if the name is taken.
    Create {
        /// Where.
        key: ObjectKey,
        /// The full object; `metadata.name` (and `metadata.namespace` when namespaced) must
        /// match the key.
        object: Value,
    },
    /// Replace an existing object; fails with `NotFound`, or `Conflict` when `expected_rv` is
    /// given and is not the stored version. `None` is an unconditional update.
    Update {
        /// Where.
        key: ObjectKey,
        /// The full new object.
        object: Value,
        /// Compare-and-swap precondition.
        expected_rv: Option<u64>,
    },
    /// Remove an object, leaving a tombstone event in the log.
    Delete {
        /// Which.
        key: ObjectKey,
        /// Compare-and-swap precondition.
        expected_rv: Option<u64>,
    },
}

impl WriteOp {
    /// The key the operation writes.
    pub fn key(&self) -> &ObjectKey {
        match self {
            WriteOp::Create { key, .. }
            | WriteOp::Update { key, .. }
            | WriteOp::Delete { key, .. } => key,
        }
    }
}

/// What a successful write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new object was stored.
    Created,
    /// The object was replaced by a different one.
    Updated,
    /// The new object equalled the stored one: nothing was written, no event was sent and the
    /// resource version did not move (Kubernetes does the same for no-op updates).
    Unchanged,
    /// The object was removed.
    Deleted,
}

/// The result of one [`WriteOp`].
#[derive(Debug, Clone)]
pub struct Written {
    /// The object written.
    pub key: ObjectKey,
    /// Its resource version now (for a delete: the version of the deletion).
    pub resource_version: u64,
    /// The object as stored, `metadata.resourceVersion` filled in. For a delete: its final
    /// state, at the deletion's version.
    pub object: Arc<Value>,
    /// What happened.
    pub outcome: Outcome,
}

/// Watch event types as stored in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

/// One committed log entry, as broadcast to watchers and as replayed from the log.
#[derive(Debug)]
pub(crate) struct Change {
    pub rv: u64,
    pub resource: String,
    pub namespace: String,
    pub kind: ChangeKind,
    /// The new state; for a deletion the final state at the deletion's version.
    pub object: Arc<Value>,
    /// The state before a modification, so that selector-filtered watchers can tell an object
    /// entering or leaving their selection. `None` for additions and deletions, and in
    /// replays that do not need it.
    pub prev: Option<Arc<Value>>,
}

/// Checks that an object can be stored under `key`: a JSON object whose `metadata.name` and
/// `metadata.namespace` agree with the key.
pub(super) fn check_object(key: &ObjectKey, object: &Value) -> Result<(), StoreError> {
    let invalid = |reason: String| StoreError::InvalidObject {
        key: key.clone(),
        reason,
    };
    let metadata = object
        .get("metadata")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("the object has no metadata".to_string()))?;
    let name = metadata.get("name").and_then(Value::as_str);
    if name != Some(key.name.as_str()) {
        return Err(invalid(format!(
            "metadata.name is {name:?}, expected {:?}",
            key.name
        )));
    }
    let namespace = metadata
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    if namespace != key.namespace {
        return Err(invalid(format!(
            "metadata.namespace is {namespace:?}, expected {:?}",
            key.namespace
        )));
    }
    Ok(())
}

/// Writes `metadata.resourceVersion` (callers have checked that metadata is an object).
pub(super) fn set_resource_version(object: &mut Value, rv: u64) {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("resourceVersion".to_string(), Value::String(rv.to_string()));
    }
}

/// Parses a stored object.
pub(super) fn parse_stored(rv: u64, text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        rv,
        message: e.to_string(),
    })
}

//! Which deletions can make something collectable.
//!
//! A garbage-collector pass reads every stored object, so it must not run for every delete:
//! a controller that creates and deletes short-lived objects (Ferrule's transaction journal
//! writes one ConfigMap per network transaction) would otherwise start a full scan many times
//! a second. Only the deletion of an object that some other object names as its owner can
//! leave a dependent without owners; the tracker knows those uids and answers whether a
//! deletion is one of them.
//!
//! The set is filled from every write (the owner references of the written object) and from
//! every full pass (all owner references then stored). It may hold more uids than are owners
//! now (a dependent was deleted, its owner remains): that only costs an extra pass. Until the
//! first pass has filled it, every deletion counts. A dependent written with owners that are
//! already gone is found by the periodic sweep, as before.

use std::collections::HashSet;
use std::sync::Mutex;

use serde_json::Value;

/// The uids named in some stored object's owner references.
#[derive(Debug, Default)]
pub struct OwnerTracker {
    inner: Mutex<Owners>,
}

#[derive(Debug, Default)]
struct Owners {
    /// A full pass has filled `uids` at least once.
    known: bool,
    uids: HashSet<String>,
}

/// The owner uids in `object`'s `metadata.ownerReferences`.
pub fn owner_uids(object: &Value) -> impl Iterator<Item = &str> {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("uid").and_then(Value::as_str))
}

impl Owners {
    /// Adds `uids`, allocating only for the ones not known yet (most writes name an owner
    /// already known).
    fn add<'a>(&mut self, uids: impl IntoIterator<Item = &'a str>) {
        for uid in uids {
            if !self.uids.contains(uid) {
                self.uids.insert(uid.to_owned());
            }
        }
    }
}

// === impl OwnerTracker ===

impl OwnerTracker {
    fn with<R>(&self, f: impl FnOnce(&mut Owners) -> R) -> R {
        match self.inner.lock() {
            Ok(mut owners) => f(&mut owners),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// `object` was written: its owners become known owners.
    pub fn written(&self, object: &Value) {
        let mut owners = owner_uids(object).peekable();
        if owners.peek().is_none() {
            return;
        }
        self.with(|o| o.add(owners));
    }

    /// `object` was deleted: whether a pass should look for dependents it left without owners.
    /// Its uid is forgotten, as it cannot be deleted twice.
    pub fn deleted(&self, object: &Value) -> bool {
        let uid = object
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or("");
        self.with(|o| o.uids.remove(uid) || !o.known)
    }

    /// A full pass read these owner uids from the store: they join the set (uids noted by
    /// writes during the pass stay, the pass may have read the store before those writes).
    pub fn passed<'a>(&self, uids: impl IntoIterator<Item = &'a str>) {
        self.with(|o| {
            o.add(uids);
            o.known = true;
        });
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(uid: &str, owners: &[&str]) -> Value {
        let refs: Vec<Value> = owners
            .iter()
            .map(|o| json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": o}))
            .collect();
        json!({"metadata": {"name": uid, "uid": uid, "ownerReferences": refs}})
    }

    #[test]
    fn before_the_first_pass_every_deletion_counts() {
        let tracker = OwnerTracker::default();
        assert!(tracker.deleted(&object("a", &[])));
        tracker.passed([]);
        assert!(!tracker.deleted(&object("a", &[])));
    }

    #[test]
    fn only_deleting_an_owner_wakes_the_collector() {
        let tracker = OwnerTracker::default();
        tracker.passed(["owner-1"]);
        tracker.written(&object("dep-2", &["owner-2"]));
        assert!(!tracker.deleted(&object("journal", &[])));
        assert!(!tracker.deleted(&object("dep-2", &["owner-2"])));
        assert!(tracker.deleted(&object("owner-1", &[])));
        assert!(tracker.deleted(&object("owner-2", &[])));
        // Forgotten once deleted.
        assert!(!tracker.deleted(&object("owner-2", &[])));
    }

    #[test]
    fn a_pass_keeps_owners_noted_by_writes() {
        let tracker = OwnerTracker::default();
        tracker.written(&object("dep", &["late-owner"]));
        tracker.passed(["owner"]);
        assert!(tracker.deleted(&object("late-owner", &[])));
        assert!(tracker.deleted(&object("owner", &[])));
    }
}

//! The interfaces of the running configuration as traffic accounting sees them, found once
//! per running snapshot.
//!
//! Traffic is accounted before every change of running and before counters are read, so
//! finding the interfaces must not walk the configuration each time. The views are kept
//! with a weak reference to the snapshot it was made from and reused while running is that
//! same snapshot. Equal pointers mean the same configuration: the weak reference keeps the
//! snapshot's allocation from being reused by another snapshot, and it makes `Arc::get_mut`
//! refuse and `Arc::make_mut` move the value to a new allocation, so a snapshot cannot be
//! changed in place behind the cache.

use std::sync::{Arc, Weak};

use ferrule_netconf::tree::{ConfigTree, QName};

use super::oper;
use super::traffic::InterfaceView;

/// The interface views of the last running snapshot looked at.
#[derive(Debug, Default)]
pub struct InterfaceCache {
    snapshot: Weak<ConfigTree>,
    views: Arc<[InterfaceView]>,
}

// === impl InterfaceCache ===

impl InterfaceCache {
    /// The views of the interfaces configured in `running` (entries of the keyed `lists`, in
    /// configuration order), walking it only when it is not the snapshot of the previous call.
    pub fn of(&mut self, running: &Arc<ConfigTree>, lists: &[Vec<QName>]) -> Arc<[InterfaceView]> {
        if !std::ptr::eq(self.snapshot.as_ptr(), Arc::as_ptr(running)) {
            self.views = oper::interface_views(running, lists).into();
            self.snapshot = Arc::downgrade(running);
        }
        self.views.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrule_netconf::tree::{DefaultOperation, Edit, KeyedList, ListSchema, apply_edit};

    const IF_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";

    fn schema() -> (ListSchema, Vec<Vec<QName>>) {
        let q = |name: &str| QName {
            ns: IF_NS.to_owned(),
            name: name.to_owned(),
        };
        let mut schema = ListSchema::default();
        schema
            .add_list(KeyedList {
                path: vec![q("interfaces"), q("interface")],
                keys: vec![q("name")],
            })
            .unwrap();
        let lists = oper::interface_lists(&schema);
        (schema, lists)
    }

    fn tree(schema: &ListSchema, names: &[&str]) -> ConfigTree {
        let entries: String = names
            .iter()
            .map(|n| {
                format!(
                    "<interface><name>{n}</name><description>1/2 Mbps</description></interface>"
                )
            })
            .collect();
        let xml = format!("<interfaces xmlns=\"{IF_NS}\">{entries}</interfaces>");
        ConfigTree::parse(&xml, schema).unwrap()
    }

    fn names(views: &[InterfaceView]) -> Vec<&str> {
        views.iter().map(|v| v.name.as_str()).collect()
    }

    #[test]
    fn a_snapshot_is_walked_once_and_a_new_one_again() {
        let (schema, lists) = schema();
        let mut cache = InterfaceCache::default();
        let first = Arc::new(tree(&schema, &["ge-0/0/1.1"]));
        let a = cache.of(&first, &lists);
        assert_eq!(names(&a), ["ge-0/0/1.1"]);
        assert!(Arc::ptr_eq(&a, &cache.of(&first.clone(), &lists)));
        let edit = Edit {
            tree: tree(&schema, &["ge-0/0/1.2"]),
        };
        let second = Arc::new(apply_edit(&first, &edit, DefaultOperation::Merge).unwrap());
        let b = cache.of(&second, &lists);
        assert_eq!(names(&b), ["ge-0/0/1.1", "ge-0/0/1.2"]);
        assert_eq!(names(&cache.of(&first, &lists)), ["ge-0/0/1.1"]);
    }

    #[test]
    fn a_snapshot_changed_through_make_mut_is_walked_again() {
        let (schema, lists) = schema();
        let mut cache = InterfaceCache::default();
        let mut running = Arc::new(tree(&schema, &["ge-0/0/1.1"]));
        assert_eq!(names(&cache.of(&running, &lists)), ["ge-0/0/1.1"]);
        *Arc::make_mut(&mut running) = tree(&schema, &["ge-0/0/1.3"]);
        assert_eq!(names(&cache.of(&running, &lists)), ["ge-0/0/1.3"]);
    }
}

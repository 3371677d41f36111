//! Indexes over the watched caches: which objects carry a key (the subscriptions on a device,
//! the claims of a pool), so that a reconcile or a watch event reads the few objects it is
//! about instead of scanning a whole cache.
//!
//! An index is fed by the same watch events as its cache, right after the cache applied them,
//! and buffers a re-list until it is complete, as the cache does. It holds keys and object
//! names only; the objects are read from the cache.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

use kube::Resource;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;

/// `(namespace, name)` of an indexed object.
type Name = (String, String);

/// The keys an object is found under.
pub type KeyFn<K> = fn(&K) -> Vec<String>;

#[derive(Debug, Default)]
struct Maps {
    by_key: HashMap<String, BTreeSet<Name>>,
    keys_of: HashMap<Name, Vec<String>>,
}

impl Maps {
    fn remove(&mut self, name: &Name) {
        for key in self.keys_of.remove(name).unwrap_or_default() {
            if let Some(names) = self.by_key.get_mut(&key) {
                names.remove(name);
                if names.is_empty() {
                    self.by_key.remove(&key);
                }
            }
        }
    }

    fn insert(&mut self, name: Name, mut keys: Vec<String>) {
        self.remove(&name);
        keys.sort_unstable();
        keys.dedup();
        for key in &keys {
            self.by_key
                .entry(key.clone())
                .or_default()
                .insert(name.clone());
        }
        if !keys.is_empty() {
            self.keys_of.insert(name, keys);
        }
    }
}

#[derive(Debug, Default)]
struct State {
    live: Maps,
    /// A re-list in progress.
    relist: Option<Maps>,
}

/// Objects of a cache by key.
pub struct Index<K: Resource<DynamicType = ()> + Clone + 'static> {
    store: Store<K>,
    keys: KeyFn<K>,
    state: Arc<RwLock<State>>,
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> Clone for Index<K> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            keys: self.keys,
            state: self.state.clone(),
        }
    }
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> std::fmt::Debug for Index<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.read(|maps| maps.by_key.len());
        f.debug_struct("Index").field("keys", &keys).finish()
    }
}

fn name_of<K: Resource>(obj: &K) -> Name {
    let meta = obj.meta();
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> Index<K> {
    /// An empty index of the objects of `store` under `keys`.
    pub fn new(store: Store<K>, keys: KeyFn<K>) -> Self {
        Self {
            store,
            keys,
            state: Arc::default(),
        }
    }

    /// Applies one watch event (after the cache applied it).
    pub fn apply(&self, event: &watcher::Event<K>) {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        match event {
            watcher::Event::Apply(obj) => state.live.insert(name_of(obj), (self.keys)(obj)),
            watcher::Event::Delete(obj) => state.live.remove(&name_of(obj)),
            watcher::Event::Init => state.relist = Some(Maps::default()),
            watcher::Event::InitApply(obj) => {
                let keys = (self.keys)(obj);
                state
                    .relist
                    .get_or_insert_with(Maps::default)
                    .insert(name_of(obj), keys);
            }
            watcher::Event::InitDone => {
                if let Some(maps) = state.relist.take() {
                    state.live = maps;
                }
            }
        }
    }

    fn read<T>(&self, f: impl FnOnce(&Maps) -> T) -> T {
        f(&self
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .live)
    }

    /// The cached objects under `key`, by namespace and name.
    pub fn get(&self, key: &str) -> Vec<Arc<K>> {
        let names: Vec<Name> = self.read(|maps| {
            maps.by_key
                .get(key)
                .map(|names| names.iter().cloned().collect())
                .unwrap_or_default()
        });
        names
            .into_iter()
            .filter_map(|(ns, name)| self.store.get(&ObjectRef::new(&name).within(&ns)))
            .collect()
    }

    /// Whether any object other than `name` (in the key's namespace) is under `key`.
    pub fn any_other(&self, key: &str, name: &str) -> bool {
        self.read(|maps| {
            maps.by_key
                .get(key)
                .is_some_and(|names| names.iter().any(|(_, n)| n != name))
        })
    }
}

/// An index key: its parts joined by `/` (namespaces and names cannot contain one; only the
/// last part may).
pub fn key(parts: &[&str]) -> String {
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provisioning::fixtures::mk_claim;
    use ferrule_crds::ResourceClaim;
    use kube::runtime::reflector;

    fn by_pool(claim: &ResourceClaim) -> Vec<String> {
        vec![key(&["pool", &claim.spec.pool])]
    }

    fn claim(pool: &str, value: &str, sub: &str) -> ResourceClaim {
        (*mk_claim(pool, value, sub)).clone()
    }

    /// Applies `event` to the cache and then to the index, as the reflector task does.
    fn feed(
        writer: &mut reflector::store::Writer<ResourceClaim>,
        index: &Index<ResourceClaim>,
        event: watcher::Event<ResourceClaim>,
    ) {
        writer.apply_watcher_event(&event);
        index.apply(&event);
    }

    fn names(objects: Vec<Arc<ResourceClaim>>) -> Vec<String> {
        objects.iter().map(|c| c.spec.value.clone()).collect()
    }

    #[test]
    fn objects_move_between_keys_and_leave_on_delete() {
        let (store, mut writer) = reflector::store();
        let index = Index::new(store, by_pool);
        feed(&mut writer, &index, watcher::Event::Init);
        feed(
            &mut writer,
            &index,
            watcher::Event::InitApply(claim("a", "1", "s1")),
        );
        feed(&mut writer, &index, watcher::Event::InitDone);
        feed(
            &mut writer,
            &index,
            watcher::Event::Apply(claim("a", "2", "s2")),
        );
        assert_eq!(names(index.get(&key(&["pool", "a"]))), ["1", "2"]);
        assert!(index.any_other(&key(&["pool", "a"]), "a.1"));

        // Same object, other pool: it leaves the old key.
        let mut moved = claim("a", "2", "s2");
        moved.spec.pool = "b".into();
        feed(&mut writer, &index, watcher::Event::Apply(moved.clone()));
        assert_eq!(names(index.get(&key(&["pool", "a"]))), ["1"]);
        assert_eq!(names(index.get(&key(&["pool", "b"]))), ["2"]);
        assert!(!index.any_other(&key(&["pool", "b"]), "a.2"));

        feed(&mut writer, &index, watcher::Event::Delete(moved));
        assert!(index.get(&key(&["pool", "b"])).is_empty());
    }

    #[test]
    fn a_relist_replaces_the_index_when_complete() {
        let (store, mut writer) = reflector::store();
        let index = Index::new(store, by_pool);
        feed(
            &mut writer,
            &index,
            watcher::Event::Apply(claim("a", "1", "s1")),
        );
        feed(&mut writer, &index, watcher::Event::Init);
        feed(
            &mut writer,
            &index,
            watcher::Event::InitApply(claim("a", "2", "s2")),
        );
        // Until the re-list is done, the old view stays.
        assert_eq!(names(index.get(&key(&["pool", "a"]))), ["1"]);
        feed(&mut writer, &index, watcher::Event::InitDone);
        assert_eq!(names(index.get(&key(&["pool", "a"]))), ["2"]);
    }
}

//! Indexes over the watched caches: which objects carry a key (the subscriptions on a device,
//! the claims of a pool), so that a reconcile or a watch event reads the few objects it is
//! about instead of scanning a whole cache.
//!
//! An index is fed by the same watch events as its cache, right after the cache applied them,
//! and buffers a re-list until it is complete, as the cache does. It holds keys and object
//! names only; the objects are read from the cache.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use kube::Resource;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;

/// `(namespace, name)` of an indexed object, shared by every key it is found under.
type Name = Arc<(String, String)>;

/// The keys an object is found under.
pub type KeyFn<K> = fn(&K) -> Vec<String>;

/// Most keys hold one object (an owned entry has one owner), so the objects of a key are a
/// sorted vector (a tree node per key would cost half a kilobyte each), and a key's text is
/// shared between both maps.
#[derive(Debug, Default)]
struct Maps {
    by_key: HashMap<Arc<str>, Vec<Name>>,
    keys_of: HashMap<Name, Vec<Arc<str>>>,
}

impl Maps {
    fn remove(&mut self, name: &(String, String)) {
        let Some((_, keys)) = self.keys_of.remove_entry(name) else {
            return;
        };
        for key in keys {
            if let Some(names) = self.by_key.get_mut(&key) {
                if let Ok(at) = names.binary_search_by(|n| n.as_ref().cmp(name)) {
                    names.remove(at);
                }
                if names.is_empty() {
                    self.by_key.remove(&key);
                }
            }
        }
    }

    fn insert(&mut self, name: (String, String), mut keys: Vec<String>) {
        self.remove(&name);
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() {
            return;
        }
        let name: Name = Arc::new(name);
        let mut shared = Vec::with_capacity(keys.len());
        for key in keys {
            let key: Arc<str> = match self.by_key.get_key_value(key.as_str()) {
                Some((existing, _)) => existing.clone(),
                None => Arc::from(key),
            };
            let names = self.by_key.entry(key.clone()).or_default();
            if let Err(at) = names.binary_search(&name) {
                names.insert(at, name.clone());
            }
            shared.push(key);
        }
        self.keys_of.insert(name, shared);
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

fn name_of<K: Resource>(obj: &K) -> (String, String) {
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
        let names: Vec<Name> = self.read(|maps| maps.by_key.get(key).cloned().unwrap_or_default());
        names
            .iter()
            .filter_map(|n| self.store.get(&ObjectRef::new(&n.1).within(&n.0)))
            .collect()
    }

    /// Whether any object other than `name` (in the key's namespace) is under `key`.
    pub fn any_other(&self, key: &str, name: &str) -> bool {
        self.read(|maps| {
            maps.by_key
                .get(key)
                .is_some_and(|names| names.iter().any(|n| n.1 != name))
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
    use ferrule_crds::ResourceClaim;
    use ferrule_crds::testing::mk_claim;
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
    fn a_key_keeps_its_objects_sorted_and_shared() {
        let mut maps = Maps::default();
        for n in ["c", "a", "b", "a"] {
            maps.insert(
                ("ns".into(), n.into()),
                vec!["k".into(), format!("own/{n}")],
            );
        }
        let names = |maps: &Maps| -> Vec<String> {
            maps.by_key
                .get("k")
                .map(|v| v.iter().map(|n| n.1.clone()).collect())
                .unwrap_or_default()
        };
        assert_eq!(names(&maps), ["a", "b", "c"]);
        assert_eq!(maps.by_key.len(), 4, "k and one own/ key per object");
        maps.remove(&("ns".into(), "b".into()));
        assert_eq!(names(&maps), ["a", "c"]);
        assert!(!maps.by_key.contains_key("own/b"));
        maps.remove(&("ns".into(), "a".into()));
        maps.remove(&("ns".into(), "c".into()));
        assert!(maps.by_key.is_empty() && maps.keys_of.is_empty());
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

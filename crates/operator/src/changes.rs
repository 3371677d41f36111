//! The change streams of the shared caches: every object a cache's watch applies or deletes,
//! passed on to each controller that reacts to the kind, so that each kind is watched and
//! decoded once however many controllers use it.
//!
//! A stream carries the cached `Arc` (no copy) of each applied object, every cached object
//! after a (re-)list, and the last state of each deleted one. kube's shared-reflector handles
//! are not used: they pass on applied objects only, and one that finds its object already gone
//! from the cache returns `Pending` without waking its task again, which stalls a controller
//! whose triggers are merged into one task. Each listener has an unbounded channel of `Arc`s:
//! a controller that falls behind holds pointers to cached objects, not copies.

use std::fmt;
use std::sync::{Arc, Mutex};

use futures::Stream;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use kube::Resource;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher::Event;

/// Passes a cache's changes on to its listeners ([`Fanout::subscribe`]).
pub struct Fanout<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    cache: Store<K>,
    listeners: Arc<Mutex<Vec<UnboundedSender<Arc<K>>>>>,
}

impl<K> Clone for Fanout<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    fn clone(&self) -> Self {
        Self {
            cache: self.cache.clone(),
            listeners: self.listeners.clone(),
        }
    }
}

impl<K> fmt::Debug for Fanout<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fanout").finish_non_exhaustive()
    }
}

impl<K> Fanout<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    /// Changes of `cache`, which the caller's watch feeds before calling [`Fanout::publish`].
    pub fn new(cache: Store<K>) -> Self {
        Self {
            cache,
            listeners: Arc::default(),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Vec<UnboundedSender<Arc<K>>>) -> R) -> R {
        match self.listeners.lock() {
            Ok(mut listeners) => f(&mut listeners),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// A new listener: it first hears of every object cached now, then of every change.
    pub fn subscribe(&self) -> Changes<K> {
        let (tx, rx) = unbounded();
        self.with(|listeners| {
            for object in self.cache.state() {
                let _ = tx.unbounded_send(object);
            }
            listeners.push(tx);
        });
        Changes {
            fanout: self.clone(),
            rx,
        }
    }

    /// Passes on what `event` (already applied to the cache) changed; listeners that are gone
    /// are dropped.
    pub fn publish(&self, event: &Event<K>) {
        let objects: Vec<Arc<K>> = match event {
            Event::Apply(object) => self
                .cache
                .get(&ObjectRef::from_obj(object))
                .into_iter()
                .collect(),
            Event::Delete(object) => vec![Arc::new(object.clone())],
            Event::InitDone => self.cache.state(),
            Event::Init | Event::InitApply(_) => return,
        };
        self.with(|listeners| {
            listeners.retain(|tx| objects.iter().all(|o| tx.unbounded_send(o.clone()).is_ok()));
        });
    }
}

/// One controller's stream of a cache's changes ([`Fanout::subscribe`]).
pub struct Changes<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    fanout: Fanout<K>,
    rx: UnboundedReceiver<Arc<K>>,
}

impl<K> fmt::Debug for Changes<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Changes").finish_non_exhaustive()
    }
}

impl<K> Changes<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    /// Another listener of the same cache ([`Fanout::subscribe`]).
    pub fn split(&self) -> Self {
        self.fanout.subscribe()
    }

    /// The changed objects as they come.
    pub fn stream(self) -> impl Stream<Item = Arc<K>> + Send + 'static
    where
        K: Send + Sync,
    {
        self.rx
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use kube::runtime::reflector;

    use super::*;
    use ferrule_crds::ResourcePool;
    use ferrule_crds::testing::mk_vlan_pool;

    fn pool(name: &str) -> ResourcePool {
        (*mk_vlan_pool(name, 10, 20, &[])).clone()
    }

    fn feed(
        writer: &mut reflector::store::Writer<ResourcePool>,
        fanout: &Fanout<ResourcePool>,
        event: Event<ResourcePool>,
    ) {
        writer.apply_watcher_event(&event);
        fanout.publish(&event);
    }

    async fn names(changes: Changes<ResourcePool>, n: usize) -> Vec<String> {
        changes
            .stream()
            .map(|p| p.metadata.name.clone().unwrap_or_default())
            .take(n)
            .collect()
            .await
    }

    #[tokio::test]
    async fn listeners_hear_lists_applies_and_deletions() {
        let (store, mut writer) = reflector::store::<ResourcePool>();
        let fanout = Fanout::new(store);
        let early = fanout.subscribe();
        feed(&mut writer, &fanout, Event::Init);
        feed(&mut writer, &fanout, Event::InitApply(pool("a")));
        feed(&mut writer, &fanout, Event::InitDone);
        // A listener that joins late first hears of what is cached.
        let late = early.split();
        feed(&mut writer, &fanout, Event::Apply(pool("b")));
        feed(&mut writer, &fanout, Event::Delete(pool("a")));
        assert_eq!(names(early, 3).await, ["a", "b", "a"]);
        assert_eq!(names(late, 3).await, ["a", "b", "a"]);
    }

    #[tokio::test]
    async fn a_dropped_listener_is_forgotten() {
        let (store, mut writer) = reflector::store::<ResourcePool>();
        let fanout = Fanout::new(store);
        drop(fanout.subscribe());
        let kept = fanout.subscribe();
        feed(&mut writer, &fanout, Event::Apply(pool("a")));
        assert_eq!(fanout.with(|l| l.len()), 1);
        assert_eq!(names(kept, 1).await, ["a"]);
    }
}

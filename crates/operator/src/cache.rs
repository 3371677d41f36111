//! Shared caches of watched resources: one watch per kind feeds a reflector store, an optional
//! [`Index`] and the change streams of the controllers ([`Fanout`]).

use std::fmt;
use std::sync::Arc;

use futures::StreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;

use crate::changes::{Changes, Fanout};
use crate::index::{Index, KeyFn};

/// Which namespaces the controllers serve.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Scope {
    /// Every namespace (every ISP tenant).
    #[default]
    All,
    /// One namespace.
    Namespace(String),
}

impl Scope {
    /// The API of `K` in this scope.
    pub fn api<K>(&self, client: Client) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        match self {
            Self::All => Api::all(client),
            Self::Namespace(ns) => Api::namespaced(client, ns),
        }
    }
}

/// A cache, its change stream and the task of the watch that feeds them.
pub type Shared<K> = (Store<K>, Changes<K>, JoinHandle<()>);

/// A shared cache fed by a watch of `api`, with its change stream.
pub fn spawn_shared<K>(api: Api<K>) -> Shared<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + fmt::Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let fanout = Fanout::new(reader.clone());
    let changes = fanout.subscribe();
    (reader, changes, spawn_watch(api, writer, fanout, |_| {}))
}

/// A shared cache and an index under `keys`, fed by the same watch.
pub fn spawn_indexed<K>(api: Api<K>, keys: KeyFn<K>) -> (Shared<K>, Index<K>)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + fmt::Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let fanout = Fanout::new(reader.clone());
    let changes = fanout.subscribe();
    let index = Index::new(reader.clone(), keys);
    let feed = index.clone();
    let task = spawn_watch(api, writer, fanout, move |event| feed.apply(event));
    ((reader, changes, task), index)
}

/// Watches `api` into `writer`; `then` sees every event after the cache applied it, and
/// `fanout` passes the change on to the controllers.
pub fn spawn_watch<K>(
    api: Api<K>,
    writer: reflector::store::Writer<K>,
    fanout: Fanout<K>,
    then: impl Fn(&watcher::Event<K>) + Send + 'static,
) -> JoinHandle<()>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + fmt::Debug + Send + Sync + 'static,
{
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(strip_managed_fields)
        .reflect(writer);
    tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(event) => {
                    then(&event);
                    fanout.publish(&event);
                }
                Err(err) => {
                    tracing::warn!(error = %err, kind = %K::kind(&()), "watch failed; retrying");
                }
            }
        }
    })
}

/// The objects of `store` in namespace `ns`.
pub fn in_namespace<K>(store: &Store<K>, ns: &str) -> Vec<Arc<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    // Borrowed names and namespaces: this runs on every reconcile over whole caches, and
    // `namespace()` / `name_any()` would allocate a String per object and per comparison.
    let mut objects = store.state_filter(|o| o.meta().namespace.as_deref() == Some(ns));
    objects.sort_unstable_by(|a, b| a.meta().name.cmp(&b.meta().name));
    objects
}

/// The object of `store` named `name` in namespace `ns`.
pub fn named<K>(store: &Store<K>, ns: &str, name: &str) -> Option<Arc<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    store.get(&reflector::ObjectRef::new(name).within(ns))
}

/// Drops `metadata.managedFields` before an object is cached: no controller reads them, and
/// they are the largest part of a small object's metadata (one entry per field manager, each
/// with its field set).
pub fn strip_managed_fields<K: Resource>(obj: &mut K) {
    obj.meta_mut().managed_fields = None;
}

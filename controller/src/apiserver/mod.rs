//! The embedded Kubernetes-compatible API server.
//!
//! This module is built in layers. At the bottom sits [`store`], a versioned object store on
//! SQLite that provides what the Kubernetes storage layer (etcd plus the watch cache) provides
//! to `kube-apiserver`: one monotonic `resourceVersion`, compare-and-swap writes, consistent
//! paginated lists, and watches that resume from any still-retained version. Above it,
//! [`selector`] and [`field_selector`] implement the `labelSelector` and `fieldSelector`
//! languages that lists and watches are filtered with. The HTTP layer (routing, discovery,
//! patching, validation) is built on these and speaks to the store in whole Kubernetes objects
//! (`serde_json::Value`).

pub mod field_selector;
pub mod selector;
pub mod store;

//! The embedded Kubernetes-compatible API server.
//!
//! `ferrule up` runs it in-process; `kubectl` and kube-rs talk to it through the kubeconfig
//! it writes. Start it with [`serve`], which returns an [`ApiServer`] handle with the bound
//! address, a [`kube::Client`] constructor and a shutdown. See `docs/apiserver.md` for what
//! is served and how it differs from a real Kubernetes API server.
//!
//! The module is built in layers. At the bottom sits [`store`], a versioned object store on
//! SQLite that provides what the Kubernetes storage layer (etcd plus the watch cache) provides
//! to `kube-apiserver`: one monotonic `resourceVersion`, compare-and-swap writes, consistent
//! paginated lists, and watches that resume from any still-retained version. Above it,
//! [`selector`] and [`field_selector`] implement the `labelSelector` and `fieldSelector`
//! languages that lists and watches are filtered with. The HTTP layer (routing, discovery,
//! patching, validation, tables, server-side apply) is built on these and speaks to the store
//! in whole Kubernetes objects (`serde_json::Value`).

pub mod age;
pub mod apply;
mod bootstrap;
pub mod builtin;
pub mod conn;
pub mod context;
pub mod crd;
pub mod decode;
pub mod discovery;
mod error;
pub mod events;
pub mod field_selector;
pub mod fieldset;
mod gc;
mod gc_owners;
pub mod health;
pub mod jsonpath;
pub mod kubeconfig;
pub mod managed;
pub mod merge_patch;
pub mod metadata;
pub mod openapi;
pub mod pki;
pub mod protobuf;
pub mod registry;
pub mod request;
pub mod response;
pub mod rest;
pub mod review;
pub mod selector;
pub mod server;
pub mod status;
pub mod store;
pub mod strategy;
pub mod table;
pub mod token;
pub mod validation;

pub use server::{ApiServer, ServeConfig, ServeError, client, serve};

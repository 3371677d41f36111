//! Ferrule's resource model.
//!
//! The Kubernetes custom resources an ISP writes (customers, products, subscriptions, orders,
//! devices, pools, claims, alarms), the pure domain types they carry (money, names,
//! conditions, timestamps), the generated CustomResourceDefinitions, and the structural schema
//! validator the embedded API server uses. No I/O happens in this crate.
//!
//! - [`bss`] — `bss.ferrule.dev`: [`Customer`], [`Product`], [`Subscription`], [`ServiceOrder`].
//! - [`oss`] — `oss.ferrule.dev`: [`Device`], [`ResourcePool`], [`ResourceClaim`], [`Alarm`].
//! - [`crdgen`] — the CRD manifests committed under `crds/`.
//! - [`schema`] — structural schema validation, defaulting and pruning.
//! - [`money`], [`names`], [`condition`], [`time`], [`params`] — shared domain types.

pub mod bss;
pub mod condition;
pub mod crdgen;
pub mod money;
pub mod names;
pub mod oss;
pub mod params;
pub mod patterns;
pub mod schema;
pub mod time;

pub use bss::customer::{Customer, CustomerSpec, CustomerStatus};
pub use bss::product::{Product, ProductSpec, ProductStatus};
pub use bss::service_order::{ServiceOrder, ServiceOrderSpec, ServiceOrderStatus};
pub use bss::subscription::{Subscription, SubscriptionSpec, SubscriptionStatus};
pub use condition::{Condition, ConditionStatus};
pub use oss::alarm::{Alarm, AlarmSpec, AlarmStatus};
pub use oss::device::{CREDENTIALS_SECRET_TYPE, Device, DeviceSpec, DeviceStatus};
pub use oss::resource_claim::{ResourceClaim, ResourceClaimSpec, ResourceClaimStatus, claim_name};
pub use oss::resource_pool::{ResourcePool, ResourcePoolSpec, ResourcePoolStatus};
pub use time::Timestamp;

/// The API group of the business resources (customers, products, orders, subscriptions).
pub const BSS_GROUP: &str = "bss.ferrule.dev";
/// The API group of the network resources (devices, pools, claims, alarms).
pub const OSS_GROUP: &str = "oss.ferrule.dev";
/// The single served and stored version of every Ferrule resource.
pub const VERSION: &str = "v1alpha1";
/// The `kubectl get <category>` category every Ferrule resource belongs to.
pub const CATEGORY: &str = "ferrule";

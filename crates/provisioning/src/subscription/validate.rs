//! Validate: a Subscription and the resources it references become an [`Intent`], or the
//! reason the user must fix.
//!
//! Pure: the dereference step hands in what it read; nothing here talks to the API.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferrule_crds::bss::customer::CustomerPhase;
use ferrule_crds::bss::subscription::DesiredState;
use ferrule_crds::oss::device::DeviceRole;
use ferrule_crds::params::{merge_parameters, validate_parameters};
use ferrule_crds::{Customer, Device, Product, Subscription};
use kube::ResourceExt;

use crate::topology::{self, BngError};
use ferrule_operator::reasons;
use ferrule_render::{Ipv4Prefix, ParamValue, Role};

/// What the validate step reads: the subscription's references, as the dereference step
/// found them.
#[derive(Debug, Clone, Copy)]
pub struct References<'a> {
    /// The Customer named in `spec.customer`, if it exists.
    pub customer: Option<&'a Customer>,
    /// The Product named in `spec.product`, if it exists.
    pub product: Option<&'a Product>,
    /// Every Device of the namespace.
    pub devices: &'a [Arc<Device>],
    /// Every Subscription of the namespace (the one validated may be among them).
    pub subscriptions: &'a [Arc<Subscription>],
}

/// One device of a subscription and the part it plays.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// The Device.
    pub device: Arc<Device>,
    /// The port the subscription uses on it.
    pub port: String,
    /// What it renders.
    pub role: Role,
}

impl Placement {
    /// The Device's name.
    pub fn name(&self) -> String {
        self.device.name_any()
    }
}

/// A valid subscription, ready for allocation and rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    /// Namespace (the ISP tenant).
    pub namespace: String,
    /// Subscription name.
    pub name: String,
    /// Customer name.
    pub customer: String,
    /// Product name.
    pub product: String,
    /// The product's service type (selects templates).
    pub service_type: String,
    /// Product parameters with the subscription's overrides.
    pub parameters: BTreeMap<String, ParamValue>,
    /// Render the suspended variant.
    pub suspended: bool,
    /// The access device (role Access, or Standalone without BNG).
    pub access: Placement,
    /// The BNG, when one serves the access device.
    pub bng: Option<Placement>,
    /// `spec.vlan`, when pinned.
    pub pinned_vlan: Option<u16>,
    /// `spec.ipv4`, when pinned.
    pub pinned_ipv4: Option<Ipv4Prefix>,
}

impl Intent {
    /// Every device involved, access first.
    pub fn placements(&self) -> impl Iterator<Item = &Placement> {
        std::iter::once(&self.access).chain(self.bng.as_ref())
    }

    /// The device whose pools hand out the subscriber's addresses: the BNG, else the access
    /// device.
    pub fn address_device(&self) -> &Arc<Device> {
        self.bng.as_ref().map_or(&self.access.device, |b| &b.device)
    }
}

/// Why a subscription cannot be provisioned as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidIntent {
    /// `spec.customer` names no Customer.
    #[error("Customer {0} does not exist")]
    UnknownCustomer(String),
    /// The Customer is Closed.
    #[error("Customer {0} is Closed; reopen it or use another customer")]
    CustomerClosed(String),
    /// `spec.product` names no Product.
    #[error("Product {0} does not exist")]
    UnknownProduct(String),
    /// A parameter is not a scalar.
    #[error("parameters: {0}")]
    InvalidParameters(String),
    /// `spec.access.device` names no Device.
    #[error("Device {0} does not exist")]
    UnknownDevice(String),
    /// The access device has role core.
    #[error("Device {0} has role core; subscribers attach to access devices (or BNGs)")]
    NotAnAccessDevice(String),
    /// The port is not one of the device's subscriber ports.
    #[error("port {port} is not a subscriber port of Device {device} (its ports: {ports})")]
    PortNotOnDevice {
        /// The device.
        device: String,
        /// The port asked for.
        port: String,
        /// The device's ports, comma-separated.
        ports: String,
    },
    /// Another subscription holds the port.
    #[error("port {port} of Device {device} is used by Subscription {holder}")]
    PortInUse {
        /// The device.
        device: String,
        /// The port.
        port: String,
        /// The subscription holding it.
        holder: String,
    },
    /// The BNG cannot be determined.
    #[error(transparent)]
    Bng(#[from] BngError),
    /// `spec.ipv4` is not usable.
    #[error("spec.ipv4: {0}")]
    PinnedIpv4(String),
    /// `spec.vlan` is outside 1-4094.
    #[error("spec.vlan {0} is outside 1-4094")]
    PinnedVlan(i32),
}

impl InvalidIntent {
    /// The condition reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::UnknownCustomer(_) => reasons::UNKNOWN_CUSTOMER,
            Self::CustomerClosed(_) => reasons::CUSTOMER_CLOSED,
            Self::UnknownProduct(_) => reasons::UNKNOWN_PRODUCT,
            Self::InvalidParameters(_) => reasons::INVALID_PARAMETERS,
            Self::UnknownDevice(_) => reasons::UNKNOWN_DEVICE,
            Self::NotAnAccessDevice(_) => reasons::NOT_AN_ACCESS_DEVICE,
            Self::PortNotOnDevice { .. } => reasons::PORT_NOT_ON_DEVICE,
            Self::PortInUse { .. } => reasons::PORT_IN_USE,
            Self::Bng(_) => reasons::INVALID_BNG,
            Self::PinnedIpv4(_) | Self::PinnedVlan(_) => reasons::INVALID_PINNED_VALUE,
        }
    }
}

/// Checks a subscription against its references.
pub fn validate(sub: &Subscription, refs: References<'_>) -> Result<Intent, InvalidIntent> {
    let spec = &sub.spec;
    let customer = refs
        .customer
        .ok_or_else(|| InvalidIntent::UnknownCustomer(spec.customer.clone()))?;
    if customer.status.as_ref().and_then(|s| s.phase) == Some(CustomerPhase::Closed) {
        return Err(InvalidIntent::CustomerClosed(spec.customer.clone()));
    }
    let product = refs
        .product
        .ok_or_else(|| InvalidIntent::UnknownProduct(spec.product.clone()))?;
    let parameters = parameters(product, sub)?;
    let access_device = refs
        .devices
        .iter()
        .find(|d| d.name_any() == spec.access.device)
        .ok_or_else(|| InvalidIntent::UnknownDevice(spec.access.device.clone()))?;
    check_port(access_device, &spec.access.port)?;
    if let Some(holder) = port_holder(sub, refs.subscriptions) {
        return Err(InvalidIntent::PortInUse {
            device: spec.access.device.clone(),
            port: spec.access.port.clone(),
            holder,
        });
    }
    let bng = topology::bng_for(access_device, refs.devices)?.map(|device| Placement {
        port: topology::bng_port(access_device),
        device: device.clone(),
        role: Role::Bng,
    });
    let access = Placement {
        device: access_device.clone(),
        port: spec.access.port.clone(),
        role: if bng.is_some() {
            Role::Access
        } else {
            Role::Standalone
        },
    };
    let pinned_vlan = spec
        .vlan
        .map(|v| {
            u16::try_from(v)
                .ok()
                .filter(|v| (1..=4094).contains(v))
                .ok_or(InvalidIntent::PinnedVlan(v))
        })
        .transpose()?;
    let pinned_ipv4 = spec
        .ipv4
        .as_deref()
        .map(|text| {
            text.parse::<Ipv4Prefix>()
                .map_err(|e| InvalidIntent::PinnedIpv4(e.to_string()))
        })
        .transpose()?;
    Ok(Intent {
        namespace: sub.namespace().unwrap_or_default(),
        name: sub.name_any(),
        customer: spec.customer.clone(),
        product: spec.product.clone(),
        service_type: product.spec.service_type.clone(),
        parameters,
        suspended: spec.state == DesiredState::Suspended,
        access,
        bng,
        pinned_vlan,
        pinned_ipv4,
    })
}

/// Product parameters with the subscription's overrides, as template values.
fn parameters(
    product: &Product,
    sub: &Subscription,
) -> Result<BTreeMap<String, ParamValue>, InvalidIntent> {
    let merged = merge_parameters(
        product.spec.parameters.as_ref(),
        sub.spec.parameters.as_ref(),
    );
    if let Err(errors) = validate_parameters(&merged) {
        let text = errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        return Err(InvalidIntent::InvalidParameters(text));
    }
    merged
        .iter()
        .map(|(name, value)| {
            ParamValue::try_from(value.as_json())
                .map(|v| (name.clone(), v))
                .map_err(|e| InvalidIntent::InvalidParameters(format!("{name}: {e}")))
        })
        .collect()
}

/// Whether `device` may carry subscribers on `port`.
pub fn check_port(device: &Device, port: &str) -> Result<(), InvalidIntent> {
    let name = device.name_any();
    if device.spec.role == DeviceRole::Core {
        return Err(InvalidIntent::NotAnAccessDevice(name));
    }
    let ports = device.spec.ports.as_deref().unwrap_or_default();
    if !ports.iter().any(|p| p == port) {
        return Err(InvalidIntent::PortNotOnDevice {
            device: name,
            port: port.to_owned(),
            ports: if ports.is_empty() {
                "none".to_owned()
            } else {
                ports.join(", ")
            },
        });
    }
    Ok(())
}

/// The subscription that holds the port `sub` asks for, if it is not `sub`.
///
/// Two subscriptions on one port: one that has configuration on the devices keeps it over
/// one that has none yet (a new subscription never displaces a working one), then the older
/// one (creation time, which has one-second resolution, then name) — so every reconcile
/// agrees which one waits, whatever order it sees them in.
pub fn port_holder(sub: &Subscription, subscriptions: &[Arc<Subscription>]) -> Option<String> {
    let configured = |s: &Subscription| s.status.as_ref().is_some_and(|st| !st.devices.is_empty());
    let rank = |s: &Subscription| {
        (
            !configured(s),
            s.metadata.creation_timestamp.clone(),
            s.name_any(),
        )
    };
    let mine = rank(sub);
    subscriptions
        .iter()
        .filter(|other| other.name_any() != sub.name_any())
        .filter(|other| other.spec.access == sub.spec.access)
        .filter(|other| rank(other) < mine)
        .map(|other| other.name_any())
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;

    struct World {
        customer: Arc<Customer>,
        product: Arc<Product>,
        devices: Vec<Arc<Device>>,
        subs: Vec<Arc<Subscription>>,
    }

    impl World {
        fn new() -> Self {
            Self {
                customer: mk_customer("ana", None),
                product: mk_product("fibre-500", 500, 100),
                devices: vec![
                    mk_device("olt1", DeviceRole::Access, Some("lis")),
                    mk_device("bng1", DeviceRole::Bng, Some("lis")),
                    mk_device("olt9", DeviceRole::Access, None),
                    mk_device("core1", DeviceRole::Core, Some("lis")),
                ],
                subs: Vec::new(),
            }
        }

        fn refs(&self) -> References<'_> {
            References {
                customer: Some(&self.customer),
                product: Some(&self.product),
                devices: &self.devices,
                subscriptions: &self.subs,
            }
        }
    }

    fn sub(device: &str, port: &str) -> Subscription {
        mk_subscription("ana-home", "ana", "fibre-500", device, port)
    }

    #[test]
    fn valid_subscription_with_site_bng() {
        let world = World::new();
        let intent = validate(&sub("olt1", "ge-0/0/1"), world.refs()).unwrap();
        assert_eq!(intent.access.role, Role::Access);
        let bng = intent.bng.as_ref().unwrap();
        assert_eq!((bng.name().as_str(), bng.port.as_str()), ("bng1", "olt1"));
        assert_eq!(intent.address_device().name_any(), "bng1");
        assert_eq!(intent.parameters["downMbps"], ParamValue::Integer(500));
        assert_eq!(intent.service_type, "internet-access");
        assert!(!intent.suspended);
        assert_eq!(intent.placements().count(), 2);
    }

    #[test]
    fn device_without_bng_is_standalone() {
        let world = World::new();
        let intent = validate(&sub("olt9", "ge-0/0/2"), world.refs()).unwrap();
        assert_eq!(intent.access.role, Role::Standalone);
        assert!(intent.bng.is_none());
        assert_eq!(intent.address_device().name_any(), "olt9");
    }

    #[test]
    fn overrides_and_pins_are_carried() {
        let world = World::new();
        let mut s = sub("olt1", "ge-0/0/1");
        s.spec.vlan = Some(1203);
        s.spec.ipv4 = Some("198.51.100.9/29".into());
        s.spec.state = DesiredState::Suspended;
        s.spec.parameters = Some([("upMbps".to_owned(), 50.into())].into());
        let intent = validate(&s, world.refs()).unwrap();
        assert_eq!(intent.pinned_vlan, Some(1203));
        assert_eq!(intent.pinned_ipv4.unwrap().to_string(), "198.51.100.9/29");
        assert_eq!(intent.parameters["upMbps"], ParamValue::Integer(50));
        assert!(intent.suspended);
    }

    #[test]
    fn each_broken_reference_has_its_reason() {
        let world = World::new();
        let reason =
            |s: &Subscription, refs: References<'_>| validate(s, refs).unwrap_err().reason();
        let ok = sub("olt1", "ge-0/0/1");
        let no_customer = References {
            customer: None,
            ..world.refs()
        };
        assert_eq!(reason(&ok, no_customer), reasons::UNKNOWN_CUSTOMER);
        let closed = mk_customer("ana", Some(CustomerPhase::Closed));
        let closed_refs = References {
            customer: Some(&closed),
            ..world.refs()
        };
        assert_eq!(reason(&ok, closed_refs), reasons::CUSTOMER_CLOSED);
        let no_product = References {
            product: None,
            ..world.refs()
        };
        assert_eq!(reason(&ok, no_product), reasons::UNKNOWN_PRODUCT);
        assert_eq!(
            reason(&sub("olt7", "ge-0/0/1"), world.refs()),
            reasons::UNKNOWN_DEVICE
        );
        assert_eq!(
            reason(&sub("olt1", "ge-0/0/9"), world.refs()),
            reasons::PORT_NOT_ON_DEVICE
        );
        assert_eq!(
            reason(&sub("core1", "x"), world.refs()),
            reasons::NOT_AN_ACCESS_DEVICE
        );
        let mut bad_vlan = ok.clone();
        bad_vlan.spec.vlan = Some(5000);
        assert_eq!(
            reason(&bad_vlan, world.refs()),
            reasons::INVALID_PINNED_VALUE
        );
        let mut bad_ip = ok.clone();
        bad_ip.spec.ipv4 = Some("10.0.0.3/30".into());
        assert_eq!(reason(&bad_ip, world.refs()), reasons::INVALID_PINNED_VALUE);
        let mut nested = ok.clone();
        nested.spec.parameters = Some(
            [(
                "x".to_owned(),
                ferrule_crds::params::ParameterValue(serde_json::json!([1])),
            )]
            .into(),
        );
        assert_eq!(reason(&nested, world.refs()), reasons::INVALID_PARAMETERS);
    }

    #[test]
    fn port_message_lists_the_device_ports() {
        let world = World::new();
        let err = validate(&sub("olt1", "ge-0/0/9"), world.refs()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "port ge-0/0/9 is not a subscriber port of Device olt1 (its ports: ge-0/0/1, ge-0/0/2)"
        );
    }

    #[test]
    fn the_older_subscription_keeps_a_shared_port() {
        let mut world = World::new();
        let mut older = mk_subscription("a-first", "ana", "fibre-500", "olt1", "ge-0/0/1");
        older.metadata.creation_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                "2024-01-01T00:00:00Z".parse().unwrap(),
            ));
        let mut newer = sub("olt1", "ge-0/0/1");
        newer.metadata.creation_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                "2024-02-01T00:00:00Z".parse().unwrap(),
            ));
        world.subs = vec![Arc::new(older.clone()), Arc::new(newer.clone())];
        let err = validate(&newer, world.refs()).unwrap_err();
        assert_eq!(err.reason(), reasons::PORT_IN_USE);
        assert!(err.to_string().contains("a-first"));
        assert!(validate(&older, world.refs()).is_ok());
        // Another port is free.
        assert!(validate(&sub("olt1", "ge-0/0/2"), world.refs()).is_ok());
    }

    #[test]
    fn a_configured_subscription_keeps_its_port_against_a_newcomer() {
        let mut world = World::new();
        // Created in the same second; the newcomer's name sorts first.
        let mut working = mk_subscription("zed", "ana", "fibre-500", "olt1", "ge-0/0/1");
        working.status = Some(ferrule_crds::SubscriptionStatus {
            devices: vec![ferrule_crds::bss::subscription::DeviceConfig {
                name: "olt1".into(),
                transaction: "t".into(),
                digest: "d".into(),
                owned: vec![],
            }],
            ..Default::default()
        });
        let newcomer = mk_subscription("abe", "ana", "fibre-500", "olt1", "ge-0/0/1");
        world.subs = vec![Arc::new(working.clone()), Arc::new(newcomer.clone())];
        let err = validate(&newcomer, world.refs()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "port ge-0/0/1 of Device olt1 is used by Subscription zed"
        );
        assert!(validate(&working, world.refs()).is_ok());
    }

    #[test]
    fn ambiguous_bng_is_reported() {
        let mut world = World::new();
        world
            .devices
            .push(mk_device("bng2", DeviceRole::Bng, Some("lis")));
        let err = validate(&sub("olt1", "ge-0/0/1"), world.refs()).unwrap_err();
        assert_eq!(err.reason(), reasons::INVALID_BNG);
        assert!(err.to_string().contains("bng1, bng2"), "{err}");
    }
}

//! Small builders of resources for the unit tests of provisioning and inventory.

use std::sync::Arc;

use ferrule_crds::bss::customer::CustomerPhase;
use ferrule_crds::oss::device::DeviceRole;
use ferrule_crds::{
    Customer, Device, Product, ResourceClaim, ResourcePool, ServiceOrder, Subscription,
};
use serde_json::json;

use crate::provisioning::transactor::DeviceTarget;

/// The namespace every fixture lives in.
pub(crate) const NS: &str = "isp";

/// The record of a candidate device `name` before anything was sent.
pub(crate) fn mk_candidate_record(name: &str) -> crate::southbound::transaction::DeviceRecord {
    use crate::southbound::transaction::{CommitMode, DeviceEdit, DeviceRecord};
    DeviceRecord::new(DeviceEdit {
        device: name.into(),
        mode: CommitMode::Candidate {
            validate: false,
            lock_running: false,
        },
        edit: "<x/>".into(),
        compensation: None,
    })
}

/// The target of an ietf device `name` in [`NS`].
pub(crate) fn mk_target(name: &str) -> DeviceTarget {
    DeviceTarget {
        namespace: NS.into(),
        name: name.into(),
        profile: "ietf".into(),
        address: "127.0.0.1:830".into(),
        credentials_secret: "c".into(),
        host_key: None,
        insecure_skip_host_key_verification: true,
    }
}

fn from_json<K: serde::de::DeserializeOwned>(value: serde_json::Value) -> K {
    serde_json::from_value(value).expect("fixture is a valid resource")
}

fn meta(name: &str) -> serde_json::Value {
    json!({"name": name, "namespace": NS, "uid": format!("uid-{name}"), "generation": 1})
}

pub(crate) fn mk_customer(name: &str, phase: Option<CustomerPhase>) -> Arc<Customer> {
    let mut customer: Customer = from_json(json!({
        "apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "Customer", "metadata": meta(name),
        "spec": {
            "displayName": name,
            "contact": {"email": "someone@example.com"},
            "billing": {"currency": "EUR", "cycleDay": 1}
        }
    }));
    if let Some(phase) = phase {
        customer.status = Some(ferrule_crds::CustomerStatus {
            phase: Some(phase),
            ..Default::default()
        });
    }
    Arc::new(customer)
}

pub(crate) fn mk_product(name: &str, down: i64, up: i64) -> Arc<Product> {
    Arc::new(from_json(json!({
        "apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "Product", "metadata": meta(name),
        "spec": {
            "displayName": name, "serviceType": "internet-access",
            "parameters": {"downMbps": down, "upMbps": up},
            "pricing": {"currency": "EUR", "monthly": "39.90"}
        }
    })))
}

pub(crate) fn mk_subscription(
    name: &str,
    customer: &str,
    product: &str,
    device: &str,
    port: &str,
) -> Subscription {
    from_json(json!({
        "apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "Subscription", "metadata": meta(name),
        "spec": {
            "customer": customer, "product": product,
            "access": {"device": device, "port": port}
        }
    }))
}

pub(crate) fn mk_device(name: &str, role: DeviceRole, site: Option<&str>) -> Arc<Device> {
    let ports = match role {
        DeviceRole::Access => json!(["ge-0/0/1", "ge-0/0/2"]),
        DeviceRole::Bng => json!(null),
        DeviceRole::Core => json!(null),
    };
    let mut device: Device = from_json(json!({
        "apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "Device", "metadata": meta(name),
        "spec": {
            "address": "127.0.0.1:830", "profile": "ietf", "credentialsSecret": "creds",
            "insecureSkipHostKeyVerification": true, "role": role, "ports": ports
        }
    }));
    device.spec.site = site.map(str::to_owned);
    Arc::new(device)
}

pub(crate) fn mk_vlan_pool(name: &str, from: i32, to: i32, devices: &[&str]) -> Arc<ResourcePool> {
    Arc::new(from_json(json!({
        "apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "ResourcePool", "metadata": meta(name),
        "spec": {"type": "Vlan", "vlan": {"from": from, "to": to}, "selector": {"devices": devices}}
    })))
}

pub(crate) fn mk_ipv4_pool(
    name: &str,
    cidr: &str,
    len: i32,
    roles: &[DeviceRole],
) -> Arc<ResourcePool> {
    Arc::new(from_json(json!({
        "apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "ResourcePool", "metadata": meta(name),
        "spec": {
            "type": "IPv4", "ipv4": {"cidr": cidr, "prefixLength": len},
            "selector": {"roles": roles}
        }
    })))
}

pub(crate) fn mk_claim(pool: &str, value: &str, subscription: &str) -> Arc<ResourceClaim> {
    let name = ferrule_crds::claim_name(pool, value);
    Arc::new(from_json(json!({
        "apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "ResourceClaim", "metadata": meta(&name),
        "spec": {"pool": pool, "value": value, "subscription": subscription}
    })))
}

pub(crate) fn mk_order(name: &str, customer: &str, items: serde_json::Value) -> ServiceOrder {
    from_json(json!({
        "apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "ServiceOrder", "metadata": meta(name),
        "spec": {"customer": customer, "items": items}
    }))
}

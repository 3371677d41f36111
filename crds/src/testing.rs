//! Small builders of resources for unit tests, here and in the crates that use these types:
//! every object lives in namespace [`NS`], with uid `uid-<name>` and generation 1.
//! Built only for this crate's tests and with the `testing` feature.

use std::sync::Arc;

use serde_json::json;

use crate::bss::customer::CustomerPhase;
use crate::oss::device::DeviceRole;
use crate::{Customer, Device, Product, ResourceClaim, ResourcePool, ServiceOrder, Subscription};

/// The namespace every fixture lives in.
pub const NS: &str = "isp";

fn from_json<K: serde::de::DeserializeOwned>(value: serde_json::Value) -> K {
    serde_json::from_value(value).expect("fixture is a valid resource")
}

fn meta(name: &str) -> serde_json::Value {
    json!({"name": name, "namespace": NS, "uid": format!("uid-{name}"), "generation": 1})
}

pub fn mk_customer(name: &str, phase: Option<CustomerPhase>) -> Arc<Customer> {
    let mut customer: Customer = from_json(json!({
        "apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "Customer", "metadata": meta(name),
        "spec": {
            "displayName": name,
            "contact": {"email": "someone@example.com"},
            "billing": {"currency": "EUR", "cycleDay": 1}
        }
    }));
    if let Some(phase) = phase {
        customer.status = Some(crate::CustomerStatus {
            phase: Some(phase),
            ..Default::default()
        });
    }
    Arc::new(customer)
}

pub fn mk_product(name: &str, down: i64, up: i64) -> Arc<Product> {
    Arc::new(from_json(json!({
        "apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "Product", "metadata": meta(name),
        "spec": {
            "displayName": name, "serviceType": "internet-access",
            "parameters": {"downMbps": down, "upMbps": up},
            "pricing": {"currency": "EUR", "monthly": "39.90"}
        }
    })))
}

pub fn mk_subscription(
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

pub fn mk_device(name: &str, role: DeviceRole, site: Option<&str>) -> Arc<Device> {
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

pub fn mk_vlan_pool(name: &str, from: i32, to: i32, devices: &[&str]) -> Arc<ResourcePool> {
    Arc::new(from_json(json!({
        "apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "ResourcePool", "metadata": meta(name),
        "spec": {"type": "Vlan", "vlan": {"from": from, "to": to}, "selector": {"devices": devices}}
    })))
}

pub fn mk_ipv4_pool(name: &str, cidr: &str, len: i32, roles: &[DeviceRole]) -> Arc<ResourcePool> {
    Arc::new(from_json(json!({
        "apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "ResourcePool", "metadata": meta(name),
        "spec": {
            "type": "IPv4", "ipv4": {"cidr": cidr, "prefixLength": len},
            "selector": {"roles": roles}
        }
    })))
}

pub fn mk_claim(pool: &str, value: &str, subscription: &str) -> Arc<ResourceClaim> {
    let name = crate::claim_name(pool, value);
    Arc::new(from_json(json!({
        "apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "ResourceClaim", "metadata": meta(&name),
        "spec": {"pool": pool, "value": value, "subscription": subscription}
    })))
}

pub fn mk_order(name: &str, customer: &str, items: serde_json::Value) -> ServiceOrder {
    from_json(json!({
        "apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "ServiceOrder", "metadata": meta(name),
        "spec": {"customer": customer, "items": items}
    }))
}

//! ResourceClaim: one allocated VLAN or address, named after its pool and value.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::condition::Condition;
use crate::names::DNS1123_SUBDOMAIN_MAX_LENGTH;
use crate::patterns;

/// The desired state of a ResourceClaim: which value of which pool belongs to whom.
// Every `printcolumn(...)` repeats the same keys, which clippy mistakes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "oss.ferrule.dev",
    version = "v1alpha1",
    kind = "ResourceClaim",
    plural = "resourceclaims",
    namespaced,
    status = "ResourceClaimStatus",
    derive = "PartialEq",
    shortname = "claim",
    category = "ferrule",
    doc = "One value allocated from a ResourcePool, named `<pool>.<value>` (e.g. `olt1-vlans.1203`) and owned by its Subscription: creating it is the allocation, deleting the owner frees the value.",
    printcolumn(name = "Pool", type_ = "string", json_path = ".spec.pool"),
    printcolumn(name = "Value", type_ = "string", json_path = ".spec.value"),
    printcolumn(
        name = "Subscription",
        type_ = "string",
        json_path = ".spec.subscription"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ResourceClaimSpec {
    /// Name of the ResourcePool (same namespace) the value comes from.
    #[schemars(length(min = 1, max = 253), regex(pattern = patterns::DNS1123_SUBDOMAIN))]
    pub pool: String,
    /// The allocated value: a VLAN ID such as `1203`, or an address with prefix length such
    /// as `100.64.0.5/24`.
    #[schemars(length(min = 1, max = 64))]
    pub value: String,
    /// Name of the Subscription that owns the value.
    #[schemars(length(min = 1, max = 253), regex(pattern = patterns::DNS1123_SUBDOMAIN))]
    pub subscription: String,
}

/// The observed state of a ResourceClaim.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceClaimStatus {
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions of the claim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// The object name of the claim of `value` in `pool`: `<pool>.<value>` made a valid DNS-1123
/// subdomain. Characters other than lowercase letters, digits (and dots in the pool name)
/// become `-`, and an address's prefix length is dropped because the address alone is what
/// must be unique: `("olt1-vlans", "1203")` → `olt1-vlans.1203`,
/// `("bng-v4", "100.64.0.5/24")` → `bng-v4.100-64-0-5`.
///
/// Names that would exceed 253 characters keep a shortened pool part plus a hash of the full
/// name, so distinct inputs still give distinct names.
pub fn claim_name(pool: &str, value: &str) -> String {
    let value = value.split('/').next().unwrap_or(value);
    let value = sanitize(value, false);
    let pool = sanitize(pool, true);
    let value = if value.is_empty() {
        "0".to_owned()
    } else {
        value
    };
    let pool = if pool.is_empty() {
        "pool".to_owned()
    } else {
        pool
    };
    let name = format!("{pool}.{value}");
    if name.len() <= DNS1123_SUBDOMAIN_MAX_LENGTH {
        return name;
    }
    let hash = format!("{:016x}", fnv1a(name.as_bytes()));
    let value: String = value.chars().take(63).collect();
    let value = value.trim_end_matches('-');
    let room = DNS1123_SUBDOMAIN_MAX_LENGTH - value.len() - hash.len() - 2;
    let head = pool[..room.min(pool.len())].trim_end_matches(['-', '.']);
    format!("{head}-{hash}.{value}")
}

/// Lowercases and replaces every character outside `[a-z0-9]` (and `.` when `keep_dots`)
/// with `-`, then trims separators from both ends of every dot-separated label.
fn sanitize(text: &str, keep_dots: bool) -> String {
    let mapped: String = text
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || (keep_dots && c == '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    mapped
        .split('.')
        .map(|label| label.trim_matches('-'))
        .filter(|label| !label.is_empty())
        .collect::<Vec<_>>()
        .join(".")
}

/// 64-bit FNV-1a: a small, stable hash for name shortening (not for security).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::is_dns1123_subdomain;

    #[test]
    fn names_from_pool_and_value() {
        assert_eq!(claim_name("olt1-vlans", "1203"), "olt1-vlans.1203");
        assert_eq!(claim_name("bng-v4", "100.64.0.5/24"), "bng-v4.100-64-0-5");
        assert_eq!(claim_name("bng-v4", "100.64.0.5"), "bng-v4.100-64-0-5");
        assert_eq!(claim_name("Pool_A", "X/1"), "pool-a.x");
    }

    #[test]
    fn long_names_stay_valid_and_distinct() {
        let pool = "p".repeat(250);
        let a = claim_name(&pool, "1203");
        let b = claim_name(&pool, "1204");
        let c = claim_name(&format!("{pool}q"), "1203");
        for name in [&a, &b, &c] {
            assert!(name.len() <= 253, "{name}");
            assert!(is_dns1123_subdomain(name), "{name}");
        }
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert!(a.ends_with(".1203"));
    }

    #[test]
    fn every_claim_name_is_a_valid_object_name() {
        for (pool, value) in [
            ("a", ""),
            ("", "1"),
            ("-x-", "--"),
            ("pool", "1.2.3.4/32"),
            ("p.q", "∞"),
        ] {
            let name = claim_name(pool, value);
            assert!(is_dns1123_subdomain(&name), "{pool:?} {value:?} -> {name}");
        }
    }
}

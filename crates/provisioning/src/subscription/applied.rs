//! What a subscription applied on each device, as the next change's starting point.
//!
//! `status.devices[]` records per device the transaction, the digest and the owned entries.
//! The diff of the next change also needs the canonical configuration itself; it is kept in the
//! annotation [`APPLIED_ANNOTATION`] (JSON: device name → canonical XML), which the status
//! schema cannot hold without growing every `kubectl get -o yaml`. The annotation is written
//! right after a transaction commits and before the status, so a controller restarting in
//! between finds the new configuration and only has to write the status.
//!
//! When the annotation is missing or unreadable (edited by hand, lost in a restore), the
//! device's entry is still known by its digest and owned paths: the previous config is handed
//! to the transactor with an empty canonical form, which it treats as unknown. The transactor
//! also checks the canonical text against the digest (only it knows the digest's algorithm).

use std::collections::BTreeMap;

use ferrule_crds::Subscription;
use ferrule_crds::bss::subscription::DeviceConfig;

use crate::transactor::{AppliedConfig, DevicePlan};

/// The annotation holding the canonical configuration per device.
pub const APPLIED_ANNOTATION: &str = "provisioning.ferrule.dev/applied";

/// Largest annotation value read back; Kubernetes caps all annotations at 256 KiB.
const MAX_ANNOTATION_BYTES: usize = 256 * 1024;

/// The canonical configurations recorded in the annotation (empty when absent or unreadable).
pub fn recorded(sub: &Subscription) -> BTreeMap<String, String> {
    sub.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(APPLIED_ANNOTATION))
        .filter(|text| text.len() <= MAX_ANNOTATION_BYTES)
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

/// What the subscription applied on each device, from status and annotation.
pub fn previous(sub: &Subscription) -> BTreeMap<String, AppliedConfig> {
    let recorded = recorded(sub);
    let devices = sub
        .status
        .as_ref()
        .map(|s| s.devices.as_slice())
        .unwrap_or_default();
    devices
        .iter()
        .map(|d| {
            let canonical = recorded.get(&d.name).cloned().unwrap_or_default();
            (
                d.name.clone(),
                AppliedConfig {
                    canonical,
                    digest: d.digest.clone(),
                    owned: d.owned.clone(),
                },
            )
        })
        .collect()
}

/// The annotation value after a transaction: the planned configurations of every device the
/// subscription still has something on.
pub fn encode(plans: &[DevicePlan]) -> String {
    let map: BTreeMap<&str, &str> = plans
        .iter()
        .filter_map(|p| {
            Some((
                p.target.name.as_str(),
                p.applied.as_ref()?.canonical.as_str(),
            ))
        })
        .collect();
    serde_json::to_string(&map).unwrap_or_else(|_| "{}".to_owned())
}

/// `status.devices` after a transaction: a device the plan pushed gets the new transaction id,
/// the others keep theirs.
pub fn device_status(
    plans: &[DevicePlan],
    transaction: Option<&str>,
    before: &[DeviceConfig],
) -> Vec<DeviceConfig> {
    plans
        .iter()
        .filter_map(|p| {
            let applied = p.applied.as_ref()?;
            let name = p.target.name.clone();
            let kept = before
                .iter()
                .find(|d| d.name == name)
                .map(|d| d.transaction.clone());
            let transaction = match (p.edit.is_some(), transaction) {
                (true, Some(id)) => id.to_owned(),
                _ => kept.unwrap_or_default(),
            };
            Some(DeviceConfig {
                name,
                transaction,
                digest: applied.digest.clone(),
                owned: applied.owned.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;

    fn plan(name: &str, edit: bool, canonical: Option<&str>) -> DevicePlan {
        DevicePlan {
            target: mk_target(name),
            edit: edit.then(|| "<edit/>".to_owned()),
            compensation: edit.then(String::new),
            applied: canonical.map(|c| AppliedConfig {
                canonical: c.into(),
                digest: format!("d-{c}"),
                owned: vec![format!("/x[name='{c}']")],
            }),
        }
    }

    #[test]
    fn round_trip_through_annotation_and_status() {
        let plans = vec![
            plan("olt1", true, Some("<a/>")),
            plan("bng1", false, Some("<b/>")),
            plan("old", true, None),
        ];
        let before = vec![DeviceConfig {
            name: "bng1".into(),
            transaction: "t-1".into(),
            digest: "d-<b/>".into(),
            owned: vec![],
        }];
        let devices = device_status(&plans, Some("t-2"), &before);
        assert_eq!(devices.len(), 2, "a device left behind is dropped");
        assert_eq!(
            (devices[0].name.as_str(), devices[0].transaction.as_str()),
            ("olt1", "t-2")
        );
        assert_eq!(
            (devices[1].name.as_str(), devices[1].transaction.as_str()),
            ("bng1", "t-1")
        );

        let mut sub = mk_subscription("s", "c", "p", "olt1", "ge-0/0/1");
        sub.metadata.annotations = Some([(APPLIED_ANNOTATION.to_owned(), encode(&plans))].into());
        sub.status = Some(ferrule_crds::SubscriptionStatus {
            devices,
            ..Default::default()
        });
        let previous = previous(&sub);
        assert_eq!(previous["olt1"].canonical, "<a/>");
        assert_eq!(previous["olt1"].owned, ["/x[name='<a/>']"]);
        assert_eq!(previous["bng1"].canonical, "<b/>");
        assert!(!previous.contains_key("old"));
    }

    #[test]
    fn a_lost_annotation_leaves_owned_entries_known() {
        let mut sub = mk_subscription("s", "c", "p", "olt1", "ge-0/0/1");
        sub.metadata.annotations =
            Some([(APPLIED_ANNOTATION.to_owned(), "not json".to_owned())].into());
        sub.status = Some(ferrule_crds::SubscriptionStatus {
            devices: vec![DeviceConfig {
                name: "olt1".into(),
                transaction: "t".into(),
                digest: "d".into(),
                owned: vec!["/p".into()],
            }],
            ..Default::default()
        });
        let previous = previous(&sub);
        assert_eq!(previous["olt1"].canonical, "");
        assert_eq!(previous["olt1"].owned, ["/p"]);
    }
}

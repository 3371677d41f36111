//! Drift: what the subscriptions own on a device, compared with the device's running
//! configuration. Pure.
//!
//! Only owned configuration is compared: whatever else the device carries is the operator's.
//! The owned configuration of a device is the merge of what every subscription recorded there
//! (its canonical configuration, or a skeleton of its owned entries when the record is lost).

use std::collections::BTreeSet;
use std::sync::Arc;

use ferrule_crds::Subscription;
use kube::ResourceExt;

use crate::netconf::plan::{DevicePlanError, ProfileSchema, skeleton};
use crate::subscription::applied;
use ferrule_netconf::tree::{ConfigTree, Fragment, MergeError, compare, merge, repair};
use ferrule_netconf::xml::escape_attr;

/// What one subscription owns on the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    /// The subscription's name.
    pub owner: String,
    /// Its configuration there.
    pub tree: ConfigTree,
}

/// The result of one drift check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DriftReport {
    /// One line per missing or different owned node.
    pub entries: Vec<String>,
    /// Subscriptions whose configuration drifted.
    pub affected: Vec<String>,
    /// The edit that puts owned configuration back, when there is drift.
    pub repair: Option<String>,
}

impl DriftReport {
    /// Whether anything drifted.
    pub fn detected(&self) -> bool {
        !self.entries.is_empty()
    }
}

/// What every subscription owns on `device`, read from their status and applied record.
pub fn owned_on(
    device: &str,
    namespace: &str,
    subscriptions: &[Arc<Subscription>],
    ps: &ProfileSchema,
) -> Result<Vec<Owned>, DevicePlanError> {
    let mut out = Vec::new();
    for sub in subscriptions {
        if sub.namespace().as_deref() != Some(namespace) {
            continue;
        }
        let Some(config) = applied::previous(sub).remove(device) else {
            continue;
        };
        let known = (!config.canonical.is_empty())
            .then(|| ConfigTree::parse(&config.canonical, &ps.schema).ok())
            .flatten()
            .filter(|t| t.digest() == config.digest);
        let tree = match known {
            Some(tree) => tree,
            None => skeleton(&ps.paths(&config.owned)?),
        };
        out.push(Owned {
            owner: sub.name_any(),
            tree,
        });
    }
    Ok(out)
}

/// The merge of every owner's configuration.
pub fn owned_tree(owned: &[Owned], ps: &ProfileSchema) -> Result<ConfigTree, MergeError> {
    let fragments: Vec<Fragment<'_>> = owned
        .iter()
        .map(|o| Fragment {
            owner: &o.owner,
            tree: &o.tree,
        })
        .collect();
    merge(&fragments, &ps.prefixes)
}

/// A subtree filter selecting the top-level containers of `tree`, so a drift check reads
/// only what could be owned. `None` for an empty tree.
pub fn subtree_filter(tree: &ConfigTree) -> Option<String> {
    let roots: BTreeSet<String> = tree
        .roots
        .keys()
        .map(|ident| {
            format!(
                "<{} xmlns=\"{}\"/>",
                ident.name.name,
                escape_attr(&ident.name.ns)
            )
        })
        .collect();
    (!roots.is_empty()).then(|| roots.into_iter().collect())
}

/// Compares owned configuration with the device's running configuration.
pub fn check(
    owned: &[Owned],
    merged: &ConfigTree,
    running: &ConfigTree,
    ps: &ProfileSchema,
) -> DriftReport {
    let drifts = compare(merged, running);
    if drifts.is_empty() {
        return DriftReport::default();
    }
    let affected: BTreeSet<String> = drifts
        .iter()
        .flat_map(|d| {
            owned.iter().filter(move |o| {
                o.tree.get(&d.path).is_some()
                    || o.tree.entries().iter().any(|e| e.starts_with(&d.path))
            })
        })
        .map(|o| o.owner.clone())
        .collect();
    DriftReport {
        entries: drifts.iter().map(|d| d.describe(&ps.prefixes)).collect(),
        affected: affected.into_iter().collect(),
        repair: repair(merged, running).map(|e| e.to_xml()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use ferrule_crds::SubscriptionStatus;
    use ferrule_crds::bss::subscription::DeviceConfig;
    use ferrule_render::Renderer;

    const IF: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";

    fn ps() -> ProfileSchema {
        let renderer = Renderer::builtin().unwrap();
        ProfileSchema::of(renderer.profiles().get("ietf").unwrap()).unwrap()
    }

    fn iface(name: &str, enabled: bool) -> String {
        format!("<interface><name>{name}</name><enabled>{enabled}</enabled></interface>")
    }

    fn config(body: &str) -> String {
        format!("<interfaces xmlns=\"{IF}\">{body}</interfaces>")
    }

    fn sub_owning(
        name: &str,
        device: &str,
        xml: &str,
        ps: &ProfileSchema,
        keep_record: bool,
    ) -> Arc<Subscription> {
        let tree = ConfigTree::parse(xml, &ps.schema).unwrap();
        let applied = ps.applied(&tree);
        let mut sub = mk_subscription(name, "c", "p", device, "ge-0/0/1");
        if keep_record {
            let record = serde_json::json!({ device: applied.canonical }).to_string();
            sub.metadata.annotations =
                Some([(applied::APPLIED_ANNOTATION.to_owned(), record)].into());
        }
        sub.status = Some(SubscriptionStatus {
            devices: vec![DeviceConfig {
                name: device.into(),
                transaction: "t".into(),
                digest: applied.digest,
                owned: applied.owned,
            }],
            ..Default::default()
        });
        Arc::new(sub)
    }

    #[test]
    fn an_unreadable_owned_entry_is_a_typed_error() {
        let ps = ps();
        let mut sub = (*sub_owning("a", "olt1", &config(&iface("x.1", true)), &ps, false)).clone();
        sub.status.as_mut().unwrap().devices[0].owned = vec!["not a path".into()];
        let err = owned_on("olt1", NS, &[Arc::new(sub)], &ps).unwrap_err();
        let DevicePlanError::OwnedEntry { path, source } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(path, "not a path");
        assert_eq!(err.to_string(), format!("owned entry not a path: {source}"));
    }

    #[test]
    fn drift_of_owned_entries_is_found_and_repaired() {
        let ps = ps();
        let subs = vec![
            sub_owning("a", "olt1", &config(&iface("x.1", true)), &ps, true),
            sub_owning("b", "olt1", &config(&iface("x.2", true)), &ps, true),
            sub_owning("c", "olt2", &config(&iface("x.3", true)), &ps, true),
        ];
        let owned = owned_on("olt1", NS, &subs, &ps).unwrap();
        assert_eq!(owned.len(), 2);
        let merged = owned_tree(&owned, &ps).unwrap();
        assert_eq!(
            subtree_filter(&merged).unwrap(),
            format!("<interfaces xmlns=\"{IF}\"/>")
        );
        // In sync, with unowned config around.
        let running = ConfigTree::parse(
            &config(&format!(
                "{}{}{}",
                iface("x.1", true),
                iface("x.2", true),
                iface("mgmt", true)
            )),
            &ps.schema,
        )
        .unwrap();
        assert!(!check(&owned, &merged, &running, &ps).detected());
        // x.1 disabled by hand, x.2 deleted.
        let running = ConfigTree::parse(
            &config(&format!("{}{}", iface("x.1", false), iface("mgmt", true))),
            &ps.schema,
        )
        .unwrap();
        let report = check(&owned, &merged, &running, &ps);
        assert_eq!(report.entries.len(), 2, "{:?}", report.entries);
        assert!(
            report
                .entries
                .iter()
                .any(|e| e.starts_with("missing /if:interfaces/if:interface[if:name='x.2']"))
        );
        assert_eq!(report.affected, ["a", "b"]);
        let repair = report.repair.unwrap();
        assert!(
            repair.contains("x.2") && repair.contains("x.1") && !repair.contains("mgmt"),
            "{repair}"
        );
    }

    #[test]
    fn a_lost_record_still_detects_missing_entries() {
        let ps = ps();
        let subs = vec![sub_owning(
            "a",
            "olt1",
            &config(&iface("x.1", true)),
            &ps,
            false,
        )];
        let owned = owned_on("olt1", NS, &subs, &ps).unwrap();
        let merged = owned_tree(&owned, &ps).unwrap();
        let empty = ConfigTree::new();
        let report = check(&owned, &merged, &empty, &ps);
        assert_eq!(report.affected, ["a"]);
        assert!(report.detected());
    }

    #[test]
    fn nothing_owned_means_nothing_to_read() {
        assert_eq!(subtree_filter(&ConfigTree::new()), None);
    }
}

//! Planning one owner's change on one device with config trees: the edit-config payload, its
//! compensation (see [`compensate`](super::compensate)), the canonical configuration owned
//! afterwards, its digest and owned entries.
//!
//! Pure. New entries are written with `merge` (an entry may already be on the device: shared
//! with another owner, or left by a transaction whose result was not recorded), entries gone
//! with `remove` (idempotent). Entries other owners still hold are never removed: a removal
//! goes through [`reverse`], and a modification first forgets those entries from what the
//! owner had, so the diff does not touch them.

use std::collections::BTreeSet;

use super::compensate::{CompensationError, Known, compensation};
use crate::transactor::{AppliedConfig, DeviceChange, DevicePlan};
use ferrule_netconf::tree::Children;
use ferrule_netconf::tree::{
    ConfigTree, DataPath, DiffOptions, Edit, Ident, Key, ListSchema, NewEntries, Node, PathError,
    PrefixMap, Removal, SchemaError, TreeError, diff_with, reverse,
};
use ferrule_render::DeviceProfile;

/// Why a device's change cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum DevicePlanError {
    /// The profile's keyed lists or namespaces are unusable.
    #[error("profile {profile}: {source}")]
    Profile {
        /// The profile.
        profile: String,
        /// What is wrong with it.
        #[source]
        source: SchemaError,
    },
    /// An owned-entry path in a Subscription's status cannot be read.
    #[error("owned entry {path}: {source}")]
    OwnedEntry {
        /// The path as written.
        path: String,
        /// Why it cannot be read.
        #[source]
        source: PathError,
    },
    /// The rendered configuration is not a config tree.
    #[error("rendered configuration: {0}")]
    Rendered(#[source] TreeError),
    /// The compensating edit cannot be computed.
    #[error(transparent)]
    Compensation(#[from] CompensationError),
}

/// The tree knowledge of one device profile: its keyed lists and namespace prefixes.
#[derive(Debug, Clone)]
pub struct ProfileSchema {
    /// Keyed lists.
    pub schema: ListSchema,
    /// Prefixes for writing owned paths.
    pub prefixes: PrefixMap,
}

impl ProfileSchema {
    /// Reads a profile's keyed lists and namespaces.
    pub fn of(profile: &DeviceProfile) -> Result<Self, DevicePlanError> {
        let context = |source: SchemaError| DevicePlanError::Profile {
            profile: profile.name().to_owned(),
            source,
        };
        Ok(Self {
            schema: profile.list_schema().map_err(context)?,
            prefixes: profile.prefix_map().map_err(context)?,
        })
    }

    /// Reads owned-entry paths as written in a Subscription's status.
    pub fn paths<'a>(
        &self,
        texts: impl IntoIterator<Item = &'a String>,
    ) -> Result<Vec<DataPath>, DevicePlanError> {
        texts
            .into_iter()
            .map(|t| {
                DataPath::parse(t, &self.prefixes).map_err(|source| DevicePlanError::OwnedEntry {
                    path: t.clone(),
                    source,
                })
            })
            .collect()
    }

    /// What an owner has in `tree`, as status records it.
    pub fn applied(&self, tree: &ConfigTree) -> AppliedConfig {
        AppliedConfig {
            canonical: tree.to_xml(),
            digest: tree.digest(),
            owned: tree
                .entries()
                .iter()
                .map(|p| p.format(&self.prefixes))
                .collect(),
        }
    }
}

/// Plans one device: the edit, its compensation and what the owner has afterwards.
pub fn plan_device(
    change: &DeviceChange,
    ps: &ProfileSchema,
) -> Result<DevicePlan, DevicePlanError> {
    let desired = change
        .desired
        .as_deref()
        .map(|xml| ConfigTree::parse(xml, &ps.schema).map_err(DevicePlanError::Rendered))
        .transpose()?;
    let others: BTreeSet<DataPath> = ps.paths(&change.held_by_others)?.into_iter().collect();
    let (previous, known) = previous_tree(change, ps)?;
    let edit = owner_edit(&previous, desired.as_ref(), &others);
    let compensation = edit
        .as_ref()
        .map(|edit| {
            compensation(&previous, known, edit, &others)
                .map(|undo| undo.map(|u| u.to_xml()).unwrap_or_default())
        })
        .transpose()?;
    Ok(DevicePlan {
        target: change.target.clone(),
        edit: edit.map(|e| e.to_xml()),
        compensation,
        applied: desired.as_ref().map(|t| ps.applied(t)),
    })
}

/// The edit taking one owner from `previous` to `desired` (`None`: removing all it has),
/// leaving the entries in `others` alone; `None` when nothing changes.
pub fn owner_edit(
    previous: &ConfigTree,
    desired: Option<&ConfigTree>,
    others: &BTreeSet<DataPath>,
) -> Option<Edit> {
    match desired {
        Some(desired) => {
            let previous = forget(previous.clone(), others, desired);
            let options = DiffOptions {
                new_entries: NewEntries::Merge,
                removal: Removal::Remove,
            };
            diff_with(&previous, &with_scaffold(&previous, desired), &options)
        }
        None => reverse(previous, others, Removal::Remove),
    }
}

/// What the owner had on the device: its recorded canonical configuration when that matches
/// the recorded digest, else a skeleton of its owned entries (keys only), which is enough to
/// remove them and to re-assert everything wanted.
fn previous_tree(
    change: &DeviceChange,
    ps: &ProfileSchema,
) -> Result<(ConfigTree, Known), DevicePlanError> {
    let Some(applied) = &change.previous else {
        return Ok((ConfigTree::new(), Known::Everything));
    };
    if !applied.canonical.is_empty()
        && let Ok(tree) = ConfigTree::parse(&applied.canonical, &ps.schema)
        && tree.digest() == applied.digest
    {
        return Ok((tree, Known::Everything));
    }
    Ok((skeleton(&ps.paths(&applied.owned)?), Known::EntriesOnly))
}

/// A tree holding exactly the entries at `paths`, each with its key leaves only.
pub fn skeleton(paths: &[DataPath]) -> ConfigTree {
    let mut tree = ConfigTree::new();
    for path in paths {
        let mut children = &mut tree.roots;
        for step in &path.steps {
            let node = children
                .entry(step.clone())
                .or_insert_with(|| identity_node(step));
            children = &mut node.children;
        }
    }
    tree
}

fn identity_node(ident: &Ident) -> Node {
    let mut node = Node::empty(ident.name.clone());
    match &ident.key {
        Key::Entry(pairs) => {
            for (name, value) in pairs {
                node.children.insert(
                    Ident::single(name.clone()),
                    Node::leaf(name.clone(), value.clone()),
                );
            }
        }
        Key::LeafList(value) => node.value = Some(ferrule_netconf::tree::Value::new(value.clone())),
        Key::Single | Key::Position(_) => {}
    }
    node
}

/// `desired` plus what `previous` has outside keyed entries and `desired` lacks: containers
/// (without their entries) and leaves. A diff against it removes only the owner's keyed
/// entries, never a container or a leaf outside entries, which other owners may share (a
/// device's `interfaces` container holds every subscriber's interfaces) — the same rule as a
/// removal through [`reverse`].
fn with_scaffold(previous: &ConfigTree, desired: &ConfigTree) -> ConfigTree {
    fn walk(previous: &Children, out: &mut Children) {
        for (ident, node) in previous {
            if ident.key != Key::Single {
                continue;
            }
            let target = out.entry(ident.clone()).or_insert_with(|| Node {
                children: Children::new(),
                ..node.clone()
            });
            walk(&node.children, &mut target.children);
        }
    }
    let mut out = desired.clone();
    walk(&previous.roots, &mut out.roots);
    out
}

/// `previous` without the entries others hold that `desired` no longer has: the diff then
/// leaves them alone instead of removing them.
fn forget(
    mut previous: ConfigTree,
    others: &BTreeSet<DataPath>,
    desired: &ConfigTree,
) -> ConfigTree {
    for path in others {
        if desired.get(path).is_none() {
            remove_at(&mut previous, path);
        }
    }
    previous
}

/// Removes the node at `path` (and everything below it) from `tree`, if it is there.
pub(super) fn remove_at(tree: &mut ConfigTree, path: &DataPath) {
    let Some((last, parents)) = path.steps.split_last() else {
        return;
    };
    let mut children = &mut tree.roots;
    for step in parents {
        match children.get_mut(step) {
            Some(node) => children = &mut node.children,
            None => return,
        }
    }
    children.remove(last);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::mk_target;
    use ferrule_render::Renderer;

    fn schema() -> ProfileSchema {
        let renderer = Renderer::builtin().unwrap();
        ProfileSchema::of(renderer.profiles().get("ietf").unwrap()).unwrap()
    }

    const NS: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";

    fn iface(name: &str, description: &str) -> String {
        format!(
            "<interfaces xmlns=\"{NS}\"><interface><name>{name}</name>\
             <description>{description}</description><enabled>true</enabled></interface></interfaces>"
        )
    }

    fn change(
        desired: Option<String>,
        previous: Option<AppliedConfig>,
        others: &[&str],
    ) -> DeviceChange {
        DeviceChange {
            target: mk_target("olt1"),
            desired,
            previous,
            held_by_others: others.iter().map(|o| (*o).to_owned()).collect(),
        }
    }

    #[test]
    fn first_push_merges_everything_and_records_owned_entries() {
        let ps = schema();
        let plan = plan_device(&change(Some(iface("ge-0/0/1.1203", "a")), None, &[]), &ps).unwrap();
        let edit = plan.edit.unwrap();
        assert!(edit.contains("operation=\"merge\""), "{edit}");
        let applied = plan.applied.unwrap();
        assert_eq!(
            applied.owned,
            ["/if:interfaces/if:interface[if:name='ge-0/0/1.1203']"]
        );
        assert_eq!(applied.digest.len(), 64);
    }

    #[test]
    fn unchanged_config_needs_no_edit_and_changes_are_minimal() {
        let ps = schema();
        let first = plan_device(&change(Some(iface("x.1", "a")), None, &[]), &ps).unwrap();
        let applied = first.applied.unwrap();
        let same = plan_device(
            &change(Some(iface("x.1", "a")), Some(applied.clone()), &[]),
            &ps,
        )
        .unwrap();
        assert_eq!(same.edit, None);
        let modified =
            plan_device(&change(Some(iface("x.1", "b")), Some(applied), &[]), &ps).unwrap();
        let edit = modified.edit.unwrap();
        assert!(edit.contains(">b</description>"), "{edit}");
        assert!(!edit.contains("<enabled>"), "only the changed leaf: {edit}");
    }

    #[test]
    fn a_container_the_owner_no_longer_renders_keeps_other_owners_entries() {
        let ps = schema();
        let first = plan_device(&change(Some(iface("x.1", "a")), None, &[]), &ps).unwrap();
        // The new rendering has no `interfaces` container at all.
        let other_root = "<system xmlns=\"urn:example:system\"><contact>noc</contact></system>";
        let plan = plan_device(
            &change(Some(other_root.to_owned()), first.applied, &[]),
            &ps,
        )
        .unwrap();
        let edit = plan.edit.unwrap();
        let tree = Edit::parse(&edit, &ps.schema).unwrap();
        let interfaces = tree
            .tree
            .roots
            .values()
            .find(|n| n.name.name == "interfaces")
            .unwrap();
        assert_eq!(interfaces.op, None, "the container itself stays: {edit}");
        let entry = interfaces.children.values().next().unwrap();
        assert_eq!(
            entry.op,
            Some(ferrule_netconf::tree::Operation::Remove),
            "{edit}"
        );
        assert!(edit.contains("<contact>noc</contact>"), "{edit}");
    }

    #[test]
    fn removal_keeps_entries_others_hold() {
        let ps = schema();
        let both = format!(
            "<interfaces xmlns=\"{NS}\"><interface><name>x.1</name><enabled>true</enabled></interface>\
             <interface><name>shared</name><enabled>true</enabled></interface></interfaces>"
        );
        let applied = plan_device(&change(Some(both), None, &[]), &ps)
            .unwrap()
            .applied
            .unwrap();
        let shared = "/if:interfaces/if:interface[if:name='shared']";
        let plan = plan_device(&change(None, Some(applied.clone()), &[shared]), &ps).unwrap();
        let edit = plan.edit.unwrap();
        assert!(
            edit.contains("<name>x.1</name>") && edit.contains("operation=\"remove\""),
            "{edit}"
        );
        assert!(!edit.contains("shared"), "{edit}");
        assert_eq!(plan.applied, None);
        // A modification dropping the shared entry leaves it too.
        let modify = plan_device(
            &change(Some(iface("x.1", "d")), Some(applied), &[shared]),
            &ps,
        )
        .unwrap();
        assert!(!modify.edit.unwrap().contains("shared"));
    }

    #[test]
    fn a_lost_record_still_removes_by_owned_paths() {
        let ps = schema();
        let mut applied = plan_device(&change(Some(iface("x.1", "a")), None, &[]), &ps)
            .unwrap()
            .applied
            .unwrap();
        applied.canonical = String::new();
        let plan = plan_device(&change(None, Some(applied.clone()), &[]), &ps).unwrap();
        let edit = plan.edit.unwrap();
        assert!(
            edit.contains("<name>x.1</name>") && edit.contains("remove"),
            "{edit}"
        );
        // And a modification re-asserts the whole desired entry.
        let again = plan_device(&change(Some(iface("x.1", "a")), Some(applied), &[]), &ps).unwrap();
        assert!(again.edit.unwrap().contains(">a</description>"));
    }

    #[test]
    fn a_record_that_does_not_match_its_digest_is_not_trusted() {
        let ps = schema();
        let mut applied = plan_device(&change(Some(iface("x.1", "a")), None, &[]), &ps)
            .unwrap()
            .applied
            .unwrap();
        applied.canonical = iface("x.1", "tampered");
        let plan = plan_device(&change(Some(iface("x.1", "a")), Some(applied), &[]), &ps).unwrap();
        assert!(plan.edit.unwrap().contains(">a</description>"));
    }

    #[test]
    fn moving_to_another_interface_removes_the_old_one() {
        let ps = schema();
        let applied = plan_device(&change(Some(iface("x.1", "a")), None, &[]), &ps)
            .unwrap()
            .applied
            .unwrap();
        let plan = plan_device(&change(Some(iface("x.2", "a")), Some(applied), &[]), &ps).unwrap();
        let edit = plan.edit.unwrap();
        assert!(
            edit.contains("<name>x.1</name>") && edit.contains("<name>x.2</name>"),
            "{edit}"
        );
        assert_eq!(
            plan.applied.unwrap().owned,
            ["/if:interfaces/if:interface[if:name='x.2']"]
        );
    }

    #[test]
    fn malformed_payloads_are_reported() {
        let ps = schema();
        let err = plan_device(&change(Some("<oops".into()), None, &[]), &ps).unwrap_err();
        let DevicePlanError::Rendered(tree) = &err else {
            panic!("{err:?}");
        };
        assert_eq!(err.to_string(), format!("rendered configuration: {tree}"));
        let source = std::error::Error::source(&err).expect("the tree error is kept");
        assert!(source.is::<TreeError>());
        let bad_path = plan_device(&change(None, None, &["not a path"]), &ps).unwrap_err();
        let DevicePlanError::OwnedEntry { path, source } = &bad_path else {
            panic!("{bad_path:?}");
        };
        assert_eq!(path, "not a path");
        assert_eq!(
            bad_path.to_string(),
            format!("owned entry not a path: {source}")
        );
        assert!(std::error::Error::source(&bad_path).is_some_and(|s| s.is::<PathError>()));
    }
}

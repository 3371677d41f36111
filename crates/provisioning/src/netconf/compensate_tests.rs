//! Tests of the compensating edit: examples on the ietf profile through the planner, and
//! properties over generated configurations of several owners sharing a device.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::fixtures::mk_target;
use crate::netconf::group::merge_edits;
use crate::netconf::plan::{ProfileSchema, owner_edit, plan_device, skeleton};
use crate::transactor::{DeviceChange, DevicePlan};
use ferrule_netconf::tree::Children;
use ferrule_netconf::tree::testing::{Model, edit_round_trip, model, parse};
use ferrule_netconf::tree::{
    Fragment, Ident, MergeError, Node, Operation, PrefixMap, compare, merge,
};
use ferrule_render::Renderer;

// === examples on the ietf profile ===

const IF: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";
const IP: &str = "urn:ietf:params:xml:ns:yang:ietf-ip";

fn ps() -> ProfileSchema {
    let renderer = Renderer::builtin().unwrap();
    ProfileSchema::of(renderer.profiles().get("ietf").unwrap()).unwrap()
}

/// One interface; `address` adds an ietf-ip address below it.
fn iface(name: &str, description: &str, address: Option<&str>) -> String {
    let ipv4 = address.map_or(String::new(), |ip| {
        format!("<ipv4 xmlns=\"{IP}\"><address><ip>{ip}</ip><prefix-length>29</prefix-length></address></ipv4>")
    });
    format!(
        "<interface><name>{name}</name><description>{description}</description>\
         <enabled>true</enabled>{ipv4}</interface>"
    )
}

fn interfaces(entries: &[String]) -> String {
    format!(
        "<interfaces xmlns=\"{IF}\">{}</interfaces>",
        entries.concat()
    )
}

fn change(desired: Option<String>, previous: Option<&str>, others: &[&str]) -> DeviceChange {
    let ps = ps();
    DeviceChange {
        target: mk_target("olt1"),
        desired,
        previous: previous.map(|xml| ps.applied(&ConfigTree::parse(xml, &ps.schema).unwrap())),
        held_by_others: others.iter().map(|o| (*o).to_owned()).collect(),
    }
}

/// The device before, after the planned edit, and after the edit and its compensation.
fn run(device: &str, plan: &DevicePlan) -> (ConfigTree, ConfigTree, ConfigTree) {
    let ps = ps();
    let before = ConfigTree::parse(device, &ps.schema).unwrap();
    let apply = |tree: &ConfigTree, xml: &str| {
        if xml.is_empty() {
            return tree.clone();
        }
        let edit = Edit::parse(xml, &ps.schema).unwrap();
        apply_edit(tree, &edit, DefaultOperation::Merge).unwrap()
    };
    let changed = apply(&before, plan.edit.as_deref().unwrap());
    let restored = apply(&changed, plan.compensation.as_deref().unwrap());
    (before, changed, restored)
}

#[test]
fn a_new_subscription_is_compensated_by_removing_its_interface() {
    let other = iface("ge-0/0/2.7", "someone else", None);
    let device = interfaces(std::slice::from_ref(&other));
    let desired = interfaces(&[iface("ge-0/0/1.10", "new", None)]);
    let plan = plan_device(&change(Some(desired), None, &[]), &ps()).unwrap();
    let undo = plan.compensation.clone().unwrap();
    assert!(
        undo.contains("ge-0/0/1.10") && undo.contains("nc:operation=\"remove\""),
        "{undo}"
    );
    assert!(
        !undo.contains("delete") && !undo.contains("ge-0/0/2.7"),
        "{undo}"
    );
    let (before, changed, restored) = run(&device, &plan);
    assert_ne!(changed, before);
    assert_eq!(restored, before);
}

#[test]
fn a_modification_is_compensated_by_restoring_the_previous_values() {
    let previous = interfaces(&[iface("ge-0/0/1.10", "100/20 Mbps", Some("10.0.0.1"))]);
    let desired = interfaces(&[iface("ge-0/0/1.10", "500/100 Mbps", Some("10.0.0.9"))]);
    let plan = plan_device(&change(Some(desired), Some(&previous), &[]), &ps()).unwrap();
    let undo = plan.compensation.clone().unwrap();
    assert!(
        undo.contains("100/20 Mbps") && undo.contains("10.0.0.1"),
        "{undo}"
    );
    let (before, _, restored) = run(&previous, &plan);
    assert_eq!(restored, before);
}

#[test]
fn a_removal_is_compensated_by_merging_the_entries_back() {
    let previous = interfaces(&[iface("ge-0/0/1.10", "gone", Some("10.0.0.1"))]);
    let plan = plan_device(&change(None, Some(&previous), &[]), &ps()).unwrap();
    let undo = plan.compensation.clone().unwrap();
    assert!(undo.contains("nc:operation=\"merge\""), "{undo}");
    let (before, changed, restored) = run(&previous, &plan);
    assert!(changed.entries().is_empty());
    assert_eq!(restored, before);
}

#[test]
fn entries_others_hold_are_never_removed_but_what_the_owner_added_below_them_is() {
    // Another subscription holds the BNG interface with its address; this one joins it and
    // adds its own address below it.
    let held = "/if:interfaces/if:interface[if:name='xe-0/0/0.5']";
    let held_address = format!("{held}/ip:ipv4/ip:address[ip:ip='10.0.0.1']");
    let device = interfaces(&[iface("xe-0/0/0.5", "shared", Some("10.0.0.1"))]);
    let desired = interfaces(&[iface("xe-0/0/0.5", "shared", Some("10.0.0.9"))]);
    let plan = plan_device(
        &change(Some(desired), None, &[held, held_address.as_str()]),
        &ps(),
    )
    .unwrap();
    let undo = plan.compensation.clone().unwrap();
    assert!(
        undo.contains("10.0.0.9") && !undo.contains("10.0.0.1"),
        "{undo}"
    );
    let (before, changed, restored) = run(&device, &plan);
    assert_eq!(changed.entries().len(), 3);
    assert_eq!(restored, before);
}

#[test]
fn a_lost_record_only_removes_what_the_edit_created() {
    let previous = interfaces(&[iface("ge-0/0/1.10", "old", None)]);
    let ps = ps();
    let mut applied = ps.applied(&ConfigTree::parse(&previous, &ps.schema).unwrap());
    applied.canonical = String::new();
    let desired = interfaces(&[
        iface("ge-0/0/1.10", "new", None),
        iface("ge-0/0/1.11", "added", None),
    ]);
    let plan = plan_device(
        &DeviceChange {
            previous: Some(applied),
            ..change(Some(desired), None, &[])
        },
        &ps,
    )
    .unwrap();
    let undo = plan.compensation.clone().unwrap();
    // Without the record, the old description is unknown: it cannot be restored, and the
    // entry's leaves must not be stripped either.
    assert!(
        undo.contains("ge-0/0/1.11") && !undo.contains("ge-0/0/1.10"),
        "{undo}"
    );
    let (before, _, restored) = run(&previous, &plan);
    assert_eq!(restored.entries(), before.entries());
}

#[test]
fn nothing_to_undo_is_an_empty_compensation_and_no_edit_has_none() {
    let held = "/if:interfaces/if:interface[if:name='xe-0/0/0.5']";
    let device = interfaces(&[iface("xe-0/0/0.5", "shared", None)]);
    // Joining an entry another owner holds with the same values changes nothing this owner
    // may take back.
    let plan = plan_device(&change(Some(device.clone()), None, &[held]), &ps()).unwrap();
    assert!(plan.edit.is_some());
    assert_eq!(plan.compensation.as_deref(), Some(""));
    let ps = ps();
    let applied = ps.applied(&ConfigTree::parse(&device, &ps.schema).unwrap());
    let same = plan_device(
        &DeviceChange {
            previous: Some(applied),
            ..change(Some(device), None, &[])
        },
        &ps,
    )
    .unwrap();
    assert_eq!((same.edit, same.compensation), (None, None));
}

#[test]
fn with_entry_ancestors_closes_the_set() {
    let ps = ps();
    let deep = ps
        .paths(&[
            "/if:interfaces/if:interface[if:name='a']/ip:ipv4/ip:address[ip:ip='10.0.0.1']"
                .to_owned(),
        ])
        .unwrap();
    let closed = with_entry_ancestors(&deep.iter().cloned().collect());
    let top = ps
        .paths(&["/if:interfaces/if:interface[if:name='a']".to_owned()])
        .unwrap();
    assert_eq!(closed, deep.into_iter().chain(top).collect());
}

// === properties ===

fn apply(tree: &ConfigTree, edit: Option<&Edit>) -> ConfigTree {
    match edit {
        Some(edit) => apply_edit(tree, &edit_round_trip(edit), DefaultOperation::Merge).unwrap(),
        None => tree.clone(),
    }
}

fn owners(trees: &[&ConfigTree]) -> Result<ConfigTree, MergeError> {
    let names = ["o", "q", "r"];
    let fragments: Vec<Fragment<'_>> = trees
        .iter()
        .zip(names)
        .map(|(tree, owner)| Fragment { owner, tree })
        .collect();
    merge(&fragments, &PrefixMap::new())
}

fn operations(edit: &Edit) -> Vec<Operation> {
    fn walk(node: &Node, out: &mut Vec<Operation>) {
        out.extend(node.op);
        node.children.values().for_each(|c| walk(c, out));
    }
    let mut out = Vec::new();
    edit.tree.roots.values().for_each(|n| walk(n, &mut out));
    out
}

/// One owner changing its configuration on a device another owner shares.
#[derive(Debug)]
struct Case {
    previous: ConfigTree,
    desired: Option<ConfigTree>,
    other: ConfigTree,
    /// The device before the change: both owners' configuration.
    before: ConfigTree,
    /// The entries the other owner holds.
    others: BTreeSet<DataPath>,
}

impl Case {
    /// `None` when the owners disagree: the planner refuses conflicting configuration, so
    /// owners never disagree on a device.
    fn of(previous: &Model, desired: Option<&Model>, other: &Model) -> Option<Self> {
        let (previous, other) = (parse(previous), parse(other));
        let desired = desired.map(parse);
        let before = owners(&[&previous, &other]).ok()?;
        if let Some(desired) = &desired {
            owners(&[desired, &other]).ok()?;
        }
        let others = other.entries().into_iter().collect();
        Some(Self {
            previous,
            desired,
            other,
            before,
            others,
        })
    }
}

/// Owners changing their configuration on a device another owner shares.
fn cases() -> impl Strategy<Value = Case> {
    (model(), proptest::option::of(model()), model())
        .prop_filter_map("the owners disagree", |(previous, desired, other)| {
            Case::of(&previous, desired.as_ref(), &other)
        })
}

/// The paths of the nodes `edit` removes.
fn removed(edit: &Edit) -> Vec<DataPath> {
    fn walk(children: &Children, path: &mut Vec<Ident>, out: &mut Vec<DataPath>) {
        for (ident, node) in children {
            path.push(ident.clone());
            if node.op == Some(Operation::Remove) {
                out.push(DataPath {
                    steps: path.clone(),
                });
            }
            walk(&node.children, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(&edit.tree.roots, &mut Vec::new(), &mut out);
    out
}

/// `restored` holds the same entries as `before`; every owner's configuration is there with
/// its values; entries nobody else holds are exactly as before.
fn assert_restored(
    before: &ConfigTree,
    restored: &ConfigTree,
    owners: &[&ConfigTree],
    shared: &BTreeSet<DataPath>,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(restored.entries(), before.entries());
    for owner in owners {
        let drift = compare(owner, restored);
        prop_assert!(drift.is_empty(), "{:?}", drift);
    }
    for entry in before.entries() {
        if !shared.contains(&entry) {
            prop_assert_eq!(restored.get(&entry), before.get(&entry), "{:?}", entry);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_compensation_restores_the_owner_and_spares_the_others(case in cases()) {
        let Case { previous, desired, other, before, others } = case;
        let edit = owner_edit(&previous, desired.as_ref(), &others);
        prop_assume!(edit.is_some());
        let edit = edit.unwrap();
        let undo = compensation(&previous, Known::Everything, &edit, &others).unwrap();
        if let Some(undo) = &undo {
            let ops = operations(undo);
            prop_assert!(ops.iter().all(|op| matches!(op, Operation::Merge | Operation::Remove | Operation::Replace)), "{:?}", ops);
        }
        let changed = apply(&before, Some(&edit));
        // The edit itself must spare the other owner (a diff to a configuration without a
        // container removes the container, whoever has entries in it): the compensation
        // cannot bring back what it never knew.
        prop_assume!(compare(&other, &changed).is_empty());
        let restored = apply(&changed, undo.as_ref());
        let shared = with_entry_ancestors(&others);
        assert_restored(&before, &restored, &[&previous, &other], &shared)?;
        if other.is_empty() {
            prop_assert_eq!(&restored.entries(), &previous.entries());
            for entry in previous.entries() {
                prop_assert_eq!(restored.get(&entry), previous.get(&entry));
            }
        }
        // Applying it twice, or where the edit never arrived, is harmless.
        prop_assert_eq!(&apply(&restored, undo.as_ref()), &restored);
        assert_restored(&before, &apply(&before, undo.as_ref()), &[&previous, &other], &shared)?;
    }

    #[test]
    fn without_the_record_the_compensation_only_removes_created_entries(case in cases()) {
        let Case { previous, desired, other, before, others } = case;
        let known = skeleton(&previous.entries());
        let edit = owner_edit(&known, desired.as_ref(), &others);
        prop_assume!(edit.is_some());
        let edit = edit.unwrap();
        let undo = compensation(&known, Known::EntriesOnly, &edit, &others).unwrap();
        // It only removes entries the edit created.
        if let Some(undo) = &undo {
            prop_assert!(operations(undo).iter().all(|op| *op == Operation::Remove));
            for path in removed(undo) {
                prop_assert!(path.steps.last().is_some_and(Ident::is_entry), "{:?}", path);
                prop_assert!(before.get(&path).is_none(), "{:?}", path);
            }
        }
        let changed = apply(&before, Some(&edit));
        prop_assume!(compare(&other, &changed).is_empty());
        let restored = apply(&changed, undo.as_ref());
        // Nothing the edit created is left, and the other owner is intact.
        let before_entries: BTreeSet<DataPath> = before.entries().into_iter().collect();
        prop_assert!(restored.entries().iter().all(|e| before_entries.contains(e)));
        prop_assert!(compare(&other, &restored).is_empty());
    }
}

proptest! {
    // Most pairs of generated owners touch one node in different ways and are not merged.
    #![proptest_config(ProptestConfig { cases: 200, max_global_rejects: 16384, ..ProptestConfig::default() })]

    #[test]
    fn merged_compensations_undo_merged_edits(
        p1 in model(),
        n1 in proptest::option::of(model()),
        p2 in model(),
        n2 in proptest::option::of(model()),
    ) {
        // Group commit: two owners planned against the same device state, their edits and
        // their compensations merged when compatible.
        let (p1, p2) = (parse(&p1), parse(&p2));
        let (n1, n2) = (n1.as_ref().map(parse), n2.as_ref().map(parse));
        let before = owners(&[&p1, &p2]);
        prop_assume!(before.is_ok());
        let before = before.unwrap();
        let wanted1 = n1.as_ref().unwrap_or(&p1);
        let wanted2 = n2.as_ref().unwrap_or(&p2);
        prop_assume!(
            owners(&[wanted1, wanted2]).is_ok()
                && owners(&[wanted1, &p2]).is_ok()
                && owners(&[&p1, wanted2]).is_ok()
        );
        let others1: BTreeSet<DataPath> = p2.entries().into_iter().collect();
        let others2: BTreeSet<DataPath> = p1.entries().into_iter().collect();
        let (edit, edit2) = (
            owner_edit(&p1, n1.as_ref(), &others1),
            owner_edit(&p2, n2.as_ref(), &others2),
        );
        prop_assume!(edit.is_some() && edit2.is_some());
        let (mut edit, edit2) = (edit.unwrap(), edit2.unwrap());
        let spares = |edit: &Edit, other: &ConfigTree| compare(other, &apply(&before, Some(edit))).is_empty();
        prop_assume!(spares(&edit, &p2) && spares(&edit2, &p1));
        let undo1 = compensation(&p1, Known::Everything, &edit, &others1).unwrap();
        let undo2 = compensation(&p2, Known::Everything, &edit2, &others2).unwrap();
        prop_assume!(merge_edits(&mut edit, &edit2));
        let undo = match (undo1, undo2) {
            (Some(mut a), Some(b)) => {
                prop_assume!(merge_edits(&mut a, &b));
                Some(a)
            }
            (a, b) => a.or(b),
        };
        let restored = apply(&apply(&before, Some(&edit)), undo.as_ref());
        // Each owner's entries hold its configuration again, and nothing else is left.
        prop_assert_eq!(restored.entries(), before.entries());
        prop_assert!(compare(&p1, &restored).is_empty());
        prop_assert!(compare(&p2, &restored).is_empty());
    }
}

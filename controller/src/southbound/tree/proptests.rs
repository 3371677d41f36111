//! Property tests of the tree operations over generated configurations: a keyed list with
//! leaves, a leaf-list, an identityref leaf written with varying prefixes and a nested keyed
//! list, plus a second top-level element. The generators serve other modules' property
//! tests of tree-based planning too.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;

const A: &str = "urn:a";
const B: &str = "urn:b";
const C: &str = "urn:c";
const TYPES: &str = "urn:types";

/// The schema of the generated configurations.
pub(crate) fn schema() -> ListSchema {
    let q = QName::new;
    let mut schema = ListSchema::from_lists([
        KeyedList {
            path: vec![q(A, "top"), q(A, "item")],
            keys: vec![q(A, "id")],
        },
        KeyedList {
            path: vec![q(A, "top"), q(A, "item"), q(B, "sub"), q(B, "addr")],
            keys: vec![q(B, "ip"), q(B, "port")],
        },
    ])
    .unwrap();
    schema
        .add_leaf_list(vec![q(A, "top"), q(A, "item"), q(A, "tag")])
        .unwrap();
    schema
}

#[derive(Debug, Clone)]
struct Item {
    desc: Option<&'static str>,
    mtu: Option<&'static str>,
    /// Identityref value: (prefix used, local name).
    kind: Option<(&'static str, &'static str)>,
    tags: BTreeSet<&'static str>,
    /// `sub` container: addresses keyed by (ip, port) with an optional length.
    sub: Option<BTreeMap<(&'static str, &'static str), Option<&'static str>>>,
}

/// A generated configuration, before rendering.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    top: Option<(BTreeMap<&'static str, Item>, Option<&'static str>)>,
    other: Option<Option<&'static str>>,
}

fn item() -> impl Strategy<Value = Item> {
    let pick =
        |values: &'static [&'static str]| proptest::option::of(proptest::sample::select(values));
    (
        pick(&["x", "y & z"]),
        pick(&["1500", "9000"]),
        proptest::option::of((
            proptest::sample::select(&["p", "q"][..]),
            proptest::sample::select(&["eth", "lag"][..]),
        )),
        proptest::collection::btree_set(proptest::sample::select(&["t1", "t2", "t3"][..]), 0..3),
        proptest::option::of(proptest::collection::btree_map(
            (
                proptest::sample::select(&["10.0.0.1", "10.0.0.2"][..]),
                proptest::sample::select(&["80", "443"][..]),
            ),
            pick(&["8", "16"]),
            0..3,
        )),
    )
        .prop_map(|(desc, mtu, kind, tags, sub)| Item {
            desc,
            mtu,
            kind,
            tags,
            sub,
        })
}

/// Arbitrary configurations of [`schema`].
pub(crate) fn model() -> impl Strategy<Value = Model> {
    (
        proptest::option::of((
            proptest::collection::btree_map(
                proptest::sample::select(&["a", "b", "c", "d'x"][..]),
                item(),
                0..4,
            ),
            proptest::option::of(proptest::sample::select(&["g1", "g2"][..])),
        )),
        proptest::option::of(proptest::option::of(proptest::sample::select(
            &["v1", "v2"][..],
        ))),
    )
        .prop_map(|(top, other)| Model { top, other })
}

/// Renders the model; `shuffle` reverses sibling order and `ws` adds indentation, neither of
/// which may change the tree.
fn render(model: &Model, shuffle: bool, ws: bool) -> String {
    let nl = if ws { "\n  " } else { "" };
    let ordered = |mut parts: Vec<String>| {
        if shuffle {
            parts.reverse();
        }
        parts.concat()
    };
    let mut roots = Vec::new();
    if let Some((items, global)) = &model.top {
        let mut parts = Vec::new();
        for (id, item) in items {
            let mut fields = vec![format!("{nl}<id>{}</id>", id.replace('\'', "&apos;"))];
            if let Some(desc) = item.desc {
                fields.push(format!("<desc>{}</desc>", desc.replace('&', "&amp;")));
            }
            if let Some(mtu) = item.mtu {
                fields.push(format!("<mtu> {mtu} </mtu>"));
            }
            if let Some((prefix, local)) = item.kind {
                fields.push(format!(
                    "<kind xmlns:{prefix}=\"{TYPES}\">{prefix}:{local}</kind>"
                ));
            }
            for tag in &item.tags {
                fields.push(format!("<tag>{tag}</tag>"));
            }
            if let Some(sub) = &item.sub {
                let addrs: Vec<String> = sub
                    .iter()
                    .map(|((ip, port), len)| {
                        let len = len.map_or(String::new(), |l| format!("<len>{l}</len>"));
                        format!("<addr><port>{port}</port>{len}<ip>{ip}</ip></addr>")
                    })
                    .collect();
                fields.push(format!("<sub xmlns=\"{B}\">{}</sub>", ordered(addrs)));
            }
            parts.push(format!("<item>{}</item>{nl}", ordered(fields)));
        }
        if let Some(global) = global {
            parts.push(format!("<global>{global}</global>"));
        }
        roots.push(format!("<top xmlns=\"{A}\">{nl}{}</top>", ordered(parts)));
    }
    if let Some(value) = &model.other {
        let inner = value.map_or(String::new(), |v| format!("<v>{v}</v>"));
        roots.push(format!("<other xmlns=\"{C}\">{inner}</other>"));
    }
    ordered(roots)
}

/// The config tree of a generated configuration.
pub(crate) fn parse(model: &Model) -> ConfigTree {
    ConfigTree::parse(&render(model, false, false), &schema()).unwrap()
}

/// The edit as a device reads it: written and parsed again.
pub(crate) fn edit_round_trip(edit: &Edit) -> Edit {
    Edit::parse(&edit.to_xml(), &schema()).unwrap()
}

const ALL_OPTIONS: [DiffOptions; 2] = [
    DiffOptions {
        new_entries: NewEntries::Create,
        removal: Removal::Remove,
    },
    DiffOptions {
        new_entries: NewEntries::Merge,
        removal: Removal::Delete,
    },
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn canonical_form_is_idempotent_and_layout_free(m in model(), shuffle in any::<bool>(), ws in any::<bool>()) {
        let tree = parse(&m);
        let layout = ConfigTree::parse(&render(&m, shuffle, ws), &schema()).unwrap();
        prop_assert_eq!(&layout, &tree);
        prop_assert_eq!(layout.digest(), tree.digest());
        let xml = tree.to_xml();
        let again = ConfigTree::parse(&xml, &schema()).unwrap();
        prop_assert_eq!(&again, &tree);
        prop_assert_eq!(again.to_xml(), xml);
        prop_assert_eq!(&ConfigTree::parse(&tree.to_xml_pretty(), &schema()).unwrap(), &tree);
    }

    #[test]
    fn diff_applied_to_previous_gives_desired(a in model(), b in model()) {
        let (a, b) = (parse(&a), parse(&b));
        for options in &ALL_OPTIONS {
            match diff_with(&a, &b, options) {
                None => prop_assert_eq!(&a, &b),
                Some(edit) => {
                    prop_assert_ne!(&a, &b);
                    let edit = edit_round_trip(&edit);
                    prop_assert_eq!(&apply_edit(&a, &edit, DefaultOperation::Merge).unwrap(), &b);
                    prop_assert_eq!(&apply_edit(&a, &edit, DefaultOperation::None).unwrap(), &b);
                }
            }
        }
        prop_assert!(diff(&a, &a).is_none());
    }

    #[test]
    fn reverse_after_apply_leaves_others_entries(a in model(), b in model()) {
        let (a, b) = (parse(&a), parse(&b));
        let fragments = [Fragment { owner: "a", tree: &a }, Fragment { owner: "b", tree: &b }];
        let Ok(state) = merge(&fragments, &PrefixMap::new()) else {
            return Ok(());
        };
        let others: BTreeSet<DataPath> = b.entries().into_iter().collect();
        let after = match reverse(&a, &others, Removal::Delete) {
            Some(edit) => apply_edit(&state, &edit_round_trip(&edit), DefaultOperation::Merge).unwrap(),
            None => state.clone(),
        };
        // Everything b owns is still there, unchanged.
        prop_assert!(compare(&b, &after).is_empty());
        // Every entry only a owned is gone.
        for entry in a.entries() {
            prop_assert_eq!(after.get(&entry).is_some(), others.contains(&entry));
        }
        // Remove-based reverse is idempotent: applying it twice is fine.
        if let Some(edit) = reverse(&a, &others, Removal::Remove) {
            let once = apply_edit(&state, &edit, DefaultOperation::Merge).unwrap();
            prop_assert_eq!(&apply_edit(&once, &edit, DefaultOperation::Merge).unwrap(), &once);
            prop_assert_eq!(&once, &after);
        }
    }

    #[test]
    fn merge_is_order_independent_without_conflicts(a in model(), b in model()) {
        let (a, b) = (parse(&a), parse(&b));
        let ab = merge(&[Fragment { owner: "a", tree: &a }, Fragment { owner: "b", tree: &b }], &PrefixMap::new());
        let ba = merge(&[Fragment { owner: "b", tree: &b }, Fragment { owner: "a", tree: &a }], &PrefixMap::new());
        match (ab, ba) {
            (Ok(ab), Ok(ba)) => {
                prop_assert_eq!(&ab, &ba);
                prop_assert!(compare(&a, &ab).is_empty());
                prop_assert!(compare(&b, &ab).is_empty());
            }
            (Err(MergeError::Conflict { .. }), Err(MergeError::Conflict { .. })) => {}
            (ab, ba) => prop_assert!(false, "merge order changed the outcome: {:?} / {:?}", ab, ba),
        }
    }

    #[test]
    fn repair_removes_all_drift(owned in model(), running in model()) {
        let (owned, running) = (parse(&owned), parse(&running));
        let drifts = compare(&owned, &running);
        match repair(&owned, &running) {
            None => prop_assert!(drifts.is_empty()),
            Some(edit) => {
                prop_assert!(!drifts.is_empty());
                let fixed = apply_edit(&running, &edit_round_trip(&edit), DefaultOperation::Merge).unwrap();
                prop_assert!(compare(&owned, &fixed).is_empty());
            }
        }
        prop_assert!(compare(&owned, &owned).is_empty());
    }

    #[test]
    fn prune_absent_keeps_edits_applicable(a in model(), b in model(), running in model()) {
        let (a, b, running) = (parse(&a), parse(&b), parse(&running));
        if let Some(edit) = diff_with(&a, &b, &ALL_OPTIONS[1]) {
            // Deletes of what `running` lacks would fail with data-missing; once pruned,
            // the merge-only edit applies to any device state.
            prop_assert!(apply_edit(&running, &edit, DefaultOperation::Merge).is_ok()
                || edit.tree.entries().iter().any(|e| running.get(e).is_none()));
            if let Some(pruned) = prune_absent(&edit, &running) {
                prop_assert!(apply_edit(&running, &pruned, DefaultOperation::Merge).is_ok());
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(input in "(<[a-z:]{0,4}( xmlns(:[a-z])?=\"urn:[a-c]\")?( nc:operation=\"[a-z]{0,6}\")?/?>|</[a-z:]{0,4}>|[a-z &;]{0,3}){0,30}") {
        let _ = ConfigTree::parse(&input, &schema());
        let _ = Edit::parse(&input, &schema());
        let _ = ConfigTree::parse_with(&input, &schema(), &crate::southbound::xml::XmlLimits::default(), ParseMode::Device);
    }
}

//! Generated configurations for property tests of the tree operations and of tree-based
//! planning: a keyed list with leaves, a leaf-list, an identityref leaf written with varying
//! prefixes and a nested keyed list, plus a second top-level element.

// Generators of test data: a value they cannot build is a bug in the generator.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;

const A: &str = "urn:a";
const B: &str = "urn:b";
const C: &str = "urn:c";
const TYPES: &str = "urn:types";

/// The schema of the generated configurations.
pub fn schema() -> ListSchema {
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
pub struct Model {
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
pub fn model() -> impl Strategy<Value = Model> {
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
pub(crate) fn render(model: &Model, shuffle: bool, ws: bool) -> String {
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
pub fn parse(model: &Model) -> ConfigTree {
    ConfigTree::parse(&render(model, false, false), &schema()).unwrap()
}

/// The edit as a device reads it: written and parsed again.
pub fn edit_round_trip(edit: &Edit) -> Edit {
    Edit::parse(&edit.to_xml(), &schema()).unwrap()
}

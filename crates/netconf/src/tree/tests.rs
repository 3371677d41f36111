//! Unit tests of the tree operations on IETF interfaces payloads.

use std::collections::BTreeSet;

use super::*;
use crate::reply::RpcReply;
use crate::xml::XmlLimits;

const IF: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";
const IP: &str = "urn:ietf:params:xml:ns:yang:ietf-ip";
const IANA: &str = "urn:ietf:params:xml:ns:yang:iana-if-type";

fn q(ns: &str, name: &str) -> QName {
    QName::new(ns, name)
}

fn schema() -> ListSchema {
    ListSchema::from_lists([
        KeyedList {
            path: vec![q(IF, "interfaces"), q(IF, "interface")],
            keys: vec![q(IF, "name")],
        },
        KeyedList {
            path: vec![
                q(IF, "interfaces"),
                q(IF, "interface"),
                q(IP, "ipv4"),
                q(IP, "address"),
            ],
            keys: vec![q(IP, "ip")],
        },
    ])
    .unwrap()
}

fn prefixes() -> PrefixMap {
    PrefixMap::from_pairs([("if", IF), ("ip", IP), ("ianaift", IANA)]).unwrap()
}

fn tree(xml: &str) -> ConfigTree {
    ConfigTree::parse(xml, &schema()).unwrap()
}

/// One interface, optionally with a description and an IPv4 address.
fn iface(name: &str, description: Option<&str>, address: Option<&str>) -> String {
    let description =
        description.map_or(String::new(), |d| format!("<description>{d}</description>"));
    let address = address.map_or(String::new(), |a| {
        format!(
            "<ipv4 xmlns=\"{IP}\"><address><ip>{a}</ip><prefix-length>24</prefix-length></address></ipv4>"
        )
    });
    format!(
        "<interface><name>{name}</name>{description}<type xmlns:ianaift=\"{IANA}\">ianaift:ethernetCsmacd</type>{address}</interface>"
    )
}

fn interfaces(entries: &[String]) -> ConfigTree {
    tree(&format!(
        "<interfaces xmlns=\"{IF}\">{}</interfaces>",
        entries.concat()
    ))
}

fn owned(paths: &[&str]) -> BTreeSet<DataPath> {
    paths
        .iter()
        .map(|p| DataPath::parse(p, &prefixes()).unwrap())
        .collect()
}

fn apply(state: &ConfigTree, edit: &Edit) -> ConfigTree {
    apply_edit(state, edit, DefaultOperation::Merge).unwrap()
}

#[test]
fn canonical_form_ignores_order_whitespace_and_prefixes() {
    let a = tree(&format!(
        "<interfaces xmlns=\"{IF}\">{}{}</interfaces>",
        iface("ge-0/0/2", Some("b"), None),
        iface("ge-0/0/1", Some("a"), Some("192.0.2.1"))
    ));
    let b = tree(&format!(
        r#"
        <if:interfaces xmlns:if="{IF}" xmlns:t="{IANA}">
          <if:interface>
            <if:type>t:ethernetCsmacd</if:type>
            <if:name> ge-0/0/1 </if:name>
            <ipv4 xmlns="{IP}"><address><prefix-length>24</prefix-length><ip>192.0.2.1</ip></address></ipv4>
            <if:description>a</if:description>
          </if:interface>
          <if:interface><if:name>ge-0/0/2</if:name><if:description>b</if:description>
            <if:type>t:ethernetCsmacd</if:type></if:interface>
        </if:interfaces>"#
    ));
    assert_eq!(a, b);
    assert_eq!(a.digest(), b.digest());
    assert_eq!(a.digest().len(), 64);
    assert_ne!(
        a.digest(),
        interfaces(&[iface("ge-0/0/2", Some("b"), None)]).digest()
    );
    // Keys first, namespaces declared where they change, value prefixes on their leaf.
    let xml = interfaces(&[iface("x", Some("d"), Some("192.0.2.9"))]).to_xml();
    assert_eq!(
        xml,
        format!(
            "<interfaces xmlns=\"{IF}\"><interface><name>x</name><description>d</description><type xmlns:ianaift=\"{IANA}\">ianaift:ethernetCsmacd</type><ipv4 xmlns=\"{IP}\"><address><ip>192.0.2.9</ip><prefix-length>24</prefix-length></address></ipv4></interface></interfaces>"
        )
    );
    assert_eq!(tree(&xml).to_xml(), xml);
    assert_eq!(tree(&a.to_xml_pretty()), a);
}

#[test]
fn parse_errors_name_the_place() {
    let schema = schema();
    let duplicate = "<system xmlns=\"urn:s\"><ntp/><ntp/></system>";
    assert!(matches!(
        ConfigTree::parse(duplicate, &schema),
        Err(TreeError::Duplicate { path }) if path == "/system/ntp"
    ));
    let no_key = format!(
        "<interfaces xmlns=\"{IF}\"><interface><description>x</description></interface></interfaces>"
    );
    assert!(matches!(
        ConfigTree::parse(&no_key, &schema),
        Err(TreeError::MissingKey { key, .. }) if key == "name"
    ));
    let same_key = format!(
        "<interfaces xmlns=\"{IF}\">{}{}</interfaces>",
        iface("a", None, None),
        iface("a", Some("x"), None)
    );
    assert!(matches!(
        ConfigTree::parse(&same_key, &schema),
        Err(TreeError::Duplicate { .. })
    ));
    let mixed = format!("<interfaces xmlns=\"{IF}\">text<interface/></interfaces>");
    assert!(matches!(
        ConfigTree::parse(&mixed, &schema),
        Err(TreeError::MixedContent { .. })
    ));
    let bad_op = format!(
        "<interfaces xmlns=\"{IF}\" xmlns:nc=\"urn:ietf:params:xml:ns:netconf:base:1.0\" nc:operation=\"erase\"/>"
    );
    assert!(matches!(
        Edit::parse(&bad_op, &schema),
        Err(TreeError::BadOperation { .. })
    ));
    // A config ignores operations; the device mode keeps undeclared repeats by position.
    assert!(ConfigTree::parse(&bad_op, &schema).is_ok());
    let device =
        ConfigTree::parse_with(duplicate, &schema, &XmlLimits::default(), ParseMode::Device)
            .unwrap();
    let system = device.roots.values().next().unwrap();
    assert_eq!(system.children.len(), 2);
    assert!(
        system
            .children
            .keys()
            .all(|k| matches!(k.key, Key::Position(_)))
    );
}

#[test]
fn entries_are_instance_identifiers() {
    let t = interfaces(&[iface("ge-0/0/1.1203", None, Some("192.0.2.1"))]);
    let listed: Vec<String> = entries(&t).iter().map(|p| p.format(&prefixes())).collect();
    assert_eq!(
        listed,
        [
            "/if:interfaces/if:interface[if:name='ge-0/0/1.1203']",
            "/if:interfaces/if:interface[if:name='ge-0/0/1.1203']/ip:ipv4/ip:address[ip:ip='192.0.2.1']",
        ]
    );
    for (path, text) in entries(&t).iter().zip(&listed) {
        assert_eq!(&DataPath::parse(text, &prefixes()).unwrap(), path);
        assert!(t.get(path).is_some());
    }
}

#[test]
fn merge_joins_owners_and_reports_conflicts() {
    let a = interfaces(&[
        iface("ge-0/0/1", Some("uplink"), None),
        iface("ge-0/0/1.10", None, None),
    ]);
    let b = interfaces(&[
        iface("ge-0/0/1", None, Some("192.0.2.1")),
        iface("ge-0/0/1.20", None, None),
    ]);
    let merged = merge(
        &[
            Fragment {
                owner: "sub-a",
                tree: &a,
            },
            Fragment {
                owner: "sub-b",
                tree: &b,
            },
        ],
        &prefixes(),
    )
    .unwrap();
    assert_eq!(entries(&merged).len(), 4);
    let shared = merged
        .get(
            &owned(&["/if:interfaces/if:interface[if:name='ge-0/0/1']"])
                .pop_first()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(shared.children.len(), 4, "name, description, type, ipv4");

    let c = interfaces(&[iface("ge-0/0/1", Some("other"), None)]);
    let err = merge(
        &[
            Fragment {
                owner: "sub-a",
                tree: &a,
            },
            Fragment {
                owner: "sub-b",
                tree: &b,
            },
            Fragment {
                owner: "sub-c",
                tree: &c,
            },
        ],
        &prefixes(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "conflicting configuration at /if:interfaces/if:interface[if:name='ge-0/0/1']/if:description: 'uplink' wanted by sub-a, 'other' wanted by sub-c"
    );
}

#[test]
fn diff_writes_minimal_edits() {
    let before = interfaces(&[
        iface("a", Some("old"), Some("192.0.2.1")),
        iface("b", None, None),
    ]);
    let after = interfaces(&[iface("a", Some("new"), None), iface("c", None, None)]);
    assert!(diff(&before, &before).is_none());
    let edit = diff(&before, &after).unwrap();
    let nc = "xmlns:nc=\"urn:ietf:params:xml:ns:netconf:base:1.0\"";
    assert_eq!(
        edit.to_xml(),
        format!(
            "<interfaces xmlns=\"{IF}\" {nc}>\
             <interface><name>a</name><description nc:operation=\"merge\">new</description>\
             <ipv4 xmlns=\"{IP}\" nc:operation=\"remove\"/></interface>\
             <interface nc:operation=\"remove\"><name>b</name></interface>\
             <interface nc:operation=\"create\"><name>c</name><type xmlns:ianaift=\"{IANA}\">ianaift:ethernetCsmacd</type></interface>\
             </interfaces>"
        )
    );
    assert_eq!(apply(&before, &edit), after);
    assert_eq!(
        apply_edit(&before, &edit, DefaultOperation::None).unwrap(),
        after
    );
    assert_eq!(Edit::parse(&edit.to_xml(), &schema()).unwrap(), edit);

    let strict = diff_with(
        &before,
        &after,
        &DiffOptions {
            new_entries: NewEntries::Merge,
            removal: Removal::Delete,
        },
    )
    .unwrap()
    .to_xml();
    assert!(strict.contains("<interface nc:operation=\"delete\"><name>b</name></interface>"));
    assert!(strict.contains("<interface nc:operation=\"merge\"><name>c</name>"));

    // A removed leaf and a leaf turned empty.
    let bare = interfaces(&[iface("a", None, Some("192.0.2.1")), iface("b", None, None)]);
    let edit = diff(&before, &bare).unwrap();
    assert!(
        edit.to_xml()
            .contains("<description nc:operation=\"remove\"/>")
    );
    assert_eq!(apply(&before, &edit), bare);
}

#[test]
fn apply_follows_rfc6241() {
    let schema = schema();
    let state = interfaces(&[iface("a", Some("d"), None)]);
    let nc = "xmlns:nc=\"urn:ietf:params:xml:ns:netconf:base:1.0\"";
    let edit = |body: &str| {
        Edit::parse(
            &format!("<interfaces xmlns=\"{IF}\" {nc}>{body}</interfaces>"),
            &schema,
        )
        .unwrap()
    };

    let err = apply_edit(
        &state,
        &edit("<interface nc:operation=\"create\"><name>a</name></interface>"),
        DefaultOperation::Merge,
    )
    .unwrap_err();
    assert_eq!(err.tag, EditErrorTag::DataExists);
    let rpc_error = err.to_rpc_error(&prefixes());
    assert_eq!(
        rpc_error.error_path.as_deref(),
        Some("/if:interfaces/if:interface[if:name='a']")
    );
    assert_eq!(rpc_error.error_tag.as_str(), "data-exists");

    let missing = edit("<interface nc:operation=\"delete\"><name>zz</name></interface>");
    assert_eq!(
        apply_edit(&state, &missing, DefaultOperation::Merge)
            .unwrap_err()
            .tag,
        EditErrorTag::DataMissing
    );
    let remove = edit("<interface nc:operation=\"remove\"><name>zz</name></interface>");
    assert_eq!(apply(&state, &remove), state);
    // Removing below a missing container creates nothing.
    assert_eq!(apply(&ConfigTree::new(), &remove), ConfigTree::new());

    // default-operation none: a plain leaf changes nothing, a missing level is data-missing.
    let plain = edit("<interface><name>a</name><description>changed</description></interface>");
    assert_eq!(
        apply_edit(&state, &plain, DefaultOperation::None).unwrap(),
        state
    );
    let new = edit("<interface><name>new</name><description>x</description></interface>");
    assert_eq!(
        apply_edit(&state, &new, DefaultOperation::None)
            .unwrap_err()
            .tag,
        EditErrorTag::DataMissing
    );
    assert_eq!(entries(&apply(&state, &new)).len(), 2);

    // replace swaps the whole entry; merge keeps what it does not mention.
    let replace = edit(
        "<interface nc:operation=\"replace\"><name>a</name><enabled>false</enabled></interface>",
    );
    let replaced = apply(&state, &replace);
    let entry = replaced.entries().pop().unwrap();
    assert_eq!(replaced.get(&entry).unwrap().children.len(), 2);
    assert_eq!(apply(&state, &plain).get(&entry).unwrap().children.len(), 3);

    // Keys cannot be removed.
    let key_removal = edit("<interface><name nc:operation=\"delete\">a</name></interface>");
    assert_eq!(
        apply_edit(&state, &key_removal, DefaultOperation::Merge)
            .unwrap_err()
            .tag,
        EditErrorTag::BadAttribute
    );
    // A failed edit leaves the input untouched (the result is a new tree).
    assert_eq!(state, interfaces(&[iface("a", Some("d"), None)]));
}

#[test]
fn reverse_keeps_what_others_own() {
    // sub-a created the parent interface and .10 with an address; sub-b shares the parent.
    let a = interfaces(&[
        iface("ge-0/0/1", None, None),
        iface("ge-0/0/1.10", None, Some("192.0.2.1")),
    ]);
    let b = interfaces(&[
        iface("ge-0/0/1", None, None),
        iface("ge-0/0/1.20", None, None),
    ]);
    let state = merge(
        &[
            Fragment {
                owner: "a",
                tree: &a,
            },
            Fragment {
                owner: "b",
                tree: &b,
            },
        ],
        &prefixes(),
    )
    .unwrap();
    let others: BTreeSet<DataPath> = entries(&b).into_iter().collect();
    let edit = reverse(&a, &others, Removal::Remove).unwrap();
    assert_eq!(
        edit.to_xml(),
        format!(
            "<interfaces xmlns=\"{IF}\" xmlns:nc=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><interface nc:operation=\"remove\"><name>ge-0/0/1.10</name></interface></interfaces>"
        )
    );
    let after = apply(&state, &edit);
    assert_eq!(after, b);
    assert!(compare(&b, &after).is_empty());
    // The last owner removes everything it created.
    let last = reverse(&b, &BTreeSet::new(), Removal::Delete).unwrap();
    assert_eq!(
        apply(&after, &last),
        tree(&format!("<interfaces xmlns=\"{IF}\"/>"))
    );
    // An entry only others hold below a kept entry: the address is removed, the entry stays.
    let others = owned(&["/if:interfaces/if:interface[if:name='ge-0/0/1.10']"]);
    let edit = reverse(&a, &others, Removal::Remove).unwrap();
    let xml = edit.to_xml();
    assert!(
        xml.contains("<interface><name>ge-0/0/1.10</name><ipv4 xmlns"),
        "{xml}"
    );
    assert!(
        xml.contains("<address nc:operation=\"remove\"><ip>192.0.2.1</ip></address>"),
        "{xml}"
    );
    assert!(reverse(&a, &entries(&a).into_iter().collect(), Removal::Remove).is_none());
}

#[test]
fn prune_absent_drops_removals_of_missing_entries() {
    let applied = interfaces(&[iface("a", None, None), iface("b", None, None)]);
    let edit = reverse(&applied, &BTreeSet::new(), Removal::Remove).unwrap();
    let running = interfaces(&[iface("a", None, None)]);
    let pruned = prune_absent(&edit, &running).unwrap();
    assert_eq!(pruned.tree.entries().len(), 1);
    assert!(prune_absent(&edit, &ConfigTree::new()).is_none());
}

#[test]
fn drift_against_real_netconfd_data() {
    // What netconfd returned for get-config after the README's create payload.
    let reply = RpcReply::parse(
        include_bytes!("../testdata/netconfd-get-config.xml"),
        &XmlLimits::default(),
    )
    .unwrap();
    let running = ConfigTree::from_elements(
        reply.data.as_deref().unwrap(),
        &schema(),
        &XmlLimits::default(),
        ParseMode::Device,
    )
    .unwrap();
    let mut owned_iface = iface("ge-0/0/1", Some("a &amp; b"), Some("192.0.2.1"));
    owned_iface = owned_iface.replace("<type", "<enabled>true</enabled><type");
    // The template writes the identity with another prefix: still no drift.
    let owned_tree = tree(&format!(
        "<interfaces xmlns=\"{IF}\" xmlns:x=\"{IANA}\">{}</interfaces>",
        owned_iface.replace(&format!("xmlns:ianaift=\"{IANA}\">ianaift:"), ">x:")
    ));
    assert!(
        compare(&owned_tree, &running).is_empty(),
        "{:?}",
        compare(&owned_tree, &running)
    );
    assert!(repair(&owned_tree, &running).is_none());

    let wanted = interfaces(&[
        iface("ge-0/0/1", Some("changed"), Some("192.0.2.1")),
        iface("ge-0/0/9", None, None),
    ]);
    let drifts: Vec<String> = compare(&wanted, &running)
        .iter()
        .map(|d| d.describe(&prefixes()))
        .collect();
    assert_eq!(
        drifts,
        [
            "/if:interfaces/if:interface[if:name='ge-0/0/1']/if:description is 'a & b', expected 'changed'",
            "missing /if:interfaces/if:interface[if:name='ge-0/0/9']",
        ]
    );
    let fix = repair(&wanted, &running).unwrap();
    let repaired = apply(&running, &fix);
    assert!(compare(&wanted, &repaired).is_empty());
    // Unowned configuration on the device stays.
    assert!(repaired.roots.keys().any(|k| k.name.name == "nacm"));
}

#[test]
fn a_long_list_in_any_order_parses_to_the_same_tree() {
    let schema = schema();
    let names: Vec<String> = (0..2000).map(|i| format!("ge-0/0/{i}")).collect();
    let ascending: String = names.iter().map(|n| iface(n, None, None)).collect();
    let descending: String = names.iter().rev().map(|n| iface(n, None, None)).collect();
    let a = tree(&format!(
        "<interfaces xmlns=\"{IF}\">{ascending}</interfaces>"
    ));
    let d = tree(&format!(
        "<interfaces xmlns=\"{IF}\">{descending}</interfaces>"
    ));
    assert_eq!(a, d);
    assert_eq!(a.entries().len(), 2000);
    // Device mode keeps the first of two entries with the same key.
    let twice = format!(
        "<interfaces xmlns=\"{IF}\">{}{}</interfaces>",
        iface("a", Some("first"), None),
        iface("a", Some("second"), None)
    );
    let device =
        ConfigTree::parse_with(&twice, &schema, &XmlLimits::default(), ParseMode::Device).unwrap();
    assert!(device.to_xml().contains("first") && !device.to_xml().contains("second"));
}

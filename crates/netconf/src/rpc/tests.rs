use super::*;
use crate::xml::{Element, parse_document};

const NS: &str = NETCONF_BASE_NS;

fn build(rpc: &Rpc) -> Element {
    let xml = rpc.to_xml("7").unwrap();
    let root = parse_document(&xml, &XmlLimits::default()).unwrap();
    assert!(root.is(NS, "rpc"));
    assert_eq!(root.attribute("", "message-id"), Some("7"));
    assert_eq!(root.children.len(), 1);
    root.children.into_iter().next().unwrap()
}

fn names(element: &Element) -> Vec<&str> {
    element.children.iter().map(|c| c.name.as_str()).collect()
}

#[test]
fn simple_operations() {
    for (rpc, name) in [
        (Rpc::DiscardChanges, "discard-changes"),
        (Rpc::CloseSession, "close-session"),
        (Rpc::CancelCommit { persist_id: None }, "cancel-commit"),
        (Rpc::Commit(Commit::plain()), "commit"),
        (Rpc::Get { filter: None }, "get"),
    ] {
        let op = build(&rpc);
        assert!(op.is(NS, name));
        assert!(op.children.is_empty());
    }
    let lock = build(&Rpc::Lock {
        target: Datastore::Candidate,
    });
    assert!(
        lock.child(NS, "target")
            .unwrap()
            .child(NS, "candidate")
            .is_some()
    );
    let unlock = build(&Rpc::Unlock {
        target: Datastore::Running,
    });
    assert!(unlock.is(NS, "unlock"));
    assert!(
        unlock
            .child(NS, "target")
            .unwrap()
            .child(NS, "running")
            .is_some()
    );
    let validate = build(&Rpc::Validate {
        source: Datastore::Candidate,
    });
    assert!(
        validate
            .child(NS, "source")
            .unwrap()
            .child(NS, "candidate")
            .is_some()
    );
    let kill = build(&Rpc::KillSession { session_id: 42 });
    assert_eq!(kill.child_text(NS, "session-id"), Some("42"));
    assert!(Rpc::KillSession { session_id: 0 }.to_xml("1").is_err());
}

#[test]
fn get_config_with_subtree_filter() {
    let op = build(&Rpc::GetConfig {
        source: Datastore::Running,
        filter: Some(Filter::Subtree(
            r#"<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"/>"#.into(),
        )),
    });
    assert_eq!(names(&op), ["source", "filter"]);
    let filter = op.child(NS, "filter").unwrap();
    assert_eq!(filter.attribute("", "type"), Some("subtree"));
    assert!(filter.children[0].is("urn:ietf:params:xml:ns:yang:ietf-interfaces", "interfaces"));

    let get = build(&Rpc::Get {
        filter: Some(Filter::XPath {
            select: "/if:interfaces/if:interface[if:name='a&b']".into(),
            namespaces: vec![("if".into(), "urn:if".into())],
        }),
    });
    let filter = get.child(NS, "filter").unwrap();
    assert_eq!(
        filter.attribute("", "select"),
        Some("/if:interfaces/if:interface[if:name='a&b']")
    );
    assert!(
        Rpc::Get {
            filter: Some(Filter::Subtree("<a>".into()))
        }
        .to_xml("1")
        .is_err()
    );
}

#[test]
fn edit_config_with_every_option_in_schema_order() {
    let op = build(&Rpc::EditConfig(EditConfig {
        target: Datastore::Candidate,
        config: r#"<interfaces xmlns="urn:if"><interface><name>a</name></interface></interfaces><system xmlns="urn:sys"/>"#.into(),
        default_operation: Some(DefaultOperation::None),
        test_option: Some(TestOption::TestThenSet),
        error_option: Some(ErrorOption::RollbackOnError),
    }));
    assert_eq!(
        names(&op),
        [
            "target",
            "default-operation",
            "test-option",
            "error-option",
            "config"
        ]
    );
    assert_eq!(op.child_text(NS, "default-operation"), Some("none"));
    assert_eq!(op.child_text(NS, "test-option"), Some("test-then-set"));
    assert_eq!(op.child_text(NS, "error-option"), Some("rollback-on-error"));
    let config = op.child(NS, "config").unwrap();
    assert_eq!(config.children.len(), 2);
    assert!(config.children[0].is("urn:if", "interfaces"));
}

#[test]
fn edit_config_refuses_payloads_that_could_break_out() {
    let edit = |config: &str| {
        Rpc::EditConfig(EditConfig {
            target: Datastore::Running,
            config: config.into(),
            default_operation: None,
            test_option: None,
            error_option: None,
        })
        .to_xml("1")
    };
    assert!(matches!(
        edit("</config></edit-config><kill-session/>"),
        Err(RpcBuildError::InvalidXml { .. })
    ));
    assert!(matches!(
        edit("<?xml version=\"1.0\"?><a xmlns=\"urn:a\"/>"),
        Err(RpcBuildError::InvalidXml { .. })
    ));
    assert!(matches!(
        edit("<interfaces/>"),
        Err(RpcBuildError::ConfigWithoutNamespace { .. })
    ));
    assert!(matches!(
        edit(r#"<!DOCTYPE a [<!ENTITY x "y">]><a xmlns="urn:a">&x;</a>"#),
        Err(RpcBuildError::InvalidXml { .. })
    ));
    // Payloads are self-contained: the `nc` prefix of an operation must be declared in them.
    assert!(matches!(
        edit(r#"<a xmlns="urn:a"><b nc:operation="delete"/></a>"#),
        Err(RpcBuildError::InvalidXml { .. })
    ));
    let nc = r#"<a xmlns="urn:a" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"><b nc:operation="delete"/></a>"#;
    assert!(edit(nc).is_ok());
    assert!(matches!(
        edit("  "),
        Err(RpcBuildError::ConfigWithoutNamespace { .. })
    ));
}

#[test]
fn commit_variants() {
    let confirmed = build(&Rpc::Commit(Commit::confirmed(
        120,
        Some("txn-<1>&\"x\"".into()),
    )));
    assert_eq!(
        names(&confirmed),
        ["confirmed", "confirm-timeout", "persist"]
    );
    assert_eq!(confirmed.child_text(NS, "confirm-timeout"), Some("120"));
    assert_eq!(confirmed.child_text(NS, "persist"), Some("txn-<1>&\"x\""));

    let confirm = build(&Rpc::Commit(Commit::confirm("txn-1")));
    assert_eq!(names(&confirm), ["persist-id"]);

    let cancel = build(&Rpc::CancelCommit {
        persist_id: Some("txn-1".into()),
    });
    assert_eq!(cancel.child_text(NS, "persist-id"), Some("txn-1"));

    let extend = Commit {
        persist_id: Some("t".into()),
        ..Commit::confirmed(30, None)
    };
    assert_eq!(
        names(&build(&Rpc::Commit(extend))),
        ["confirmed", "confirm-timeout", "persist-id"]
    );

    for bad in [
        Commit {
            confirm_timeout: Some(5),
            ..Commit::plain()
        },
        Commit {
            persist: Some("p".into()),
            ..Commit::plain()
        },
        Commit::confirmed(0, None),
    ] {
        assert!(matches!(
            Rpc::Commit(bad).to_xml("1"),
            Err(RpcBuildError::InvalidParameters(_))
        ));
    }
    assert!(matches!(
        Rpc::Commit(Commit::confirm("a\u{7}")).to_xml("1"),
        Err(RpcBuildError::InvalidChar {
            field: "persist-id",
            ..
        })
    ));
}

#[test]
fn message_ids_are_escaped_and_counted() {
    let xml = Rpc::CloseSession.to_xml("a\"b<c").unwrap();
    let root = parse_document(&xml, &XmlLimits::default()).unwrap();
    assert_eq!(root.attribute("", "message-id"), Some("a\"b<c"));
    let mut ids = MessageIds::new();
    assert_eq!(ids.next_id(), "1");
    assert_eq!(ids.next_id(), "2");
}

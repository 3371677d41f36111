//! The network simulator over real SSH on loopback: hello and capabilities, datastores,
//! confirmed commit, locks, rpc-errors, logins and fault control.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrule::netsim::{self, CommitRejection, Netsim, Topology};
use support::nc::{Login, Nc, between, edit, get_config, subif};

const IF_STATE: &str = "<get><filter type=\"subtree\"><interfaces-state xmlns=\"urn:ietf:params:xml:ns:yang:ietf-interfaces\"/></filter></get>";

async fn sim(yaml: &str) -> Netsim {
    netsim::start(Topology::from_yaml(yaml).unwrap())
        .await
        .unwrap()
}

async fn one_device() -> Netsim {
    sim("devices:\n  - {name: r1, listen: '127.0.0.1:0', ports: [ge-0/0/1, ge-0/0/2]}\n").await
}

#[tokio::test]
async fn hello_capabilities_and_framing() {
    let net = sim("devices:\n  - {name: c1, listen: '127.0.0.1:0'}\n  - {name: r1, listen: '127.0.0.1:0', datastore: running}\n").await;
    let mut c = Nc::connect(net.addr("c1").unwrap()).await.unwrap();
    assert!(c.session_id > 0);
    assert!(c.chunked(), "base:1.1 on both sides gives chunked framing");
    for cap in [
        "urn:ietf:params:netconf:base:1.0",
        "urn:ietf:params:netconf:base:1.1",
        "urn:ietf:params:netconf:capability:candidate:1.0",
        "urn:ietf:params:netconf:capability:confirmed-commit:1.1",
        "urn:ietf:params:netconf:capability:validate:1.1",
        "urn:ietf:params:netconf:capability:rollback-on-error:1.0",
        "urn:ietf:params:xml:ns:yang:ietf-interfaces?module=ietf-interfaces",
    ] {
        assert!(c.hello.contains(cap), "{cap} missing from {}", c.hello);
    }
    assert!(!c.hello.contains("writable-running"));
    c.rpc("<get-config><source><running/></source></get-config>")
        .await
        .unwrap();
    let second = Nc::connect(net.addr("c1").unwrap()).await.unwrap();
    assert_ne!(second.session_id, c.session_id);
    c.close().await.unwrap();

    let mut r = Nc::connect_with(net.addr("r1").unwrap(), &Login::admin(), None, false)
        .await
        .unwrap();
    assert!(
        !r.chunked(),
        "a base:1.0 client keeps end-of-message framing"
    );
    assert!(r.hello.contains("writable-running") && !r.hello.contains("capability:candidate"));
    r.ok(&edit("running", &subif("ge-0/0/1.5", 10, 10)))
        .await
        .unwrap();
    assert!(
        r.rpc(&get_config("running"))
            .await
            .unwrap()
            .contains("ge-0/0/1.5")
    );
    net.shutdown().await;
}

#[tokio::test]
async fn edit_get_config_commit_and_state() {
    let net = one_device().await;
    let mut c = Nc::connect(net.addr("r1").unwrap()).await.unwrap();
    c.ok("<lock><target><candidate/></target></lock>")
        .await
        .unwrap();
    c.ok(&edit("candidate", &subif("ge-0/0/1.100", 500, 100)))
        .await
        .unwrap();
    assert!(
        c.rpc(&get_config("candidate"))
            .await
            .unwrap()
            .contains("ge-0/0/1.100")
    );
    assert!(
        !c.rpc(&get_config("running"))
            .await
            .unwrap()
            .contains("ge-0/0/1.100")
    );
    c.ok("<validate><source><candidate/></source></validate>")
        .await
        .unwrap();
    c.ok("<commit/>").await.unwrap();
    c.ok("<unlock><target><candidate/></target></unlock>")
        .await
        .unwrap();
    let running = c.rpc(&get_config("running")).await.unwrap();
    assert!(
        running.contains("<description>cust c sub s 500/100 Mbps</description>"),
        "{running}"
    );
    let filtered = c
        .rpc("<get-config><source><running/></source><filter type=\"subtree\"><interfaces xmlns=\"urn:ietf:params:xml:ns:yang:ietf-interfaces\"><interface><name>nope</name></interface></interfaces></filter></get-config>")
        .await
        .unwrap();
    assert!(!filtered.contains("ge-0/0/1.100"), "{filtered}");
    let state = c.rpc(IF_STATE).await.unwrap();
    assert!(
        state.contains("<name>ge-0/0/1.100</name><oper-status>up</oper-status>"),
        "{state}"
    );
    assert!(state.contains("<name>ge-0/0/2</name>"), "{state}");
    assert_eq!(
        net.control()
            .running_config("r1")
            .unwrap()
            .matches("ge-0/0/1.100")
            .count(),
        1
    );
    c.ok("<copy-config><target><candidate/></target><source><running/></source></copy-config>")
        .await
        .unwrap();
    c.ok(&edit("candidate", "<interfaces xmlns=\"urn:ietf:params:xml:ns:yang:ietf-interfaces\" xmlns:nc=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><interface nc:operation=\"delete\"><name>ge-0/0/1.100</name></interface></interfaces>")).await.unwrap();
    c.ok("<discard-changes/>").await.unwrap();
    assert!(
        c.rpc(&get_config("candidate"))
            .await
            .unwrap()
            .contains("ge-0/0/1.100")
    );
    c.close().await.unwrap();
    net.shutdown().await;
}

#[tokio::test]
async fn confirmed_commit_times_out_and_persist_survives_the_session() {
    let net = one_device().await;
    let addr = net.addr("r1").unwrap();
    let mut c = Nc::connect(addr).await.unwrap();
    c.ok(&edit("candidate", &subif("ge-0/0/1.1", 10, 10)))
        .await
        .unwrap();
    c.ok("<commit><confirmed/><confirm-timeout>1</confirm-timeout></commit>")
        .await
        .unwrap();
    assert!(
        c.rpc(&get_config("running"))
            .await
            .unwrap()
            .contains("ge-0/0/1.1")
    );
    // Rolled back once the 1 s timeout passes: poll, with a deadline, until it is.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let running = c.rpc(&get_config("running")).await.unwrap();
        if !running.contains("ge-0/0/1.1") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not rolled back after the timeout: {running}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!net.control().status("r1").unwrap().confirm_pending);
    assert!(
        !c.rpc(&get_config("candidate"))
            .await
            .unwrap()
            .contains("ge-0/0/1.1")
    );

    // Without persist, closing the session rolls back at once.
    c.ok(&edit("candidate", &subif("ge-0/0/1.2", 10, 10)))
        .await
        .unwrap();
    c.ok("<commit><confirmed/><confirm-timeout>60</confirm-timeout></commit>")
        .await
        .unwrap();
    c.close().await.unwrap();
    let mut d = Nc::connect(addr).await.unwrap();
    assert!(
        !d.rpc(&get_config("running"))
            .await
            .unwrap()
            .contains("ge-0/0/1.2")
    );

    // With persist, it survives and another session confirms it with the persist-id.
    d.ok(&edit("candidate", &subif("ge-0/0/1.3", 10, 10)))
        .await
        .unwrap();
    d.ok(
        "<commit><confirmed/><confirm-timeout>60</confirm-timeout><persist>tx-9</persist></commit>",
    )
    .await
    .unwrap();
    d.close().await.unwrap();
    let mut e = Nc::connect(addr).await.unwrap();
    assert!(
        e.rpc(&get_config("running"))
            .await
            .unwrap()
            .contains("ge-0/0/1.3")
    );
    let wrong = e
        .rpc("<commit><persist-id>tx-0</persist-id></commit>")
        .await
        .unwrap();
    assert!(
        wrong.contains("<error-tag>invalid-value</error-tag>"),
        "{wrong}"
    );
    e.ok("<commit><persist-id>tx-9</persist-id></commit>")
        .await
        .unwrap();
    assert!(!net.control().status("r1").unwrap().confirm_pending);

    // cancel-commit rolls back a persisted confirmed commit.
    e.ok(&edit("candidate", &subif("ge-0/0/1.4", 10, 10)))
        .await
        .unwrap();
    e.ok("<commit><confirmed/><persist>tx-10</persist></commit>")
        .await
        .unwrap();
    e.ok("<cancel-commit><persist-id>tx-10</persist-id></cancel-commit>")
        .await
        .unwrap();
    let running = e.rpc(&get_config("running")).await.unwrap();
    assert!(
        running.contains("ge-0/0/1.3") && !running.contains("ge-0/0/1.4"),
        "{running}"
    );
    net.shutdown().await;
}

#[tokio::test]
async fn second_session_gets_lock_denied_with_the_holder() {
    let net = one_device().await;
    let addr = net.addr("r1").unwrap();
    let mut a = Nc::connect(addr).await.unwrap();
    let mut b = Nc::connect(addr).await.unwrap();
    a.ok("<lock><target><candidate/></target></lock>")
        .await
        .unwrap();
    let denied = b
        .rpc("<lock><target><candidate/></target></lock>")
        .await
        .unwrap();
    assert!(
        denied.contains("<error-tag>lock-denied</error-tag>"),
        "{denied}"
    );
    assert!(
        denied.contains(&format!("<session-id>{}</session-id>", a.session_id)),
        "{denied}"
    );
    let in_use = b
        .rpc(&edit("candidate", &subif("x.1", 1, 1)))
        .await
        .unwrap();
    assert!(in_use.contains("<error-tag>in-use</error-tag>"), "{in_use}");
    assert_eq!(
        net.control().status("r1").unwrap().locks["candidate"],
        a.session_id
    );
    // The lock goes with its session, even one that just disappears.
    drop(a);
    let deadline = Instant::now() + Duration::from_secs(5);
    while net
        .control()
        .status("r1")
        .unwrap()
        .locks
        .contains_key("candidate")
    {
        assert!(Instant::now() < deadline, "lock not released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    b.ok("<lock><target><candidate/></target></lock>")
        .await
        .unwrap();
    // kill-session releases the victim's lock before the reply.
    let mut c = Nc::connect(addr).await.unwrap();
    c.ok(&format!(
        "<kill-session><session-id>{}</session-id></kill-session>",
        b.session_id
    ))
    .await
    .unwrap();
    c.ok("<lock><target><candidate/></target></lock>")
        .await
        .unwrap();
    assert!(b.closed_within(Duration::from_secs(5)).await);
    net.shutdown().await;
}

#[tokio::test]
async fn rpc_errors_have_the_rfc_shape_and_bad_input_does_not_hurt() {
    let net = one_device().await;
    let addr = net.addr("r1").unwrap();
    let mut c = Nc::connect(addr).await.unwrap();
    c.ok(&edit("candidate", &subif("ge-0/0/1.7", 1, 1)))
        .await
        .unwrap();
    let create = "<interfaces xmlns=\"urn:ietf:params:xml:ns:yang:ietf-interfaces\" xmlns:nc=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><interface nc:operation=\"create\"><name>ge-0/0/1.7</name></interface></interfaces>";
    let reply = c.rpc(&edit("candidate", create)).await.unwrap();
    let error = between(&reply, "<rpc-error>", "</rpc-error>").expect(&reply);
    assert!(
        error.contains("<error-type>application</error-type>"),
        "{error}"
    );
    assert!(
        error.contains("<error-tag>data-exists</error-tag>"),
        "{error}"
    );
    assert!(
        error.contains("<error-severity>error</error-severity>"),
        "{error}"
    );
    assert!(error.contains("<error-path"), "{error}");
    assert!(
        error.contains("if:interface[if:name='ge-0/0/1.7']"),
        "{error}"
    );
    assert!(error.contains("<error-message xml:lang=\"en\">"), "{error}");

    let unknown = c.rpc("<frobnicate/>").await.unwrap();
    assert!(
        unknown.contains("<error-tag>operation-not-supported</error-tag>"),
        "{unknown}"
    );
    assert!(
        unknown.contains("<bad-element>frobnicate</bad-element>"),
        "{unknown}"
    );
    c.send(b"<rpc xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><get/></rpc>")
        .await
        .unwrap();
    let no_id = c.recv().await.unwrap();
    assert!(
        no_id.contains("<error-tag>missing-attribute</error-tag>"),
        "{no_id}"
    );
    c.send(b"<rpc message-id='9'><unclosed></rpc>")
        .await
        .unwrap();
    let malformed = c.recv().await.unwrap();
    assert!(
        malformed.contains("<error-tag>malformed-message</error-tag>"),
        "{malformed}"
    );
    // Broken framing ends the session, not the device.
    c.send_raw(b"\n#zzz\n").await.unwrap();
    assert!(c.closed_within(Duration::from_secs(5)).await);
    let mut d = Nc::connect(addr).await.unwrap();
    d.rpc(&get_config("running")).await.unwrap();
    // A client whose first message is not a hello is dropped.
    let mut e = Nc::open(addr, &Login::admin(), None).await.unwrap();
    e.send(b"<rpc message-id=\"1\" xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><get/></rpc>")
        .await
        .unwrap();
    assert!(e.closed_within(Duration::from_secs(5)).await);
    net.shutdown().await;
}

#[tokio::test]
async fn password_and_key_logins_and_pinned_host_key() {
    let client_key = Arc::new(netsim::hostkey::host_key("test-client", None));
    let public = client_key.public_key().to_openssh().unwrap();
    let yaml = format!(
        "devices:\n  - name: k1\n    listen: '127.0.0.1:0'\n    auth:\n      users:\n        - {{username: ops, password: s3cret}}\n        - {{username: robot, authorizedKeys: ['{public}']}}\n"
    );
    let net = sim(&yaml).await;
    let addr = net.addr("k1").unwrap();
    let pinned = net.fingerprint("k1").unwrap().to_owned();
    assert_eq!(
        pinned,
        netsim::fingerprints(&Topology::from_yaml(&yaml).unwrap())[0].1
    );
    let ops = Login::Password("ops".into(), "s3cret".into());
    Nc::connect_with(addr, &ops, Some(&pinned), true)
        .await
        .unwrap();
    assert!(
        Nc::connect_with(addr, &Login::admin(), None, true)
            .await
            .is_err(),
        "no default admin when users are given"
    );
    let wrong = Login::Password("ops".into(), "guess".into());
    assert!(Nc::connect_with(addr, &wrong, None, true).await.is_err());
    let robot = Login::Key("robot".into(), client_key.clone());
    Nc::connect_with(addr, &robot, Some(&pinned), true)
        .await
        .unwrap();
    let stranger = Login::Key(
        "robot".into(),
        Arc::new(netsim::hostkey::host_key("stranger", None)),
    );
    assert!(Nc::connect_with(addr, &stranger, None, true).await.is_err());
    let other_fingerprint = netsim::hostkey::fingerprint(&netsim::hostkey::host_key("k2", None));
    assert!(
        Nc::connect_with(addr, &ops, Some(&other_fingerprint), true)
            .await
            .is_err(),
        "host key mismatch"
    );
    net.shutdown().await;
}

#[tokio::test]
async fn fault_control() {
    let net = one_device().await;
    let addr = net.addr("r1").unwrap();
    let control = net.control().clone();
    let mut c = Nc::connect(addr).await.unwrap();
    c.ok(&edit("candidate", &subif("ge-0/0/1.100", 100, 100)))
        .await
        .unwrap();
    c.ok("<commit/>").await.unwrap();

    control.set_interface("r1", "ge-0/0/1", false).unwrap();
    let state = c.rpc(IF_STATE).await.unwrap();
    assert!(
        state.contains("<name>ge-0/0/1.100</name><oper-status>down</oper-status>"),
        "{state}"
    );
    control.set_interface("r1", "ge-0/0/1", true).unwrap();
    assert!(
        c.rpc(IF_STATE)
            .await
            .unwrap()
            .contains("<oper-status>up</oper-status>")
    );

    control
        .reject_next_commit(
            "r1",
            CommitRejection {
                error_tag: "resource-denied".into(),
                message: "TCAM full".into(),
            },
        )
        .unwrap();
    let rejected = c.rpc("<commit/>").await.unwrap();
    assert!(
        rejected.contains("<error-tag>resource-denied</error-tag>")
            && rejected.contains("TCAM full"),
        "{rejected}"
    );
    c.ok("<commit/>").await.unwrap();

    control
        .edit_running("r1", &subif("ge-0/0/2.9", 1, 1), "merge")
        .unwrap();
    assert!(
        c.rpc(&get_config("running"))
            .await
            .unwrap()
            .contains("ge-0/0/2.9"),
        "changed behind our back"
    );
    assert!(control.running_config("r1").unwrap().contains("ge-0/0/2.9"));

    // The latency fault holds the reply back: the simulator's status counts it (no clock in
    // the test: the count is taken after the wait, before the reply is sent).
    let before = control.status("r1").unwrap();
    control
        .set_latency("r1", Duration::from_millis(300))
        .unwrap();
    assert_eq!(control.status("r1").unwrap().latency_millis, 300);
    c.rpc(&get_config("running")).await.unwrap();
    let after = control.status("r1").unwrap();
    assert_eq!(
        (after.delayed_replies, after.delayed_millis),
        (before.delayed_replies + 1, before.delayed_millis + 300),
        "latency is added before the reply"
    );
    control.set_latency("r1", Duration::ZERO).unwrap();
    c.rpc(&get_config("running")).await.unwrap();
    let undelayed = control.status("r1").unwrap();
    assert_eq!(
        (undelayed.latency_millis, undelayed.delayed_replies),
        (0, after.delayed_replies),
        "no latency once removed"
    );

    control.set_reachable("r1", false).unwrap();
    assert!(
        c.closed_within(Duration::from_secs(5)).await,
        "sessions are dropped"
    );
    assert!(Nc::connect(addr).await.is_err(), "connections are refused");
    control.set_reachable("r1", true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut back = loop {
        match Nc::connect(addr).await {
            Ok(nc) => break nc,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(error) => panic!("device did not come back: {error}"),
        }
    };
    assert!(
        back.rpc(&get_config("running"))
            .await
            .unwrap()
            .contains("ge-0/0/1.100"),
        "config survives"
    );
    assert!(matches!(
        control.set_reachable("nope", true),
        Err(netsim::NetsimError::NoSuchDevice(_))
    ));
    net.shutdown().await;
}

#[test]
fn example_topology_parses_and_its_fingerprints_are_documented() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let topology = Topology::load(&root.join("examples/network/netsim.yaml")).unwrap();
    let docs = std::fs::read_to_string(root.join("docs/netsim.md")).unwrap();
    let names: Vec<_> = topology.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["olt1", "olt2", "bng1"]);
    for (name, fingerprint) in netsim::fingerprints(&topology) {
        let row = format!("| {name} | ");
        let line = docs.lines().find(|l| l.starts_with(&row)).expect(&row);
        assert!(
            line.contains(&fingerprint),
            "docs/netsim.md is stale for {name}: {fingerprint}"
        );
    }
}

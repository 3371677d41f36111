//! Ferrule's own NETCONF client and network transaction against simulated devices: the
//! all-or-nothing contract of DESIGN.md §5 with faults injected by the simulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use ferrule_netconf::client::{
    Credentials, DeviceSession, HostKeyFingerprint, HostKeyPolicy, NetconfSession, SessionConfig,
};
use ferrule_netconf::rpc::{Datastore, EditConfig};
use ferrule_netconf::transaction::{
    CommitMode, DeviceEdit, NoJournal, Outcome, Phase, Transaction, TransactionError, apply,
};
use ferrule_netsim::{self as netsim, CommitRejection, Netsim, Topology};

fn subif(name: &str) -> String {
    format!(
        "<interfaces xmlns=\"urn:ietf:params:xml:ns:yang:ietf-interfaces\"><interface><name>{name}</name>\
         <description>cust c sub s 100/20 Mbps</description>\
         <type xmlns:ianaift=\"urn:ietf:params:xml:ns:yang:iana-if-type\">ianaift:l2vlan</type>\
         <enabled>true</enabled></interface></interfaces>"
    )
}

async fn session(net: &Netsim, name: &str) -> NetconfSession {
    let pinned = HostKeyFingerprint::parse(net.fingerprint(name).unwrap()).unwrap();
    let config = SessionConfig::new(
        &net.addr(name).unwrap().to_string(),
        Credentials::password("admin", "admin"),
        HostKeyPolicy::Pinned(pinned),
    )
    .unwrap();
    NetconfSession::connect(&config).await.unwrap()
}

fn tx(id: &str, interface: &str, timeout: Duration) -> Transaction {
    let edit = |device: &str| DeviceEdit {
        device: device.to_owned(),
        mode: CommitMode::Candidate {
            validate: true,
            lock_running: false,
        },
        edit: subif(interface),
        compensation: None,
    };
    Transaction {
        id: id.to_owned(),
        confirm_timeout: timeout,
        edits: vec![edit("olt1"), edit("bng1")],
    }
}

fn has(net: &Netsim, device: &str, interface: &str) -> bool {
    net.control()
        .running_config(device)
        .unwrap()
        .contains(interface)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_commits_everywhere_or_nowhere() {
    let topology = Topology::from_yaml(
        "devices:\n  - {name: olt1, listen: '127.0.0.1:0'}\n  - {name: bng1, listen: '127.0.0.1:0'}\n",
    )
    .unwrap();
    let net = netsim::start(topology).await.unwrap();
    let mut olt = session(&net, "olt1").await;
    let mut bng = session(&net, "bng1").await;

    apply(
        &tx("ferrule-1", "ge-0/0/1.100", Duration::from_secs(30)),
        &mut [&mut olt, &mut bng],
        &mut NoJournal,
    )
    .await
    .unwrap();
    assert!(has(&net, "olt1", "ge-0/0/1.100") && has(&net, "bng1", "ge-0/0/1.100"));
    assert!(!net.control().status("olt1").unwrap().confirm_pending);

    // The BNG refuses its commit: the OLT, already committed (confirmed), is rolled back.
    net.control()
        .reject_next_commit(
            "bng1",
            CommitRejection {
                error_tag: "resource-denied".into(),
                message: "no more sub-interfaces".into(),
            },
        )
        .unwrap();
    let err = apply(
        &tx("ferrule-2", "ge-0/0/1.200", Duration::from_secs(30)),
        &mut [&mut olt, &mut bng],
        &mut NoJournal,
    )
    .await
    .unwrap_err();
    match &err {
        TransactionError::RolledBack {
            device,
            phase,
            record,
            ..
        } => {
            assert_eq!((device.as_str(), *phase), ("bng1", Phase::Commit), "{err}");
            // The BNG rejected its commit, so only the OLT's is cancelled; nothing else may
            // go wrong.
            assert!(record.cleanup_failures().is_empty(), "{err}");
            let commit = record.devices[1]
                .steps
                .iter()
                .find(|s| s.phase == Phase::Commit)
                .unwrap();
            assert!(
                matches!(commit.outcome, Outcome::Rejected { .. }),
                "{commit:?}"
            );
            assert!(record.devices[0].did(Phase::Cancel), "{record:?}");
        }
        other => panic!("expected a rollback, got {other}"),
    }
    assert!(
        err.to_string().contains("no more sub-interfaces"),
        "the device's message is shown: {err}"
    );
    for device in ["olt1", "bng1"] {
        assert!(
            !has(&net, device, "ge-0/0/1.200"),
            "{device} kept half a transaction"
        );
        assert!(
            has(&net, device, "ge-0/0/1.100"),
            "{device} lost the previous one"
        );
        let status = net.control().status(device).unwrap();
        assert!(!status.confirm_pending && !status.candidate_dirty && status.locks.is_empty());
    }
    olt.close().await;
    bng.close().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_dying_after_the_confirmed_commit_leaves_nothing_behind() {
    let topology =
        Topology::from_yaml("devices:\n  - {name: olt1, listen: '127.0.0.1:0'}\n").unwrap();
    let net = netsim::start(topology).await.unwrap();
    let mut s = session(&net, "olt1").await;
    s.lock(Datastore::Candidate).await.unwrap();
    s.edit_config(EditConfig {
        target: Datastore::Candidate,
        config: subif("ge-0/0/1.300"),
        default_operation: None,
        test_option: None,
        error_option: None,
    })
    .await
    .unwrap();
    s.commit_confirmed(Duration::from_secs(1), Some("ferrule-3"))
        .await
        .unwrap();
    assert!(has(&net, "olt1", "ge-0/0/1.300"));
    // The controller dies: the session goes without a word. With persist the commit survives
    // the session, and the device rolls back when the confirm timeout expires.
    drop(s);
    let deadline = Instant::now() + Duration::from_secs(10);
    while has(&net, "olt1", "ge-0/0/1.300") {
        assert!(Instant::now() < deadline, "the device never rolled back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = net.control().status("olt1").unwrap();
    assert!(!status.confirm_pending && status.locks.is_empty());
    net.shutdown().await;
}

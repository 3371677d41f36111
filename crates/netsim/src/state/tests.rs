//! Operations on a device's state, without a network.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrule_netconf::tree::DefaultOperation;
use ferrule_netconf::xml::{Element, XmlLimits, parse_fragment};
use ferrule_render::ProfileSet;

use crate::capabilities::{Offer, capabilities};
use crate::commit::CommitRequest;
use crate::locks::Datastore;
use crate::model::DeviceModel;
use crate::rpc::{EditRequest, Operation, Source};
use crate::state::{Body, DeviceState};
use crate::topology::{CapabilityOverrides, DatastoreKind, DeviceSpec};

const IF_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";

fn device(profile: &str, datastore: Option<DatastoreKind>) -> DeviceState {
    let set = ProfileSet::builtin().unwrap();
    let model = DeviceModel::from_profile(set.get(profile).unwrap(), datastore).unwrap();
    let offer = Offer {
        datastore: model.datastore,
        confirmed_commit: model.confirmed_commit,
        rollback_on_error: model.rollback_on_error,
        modules: &model.modules,
    };
    let caps = capabilities(&offer, &CapabilityOverrides::default()).unwrap();
    let mut spec = DeviceSpec::new("d", "127.0.0.1:0".parse().unwrap());
    spec.ports = vec!["ge-0/0/1".to_owned(), "ge-0/0/2".to_owned()];
    spec.traffic_load_percent = Some(100);
    DeviceState::new(Arc::new(model), caps.features, &spec)
}

fn xml(text: &str) -> Vec<Element> {
    parse_fragment(text, &XmlLimits::default()).unwrap()
}

fn subif(name: &str, extra: &str) -> String {
    format!(
        "<interfaces xmlns=\"{IF_NS}\"><interface {extra}><name>{name}</name>\
         <description>cust a sub b 8/16 Mbps</description>\
         <type xmlns:ianaift=\"urn:ietf:params:xml:ns:yang:iana-if-type\">ianaift:l2vlan</type>\
         <enabled>true</enabled></interface></interfaces>"
    )
}

fn edit(target: Datastore, config: &str) -> Operation {
    Operation::EditConfig(EditRequest {
        target,
        default_operation: DefaultOperation::Merge,
        test_only: false,
        rollback_on_error: false,
        config: xml(config),
    })
}

fn data(body: Body) -> String {
    match body {
        Body::Data(elements) | Body::Elements(elements) => {
            elements.iter().map(Element::to_xml).collect()
        }
        Body::Ok => panic!("expected data"),
    }
}

fn get_config(state: &mut DeviceState, source: Datastore) -> String {
    let op = Operation::GetConfig {
        source,
        filter: None,
    };
    data(state.execute(1, op, Instant::now()).unwrap().body)
}

#[test]
fn edit_commit_and_read_back() {
    let mut s = device("ietf", None);
    let now = Instant::now();
    s.execute(
        1,
        edit(Datastore::Candidate, &subif("ge-0/0/1.100", "")),
        now,
    )
    .unwrap();
    assert!(get_config(&mut s, Datastore::Candidate).contains("ge-0/0/1.100"));
    assert!(!get_config(&mut s, Datastore::Running).contains("ge-0/0/1.100"));
    s.execute(1, Operation::Commit(CommitRequest::default()), now)
        .unwrap();
    assert!(get_config(&mut s, Datastore::Running).contains("ge-0/0/1.100"));
    let create = subif(
        "ge-0/0/1.100",
        "xmlns:nc=\"urn:ietf:params:xml:ns:netconf:base:1.0\" nc:operation=\"create\"",
    );
    let err = s
        .execute(1, edit(Datastore::Candidate, &create), now)
        .unwrap_err();
    assert_eq!(err.tag(), "data-exists");
    let path = err.error().error_path.clone().unwrap();
    assert!(path.contains("ge-0/0/1.100"), "{path}");
    assert_eq!(
        s.execute(1, edit(Datastore::Running, &subif("x", "")), now)
            .unwrap_err()
            .tag(),
        "operation-not-supported",
        "running is not writable on a candidate device"
    );
}

#[test]
fn running_device_edits_running_and_has_no_candidate() {
    let mut s = device("ietf", Some(DatastoreKind::Running));
    let now = Instant::now();
    s.execute(1, edit(Datastore::Running, &subif("ge-0/0/2.7", "")), now)
        .unwrap();
    assert!(get_config(&mut s, Datastore::Running).contains("ge-0/0/2.7"));
    let err = s
        .execute(1, edit(Datastore::Candidate, &subif("y", "")), now)
        .unwrap_err();
    assert_eq!(err.tag(), "invalid-value");
    let err = s
        .execute(1, Operation::Commit(CommitRequest::default()), now)
        .unwrap_err();
    assert_eq!(err.tag(), "operation-not-supported");
}

#[test]
fn locks_guard_writes_and_unlock_discards() {
    let mut s = device("ietf", None);
    let now = Instant::now();
    s.execute(1, Operation::Lock(Datastore::Candidate), now)
        .unwrap();
    let err = s
        .execute(2, edit(Datastore::Candidate, &subif("a.1", "")), now)
        .unwrap_err();
    assert_eq!(err.tag(), "in-use");
    s.execute(1, edit(Datastore::Candidate, &subif("a.1", "")), now)
        .unwrap();
    s.execute(1, Operation::Unlock(Datastore::Candidate), now)
        .unwrap();
    assert!(
        !s.stores.candidate_dirty(),
        "unlock discards uncommitted changes"
    );
    s.execute(2, edit(Datastore::Candidate, &subif("b.1", "")), now)
        .unwrap();
    let err = s
        .execute(1, Operation::Lock(Datastore::Candidate), now)
        .unwrap_err();
    assert_eq!(
        err.tag(),
        "lock-denied",
        "a dirty candidate cannot be locked"
    );
    s.execute(1, Operation::DiscardChanges, now).unwrap();
    s.execute(1, Operation::Lock(Datastore::Candidate), now)
        .unwrap();
    s.session_closed(1, now);
    assert_eq!(s.locks.holder(Datastore::Candidate), None);
}

#[test]
fn confirmed_commit_rolls_back_when_its_session_closes() {
    let mut s = device("ietf", None);
    let now = Instant::now();
    s.execute(1, edit(Datastore::Candidate, &subif("a.1", "")), now)
        .unwrap();
    let confirmed = CommitRequest {
        confirmed: true,
        timeout: Some(Duration::from_secs(60)),
        ..CommitRequest::default()
    };
    let outcome = s.execute(1, Operation::Commit(confirmed), now).unwrap();
    assert!(outcome.arm.is_some());
    assert!(get_config(&mut s, Datastore::Running).contains("a.1"));
    s.session_closed(1, now);
    assert!(!get_config(&mut s, Datastore::Running).contains("a.1"));
}

#[test]
fn rejected_commit_fires_once() {
    let mut s = device("ietf", None);
    let now = Instant::now();
    s.faults.reject_next_commit = Some(crate::faults::CommitRejection::default());
    let commit = || Operation::Commit(CommitRequest::default());
    assert_eq!(
        s.execute(1, commit(), now).unwrap_err().tag(),
        "operation-failed"
    );
    s.execute(1, commit(), now).unwrap();
}

#[test]
fn state_reports_counters_and_status() {
    let mut s = device("ietf", None);
    let t0 = Instant::now();
    s.execute(
        1,
        edit(Datastore::Candidate, &subif("ge-0/0/1.100", "")),
        t0,
    )
    .unwrap();
    s.execute(1, Operation::Commit(CommitRequest::default()), t0)
        .unwrap();
    let get = |s: &mut DeviceState, at| {
        let filter = xml(&format!("<interfaces-state xmlns=\"{IF_NS}\"/>"));
        data(
            s.execute(
                1,
                Operation::Get {
                    filter: Some(filter),
                },
                at,
            )
            .unwrap()
            .body,
        )
    };
    let one = get(&mut s, t0 + Duration::from_secs(1));
    // 16 Mbit/s up at 100 % for 1 s = 2 000 000 octets in; 8 Mbit/s down = 1 000 000 out.
    assert!(
        one.contains("<name>ge-0/0/1.100</name><oper-status>up</oper-status>"),
        "{one}"
    );
    assert!(one.contains("<in-octets>2000000</in-octets>"), "{one}");
    assert!(one.contains("<out-octets>1000000</out-octets>"), "{one}");
    assert!(
        one.contains("<name>ge-0/0/2</name>"),
        "declared ports are reported: {one}"
    );
    assert!(
        !one.contains("<interfaces xmlns"),
        "the filter keeps config out: {one}"
    );
    s.set_interface("ge-0/0/1", false, t0 + Duration::from_secs(1));
    let two = get(&mut s, t0 + Duration::from_secs(3));
    assert!(
        two.contains("<name>ge-0/0/1.100</name><oper-status>down</oper-status>"),
        "{two}"
    );
    assert!(
        two.contains("<in-octets>2000000</in-octets>"),
        "counters stop while down: {two}"
    );
    let all = data(
        s.execute(
            1,
            Operation::Get { filter: None },
            t0 + Duration::from_secs(3),
        )
        .unwrap()
        .body,
    );
    assert!(
        all.contains("<interfaces xmlns") && all.contains("<interfaces-state"),
        "{all}"
    );
}

#[test]
fn openconfig_state_is_merged_into_the_config_tree() {
    let mut s = device("openconfig", None);
    let t0 = Instant::now();
    let config = "<interfaces xmlns=\"http://openconfig.net/yang/interfaces\"><interface>\
        <name>ge-0/0/1</name><config><name>ge-0/0/1</name></config><subinterfaces>\
        <subinterface><index>100</index><config><index>100</index>\
        <description>cust a sub b 8/8 Mbps</description><enabled>true</enabled></config>\
        </subinterface></subinterfaces></interface></interfaces>";
    s.execute(1, edit(Datastore::Candidate, config), t0)
        .unwrap();
    s.execute(1, Operation::Commit(CommitRequest::default()), t0)
        .unwrap();
    let out = data(
        s.execute(
            1,
            Operation::Get { filter: None },
            t0 + Duration::from_secs(1),
        )
        .unwrap()
        .body,
    );
    assert_eq!(out.matches("<subinterface>").count(), 1, "{out}");
    assert!(
        out.contains("<name>ge-0/0/1.100</name><oper-status>UP</oper-status>"),
        "{out}"
    );
    assert!(out.contains("<admin-status>UP</admin-status>"), "{out}");
    assert!(out.contains("<in-octets>1000000</in-octets>"), "{out}");
}

#[test]
fn junos_state_rpc_answers_with_logical_interfaces() {
    let mut s = device("junos", None);
    let t0 = Instant::now();
    let config = "<configuration xmlns=\"http://xml.juniper.net/xnm/1.1/xnm\"><interfaces><interface><name>ge-0/0/1</name><unit><name>100</name>\
        <description>cust a sub b 8/8 Mbps</description><disable/></unit></interface></interfaces>\
        </configuration>";
    s.execute(1, edit(Datastore::Candidate, config), t0)
        .unwrap();
    s.execute(1, Operation::Commit(CommitRequest::default()), t0)
        .unwrap();
    let out = data(s.execute(1, Operation::StateRpc, t0).unwrap().body);
    assert!(
        out.contains("<logical-interface><name>ge-0/0/1.100</name>"),
        "{out}"
    );
    assert!(!out.contains("iff-up"), "a disabled unit is down: {out}");
}

#[test]
fn copy_config_and_validate() {
    let mut s = device("ietf", None);
    let now = Instant::now();
    let op = Operation::CopyConfig {
        target: Datastore::Candidate,
        source: Source::Inline(xml(&subif("c.1", ""))),
    };
    s.execute(1, op, now).unwrap();
    assert!(get_config(&mut s, Datastore::Candidate).contains("c.1"));
    let op = Operation::CopyConfig {
        target: Datastore::Candidate,
        source: Source::Store(Datastore::Running),
    };
    s.execute(1, op, now).unwrap();
    assert!(!s.stores.candidate_dirty());
    let duplicate = format!("<interfaces xmlns=\"{IF_NS}\"><x/><x/></interfaces>");
    let op = Operation::Validate {
        source: Source::Inline(xml(&duplicate)),
    };
    assert!(s.execute(1, op, now).is_err());
    let op = Operation::Validate {
        source: Source::Store(Datastore::Candidate),
    };
    s.execute(1, op, now).unwrap();
}

#[test]
fn edit_running_directly_follows_into_a_clean_candidate() {
    let mut s = device("ietf", None);
    let now = Instant::now();
    s.edit_running_directly(&subif("z.9", ""), "merge", now)
        .unwrap();
    assert!(s.running_xml().contains("z.9"));
    assert!(!s.stores.candidate_dirty());
    assert!(s.edit_running_directly("<x", "merge", now).is_err());
    assert!(
        s.edit_running_directly(&subif("z.9", ""), "bogus", now)
            .is_err()
    );
}

fn confirmed_commit() -> Operation {
    Operation::Commit(CommitRequest {
        confirmed: true,
        timeout: Some(Duration::from_secs(60)),
        ..CommitRequest::default()
    })
}

fn candidate_is_running(s: &DeviceState) -> bool {
    s.stores
        .candidate
        .as_ref()
        .is_some_and(|c| Arc::ptr_eq(c, &s.stores.running))
}

#[test]
fn an_edit_of_the_candidate_leaves_the_shared_snapshot_alone() {
    let mut s = device("ietf", None);
    let now = Instant::now();
    s.execute(1, edit(Datastore::Candidate, &subif("a.1", "")), now)
        .unwrap();
    s.execute(1, Operation::Commit(CommitRequest::default()), now)
        .unwrap();
    assert!(candidate_is_running(&s), "a commit shares the snapshot");
    let committed = s.stores.running.clone();
    let before = committed.to_xml();
    s.execute(1, edit(Datastore::Candidate, &subif("b.1", "")), now)
        .unwrap();
    assert!(Arc::ptr_eq(&s.stores.running, &committed));
    assert_eq!(committed.to_xml(), before, "running did not see the edit");
    assert!(s.stores.candidate_dirty());
    assert!(get_config(&mut s, Datastore::Candidate).contains("b.1"));
    assert!(!get_config(&mut s, Datastore::Running).contains("b.1"));
    s.execute(1, edit(Datastore::Candidate, &subif("c.1", "")), now)
        .unwrap();
    s.execute(1, Operation::DiscardChanges, now).unwrap();
    assert!(candidate_is_running(&s));
    let candidate = get_config(&mut s, Datastore::Candidate);
    assert!(candidate.contains("a.1") && !candidate.contains("b.1") && !candidate.contains("c.1"));
    assert_eq!(s.running_xml(), before);
}

#[test]
fn a_confirmed_commit_rolls_back_to_the_config_before_it_after_later_edits() {
    let mut s = device("ietf", None);
    let now = Instant::now();
    s.execute(1, edit(Datastore::Candidate, &subif("a.1", "")), now)
        .unwrap();
    s.execute(1, Operation::Commit(CommitRequest::default()), now)
        .unwrap();
    let before = s.running_xml();
    s.execute(1, edit(Datastore::Candidate, &subif("b.1", "")), now)
        .unwrap();
    let deadline = s.execute(1, confirmed_commit(), now).unwrap().arm.unwrap();
    assert!(s.running_xml().contains("b.1"));
    for name in ["c.1", "d.1"] {
        s.execute(1, edit(Datastore::Candidate, &subif(name, "")), now)
            .unwrap();
    }
    let rollback = s.stores.pending().unwrap().rollback.to_xml();
    assert_eq!(
        rollback, before,
        "edits after the commit do not reach the rollback"
    );
    assert!(s.expire_confirmed(deadline.generation, now));
    assert_eq!(s.running_xml(), before);
    assert!(
        candidate_is_running(&s),
        "the candidate follows the rollback"
    );
}

#[test]
fn counters_follow_every_new_running_config() {
    let t0 = Instant::now();
    let at = |secs| t0 + Duration::from_secs(secs);
    let state =
        |s: &mut DeviceState, now| data(s.execute(1, Operation::StateRpc, now).unwrap().body);
    for kind in [DatastoreKind::Running, DatastoreKind::Candidate] {
        let mut s = device("ietf", Some(kind));
        let (target, commit) = match kind {
            DatastoreKind::Running => (Datastore::Running, false),
            DatastoreKind::Candidate => (Datastore::Candidate, true),
        };
        for (secs, name) in [(0, "ge-0/0/1.5"), (1, "ge-0/0/1.6")] {
            s.execute(1, edit(target, &subif(name, "")), at(secs))
                .unwrap();
            if commit {
                s.execute(1, Operation::Commit(CommitRequest::default()), at(secs))
                    .unwrap();
            }
        }
        let out = state(&mut s, at(3));
        // 16 Mbit/s up for 3 s (.5) and for 2 s (.6); the port sums both.
        assert!(
            out.contains("<name>ge-0/0/1.5</name><oper-status>up</oper-status>")
                && out.contains("<in-octets>6000000</in-octets>")
                && out.contains("<in-octets>4000000</in-octets>")
                && out.contains("<in-octets>10000000</in-octets>"),
            "{kind:?}: {out}"
        );
        s.execute(
            1,
            edit(
                target,
                &subif(
                    "ge-0/0/1.5",
                    "xmlns:nc=\"urn:ietf:params:xml:ns:netconf:base:1.0\" nc:operation=\"delete\"",
                ),
            ),
            at(3),
        )
        .unwrap();
        if commit {
            s.execute(1, Operation::Commit(CommitRequest::default()), at(3))
                .unwrap();
        }
        let out = state(&mut s, at(4));
        assert!(!out.contains("ge-0/0/1.5<"), "{kind:?}: {out}");
        assert!(
            out.contains("<in-octets>6000000</in-octets>"),
            "{kind:?}: {out}"
        );
    }
}

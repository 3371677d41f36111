//! Tests of group commit with a recording transactor.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::*;
use crate::fixtures::mk_target;
use crate::transactor::DeviceRpcError;

const IF: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";

/// Records every plan it is asked to apply; each apply waits for a permit of `gate`, and a
/// plan whose payload contains `bad` is rejected.
#[derive(Debug)]
struct Recording {
    applied: Mutex<Vec<NetworkPlan>>,
    gate: Semaphore,
    running: AtomicUsize,
    most_running: AtomicUsize,
}

impl Recording {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            applied: Mutex::new(Vec::new()),
            gate: Semaphore::new(0),
            running: AtomicUsize::new(0),
            most_running: AtomicUsize::new(0),
        })
    }

    fn applied(&self) -> Vec<NetworkPlan> {
        self.applied.lock().unwrap().clone()
    }
}

impl NetworkTransactor for Recording {
    fn plan(&self, changes: &ChangeSet) -> Result<NetworkPlan, PlanError> {
        Err(PlanError {
            device: changes.owner.clone(),
            message: "not used".into(),
        })
    }

    fn apply<'a>(
        &'a self,
        plan: &'a NetworkPlan,
    ) -> BoxFuture<'a, Result<Committed, TransactError>> {
        Box::pin(async move {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_running.fetch_max(now, Ordering::SeqCst);
            let permit = self.gate.acquire().await;
            drop(permit);
            self.running.fetch_sub(1, Ordering::SeqCst);
            let mut applied = self.applied.lock().unwrap();
            applied.push(plan.clone());
            let bad = plan
                .devices
                .iter()
                .any(|d| d.edit.as_deref().unwrap_or_default().contains("bad"));
            if bad {
                return Err(TransactError::Rejected {
                    device: "olt1".into(),
                    phase: "edit-config".into(),
                    errors: vec![DeviceRpcError {
                        tag: "invalid-value".into(),
                        ..Default::default()
                    }],
                });
            }
            Ok(Committed {
                transaction: format!("t{}", applied.len()),
                devices: plan.pushed().map(|d| d.target.name.clone()).collect(),
            })
        })
    }
}

fn plan(owner: &str, edits: &[(&str, &str)]) -> NetworkPlan {
    NetworkPlan {
        owner: owner.into(),
        devices: edits
            .iter()
            .map(|(device, interface)| DevicePlan {
                target: mk_target(device),
                edit: Some(format!(
                    "<interfaces xmlns=\"{IF}\" xmlns:nc=\"urn:ietf:params:xml:ns:netconf:base:1.0\">\
                     <interface nc:operation=\"merge\"><name>{interface}</name></interface></interfaces>"
                )),
                compensation: Some(String::new()),
                applied: None,
            })
            .collect(),
    }
}

fn group(inner: &Arc<Recording>) -> Arc<GroupCommit> {
    Arc::new(GroupCommit::new(
        inner.clone(),
        Arc::new(Renderer::builtin().unwrap()),
    ))
}

async fn queued(group: &GroupCommit, n: usize) {
    for _ in 0..500 {
        if group.shared.state.lock().unwrap().queue.len() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("{n} changes never queued");
}

async fn running(inner: &Recording, n: usize) {
    for _ in 0..500 {
        if inner.running.load(Ordering::SeqCst) == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("{n} transactions never ran");
}

fn spawn_apply(
    group: &Arc<GroupCommit>,
    plan: NetworkPlan,
) -> tokio::task::JoinHandle<Result<Committed, TransactError>> {
    let group = group.clone();
    tokio::spawn(async move { group.apply(&plan).await })
}

#[tokio::test]
async fn changes_waiting_for_a_device_are_committed_together() {
    let inner = Recording::new();
    let group = group(&inner);
    let first = spawn_apply(&group, plan("isp/a", &[("olt1", "x.1"), ("bng1", "y.1")]));
    running(&inner, 1).await;
    let second = spawn_apply(&group, plan("isp/b", &[("olt1", "x.2"), ("bng1", "y.2")]));
    let third = spawn_apply(&group, plan("isp/c", &[("olt1", "x.3")]));
    queued(&group, 2).await;
    inner.gate.add_permits(10);
    let first = first.await.unwrap().unwrap();
    let second = second.await.unwrap().unwrap();
    let third = third.await.unwrap().unwrap();
    let applied = inner.applied();
    assert_eq!(
        applied.len(),
        2,
        "the two waiting changes share one transaction"
    );
    assert_eq!(first.transaction, "t1");
    assert_eq!(
        (second.transaction.as_str(), third.transaction.as_str()),
        ("t2", "t2")
    );
    assert_eq!(third.devices, ["olt1"]);
    let merged = &applied[1];
    assert_eq!(merged.owner, "isp/b, isp/c");
    let olt1 = merged
        .devices
        .iter()
        .find(|d| d.target.name == "olt1")
        .unwrap();
    let edit = olt1.edit.as_deref().unwrap();
    assert!(
        edit.contains("x.2") && edit.contains("x.3") && !edit.contains("x.1"),
        "{edit}"
    );
}

#[tokio::test]
async fn changes_on_other_devices_do_not_wait() {
    let inner = Recording::new();
    let group = group(&inner);
    let a = spawn_apply(&group, plan("isp/a", &[("olt1", "x.1")]));
    let b = spawn_apply(&group, plan("isp/b", &[("olt2", "x.1")]));
    running(&inner, 2).await;
    assert_eq!(inner.most_running.load(Ordering::SeqCst), 2);
    inner.gate.add_permits(10);
    assert!(a.await.unwrap().is_ok() && b.await.unwrap().is_ok());
    assert_eq!(inner.applied().len(), 2);
}

#[tokio::test]
async fn a_change_on_free_devices_starts_while_others_wait() {
    let inner = Recording::new();
    let group = group(&inner);
    let first = spawn_apply(&group, plan("isp/a", &[("olt1", "x.1"), ("bng1", "y.1")]));
    running(&inner, 1).await;
    let waiting = spawn_apply(&group, plan("isp/b", &[("olt1", "x.2"), ("bng1", "y.2")]));
    queued(&group, 1).await;
    let other = spawn_apply(&group, plan("isp/c", &[("olt2", "x.1")]));
    running(&inner, 2).await;
    queued(&group, 1).await;
    inner.gate.add_permits(10);
    for task in [first, waiting, other] {
        assert!(task.await.unwrap().is_ok());
    }
    let owners: Vec<String> = inner.applied().iter().map(|p| p.owner.clone()).collect();
    assert_eq!(owners.len(), 3);
    assert_eq!(owners.last().map(String::as_str), Some("isp/b"));
}

#[tokio::test]
async fn a_failed_group_is_retried_change_by_change() {
    let inner = Recording::new();
    let group = group(&inner);
    let first = spawn_apply(&group, plan("isp/a", &[("olt1", "x.1")]));
    running(&inner, 1).await;
    let good = spawn_apply(&group, plan("isp/good", &[("olt1", "x.2")]));
    let bad = spawn_apply(&group, plan("isp/bad", &[("olt1", "bad.3")]));
    queued(&group, 2).await;
    inner.gate.add_permits(10);
    assert!(first.await.unwrap().is_ok());
    assert!(good.await.unwrap().is_ok());
    assert!(matches!(
        bad.await.unwrap(),
        Err(TransactError::Rejected { .. })
    ));
    let owners: Vec<String> = inner.applied().iter().map(|p| p.owner.clone()).collect();
    assert_eq!(
        owners,
        ["isp/a", "isp/good, isp/bad", "isp/good", "isp/bad"]
    );
}

#[test]
fn only_compatible_edits_merge() {
    let renderer = Renderer::builtin().unwrap();
    let ps = ProfileSchema::of(renderer.profiles().get("ietf").unwrap()).unwrap();
    let parse = |xml: &str| Edit::parse(xml, &ps.schema).unwrap();
    let nc = "xmlns:nc=\"urn:ietf:params:xml:ns:netconf:base:1.0\"";
    let entry = |name: &str, op: &str, description: &str| {
        format!(
            "<interfaces xmlns=\"{IF}\" {nc}><interface nc:operation=\"{op}\"><name>{name}</name>\
             <description>{description}</description></interface></interfaces>"
        )
    };
    let mut edit = parse(&entry("x.1", "merge", "a"));
    assert!(merge_edits(&mut edit, &parse(&entry("x.2", "merge", "b"))));
    assert!(
        merge_edits(&mut edit, &parse(&entry("x.1", "merge", "a"))),
        "identical entries merge"
    );
    let before = edit.clone();
    assert!(
        !merge_edits(&mut edit, &parse(&entry("x.1", "merge", "other"))),
        "different values"
    );
    assert!(
        !merge_edits(&mut edit, &parse(&entry("x.2", "remove", "b"))),
        "different operations"
    );
    assert_eq!(edit, before, "a refused merge changes nothing");
    let xml = edit.to_xml();
    assert!(xml.contains("x.1") && xml.contains("x.2"), "{xml}");
}

/// `plan` on devices of `profile`, every device compensated with `undo`.
fn compensated(mut plan: NetworkPlan, profile: &str, undo: &str) -> NetworkPlan {
    for device in &mut plan.devices {
        device.target.profile = profile.into();
        device.compensation = Some(undo.into());
    }
    plan
}

fn interface_op(name: &str, op: &str) -> String {
    format!(
        "<interfaces xmlns=\"{IF}\" xmlns:nc=\"urn:ietf:params:xml:ns:netconf:base:1.0\">\
         <interface nc:operation=\"{op}\"><name>{name}</name></interface></interfaces>"
    )
}

#[tokio::test]
async fn compensations_merge_like_edits_and_running_only_devices_refuse_conflicts() {
    // (profile, compensation of the third change, transactions, merged compensation)
    let cases = [
        (
            "ietf-running",
            interface_op("x.3", "remove"),
            2,
            Some("x.3"),
        ),
        ("ietf-running", interface_op("x.2", "merge"), 3, None),
        ("ietf", interface_op("x.2", "merge"), 2, None),
    ];
    for (profile, third_undo, transactions, merged_undo) in cases {
        let inner = Recording::new();
        let group = group(&inner);
        let undo = |name| interface_op(name, "remove");
        let first = spawn_apply(
            &group,
            compensated(plan("isp/a", &[("olt1", "x.1")]), profile, &undo("x.1")),
        );
        running(&inner, 1).await;
        let second = spawn_apply(
            &group,
            compensated(plan("isp/b", &[("olt1", "x.2")]), profile, &undo("x.2")),
        );
        let third = spawn_apply(
            &group,
            compensated(plan("isp/c", &[("olt1", "x.3")]), profile, &third_undo),
        );
        queued(&group, 2).await;
        inner.gate.add_permits(10);
        for handle in [first, second, third] {
            assert!(handle.await.unwrap().is_ok());
        }
        let applied = inner.applied();
        assert_eq!(applied.len(), transactions, "{profile} {third_undo}");
        let compensation = applied[1].devices[0].compensation.as_deref();
        match merged_undo {
            Some(name) => {
                let undo = compensation.unwrap();
                assert!(undo.contains("x.2") && undo.contains(name), "{undo}");
            }
            None if transactions == 3 => {
                // Not merged: each change keeps its own compensation.
                assert_eq!(compensation, Some(undo("x.2").as_str()));
            }
            None => assert_eq!(compensation, None, "dropped on a candidate device"),
        }
    }
}

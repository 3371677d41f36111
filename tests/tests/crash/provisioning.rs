//! `kill -9` of `ferrule up` in the middle of a network transaction, at three points, then a
//! restart on the same data directory: the transaction is finished or undone from its
//! journal record, the subscription converges, and every device holds exactly the expected
//! entries with no confirmed commit left pending.
//!
//! The simulated devices run in this test process, so they outlive the killed control
//! plane; bng1 answers every RPC a second late, which holds the transaction in the phase
//! being tested while the test watches the journal and the devices.
//!
//! - **edit**: killed while the candidates are being edited (nothing committed yet).
//! - **commit**: killed while the confirmed commits are pending on the devices, before the
//!   decision; the restarted process cancels them by persist id.
//! - **confirm**: killed after the decision to commit, with bng1's confirming commit refused
//!   (so bng1 still holds a pending confirmed commit while olt1 has confirmed); the restarted
//!   process confirms bng1 by persist id. Without that, bng1 would keep refusing other
//!   commits and roll back on its own at the confirm timeout, half-configuring the service.

use std::time::Duration;

use anyhow::{Context, ensure};
use ferrule_crds::Subscription;
use ferrule_crds::condition::{find_condition, types};
use ferrule_netconf::transaction::{Decision, Phase, TransactionRecord};
use ferrule_netsim::{CommitRejection, DeviceSpec, Netsim, Topology};
use ferrule_provisioning::netconf::journal::{Entry, RECORD_LABEL};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use super::start;

pub(crate) const NS: &str = "isp";
const WAIT: Duration = Duration::from_secs(60);
const SLOW: Duration = Duration::from_secs(1);

/// Where the control plane is killed.
#[derive(Debug, Clone, Copy)]
enum KillPoint {
    Edit,
    Commit,
    Confirm,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_killed_at_any_phase_is_finished_or_undone() -> anyhow::Result<()> {
    let any = "127.0.0.1:0".parse()?;
    let mut olt1 = DeviceSpec::new("olt1", any);
    olt1.ports = vec!["ge-0/0/1".into(), "ge-0/0/2".into(), "ge-0/0/3".into()];
    let mut bng1 = DeviceSpec::new("bng1", any);
    bng1.ports = vec!["xe-0/0/1".into()];
    let netsim = ferrule_netsim::start(Topology::new(vec![olt1, bng1])?).await?;
    let data = tempfile::tempdir()?;
    let (mut child, mut client) = start(data.path()).await?;
    seed(&client, &netsim).await?;

    let points = [KillPoint::Edit, KillPoint::Commit, KillPoint::Confirm];
    for (i, point) in points.into_iter().enumerate() {
        let name = format!("s{i}");
        let control = netsim.control();
        control.set_latency("bng1", SLOW)?;
        apply(&client, subscription(&name, &format!("ge-0/0/{}", i + 1))).await?;

        let killed_in = kill_at(point, &client, &netsim)
            .await
            .with_context(|| format!("reaching the {point:?} point of {name}"))?;
        child.start_kill()?;
        child.wait().await?;
        control.set_latency("bng1", Duration::ZERO)?;
        control.clear_commit_rejection("bng1")?;

        (child, client) = start(data.path()).await?;
        // The first recovery pass runs before the controllers start (and before `up` says
        // so): the record of the killed transaction is finished and gone.
        let left: Vec<String> = journal(&client)
            .await?
            .iter()
            .map(|r| r.id.clone())
            .collect();
        ensure!(
            !left.contains(&killed_in.id),
            "{point:?}: the record of {} is still in the journal after the restart",
            killed_in.id
        );
        converged(&client, &netsim, i + 1)
            .await
            .with_context(|| format!("after the kill at {point:?}"))?;
    }
    child.start_kill()?;
    child.wait().await?;
    netsim.shutdown().await;
    Ok(())
}

/// Waits for the transaction to reach `point`, checks the devices are where the drill says,
/// and returns the journal record to kill it in.
async fn kill_at(
    point: KillPoint,
    client: &Client,
    netsim: &Netsim,
) -> anyhow::Result<TransactionRecord> {
    let control = netsim.control();
    let pending = |device: &str| {
        control
            .status(device)
            .map(|s| s.confirm_pending)
            .unwrap_or_default()
    };
    match point {
        KillPoint::Edit => {
            let record = poll(|| async { journal(client).await.ok()?.into_iter().next() }).await?;
            ensure!(
                !record.devices.iter().any(|d| d.may_have(Phase::Commit)),
                "the commit started before the kill: {record:?}"
            );
            ensure!(!pending("olt1") && !pending("bng1"));
            Ok(record)
        }
        KillPoint::Commit => {
            // bng1 took its confirmed commit and has not answered yet: no decision.
            poll(|| async { pending("bng1").then_some(()) }).await?;
            let record = current(client).await?;
            ensure!(
                record.decision == Decision::Pending,
                "decided already: {record:?}"
            );
            Ok(record)
        }
        KillPoint::Confirm => {
            poll(|| async { pending("bng1").then_some(()) }).await?;
            control.reject_next_commit(
                "bng1",
                CommitRejection {
                    error_tag: "operation-failed".into(),
                    message: "confirming commit lost".into(),
                },
            )?;
            let record = poll(|| async {
                let record = journal(client).await.ok()?.into_iter().next()?;
                (record.decision == Decision::Commit).then_some(record)
            })
            .await?;
            // bng1's confirming commit was refused: it still holds the pending commit.
            poll(|| async {
                let status = control.status("bng1").ok()?;
                status.reject_next_commit.is_none().then_some(())
            })
            .await?;
            ensure!(pending("bng1"), "bng1 has no pending commit to recover");
            Ok(record)
        }
    }
}

/// Every subscription `s0..s{count}` is Ready, each device holds exactly their entries, no
/// confirmed commit is pending and the journal is empty.
pub(crate) async fn converged(
    client: &Client,
    netsim: &Netsim,
    count: usize,
) -> anyhow::Result<()> {
    let subs: Api<Subscription> = Api::namespaced(client.clone(), NS);
    let control = netsim.control();
    let result = ferrule_e2e::eventually(WAIT, || async {
        let mut olt = Vec::new();
        let mut bng = Vec::new();
        for i in 0..count {
            let sub = subs.get(&format!("s{i}")).await.ok()?;
            let status = sub.status.as_ref()?;
            let ready = find_condition(&status.conditions, types::READY)?;
            if ready.reason != "Active" {
                return None;
            }
            let vlan = status.allocations.as_ref()?.vlan?;
            olt.push(format!("ge-0/0/{}.{vlan}", i + 1));
            bng.push(format!("xe-0/0/1.{vlan}"));
        }
        olt.sort();
        bng.sort();
        let settled = journal(client).await.ok()?.is_empty()
            && ["olt1", "bng1"]
                .iter()
                .all(|d| control.status(d).is_ok_and(|s| !s.confirm_pending));
        let exact = subinterfaces(&control.running_config("olt1").ok()?) == olt
            && subinterfaces(&control.running_config("bng1").ok()?) == bng;
        (settled && exact).then_some(())
    })
    .await;
    if result.is_err() {
        let list = subs.list(&ListParams::default()).await?;
        let statuses: Vec<String> = list
            .items
            .iter()
            .map(|s| format!("{}: {}", s.name_any(), json!(s.status)))
            .collect();
        anyhow::bail!(
            "not converged:\n{}\njournal: {:?}\nolt1: {}\nbng1: {}\nbng1 status: {:?}",
            statuses.join("\n"),
            journal(client).await?,
            control.running_config("olt1")?,
            control.running_config("bng1")?,
            control.status("bng1")?
        );
    }
    Ok(())
}

/// The subinterfaces (`port.unit`) a device's running configuration holds, sorted.
fn subinterfaces(running: &str) -> Vec<String> {
    let mut names: Vec<String> = running
        .split("<name>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</name>").map(|(name, _)| name))
        .filter(|name| name.contains('.'))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The records in the journal.
pub(crate) async fn journal(client: &Client) -> anyhow::Result<Vec<TransactionRecord>> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), NS);
    let list = api
        .list(&ListParams::default().labels(&format!("{RECORD_LABEL}=true")))
        .await?;
    list.items
        .iter()
        .map(|cm| Ok(Entry::read(cm)?.record))
        .collect()
}

/// The one record in the journal.
async fn current(client: &Client) -> anyhow::Result<TransactionRecord> {
    let mut records = journal(client).await?;
    ensure!(
        records.len() == 1,
        "{} records in the journal",
        records.len()
    );
    records.pop().context("record")
}

/// Polls `check` every 10 ms (tighter than `eventually`: the phases last a second).
pub(crate) async fn poll<T, F, Fut>(check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    ferrule_e2e::eventually_every(WAIT, Duration::from_millis(10), check).await
}

pub(crate) fn subscription(name: &str, port: &str) -> Value {
    json!({"apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "Subscription",
           "metadata": {"name": name, "namespace": NS},
           "spec": {"customer": "ana", "product": "fibre-500",
                    "access": {"device": "olt1", "port": port}}})
}

/// Server-side applies one object.
pub(crate) async fn apply(client: &Client, object: Value) -> anyhow::Result<()> {
    let api_version = object["apiVersion"].as_str().context("apiVersion")?;
    let kind = object["kind"].as_str().context("kind")?;
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    let name = object["metadata"]["name"].as_str().context("name")?;
    let api: Api<DynamicObject> = match object["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    api.patch(
        name,
        &PatchParams::apply("crash-drill"),
        &Patch::Apply(&object),
    )
    .await?;
    Ok(())
}

/// The tenant: credentials, a product, a customer, olt1 (its BNG is bng1) and the pools.
pub(crate) async fn seed(client: &Client, netsim: &Netsim) -> anyhow::Result<()> {
    apply(
        client,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
    )
    .await?;
    let objects = [
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "netsim-admin", "namespace": NS},
               "type": "ferrule.dev/device-credentials",
               "stringData": {"username": "admin", "password": "admin"}}),
        product_fibre_500(),
        customer_ana(),
        json!({"apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "ResourcePool",
               "metadata": {"name": "olt1-vlans", "namespace": NS},
               "spec": {"type": "Vlan", "vlan": {"from": 1200, "to": 1299},
                        "selector": {"devices": ["olt1"]}}}),
        json!({"apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "ResourcePool",
               "metadata": {"name": "bng-v4", "namespace": NS},
               "spec": {"type": "IPv4", "ipv4": {"cidr": "100.64.0.0/24", "prefixLength": 30},
                        "selector": {"roles": ["bng"]}}}),
    ];
    for object in objects {
        apply(client, object).await?;
    }
    for (name, role, extra) in [
        (
            "olt1",
            "access",
            json!({"ports": ["ge-0/0/1", "ge-0/0/2", "ge-0/0/3"], "bng": "bng1",
                   "bngPort": "xe-0/0/1"}),
        ),
        ("bng1", "bng", json!({})),
    ] {
        let mut spec = json!({
            "address": netsim.addr(name).context("address")?.to_string(),
            "hostKey": netsim.fingerprint(name).context("fingerprint")?,
            "profile": "ietf", "credentialsSecret": "netsim-admin", "role": role, "site": "lis"
        });
        if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
            spec.extend(extra.clone());
        }
        apply(
            client,
            json!({"apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "Device",
                   "metadata": {"name": name, "namespace": NS}, "spec": spec}),
        )
        .await?;
    }
    Ok(())
}

#[test]
fn subinterfaces_are_read_from_running() {
    let running = "<interfaces><interface><name>ge-0/0/1</name></interface>\
                   <interface><name>ge-0/0/1.1200</name></interface>\
                   <interface><name>ge-0/0/2.1201</name></interface></interfaces>";
    assert_eq!(subinterfaces(running), ["ge-0/0/1.1200", "ge-0/0/2.1201"]);
}

/// The product every subscription of these tests is for.
pub(crate) fn product_fibre_500() -> serde_json::Value {
    json!({"apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "Product",
           "metadata": {"name": "fibre-500", "namespace": NS},
           "spec": {"displayName": "Fibre 500", "serviceType": "internet-access",
                    "parameters": {"downMbps": 500, "upMbps": 100},
                    "pricing": {"currency": "EUR", "monthly": "39.90"}}})
}

/// The customer every subscription of these tests belongs to.
pub(crate) fn customer_ana() -> serde_json::Value {
    json!({"apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "Customer",
           "metadata": {"name": "ana", "namespace": NS},
           "spec": {"displayName": "Ana", "contact": {"email": "ana@example.com"},
                    "billing": {"currency": "EUR", "cycleDay": 1}}})
}

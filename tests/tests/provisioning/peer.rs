//! A Subscription on a Device that is a real third-party NETCONF server (netconfd behind
//! OpenSSH, started by `.ci/netconf-peer.sh`), provisioned, modified, suspended and
//! terminated through orders. After each step the server's running config is read back over
//! a session of its own and must hold exactly the expected entries.
//!
//! The server has no BNG: its site has no bng-role Device, so the service is configured on
//! it alone (role standalone: sub-interface and gateway address), with the VLAN and the
//! subnet from pools that select it.

use anyhow::{Context as _, ensure};
use ferrule_crds::condition::{find_condition, types};
use ferrule_crds::{Device, ResourcePool, Subscription};
use ferrule_e2e::eventually;
use ferrule_netconf::client::{DeviceSession, NetconfSession};
use ferrule_netconf::rpc::{Datastore, Filter};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

use crate::lab::{IF_NS, Lab, NS, WAIT};
use crate::netconf_peer::{Peer, peers};
use crate::readback::{Interface, interfaces};

const DEVICE: &str = "netconfd";
const PORT: &str = "ge-9/0/1";
const UNIT: &str = "ge-9/0/1.3100";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a NETCONF peer: FERRULE_NETCONF_PEER_ENV"]
async fn a_subscription_on_a_real_netconf_server_through_its_lifecycle() -> anyhow::Result<()> {
    let peers = peers(1);
    let peer = peers[0].clone();
    // The peer's datastore outlives the test: drop what an interrupted run left behind.
    remove_units(&peer).await?;
    let baseline = running(&peer).await?;
    Lab::run(async move |lab: &Lab| real_server_scenario(lab, &peer, &baseline).await).await
}

async fn real_server_scenario(
    lab: &Lab,
    peer: &Peer,
    baseline: &[Interface],
) -> anyhow::Result<()> {
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "netconfd-login", "namespace": NS},
        "type": "ferrule.dev/device-credentials",
        "stringData": {"username": peer.user, "password": peer.env.password}
    }))?;
    Api::<Secret>::namespaced(lab.client.clone(), NS)
        .create(&PostParams::default(), &secret)
        .await?;
    lab.create::<Device>(json!({
        "apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "Device",
        "metadata": {"name": DEVICE, "namespace": NS},
        "spec": {"address": peer.env.address(), "profile": "ietf",
                 "credentialsSecret": "netconfd-login", "hostKey": peer.fingerprint,
                 "role": "access", "site": "lab", "ports": [PORT]}
    }))
    .await?;
    for (name, spec) in [
        (
            "netconfd-vlans",
            json!({"type": "Vlan", "vlan": {"from": 3100, "to": 3109}}),
        ),
        (
            "netconfd-v4",
            json!({"type": "IPv4", "ipv4": {"cidr": "198.51.100.0/28", "prefixLength": 30}}),
        ),
    ] {
        let mut spec = spec;
        spec["selector"] = json!({"devices": [DEVICE]});
        lab.create::<ResourcePool>(json!({
            "apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "ResourcePool",
            "metadata": {"name": name, "namespace": NS}, "spec": spec
        }))
        .await?;
    }
    let entry = |description: &str, enabled: &str| Interface {
        name: UNIT.to_owned(),
        description: Some(description.to_owned()),
        kind: Some("l2vlan".to_owned()),
        enabled: Some(enabled.to_owned()),
        addresses: vec!["198.51.100.1/30".to_owned()],
    };

    // Add.
    let add = json!({"action": "Add", "subscription": "home", "product": "fibre-500",
                     "access": {"device": DEVICE, "port": PORT}});
    let added = step(lab, "p-add", add, "Active").await?;
    let status = added.status.clone().context("status")?;
    let allocations = status.allocations.context("allocations")?;
    assert_eq!(allocations.vlan, Some(3100));
    assert_eq!(allocations.ipv4.as_deref(), Some("198.51.100.1/30"));
    let devices: Vec<&str> = status.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(devices, [DEVICE], "configured on the server alone");
    let home = entry("cust ana sub home 500/100 Mbps", "true");
    expect_running(peer, baseline, Some(home)).await?;
    in_sync(lab).await?;

    // Modify: a product with other rates changes the entry in place.
    let modify = json!({"action": "Modify", "subscription": "home", "product": "fibre-1000"});
    let modified = step(lab, "p-modify", modify, "Active").await?;
    let before = &added.status.context("status")?.devices[0];
    let after = &modified.status.context("status")?.devices[0];
    assert_ne!(before.digest, after.digest);
    assert_ne!(before.transaction, after.transaction);
    let home = entry("cust ana sub home 1000/100 Mbps", "true");
    expect_running(peer, baseline, Some(home)).await?;
    in_sync(lab).await?;

    // Suspend: the suspended variant of the same entry.
    let suspend = json!({"action": "Suspend", "subscription": "home"});
    step(lab, "p-suspend", suspend, "Suspended").await?;
    expect_running(
        peer,
        baseline,
        Some(entry("cust ana sub home 1000/100 Mbps suspended", "false")),
    )
    .await?;

    // Terminate: the server is back to what it held before, and the claims are released.
    lab.order(
        "p-terminate",
        json!([{"action": "Terminate", "subscription": "home"}]),
    )
    .await?;
    lab.order_state("p-terminate", "Completed").await?;
    ensure!(
        lab.get::<Subscription>("home").await.is_none(),
        "home is gone"
    );
    expect_running(peer, baseline, None).await?;
    eventually(WAIT, || async {
        let left: Vec<String> = lab
            .claims()
            .await
            .into_iter()
            .filter(|c| c.starts_with("netconfd-"))
            .collect();
        left.is_empty().then_some(())
    })
    .await
    .context("claims released")?;
    Ok(())
}

/// Orders `item` and waits for the order to complete and the subscription to be Ready with
/// `reason`.
async fn step(lab: &Lab, order: &str, item: Value, reason: &str) -> anyhow::Result<Subscription> {
    lab.order(order, json!([item])).await?;
    lab.order_state(order, "Completed").await?;
    lab.ready_reason("home", reason).await
}

/// The running config holds the baseline plus `entry`, nothing else.
async fn expect_running(
    peer: &Peer,
    baseline: &[Interface],
    entry: Option<Interface>,
) -> anyhow::Result<()> {
    let mut expected = baseline.to_vec();
    expected.extend(entry);
    expected.sort();
    let found = running(peer).await?;
    ensure!(
        found == expected,
        "running config of the server:\n{found:#?}\nexpected:\n{expected:#?}"
    );
    Ok(())
}

/// Two drift checks of the server's Device end after this call (so at least one ran wholly
/// after the last commit) and find the owned config as recorded.
async fn in_sync(lab: &Lab) -> anyhow::Result<()> {
    let checked = |device: &Device| {
        let drift = device.status.as_ref()?.drift.as_ref()?;
        Some((drift.checked_at, drift.detected))
    };
    let mut seen = lab
        .get::<Device>(DEVICE)
        .await
        .and_then(|d| checked(&d).map(|c| c.0));
    for _ in 0..2 {
        let device = eventually(WAIT, || async {
            let device: Device = lab.get(DEVICE).await?;
            let (at, _) = checked(&device)?;
            (Some(at) != seen).then_some(device)
        })
        .await;
        let Ok(device) = device else {
            let device = lab.get::<Device>(DEVICE).await;
            anyhow::bail!(
                "no drift check of the server ended: {:?}",
                device.and_then(|d| d.status)
            );
        };
        seen = checked(&device).map(|c| c.0);
        let status = device.status.context("status")?;
        let drift = status.drift.context("drift")?;
        ensure!(
            !drift.detected,
            "false drift on the server: {:?}",
            drift.entries
        );
        let sync = find_condition(&status.conditions, types::IN_SYNC).context("InSync")?;
        ensure!(sync.reason == "InSync", "{sync:?}");
    }
    Ok(())
}

/// Every interface in the server's running config, read over a new session.
async fn running(peer: &Peer) -> anyhow::Result<Vec<Interface>> {
    let mut session = NetconfSession::connect(&peer.config_password()).await?;
    let filter = Filter::Subtree(format!(r#"<interfaces xmlns="{IF_NS}"/>"#));
    let data = session.get_config(Datastore::Running, Some(filter)).await?;
    session.close().await;
    Ok(interfaces(&data))
}

/// Removes every sub-interface of the test's port from the server.
async fn remove_units(peer: &Peer) -> anyhow::Result<()> {
    let names: Vec<String> = running(peer)
        .await?
        .into_iter()
        .map(|i| i.name)
        .filter(|n| n.starts_with(&format!("{PORT}.")))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut session = NetconfSession::connect(&peer.config_password()).await?;
    peer.cleanup(&mut session, &names).await;
    session.close().await;
    Ok(())
}

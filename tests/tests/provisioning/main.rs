//! Provisioning end to end, in one process: the embedded API server, simulated NETCONF
//! devices, and the Subscription, ServiceOrder, Device and ResourcePool controllers with the
//! real NETCONF edge (SSH sessions, pinned host keys, confirmed-commit transactions). The
//! drills of `race` and `peer` add devices: many simulated ports, and a real NETCONF server.

mod lab;
// The peer helpers of the NETCONF interop tests: one reading of `FERRULE_NETCONF_PEER_ENV` and
// `FERRULE_REQUIRE_PEERS` for every test that needs a real server.
#[path = "../../../crates/netconf/tests/netconf_interop/peer.rs"]
mod netconf_peer;
mod peer;
mod race;
mod readback;

use anyhow::Context as _;
use ferrule_crds::condition::{find_condition, types};
use ferrule_crds::{Alarm, Customer, Device, ResourcePool, Subscription};
use ferrule_e2e::eventually;
use ferrule_netsim::CommitRejection;
use ferrule_provisioning::plan::cluster::plan_documents;
use ferrule_provisioning::plan::manifests::Document;
use ferrule_render::Renderer;
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use lab::{IF_NS, Lab, NS, WAIT};

fn add(sub: &str, device: &str, port: &str) -> Value {
    json!({"action": "Add", "subscription": sub, "product": "fibre-500",
           "access": {"device": device, "port": port}})
}

/// A Subscription on olt1 applied directly (GitOps, kubectl), not through an order.
fn direct(name: &str, product: &str, port: &str) -> Value {
    json!({"apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "Subscription",
           "metadata": {"name": name, "namespace": NS},
           "spec": {"customer": "ana", "product": product,
                    "access": {"device": "olt1", "port": port}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_configure_devices_through_the_whole_lifecycle() -> anyhow::Result<()> {
    Lab::run(orders_configure_devices_through_the_whole_lifecycle_scenario).await
}

async fn orders_configure_devices_through_the_whole_lifecycle_scenario(
    lab: &Lab,
) -> anyhow::Result<()> {
    // The dry run shows the claims and payloads the order will produce, and changes nothing.
    let order = json!({"apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "ServiceOrder",
        "metadata": {"name": "o-add", "namespace": NS},
        "spec": {"customer": "ana", "items": [add("ana-home", "olt1", "ge-0/0/1")]}});
    let docs = vec![Document {
        origin: "test".into(),
        object: order,
    }];
    let renderer = Renderer::builtin()?;
    let plans = plan_documents(&lab.client, &renderer, &docs).await?;
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].problem, None);
    let planned: Vec<&str> = plans[0].claims.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(planned, ["olt1-vlans.1200", "lis-v4.100-64-0-0"]);
    let payload = plans[0].devices[1]
        .payload
        .clone()
        .context("bng1 payload")?;
    assert!(
        payload.contains("xe-0/0/1.1200") && payload.contains("100.64.0.1"),
        "{payload}"
    );
    assert!(lab.claims().await.is_empty(), "a plan creates no claim");
    assert!(
        !lab.running("olt1").contains("ge-0/0/1.1200"),
        "a plan pushes nothing"
    );

    lab.order("o-add", json!([add("ana-home", "olt1", "ge-0/0/1")]))
        .await?;
    lab.order_state("o-add", "Completed").await?;
    let sub = lab.ready_reason("ana-home", "Active").await?;
    let status = sub.status.clone().context("status")?;
    let allocations = status.allocations.context("allocations")?;
    assert_eq!(allocations.vlan, Some(1200));
    assert_eq!(allocations.ipv4.as_deref(), Some("100.64.0.1/30"));
    let devices: Vec<&str> = status.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(devices, ["olt1", "bng1"]);
    assert_eq!(
        status.devices[0].transaction, status.devices[1].transaction,
        "one transaction"
    );
    assert!(lab.running("olt1").contains("<name>ge-0/0/1.1200</name>"));
    let bng = lab.running("bng1");
    assert!(
        bng.contains("<name>xe-0/0/1.1200</name>") && bng.contains("<ip>100.64.0.1</ip>"),
        "{bng}"
    );
    assert_eq!(
        lab.claims().await,
        ["lis-v4.100-64-0-0", "olt1-vlans.1200"],
        "one claim per allocated value"
    );
    let sub_labels = sub.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        sub_labels.get("bss.ferrule.dev/order").map(String::as_str),
        Some("o-add")
    );
    let pool: ResourcePool = eventually(WAIT, || async {
        let pool: ResourcePool = lab.get("olt1-vlans").await?;
        (pool.status.as_ref()?.allocated == Some(1)).then_some(pool)
    })
    .await?;
    assert_eq!(pool.status.and_then(|s| s.free), Some(99));

    // Re-applying the same Add in another order is idempotent; a second Add on the same port
    // by another subscription is rejected.
    lab.order(
        "o-again",
        json!([
            add("ana-home", "olt1", "ge-0/0/1"),
            add("ana-other", "olt1", "ge-0/0/1")
        ]),
    )
    .await?;
    let order = lab.order_state("o-again", "Partial").await?;
    let items = order.status.context("status")?.items;
    assert_eq!(serde_json::to_value(items[0].state)?, json!("Completed"));
    assert_eq!(serde_json::to_value(items[1].state)?, json!("Rejected"));
    assert_eq!(
        items[1].message.as_deref(),
        Some("port ge-0/0/1 of Device olt1 is used by Subscription ana-home")
    );
    assert_eq!(items[1].reason.as_deref(), Some("PortInUse"));
    assert_eq!(items[0].reason, None);

    // Modify: only the difference goes to the devices.
    lab.order(
        "o-modify",
        json!([{"action": "Modify", "subscription": "ana-home", "product": "fibre-1000"}]),
    )
    .await?;
    lab.order_state("o-modify", "Completed").await?;
    let modified = lab.ready_reason("ana-home", "Active").await?;
    assert!(lab.running("olt1").contains("1000/100 Mbps"));
    let before = &status.devices[0];
    let after = &modified.status.context("status")?.devices[0];
    assert_ne!(before.digest, after.digest);
    assert_ne!(before.transaction, after.transaction);

    // Suspend renders the suspended variant; Resume brings it back.
    lab.order(
        "o-suspend",
        json!([{"action": "Suspend", "subscription": "ana-home"}]),
    )
    .await?;
    lab.order_state("o-suspend", "Completed").await?;
    lab.ready_reason("ana-home", "Suspended").await?;
    assert!(lab.running("olt1").contains("<enabled>false</enabled>"));
    lab.order(
        "o-resume",
        json!([{"action": "Resume", "subscription": "ana-home"}]),
    )
    .await?;
    lab.order_state("o-resume", "Completed").await?;
    lab.ready_reason("ana-home", "Active").await?;
    assert!(lab.running("olt1").contains("<enabled>true</enabled>"));

    // Terminate removes exactly the subscription's entries and releases its claims.
    lab.netsim.control().edit_running(
        "olt1",
        &format!(
            "<interfaces xmlns=\"{IF_NS}\"><interface><name>mgmt0</name></interface></interfaces>"
        ),
        "merge",
    )?;
    lab.order(
        "o-terminate",
        json!([{"action": "Terminate", "subscription": "ana-home"}]),
    )
    .await?;
    lab.order_state("o-terminate", "Completed").await?;
    assert!(lab.get::<Subscription>("ana-home").await.is_none());
    let olt1 = lab.running("olt1");
    assert!(
        !olt1.contains("ge-0/0/1.1200") && olt1.contains("mgmt0"),
        "{olt1}"
    );
    assert!(!lab.running("bng1").contains("xe-0/0/1.1200"));
    eventually(WAIT, || async {
        lab.claims().await.is_empty().then_some(())
    })
    .await?;

    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_reported_and_retried() -> anyhow::Result<()> {
    Lab::run(failures_are_reported_and_retried_scenario).await
}

async fn failures_are_reported_and_retried_scenario(lab: &Lab) -> anyhow::Result<()> {
    // A device rejecting the commit: every device is rolled back, the rpc-error is shown
    // verbatim, and the retry succeeds.
    lab.netsim.control().reject_next_commit(
        "bng1",
        CommitRejection {
            error_tag: "operation-failed".into(),
            message: "subscriber table full".into(),
        },
    )?;
    lab.order("o1", json!([add("s1", "olt1", "ge-0/0/1")]))
        .await?;
    let failed = lab.ready_reason("s1", "DeviceRejected").await?;
    let ready = find_condition(
        &failed.status.as_ref().context("status")?.conditions,
        types::READY,
    )
    .context("ready")?
    .clone();
    assert!(
        ready.message.contains("operation-failed")
            && ready.message.contains("subscriber table full"),
        "{}",
        ready.message
    );
    assert!(ready.message.contains("Device bng1"), "{}", ready.message);
    lab.ready_reason("s1", "Active").await?;

    // A pool of one VLAN: the second subscription waits, and gets the value when it is freed.
    lab.order("o2", json!([add("s2", "olt2", "ge-0/0/1")]))
        .await?;
    lab.ready_reason("s2", "Active").await?;
    lab.order("o3", json!([add("s3", "olt2", "ge-0/0/2")]))
        .await?;
    let exhausted = lab.ready_reason("s3", "PoolExhausted").await?;
    let message = find_condition(
        &exhausted.status.context("status")?.conditions,
        types::READY,
    )
    .map(|c| c.message.clone())
    .unwrap_or_default();
    assert_eq!(
        message,
        "VLAN pools olt2-vlans of Device olt2 are exhausted"
    );
    lab.order_state("o3", "Failed").await?;
    Api::<Subscription>::namespaced(lab.client.clone(), NS)
        .delete("s2", &DeleteParams::default())
        .await?;
    let s3 = lab.ready_reason("s3", "Active").await?;
    assert_eq!(
        s3.status.and_then(|s| s.allocations).and_then(|a| a.vlan),
        Some(1300)
    );

    // Maintenance holds pushes for the device until it is cleared.
    let devices: Api<Device> = Api::namespaced(lab.client.clone(), NS);
    let maintenance = |on: bool| json!({"spec": {"maintenance": on}});
    devices
        .patch(
            "olt1",
            &PatchParams::default(),
            &Patch::Merge(&maintenance(true)),
        )
        .await?;
    lab.order("o4", json!([add("s4", "olt1", "ge-0/0/2")]))
        .await?;
    lab.ready_reason("s4", "Maintenance").await?;
    assert!(!lab.running("olt1").contains("ge-0/0/2."));
    devices
        .patch(
            "olt1",
            &PatchParams::default(),
            &Patch::Merge(&maintenance(false)),
        )
        .await?;
    lab.ready_reason("s4", "Active").await?;
    assert!(lab.running("olt1").contains("ge-0/0/2."));

    // Invalid intent is a condition, not a crash loop.
    lab.create::<Subscription>(direct("s5", "no-such-product", "ge-0/0/1"))
        .await?;
    lab.ready_reason("s5", "UnknownProduct").await?;

    // Deleting while a device is unreachable keeps the subscription (and its claims) until
    // its configuration is removed.
    lab.netsim.control().set_reachable("olt2", false)?;
    let subs: Api<Subscription> = Api::namespaced(lab.client.clone(), NS);
    subs.delete("s3", &DeleteParams::default()).await?;
    let waiting = lab.ready_reason("s3", "Terminating").await?;
    let message = find_condition(&waiting.status.context("status")?.conditions, types::READY)
        .map(|c| c.message.clone())
        .unwrap_or_default();
    assert!(message.contains("olt2"), "{message}");
    assert!(lab.running("olt2").contains("ge-0/0/2.1300"));
    assert!(lab.claims().await.contains(&"olt2-vlans.1300".to_owned()));
    lab.netsim.control().set_reachable("olt2", true)?;
    eventually(WAIT, || async {
        lab.get::<Subscription>("s3").await.is_none().then_some(())
    })
    .await
    .context("s3 removed once olt2 is back")?;
    assert!(!lab.running("olt2").contains("ge-0/0/2.1300"));
    assert!(!lab.claims().await.contains(&"olt2-vlans.1300".to_owned()));

    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_report_reachability_and_drift() -> anyhow::Result<()> {
    Lab::run(devices_report_reachability_and_drift_scenario).await
}

async fn devices_report_reachability_and_drift_scenario(lab: &Lab) -> anyhow::Result<()> {
    lab.order(
        "o1",
        json!([add("s1", "olt1", "ge-0/0/1"), add("s2", "olt2", "ge-0/0/1")]),
    )
    .await?;
    lab.order_state("o1", "Completed").await?;

    let connected = |name: &'static str| {
        let lab = &lab;
        async move {
            let device: Device = lab.get(name).await?;
            let status = device.status?;
            let phase = serde_json::to_value(status.phase?).ok()?;
            (phase == json!("Connected") && !status.capabilities.is_empty()).then_some(())
        }
    };
    eventually(WAIT, || connected("olt1"))
        .await
        .context("olt1 connected")?;
    eventually(WAIT, || connected("olt2"))
        .await
        .context("olt2 connected")?;

    // Drift on a Repair device is put back; on a Report device it raises an alarm.
    let disable = |name: &str| {
        format!(
            "<interfaces xmlns=\"{IF_NS}\"><interface><name>{name}</name><enabled>false</enabled></interface></interfaces>"
        )
    };
    lab.netsim
        .control()
        .edit_running("olt1", &disable("ge-0/0/1.1200"), "merge")?;
    lab.netsim
        .control()
        .edit_running("olt2", &disable("ge-0/0/1.1300"), "merge")?;
    eventually(WAIT, || async {
        let running = lab.running("olt1");
        let entry = running
            .split("ge-0/0/1.1200")
            .nth(1)?
            .split("</interface>")
            .next()?
            .to_owned();
        entry.contains("<enabled>true</enabled>").then_some(())
    })
    .await
    .context("olt1 was not repaired")?;
    let alarm: Alarm = eventually(WAIT, || async {
        let alarm: Alarm = lab.get("olt2-configdrift").await?;
        let severity = serde_json::to_value(alarm.status.as_ref()?.severity?).ok()?;
        (severity == json!("Major")).then_some(alarm)
    })
    .await
    .context("olt2 drift alarm")?;
    let status = alarm.status.context("alarm status")?;
    assert_eq!(status.affected_subscriptions, ["s2"]);
    let olt2: Device = eventually(WAIT, || async {
        let device: Device = lab.get("olt2").await?;
        device
            .status
            .as_ref()?
            .drift
            .as_ref()?
            .detected
            .then_some(device)
    })
    .await?;
    let sync = find_condition(&olt2.status.context("status")?.conditions, types::IN_SYNC)
        .context("InSync")?
        .clone();
    assert_eq!(sync.reason, "ConfigDrift");
    assert!(sync.message.contains("ge-0/0/1.1300"), "{}", sync.message);
    assert!(
        lab.running("olt2").contains("<enabled>false</enabled>"),
        "Report does not repair"
    );

    // A host key other than the pinned one is refused.
    let devices: Api<Device> = Api::namespaced(lab.client.clone(), NS);
    let wrong = json!({"spec": {"hostKey": "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}});
    devices
        .patch("olt2", &PatchParams::default(), &Patch::Merge(&wrong))
        .await?;
    eventually(WAIT, || async {
        let device: Device = lab.get("olt2").await?;
        let reachable = find_condition(&device.status?.conditions, types::REACHABLE)?.clone();
        (reachable.reason == "HostKeyMismatch").then_some(())
    })
    .await
    .context("host key mismatch reported")?;

    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_only_use_secrets_made_for_them() -> anyhow::Result<()> {
    Lab::run(devices_only_use_secrets_made_for_them_scenario).await
}

/// Whoever may write Devices can name any Secret of the namespace and any address: a Secret
/// that is not of the device-credentials type is refused before anything is sent.
async fn devices_only_use_secrets_made_for_them_scenario(lab: &Lab) -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::PostParams;
    // The address a Device author controls: any connection to it is a leak.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?.to_string();
    let secrets: Api<Secret> = Api::namespaced(lab.client.clone(), NS);
    for (name, type_) in [
        ("db-password", "Opaque"),
        ("trap-login", ferrule_crds::CREDENTIALS_SECRET_TYPE),
    ] {
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": NS}, "type": type_,
            "stringData": {"username": "admin", "password": "admin"}}))?;
        secrets.create(&PostParams::default(), &secret).await?;
    }
    lab.create::<Device>(json!({
        "apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "Device",
        "metadata": {"name": "trap", "namespace": NS},
        "spec": {"address": address, "profile": "ietf", "credentialsSecret": "db-password",
                 "insecureSkipHostKeyVerification": true, "role": "access", "site": "lis"}
    }))
    .await?;
    let refused = eventually(WAIT, || async {
        let device: Device = lab.get("trap").await?;
        let reachable = find_condition(&device.status?.conditions, types::REACHABLE)?.clone();
        (reachable.reason == "CredentialsNotPermitted").then_some(reachable)
    })
    .await
    .context("a plain Secret is refused with CredentialsNotPermitted")?;
    assert!(
        refused.message.contains("db-password")
            && refused
                .message
                .contains("type: ferrule.dev/device-credentials"),
        "the message names the Secret and what to add: {}",
        refused.message
    );
    // The refusal came before any connection: nothing reached the address.
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok((_, peer)) => anyhow::bail!("the Device's address got a connection from {peer}"),
        Err(e) => return Err(e.into()),
    }

    // A Secret made for devices is used: the same address now gets the connection, so the
    // check above could see one.
    let devices: Api<Device> = Api::namespaced(lab.client.clone(), NS);
    let fixed = json!({"spec": {"credentialsSecret": "trap-login"}});
    devices
        .patch("trap", &PatchParams::default(), &Patch::Merge(&fixed))
        .await?;
    eventually(WAIT, || async { listener.accept().ok().map(drop) })
        .await
        .context("the Device with a device-credentials Secret connects")?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_for_a_closed_customer_are_rejected() -> anyhow::Result<()> {
    Lab::run(orders_for_a_closed_customer_are_rejected_scenario).await
}

async fn orders_for_a_closed_customer_are_rejected_scenario(lab: &Lab) -> anyhow::Result<()> {
    let customer = |name: &str| {
        json!({"apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "Customer",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"displayName": name, "contact": {"email": format!("{name}@example.com")},
                     "billing": {"currency": "EUR", "cycleDay": 1}}})
    };
    lab.create::<Customer>(customer("zoe")).await?;
    let customers: Api<Customer> = Api::namespaced(lab.client.clone(), NS);
    customers
        .patch_status(
            "zoe",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Closed"}})),
        )
        .await?;
    // The order follows the close at once: the decision must not rest on a cache that has
    // not seen the close yet.
    lab.order_for(
        "zoe",
        "o-zoe",
        json!([add("z1", "olt1", "ge-0/0/1"), add("z2", "olt2", "ge-0/0/1")]),
    )
    .await?;
    // Likewise an order right behind the creation of its customer is accepted.
    lab.create::<Customer>(customer("bob")).await?;
    lab.order_for("bob", "o-bob", json!([add("b1", "olt1", "ge-0/0/2")]))
        .await?;

    let rejected = lab.order_state("o-zoe", "Rejected").await?;
    let status = rejected.status.context("status")?;
    assert_eq!(status.items.len(), 2);
    for (item, sub) in status.items.iter().zip(["z1", "z2"]) {
        assert_eq!(item.subscription, sub);
        assert_eq!(serde_json::to_value(item.state)?, json!("Rejected"));
        assert_eq!(item.message.as_deref(), Some("Customer zoe is Closed"));
        assert_eq!(item.reason.as_deref(), Some("CustomerClosed"));
    }
    let ready = find_condition(&status.conditions, types::READY).context("Ready")?;
    assert_eq!(
        (ready.reason.as_str(), ready.message.as_str()),
        ("Rejected", "Customer zoe is Closed")
    );
    // Events: the order's rejection and its items' (the recorder folds the items' Events,
    // alike but for the subscription named in the note, into one series).
    let events: Api<Event> = Api::namespaced(lab.client.clone(), NS);
    let warnings: Vec<Event> = eventually(WAIT, || async {
        let list = events
            .list(&ListParams::default().fields("involvedObject.name=o-zoe,type=Warning"))
            .await
            .ok()?;
        let mut reasons: Vec<&str> = list
            .items
            .iter()
            .filter_map(|e| e.reason.as_deref())
            .collect();
        reasons.sort();
        (reasons == ["ItemRejected", "Rejected"]).then_some(list.items)
    })
    .await
    .context("a Warning for the rejected order and its items")?;
    assert!(
        warnings.iter().all(|e| e
            .message
            .as_deref()
            .is_some_and(|m| m.contains("Customer zoe is Closed"))),
        "{warnings:?}"
    );

    // bob's order completing shows the controllers went past zoe's: nothing was created for
    // her, nothing was claimed or configured.
    lab.order_state("o-bob", "Completed").await?;
    for sub in ["z1", "z2"] {
        assert!(lab.get::<Subscription>(sub).await.is_none(), "{sub} exists");
    }
    assert_eq!(lab.claims().await, ["lis-v4.100-64-0-0", "olt1-vlans.1200"]);
    assert!(!lab.running("olt1").contains("ge-0/0/1."));
    assert!(!lab.running("olt2").contains("ge-0/0/1."));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_in_use_is_refused() -> anyhow::Result<()> {
    Lab::run(a_port_in_use_is_refused_scenario).await
}

async fn a_port_in_use_is_refused_scenario(lab: &Lab) -> anyhow::Result<()> {
    lab.order("o-first", json!([add("first", "olt1", "ge-0/0/1")]))
        .await?;
    lab.ready_reason("first", "Active").await?;
    let before = lab.running("olt1");

    // An order for the same port: its item is rejected, with the holder named, and the order
    // fails (the order as a whole was valid: its customer exists and is open).
    lab.order("o-second", json!([add("second", "olt1", "ge-0/0/1")]))
        .await?;
    let failed = lab.order_state("o-second", "Failed").await?;
    let items = failed.status.context("status")?.items;
    assert_eq!(serde_json::to_value(items[0].state)?, json!("Rejected"));
    assert_eq!(
        items[0].message.as_deref(),
        Some("port ge-0/0/1 of Device olt1 is used by Subscription first")
    );
    assert!(lab.get::<Subscription>("second").await.is_none());

    // A Subscription applied directly (GitOps, kubectl) on the port: a clear condition, no
    // claim, nothing pushed; the older subscription keeps the port.
    lab.create::<Subscription>(direct("direct", "fibre-500", "ge-0/0/1"))
        .await?;
    let refused = lab.ready_reason("direct", "PortInUse").await?;
    let message = find_condition(&refused.status.context("status")?.conditions, types::READY)
        .map(|c| c.message.clone())
        .unwrap_or_default();
    assert_eq!(
        message,
        "port ge-0/0/1 of Device olt1 is used by Subscription first"
    );
    lab.ready_reason("first", "Active").await?;
    assert_eq!(lab.claims().await, ["lis-v4.100-64-0-0", "olt1-vlans.1200"]);
    assert_eq!(lab.running("olt1"), before);

    // Freeing the port lets the waiting subscription in, without anyone touching it.
    Api::<Subscription>::namespaced(lab.client.clone(), NS)
        .delete("first", &DeleteParams::default())
        .await?;
    lab.ready_reason("direct", "Active").await?;
    Ok(())
}

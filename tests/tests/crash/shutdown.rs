//! Ctrl-C of `ferrule up` while a Device is unreachable (its reconnects backing off) and a
//! network transaction is in flight on slow devices: the process exits within a bound, the
//! transaction cut short stays in the journal, whole, and the next start finishes it.
//!
//! Before the shutdown was bounded, the process waited for the Device's backoff delays
//! (0.5 s doubling per failure, up to 60 s) and for the transaction to finish.

use std::time::Duration;

use anyhow::{Context, ensure};
use ferrule_netsim::{DeviceSpec, Topology};
use serde_json::json;

use super::provisioning::{
    NS, apply, converged, customer_ana, journal, poll, product_fibre_500, seed, subscription,
};
use super::{interrupt, start, start_with_logs};

/// How long `ferrule up` may take to exit after SIGINT (it stops within about 5 s).
const EXIT: Duration = Duration::from_secs(15);
/// bng1 answers every RPC this late, so the transaction outlasts the shutdown grace period.
const SLOW: Duration = Duration::from_secs(3);
/// Failures after which the unreachable device's reconcile waits 16–32 s before its next
/// attempt (0.5 s × 2^6, the upper half), then 32–60 s.
const FAILURES: usize = 7;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_within_a_bound_and_leaves_the_journal_to_recovery() -> anyhow::Result<()> {
    let any = "127.0.0.1:0".parse()?;
    let mut olt1 = DeviceSpec::new("olt1", any);
    olt1.ports = vec!["ge-0/0/1".into()];
    let mut bng1 = DeviceSpec::new("bng1", any);
    bng1.ports = vec!["xe-0/0/1".into()];
    let netsim = ferrule_netsim::start(Topology::new(vec![olt1, bng1])?).await?;
    let control = netsim.control();
    // A port where nothing listens any more.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()?
    };

    let data = tempfile::tempdir()?;
    let (mut up, client) = start_with_logs(data.path()).await?;
    let mut logs = up.logs.take().context("log lines")?;
    seed(&client, &netsim).await?;
    apply(
        &client,
        json!({"apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "Device",
               "metadata": {"name": "dead1", "namespace": NS},
               "spec": {"address": closed.to_string(), "profile": "ietf",
                        "credentialsSecret": "netsim-admin",
                        "insecureSkipHostKeyVerification": true,
                        "role": "access", "site": "far", "ports": ["ge-0/0/1"]}}),
    )
    .await?;
    let failures = tokio::time::timeout(Duration::from_secs(180), async {
        let mut seen = 0;
        while seen < FAILURES {
            let line = logs.recv().await.context("the child's log ended")?;
            if line.contains("session open failed") && line.contains("dead1") {
                seen += 1;
            }
        }
        anyhow::Ok(seen)
    })
    .await
    .context("dead1 did not fail often enough")??;
    ensure!(failures == FAILURES);

    control.set_latency("bng1", SLOW)?;
    apply(&client, subscription("s0", "ge-0/0/1")).await?;
    let record = poll(|| async { journal(&client).await.ok()?.into_iter().next() }).await?;

    let status = interrupt(&mut up.child, EXIT).await?;
    ensure!(
        status.success(),
        "ferrule up did not stop cleanly: {status}"
    );
    control.set_latency("bng1", Duration::ZERO)?;

    // The journal as it was left, read by an API server without controllers (no recovery):
    // the transaction cut short is there, and every record reads whole.
    {
        let server = ferrule_e2e::start_server(data.path()).await?;
        let left = journal(&server.client().await?).await?;
        server.shutdown().await;
        ensure!(
            left.iter().any(|r| r.id == record.id),
            "the transaction cut short ({}) is not in the journal: {left:?}",
            record.id
        );
    }

    // The next start finishes it: no record stuck, the subscription converges, the devices
    // hold exactly its entries and no confirmed commit is left pending.
    let (mut child, client) = start(data.path()).await?;
    let left = journal(&client).await?;
    ensure!(
        !left.iter().any(|r| r.id == record.id),
        "the record of {} is still in the journal after the restart",
        record.id
    );
    converged(&client, &netsim, 1).await?;
    let status = interrupt(&mut child, EXIT).await?;
    ensure!(
        status.success(),
        "ferrule up did not stop cleanly: {status}"
    );
    netsim.shutdown().await;
    Ok(())
}

/// `ferrule up --apply` waits for the applied manifests to settle; Ctrl-C during that wait
/// (a subscription on an unreachable device never settles) stops it in order too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_while_waiting_for_applied_manifests_stops_in_order() -> anyhow::Result<()> {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()?
    };
    let data = tempfile::tempdir()?;
    let objects = [
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "admin", "namespace": NS},
               "type": ferrule_crds::CREDENTIALS_SECRET_TYPE,
               "stringData": {"username": "admin", "password": "admin"}}),
        product_fibre_500(),
        customer_ana(),
        json!({"apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "Device",
               "metadata": {"name": "olt1", "namespace": NS},
               "spec": {"address": closed.to_string(), "profile": "ietf",
                        "credentialsSecret": "admin",
                        "insecureSkipHostKeyVerification": true,
                        "role": "access", "site": "far", "ports": ["ge-0/0/1"]}}),
        json!({"apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "ResourcePool",
               "metadata": {"name": "olt1-vlans", "namespace": NS},
               "spec": {"type": "Vlan", "vlan": {"from": 1200, "to": 1299},
                        "selector": {"devices": ["olt1"]}}}),
        json!({"apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "ResourcePool",
               "metadata": {"name": "olt1-v4", "namespace": NS},
               "spec": {"type": "IPv4", "ipv4": {"cidr": "100.64.0.0/24", "prefixLength": 30},
                        "selector": {"devices": ["olt1"]}}}),
        subscription("s0", "ge-0/0/1"),
    ];
    let manifest = data.path().join("isp.yaml");
    let stream: Vec<String> = objects.iter().map(ToString::to_string).collect();
    std::fs::write(&manifest, stream.join("\n---\n"))?;
    let state = data.path().join("state");
    let args = [
        "up",
        "--data",
        state.to_str().context("path")?,
        "--api-listen",
        "127.0.0.1:0",
        "--http-listen",
        "127.0.0.1:0",
        "--apply",
        manifest.to_str().context("path")?,
        "--wait",
        "600",
    ];
    let mut up = ferrule_e2e::spawn_child("ferrule_up_child", &args, "applied").await?;
    let status = interrupt(&mut up.child, EXIT).await?;
    ensure!(
        status.success(),
        "ferrule up did not stop cleanly: {status}"
    );
    Ok(())
}

//! `ferrule run`, the cluster mode: the controllers in their own process against an existing
//! Kubernetes API whose administrator installed the CRDs with `kubectl apply -f crds/`, driven
//! with the real `kubectl` as an operator would. The API here is the embedded server in this
//! test process (any Kubernetes-compatible API serves; in production it is the cluster's).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, ensure};
use ferrule_apiserver::ApiServer;
use ferrule_e2e::{Kubectl, start_server};
use ferrule_netsim::{DeviceSpec, Netsim, Topology};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NS: &str = "isp";

/// In the child process: the `ferrule run` command line it was given. Ignored in a normal
/// test run; [`ferrule_e2e::spawn_child`] runs it with `--ignored --exact`.
#[test]
#[ignore = "child process of the cluster tests, started by spawn_child"]
fn ferrule_run_child() -> anyhow::Result<()> {
    ferrule_e2e::run_child()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferrule_run_provisions_against_an_existing_api() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let work = tempfile::tempdir()?;
    let (server, kubectl) = server_with_crds(dir.path(), work.path()).await?;

    let any = "127.0.0.1:0".parse()?;
    let mut olt1 = DeviceSpec::new("olt1", any);
    olt1.ports = vec!["ge-0/0/1".into()];
    let bng1 = DeviceSpec::new("bng1", any);
    let netsim = ferrule_netsim::start(Topology::new(vec![olt1, bng1])?).await?;
    let tenant = kubectl.manifest("tenant.yaml", &tenant(&netsim)?)?;
    kubectl.ok(&["apply", "-f", &tenant]).await?;

    let kubeconfig = server
        .kubeconfig_path()
        .to_str()
        .context("kubeconfig path")?
        .to_owned();
    let args = [
        "run",
        "--kubeconfig",
        &kubeconfig,
        "--namespace",
        NS,
        "--http-listen",
        "127.0.0.1:0",
    ];
    let mut run =
        ferrule_e2e::spawn_child("ferrule_run_child", &args, "ferrule is running").await?;
    let http = run
        .ready_line
        .rsplit("http://")
        .next()
        .context("HTTP address in the ready line")?
        .trim()
        .to_owned();
    ensure!(get(&http, "/readyz").await?.ends_with("ok"), "not ready");

    let order = kubectl.manifest(
        "order.yaml",
        "apiVersion: bss.ferrule.dev/v1alpha1\nkind: ServiceOrder\n\
         metadata: {name: o1, namespace: isp}\n\
         spec:\n  customer: ana\n  items:\n  - action: Add\n    subscription: ana-home\n\
         \x20   product: fibre-500\n    access: {device: olt1, port: ge-0/0/1}\n",
    )?;
    kubectl.ok(&["apply", "-f", &order]).await?;
    kubectl
        .ok(&[
            "wait",
            "-n",
            NS,
            "--for=jsonpath={.status.state}=Completed",
            "serviceorder/o1",
            "--timeout=60s",
        ])
        .await?;
    kubectl
        .ok(&[
            "wait",
            "-n",
            NS,
            "--for=condition=Ready",
            "subscription/ana-home",
            "--timeout=60s",
        ])
        .await?;
    let vlan = kubectl
        .ok(&[
            "get",
            "-n",
            NS,
            "subscription/ana-home",
            "-o",
            "jsonpath={.status.allocations.vlan}",
        ])
        .await?;
    let olt = netsim.control().running_config("olt1")?;
    ensure!(
        olt.contains(&format!("<name>ge-0/0/1.{vlan}</name>")),
        "olt1 lacks the subinterface of VLAN {vlan}: {olt}"
    );
    let bng = netsim.control().running_config("bng1")?;
    ensure!(
        bng.contains(&format!("<name>xe-0/0/1.{vlan}</name>")),
        "{bng}"
    );

    let metrics = get(&http, "/metrics").await?;
    ensure!(
        metrics.contains("ferrule_network_transactions_total{outcome=\"committed\"}"),
        "{metrics}"
    );

    // SIGTERM: in-flight reconciles finish and the process exits cleanly.
    let pid = run.child.id().context("pid")?;
    let status = tokio::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await?;
    ensure!(status.success(), "kill -TERM failed");
    let exit = tokio::time::timeout(Duration::from_secs(30), run.child.wait())
        .await
        .context("ferrule run did not stop on SIGTERM")??;
    ensure!(exit.success(), "ferrule run exited with {exit}");
    netsim.shutdown().await;
    server.shutdown().await;
    Ok(())
}

/// SIGTERM stops `ferrule run` within a bound while a Device is unreachable and its
/// reconcile is in a reconnect backoff delay (after seven failures: 16–32 s, then longer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferrule_run_stops_within_a_bound_with_an_unreachable_device() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let work = tempfile::tempdir()?;
    let (server, kubectl) = server_with_crds(dir.path(), work.path()).await?;
    // A port where nothing listens any more.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()?
    };
    let device = kubectl.manifest(
        "device.yaml",
        &format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {NS}}}\n---\n\
             apiVersion: v1\nkind: Secret\nmetadata: {{name: admin, namespace: {NS}}}\n\
             type: ferrule.dev/device-credentials\n\
             stringData: {{username: admin, password: admin}}\n---\n\
             apiVersion: oss.ferrule.dev/v1alpha1\nkind: Device\n\
             metadata: {{name: dead1, namespace: {NS}}}\n\
             spec: {{address: \"{closed}\", profile: ietf, credentialsSecret: admin,\n\
             \x20 insecureSkipHostKeyVerification: true, role: access, site: far,\n\
             \x20 ports: [ge-0/0/1]}}\n"
        ),
    )?;
    kubectl.ok(&["apply", "-f", &device]).await?;

    let kubeconfig = server
        .kubeconfig_path()
        .to_str()
        .context("kubeconfig path")?
        .to_owned();
    let args = [
        "run",
        "--kubeconfig",
        &kubeconfig,
        "--namespace",
        NS,
        "--http-listen",
        "127.0.0.1:0",
    ];
    let mut run =
        ferrule_e2e::spawn_child_with_logs("ferrule_run_child", &args, "ferrule is running")
            .await?;
    let mut logs = run.logs.take().context("log lines")?;
    tokio::time::timeout(Duration::from_secs(180), async {
        let mut failures = 0;
        while failures < 7 {
            let line = logs.recv().await.context("the child's log ended")?;
            if line.contains("session open failed") && line.contains("dead1") {
                failures += 1;
            }
        }
        anyhow::Ok(())
    })
    .await
    .context("dead1 did not fail often enough")??;

    let pid = run.child.id().context("pid")?;
    let status = tokio::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await?;
    ensure!(status.success(), "kill -TERM failed");
    let exit = match tokio::time::timeout(Duration::from_secs(15), run.child.wait()).await {
        Ok(exit) => exit?,
        Err(_) => {
            run.child.start_kill()?;
            anyhow::bail!("ferrule run was still running 15 s after SIGTERM");
        }
    };
    ensure!(exit.success(), "ferrule run exited with {exit}");
    server.shutdown().await;
    Ok(())
}

/// An API server in `dir` with Ferrule's CRDs applied by kubectl (as a cluster administrator
/// does, from `crds/`) and Established, and kubectl working in `work`.
async fn server_with_crds(dir: &Path, work: &Path) -> anyhow::Result<(ApiServer, Kubectl)> {
    let server = start_server(dir).await?;
    let kubectl = Kubectl::new(server.kubeconfig_path(), work);
    let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds");
    kubectl
        .ok(&["apply", "-f", crds.to_str().context("crds path")?])
        .await?;
    kubectl
        .ok(&[
            "wait",
            "--for=condition=Established",
            "crd",
            "--all",
            "--timeout=30s",
        ])
        .await?;
    Ok((server, kubectl))
}

/// GET `path` from `addr` over plain HTTP/1.0; the response, head and body.
async fn get(addr: &str, path: &str) -> anyhow::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    ensure!(
        response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"),
        "{response}"
    );
    Ok(response.trim_end().to_owned())
}

/// The tenant as an operator writes it: credentials, a product, a customer, olt1 behind bng1,
/// and the pools.
fn tenant(netsim: &Netsim) -> anyhow::Result<String> {
    let device = |name: &str| -> anyhow::Result<(String, String)> {
        Ok((
            netsim.addr(name).context("address")?.to_string(),
            netsim.fingerprint(name).context("fingerprint")?.to_owned(),
        ))
    };
    let (olt_addr, olt_key) = device("olt1")?;
    let (bng_addr, bng_key) = device("bng1")?;
    Ok(format!(
        r#"apiVersion: v1
kind: Namespace
metadata: {{name: isp}}
---
apiVersion: v1
kind: Secret
metadata: {{name: netsim-admin, namespace: isp}}
type: ferrule.dev/device-credentials
stringData: {{username: admin, password: admin}}
---
apiVersion: bss.ferrule.dev/v1alpha1
kind: Product
metadata: {{name: fibre-500, namespace: isp}}
spec:
  displayName: Fibre 500
  serviceType: internet-access
  parameters: {{downMbps: 500, upMbps: 100}}
  pricing: {{currency: EUR, monthly: "39.90"}}
---
apiVersion: bss.ferrule.dev/v1alpha1
kind: Customer
metadata: {{name: ana, namespace: isp}}
spec:
  displayName: Ana
  contact: {{email: ana@example.com}}
  billing: {{currency: EUR, cycleDay: 1}}
---
apiVersion: oss.ferrule.dev/v1alpha1
kind: Device
metadata: {{name: olt1, namespace: isp}}
spec:
  role: access
  site: lis
  profile: ietf
  address: "{olt_addr}"
  hostKey: "{olt_key}"
  credentialsSecret: netsim-admin
  ports: [ge-0/0/1]
  bng: bng1
  bngPort: xe-0/0/1
---
apiVersion: oss.ferrule.dev/v1alpha1
kind: Device
metadata: {{name: bng1, namespace: isp}}
spec:
  role: bng
  site: lis
  profile: ietf
  address: "{bng_addr}"
  hostKey: "{bng_key}"
  credentialsSecret: netsim-admin
---
apiVersion: oss.ferrule.dev/v1alpha1
kind: ResourcePool
metadata: {{name: olt1-vlans, namespace: isp}}
spec:
  type: Vlan
  vlan: {{from: 1200, to: 1299}}
  selector: {{devices: [olt1]}}
---
apiVersion: oss.ferrule.dev/v1alpha1
kind: ResourcePool
metadata: {{name: bng-v4, namespace: isp}}
spec:
  type: IPv4
  ipv4: {{cidr: 100.64.0.0/24, prefixLength: 30}}
  selector: {{roles: [bng]}}
"#
    ))
}

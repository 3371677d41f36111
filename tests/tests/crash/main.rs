//! `kill -9` of `ferrule up`: during a stream of writes, every write the server acknowledged
//! is there after a restart; in the middle of a network transaction ([`provisioning`]), the
//! restarted process finishes or undoes it and no device stays half-configured. Ctrl-C
//! ([`shutdown`]) stops it within a bound, leaving the journal for the next start. What it
//! leaves on disk is readable by its owner only ([`files`]).
//!
//! The server runs in a child process: this test binary itself, re-executed to run only
//! [`ferrule_up_child`], which calls the `up` command exactly as the `ferrule` binary's
//! `main` does. (Building the binary from inside a test would re-resolve features and
//! rebuild half the workspace.)

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, ensure};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use tokio::process::Child;

mod files;
mod provisioning;
mod shutdown;

/// In the child process: the `ferrule up` command line it was given. Ignored in a normal
/// test run; [`ferrule_e2e::spawn_child`] runs it with `--ignored --exact`.
#[test]
#[ignore = "child process of the crash tests, started by spawn_child"]
fn ferrule_up_child() -> anyhow::Result<()> {
    ferrule_e2e::run_child()
}

/// `ferrule up --data DATA` on free ports, in a child process; a client of its API.
pub(crate) async fn start(data: &Path) -> anyhow::Result<(Child, kube::Client)> {
    let (up, client) = start_up(data, false).await?;
    Ok((up.child, client))
}

/// [`start`], with the child's log lines.
pub(crate) async fn start_with_logs(
    data: &Path,
) -> anyhow::Result<(ferrule_e2e::FerruleChild, kube::Client)> {
    start_up(data, true).await
}

async fn start_up(
    data: &Path,
    logs: bool,
) -> anyhow::Result<(ferrule_e2e::FerruleChild, kube::Client)> {
    let data_arg = data.to_str().context("data directory path")?;
    let args = [
        "up",
        "--data",
        data_arg,
        "--api-listen",
        "127.0.0.1:0",
        "--http-listen",
        "127.0.0.1:0",
    ];
    let up = if logs {
        ferrule_e2e::spawn_child_with_logs("ferrule_up_child", &args, "ferrule is up").await?
    } else {
        ferrule_e2e::spawn_child("ferrule_up_child", &args, "ferrule is up").await?
    };
    let kubeconfig = Kubeconfig::read_from(data.join("kubeconfig"))?;
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    Ok((up, kube::Client::try_from(config)?))
}

/// Sends SIGINT (Ctrl-C) to `child` and waits, up to `bound`, for it to exit.
pub(crate) async fn interrupt(
    child: &mut Child,
    bound: Duration,
) -> anyhow::Result<std::process::ExitStatus> {
    let pid = child.id().context("the child already exited")?;
    let sent = tokio::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .await?;
    ensure!(sent.success(), "kill -INT {pid} failed");
    match tokio::time::timeout(bound, child.wait()).await {
        Ok(status) => Ok(status?),
        Err(_) => {
            child.start_kill()?;
            child.wait().await?;
            anyhow::bail!("ferrule up was still running {bound:?} after SIGINT")
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let (mut child, client) = start(data.path()).await?;

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..4 {
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let acked = acked.clone();
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let name = format!("cm-{w}-{i}");
                let mut cm = ConfigMap::default();
                cm.metadata.name = Some(name.clone());
                cm.data = Some([("i".to_string(), i.to_string())].into());
                match api.create(&PostParams::default(), &cm).await {
                    Ok(_) => {
                        if let Ok(mut a) = acked.lock() {
                            a.push(name);
                        }
                    }
                    Err(_) => break,
                }
            }
        }));
    }
    // Kill while writes are in flight, once a fair number has been acknowledged.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while acked.lock().map(|a| a.len()).unwrap_or(0) < 200 && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.start_kill()?;
    child.wait().await?;
    for w in writers {
        let _ = w.await;
    }
    let acked = acked.lock().map(|a| a.clone()).unwrap_or_default();
    ensure!(
        acked.len() >= 10,
        "too few writes acknowledged before the kill: {}",
        acked.len()
    );

    let (mut child, client) = start(data.path()).await?;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let present: std::collections::HashSet<String> = api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter_map(|cm| cm.metadata.name)
        .collect();
    let missing: Vec<&String> = acked.iter().filter(|n| !present.contains(*n)).collect();
    ensure!(
        missing.is_empty(),
        "{} acknowledged writes lost: {missing:?}",
        missing.len()
    );
    // And the restarted server takes writes again.
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some("after-restart".into());
    api.create(&PostParams::default(), &cm).await?;
    child.start_kill()?;
    child.wait().await?;
    Ok(())
}

//! The measured clients: Ferrule's, OpenSSH lock-step, and ncclient (a Python script).

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::openssh::OpenSsh;
use super::report::Figures;
use super::{BenchError, NetconfBenchArgs, PeerEnv};
use ferrule_netconf::client::{DeviceSession, NetconfSession, SessionConfig};
use ferrule_netconf::rpc::{Commit, Datastore, EditConfig, Rpc};
use ferrule_netconf::transaction::{CommitMode, DeviceEdit, NoJournal, Transaction, apply};
use ferrule_netconf::xml::escape_text;

/// The interface every client creates, rewrites and finally deletes.
pub const INTERFACE: &str = "ge-9/9/9";

/// The edit of pair `i` (`{i}` for the Python side).
pub fn payload(i: &str) -> String {
    format!(
        r#"<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"><interface><name>{INTERFACE}</name><description>bench {}</description><type xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">ianaift:ethernetCsmacd</type><enabled>true</enabled></interface></interfaces>"#,
        escape_text(i)
    )
}

/// Deletes the interface again.
pub fn cleanup() -> String {
    format!(
        r#"<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"><interface nc:operation="delete"><name>{INTERFACE}</name></interface></interfaces>"#
    )
}

fn edit(config: String) -> Rpc {
    Rpc::EditConfig(EditConfig {
        target: Datastore::Candidate,
        config,
        default_operation: None,
        test_option: None,
        error_option: None,
    })
}

/// Ferrule's client: session setups, then edit+commit pairs on one session, which is
/// returned open (the interface exists on the device until [`ferrule_cleanup`]).
pub async fn ferrule(
    client: &str,
    config: &SessionConfig,
    args: &NetconfBenchArgs,
) -> Result<(Figures, NetconfSession), BenchError> {
    let mut setups = Vec::new();
    for _ in 0..args.setups {
        let start = Instant::now();
        let mut s = NetconfSession::connect(config).await?;
        s.discard_changes().await?;
        setups.push(start.elapsed());
        s.close().await;
    }
    let mut s = NetconfSession::connect(config).await?;
    s.discard_changes().await?;
    let start = Instant::now();
    for i in 0..args.pairs {
        s.request(edit(payload(&i.to_string()))).await?;
        s.commit().await?;
    }
    let figures = Figures {
        client: format!(
            "{client} ({} build)",
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
        ),
        setups,
        pairs: args.pairs,
        pairs_time: start.elapsed(),
    };
    Ok((figures, s))
}

/// One-device transactions through the transaction layer on `s`; their total time.
pub async fn ferrule_transactions(
    s: &mut NetconfSession,
    count: u32,
) -> Result<Duration, BenchError> {
    let start = Instant::now();
    for i in 0..count {
        let tx = Transaction::new(
            vec![bench_edit("bench", &format!("tx {i}"))],
            Duration::from_secs(60),
        );
        apply(&tx, &mut [&mut *s], &mut NoJournal)
            .await
            .map_err(Box::new)?;
    }
    Ok(start.elapsed())
}

/// Deletes the interface and closes the session.
pub async fn ferrule_cleanup(mut s: NetconfSession) -> Result<(), BenchError> {
    s.request(edit(cleanup())).await?;
    s.commit().await?;
    s.close().await;
    Ok(())
}

/// The bench's edit of `device` as a transaction edit (netconfd's profile: no validate).
pub fn bench_edit(device: &str, description: &str) -> DeviceEdit {
    DeviceEdit {
        device: device.to_owned(),
        mode: CommitMode::Candidate {
            validate: false,
            lock_running: false,
        },
        edit: payload(description),
        compensation: None,
    }
}

/// OpenSSH's client driven lock-step with the bytes Ferrule sends.
pub async fn openssh(peer: &PeerEnv, args: &NetconfBenchArgs) -> Result<Figures, BenchError> {
    let mut setups = Vec::new();
    for _ in 0..args.setups {
        let start = Instant::now();
        let mut ssh = OpenSsh::connect(peer).await?;
        ssh.rpc(&Rpc::DiscardChanges).await?;
        setups.push(start.elapsed());
        ssh.close().await?;
    }
    let mut ssh = OpenSsh::connect(peer).await?;
    ssh.rpc(&Rpc::DiscardChanges).await?;
    let commit = Rpc::Commit(Commit::plain());
    let start = Instant::now();
    for i in 0..args.pairs {
        ssh.rpc(&edit(payload(&i.to_string()))).await?;
        ssh.rpc(&commit).await?;
    }
    let pairs_time = start.elapsed();
    ssh.rpc(&edit(cleanup())).await?;
    ssh.rpc(&commit).await?;
    ssh.close().await?;
    Ok(Figures {
        client: "OpenSSH `ssh -s netconf`, lock-step (floor)".into(),
        setups,
        pairs: args.pairs,
        pairs_time,
    })
}

/// What the Python script prints.
#[derive(Debug, serde::Deserialize)]
struct ScriptOutput {
    setup_ms: Vec<f64>,
    pairs: u32,
    pairs_seconds: f64,
}

/// ncclient through `ncclient_bench.py`; `tick` replaces its 100 ms poll interval.
pub async fn ncclient(
    peer: &PeerEnv,
    args: &NetconfBenchArgs,
    tick: Option<f64>,
    pairs: u32,
) -> Result<Figures, BenchError> {
    let mut command = Command::new(&args.python);
    command
        .arg("-")
        .args(["--host", &peer.host, "--port", &peer.port.to_string()])
        .args(["--user", &peer.user, "--key"])
        .arg(&peer.key)
        .args(["--host-key-b64", &peer.host_key_base64()?])
        .args(["--setups", &args.setups.to_string()])
        .args(["--pairs", &pairs.to_string()])
        .args(["--config", &payload("{i}"), "--cleanup", &cleanup()]);
    if let Some(tick) = tick {
        command.args(["--tick", &tick.to_string()]);
    }
    let spawn_err = |source| BenchError::Spawn {
        program: args.python.clone(),
        source,
    };
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(spawn_err)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(include_str!("ncclient_bench.py").as_bytes())
            .await
            .map_err(spawn_err)?;
    }
    let output = child.wait_with_output().await.map_err(spawn_err)?;
    if !output.status.success() {
        return Err(BenchError::Script {
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    let parsed: ScriptOutput = serde_json::from_slice(&output.stdout)?;
    let version = ncclient_version(&args.python).await;
    let poll = match tick {
        Some(t) => format!("poll cut to {} ms", t * 1000.0),
        None => "stock, 100 ms poll".to_owned(),
    };
    Ok(Figures {
        client: format!("ncclient {version} ({poll})"),
        setups: parsed
            .setup_ms
            .iter()
            .map(|ms| Duration::from_secs_f64(ms.max(0.0) / 1000.0))
            .collect(),
        pairs: parsed.pairs,
        pairs_time: Duration::from_secs_f64(parsed.pairs_seconds.max(0.0)),
    })
}

async fn ncclient_version(python: &str) -> String {
    let output = Command::new(python)
        .args(["-c", "import ncclient; print(ncclient.__version__)"])
        .output()
        .await;
    match output {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        _ => "?".to_owned(),
    }
}

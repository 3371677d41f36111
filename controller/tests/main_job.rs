//! The README's main job, as a new user runs it: `ferrule up --netsim
//! examples/network/netsim.yaml --apply examples/` brings every example order to Completed and
//! every Subscription to Ready; the real `kubectl get subs,so,devices` shows it; and each
//! simulated device's running configuration, read back over NETCONF, holds exactly the entries
//! the subscriptions own there — nothing more, nothing less.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is the failure report

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ferrule::provisioning::netconf::plan::ProfileSchema;
use ferrule::render::ProfileSet;
use ferrule::southbound::client::{
    Credentials, DeviceSession, HostKeyPolicy, NetconfSession, SessionConfig,
};
use ferrule::southbound::rpc::Datastore;
use ferrule::southbound::tree::{ConfigTree, ParseMode};
use ferrule::southbound::xml::XmlLimits;
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `ferrule up` child; killed when dropped so a failing test leaves nothing running.
struct Up(Child);

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn kubectl(kubeconfig: &Path, args: &[&str]) -> String {
    let out = Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .expect("running kubectl");
    assert!(
        out.status.success(),
        "kubectl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_main_job_configures_the_example_network() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrule"))
        .current_dir(repo())
        .args(["up", "--data"])
        .arg(data.path())
        .args([
            "--api-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
            "--netsim",
            "examples/network/netsim.yaml",
            "--netsim-control-listen",
            "127.0.0.1:0",
            "--apply",
            "examples/",
            "--wait",
            "120",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting ferrule up");
    let stdout = child.stdout.take().unwrap();
    let _up = Up(child);

    // The summary ends with the `devices:` line; everything before it is progress. The rest
    // of the output is drained in the background: a closed pipe would stop the server.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(180))
            .unwrap_or_else(|e| panic!("no summary from ferrule up ({e}); so far: {lines:#?}"));
        let done = line.starts_with("devices:");
        lines.push(line);
        if done {
            break;
        }
    }
    let output = lines.join("\n");
    assert!(output.contains("orders:        3/3 completed"), "{output}");
    assert!(output.contains("subscriptions: 5/5 ready"), "{output}");
    assert!(
        output.contains("devices:       3/3 connected, 3 configured"),
        "{output}"
    );

    // What kubectl shows.
    let kubeconfig = data.path().join("kubeconfig");
    let table = kubectl(&kubeconfig, &["get", "subs,so,devices", "-A"]);
    for sub in [
        "ana-home",
        "ana-office",
        "bruno-home",
        "atlantico-hq",
        "atlantico-warehouse",
    ] {
        assert!(table.contains(sub), "{table}");
    }
    let subs: Value = serde_json::from_str(&kubectl(
        &kubeconfig,
        &["get", "subscriptions", "-n", "lusofibra", "-o", "json"],
    ))
    .unwrap();
    let orders: Value = serde_json::from_str(&kubectl(
        &kubeconfig,
        &["get", "serviceorders", "-n", "lusofibra", "-o", "json"],
    ))
    .unwrap();
    for order in orders["items"].as_array().unwrap() {
        assert_eq!(order["status"]["state"], "Completed", "{order:#}");
    }

    // Per device: the entries every subscription owns there, and whether it is suspended.
    let mut owned: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut vlans = BTreeSet::new();
    for sub in subs["items"].as_array().unwrap() {
        let name = sub["metadata"]["name"].as_str().unwrap();
        let status = &sub["status"];
        let ready = status["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        assert!(ready, "{name} is not Ready: {status:#}");
        let expected_phase = if sub["spec"]["state"] == "Suspended" {
            "Suspended"
        } else {
            "Active"
        };
        assert_eq!(status["phase"], expected_phase, "{name}");
        assert!(
            vlans.insert(status["allocations"]["vlan"].as_u64().unwrap()),
            "VLAN shared"
        );
        for device in status["devices"].as_array().unwrap() {
            let entries = owned
                .entry(device["name"].as_str().unwrap().to_owned())
                .or_default();
            for entry in device["owned"].as_array().unwrap() {
                assert!(
                    entries.insert(entry.as_str().unwrap().to_owned()),
                    "{entry} owned twice"
                );
            }
        }
    }
    assert_eq!(owned.keys().collect::<Vec<_>>(), ["bng1", "olt1", "olt2"]);

    // Read each device's running configuration over NETCONF, verifying its pinned host key.
    let devices: Value = serde_json::from_str(&kubectl(
        &kubeconfig,
        &["get", "devices", "-n", "lusofibra", "-o", "json"],
    ))
    .unwrap();
    let profiles = ProfileSet::builtin().unwrap();
    for device in devices["items"].as_array().unwrap() {
        let name = device["metadata"]["name"].as_str().unwrap();
        let spec = &device["spec"];
        let profile = profiles.get(spec["profile"].as_str().unwrap()).unwrap();
        let schema = ProfileSchema::of(profile).unwrap();
        let config = SessionConfig::new(
            spec["address"].as_str().unwrap(),
            Credentials::password("admin", "admin"),
            HostKeyPolicy::from_device(spec["hostKey"].as_str(), false).unwrap(),
        )
        .unwrap();
        let mut session = NetconfSession::connect(&config).await.unwrap();
        let running: String = session
            .get_config(Datastore::Running, None)
            .await
            .unwrap()
            .iter()
            .map(|element| element.to_xml())
            .collect();
        session.close().await;
        let tree = ConfigTree::parse_with(
            &running,
            &schema.schema,
            &XmlLimits::default(),
            ParseMode::Device,
        )
        .unwrap();
        let present: BTreeSet<String> = tree
            .entries()
            .iter()
            .map(|p| p.format(&schema.prefixes))
            .collect();
        assert_eq!(
            &present, &owned[name],
            "running config of {name}:\n{}",
            &running
        );
        // Suspended service stays configured but disabled; active service is enabled.
        let xml = running.as_str();
        for sub in subs["items"].as_array().unwrap() {
            let vlan = sub["status"]["allocations"]["vlan"].as_u64().unwrap();
            let on_device = sub["status"]["devices"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["name"] == name);
            if !on_device {
                continue;
            }
            let at = xml
                .find(&format!(".{vlan}</name>"))
                .expect("interface of the VLAN");
            let end = xml[at..].find("</interface>").unwrap() + at;
            let enabled = if sub["spec"]["state"] == "Suspended" {
                "false"
            } else {
                "true"
            };
            assert!(
                xml[at..end].contains(&format!("<enabled>{enabled}</enabled>")),
                "{name}: VLAN {vlan} should have enabled={enabled}: {}",
                &xml[at..end]
            );
        }
    }
}

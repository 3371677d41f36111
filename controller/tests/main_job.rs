//! The README's main job, as a new user runs it: `ferrule up --netsim
//! examples/network/netsim.yaml --apply examples/` brings every example order to Completed and
//! every Subscription to Ready; the real `kubectl get subs,so,devices` shows it; and each
//! simulated device's running configuration, read back over NETCONF, holds exactly the entries
//! the subscriptions own there — nothing more, nothing less.
//!
//! Then the same job stopped with Ctrl-C and started again on the same data directory: the
//! simulated devices keep their configuration and every subscription stays Ready, all
//! verified in the new run; started with `--netsim-fresh`, the devices come back empty, the
//! Repair devices are repaired before the summary and the Report device's subscriptions show
//! the drift instead of claiming Ready.
//!
//! The examples run on ports of their own (support/up.rs), so these tests pass while a user
//! runs the main job on the examples' fixed ports.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is the failure report

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use ferrule_netconf::client::{
    Credentials, DeviceSession, HostKeyPolicy, NetconfSession, SessionConfig,
};
use ferrule_netconf::rpc::Datastore;
use ferrule_netconf::tree::{ConfigTree, ParseMode};
use ferrule_netconf::xml::XmlLimits;
use ferrule_provisioning::netconf::plan::ProfileSchema;
use ferrule_render::ProfileSet;
use serde_json::Value;
use support::up::{Examples, Up, examples_on_free_ports};

const SUBSCRIPTIONS: [&str; 5] = [
    "ana-home",
    "ana-office",
    "bruno-home",
    "atlantico-hq",
    "atlantico-warehouse",
];

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

fn kubectl_json(kubeconfig: &Path, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.extend(["-n", "lusofibra", "-o", "json"]);
    serde_json::from_str(&kubectl(kubeconfig, &args)).unwrap()
}

fn items(list: &Value) -> &Vec<Value> {
    list["items"].as_array().unwrap()
}

/// The Ready condition of a subscription: (status, reason, message).
fn ready(sub: &Value) -> (String, String, String) {
    let c = sub["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap_or_else(|| panic!("no Ready condition: {sub:#}"));
    let text = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
    (text("status"), text("reason"), text("message"))
}

/// Per device: the entries every subscription owns there.
fn owned(subs: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut owned: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for sub in items(subs) {
        for device in sub["status"]["devices"].as_array().unwrap() {
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
    owned
}

/// Each device's running configuration read over NETCONF, verifying its pinned host key: the
/// XML and the entries it holds.
async fn running(devices: &Value) -> BTreeMap<String, (String, BTreeSet<String>)> {
    let profiles = ProfileSet::builtin().unwrap();
    let mut out = BTreeMap::new();
    for device in items(devices) {
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
        let xml: String = session
            .get_config(Datastore::Running, None)
            .await
            .unwrap()
            .iter()
            .map(|element| element.to_xml())
            .collect();
        session.close().await;
        let tree = ConfigTree::parse_with(
            &xml,
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
        out.insert(name.to_owned(), (xml, present));
    }
    out
}

/// Runs the main job on `data` until its summary; returns it and the child.
fn up(data: &Path, examples: &Examples, extra: &[&str]) -> (Up, String) {
    let mut up = Up::start(data, examples, extra);
    let summary = up.summary();
    (up, summary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_main_job_configures_the_example_network() {
    // The examples' own ports are taken, as when a user runs the main job meanwhile: the
    // test must not need them.
    let _held: Vec<TcpListener> = ["127.0.0.1:18301", "127.0.0.1:18302", "127.0.0.1:18310"]
        .iter()
        .filter_map(|a| TcpListener::bind(a).ok())
        .collect();
    let examples = examples_on_free_ports();
    let data = tempfile::tempdir().unwrap();
    let (_up, output) = up(data.path(), &examples, &[]);
    assert!(output.contains("orders:        3/3 completed"), "{output}");
    assert!(output.contains("subscriptions: 5/5 ready"), "{output}");
    assert!(
        output.contains("devices:       3/3 connected, 3 configured"),
        "{output}"
    );

    // What kubectl shows.
    let kubeconfig = data.path().join("kubeconfig");
    let table = kubectl(&kubeconfig, &["get", "subs,so,devices", "-A"]);
    for sub in SUBSCRIPTIONS {
        assert!(table.contains(sub), "{table}");
    }
    let subs = kubectl_json(&kubeconfig, &["get", "subscriptions"]);
    let orders = kubectl_json(&kubeconfig, &["get", "serviceorders"]);
    for order in items(&orders) {
        assert_eq!(order["status"]["state"], "Completed", "{order:#}");
    }

    let mut vlans = BTreeSet::new();
    for sub in items(&subs) {
        let name = sub["metadata"]["name"].as_str().unwrap();
        let status = &sub["status"];
        assert_eq!(ready(sub).0, "True", "{name} is not Ready: {status:#}");
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
    }
    let owned = owned(&subs);
    assert_eq!(owned.keys().collect::<Vec<_>>(), ["bng1", "olt1", "olt2"]);

    let devices = kubectl_json(&kubeconfig, &["get", "devices"]);
    for (name, (xml, present)) in running(&devices).await {
        assert_eq!(&present, &owned[&name], "running config of {name}:\n{xml}");
        // Suspended service stays configured but disabled; active service is enabled.
        for sub in items(&subs) {
            let vlan = sub["status"]["allocations"]["vlan"].as_u64().unwrap();
            let on_device = sub["status"]["devices"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["name"] == name.as_str());
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_network_and_a_fresh_one_is_verified_not_trusted() {
    let examples = examples_on_free_ports();
    let data = tempfile::tempdir().unwrap();
    let kubeconfig = data.path().join("kubeconfig");
    let (first, output) = up(data.path(), &examples, &[]);
    assert!(output.contains("subscriptions: 5/5 ready"), "{output}");
    let subs = kubectl_json(&kubeconfig, &["get", "subscriptions"]);
    let owned = owned(&subs);
    first.interrupt();
    let mode = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode(&data.path().join("netsim")), 0o700);
    assert_eq!(mode(&data.path().join("netsim/olt2.xml")), 0o600);

    // Restarted on the same data: the network is as it was, and this run says so.
    let (second, output) = up(data.path(), &examples, &[]);
    assert!(output.contains("subscriptions: 5/5 ready"), "{output}");
    assert!(
        output.contains("devices:       3/3 connected, 3 configured"),
        "{output}"
    );
    let devices = kubectl_json(&kubeconfig, &["get", "devices"]);
    for (name, (xml, present)) in running(&devices).await {
        assert_eq!(&present, &owned[&name], "running config of {name}:\n{xml}");
    }
    for sub in items(&kubectl_json(&kubeconfig, &["get", "subscriptions"])) {
        assert_eq!(ready(sub).0, "True", "{sub:#}");
    }
    for device in items(&devices) {
        let in_sync = device["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "InSync")
            .unwrap();
        assert_eq!(in_sync["status"], "True", "{device:#}");
    }
    second.interrupt();

    // Restarted fresh: the devices come back empty. olt1 and bng1 (driftPolicy Repair) are
    // repaired before the summary; olt2 (Report) is not, and its subscriptions say so.
    let (_third, output) = up(data.path(), &examples, &["--netsim-fresh"]);
    let devices = kubectl_json(&kubeconfig, &["get", "devices"]);
    let policy = |name: &str| {
        items(&devices)
            .iter()
            .find(|d| d["metadata"]["name"] == name)
            .map(|d| {
                d["spec"]["driftPolicy"]
                    .as_str()
                    .unwrap_or("Report")
                    .to_owned()
            })
            .unwrap()
    };
    assert_eq!(
        (
            policy("olt1").as_str(),
            policy("olt2").as_str(),
            policy("bng1").as_str()
        ),
        ("Repair", "Report", "Repair")
    );
    let running = running(&devices).await;
    for name in ["olt1", "bng1"] {
        let (xml, present) = &running[name];
        assert_eq!(present, &owned[name], "{name} was not repaired:\n{xml}");
    }
    let (xml, present) = &running["olt2"];
    assert!(
        present.is_disjoint(&owned["olt2"]),
        "olt2 (Report) was changed:\n{xml}"
    );
    let subs = kubectl_json(&kubeconfig, &["get", "subscriptions"]);
    let mut drifted = 0;
    for sub in items(&subs) {
        let on_olt2 = sub["status"]["devices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "olt2");
        let (status, reason, message) = ready(sub);
        if on_olt2 {
            drifted += 1;
            assert_eq!(
                (status.as_str(), reason.as_str()),
                ("False", "ConfigDrift"),
                "{sub:#}"
            );
            assert!(message.contains("olt2"), "{message}");
        } else {
            assert_eq!(status, "True", "{sub:#}");
        }
    }
    assert!(drifted > 0, "no example subscription is on olt2: {subs:#}");
    assert!(
        output.contains(&format!(
            "subscriptions: {}/5 ready",
            SUBSCRIPTIONS.len() - drifted
        )),
        "{output}"
    );
    assert!(
        output.contains("devices:       3/3 connected, 2 configured"),
        "{output}"
    );
}

#[test]
fn a_main_job_that_cannot_start_reports_why() {
    let examples = examples_on_free_ports();
    // Someone else holds olt1's port.
    let _held = TcpListener::bind(examples.moved[0].1.as_str()).unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut up = Up::start(data.path(), &examples, &[]);
    let failure = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| up.summary()))
        .expect_err("ferrule up cannot start on a taken port");
    let message = failure
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("Address already in use") && message.contains("exited with"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_that_restarts_under_a_running_controller_is_checked_again() {
    // The simulated network runs on its own (`ferrule netsim --state-dir`), the controller
    // beside it with the default drift interval of 300 s.
    let examples = examples_on_free_ports();
    let state = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let kubeconfig = data.path().join("kubeconfig");
    let mut netsim = Up::netsim(&examples, state.path(), &[]);
    netsim.devices_listed(3);
    let mut up = Up::start_without_netsim(data.path(), &examples);
    let output = up.summary();
    assert!(output.contains("subscriptions: 5/5 ready"), "{output}");
    assert!(
        output.contains("devices:       3/3 connected, 3 configured"),
        "{output}"
    );
    let owned = owned(&kubectl_json(&kubeconfig, &["get", "subscriptions"]));

    // The network restarts empty while the controller runs: its sessions are lost, the
    // devices are checked on their new sessions at once — olt1 and bng1 repaired, the
    // subscriptions on olt2 (Report) no longer Ready.
    netsim.interrupt();
    let mut netsim = Up::netsim(&examples, state.path(), &["--fresh"]);
    netsim.devices_listed(3);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let devices = kubectl_json(&kubeconfig, &["get", "devices"]);
        let running = running(&devices).await;
        let repaired = ["olt1", "bng1"]
            .iter()
            .all(|name| running[*name].1 == owned[*name]);
        let subs = kubectl_json(&kubeconfig, &["get", "subscriptions"]);
        let reported = items(&subs).iter().all(|sub| {
            let on_olt2 = sub["status"]["devices"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["name"] == "olt2");
            let (status, reason, _) = ready(sub);
            if on_olt2 {
                status == "False" && reason == "ConfigDrift"
            } else {
                status == "True"
            }
        });
        if repaired && reported {
            assert!(
                running["olt2"].1.is_disjoint(&owned["olt2"]),
                "olt2 (Report) was changed"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the restarted network was not checked: repaired={repaired} reported={reported}\n{subs:#}\n{}",
            up.stderr()
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    drop(netsim);
}

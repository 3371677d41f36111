//! A third-party client against the simulator: ncclient (what Ansible's NETCONF modules use)
//! runs tests/ncclient/netsim_check.py. Skipped, with a notice, when ncclient is not installed
//! (`pip install ncclient`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use ferrule::netsim::{self, Topology};

fn ncclient_available() -> bool {
    Command::new("python3")
        .args(["-c", "import ncclient"])
        .output()
        .is_ok_and(|out| out.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ncclient_edits_commits_times_out_and_gets_errors() {
    if !ncclient_available() {
        // CI installs ncclient and sets FERRULE_REQUIRE_PEERS=1: there a skip is a failure.
        assert!(
            std::env::var_os("FERRULE_REQUIRE_PEERS").is_none_or(|v| v != "1"),
            "FERRULE_REQUIRE_PEERS=1 but python3 cannot import ncclient"
        );
        eprintln!("SKIPPED: python3 with ncclient is not available (pip install ncclient)");
        return;
    }
    let topology = Topology::from_yaml(
        "devices:\n  - {name: nc1, listen: '127.0.0.1:0', ports: [ge-0/0/1]}\n",
    )
    .unwrap();
    let net = netsim::start(topology).await.unwrap();
    let addr = net.addr("nc1").unwrap();
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/ncclient/netsim_check.py");
    let output = tokio::process::Command::new("python3")
        .arg(&script)
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .arg(net.fingerprint("nc1").unwrap())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "ncclient checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
    net.shutdown().await;
}

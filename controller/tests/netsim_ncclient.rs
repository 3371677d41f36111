//! A third-party client against the simulator: ncclient (what Ansible's NETCONF modules use)
//! runs tests/ncclient/netsim_check.py with the system's Python. Ignored in a plain run, since
//! it needs ncclient (`apt-get install python3-ncclient`); `.ci/run` installs it and runs this
//! test with `--ignored`, where a missing ncclient is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use ferrule::netsim::{self, Topology};

/// Debian's Python, where `apt-get install python3-ncclient` puts ncclient.
const PYTHON: &str = "/usr/bin/python3";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ncclient: apt-get install python3-ncclient"]
async fn ncclient_edits_commits_times_out_and_gets_errors() {
    let probe = Command::new(PYTHON)
        .args(["-c", "import ncclient"])
        .output();
    assert!(
        probe.as_ref().is_ok_and(|out| out.status.success()),
        "{PYTHON} cannot import ncclient (apt-get install python3-ncclient): {probe:?}"
    );
    let topology = Topology::from_yaml(
        "devices:\n  - {name: nc1, listen: '127.0.0.1:0', ports: [ge-0/0/1]}\n",
    )
    .unwrap();
    let net = netsim::start(topology).await.unwrap();
    let addr = net.addr("nc1").unwrap();
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/ncclient/netsim_check.py");
    let output = tokio::process::Command::new(PYTHON)
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

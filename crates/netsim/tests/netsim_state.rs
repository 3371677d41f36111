//! A simulated device keeps its running configuration across restarts of the simulator when
//! it has a state folder, like a real device's startup configuration: committed over NETCONF,
//! the configuration is there again after a restart; an unconfirmed confirmed commit is not
//! (a reboot rolls it back); a fresh start forgets it; the folder and files are owner-only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use ferrule_netsim::{self as netsim, Netsim, Options, Topology};
use support::nc::{Nc, edit, subif};

const TOPOLOGY: &str = "devices:\n  - {name: r1, listen: '127.0.0.1:0', ports: [ge-0/0/1]}\n";

async fn sim(state: &Path, fresh: bool) -> Netsim {
    let options = Options {
        state_dir: Some(state.to_owned()),
        fresh,
        ..Options::default()
    };
    netsim::start_with(Topology::from_yaml(TOPOLOGY).unwrap(), options)
        .await
        .unwrap()
}

#[tokio::test]
async fn running_configuration_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("data/netsim");

    let net = sim(&state, false).await;
    let mut c = Nc::connect(net.addr("r1").unwrap()).await.unwrap();
    c.ok(&edit("candidate", &subif("ge-0/0/1.100", 10, 5)))
        .await
        .unwrap();
    c.ok("<commit/>").await.unwrap();
    // A confirmed commit that is never confirmed: a reboot rolls it back.
    c.ok(&edit("candidate", &subif("ge-0/0/1.200", 10, 5)))
        .await
        .unwrap();
    c.ok("<commit><confirmed/><confirm-timeout>600</confirm-timeout><persist>p</persist></commit>")
        .await
        .unwrap();
    net.shutdown().await;

    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("r1.xml")), 0o600);

    let net = sim(&state, false).await;
    let running = net.control().running_config("r1").unwrap();
    assert!(running.contains("ge-0/0/1.100"), "{running}");
    assert!(!running.contains("ge-0/0/1.200"), "{running}");
    // The candidate starts as running: committing it changes nothing.
    let mut c = Nc::connect(net.addr("r1").unwrap()).await.unwrap();
    let candidate = c
        .rpc("<get-config><source><candidate/></source></get-config>")
        .await
        .unwrap();
    assert!(candidate.contains("ge-0/0/1.100"), "{candidate}");
    net.shutdown().await;

    let net = sim(&state, true).await;
    let running = net.control().running_config("r1").unwrap();
    assert!(!running.contains("ge-0/0/1.100"), "{running}");
    net.shutdown().await;
    assert!(!state.join("r1.xml").exists());
}

#[tokio::test]
async fn a_damaged_state_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r1.xml"), "<interfaces").unwrap();
    let options = Options {
        state_dir: Some(dir.path().to_owned()),
        ..Options::default()
    };
    let err = netsim::start_with(Topology::from_yaml(TOPOLOGY).unwrap(), options)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("r1.xml") && err.contains("--netsim-fresh"),
        "{err}"
    );
}

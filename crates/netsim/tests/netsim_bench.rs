//! Figures for the network simulator (not a pass/fail test; run them on purpose):
//!
//! ```text
//! cargo test --release -p ferrule-netsim --test netsim_bench -- --ignored --nocapture
//! ```
//!
//! - session setup: SSH handshake, password login, subsystem and hello exchange;
//! - edit-config + commit pairs per second on one device, one session, lock-step;
//! - configuring 200 devices in parallel with the full transaction (lock, edit, confirmed
//!   commit with persist, confirming commit, unlock).
//!
//! Nothing here asserts a duration; the printed figures go into docs/netsim.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use ferrule_netsim::{self as netsim, Topology};
use support::nc::{Nc, edit, subif};

fn per_op(total: Duration, count: u32) -> f64 {
    total.as_secs_f64() * 1000.0 / f64::from(count)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn bench_one_device() {
    let topology =
        Topology::from_yaml("devices:\n  - {name: b1, listen: '127.0.0.1:0', ports: [ge-0/0/1]}\n")
            .unwrap();
    let net = netsim::start(topology).await.unwrap();
    let addr = net.addr("b1").unwrap();

    let sessions = 20;
    let mut setup_total = Duration::ZERO;
    for _ in 0..sessions {
        let started = Instant::now();
        let nc = Nc::connect(addr).await.unwrap();
        setup_total += started.elapsed();
        nc.close().await.unwrap();
    }
    let setup = per_op(setup_total, sessions);

    let mut nc = Nc::connect(addr).await.unwrap();
    let pairs = 500;
    let started = Instant::now();
    for i in 0..pairs {
        nc.ok(&edit(
            "candidate",
            &subif(&format!("ge-0/0/1.{}", 100 + i % 50), 100, 20),
        ))
        .await
        .unwrap();
        nc.ok("<commit/>").await.unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "netsim bench: session setup {setup:.1} ms (mean of {sessions}); \
         edit+commit {:.2} ms per pair, {:.0} pairs/s ({pairs} pairs, one session)",
        per_op(elapsed, pairs),
        f64::from(pairs) / elapsed.as_secs_f64()
    );
    nc.close().await.unwrap();
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn bench_200_devices_in_parallel() {
    let topology = Topology::from_yaml(
        "generate:\n  - {prefix: olt, count: 200, basePort: 0, ports: [ge-0/0/1, ge-0/0/2]}\n",
    )
    .unwrap();
    let started = Instant::now();
    let net = netsim::start(topology).await.unwrap();
    let start_time = started.elapsed();
    let addrs: Vec<_> = net.devices().into_iter().map(|d| d.address).collect();

    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, addr) in addrs.iter().copied().enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut nc = Nc::connect(addr).await?;
            nc.ok("<lock><target><candidate/></target></lock>").await?;
            for vlan in 0..4 {
                nc.ok(&edit("candidate", &subif(&format!("ge-0/0/1.{}", 1000 + vlan), 100, 20)))
                    .await?;
            }
            let persist = format!("tx-{i}");
            nc.ok(&format!(
                "<commit><confirmed/><confirm-timeout>120</confirm-timeout><persist>{persist}</persist></commit>"
            ))
            .await?;
            nc.ok(&format!("<commit><persist-id>{persist}</persist-id></commit>")).await?;
            nc.ok("<unlock><target><candidate/></target></unlock>").await?;
            nc.close().await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let elapsed = started.elapsed();
    for name in net.devices().iter().map(|d| d.name.clone()) {
        assert!(
            net.control()
                .running_config(&name)
                .unwrap()
                .contains("ge-0/0/1.1003")
        );
    }
    println!(
        "netsim bench: started 200 devices in {:.0} ms; configured 200 devices in parallel \
         (connect, lock, 4 edits, confirmed commit with persist, confirm, unlock, close) \
         in {:.0} ms",
        start_time.as_secs_f64() * 1000.0,
        elapsed.as_secs_f64() * 1000.0
    );
    net.shutdown().await;
}

mod with_ferrule_client {
    use std::time::{Duration, Instant};

    use ferrule_netconf::client::{
        Credentials, DeviceSession, HostKeyFingerprint, HostKeyPolicy, NetconfSession,
        SessionConfig,
    };
    use ferrule_netconf::rpc::{Datastore, EditConfig};
    use ferrule_netconf::transaction::{CommitMode, DeviceEdit, NoJournal, Transaction, apply};
    use ferrule_netsim::{self as netsim, Netsim, Topology};

    use super::{per_op, subif};

    fn config(net: &Netsim, name: &str, hello_pause: Duration) -> SessionConfig {
        let pinned = HostKeyFingerprint::parse(net.fingerprint(name).unwrap()).unwrap();
        let mut config = SessionConfig::new(
            &net.addr(name).unwrap().to_string(),
            Credentials::password("admin", "admin"),
            HostKeyPolicy::Pinned(pinned),
        )
        .unwrap();
        config.options.hello_pause = hello_pause;
        config
    }

    #[tokio::test(flavor = "multi_thread")]
    #[ignore = "benchmark: run with --ignored --nocapture"]
    async fn bench_ferrule_client_one_device() {
        let topology = Topology::from_yaml(
            "devices:\n  - {name: b1, listen: '127.0.0.1:0', ports: [ge-0/0/1]}\n",
        )
        .unwrap();
        let net = netsim::start(topology).await.unwrap();
        for pause in [Duration::from_millis(50), Duration::ZERO] {
            let config = config(&net, "b1", pause);
            let sessions = 20;
            let mut total = Duration::ZERO;
            for _ in 0..sessions {
                let started = Instant::now();
                let mut session = NetconfSession::connect(&config).await.unwrap();
                total += started.elapsed();
                session.close().await;
            }
            println!(
                "netsim bench (Ferrule client, hello pause {} ms): session setup {:.1} ms (mean of {sessions})",
                pause.as_millis(),
                per_op(total, sessions)
            );
        }
        let mut session = NetconfSession::connect(&config(&net, "b1", Duration::ZERO))
            .await
            .unwrap();
        let pairs = 500;
        let started = Instant::now();
        for i in 0..pairs {
            let interface = format!("ge-0/0/1.{}", 100 + i % 50);
            session
                .edit_config(EditConfig {
                    target: Datastore::Candidate,
                    config: subif(&interface, 100, 20),
                    default_operation: None,
                    test_option: None,
                    error_option: None,
                })
                .await
                .unwrap();
            session.commit().await.unwrap();
        }
        let elapsed = started.elapsed();
        println!(
            "netsim bench (Ferrule client): edit+commit {:.2} ms per pair, {:.0} pairs/s",
            per_op(elapsed, pairs),
            f64::from(pairs) / elapsed.as_secs_f64()
        );
        session.close().await;
        net.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread")]
    #[ignore = "benchmark: run with --ignored --nocapture"]
    async fn bench_ferrule_client_200_devices() {
        let topology = Topology::from_yaml(
            "generate:\n  - {prefix: olt, count: 200, basePort: 0, ports: [ge-0/0/1]}\n",
        )
        .unwrap();
        let net = netsim::start(topology).await.unwrap();
        let configs: Vec<(String, SessionConfig)> = net
            .devices()
            .into_iter()
            .map(|d| (d.name.clone(), config(&net, &d.name, Duration::ZERO)))
            .collect();
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (name, config) in configs {
            tasks.push(tokio::spawn(async move {
                let mut session = NetconfSession::connect(&config).await.unwrap();
                let tx = Transaction {
                    id: format!("ferrule-bench-{name}"),
                    confirm_timeout: Duration::from_secs(120),
                    edits: vec![DeviceEdit {
                        device: name,
                        mode: CommitMode::Candidate {
                            validate: true,
                            lock_running: false,
                        },
                        edit: subif("ge-0/0/1.1203", 500, 100),
                        compensation: None,
                    }],
                };
                apply(&tx, &mut [&mut session], &mut NoJournal)
                    .await
                    .unwrap();
                session.close().await;
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let elapsed = started.elapsed();
        for device in net.devices() {
            assert!(
                net.control()
                    .running_config(&device.name)
                    .unwrap()
                    .contains("ge-0/0/1.1203")
            );
        }
        println!(
            "netsim bench (Ferrule client): 200 devices in parallel, each connect + transaction \
             (lock, discard, edit, validate, confirmed commit with persist, confirm, unlock) + close, \
             in {:.0} ms",
            elapsed.as_secs_f64() * 1000.0
        );
        net.shutdown().await;
    }
}

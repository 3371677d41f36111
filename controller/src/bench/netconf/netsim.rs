//! `--netsim`: Ferrule's client against simulated devices started in this process, and one
//! network transaction across 200 of them.

use std::time::{Duration, Instant};

use super::clients::{self, INTERFACE};
use super::report::Figures;
use super::{BenchError, NetconfBenchArgs};
use ferrule_netconf::client::{
    Credentials, HostKeyPolicy, ManagerPolicy, SessionConfig, SessionManager, SshConnector,
};
use ferrule_netconf::transaction::{NoJournal, Transaction, apply_pooled};
use ferrule_netsim::{Netsim, Topology};

/// Devices configured in one transaction.
pub const DEVICES: usize = 200;

/// What the simulated network gave.
#[derive(Debug, Clone)]
pub struct NetsimFigures {
    /// Setups and edit+commit pairs on one simulated device.
    pub one_device: Figures,
    /// Time to start the simulated devices of the parallel run.
    pub start: Duration,
    /// One transaction configuring every device, sessions opened on the way.
    pub parallel: Duration,
}

/// A session to a simulated device: its account, its pinned host key, and no hello pause
/// (the pause works around a netconfd bug the simulator does not have).
fn config(net: &Netsim, name: &str) -> Result<SessionConfig, BenchError> {
    let missing = || BenchError::Protocol(format!("the simulator has no device {name}"));
    let address = net.addr(name).ok_or_else(missing)?.to_string();
    let pin = net.fingerprint(name).ok_or_else(missing)?;
    let policy = HostKeyPolicy::from_device(Some(pin), false)?;
    let mut config = SessionConfig::new(&address, Credentials::password("admin", "admin"), policy)?;
    config.options.hello_pause = Duration::ZERO;
    Ok(config)
}

/// Runs both measurements.
pub async fn measure(args: &NetconfBenchArgs) -> Result<NetsimFigures, BenchError> {
    let topology = Topology::from_yaml(
        "devices:\n  - {name: b1, listen: '127.0.0.1:0', ports: [ge-0/0/1]}\n",
    )?;
    let net = ferrule_netsim::start(topology).await?;
    let (one_device, session) =
        clients::ferrule("Ferrule on netsim", &config(&net, "b1")?, args).await?;
    clients::ferrule_cleanup(session).await?;
    net.shutdown().await;

    let started = Instant::now();
    let net = ferrule_netsim::start(Topology::from_yaml(&format!(
        "generate:\n  - {{prefix: olt, count: {DEVICES}, basePort: 0, ports: [ge-0/0/1]}}\n"
    ))?)
    .await?;
    let start = started.elapsed();
    let names: Vec<String> = net.devices().into_iter().map(|d| d.name).collect();
    let configs = names
        .iter()
        .map(|name| config(&net, name))
        .collect::<Result<Vec<_>, _>>()?;
    let edits = names
        .iter()
        .map(|name| clients::bench_edit(name, "parallel"))
        .collect();
    let manager = SessionManager::new(
        SshConnector,
        ManagerPolicy {
            max_connections: DEVICES + 8,
            ..ManagerPolicy::default()
        },
    );
    let tx = Transaction::new(edits, Duration::from_secs(120));
    let started = Instant::now();
    apply_pooled(&manager, &tx, &configs, &mut NoJournal)
        .await
        .map_err(Box::new)?;
    let parallel = started.elapsed();
    for name in &names {
        if !net.control().running_config(name)?.contains(INTERFACE) {
            return Err(BenchError::Protocol(format!(
                "{name} does not hold the transaction's interface"
            )));
        }
    }
    manager.close_all().await;
    net.shutdown().await;
    Ok(NetsimFigures {
        one_device,
        start,
        parallel,
    })
}

/// The netsim section of the report, with the three targets.
pub fn report(figures: &NetsimFigures) -> String {
    let one = &figures.one_device;
    let mut out = super::table(std::slice::from_ref(one));
    let setup_ms = one
        .setup()
        .map_or(f64::NAN, |s| s.median.as_secs_f64() * 1000.0);
    let parallel = figures.parallel.as_secs_f64();
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    out.push_str(&format!(
        "\n{DEVICES} devices configured in parallel (one transaction, sessions opened on the way): \
         {parallel:.2} s (simulator started in {:.2} s)\n\n\
         netsim setup: {setup_ms:.1} ms (target <= 20 ms): {}\n\
         netsim edit+commit: {:.0}/s on one device (target >= 2000/s): {}\n\
         netsim {DEVICES} devices in parallel: {parallel:.2} s (target <= 5 s): {}\n",
        figures.start.as_secs_f64(),
        verdict(setup_ms <= 20.0),
        one.pairs_per_second(),
        verdict(one.pairs_per_second() >= 2000.0),
        verdict(parallel <= 5.0),
    ));
    out
}

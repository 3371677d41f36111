//! Transactions on pooled sessions: one writer per device.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::scripted::{Device, Log, Scripted, requests_of};
use super::{candidate, tx};
use crate::client::{
    ClientError, Connector, Credentials, HostKeyPolicy, ManagerPolicy, SessionConfig,
    SessionManager,
};
use crate::transaction::{NoJournal, apply_pooled};

/// Opens scripted sessions; the device is named by the config's port.
#[derive(Debug, Clone, Default)]
struct ScriptedConnector {
    log: Log,
    devices: Arc<Mutex<HashMap<u16, Arc<Mutex<Device>>>>>,
}

impl Connector for ScriptedConnector {
    type Session = Scripted;

    async fn connect(&self, config: &SessionConfig) -> Result<Scripted, ClientError> {
        let device = self
            .devices
            .lock()
            .unwrap()
            .entry(config.port)
            .or_default()
            .clone();
        let mut session = Scripted::on(&name(config.port), &self.log, &device);
        // Slow enough that interleaved transactions would show in the log.
        session.delay = Duration::from_millis(2);
        Ok(session)
    }
}

fn name(port: u16) -> String {
    format!("d{port}")
}

fn config(port: u16) -> SessionConfig {
    SessionConfig::new(
        &format!("127.0.0.1:{port}"),
        Credentials::password("u", "p"),
        HostKeyPolicy::InsecureAcceptAny,
    )
    .unwrap()
}

#[tokio::test]
async fn concurrent_transactions_on_overlapping_devices_run_one_after_the_other() {
    let connector = ScriptedConnector::default();
    let log = connector.log.clone();
    let manager = SessionManager::new(connector, ManagerPolicy::default());
    // Devices 1 and 2, and devices 3 and 2 (listed in the other order): device 2 is shared.
    let first = tx(vec![candidate(&name(1), false), candidate(&name(2), false)]);
    let mut second = tx(vec![candidate(&name(3), false), candidate(&name(2), false)]);
    second.edits[1].edit = "<d2-second/>".into();
    let configs_first = [config(1), config(2)];
    let configs_second = [config(3), config(2)];

    let (m1, m2) = (manager.clone(), manager.clone());
    let one =
        tokio::spawn(
            async move { apply_pooled(&m1, &first, &configs_first, &mut NoJournal).await },
        );
    let two =
        tokio::spawn(
            async move { apply_pooled(&m2, &second, &configs_second, &mut NoJournal).await },
        );
    let (one, two) = (one.await.unwrap(), two.await.unwrap());
    one.unwrap();
    two.unwrap();

    // On the shared device the two transactions did not interleave: each one's requests
    // form one block from lock to unlock.
    let shared = requests_of(&log, &name(2));
    assert_eq!(shared.len(), 12, "{shared:?}");
    let mut edits = Vec::new();
    for block in shared.chunks(6) {
        assert_eq!(block[0], "lock candidate", "{shared:?}");
        edits.push(block[2].clone());
        let persist = block[3].split("persist=").nth(1).unwrap();
        assert_eq!(
            block[4],
            format!("commit persist-id={persist}"),
            "{shared:?}"
        );
        assert_eq!(block[5], "unlock candidate", "{shared:?}");
    }
    edits.sort();
    assert_eq!(
        edits,
        [
            "edit-config candidate config=<d2-second/>",
            "edit-config candidate config=<d2/>"
        ]
    );
    // One session per device, reused by both transactions.
    assert_eq!(manager.open_connections(), 3);
}

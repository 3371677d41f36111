//! Keeping a simulated device's configuration across restarts of the process that hosts it,
//! as a real device keeps its startup configuration: `STATE_DIR/<device>.xml` holds the
//! running configuration that survives a reboot.
//!
//! Writing is off the hot path: a commit only wakes the device's writer task, which waits a
//! moment for more commits to arrive (so a burst of transactions costs one write) and then
//! writes the latest snapshot atomically, owner-only. The snapshot taken is the confirmed
//! configuration: while a confirmed commit awaits its confirmation, a reboot would roll it
//! back, so the configuration from before it is what is kept. On shutdown the writer flushes
//! what is pending before it stops.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use ferrule_netconf::tree::{ConfigTree, ParseMode};
use ferrule_netconf::xml::XmlLimits;

use super::device::Device;
use super::error::NetsimError;
use super::model::DeviceModel;

/// How long the writer waits after a change for more changes before writing.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// The largest state file read back (a configuration the simulator itself wrote).
const MAX_STATE_BYTES: usize = 64 * 1024 * 1024;

/// Creates the state folder, owner-only (0700), with its missing parents.
pub fn create_dir(dir: &Path) -> Result<(), NetsimError> {
    ferrule_datadir::create_private_dir(dir).map_err(|source| NetsimError::State {
        path: dir.to_owned(),
        source,
    })
}

/// The file holding `device`'s configuration in `dir`.
pub fn state_file(dir: &Path, device: &str) -> PathBuf {
    dir.join(format!("{device}.xml"))
}

/// The configuration kept for `device` in `dir`, when there is one.
pub fn load(
    dir: &Path,
    device: &str,
    model: &DeviceModel,
) -> Result<Option<ConfigTree>, NetsimError> {
    let path = state_file(dir, device);
    let xml = match std::fs::read_to_string(&path) {
        Ok(xml) => xml,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(NetsimError::State { path, source }),
    };
    if xml.trim().is_empty() {
        return Ok(Some(ConfigTree::new()));
    }
    let limits = XmlLimits {
        max_bytes: MAX_STATE_BYTES,
        max_elements: 5_000_000,
        ..XmlLimits::default()
    };
    ConfigTree::parse_with(&xml, &model.schema, &limits, ParseMode::Device)
        .map(Some)
        .map_err(|e| NetsimError::InvalidState {
            path,
            reason: e.to_string(),
        })
}

/// Forgets the configuration kept for `device` in `dir` (a fresh start).
pub fn forget(dir: &Path, device: &str) -> Result<(), NetsimError> {
    let path = state_file(dir, device);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(NetsimError::State { path, source }),
    }
}

/// Wakes a device's writer after a change of its configuration.
#[derive(Debug, Default)]
pub(crate) struct Persister {
    changed: Notify,
}

impl Persister {
    /// Something may have changed running: the writer looks (cheap when nothing did).
    pub(crate) fn touch(&self) {
        self.changed.notify_one();
    }
}

/// Runs the writer of `device` until `shutdown`, then writes what is pending and returns.
pub(crate) async fn writer(
    device: Weak<Device>,
    persister: Arc<Persister>,
    path: PathBuf,
    shutdown: CancellationToken,
) {
    let mut written: Option<Arc<ConfigTree>> = device.upgrade().map(|d| d.state().durable());
    loop {
        let stopping = tokio::select! {
            () = shutdown.cancelled() => true,
            () = persister.changed.notified() => false,
        };
        if !stopping {
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(DEBOUNCE) => {}
            }
        }
        let Some(snapshot) = device.upgrade().map(|d| d.state().durable()) else {
            return;
        };
        if written.as_ref().is_none_or(|w| !Arc::ptr_eq(w, &snapshot)) {
            let xml = snapshot.to_xml();
            let target = path.clone();
            let result = tokio::task::spawn_blocking(move || {
                ferrule_datadir::write_private(&target, xml.as_bytes())
            })
            .await;
            match result {
                Ok(Ok(())) => written = Some(snapshot),
                Ok(Err(error)) => {
                    tracing::warn!(path = %path.display(), %error, "cannot keep the simulated device's configuration");
                }
                Err(error) => tracing::warn!(%error, "configuration writer stopped"),
            }
        }
        if stopping || shutdown.is_cancelled() {
            return;
        }
    }
}

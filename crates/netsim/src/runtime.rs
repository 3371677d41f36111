//! Starting and stopping a simulated network: one listener per device on the caller's tokio
//! runtime, plus the optional HTTP control API.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use ferrule_render::ProfileSet;

use super::auth::Accounts;
use super::capabilities::{Offer, capabilities};
use super::control::{Control, DeviceSummary};
use super::device::{Device, DeviceParts};
use super::error::NetsimError;
use super::hostkey::{fingerprint, host_key};
use super::model::DeviceModel;
use super::persist::{self, Persister};
use super::ssh;
use super::topology::{DeviceSpec, Topology};

/// The default address of the HTTP control API.
pub const DEFAULT_CONTROL_LISTEN: &str = "127.0.0.1:18399";

/// How to start the simulator beyond its topology.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Serve the HTTP control API here (loopback only); none when absent.
    pub control_listen: Option<SocketAddr>,
    /// A folder of device profiles overriding and extending the built-in ones.
    pub profiles_dir: Option<PathBuf>,
    /// A folder of templates belonging to those profiles.
    pub templates_dir: Option<PathBuf>,
    /// Keep every device's running configuration in this folder (`<device>.xml`, created
    /// owner-only) and start from it: a restart keeps the network as it was. None: every
    /// device starts empty and nothing is written.
    pub state_dir: Option<PathBuf>,
    /// With `state_dir`: forget what was kept for the topology's devices and start them empty.
    pub fresh: bool,
}

/// A running simulated network. Dropping it stops every device; [`Netsim::shutdown`] also
/// waits for the listeners to close.
#[derive(Debug)]
pub struct Netsim {
    devices: Arc<BTreeMap<String, Arc<Device>>>,
    control: Control,
    control_addr: Option<SocketAddr>,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts every device of `topology` on the current tokio runtime, without the HTTP control
/// API. The devices listen when this returns.
pub async fn start(topology: Topology) -> Result<Netsim, NetsimError> {
    start_with(topology, Options::default()).await
}

/// Starts every device of `topology` with `options`.
pub async fn start_with(topology: Topology, options: Options) -> Result<Netsim, NetsimError> {
    let profiles = ProfileSet::load(
        options.profiles_dir.as_deref(),
        options.templates_dir.as_deref(),
    )?;
    if let Some(dir) = &options.state_dir {
        persist::create_dir(dir)?;
    }
    let shutdown = CancellationToken::new();
    let mut devices = BTreeMap::new();
    let mut tasks = Vec::new();
    for spec in topology.devices {
        let (device, listener) = match build(
            spec,
            &profiles,
            &shutdown,
            options.state_dir.as_deref(),
            options.fresh,
        )
        .await
        {
            Ok(built) => built,
            Err(error) => {
                shutdown.cancel();
                return Err(error);
            }
        };
        if let (Some(dir), Some(persister)) = (&options.state_dir, device.persister()) {
            tasks.push(tokio::spawn(persist::writer(
                Arc::downgrade(&device),
                persister,
                persist::state_file(dir, device.name()),
                device.shutdown_token().clone(),
            )));
        }
        tasks.push(tokio::spawn(ssh::serve(device.clone(), listener)));
        devices.insert(device.name().to_owned(), device);
    }
    let devices = Arc::new(devices);
    let control = Control::new(devices.clone());
    let mut control_addr = None;
    if let Some(addr) = options.control_listen {
        match super::http::serve(control.clone(), addr, shutdown.clone()).await {
            Ok((bound, task)) => {
                control_addr = Some(bound);
                tasks.push(task);
            }
            Err(error) => {
                shutdown.cancel();
                return Err(error);
            }
        }
    }
    Ok(Netsim {
        devices,
        control,
        control_addr,
        shutdown,
        tasks,
    })
}

/// Builds one device (from its kept configuration when `state_dir` has one, unless `fresh`)
/// and binds its listener.
async fn build(
    spec: DeviceSpec,
    profiles: &ProfileSet,
    shutdown: &CancellationToken,
    state_dir: Option<&Path>,
    fresh: bool,
) -> Result<(Arc<Device>, TcpListener), NetsimError> {
    let invalid = |reason: String| NetsimError::InvalidDevice {
        device: spec.name.clone(),
        reason,
    };
    let profile = profiles
        .get(&spec.profile)
        .ok_or_else(|| NetsimError::UnknownProfile {
            device: spec.name.clone(),
            profile: spec.profile.clone(),
        })?;
    let model =
        DeviceModel::from_profile(profile, spec.datastore).map_err(|e| invalid(e.to_string()))?;
    let kept = match state_dir {
        Some(dir) if fresh => {
            persist::forget(dir, &spec.name)?;
            None
        }
        Some(dir) => persist::load(dir, &spec.name, &model)?,
        None => None,
    };
    let offer = Offer {
        datastore: model.datastore,
        confirmed_commit: model.confirmed_commit,
        rollback_on_error: model.rollback_on_error,
        modules: &model.modules,
    };
    let capabilities =
        capabilities(&offer, &spec.capabilities).map_err(|e| invalid(e.to_string()))?;
    let accounts = Accounts::new(&spec.name, &spec.users())?;
    let key = host_key(&spec.name, spec.host_key_seed.as_deref());
    let fingerprint = fingerprint(&key);
    let ssh_config = Arc::new(ssh::server_config(key, &accounts));
    let bind_error = |source| NetsimError::Bind {
        device: spec.name.clone(),
        addr: spec.listen,
        source,
    };
    let listener = TcpListener::bind(spec.listen).await.map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    let device = Device::new(DeviceParts {
        spec,
        addr,
        fingerprint,
        accounts,
        capabilities,
        model: Arc::new(model),
        ssh_config,
        shutdown: shutdown.child_token(),
        persister: state_dir.map(|_| Arc::new(Persister::default())),
    });
    if let Some(running) = kept {
        device.state().restore(running);
    }
    Ok((device, listener))
}

/// The host key fingerprint of every device of `topology`, in order, without starting it.
pub fn fingerprints(topology: &Topology) -> Vec<(String, String)> {
    topology
        .devices
        .iter()
        .map(|d| {
            let key = host_key(&d.name, d.host_key_seed.as_deref());
            (d.name.clone(), fingerprint(&key))
        })
        .collect()
}

// === impl Netsim ===

impl Netsim {
    /// Fault injection and inspection.
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Where the device `name` listens.
    pub fn addr(&self, name: &str) -> Option<SocketAddr> {
        self.devices.get(name).map(|d| d.addr())
    }

    /// The host key fingerprint of device `name`.
    pub fn fingerprint(&self, name: &str) -> Option<&str> {
        self.devices.get(name).map(|d| d.fingerprint())
    }

    /// Every device: name, address, profile, fingerprint, reachability.
    pub fn devices(&self) -> Vec<DeviceSummary> {
        self.control.list()
    }

    /// Where the HTTP control API listens, when it was started.
    pub fn control_addr(&self) -> Option<SocketAddr> {
        self.control_addr
    }

    /// Stops every device and the control API, and waits for their tasks.
    pub async fn shutdown(mut self) {
        self.stop();
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }

    fn stop(&self) {
        self.shutdown.cancel();
        for device in self.devices.values() {
            device.drop_everything();
        }
    }
}

impl Drop for Netsim {
    fn drop(&mut self) {
        if !self.shutdown.is_cancelled() {
            self.stop();
        }
    }
}

//! A scripted device: sessions that log every request, keep a small candidate/running model
//! shared by all sessions of the device (so a new session can confirm or cancel a persistent
//! confirmed commit), and fail where told.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::client::{ClientError, DeviceSession};
use crate::framing::Framing;
use crate::hello::{
    BASE_1_0, BASE_1_1, CANDIDATE, CONFIRMED_COMMIT_1_0, CONFIRMED_COMMIT_1_1, Capabilities,
    ROLLBACK_ON_ERROR, VALIDATE_1_1, WRITABLE_RUNNING,
};
use crate::reply::RpcReply;
use crate::rpc::{Datastore, Rpc};
use crate::rpc_error::{ErrorTag, ErrorType, RpcError, RpcErrors};
use crate::transaction::describe;

/// Every request of every device, as `device:request`.
pub type Log = Arc<Mutex<Vec<String>>>;

/// A confirmed commit waiting for its confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub persist: Option<String>,
    pub before: Vec<String>,
}

/// What the device holds; configs are kept as the list of payloads applied.
#[derive(Debug, Default)]
pub struct Device {
    pub running: Vec<String>,
    pub candidate: Vec<String>,
    pub pending: Option<Pending>,
}

/// How a scripted request fails.
#[derive(Debug, Clone)]
pub enum Fault {
    /// The device answers with this error-tag.
    Reject(ErrorTag),
    /// No answer in time: the request took effect, the session is broken.
    Timeout,
    /// The request takes effect and the answer never comes.
    Hang,
    /// The request never reaches the device and never returns.
    Stall,
}

#[derive(Debug)]
pub struct Scripted {
    pub name: String,
    pub log: Log,
    pub device: Arc<Mutex<Device>>,
    pub caps: Capabilities,
    pub framing: Framing,
    pub usable: bool,
    /// (request prefix, fault, how many times)
    pub faults: Vec<(String, Fault, usize)>,
    pub delay: Duration,
}

impl Scripted {
    /// A candidate device with confirmed-commit 1.1 on a base:1.1 session.
    pub fn new(name: &str, log: &Log) -> Self {
        Self::on(name, log, &Arc::default())
    }

    /// Another session to the same device.
    pub fn on(name: &str, log: &Log, device: &Arc<Mutex<Device>>) -> Self {
        Self {
            name: name.to_owned(),
            log: log.clone(),
            device: device.clone(),
            caps: Capabilities::new([
                BASE_1_0,
                BASE_1_1,
                CANDIDATE,
                CONFIRMED_COMMIT_1_1,
                VALIDATE_1_1,
            ]),
            framing: Framing::Chunked,
            usable: true,
            faults: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    /// A running-only device.
    pub fn running_only(mut self) -> Self {
        self.caps = Capabilities::new([BASE_1_0, BASE_1_1, WRITABLE_RUNNING, ROLLBACK_ON_ERROR]);
        self
    }

    /// A base:1.0 session with confirmed-commit 1.0 only.
    pub fn base_1_0(mut self) -> Self {
        self.caps = Capabilities::new([BASE_1_0, CANDIDATE, CONFIRMED_COMMIT_1_0]);
        self.framing = Framing::EndOfMessage;
        self
    }

    /// Fails requests starting with `request` `times` times.
    pub fn failing(mut self, request: &str, fault: Fault, times: usize) -> Self {
        self.faults.push((request.to_owned(), fault, times));
        self
    }

    /// Rejects the first request starting with `request` with `tag`.
    pub fn rejecting(self, request: &str, tag: ErrorTag) -> Self {
        self.failing(request, Fault::Reject(tag), 1)
    }

    fn fault(&mut self, request: &str) -> Option<Fault> {
        let (_, fault, times) = self
            .faults
            .iter_mut()
            .find(|(prefix, _, times)| *times > 0 && request.starts_with(prefix.as_str()))?;
        *times -= 1;
        Some(fault.clone())
    }

    fn rejected(&self, rpc: &Rpc, tag: ErrorTag) -> ClientError {
        ClientError::Rpc {
            address: self.name.clone(),
            operation: rpc.name(),
            errors: RpcErrors(vec![RpcError::new(ErrorType::Application, tag)]),
        }
    }
}

/// The request as logged: [`describe`] with the edit-config payload itself.
pub fn logged(rpc: &Rpc) -> String {
    match rpc {
        Rpc::EditConfig(edit) => describe(rpc, &edit.config),
        other => describe(other, ""),
    }
}

/// The device's reaction to a request; `Err` carries the error-tag of a rejection.
fn perform(device: &mut Device, rpc: &Rpc) -> Result<(), ErrorTag> {
    match rpc {
        Rpc::DiscardChanges => device.candidate = device.running.clone(),
        Rpc::EditConfig(edit) if edit.target == Datastore::Running => {
            device.running.push(edit.config.clone());
        }
        Rpc::EditConfig(edit) => device.candidate.push(edit.config.clone()),
        Rpc::Commit(commit) if commit.confirmed => {
            let before = device.running.clone();
            device.running = device.candidate.clone();
            device.pending = Some(Pending {
                persist: commit.persist.clone(),
                before,
            });
        }
        Rpc::Commit(commit) => match (&device.pending, &commit.persist_id) {
            (Some(p), id) if p.persist == *id => device.pending = None,
            (_, Some(_)) => return Err(ErrorTag::InvalidValue),
            (_, None) => device.running = device.candidate.clone(),
        },
        Rpc::CancelCommit { persist_id } => match device.pending.take() {
            Some(p) if p.persist == *persist_id => {
                device.running = p.before;
                device.candidate = device.running.clone();
            }
            other => {
                device.pending = other;
                return Err(ErrorTag::InvalidValue);
            }
        },
        _ => {}
    }
    Ok(())
}

impl DeviceSession for Scripted {
    fn address(&self) -> &str {
        &self.name
    }
    fn session_id(&self) -> u32 {
        7
    }
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    fn framing(&self) -> Framing {
        self.framing
    }
    fn is_usable(&self) -> bool {
        self.usable
    }

    async fn rpc(&mut self, rpc: &Rpc) -> Result<RpcReply, ClientError> {
        let request = logged(rpc);
        self.log
            .lock()
            .unwrap()
            .push(format!("{}:{request}", self.name));
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let fault = self.fault(&request);
        match fault {
            Some(Fault::Reject(tag)) => return Err(self.rejected(rpc, tag)),
            Some(Fault::Stall) => std::future::pending::<()>().await,
            _ => {}
        }
        let performed = perform(&mut self.device.lock().unwrap(), rpc);
        match fault {
            Some(Fault::Timeout) => {
                self.usable = false;
                return Err(ClientError::RpcTimeout {
                    address: self.name.clone(),
                    operation: rpc.name().to_owned(),
                    after: Duration::from_secs(60),
                });
            }
            Some(Fault::Hang) => std::future::pending::<()>().await,
            _ => {}
        }
        performed.map_err(|tag| self.rejected(rpc, tag))?;
        Ok(RpcReply {
            ok: true,
            ..RpcReply::default()
        })
    }

    async fn close(&mut self) {
        self.log
            .lock()
            .unwrap()
            .push(format!("{}:close", self.name));
        self.usable = false;
        let mut device = self.device.lock().unwrap();
        if let Some(p) = device.pending.take_if(|p| p.persist.is_none()) {
            device.running = p.before;
        }
    }
}

/// The requests one device received, without the device prefix.
pub fn requests_of(log: &Log, device: &str) -> Vec<String> {
    let prefix = format!("{device}:");
    log.lock()
        .unwrap()
        .iter()
        .filter_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
        .collect()
}

//! The mutable state of one simulated device and the NETCONF operations on it.
//!
//! Everything here is synchronous and runs under the device mutex: an operation computes its
//! result from the current state and stores it at once, so a failed operation changes nothing.
//! Effects that need the runtime (arming a confirm timer, closing the session) are returned in
//! the [`Outcome`].

use std::sync::Arc;
use std::time::Instant;

use ferrule_netconf::tree::{
    ConfigTree, DefaultOperation, Edit, ParseMode, QName, TreeError, apply_edit,
};
use ferrule_netconf::xml::{Element, XmlLimits, parse_fragment};

use super::capabilities::Features;
use super::commit::{CommitOutcome, Datastores, Deadline};
use super::faults::Faults;
use super::filter;
use super::interfaces::InterfaceCache;
use super::locks::{Datastore, LockTable, SessionId};
use super::model::DeviceModel;
use super::oper;
use super::rpc::{EditRequest, Operation, Source};
use super::rpc_error::RpcFailure;
use super::topology::DeviceSpec;
use super::traffic::{InterfaceView, Traffic};
use ferrule_netconf::rpc_error::ErrorType;

/// Limits on configuration a client sends in one RPC.
const CONFIG_LIMITS: XmlLimits = XmlLimits {
    max_bytes: 16 * 1024 * 1024,
    max_depth: 64,
    max_elements: 500_000,
    max_name_len: 1024,
    max_attributes: 64,
};

/// Datastores, locks, faults and traffic of one device.
#[derive(Debug)]
pub struct DeviceState {
    model: Arc<DeviceModel>,
    features: Features,
    /// Running and candidate configuration, pending confirmed commit. The configurations are
    /// shared snapshots: an edit makes a new one, everything else moves pointers.
    pub stores: Datastores<Arc<ConfigTree>>,
    /// Datastore locks.
    pub locks: LockTable,
    /// Injected faults.
    pub faults: Faults,
    traffic: Traffic,
    interface_lists: Vec<Vec<QName>>,
    interfaces: InterfaceCache,
    ports: Vec<String>,
    load: u8,
}

/// What an operation answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// `<ok/>`.
    Ok,
    /// `<data>` with these children.
    Data(Vec<Element>),
    /// These elements directly in `<rpc-reply>` (vendor RPC output).
    Elements(Vec<Element>),
}

/// The result of a successful operation and the effects the caller carries out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The reply content.
    pub body: Body,
    /// A confirmed commit was made: arm its rollback timer.
    pub arm: Option<Deadline>,
    /// The session ends after the reply.
    pub close: bool,
}

impl From<Body> for Outcome {
    fn from(body: Body) -> Self {
        Self {
            body,
            arm: None,
            close: false,
        }
    }
}

// === impl DeviceState ===

impl DeviceState {
    /// A device with empty datastores.
    pub fn new(model: Arc<DeviceModel>, features: Features, spec: &DeviceSpec) -> Self {
        Self {
            interface_lists: oper::interface_lists(&model.schema),
            stores: Datastores::new(Arc::new(ConfigTree::new()), features.candidate),
            locks: LockTable::default(),
            faults: Faults::default(),
            traffic: Traffic::default(),
            interfaces: InterfaceCache::default(),
            ports: spec.ports.clone(),
            load: spec.traffic_load(),
            model,
            features,
        }
    }

    /// Starts from a kept configuration (running, and the candidate with it), as a device
    /// boots from its startup configuration.
    pub fn restore(&mut self, running: ConfigTree) {
        self.stores = Datastores::new(Arc::new(running), self.features.candidate);
    }

    /// The configuration that survives a reboot: running, or while a confirmed commit awaits
    /// its confirmation, the configuration it would roll back to.
    pub fn durable(&self) -> Arc<ConfigTree> {
        self.stores
            .pending()
            .map_or_else(|| self.stores.running.clone(), |p| p.rollback.clone())
    }

    /// The views of the interfaces configured in running (found again only when running
    /// changed).
    pub fn interface_views(&mut self) -> Arc<[InterfaceView]> {
        self.interfaces
            .of(&self.stores.running, &self.interface_lists)
    }

    /// Accounts traffic up to `now` with the state that held until now. Called before every
    /// change of running or of the faults, and before counters are read.
    fn account(&mut self, now: Instant) {
        let views = self.interface_views();
        self.traffic
            .advance(now, &views, &self.faults.down, self.load);
    }

    /// A session ended: its unconfirmed (non-persist) commit is rolled back, its locks are
    /// released, and a candidate it held locked loses its uncommitted changes.
    pub fn session_closed(&mut self, session: SessionId, now: Instant) {
        self.account(now);
        self.stores.session_closed(session);
        let released = self.locks.release_all(session);
        if released.contains(&Datastore::Candidate) && self.stores.candidate_dirty() {
            let _ = self.stores.discard();
        }
    }

    /// The confirm timer of `generation` fired.
    pub fn expire_confirmed(&mut self, generation: u64, now: Instant) -> bool {
        self.account(now);
        self.stores.expire(generation)
    }

    /// Takes an interface down or up.
    pub fn set_interface(&mut self, name: &str, up: bool, now: Instant) {
        self.account(now);
        if up {
            self.faults.down.remove(name);
        } else {
            self.faults.down.insert(name.to_owned());
        }
    }

    /// The running configuration as XML.
    pub fn running_xml(&self) -> String {
        self.stores.running.to_xml()
    }

    /// Edits running directly (an operator on the device, not a NETCONF session). The
    /// candidate follows when it had no pending changes.
    pub fn edit_running_directly(
        &mut self,
        config: &str,
        default_operation: &str,
        now: Instant,
    ) -> Result<(), RpcFailure> {
        let default = DefaultOperation::parse(default_operation).ok_or_else(|| {
            RpcFailure::invalid_value(format!("unknown default operation {default_operation:?}"))
        })?;
        let elements = parse_fragment(config, &CONFIG_LIMITS)
            .map_err(|e| RpcFailure::malformed(e.to_string()))?;
        let edit = self.parse_edit(&elements)?;
        let next = apply_edit(&self.stores.running, &edit, default)
            .map_err(|e| RpcFailure::from(e.to_rpc_error(&self.model.prefixes)))?;
        let follow = !self.stores.candidate_dirty();
        self.account(now);
        self.stores.running = Arc::new(next);
        if follow && self.stores.candidate.is_some() {
            self.stores.candidate = Some(self.stores.running.clone());
        }
        Ok(())
    }

    /// Runs one operation for `session`. `kill-session` is handled by the device, which knows
    /// the other sessions.
    pub fn execute(
        &mut self,
        session: SessionId,
        operation: Operation,
        now: Instant,
    ) -> Result<Outcome, RpcFailure> {
        match operation {
            Operation::Get { filter } => {
                let data = self.get_data(now);
                Ok(Body::Data(select(data, filter)).into())
            }
            Operation::GetConfig { source, filter } => {
                let data = elements(self.store(source)?);
                Ok(Body::Data(select(data, filter)).into())
            }
            Operation::EditConfig(request) => self.edit(session, request, now),
            Operation::CopyConfig { target, source } => self.copy(session, target, source, now),
            Operation::DeleteConfig => Err(RpcFailure::invalid_value(
                "only <startup/> can be deleted and this device has none",
            )),
            Operation::Lock(store) => {
                self.store(store)?;
                if store == Datastore::Candidate
                    && self.locks.holder(store).is_none()
                    && self.stores.candidate_dirty()
                {
                    return Err(RpcFailure::new(
                        ErrorType::Protocol,
                        "lock-denied",
                        "the candidate has uncommitted changes; discard-changes first",
                    )
                    .with_info("session-id", "0"));
                }
                self.locks.lock(store, session)?;
                Ok(Body::Ok.into())
            }
            Operation::Unlock(store) => {
                self.store(store)?;
                self.locks.unlock(store, session)?;
                if store == Datastore::Candidate && self.stores.candidate_dirty() {
                    self.stores.discard()?;
                }
                Ok(Body::Ok.into())
            }
            Operation::Commit(request) => {
                if !self.features.candidate {
                    return Err(RpcFailure::not_supported("this device has no candidate"));
                }
                let wants_confirm =
                    request.confirmed || request.persist.is_some() || request.persist_id.is_some();
                if wants_confirm && !self.features.confirmed_commit {
                    return Err(RpcFailure::not_supported(
                        "this device does not support confirmed commit",
                    ));
                }
                self.locks.check_write(Datastore::Running, session)?;
                self.locks.check_write(Datastore::Candidate, session)?;
                if let Some(rejection) = self.faults.reject_next_commit.take() {
                    return Err(rejection.to_failure());
                }
                self.account(now);
                match self.stores.commit(&request, session)? {
                    CommitOutcome::Committed => Ok(Body::Ok.into()),
                    CommitOutcome::AwaitingConfirm(deadline) => Ok(Outcome {
                        body: Body::Ok,
                        arm: Some(deadline),
                        close: false,
                    }),
                }
            }
            Operation::CancelCommit { persist_id } => {
                if !self.features.confirmed_commit {
                    return Err(RpcFailure::not_supported(
                        "this device does not support confirmed commit",
                    ));
                }
                self.account(now);
                self.stores.cancel(persist_id.as_deref(), session)?;
                Ok(Body::Ok.into())
            }
            Operation::DiscardChanges => {
                self.store(Datastore::Candidate)?;
                self.locks.check_write(Datastore::Candidate, session)?;
                self.stores.discard()?;
                Ok(Body::Ok.into())
            }
            Operation::Validate { source } => {
                if !self.features.validate {
                    return Err(RpcFailure::not_supported(
                        "this device does not support validate",
                    ));
                }
                match source {
                    Source::Store(store) => {
                        self.store(store)?;
                    }
                    Source::Inline(config) => {
                        ConfigTree::from_elements(
                            &config,
                            &self.model.schema,
                            &CONFIG_LIMITS,
                            ParseMode::Config,
                        )
                        .map_err(tree_failure)?;
                    }
                }
                Ok(Body::Ok.into())
            }
            Operation::CloseSession => Ok(Outcome {
                body: Body::Ok,
                arm: None,
                close: true,
            }),
            Operation::KillSession(_) => Err(RpcFailure::operation_failed(
                "kill-session is handled by the device",
            )),
            Operation::StateRpc => {
                self.account(now);
                Ok(Body::Elements(self.state_elements()).into())
            }
        }
    }

    /// The datastore `store`, when the device has it.
    fn store(&self, store: Datastore) -> Result<&Arc<ConfigTree>, RpcFailure> {
        match store {
            Datastore::Running => Ok(&self.stores.running),
            Datastore::Candidate => self.stores.candidate.as_ref().ok_or_else(|| {
                RpcFailure::invalid_value("this device has no candidate datastore")
                    .with_info("bad-element", "candidate")
            }),
        }
    }

    /// Checks that `session` may write `target` on this kind of device.
    fn check_target(&self, target: Datastore, session: SessionId) -> Result<(), RpcFailure> {
        match target {
            Datastore::Candidate => {
                self.store(target)?;
            }
            Datastore::Running if self.features.candidate => {
                return Err(RpcFailure::not_supported(
                    "running is not writable on this device (no :writable-running); edit the candidate",
                ));
            }
            Datastore::Running => {}
        }
        self.locks.check_write(target, session)
    }

    fn parse_edit(&self, config: &[Element]) -> Result<Edit, RpcFailure> {
        Edit::from_elements(config, &self.model.schema, &CONFIG_LIMITS).map_err(tree_failure)
    }

    fn edit(
        &mut self,
        session: SessionId,
        request: EditRequest,
        now: Instant,
    ) -> Result<Outcome, RpcFailure> {
        self.check_target(request.target, session)?;
        if request.rollback_on_error && !self.features.rollback_on_error {
            return Err(RpcFailure::not_supported(
                "error-option rollback-on-error needs :rollback-on-error",
            ));
        }
        if request.test_only && !self.features.validate {
            return Err(RpcFailure::not_supported(
                "test-option test-only needs :validate:1.1",
            ));
        }
        let edit = self.parse_edit(&request.config)?;
        // Every edit is all-or-nothing: stop-on-error and continue-on-error behave like
        // rollback-on-error (the device never keeps half an edit).
        let next = apply_edit(
            self.store(request.target)?,
            &edit,
            request.default_operation,
        )
        .map_err(|e| RpcFailure::from(e.to_rpc_error(&self.model.prefixes)))?;
        if request.test_only {
            return Ok(Body::Ok.into());
        }
        let next = Arc::new(next);
        match request.target {
            Datastore::Candidate => self.stores.candidate = Some(next),
            Datastore::Running => {
                self.account(now);
                self.stores.running = next;
            }
        }
        Ok(Body::Ok.into())
    }

    fn copy(
        &mut self,
        session: SessionId,
        target: Datastore,
        source: Source,
        now: Instant,
    ) -> Result<Outcome, RpcFailure> {
        let tree = match source {
            Source::Store(store) if store == target => {
                return Err(RpcFailure::invalid_value(
                    "source and target are the same datastore",
                ));
            }
            Source::Store(store) => self.store(store)?.clone(),
            Source::Inline(config) => Arc::new(
                ConfigTree::from_elements(
                    &config,
                    &self.model.schema,
                    &CONFIG_LIMITS,
                    ParseMode::Config,
                )
                .map_err(tree_failure)?,
            ),
        };
        self.check_target(target, session)?;
        match target {
            Datastore::Candidate => self.stores.candidate = Some(tree),
            Datastore::Running => {
                self.account(now);
                self.stores.running = tree;
            }
        }
        Ok(Body::Ok.into())
    }

    /// Running config with the operational state merged in.
    fn get_data(&mut self, now: Instant) -> Vec<Element> {
        self.account(now);
        let state = self.state_elements();
        let merged = ConfigTree::from_elements(
            &state,
            &self.model.schema,
            &CONFIG_LIMITS,
            ParseMode::Device,
        )
        .ok()
        .and_then(|tree| {
            apply_edit(
                &self.stores.running,
                &Edit { tree },
                DefaultOperation::Merge,
            )
            .ok()
        });
        match merged {
            Some(tree) => elements(&tree),
            None => {
                let mut data = elements(&self.stores.running);
                data.extend(state);
                data
            }
        }
    }

    /// The state elements of every interface of running, laid out as the profile reads them.
    /// The paths of the entries are only needed here, so they are found here (the answer is
    /// as large as the interface configuration anyway).
    fn state_elements(&self) -> Vec<Element> {
        let configured = oper::configured_interfaces(&self.stores.running, &self.interface_lists);
        let views: Vec<InterfaceView> = configured.iter().map(|c| c.view.clone()).collect();
        let reports = oper::reports(
            &self.model.state,
            &configured,
            &self.ports,
            &self.faults.down,
            |name| self.traffic.counters(name),
            |port| self.traffic.port_counters(port, &views),
        );
        oper::state_elements(&self.model.state, &reports, "")
    }
}

/// A config tree as elements (for filtering and writing).
fn elements(tree: &ConfigTree) -> Vec<Element> {
    parse_fragment(&tree.to_xml(), &XmlLimits::default()).unwrap_or_default()
}

fn select(data: Vec<Element>, filter: Option<Vec<Element>>) -> Vec<Element> {
    match filter {
        Some(filter) => filter::apply(&data, &filter),
        None => data,
    }
}

/// The rpc-error for a config payload the tree code refused.
fn tree_failure(error: TreeError) -> RpcFailure {
    let message = error.to_string();
    match error {
        TreeError::Xml(_) => RpcFailure::malformed(message),
        TreeError::MissingKey { key, .. } => {
            RpcFailure::new(ErrorType::Application, "missing-element", message)
                .with_info("bad-element", &key)
        }
        TreeError::BadOperation { .. } => {
            RpcFailure::new(ErrorType::Protocol, "bad-attribute", message)
                .with_info("bad-attribute", "operation")
        }
        TreeError::TooLarge { .. } => RpcFailure::new(ErrorType::Application, "too-big", message),
        _ => RpcFailure::new(ErrorType::Application, "invalid-value", message),
    }
}

#[cfg(test)]
mod tests;

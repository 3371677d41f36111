//! The lab: an embedded API server, simulated devices and the controllers, in one process.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use ferrule_apiserver::{ApiServer, ServeConfig};
use ferrule_crds::condition::{find_condition, types};
use ferrule_crds::{Device, ResourceClaim, ResourcePool, ServiceOrder, Subscription};
use ferrule_e2e::eventually;
use ferrule_netconf::client::ManagerPolicy;
use ferrule_netsim::{DeviceSpec, Netsim, Topology};
use ferrule_operator::cache::Scope;
use ferrule_operator::metrics::Metrics;
use ferrule_provisioning::start::{self, Running};
use ferrule_render::Renderer;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, ListParams, PostParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub(crate) const NS: &str = "isp";
pub(crate) const WAIT: Duration = Duration::from_secs(30);
pub(crate) const IF_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";

/// An API server, simulated devices olt1 (Repair), olt2 (Report, a one-VLAN pool) and bng1,
/// and the controllers.
pub(crate) struct Lab {
    pub(crate) client: Client,
    pub(crate) netsim: Netsim,
    controllers: Option<Running>,
    server: Option<ApiServer>,
    _dir: tempfile::TempDir,
}

impl Lab {
    /// A lab whose netsim also runs `extra` devices (their Device objects are the scenario's).
    pub(crate) async fn start(extra: Vec<DeviceSpec>) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut config = ServeConfig::new(dir.path(), "127.0.0.1:0".parse()?);
        config.bookmark_interval = Duration::from_secs(2);
        config.crds = ferrule_crds::crdgen::all_crds()
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?;
        let server = ferrule_apiserver::serve(config).await?;
        let client = server.client().await?;
        let any = "127.0.0.1:0".parse()?;
        let mut olt1 = DeviceSpec::new("olt1", any);
        olt1.ports = vec!["ge-0/0/1".into(), "ge-0/0/2".into()];
        let mut olt2 = DeviceSpec::new("olt2", any);
        olt2.ports = vec!["ge-0/0/1".into(), "ge-0/0/2".into()];
        let mut bng1 = DeviceSpec::new("bng1", any);
        bng1.ports = vec!["xe-0/0/1".into(), "xe-0/0/2".into()];
        let mut devices = vec![olt1, olt2, bng1];
        devices.extend(extra);
        let netsim = ferrule_netsim::start(Topology::new(devices)?).await?;

        let lab = Lab {
            client: client.clone(),
            netsim,
            controllers: None,
            server: Some(server),
            _dir: dir,
        };
        lab.seed().await?;
        let renderer = Arc::new(Renderer::builtin()?);
        let policy = ManagerPolicy {
            connect_attempts: 1,
            ..Default::default()
        };
        let edge = start::netconf_edge(client.clone(), renderer.clone(), policy);
        let options = start::Options {
            scope: Scope::Namespace(NS.into()),
            drift_interval: Duration::from_secs(2),
            ..Default::default()
        };
        let running =
            start::start(client, renderer, edge, Arc::new(Metrics::new()), options).await?;
        Ok(Lab {
            controllers: Some(running),
            ..lab
        })
    }

    pub(crate) async fn create<K>(&self, object: Value) -> anyhow::Result<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
    {
        let object: K = serde_json::from_value(object)?;
        let api: Api<K> = Api::namespaced(self.client.clone(), NS);
        Ok(api.create(&PostParams::default(), &object).await?)
    }

    pub(crate) fn device(&self, name: &str, role: &str, extra: Value) -> anyhow::Result<Value> {
        let addr = self.netsim.addr(name).context("netsim device")?;
        let fingerprint = self.netsim.fingerprint(name).context("fingerprint")?;
        let mut spec = json!({
            "address": addr.to_string(), "profile": "ietf", "credentialsSecret": "netsim-admin",
            "hostKey": fingerprint, "role": role, "site": "lis"
        });
        if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
            spec.extend(extra.clone());
        }
        Ok(
            json!({"apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "Device",
                  "metadata": {"name": name, "namespace": NS}, "spec": spec}),
        )
    }

    pub(crate) async fn seed(&self) -> anyhow::Result<()> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}}))?;
        namespaces.create(&PostParams::default(), &ns).await?;
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": "netsim-admin", "namespace": NS},
            "type": "ferrule.dev/device-credentials",
            "stringData": {"username": "admin", "password": "admin"}
        }))?;
        Api::<Secret>::namespaced(self.client.clone(), NS)
            .create(&PostParams::default(), &secret)
            .await?;
        for (name, down) in [("fibre-500", 500), ("fibre-1000", 1000)] {
            self.create::<ferrule_crds::Product>(json!({
                "apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "Product",
                "metadata": {"name": name, "namespace": NS},
                "spec": {"displayName": name, "serviceType": "internet-access",
                         "parameters": {"downMbps": down, "upMbps": 100},
                         "pricing": {"currency": "EUR", "monthly": "39.90"}}
            }))
            .await?;
        }
        self.create::<ferrule_crds::Customer>(json!({
            "apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "Customer",
            "metadata": {"name": "ana", "namespace": NS},
            "spec": {"displayName": "Ana", "contact": {"email": "ana@example.com"},
                     "billing": {"currency": "EUR", "cycleDay": 1}}
        }))
        .await?;
        let olt1 = self.device(
            "olt1",
            "access",
            json!({"ports": ["ge-0/0/1", "ge-0/0/2"], "bng": "bng1", "bngPort": "xe-0/0/1",
                   "driftPolicy": "Repair"}),
        )?;
        let olt2 = self.device(
            "olt2",
            "access",
            json!({"ports": ["ge-0/0/1", "ge-0/0/2"], "bngPort": "xe-0/0/2"}),
        )?;
        let bng1 = self.device("bng1", "bng", json!({"driftPolicy": "Repair"}))?;
        for device in [olt1, olt2, bng1] {
            self.create::<Device>(device).await?;
        }
        for (name, from, to, device) in [
            ("olt1-vlans", 1200, 1299, "olt1"),
            ("olt2-vlans", 1300, 1300, "olt2"),
        ] {
            self.create::<ResourcePool>(json!({
                "apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "ResourcePool",
                "metadata": {"name": name, "namespace": NS},
                "spec": {"type": "Vlan", "vlan": {"from": from, "to": to},
                         "selector": {"devices": [device]}}
            }))
            .await?;
        }
        self.create::<ResourcePool>(json!({
            "apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "ResourcePool",
            "metadata": {"name": "lis-v4", "namespace": NS},
            "spec": {"type": "IPv4", "ipv4": {"cidr": "100.64.0.0/24", "prefixLength": 30},
                     "selector": {"roles": ["bng"]}}
        }))
        .await?;
        Ok(())
    }

    pub(crate) async fn order(&self, name: &str, items: Value) -> anyhow::Result<()> {
        self.order_for("ana", name, items).await
    }

    pub(crate) async fn order_for(
        &self,
        customer: &str,
        name: &str,
        items: Value,
    ) -> anyhow::Result<()> {
        self.create::<ServiceOrder>(json!({
            "apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "ServiceOrder",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"customer": customer, "items": items}
        }))
        .await?;
        Ok(())
    }

    pub(crate) async fn get<K>(&self, name: &str) -> Option<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        Api::<K>::namespaced(self.client.clone(), NS)
            .get_opt(name)
            .await
            .ok()
            .flatten()
    }

    /// Waits for the order to reach `state`.
    pub(crate) async fn order_state(
        &self,
        name: &str,
        state: &str,
    ) -> anyhow::Result<ServiceOrder> {
        let result = eventually(WAIT, || async {
            let order: ServiceOrder = self.get(name).await?;
            let current = serde_json::to_value(order.status.as_ref()?.state?).ok()?;
            (current == json!(state)).then_some(order)
        })
        .await;
        match result {
            Ok(order) => Ok(order),
            Err(err) => Err(err.context(format!(
                "order {name} did not reach {state}\n{}",
                self.dump().await
            ))),
        }
    }

    /// Waits for the subscription's Ready condition to have `reason`.
    pub(crate) async fn ready_reason(
        &self,
        name: &str,
        reason: &str,
    ) -> anyhow::Result<Subscription> {
        let result = eventually(WAIT, || async {
            let sub: Subscription = self.get(name).await?;
            let status = sub.status.as_ref()?;
            let ready = find_condition(&status.conditions, types::READY)?;
            (ready.reason == reason && status.observed_generation == sub.metadata.generation)
                .then_some(sub.clone())
        })
        .await;
        match result {
            Ok(sub) => Ok(sub),
            Err(err) => Err(err.context(format!(
                "subscription {name} never had Ready reason {reason}"
            ))),
        }
    }

    /// The status of every subscription, order and device, for failure messages.
    pub(crate) async fn dump(&self) -> String {
        let mut out = String::new();
        let subs: Api<Subscription> = Api::namespaced(self.client.clone(), NS);
        for sub in subs
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default()
        {
            out.push_str(&format!(
                "sub {:?}: {}\n",
                sub.metadata.name,
                json!(sub.status)
            ));
        }
        let orders: Api<ServiceOrder> = Api::namespaced(self.client.clone(), NS);
        for order in orders
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default()
        {
            out.push_str(&format!(
                "order {:?}: {}\n",
                order.metadata.name,
                json!(order.status)
            ));
        }
        let devices: Api<Device> = Api::namespaced(self.client.clone(), NS);
        for device in devices
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default()
        {
            out.push_str(&format!(
                "device {:?}: {}\n",
                device.metadata.name,
                json!(device.status)
            ));
        }
        out
    }

    pub(crate) fn running(&self, device: &str) -> String {
        self.netsim
            .control()
            .running_config(device)
            .unwrap_or_default()
    }

    pub(crate) async fn claims(&self) -> Vec<String> {
        let api: Api<ResourceClaim> = Api::namespaced(self.client.clone(), NS);
        let mut names: Vec<String> = api
            .list(&ListParams::default())
            .await
            .map(|l| {
                l.items
                    .into_iter()
                    .filter_map(|c| c.metadata.name)
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Runs a scenario on a fresh lab; a failure carries the state of every resource.
    pub(crate) async fn run<F>(scenario: F) -> anyhow::Result<()>
    where
        F: AsyncFnOnce(&Lab) -> anyhow::Result<()>,
    {
        Lab::run_with(Vec::new(), scenario).await
    }

    /// [`Lab::run`] with `extra` simulated devices.
    pub(crate) async fn run_with<F>(extra: Vec<DeviceSpec>, scenario: F) -> anyhow::Result<()>
    where
        F: AsyncFnOnce(&Lab) -> anyhow::Result<()>,
    {
        let lab = Lab::start(extra).await?;
        let result = scenario(&lab).await;
        let result = match result {
            Ok(()) => Ok(()),
            Err(err) => Err(err.context(lab.dump().await)),
        };
        lab.stop().await;
        result
    }

    pub(crate) async fn stop(mut self) {
        if let Some(controllers) = self.controllers.take() {
            controllers.shutdown().await;
        }
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

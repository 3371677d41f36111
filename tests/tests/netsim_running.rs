//! Network transactions spanning a running-only device (profile `ietf-running`: it
//! advertises `:writable-running` and `:rollback-on-error` but no `:candidate`) and a
//! candidate device, through the provisioning edge (planner, group commit, NETCONF
//! transactor): when the candidate device refuses its commit, the planner's compensating edit
//! puts the running-only device back exactly as it was.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use ferrule_apiserver::{ApiServer, ServeConfig, serve};
use ferrule_netconf::client::{
    Credentials, DeviceSession, HostKeyFingerprint, HostKeyPolicy, ManagerPolicy, NetconfSession,
    SessionConfig,
};
use ferrule_netconf::tree::{ConfigTree, ParseMode};
use ferrule_netconf::xml::XmlLimits;
use ferrule_netsim::{CommitRejection, DeviceSpec, Netsim, Topology};
use ferrule_provisioning::start::netconf_edge;
use ferrule_provisioning::transactor::{
    AppliedConfig, ChangeSet, DeviceChange, DeviceTarget, NetworkTransactor, TransactError,
};
use ferrule_render::Renderer;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, PostParams};
use serde_json::json;

const NS: &str = "isp";
const IF: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";

/// An API server holding the devices' credentials, a running-only OLT and a candidate BNG,
/// and the provisioning edge.
struct Bench {
    net: Netsim,
    server: ApiServer,
    transactor: Arc<dyn NetworkTransactor>,
    renderer: Arc<Renderer>,
    _dir: tempfile::TempDir,
}

impl Bench {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let server = serve(ServeConfig::new(dir.path(), "127.0.0.1:0".parse().unwrap()))
            .await
            .unwrap();
        let client = server.client().await.unwrap();
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap();
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .unwrap();
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": "netsim-admin", "namespace": NS},
            "type": "ferrule.dev/device-credentials",
            "stringData": {"username": "admin", "password": "admin"}
        }))
        .unwrap();
        Api::<Secret>::namespaced(client.clone(), NS)
            .create(&PostParams::default(), &secret)
            .await
            .unwrap();
        let any = "127.0.0.1:0".parse().unwrap();
        let mut olt = DeviceSpec::new("olt1", any);
        olt.profile = "ietf-running".into();
        let net =
            ferrule_netsim::start(Topology::new(vec![olt, DeviceSpec::new("bng1", any)]).unwrap())
                .await
                .unwrap();
        let renderer = Arc::new(Renderer::builtin().unwrap());
        let policy = ManagerPolicy {
            connect_attempts: 1,
            ..Default::default()
        };
        let edge = netconf_edge(client, renderer.clone(), policy);
        Self {
            net,
            server,
            transactor: edge.transactor,
            renderer,
            _dir: dir,
        }
    }

    fn target(&self, name: &str, profile: &str) -> DeviceTarget {
        DeviceTarget {
            namespace: NS.into(),
            name: name.into(),
            profile: profile.into(),
            address: self.net.addr(name).unwrap().to_string(),
            credentials_secret: "netsim-admin".into(),
            host_key: Some(self.net.fingerprint(name).unwrap().to_owned()),
            insecure_skip_host_key_verification: false,
        }
    }

    /// The owner's change on both devices: `desired` (or removal) with what it had before.
    fn change(
        &self,
        owner: &str,
        desired: Option<&str>,
        previous: &[Option<AppliedConfig>; 2],
        others: &[&str],
    ) -> ChangeSet {
        let held: BTreeSet<String> = others.iter().map(|o| (*o).to_owned()).collect();
        let devices = [("olt1", "ietf-running"), ("bng1", "ietf")];
        ChangeSet {
            owner: format!("{NS}/{owner}"),
            changes: devices
                .iter()
                .zip(previous)
                .map(|((name, profile), previous)| DeviceChange {
                    target: self.target(name, profile),
                    desired: desired.map(str::to_owned),
                    previous: previous.clone(),
                    held_by_others: held.clone(),
                })
                .collect(),
        }
    }

    /// Plans and pushes `changes`; what each device's owner has afterwards.
    async fn push(&self, changes: &ChangeSet) -> Result<[Option<AppliedConfig>; 2], TransactError> {
        let plan = self.transactor.plan(changes).unwrap();
        let olt = &plan.devices[0];
        assert_eq!(olt.target.name, "olt1");
        assert!(
            olt.edit.is_none() || olt.compensation.is_some(),
            "a pushed running-only device carries its compensation: {olt:?}"
        );
        self.transactor.apply(&plan).await?;
        Ok([
            plan.devices[0].applied.clone(),
            plan.devices[1].applied.clone(),
        ])
    }

    /// A device's running configuration as a tree.
    fn running(&self, device: &str) -> ConfigTree {
        let xml = self.net.control().running_config(device).unwrap();
        let schema = self
            .renderer
            .profiles()
            .get("ietf")
            .unwrap()
            .list_schema()
            .unwrap();
        ConfigTree::parse_with(&xml, &schema, &XmlLimits::default(), ParseMode::Device).unwrap()
    }

    fn reject_next_commit(&self, device: &str) {
        self.net
            .control()
            .reject_next_commit(
                device,
                CommitRejection {
                    error_tag: "invalid-value".into(),
                    message: "sub-interface refused".into(),
                },
            )
            .unwrap();
    }

    async fn stop(self) {
        self.net.shutdown().await;
        self.server.shutdown().await;
    }
}

fn subif(name: &str, description: &str) -> String {
    format!(
        "<interface><name>{name}</name><description>{description}</description>\
         <type xmlns:ianaift=\"urn:ietf:params:xml:ns:yang:iana-if-type\">ianaift:l2vlan</type>\
         <enabled>true</enabled></interface>"
    )
}

fn interfaces(entries: &[String]) -> String {
    format!(
        "<interfaces xmlns=\"{IF}\">{}</interfaces>",
        entries.concat()
    )
}

fn assert_rejected_by_bng(result: Result<[Option<AppliedConfig>; 2], TransactError>) {
    match result {
        Err(TransactError::Rejected { device, phase, .. }) => {
            assert_eq!(
                (device.as_str(), phase.as_str()),
                ("bng1", "confirmed commit")
            );
        }
        other => panic!("expected the BNG to reject its commit, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_running_only_device_is_compensated_when_another_device_fails() {
    let bench = Bench::start().await;

    // The simulated OLT is running-only.
    let pinned = HostKeyFingerprint::parse(bench.net.fingerprint("olt1").unwrap()).unwrap();
    let config = SessionConfig::new(
        &bench.net.addr("olt1").unwrap().to_string(),
        Credentials::password("admin", "admin"),
        HostKeyPolicy::Pinned(pinned),
    )
    .unwrap();
    let mut session = NetconfSession::connect(&config).await.unwrap();
    let caps = session.capabilities();
    assert!(!caps.candidate() && caps.writable_running() && caps.rollback_on_error());
    session.close().await;

    // Success: another owner, then this one, on both devices.
    let none = [None, None];
    let other_entry = "/if:interfaces/if:interface[if:name='ge-0/0/2.7']";
    let other = interfaces(&[subif("ge-0/0/2.7", "someone else")]);
    bench
        .push(&bench.change("other", Some(&other), &none, &[]))
        .await
        .unwrap();
    let first = interfaces(&[subif("ge-0/0/1.10", "100/20 Mbps")]);
    let mine = bench
        .push(&bench.change("s1", Some(&first), &none, &[other_entry]))
        .await
        .unwrap();
    let before = (bench.running("olt1"), bench.running("bng1"));
    assert_eq!(before.0.entries().len(), 2);
    assert_eq!(before.0, before.1);

    // A modification (new description, one more interface): the OLT takes it on running,
    // the BNG refuses its commit, and the OLT is put back exactly.
    let second = interfaces(&[
        subif("ge-0/0/1.10", "500/100 Mbps"),
        subif("ge-0/0/1.11", "second line"),
    ]);
    bench.reject_next_commit("bng1");
    assert_rejected_by_bng(
        bench
            .push(&bench.change("s1", Some(&second), &mine, &[other_entry]))
            .await,
    );
    assert_eq!(bench.running("olt1"), before.0, "the OLT is compensated");
    assert_eq!(bench.running("bng1"), before.1, "the BNG is rolled back");

    // The removal of this owner's configuration is compensated the same way.
    bench.reject_next_commit("bng1");
    assert_rejected_by_bng(
        bench
            .push(&bench.change("s1", None, &mine, &[other_entry]))
            .await,
    );
    assert_eq!(bench.running("olt1"), before.0);

    // And a new owner's configuration is taken off again.
    bench.reject_next_commit("bng1");
    let third = interfaces(&[subif("ge-0/0/1.12", "third")]);
    assert_rejected_by_bng(
        bench
            .push(&bench.change("s2", Some(&third), &none, &[other_entry]))
            .await,
    );
    assert_eq!(bench.running("olt1"), before.0);

    // Without the fault, the modification goes through on both devices.
    bench
        .push(&bench.change("s1", Some(&second), &mine, &[other_entry]))
        .await
        .unwrap();
    let after = bench.running("olt1");
    assert_eq!(after.entries().len(), 3);
    assert!(
        bench
            .net
            .control()
            .running_config("olt1")
            .unwrap()
            .contains("500/100 Mbps")
    );
    assert_eq!(after, bench.running("bng1"));
    bench.stop().await;
}

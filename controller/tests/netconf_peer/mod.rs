//! Shared helpers of the NETCONF interop tests: peers from `FERRULE_NETCONF_PEER_ENV`,
//! session configs, payloads and read-back. The provisioning tests of ferrule-e2e include this
//! file too, so every test needing a real server follows one rule: it is
//! `#[ignore = "needs a NETCONF peer: FERRULE_NETCONF_PEER_ENV"]`, so a plain `cargo test`
//! lists it as ignored, and once run (`-- --ignored`) a missing peer fails it.

// Each test binary uses a different subset of these helpers; failing loudly is the point.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use ferrule::southbound::bench::PeerEnv;
use ferrule::southbound::client::{DeviceSession, SessionConfig};
use ferrule::southbound::rpc::{Datastore, EditConfig, Filter};
use ferrule::southbound::xml::{Element, escape_text as escape};

/// The variable naming the peers' `peer.env` files (comma separated).
pub const PEER_ENV: &str = "FERRULE_NETCONF_PEER_ENV";

/// One running peer, as described by its `peer.env`.
#[derive(Debug, Clone)]
pub struct Peer {
    pub env: PeerEnv,
    pub user: String,
    pub fingerprint: String,
}

/// The first `n` peers. Panics, saying how to start them, when fewer are configured: these
/// tests only run when asked for (`-- --ignored`), and then a missing peer is a failure.
pub fn peers(n: usize) -> Vec<Peer> {
    let Ok(list) = std::env::var(PEER_ENV) else {
        missing(&format!(
            "{PEER_ENV} is not set (start peers with .ci/netconf-peer.sh start PORT DIR and set \
             {PEER_ENV}=DIR/peer.env)"
        ));
    };
    let peers: Vec<Peer> = list
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|path| {
            let env = PeerEnv::load(path.as_ref()).unwrap_or_else(|e| panic!("{path}: {e}"));
            Peer {
                user: env.user.clone(),
                fingerprint: env.fingerprint.clone(),
                env,
            }
        })
        .collect();
    if peers.len() < n {
        missing(&format!(
            "this test needs {n} peers, {PEER_ENV} names {}",
            peers.len()
        ));
    }
    peers
}

/// Fails the test that asked for a peer it does not have.
fn missing(text: &str) -> ! {
    let required = std::env::var_os("FERRULE_REQUIRE_PEERS").is_some_and(|v| v == "1");
    let why = if required {
        "FERRULE_REQUIRE_PEERS=1"
    } else {
        "this NETCONF interop test was run (it is ignored unless asked for)"
    };
    panic!("{why} but {text}");
}

impl Peer {
    /// Password login, pinned host key.
    pub fn config_password(&self) -> SessionConfig {
        self.env.config_password().unwrap()
    }

    /// Private-key login (key given as bytes, as from a Secret), pinned host key.
    pub fn config_key(&self) -> SessionConfig {
        self.env.config_key().unwrap()
    }

    /// Drops uncommitted changes and removes the named interfaces from running if present.
    pub async fn cleanup(&self, s: &mut impl DeviceSession, names: &[&str]) {
        s.discard_changes().await.unwrap();
        let present: Vec<String> = running_interfaces(s)
            .await
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| names.contains(&n.as_str()))
            .collect();
        if present.is_empty() {
            return;
        }
        let names: Vec<&str> = present.iter().map(String::as_str).collect();
        s.edit_config(candidate(delete_xml(&names))).await.unwrap();
        s.commit().await.unwrap();
    }
}

const IF_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";

/// An edit-config of candidate with the server's defaults.
pub fn candidate(config: String) -> EditConfig {
    EditConfig {
        target: Datastore::Candidate,
        config,
        default_operation: None,
        test_option: None,
        error_option: None,
    }
}

/// `(name, description)` of the interfaces in running.
pub async fn running_interfaces(s: &mut impl DeviceSession) -> Vec<(String, Option<String>)> {
    let filter = Filter::Subtree(format!(r#"<interfaces xmlns="{IF_NS}"/>"#));
    let data = s
        .get_config(Datastore::Running, Some(filter))
        .await
        .unwrap();
    interfaces_in(&data)
}

/// Whether running holds an interface called `name`.
pub async fn has_interface(s: &mut impl DeviceSession, name: &str) -> bool {
    running_interfaces(s).await.iter().any(|(n, _)| n == name)
}

/// Serialises the tests that touch a peer's datastores.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// An ietf-interfaces entry (with an ietf-ip address when given).
pub fn interface_xml(name: &str, description: &str, enabled: &str, ipv4: Option<&str>) -> String {
    let ip = ipv4
        .map(|ip| {
            format!(
                r#"<ipv4 xmlns="urn:ietf:params:xml:ns:yang:ietf-ip"><address><ip>{}</ip><prefix-length>24</prefix-length></address></ipv4>"#,
                escape(ip)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<interfaces xmlns="{IF_NS}"><interface><name>{}</name><description>{}</description><type xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">ianaift:ethernetCsmacd</type><enabled>{}</enabled>{ip}</interface></interfaces>"#,
        escape(name),
        escape(description),
        escape(enabled)
    )
}

/// Deletes the named interfaces (each must exist).
pub fn delete_xml(names: &[&str]) -> String {
    let entries: String = names
        .iter()
        .map(|n| {
            format!(
                r#"<interface nc:operation="delete"><name>{}</name></interface>"#,
                escape(n)
            )
        })
        .collect();
    format!(
        r#"<interfaces xmlns="{IF_NS}" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0">{entries}</interfaces>"#
    )
}

/// `(name, description)` of every interface in the content of a `<data>` reply.
pub fn interfaces_in(data: &[Element]) -> Vec<(String, Option<String>)> {
    data.iter()
        .filter(|e| e.is(IF_NS, "interfaces"))
        .flat_map(|e| e.children.iter())
        .filter(|e| e.is(IF_NS, "interface"))
        .map(|e| {
            (
                e.child_text(IF_NS, "name")
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
                e.child_text(IF_NS, "description")
                    .map(|d| d.trim().to_owned()),
            )
        })
        .collect()
}

//! Shared helpers of the NETCONF interop tests: peers from `FERRULE_NETCONF_PEER_ENV`,
//! session configs, payloads and read-back. The provisioning tests of ferrule-e2e include this
//! file too, so every test needing a real server follows one skip-or-fail rule.

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

/// The first `n` peers, or `None` (with a printed notice) when they are not configured.
pub fn peers(n: usize) -> Option<Vec<Peer>> {
    let Ok(list) = std::env::var(PEER_ENV) else {
        notice(&format!(
            "{PEER_ENV} is not set; skipping this NETCONF interop test \
             (start peers with .ci/netconf-peer.sh start PORT DIR and set {PEER_ENV}=DIR/peer.env)"
        ));
        return None;
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
        notice(&format!(
            "this NETCONF interop test needs {n} peers, {PEER_ENV} names {}; skipping",
            peers.len()
        ));
        return None;
    }
    Some(peers)
}

/// Written straight to stderr so that the test harness's output capture does not hide it.
/// With `FERRULE_REQUIRE_PEERS=1` (set by CI) a missing peer fails the test instead.
fn notice(text: &str) {
    use std::io::Write as _;
    if std::env::var_os("FERRULE_REQUIRE_PEERS").is_some_and(|v| v == "1") {
        panic!("FERRULE_REQUIRE_PEERS=1 but {text}");
    }
    let _ = writeln!(std::io::stderr(), "NOTICE: {text}");
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

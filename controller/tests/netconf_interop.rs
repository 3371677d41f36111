//! Interop tests of the NETCONF client and the transaction layer against real servers
//! (netconfd behind OpenSSH). Session-level tests are here; transactions are in
//! `netconf_interop/transactions.rs`.
//!
//! Start peers with `.ci/netconf-peer.sh start PORT STATE_DIR` and point
//! `FERRULE_NETCONF_PEER_ENV` at their `peer.env` files (comma separated; tests that need two
//! devices use the first two). Without the variable every test prints a notice and passes
//! without doing anything.
//!
//! The peers' candidate datastores are shared by all sessions, so the tests take a global
//! lock and run one at a time; each test uses its own interface names and cleans up.

mod netconf_peer;
#[path = "netconf_interop/transactions.rs"]
mod transactions;

use std::time::{Duration, Instant};

use ferrule::provisioning::netconf::recovery::no_pending_commit;
use ferrule::southbound::client::{
    ClientError, Credentials, DeviceSession, HostKeyPolicy, ManagerPolicy, NetconfSession,
    SessionManager, SshConnector,
};
use ferrule::southbound::framing::Framing;
use ferrule::southbound::rpc::{Datastore, Rpc};
use netconf_peer::{candidate, has_interface, interface_xml, peers, running_interfaces, serial};

#[tokio::test]
#[ignore = "needs a NETCONF peer: FERRULE_NETCONF_PEER_ENV"]
async fn pinned_host_key_password_and_key_auth_both_framings() {
    let peers = peers(1);
    let _serial = serial().await;
    let peer = &peers[0];

    // Password, base:1.1.
    let mut s = NetconfSession::connect(&peer.config_password())
        .await
        .unwrap();
    assert!(s.session_id() > 0);
    assert!(s.capabilities().candidate());
    assert!(s.capabilities().confirmed_commit_persist());
    assert_eq!(s.framing(), Framing::Chunked);
    assert_eq!(
        s.host_key().map(|k| k.as_str()),
        Some(peer.fingerprint.as_str())
    );
    running_interfaces(&mut s).await;
    s.close().await;
    assert!(!s.is_usable());

    // Private key from bytes, base:1.0 only.
    let mut config = peer.config_key();
    config.options.offer_base_1_1 = false;
    let mut s = NetconfSession::connect(&config).await.unwrap();
    assert_eq!(s.framing(), Framing::EndOfMessage);
    running_interfaces(&mut s).await;
    // netconfd rejects <persist> on base:1.0 sessions; the client says so before sending.
    let err = s
        .commit_confirmed(Duration::from_secs(5), Some("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::MissingCapability { .. }),
        "{err}"
    );
    s.close().await;
}

#[tokio::test]
#[ignore = "needs a NETCONF peer: FERRULE_NETCONF_PEER_ENV"]
async fn wrong_or_missing_pin_and_bad_password_are_refused() {
    let peers = peers(1);
    let peer = &peers[0];

    let other = "SHA256:zJO2HTwRIPFlBptMa0oJVe+1vXXdKqaxgLdTxT3Un2Q";
    let mut config = peer.config_password();
    config.host_key = HostKeyPolicy::from_device(Some(other), false).unwrap();
    match NetconfSession::connect(&config).await {
        Err(ClientError::HostKeyMismatch {
            pinned, presented, ..
        }) => {
            assert_eq!(pinned, other);
            assert_eq!(presented, peer.fingerprint);
        }
        other => panic!("expected a host key mismatch, got {other:?}"),
    }

    config.host_key = HostKeyPolicy::from_device(None, false).unwrap();
    let err = NetconfSession::connect(&config).await.unwrap_err();
    assert!(matches!(err, ClientError::HostKeyNotPinned { .. }), "{err}");
    assert!(err.to_string().contains(&peer.fingerprint), "{err}");

    let mut config = peer.config_password();
    config.credentials = Credentials::password(&peer.user, "not-the-password");
    let err = NetconfSession::connect(&config).await.unwrap_err();
    assert!(matches!(err, ClientError::AuthRejected { .. }), "{err}");
    assert!(!err.is_transient());
}

/// Needs no peer: a listener on loopback that accepts and never speaks.
#[tokio::test]
async fn connect_timeout_bounds_a_silent_server_and_refused_ports_fail_fast() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut config = ferrule::southbound::client::SessionConfig::new(
        &address,
        Credentials::password("u", "p"),
        HostKeyPolicy::InsecureAcceptAny,
    )
    .unwrap();
    config.options.connect_timeout = Duration::from_millis(300);
    let err = NetconfSession::connect(&config).await.unwrap_err();
    assert!(matches!(err, ClientError::ConnectTimeout { .. }), "{err}");
    assert!(err.is_transient());
    holder.abort();

    // A port nobody listens on: bind, learn the port, close.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = closed.local_addr().unwrap().to_string();
    drop(closed);
    let config = ferrule::southbound::client::SessionConfig::new(
        &address,
        Credentials::password("u", "p"),
        HostKeyPolicy::InsecureAcceptAny,
    )
    .unwrap();
    let err = NetconfSession::connect(&config).await.unwrap_err();
    assert!(matches!(err, ClientError::Connect { .. }), "{err}");
}

#[tokio::test]
#[ignore = "needs a NETCONF peer: FERRULE_NETCONF_PEER_ENV"]
async fn keepalives_keep_an_idle_session_usable() {
    let peers = peers(1);
    let mut config = peers[0].config_password();
    config.options.keepalive_interval = Some(Duration::from_millis(200));
    let mut s = NetconfSession::connect(&config).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(s.is_usable());
    running_interfaces(&mut s).await;
    s.close().await;
}

#[tokio::test]
#[ignore = "needs a NETCONF peer: FERRULE_NETCONF_PEER_ENV"]
async fn reply_size_limit_is_enforced() {
    let peers = peers(1);
    let mut config = peers[0].config_password();
    // netconfd's hello alone is several kilobytes.
    config.options.max_reply_bytes = 1024;
    let err = NetconfSession::connect(&config).await.unwrap_err();
    assert!(matches!(err, ClientError::Framing { .. }), "{err}");
}

#[tokio::test]
#[ignore = "needs a NETCONF peer: FERRULE_NETCONF_PEER_ENV"]
async fn confirmed_commit_rolls_back_by_itself() {
    let peers = peers(1);
    let _serial = serial().await;
    let peer = &peers[0];
    let name = "ge-0/0/3";
    let mut s = NetconfSession::connect(&peer.config_password())
        .await
        .unwrap();
    peer.cleanup(&mut s, &[name]).await;

    let create = interface_xml(name, "rolled back", "true", None);
    s.edit_config(candidate(create)).await.unwrap();
    s.commit_confirmed(Duration::from_secs(2), None)
        .await
        .unwrap();
    assert!(has_interface(&mut s, name).await);

    // No confirming commit: the device restores the previous running config on its own.
    // netconfd runs its timers only once its event loop has been idle for about a second,
    // so polling faster than that would postpone the rollback indefinitely.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        if !has_interface(&mut s, name).await {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "confirmed commit was never rolled back"
        );
    }
    s.close().await;
}

#[tokio::test]
#[ignore = "needs a NETCONF peer: FERRULE_NETCONF_PEER_ENV"]
async fn persistent_confirmed_commit_is_confirmed_or_cancelled_from_another_session() {
    let peers = peers(1);
    let _serial = serial().await;
    let peer = &peers[0];
    let (kept, cancelled) = ("ge-0/0/4", "ge-0/0/5");
    let mut s = NetconfSession::connect(&peer.config_password())
        .await
        .unwrap();
    peer.cleanup(&mut s, &[kept, cancelled]).await;

    for (name, persist) in [
        (kept, "ferrule-test-keep"),
        (cancelled, "ferrule-test-cancel"),
    ] {
        let mut writer = NetconfSession::connect(&peer.config_password())
            .await
            .unwrap();
        let xml = interface_xml(name, "persisted", "true", None);
        writer.edit_config(candidate(xml)).await.unwrap();
        writer
            .commit_confirmed(Duration::from_secs(120), Some(persist))
            .await
            .unwrap();
        // The writer goes away (as a controller that dies mid-transaction would).
        writer.close().await;
        if name == kept {
            s.confirm_commit(Some(persist)).await.unwrap();
        } else {
            s.cancel_commit(Some(persist)).await.unwrap();
        }
    }
    let found = running_interfaces(&mut s).await;
    assert!(found.iter().any(|(n, _)| n == kept), "{found:?}");
    assert!(!found.iter().any(|(n, _)| n == cancelled), "{found:?}");
    peer.cleanup(&mut s, &[kept]).await;
    s.close().await;
}

/// What transaction recovery relies on: the answer to a persist-id that matches no pending
/// commit is recognised as such (netconfd: `operation-failed` at the persist-id), and `<kill-session>` of a dead
/// client's session releases the locks it held.
#[tokio::test]
#[ignore = "needs a NETCONF peer: FERRULE_NETCONF_PEER_ENV"]
async fn unknown_persist_ids_are_invalid_values_and_kill_session_frees_locks() {
    let peers = peers(1);
    let _serial = serial().await;
    let peer = &peers[0];
    let mut s = NetconfSession::connect(&peer.config_password())
        .await
        .unwrap();
    let confirm = s
        .confirm_commit(Some("ferrule-no-such-commit"))
        .await
        .unwrap_err();
    assert!(no_pending_commit(&confirm), "{confirm}");
    // Refused for good (not a lock or transport problem): recovery does not retry it.
    let cancel = s
        .cancel_commit(Some("ferrule-no-such-commit"))
        .await
        .unwrap_err();
    assert!(
        cancel.rpc_errors().is_some() && !cancel.is_transient(),
        "{cancel}"
    );

    let mut orphan = NetconfSession::connect(&peer.config_password())
        .await
        .unwrap();
    orphan.lock(Datastore::Candidate).await.unwrap();
    let denied = s.lock(Datastore::Candidate).await.unwrap_err();
    assert!(
        denied
            .rpc_errors()
            .and_then(|e| e.first())
            .and_then(|e| e.error_info.as_ref())
            .and_then(|i| i.session_id)
            == Some(orphan.session_id()),
        "{denied}"
    );
    s.request(Rpc::KillSession {
        session_id: orphan.session_id(),
    })
    .await
    .unwrap();
    s.lock(Datastore::Candidate).await.unwrap();
    s.unlock(Datastore::Candidate).await.unwrap();
    s.close().await;
}

#[tokio::test]
#[ignore = "needs a NETCONF peer: FERRULE_NETCONF_PEER_ENV"]
async fn session_manager_reuses_one_session_per_device() {
    let peers = peers(1);
    let _serial = serial().await;
    let manager = SessionManager::new(SshConnector, ManagerPolicy::default());
    let config = peers[0].config_password();
    let first_id = {
        let mut lease = manager.lease("default/peer0", &config).await.unwrap();
        lease.discard_changes().await.unwrap();
        lease.session_id()
    };
    let mut lease = manager.lease("default/peer0", &config).await.unwrap();
    lease.discard_changes().await.unwrap();
    assert_eq!(lease.session_id(), first_id);
    drop(lease);
    assert_eq!(manager.open_connections(), 1);
    manager.close_all().await;
    assert_eq!(manager.open_connections(), 0);
}

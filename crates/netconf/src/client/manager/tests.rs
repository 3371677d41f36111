//! Tests of the session pool against a fake connector.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use super::*;
use crate::client::credentials::Credentials;
use crate::client::hostkey::HostKeyPolicy;
use crate::framing::Framing;
use crate::hello::{CANDIDATE, Capabilities};
use crate::reply::RpcReply;
use crate::rpc::Rpc;

#[derive(Debug, Default)]
struct Shared {
    connects: AtomicUsize,
    closes: AtomicUsize,
    /// Transient connect failures still to produce.
    fail_transient: AtomicUsize,
    /// Produce a non-transient (authentication) failure.
    fail_auth: AtomicBool,
    /// Never answer a connection attempt (a device that drops SYNs).
    hang: AtomicBool,
    active: AtomicUsize,
    max_active: AtomicUsize,
    last_usable: std::sync::Mutex<Option<Arc<AtomicBool>>>,
}

#[derive(Debug)]
struct FakeSession {
    shared: Arc<Shared>,
    usable: Arc<AtomicBool>,
    address: String,
    caps: Capabilities,
}

impl DeviceSession for FakeSession {
    fn address(&self) -> &str {
        &self.address
    }
    fn session_id(&self) -> u32 {
        1
    }
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    fn framing(&self) -> Framing {
        Framing::Chunked
    }
    fn is_usable(&self) -> bool {
        self.usable.load(Ordering::SeqCst)
    }
    async fn rpc(&mut self, _rpc: &Rpc) -> Result<RpcReply, ClientError> {
        let now = self.shared.active.fetch_add(1, Ordering::SeqCst) + 1;
        self.shared.max_active.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(3)).await;
        self.shared.active.fetch_sub(1, Ordering::SeqCst);
        Ok(RpcReply {
            ok: true,
            ..RpcReply::default()
        })
    }
    async fn close(&mut self) {
        self.usable.store(false, Ordering::SeqCst);
        self.shared.closes.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Debug, Clone, Default)]
struct FakeConnector(Arc<Shared>);

impl Connector for FakeConnector {
    type Session = FakeSession;

    async fn connect(&self, config: &SessionConfig) -> Result<FakeSession, ClientError> {
        let shared = &self.0;
        shared.connects.fetch_add(1, Ordering::SeqCst);
        if shared.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if shared.fail_auth.load(Ordering::SeqCst) {
            return Err(ClientError::AuthRejected {
                address: config.address(),
                user: "u".into(),
                tried: "password".into(),
            });
        }
        let transient = shared
            .fail_transient
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if transient {
            return Err(ClientError::Closed {
                address: config.address(),
                reason: "test".into(),
            });
        }
        let usable = Arc::new(AtomicBool::new(true));
        if let Ok(mut last) = shared.last_usable.lock() {
            *last = Some(usable.clone());
        }
        Ok(FakeSession {
            shared: shared.clone(),
            usable,
            address: config.address(),
            caps: Capabilities::new([CANDIDATE]),
        })
    }
}

fn config(port: u16) -> SessionConfig {
    let mut c = SessionConfig::new(
        &format!("127.0.0.1:{port}"),
        Credentials::password("u", "p"),
        HostKeyPolicy::InsecureAcceptAny,
    )
    .unwrap();
    c.options.connect_timeout = Duration::from_millis(50);
    c
}

fn quick_policy(max_connections: usize) -> ManagerPolicy {
    ManagerPolicy {
        max_connections,
        idle_timeout: Duration::from_secs(3600),
        connect_attempts: 3,
        backoff: Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(4),
        },
    }
}

fn manager(max: usize) -> (SessionManager<FakeConnector>, Arc<Shared>) {
    let connector = FakeConnector::default();
    let shared = connector.0.clone();
    (SessionManager::new(connector, quick_policy(max)), shared)
}

#[tokio::test]
async fn one_session_per_device_is_reused() {
    let (m, shared) = manager(4);
    for _ in 0..3 {
        let mut lease = m.lease("d1", &config(1)).await.unwrap();
        lease.commit().await.unwrap();
    }
    assert_eq!(shared.connects.load(Ordering::SeqCst), 1);
    assert_eq!(m.open_connections(), 1);
}

#[tokio::test]
async fn one_writer_per_device_at_a_time() {
    let (m, shared) = manager(4);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let m = m.clone();
            tokio::spawn(async move {
                let mut lease = m.lease("d1", &config(1)).await.unwrap();
                lease.commit().await.unwrap();
                lease.discard_changes().await.unwrap();
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(shared.max_active.load(Ordering::SeqCst), 1);
    assert_eq!(shared.connects.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_broken_session_is_replaced() {
    let (m, shared) = manager(4);
    drop(m.lease("d1", &config(1)).await.unwrap());
    let last = shared.last_usable.lock().unwrap().clone().unwrap();
    last.store(false, Ordering::SeqCst);
    drop(m.lease("d1", &config(1)).await.unwrap());
    assert_eq!(shared.connects.load(Ordering::SeqCst), 2);
    assert_eq!(m.open_connections(), 1);
}

#[tokio::test]
async fn every_session_opened_is_counted_and_announced() {
    let (m, shared) = manager(4);
    let mut opened = m.watch_opened();
    assert_eq!(m.sessions_opened("d1"), 0);
    drop(m.lease("d1", &config(1)).await.unwrap());
    drop(m.lease("d1", &config(1)).await.unwrap());
    assert_eq!(
        m.sessions_opened("d1"),
        1,
        "a reused session is not a new one"
    );
    assert_eq!(opened.try_recv().unwrap(), "d1");
    // The device went away and came back: a new session, announced.
    let last = shared.last_usable.lock().unwrap().clone().unwrap();
    last.store(false, Ordering::SeqCst);
    drop(m.lease("d1", &config(1)).await.unwrap());
    assert_eq!(m.sessions_opened("d1"), 2);
    assert_eq!(opened.try_recv().unwrap(), "d1");
    assert!(opened.try_recv().is_err());
    assert_eq!(m.sessions_opened("d2"), 0);

    // Lost while idle: found by the sweep, announced, and a new session opened on next use.
    let last = shared.last_usable.lock().unwrap().clone().unwrap();
    last.store(false, Ordering::SeqCst);
    assert_eq!(m.sweep_lost().await, 1);
    assert_eq!(m.sessions_opened("d1"), 3);
    assert_eq!(opened.try_recv().unwrap(), "d1");
    assert_eq!(m.open_connections(), 0);
    assert_eq!(m.sweep_lost().await, 0, "nothing more to find");
    drop(m.lease("d1", &config(1)).await.unwrap());
    assert_eq!(shared.connects.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_changed_config_reconnects() {
    let (m, shared) = manager(4);
    drop(m.lease("d1", &config(1)).await.unwrap());
    drop(m.lease("d1", &config(2)).await.unwrap());
    assert_eq!(shared.connects.load(Ordering::SeqCst), 2);
    assert_eq!(shared.closes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn transient_failures_are_retried_then_back_off() {
    let (m, shared) = manager(4);
    shared.fail_transient.store(2, Ordering::SeqCst);
    drop(m.lease("d1", &config(1)).await.unwrap());
    assert_eq!(shared.connects.load(Ordering::SeqCst), 3);

    let (m, shared) = manager(4);
    shared.fail_transient.store(3, Ordering::SeqCst);
    let err = m.lease("d1", &config(1)).await.unwrap_err();
    assert!(
        matches!(err, ManagerError::Connect { attempts: 3, .. }),
        "{err}"
    );
    assert!(err.is_transient());
    // Immediately after, the device is backing off: no new connection attempt.
    let mut policy = quick_policy(4);
    policy.backoff.initial = Duration::from_secs(30);
    let (m, shared) = (
        SessionManager::new(FakeConnector(shared.clone()), policy),
        shared,
    );
    shared.fail_transient.store(3, Ordering::SeqCst);
    let before = shared.connects.load(Ordering::SeqCst);
    assert!(m.lease("d1", &config(1)).await.is_err());
    let err = m.lease("d1", &config(1)).await.unwrap_err();
    assert!(matches!(err, ManagerError::BackingOff { .. }), "{err}");
    assert!(err.retry_in().is_some());
    assert_eq!(shared.connects.load(Ordering::SeqCst), before + 3);
    // A changed config (say, a fixed Secret) is tried at once.
    shared.fail_transient.store(0, Ordering::SeqCst);
    assert!(m.lease("d1", &config(2)).await.is_ok());
}

#[tokio::test]
async fn authentication_failures_are_not_retried() {
    let (m, shared) = manager(4);
    shared.fail_auth.store(true, Ordering::SeqCst);
    let err = m.lease("d1", &config(1)).await.unwrap_err();
    assert!(
        matches!(err, ManagerError::Connect { attempts: 1, .. }),
        "{err}"
    );
    assert!(!err.is_transient());
    assert_eq!(shared.connects.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn connection_bound_evicts_idle_sessions() {
    let (m, shared) = manager(1);
    drop(m.lease("d1", &config(1)).await.unwrap());
    drop(m.lease("d2", &config(2)).await.unwrap());
    assert_eq!(m.open_connections(), 1);
    assert_eq!(shared.closes.load(Ordering::SeqCst), 1);

    // While d2 is leased, its session cannot be evicted: d3 waits and gives up.
    let held = m.lease("d2", &config(2)).await.unwrap();
    let err = m.lease("d3", &config(3)).await.unwrap_err();
    assert!(
        matches!(err, ManagerError::NoConnectionSlot { max: 1, .. }),
        "{err}"
    );
    drop(held);
    assert!(m.lease("d3", &config(3)).await.is_ok());
}

fn patient(port: u16) -> SessionConfig {
    let mut c = config(port);
    c.options.connect_timeout = Duration::from_secs(20);
    c
}

#[tokio::test]
async fn a_caller_waiting_for_a_slot_takes_one_that_becomes_idle() {
    let (m, shared) = manager(1);
    let held = m.lease("d1", &patient(1)).await.unwrap();
    let waiter = {
        let m = m.clone();
        tokio::spawn(async move { m.lease("d2", &patient(2)).await.map(drop) })
    };
    tokio::task::yield_now().await;
    // d1's session stays open but idle: the waiter closes it instead of waiting it out.
    drop(held);
    waiter.await.unwrap().unwrap();
    assert_eq!(shared.closes.load(Ordering::SeqCst), 1);
    assert_eq!(m.open_connections(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_over_scarce_slots_do_not_wait_for_each_other() {
    // Two slots, six devices, every transaction on two of them: holding one device while
    // waiting for a slot for the other would leave pairs of transactions stuck.
    let (m, shared) = manager(2);
    let tasks: Vec<_> = (0..8u16)
        .map(|t| {
            let m = m.clone();
            tokio::spawn(async move {
                for round in 0..10u16 {
                    let a = (t + round) % 6;
                    let b = (a + 1 + t % 5) % 6;
                    let (da, db) = (format!("d{a}"), format!("d{b}"));
                    let (ca, cb) = (patient(a + 1), patient(b + 1));
                    let mut leases = m.lease_all(&[(&da, &ca), (&db, &cb)]).await.unwrap();
                    assert_eq!(leases[0].device(), da);
                    for lease in &mut leases {
                        lease.commit().await.unwrap();
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert!(m.open_connections() <= 2);
    assert!(shared.connects.load(Ordering::SeqCst) >= 6);
}

#[tokio::test]
async fn more_devices_than_slots_are_refused_at_once() {
    let (m, shared) = manager(2);
    let c = patient(1);
    let err = m
        .lease_all(&[("d1", &c), ("d2", &c), ("d3", &c)])
        .await
        .unwrap_err();
    assert!(
        matches!(err, ManagerError::TooManyDevices { devices: 3, max: 2 }),
        "{err}"
    );
    assert!(!err.is_transient());
    assert_eq!(shared.connects.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn idle_sessions_are_reaped() {
    let connector = FakeConnector::default();
    let shared = connector.0.clone();
    let mut policy = quick_policy(4);
    policy.idle_timeout = Duration::ZERO;
    let m = SessionManager::new(connector, policy);
    drop(m.lease("d1", &config(1)).await.unwrap());
    let busy = m.lease("d2", &config(2)).await.unwrap();
    assert_eq!(m.reap_idle().await, 1, "the leased session must be skipped");
    assert_eq!(m.open_connections(), 1);
    drop(busy);
    assert_eq!(m.reap_idle().await, 1);
    assert_eq!(m.open_connections(), 0);
    assert_eq!(shared.closes.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn invalidate_and_remove_close_the_session() {
    let (m, shared) = manager(4);
    let mut lease = m.lease("d1", &config(1)).await.unwrap();
    lease.invalidate().await;
    assert!(!lease.is_usable());
    assert!(matches!(
        lease.commit().await,
        Err(ClientError::Closed { .. })
    ));
    drop(lease);
    drop(m.lease("d1", &config(1)).await.unwrap());
    m.remove("d1").await;
    assert_eq!(m.open_connections(), 0);
    assert_eq!(shared.closes.load(Ordering::SeqCst), 2);
}

#[test]
fn reap_decision() {
    let t0 = Instant::now();
    let later = t0 + Duration::from_secs(10);
    assert!(!should_reap(t0, later, Duration::from_secs(60), true));
    assert!(should_reap(t0, later, Duration::from_secs(5), true));
    assert!(should_reap(t0, t0, Duration::from_secs(60), false));
}

/// Waits (with a deadline) until the fake connector has been called `n` times.
async fn connects_reach(shared: &Shared, n: usize) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while shared.connects.load(Ordering::SeqCst) < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("connection attempts");
}

#[tokio::test]
async fn shut_down_ends_a_backoff_delay_at_once() {
    let connector = FakeConnector::default();
    let shared = connector.0.clone();
    shared.fail_transient.store(10, Ordering::SeqCst);
    let mut policy = quick_policy(4);
    // A delay between attempts far beyond the test's deadline.
    policy.backoff = Backoff {
        initial: Duration::from_secs(3600),
        max: Duration::from_secs(3600),
    };
    let m = SessionManager::new(connector, policy);
    let lease = tokio::spawn({
        let m = m.clone();
        async move { m.lease("d1", &config(1)).await.map(drop) }
    });
    connects_reach(&shared, 1).await;
    m.shut_down();
    let result = tokio::time::timeout(Duration::from_secs(10), lease)
        .await
        .expect("the lease still waits for its backoff after shut_down")
        .unwrap();
    assert!(
        matches!(result, Err(ManagerError::ShuttingDown { ref device }) if device == "d1"),
        "{result:?}"
    );
    assert_eq!(shared.connects.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn shut_down_drops_a_connection_attempt_in_progress() {
    let connector = FakeConnector::default();
    let shared = connector.0.clone();
    shared.hang.store(true, Ordering::SeqCst);
    let mut policy = quick_policy(4);
    policy.connect_attempts = 1;
    let m = SessionManager::new(connector, policy);
    let lease = tokio::spawn({
        let m = m.clone();
        async move { m.lease("d1", &config(1)).await.map(drop) }
    });
    connects_reach(&shared, 1).await;
    m.shutdown_token().cancel();
    let result = tokio::time::timeout(Duration::from_secs(10), lease)
        .await
        .expect("the connection attempt goes on after shut_down")
        .unwrap();
    assert!(
        matches!(result, Err(ManagerError::ShuttingDown { .. })),
        "{result:?}"
    );
    // The connection slot was given back.
    assert_eq!(m.open_connections(), 0);
}

#[tokio::test]
async fn after_shut_down_only_open_sessions_are_leased() {
    let (m, shared) = manager(4);
    drop(m.lease("d1", &config(1)).await.unwrap());
    m.shut_down();
    let mut open = m.lease("d1", &config(1)).await.unwrap();
    open.commit().await.unwrap();
    drop(open);
    let err = m.lease("d2", &config(2)).await.unwrap_err();
    assert!(matches!(err, ManagerError::ShuttingDown { .. }), "{err}");
    assert!(err.is_transient());
    assert_eq!(shared.connects.load(Ordering::SeqCst), 1);
}

//! The HTTP control API of the simulator, through its router (no socket) and once over a real
//! loopback listener.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use ferrule_netsim::{self as netsim, Options, Topology};
use tower::ServiceExt;

async fn call(router: &axum::Router, method: &str, uri: &str, body: &str) -> (StatusCode, String) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn control_api_routes() {
    let topology =
        Topology::from_yaml("devices:\n  - {name: h1, listen: '127.0.0.1:0', ports: [ge-0/0/1]}\n")
            .unwrap();
    let net = netsim::start(topology).await.unwrap();
    let router = netsim::http::router(net.control().clone());

    let (status, list) = call(&router, "GET", "/devices", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        list.contains("\"name\":\"h1\"") && list.contains(net.fingerprint("h1").unwrap()),
        "{list}"
    );

    let (status, _) = call(
        &router,
        "POST",
        "/devices/h1/interface",
        r#"{"name":"ge-0/0/1","up":false}"#,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&router, "POST", "/devices/h1/latency", r#"{"millis":5}"#).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        &router,
        "POST",
        "/devices/h1/reject-next-commit",
        r#"{"errorTag":"in-use","message":"busy"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, detail) = call(&router, "GET", "/devices/h1", "").await;
    assert!(
        detail.contains("\"downInterfaces\":[\"ge-0/0/1\"]"),
        "{detail}"
    );
    assert!(detail.contains("\"latencyMillis\":5"), "{detail}");
    assert!(detail.contains("\"errorTag\":\"in-use\""), "{detail}");
    let (status, _) = call(&router, "DELETE", "/devices/h1/reject-next-commit", "").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        net.control()
            .status("h1")
            .unwrap()
            .reject_next_commit
            .is_none()
    );

    let config = "<interfaces xmlns=\"urn:ietf:params:xml:ns:yang:ietf-interfaces\"><interface><name>ge-0/0/1.5</name></interface></interfaces>";
    let (status, _) = call(
        &router,
        "POST",
        "/devices/h1/running?operation=merge",
        config,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, running) = call(&router, "GET", "/devices/h1/running", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(running.contains("ge-0/0/1.5"), "{running}");
    let (status, body) = call(&router, "POST", "/devices/h1/running", "<broken").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let (status, _) = call(&router, "GET", "/devices/nope", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &router,
        "POST",
        "/devices/h1/reject-next-commit",
        r#"{"errorTag":"made-up"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(
        &router,
        "POST",
        "/devices/h1/latency",
        r#"{"millis":"soon"}"#,
    )
    .await;
    assert!(status.is_client_error());
    let (status, _) = call(
        &router,
        "POST",
        "/devices/h1/reachability",
        r#"{"reachable":false}"#,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!net.control().status("h1").unwrap().summary.reachable);
    let (status, killed) = call(&router, "POST", "/devices/h1/kill-sessions", "").await;
    assert_eq!(
        (status, killed.as_str()),
        (StatusCode::OK, "{\"killed\":0}")
    );
    net.shutdown().await;
}

#[tokio::test]
async fn control_api_listens_on_loopback_only() {
    let topology = Topology::from_yaml("devices: []\n").unwrap();
    let options = Options {
        control_listen: Some("127.0.0.1:0".parse().unwrap()),
        ..Options::default()
    };
    let net = netsim::start_with(topology.clone(), options).await.unwrap();
    let addr = net.control_addr().unwrap();
    assert!(addr.ip().is_loopback() && addr.port() != 0);
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /devices HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(
        response.starts_with("HTTP/1.1 200") && response.ends_with("[]"),
        "{response}"
    );
    net.shutdown().await;

    let public = Options {
        control_listen: Some("0.0.0.0:0".parse().unwrap()),
        ..Options::default()
    };
    assert!(netsim::start_with(topology, public).await.is_err());
}

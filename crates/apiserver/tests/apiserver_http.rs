//! The embedded API server at the HTTP level: authentication, listen-address rules,
//! discovery media types, body limits and malformed requests, with a minimal HTTP/1.1
//! client over plain HTTP (`insecure_http`).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use ferrule_apiserver::{ApiServer, ServeConfig, ServeError, serve};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

async fn request(addr: SocketAddr, head: &str, body: &[u8]) -> Reply {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{head}\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    // The server may answer (and close) before reading a body it refuses.
    let _ = stream.write_all(body).await;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

async fn insecure_server(dir: &std::path::Path) -> ApiServer {
    let mut config = ServeConfig::new(dir, "127.0.0.1:0".parse().unwrap());
    config.insecure_http = true;
    serve(config).await.unwrap()
}

fn auth(server: &ApiServer) -> String {
    format!("Authorization: Bearer {}", server.kubeconfig().token)
}

#[tokio::test]
async fn listen_addresses_are_loopback_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let remote = ServeConfig::new(dir.path(), "0.0.0.0:0".parse().unwrap());
    assert!(matches!(
        serve(remote).await,
        Err(ServeError::RemoteRefused(_))
    ));
    let mut insecure = ServeConfig::new(dir.path(), "0.0.0.0:0".parse().unwrap());
    insecure.allow_remote = true;
    insecure.insecure_http = true;
    assert!(matches!(
        serve(insecure).await,
        Err(ServeError::InsecureRemote(_))
    ));
}

#[tokio::test]
async fn requests_need_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = insecure_server(dir.path()).await;
    let addr = server.addr();

    let denied = request(addr, "GET /version HTTP/1.1", b"").await;
    assert_eq!(denied.status, 401);
    assert_eq!(denied.json()["reason"], "Unauthorized");
    let wrong = request(
        addr,
        "GET /version HTTP/1.1\r\nAuthorization: Bearer nope",
        b"",
    )
    .await;
    assert_eq!(wrong.status, 401);

    let version = request(
        addr,
        &format!("GET /version HTTP/1.1\r\n{}", auth(&server)),
        b"",
    )
    .await;
    assert_eq!(version.status, 200);
    assert_eq!(version.json()["major"], "1");
    assert_eq!(version.json()["minor"], "32");

    // Health endpoints are public.
    assert_eq!(
        request(addr, "GET /healthz HTTP/1.1", b"").await.status,
        200
    );

    // The kubeconfig the server wrote works with kube-rs.
    let client = server.client().await.unwrap();
    let info = client.apiserver_version().await.unwrap();
    assert_eq!(info.minor, "32");
    server.shutdown().await;
}

#[tokio::test]
async fn discovery_echoes_the_aggregated_media_type() {
    let dir = tempfile::tempdir().unwrap();
    let server = insecure_server(dir.path()).await;
    let accept = "Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
    let reply = request(
        server.addr(),
        &format!("GET /apis HTTP/1.1\r\n{}\r\n{accept}", auth(&server)),
        b"",
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    );
    assert_eq!(reply.json()["kind"], "APIGroupDiscoveryList");
    let legacy = request(
        server.addr(),
        &format!("GET /apis HTTP/1.1\r\n{}", auth(&server)),
        b"",
    )
    .await;
    assert_eq!(legacy.json()["kind"], "APIGroupList");
    let v2 = request(
        server.addr(),
        &format!("GET /openapi/v2 HTTP/1.1\r\n{}", auth(&server)),
        b"",
    )
    .await;
    assert_eq!(v2.status, 404);
    let index = request(
        server.addr(),
        &format!("GET /openapi/v3 HTTP/1.1\r\n{}", auth(&server)),
        b"",
    )
    .await;
    assert!(index.json()["paths"]["api/v1"]["serverRelativeURL"].is_string());
    server.shutdown().await;
}

#[tokio::test]
async fn malformed_and_oversized_bodies_get_a_status() {
    let dir = tempfile::tempdir().unwrap();
    let server = insecure_server(dir.path()).await;
    let addr = server.addr();
    let post = format!(
        "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\n{}\r\nContent-Type: application/json",
        auth(&server)
    );
    let bad = request(addr, &post, b"{\"metadata\": ").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["kind"], "Status");

    let huge = vec![b' '; 3 * 1024 * 1024 + 1];
    let too_large = request(addr, &post, &huge).await;
    assert_eq!(too_large.status, 413);

    let yaml_post = post.replace("application/json", "application/yaml");
    let bad_yaml = request(addr, &yaml_post, b"metadata: [unclosed").await;
    assert_eq!(bad_yaml.status, 400);

    let created = request(
        addr,
        &yaml_post,
        b"metadata:\n  name: from-yaml\ndata:\n  a: b\n",
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);

    // A query string that starts with `&`, no Accept and no User-Agent, as kube-rs sends.
    let list = request(
        addr,
        &format!(
            "GET /api/v1/namespaces/default/configmaps?&limit=1 HTTP/1.1\r\n{}",
            auth(&server)
        ),
        b"",
    )
    .await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json()["kind"], "ConfigMapList");
    assert_eq!(list.json()["items"][0]["metadata"]["name"], "from-yaml");

    let unknown = request(
        addr,
        &format!(
            "GET /apis/nope.example.io/v1/things HTTP/1.1\r\n{}",
            auth(&server)
        ),
        b"",
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["reason"], "NotFound");
    server.shutdown().await;
}

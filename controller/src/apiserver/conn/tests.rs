//! Connection limits over real TCP on 127.0.0.1: silent and half-sent connections are closed
//! by the server, the cap holds, and authenticated requests and watches are served meanwhile.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::ConnLimits;
use crate::apiserver::{ApiServer, ServeConfig, health, serve};

/// How long the server gets to close a connection it should close; far above the deadlines
/// configured in these tests, so only a connection that is never closed fails.
const DEADLINE: Duration = Duration::from_secs(20);

fn short(cap: usize) -> ConnLimits {
    let d = Some(Duration::from_millis(300));
    ConnLimits {
        tls_handshake_timeout: d,
        header_read_timeout: d,
        idle_timeout: d,
        h2_keepalive_interval: d,
        h2_keepalive_timeout: Duration::from_millis(300),
        max_connections: cap,
    }
}

fn long(cap: usize) -> ConnLimits {
    let d = Some(Duration::from_secs(600));
    ConnLimits {
        tls_handshake_timeout: d,
        header_read_timeout: d,
        idle_timeout: d,
        h2_keepalive_interval: d,
        h2_keepalive_timeout: Duration::from_secs(600),
        max_connections: cap,
    }
}

async fn api_server(dir: &std::path::Path, limits: ConnLimits) -> ApiServer {
    let mut config = ServeConfig::new(dir, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
    config.limits = limits;
    serve(config).await.unwrap()
}

async fn tls(server: &ApiServer) -> TlsStream<TcpStream> {
    try_tls(server).await.unwrap()
}

async fn try_tls(server: &ApiServer) -> std::io::Result<TlsStream<TcpStream>> {
    tls_with_alpn(server, Vec::new()).await
}

async fn tls_with_alpn(
    server: &ApiServer,
    alpn: Vec<Vec<u8>>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let ca = server.kubeconfig().ca_pem.clone().unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut config = config;
    config.alpn_protocols = alpn;
    let tcp = TcpStream::connect(server.addr()).await?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::IpAddress(server.addr().ip().into()), tcp)
        .await
}

fn get(path: &str, token: Option<&str>) -> String {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}\r\n")
}

/// Sends one request on a keep-alive connection and reads its response head and
/// (Content-Length) body; returns the status line and body.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    request: &str,
) -> (String, String) {
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).await.unwrap();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.unwrap();
    (status.trim().to_string(), String::from_utf8(body).unwrap())
}

/// Waits until the server closes `stream`: a read returns end of stream or an error.
async fn closed_by_server<S: AsyncRead + Unpin>(stream: &mut S, what: &str) {
    let mut buf = [0u8; 1024];
    let outcome = tokio::time::timeout(DEADLINE, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(outcome.is_ok(), "the server did not close the {what}");
}

#[tokio::test]
async fn api_port_closes_silent_half_sent_and_idle_connections() {
    let dir = tempfile::tempdir().unwrap();
    let server = api_server(dir.path(), short(64)).await;
    let token = server.kubeconfig().token.clone();

    // TCP open, no ClientHello ever sent.
    let mut no_hello = TcpStream::connect(server.addr()).await.unwrap();
    // TLS done, then nothing.
    let mut silent = tls(&server).await;
    // TLS done, half a request header.
    let mut partial = tls(&server).await;
    partial
        .write_all(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: localhost\r\nAuthor")
        .await
        .unwrap();
    // One request answered, then the keep-alive connection stays idle.
    let mut idle = tls(&server).await;
    let (status, _) = exchange(&mut idle, &get("/api/v1/namespaces", Some(&token))).await;
    assert_eq!(status, "HTTP/1.1 200 OK");

    // Meanwhile an authenticated client is served, and an anonymous one still gets 401.
    let mut client = tls(&server).await;
    let (status, body) = exchange(
        &mut client,
        &get("/api/v1/namespaces/default", Some(&token)),
    )
    .await;
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    let mut anonymous = tls(&server).await;
    let (status, _) = exchange(&mut anonymous, &get("/api/v1/namespaces", None)).await;
    assert_eq!(status, "HTTP/1.1 401 Unauthorized");

    closed_by_server(&mut no_hello, "connection that never sent a ClientHello").await;
    closed_by_server(&mut silent, "connection that never sent a request").await;
    closed_by_server(&mut partial, "connection with half a request header").await;
    closed_by_server(&mut idle, "idle keep-alive connection").await;
    server.shutdown().await;
}

#[tokio::test]
async fn http_port_closes_silent_half_sent_and_idle_connections() {
    let router = health::router(health::Readiness::default());
    let (addr, task) = health::serve(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        router,
        short(64),
    )
    .await
    .unwrap();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut partial = TcpStream::connect(addr).await.unwrap();
    partial
        .write_all(b"GET /healthz HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let mut idle = TcpStream::connect(addr).await.unwrap();
    let (status, body) = exchange(&mut idle, &get("/healthz", None)).await;
    assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.1 200 OK", "ok"));

    closed_by_server(&mut silent, "connection that never sent a request").await;
    closed_by_server(&mut partial, "connection with half a request header").await;
    closed_by_server(&mut idle, "idle keep-alive connection").await;
    task.abort();
}

#[tokio::test]
async fn connection_cap_holds_and_frees_slots() {
    const CAP: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let server = api_server(dir.path(), long(CAP)).await;
    let token = server.kubeconfig().token.clone();

    // Up to the cap, every connection is served (and kept open).
    let mut held = Vec::new();
    for _ in 0..CAP {
        let mut c = tls(&server).await;
        let (status, _) = exchange(&mut c, &get("/api/v1/namespaces", Some(&token))).await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        held.push(c);
    }
    // One more is closed by the server without an answer.
    let mut extra = TcpStream::connect(server.addr()).await.unwrap();
    closed_by_server(&mut extra, "connection beyond the cap").await;
    // The held connections still work.
    let (status, _) = exchange(&mut held[0], &get("/version", Some(&token))).await;
    assert_eq!(status, "HTTP/1.1 200 OK");

    // Closing one frees its slot: a new connection is served again.
    drop(held.pop());
    let served = tokio::time::timeout(DEADLINE, async {
        loop {
            // A refused connection fails the handshake; try again until a slot is free.
            if let Ok(mut c) = try_tls(&server).await {
                return exchange(&mut c, &get("/version", Some(&token))).await.0;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("no connection was served after one slot was freed");
    assert_eq!(served, "HTTP/1.1 200 OK");
    server.shutdown().await;
}

#[tokio::test]
async fn a_running_watch_is_not_idle() {
    let dir = tempfile::tempdir().unwrap();
    let limits = ConnLimits {
        idle_timeout: Some(Duration::from_millis(1500)),
        ..long(64)
    };
    let server = api_server(dir.path(), limits).await;
    let token = server.kubeconfig().token.clone();

    // A watch that the server ends after 4 s, well past the idle deadline.
    let watch = tls(&server).await;
    let mut watch = BufReader::new(watch);
    let request = get(
        "/api/v1/namespaces?watch=true&timeoutSeconds=4",
        Some(&token),
    );
    watch.get_mut().write_all(request.as_bytes()).await.unwrap();
    let mut line = String::new();
    watch.read_line(&mut line).await.unwrap();
    assert_eq!(line.trim(), "HTTP/1.1 200 OK");
    let ended = tokio::time::timeout(DEADLINE, async {
        loop {
            line.clear();
            if watch.read_line(&mut line).await.unwrap() == 0 {
                return false;
            }
            // The last chunk of the chunked body.
            if line == "0\r\n" {
                watch.read_line(&mut line).await.unwrap();
                return true;
            }
        }
    })
    .await
    .expect("the watch did not end");
    assert!(ended, "the server closed the connection during the watch");

    // The connection was not idle while the watch ran, so it is still open for the next
    // request (an idle deadline that passed during the watch would have closed it).
    let (status, _) = exchange(watch.get_mut(), &get("/version", Some(&token))).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    server.shutdown().await;
}

#[tokio::test]
async fn header_deadline_alone_closes_half_sent_requests() {
    let limits = ConnLimits {
        header_read_timeout: Some(Duration::from_millis(300)),
        idle_timeout: None,
        ..long(64)
    };
    let router = health::router(health::Readiness::default());
    let (addr, task) = health::serve(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), router, limits)
        .await
        .unwrap();
    let mut partial = TcpStream::connect(addr).await.unwrap();
    partial
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nUser-")
        .await
        .unwrap();
    closed_by_server(&mut partial, "connection with half a request header").await;
    task.abort();
}

/// Sends a 5 MiB body (announced by `Content-Length`, or chunked) and returns the status line
/// and body of the answer.
async fn post_large(server: &ApiServer, chunked: bool) -> (String, serde_json::Value) {
    const SIZE: usize = 5 * 1024 * 1024;
    let token = server.kubeconfig().token.clone();
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_string()
    } else {
        format!("Content-Length: {SIZE}")
    };
    let head = format!(
        "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: localhost\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    );
    let (mut read, mut write) = tokio::io::split(tls(server).await);
    let writer = tokio::spawn(async move {
        write.write_all(head.as_bytes()).await?;
        let block = vec![b' '; 64 * 1024];
        for _ in 0..SIZE / block.len() {
            if chunked {
                write
                    .write_all(format!("{:x}\r\n", block.len()).as_bytes())
                    .await?;
                write.write_all(&block).await?;
                write.write_all(b"\r\n").await?;
            } else {
                write.write_all(&block).await?;
            }
        }
        if chunked {
            write.write_all(b"0\r\n\r\n").await?;
        }
        write.flush().await?;
        Ok::<_, std::io::Error>(write)
    });
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    let complete = tokio::time::timeout(DEADLINE, async {
        loop {
            let n = read.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            response.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&response);
            if let Some((_, body)) = text.split_once("\r\n\r\n")
                && body.trim_end().ends_with('}')
            {
                return;
            }
        }
    })
    .await;
    assert!(complete.is_ok(), "no complete answer");
    let _ = writer.await;
    let text = String::from_utf8_lossy(&response).to_string();
    let (head, body) = text.split_once("\r\n\r\n").expect("no answer at all");
    let status = head.lines().next().unwrap_or_default().to_string();
    let start = body.find('{').expect("no JSON body");
    let end = body.rfind('}').expect("no JSON body");
    (status, serde_json::from_str(&body[start..=end]).unwrap())
}

/// The same over HTTP/2 (what kubectl and curl negotiate): the answer's status and body.
async fn post_large_h2(server: &ApiServer, announced: bool) -> (u16, serde_json::Value) {
    const SIZE: usize = 5 * 1024 * 1024;
    const CHUNKS: usize = 80;
    let io = tls_with_alpn(server, vec![b"h2".to_vec()]).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        TokioIo::new(io),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    // Counts the chunks the client was asked for: all of them once the server has read the
    // whole body, fewer when it answered early and reset the stream (which curl reports as
    // "Stream error in the HTTP/2 framing layer" instead of the answer).
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let chunks = (0..CHUNKS).map(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b' '; SIZE / CHUNKS]))
    });
    let mut request = axum::http::Request::post(format!(
        "https://{}/api/v1/namespaces/default/configmaps",
        server.addr()
    ))
    .header(
        "authorization",
        format!("Bearer {}", server.kubeconfig().token),
    )
    .header("content-type", "application/json");
    if announced {
        request = request.header("content-length", SIZE);
    }
    let request = request
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap();
    let response = tokio::time::timeout(DEADLINE, sender.send_request(request))
        .await
        .expect("no answer")
        .expect("the request failed");
    assert_eq!(
        sent.load(Ordering::SeqCst),
        CHUNKS,
        "the server answered before reading the body"
    );
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(Body::new(response.into_body()), usize::MAX)
        .await
        .expect("the answer's body was cut");
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn a_too_large_body_is_answered_413_with_a_status() {
    let dir = tempfile::tempdir().unwrap();
    let server = api_server(dir.path(), ConnLimits::default()).await;
    for announced in [true, false] {
        let (status, body) = post_large_h2(&server, announced).await;
        assert_eq!(status, 413, "HTTP/2, Content-Length: {announced}");
        assert_eq!(body["kind"], "Status");
        assert_eq!(body["reason"], "RequestEntityTooLarge");
        assert_eq!(body["code"], 413);
    }
    for chunked in [false, true] {
        let (status, body) = post_large(&server, chunked).await;
        assert_eq!(
            status, "HTTP/1.1 413 Payload Too Large",
            "chunked: {chunked}"
        );
        assert_eq!(body["kind"], "Status");
        assert_eq!(body["apiVersion"], "v1");
        assert_eq!(body["status"], "Failure");
        assert_eq!(body["reason"], "RequestEntityTooLarge");
        assert_eq!(body["code"], 413);
    }
    server.shutdown().await;
}

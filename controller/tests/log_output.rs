//! Log lines written to a pipe are plain text: `ferrule up` and `ferrule netsim`, run with
//! stderr piped, write no ANSI escape (colour) sequence. Colour is for terminals only
//! (and `NO_COLOR` turns it off there too; see `cli::log_colours`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is the failure report

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A child killed (and reaped) when dropped, so that a failing test leaves nothing running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `ferrule args` with stderr piped and `RUST_LOG=info`, collects stderr until it
/// contains `ready` (60 s at most), stops the process and returns what it wrote.
fn stderr_until(args: &[&str], ready: &str) -> Vec<u8> {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrule"))
        .current_dir(repo)
        .args(args)
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ferrule");
    let mut stderr = child.stderr.take().unwrap();
    let running = Running(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut out = Vec::new();
    while !String::from_utf8_lossy(&out).contains(ready) {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(chunk) => out.extend(chunk),
            Err(e) => panic!(
                "ferrule {args:?} did not log {ready:?} ({e}); stderr so far:\n{}",
                String::from_utf8_lossy(&out)
            ),
        }
    }
    drop(running);
    out
}

fn assert_plain(args: &[&str], log: &[u8]) {
    let text = String::from_utf8_lossy(log);
    assert!(
        !log.contains(&0x1b),
        "ferrule {args:?} wrote an escape sequence to a pipe:\n{text:?}"
    );
}

#[test]
fn up_logs_plain_text_to_a_pipe() {
    let data = tempfile::tempdir().unwrap();
    let data = data.path().to_str().unwrap();
    let args = [
        "up",
        "--data",
        data,
        "--api-listen",
        "127.0.0.1:0",
        "--http-listen",
        "127.0.0.1:0",
    ];
    let log = stderr_until(&args, "API server listening");
    assert_plain(&args, &log);
}

#[test]
fn netsim_logs_plain_text_to_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let topology = dir.path().join("net.yaml");
    std::fs::write(
        &topology,
        "devices:\n  - name: olt1\n    listen: 127.0.0.1:0\n    profile: ietf\n    ports: [ge-0/0/1]\n",
    )
    .unwrap();
    let topology = topology.to_str().unwrap();
    let args = ["netsim", "--topology", topology, "--no-control"];
    let log = stderr_until(&args, "netsim running");
    assert_plain(&args, &log);
}

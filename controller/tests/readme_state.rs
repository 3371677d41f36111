//! What the README tells a new user about state and restarts, done as the user does it:
//! `ferrule up` run in a directory keeps its state in `.ferrule/` there; Ctrl-C (SIGINT)
//! stops it cleanly; the same command started again finds its objects; after
//! `rm -rf .ferrule` it starts from scratch.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is the failure report

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `ferrule up` child; killed when dropped so a failing test leaves nothing running.
struct Up(Child);

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Up {
    /// `ferrule up` in `dir` with no `--data` (the default `.ferrule`), once it says it is up.
    fn start(dir: &Path) -> Up {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferrule"))
            .current_dir(dir)
            .args([
                "up",
                "--api-listen",
                "127.0.0.1:0",
                "--http-listen",
                "127.0.0.1:0",
            ])
            .env_remove("FERRULE_DATA")
            .env_remove("FERRULE_KUBECONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting ferrule up");
        let stdout = child.stdout.take().unwrap();
        let up = Up(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("ferrule up did not say it is up");
            if line.starts_with("ferrule is up") {
                assert!(line.contains(".ferrule/kubeconfig"), "{line}");
                // Keep draining stdout so that the child never blocks on a full pipe.
                std::thread::spawn(move || while rx.recv().is_ok() {});
                return up;
            }
        }
    }

    /// Ctrl-C: SIGINT, then waits (60 s at most) for a clean exit.
    fn interrupt(mut self) {
        let pid = self.0.id().to_string();
        let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "ferrule up exited with {status} on Ctrl-C"
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "ferrule up did not stop on Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn kubectl(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("kubectl")
        .args(args)
        .current_dir(dir)
        .env("KUBECONFIG", dir.join(".ferrule/kubeconfig"))
        .env("HOME", dir)
        .output()
        .expect("running kubectl")
}

#[test]
fn state_lives_in_dot_ferrule_and_survives_a_restart_until_removed() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for told in [".ferrule/", "Ctrl-C", "rm -rf .ferrule"] {
        assert!(
            readme.contains(told),
            "the README does not mention {told:?}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let up = Up::start(dir);
    for file in ["state.db", "kubeconfig", "token", "pki"] {
        assert!(
            dir.join(".ferrule").join(file).exists(),
            "no .ferrule/{file}"
        );
    }
    let created = kubectl(dir, &["create", "configmap", "kept", "--from-literal=a=1"]);
    assert!(created.status.success(), "{created:?}");
    up.interrupt();

    // The same command again: the object is still there.
    let up = Up::start(dir);
    let got = kubectl(
        dir,
        &["get", "configmap", "kept", "-o", "jsonpath={.data.a}"],
    );
    assert!(got.status.success(), "{got:?}");
    assert_eq!(String::from_utf8_lossy(&got.stdout), "1");
    up.interrupt();

    // From scratch.
    std::fs::remove_dir_all(dir.join(".ferrule")).unwrap();
    let up = Up::start(dir);
    let gone = kubectl(dir, &["get", "configmap", "kept"]);
    assert!(!gone.status.success(), "{gone:?}");
    assert!(
        String::from_utf8_lossy(&gone.stderr).contains("NotFound"),
        "{gone:?}"
    );
    up.interrupt();
}

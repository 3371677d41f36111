//! The README's main job in a test, on ports of its own: a copy of the examples' topology
//! and manifests with the simulated devices moved to free ephemeral ports (the examples' fixed
//! ports 18301, 18302, 18310 may belong to a main job someone is running), and a `ferrule up`
//! child whose error output ends up in the failure message when it fails or exits early.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A free port on 127.0.0.1, found by binding port 0 (released again for the child).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding an ephemeral port")
        .port()
}

/// The examples with their simulated devices on free ports.
pub struct Examples {
    /// Holds the copies.
    pub dir: tempfile::TempDir,
    /// The topology (a copy of examples/network/netsim.yaml).
    pub topology: PathBuf,
    /// The manifests (a copy of the top level of examples/).
    pub manifests: PathBuf,
    /// The example's device addresses, old and new (`127.0.0.1:18301` → `127.0.0.1:NNNN`).
    pub moved: Vec<(String, String)>,
}

/// Copies the examples, moving every `127.0.0.1:183xx` address of the topology to a free port
/// in both the topology and the Device manifests.
pub fn examples_on_free_ports() -> Examples {
    let root = repo().join("examples");
    let dir = tempfile::tempdir().unwrap();
    let topology_text = std::fs::read_to_string(root.join("network/netsim.yaml")).unwrap();
    let topology: ferrule_netsim::Topology =
        ferrule_netsim::Topology::from_yaml(&topology_text).unwrap();
    let moved: Vec<(String, String)> = topology
        .devices
        .iter()
        .map(|d| (d.listen.to_string(), format!("127.0.0.1:{}", free_port())))
        .collect();
    let rewrite = |text: &str| {
        moved
            .iter()
            .fold(text.to_owned(), |t, (old, new)| t.replace(old, new))
    };
    let topology = dir.path().join("netsim.yaml");
    std::fs::write(&topology, rewrite(&topology_text)).unwrap();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir(&manifests).unwrap();
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(manifests.join(path.file_name().unwrap()), rewrite(&text)).unwrap();
        }
    }
    let devices = std::fs::read_to_string(manifests.join("30-devices.yaml")).unwrap();
    for (old, new) in &moved {
        assert!(
            !devices.contains(old) && devices.contains(new),
            "examples/30-devices.yaml does not use the topology's address {old}"
        );
    }
    Examples {
        dir,
        topology,
        manifests,
        moved,
    }
}

/// A running `ferrule up`; killed when dropped so a failing test leaves nothing running.
pub struct Up {
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
    /// Everything it printed on stdout so far.
    pub stdout: Vec<String>,
}

/// Most bytes of the child's error output kept for a failure message.
const STDERR_KEPT: usize = 64 * 1024;

impl Up {
    /// Starts `ferrule up --data DATA --netsim TOPOLOGY --apply MANIFESTS` on ephemeral API,
    /// HTTP and fault-control ports, with `extra` arguments.
    pub fn start(data: &Path, examples: &Examples, extra: &[&str]) -> Self {
        let mut command = Self::up(data, examples);
        command
            .arg("--netsim")
            .arg(&examples.topology)
            .args(["--netsim-control-listen", "127.0.0.1:0"])
            .args(extra);
        Self::spawn(command)
    }

    /// Starts `ferrule up --data DATA --apply MANIFESTS` without a simulated network of its
    /// own (the devices run elsewhere, e.g. in [`Up::netsim`]).
    pub fn start_without_netsim(data: &Path, examples: &Examples) -> Self {
        Self::spawn(Self::up(data, examples))
    }

    /// Starts `ferrule netsim` on the examples' topology keeping state in `state`, with
    /// `extra` arguments; [`Up::summary`] is not for it — wait with [`Up::devices_listed`].
    pub fn netsim(examples: &Examples, state: &Path, extra: &[&str]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ferrule"));
        command
            .current_dir(repo())
            .args(["netsim", "--no-control", "--topology"])
            .arg(&examples.topology)
            .arg("--state-dir")
            .arg(state)
            .args(extra);
        Self::spawn(command)
    }

    fn up(data: &Path, examples: &Examples) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ferrule"));
        command
            .current_dir(repo())
            .args(["up", "--data"])
            .arg(data)
            .args([
                "--api-listen",
                "127.0.0.1:0",
                "--http-listen",
                "127.0.0.1:0",
            ])
            .arg("--apply")
            .arg(&examples.manifests)
            .args(["--wait", "120"]);
        command
    }

    /// Waits until a `ferrule netsim` child listed `n` devices (it listens then).
    pub fn devices_listed(&mut self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.stdout.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.stdout.push(line),
                Err(_) => self.fail("ferrule netsim did not list its devices"),
            }
        }
    }

    fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting ferrule");
        // Both pipes are drained in the background: a full pipe would stop the server.
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let stderr_reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut kept = sink.lock().unwrap();
                kept.push_str(&String::from_utf8_lossy(&buf[..n]));
                if kept.len() > STDERR_KEPT {
                    let cut = kept.len() - STDERR_KEPT;
                    let cut = (cut..kept.len())
                        .find(|i| kept.is_char_boundary(*i))
                        .unwrap_or(cut);
                    kept.drain(..cut);
                }
            }
        });
        Self {
            child,
            lines,
            stderr,
            stderr_reader: Some(stderr_reader),
            stdout: Vec::new(),
        }
    }

    /// What the child wrote on stderr (the last 64 KiB): all of it once the child exited.
    pub fn stderr(&mut self) -> String {
        if matches!(self.child.try_wait(), Ok(Some(_)))
            && let Some(reader) = self.stderr_reader.take()
        {
            // The pipe closed with the child: the reader ends after copying the rest.
            let _ = reader.join();
        }
        self.stderr.lock().unwrap().clone()
    }

    fn fail(&mut self, what: &str) -> ! {
        let status = match self.child.try_wait() {
            Ok(Some(status)) => format!("exited with {status}"),
            Ok(None) => "still running".to_owned(),
            Err(e) => format!("unknown state: {e}"),
        };
        let stderr = self.stderr();
        panic!(
            "{what}; ferrule up {status}\n--- stdout ---\n{}\n--- stderr ---\n{stderr}",
            self.stdout.join("\n")
        );
    }

    /// Waits for the start-up summary (up to its `devices:` line) and returns the whole
    /// output so far; fails with the child's error output when it exits first.
    pub fn summary(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let done = line.starts_with("devices:");
                    self.stdout.push(line);
                    if done {
                        return self.stdout.join("\n");
                    }
                }
                Err(RecvTimeoutError::Timeout) => self.fail("no summary within 180 s"),
                Err(RecvTimeoutError::Disconnected) => {
                    // Closed stdout: the child is exiting; wait for it so its status and
                    // all of its error output are in the report.
                    let deadline = Instant::now() + Duration::from_secs(30);
                    while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    self.fail("ferrule up closed its output before the summary")
                }
            }
        }
    }

    /// The line of the summary starting with `prefix`.
    pub fn line(&self, prefix: &str) -> String {
        self.stdout
            .iter()
            .find(|l| l.starts_with(prefix))
            .cloned()
            .unwrap_or_default()
    }

    /// Stops it as Ctrl-C would (SIGINT) and waits for a clean exit.
    pub fn interrupt(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -INT {pid} failed");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return,
                Ok(Some(_)) => self.fail("ferrule up did not stop cleanly on Ctrl-C"),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                _ => self.fail("ferrule up did not stop within 60 s of Ctrl-C"),
            }
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

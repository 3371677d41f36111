//! Test helpers shared by the end-to-end tests: an in-process API server, the real
//! `kubectl` pointed at it, and the `ferrule` binary.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use ferrule_apiserver::{ApiServer, ServeConfig};

/// The kubectl used by the tests (a v1.32 dispatcher).
pub const KUBECTL: &str = "/usr/bin/kubectl";

/// Starts an API server on a free loopback port with its state in `dir`.
pub async fn start_server(dir: &Path) -> anyhow::Result<ApiServer> {
    start_server_on(dir, "127.0.0.1:0".parse()?).await
}

/// Starts an API server on `addr` (to restart on the same port) with its state in `dir`.
pub async fn start_server_on(dir: &Path, addr: std::net::SocketAddr) -> anyhow::Result<ApiServer> {
    let mut config = ServeConfig::new(dir, addr);
    config.bookmark_interval = Duration::from_secs(2);
    Ok(ferrule_apiserver::serve(config).await?)
}

/// What a finished command printed.
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    /// Whether the command succeeded.
    pub fn ok(&self) -> bool {
        self.code == 0
    }
}

/// `kubectl` with a kubeconfig and a working directory for manifests.
#[derive(Debug, Clone)]
pub struct Kubectl {
    kubeconfig: PathBuf,
    workdir: PathBuf,
}

impl Kubectl {
    /// A kubectl for the kubeconfig at `kubeconfig`; manifests are written to `workdir`.
    pub fn new(kubeconfig: &Path, workdir: &Path) -> Self {
        Kubectl {
            kubeconfig: kubeconfig.to_path_buf(),
            workdir: workdir.to_path_buf(),
        }
    }

    /// The directory manifests are written to.
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// A command ready to run `kubectl args...`.
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(KUBECTL);
        cmd.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", &self.workdir)
            .current_dir(&self.workdir)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// Runs `kubectl args...` with extra environment variables.
    pub async fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Output> {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
            .await
            .with_context(|| format!("kubectl {args:?} hung"))??;
        Ok(Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Runs `kubectl args...`.
    pub async fn run(&self, args: &[&str]) -> anyhow::Result<Output> {
        self.run_env(args, &[]).await
    }

    /// Runs `kubectl args...` and fails unless it succeeded; returns stdout.
    pub async fn ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.run(args).await?;
        if !out.ok() {
            bail!(
                "kubectl {args:?} failed ({}):\n{}\n{}",
                out.code,
                out.stdout,
                out.stderr
            );
        }
        Ok(out.stdout)
    }

    /// Writes `yaml` to `name` in the work directory and returns its path.
    pub fn manifest(&self, name: &str, yaml: &str) -> anyhow::Result<String> {
        let path = self.workdir.join(name);
        std::fs::write(&path, yaml)?;
        Ok(path.display().to_string())
    }
}

/// Polls `check` every 100 ms until it returns `Some`, or fails after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    eventually_every(timeout, Duration::from_millis(100), check).await
}

/// Polls `check` every `interval` until it returns `Some`, or fails after `timeout`.
pub async fn eventually_every<T, F, Fut>(
    timeout: Duration,
    interval: Duration,
    mut check: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("condition not met within {timeout:?}");
        }
        tokio::time::sleep(interval).await;
    }
}

/// Set in a child process: the `ferrule` command line it runs (a JSON array of arguments).
pub const CHILD_ARGS: &str = "FERRULE_E2E_CHILD_ARGS";

/// The body of a test binary's child test: runs the `ferrule` command line given in
/// [`CHILD_ARGS`] exactly as the binary's `main` does. The child test is `#[ignore]`d, so a
/// normal run skips it; run by hand without [`CHILD_ARGS`] it fails.
///
/// Tests that need `ferrule` as a separate process (to kill it, to talk to it as a user would)
/// run their own test binary again with [`spawn_child`], which runs only that test. (Building
/// the `ferrule` binary from inside a test would re-resolve features and rebuild half the
/// workspace.)
pub fn run_child() -> anyhow::Result<()> {
    let Ok(args) = std::env::var(CHILD_ARGS) else {
        bail!("{CHILD_ARGS} is not set: this test only runs as a child process of spawn_child");
    };
    let args: Vec<String> = serde_json::from_str(&args).context("child arguments")?;
    use clap::Parser as _;
    let cli = ferrule::cli::Cli::try_parse_from(std::iter::once("ferrule".to_owned()).chain(args))?;
    ferrule::cli::run(cli)
}

/// A `ferrule` child process, killed when dropped.
#[derive(Debug)]
pub struct FerruleChild {
    /// The process.
    pub child: tokio::process::Child,
    /// The stdout line that said it was ready.
    pub ready_line: String,
    /// Its log lines (stderr, at `warn`), when spawned with [`spawn_child_with_logs`].
    pub logs: Option<tokio::sync::mpsc::UnboundedReceiver<String>>,
}

/// Runs this test binary again as a child running only `child_test` (an `#[ignore]`d test
/// whose body is [`run_child`], hence `--ignored --exact`) with the `ferrule` arguments `args`, and waits until it prints a line
/// containing `ready` (60 s at most). Its stdout is drained afterwards; stderr is dropped
/// unless `FERRULE_E2E_CHILD_LOGS` is set.
pub async fn spawn_child(
    child_test: &str,
    args: &[&str],
    ready: &str,
) -> anyhow::Result<FerruleChild> {
    spawn(child_test, args, ready, false).await
}

/// [`spawn_child`], with the child's log lines (`warn` and above, no colours) delivered to
/// [`FerruleChild::logs`] as they are written.
pub async fn spawn_child_with_logs(
    child_test: &str,
    args: &[&str],
    ready: &str,
) -> anyhow::Result<FerruleChild> {
    spawn(child_test, args, ready, true).await
}

async fn spawn(
    child_test: &str,
    args: &[&str],
    ready: &str,
    capture: bool,
) -> anyhow::Result<FerruleChild> {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let logs = !capture && std::env::var_os("FERRULE_E2E_CHILD_LOGS").is_some();
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args([
            "--ignored",
            "--exact",
            child_test,
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ARGS, serde_json::to_string(args)?)
        .env("RUST_LOG", if logs { "info" } else { "warn" })
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(if logs {
            Stdio::inherit()
        } else if capture {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .kill_on_drop(true)
        .spawn()?;
    let log_lines = match child.stderr.take() {
        Some(stderr) => {
            let (send, receive) = tokio::sync::mpsc::unbounded_channel();
            let mut lines = BufReader::new(stderr).lines();
            tokio::spawn(async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    if send.send(line).is_err() {
                        break;
                    }
                }
            });
            Some(receive)
        }
        None => None,
    };
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let ready_line = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await? {
            if line.contains(ready) {
                return anyhow::Ok(line);
            }
        }
        bail!("ferrule {args:?} exited before printing {ready:?}")
    })
    .await
    .with_context(|| format!("ferrule {args:?} did not print {ready:?}"))??;
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(FerruleChild {
        child,
        ready_line,
        logs: log_lines,
    })
}

/// Runs this test binary again as a child running only `child_test` with the `ferrule`
/// arguments `args`, to the end (60 s at most): for commands expected to fail at start.
pub async fn run_child_to_end(child_test: &str, args: &[&str]) -> anyhow::Result<Output> {
    let mut command = tokio::process::Command::new(std::env::current_exe()?);
    command
        .args([
            "--ignored",
            "--exact",
            child_test,
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ARGS, serde_json::to_string(args)?)
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .with_context(|| format!("ferrule {args:?} did not exit"))??;
    Ok(Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

//! What `ferrule up` writes under its data directory is its owner's alone: every directory
//! 0700, every file 0600 (the database, its write-ahead log and shared-memory index, the lock
//! file, the token, the kubeconfig, keys and certificates). A data directory left readable by
//! an older version is tightened; one that another user could write to is refused.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, ensure};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};

use super::{interrupt, start};

/// How long a stopped `ferrule up` may take to exit.
const EXIT: Duration = Duration::from_secs(15);

/// Every directory and file under `dir` (itself included) with its permission bits.
fn modes(dir: &Path) -> anyhow::Result<Vec<(PathBuf, bool, u32)>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let meta = std::fs::symlink_metadata(&current)?;
        found.push((current.clone(), true, meta.mode() & 0o7777));
        for entry in std::fs::read_dir(&current)? {
            let path = entry?.path();
            let meta = std::fs::symlink_metadata(&path)?;
            if meta.is_dir() {
                pending.push(path);
            } else {
                found.push((path, false, meta.mode() & 0o7777));
            }
        }
    }
    Ok(found)
}

/// Fails unless every directory under `dir` is 0700 and every file 0600.
fn all_private(dir: &Path) -> anyhow::Result<()> {
    let wrong: Vec<String> = modes(dir)?
        .into_iter()
        .filter(|(_, is_dir, mode)| *mode != if *is_dir { 0o700 } else { 0o600 })
        .map(|(path, _, mode)| format!("{} {mode:04o}", path.display()))
        .collect();
    ensure!(wrong.is_empty(), "not private: {wrong:?}");
    Ok(())
}

fn chmod(path: &Path, mode: u32) -> anyhow::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", path.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_written_under_the_data_directory_is_private() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let (mut up, client) = start(&data).await?;
    // A device password goes through the write-ahead log.
    let secrets: Api<Secret> = Api::namespaced(client, "default");
    let mut secret = Secret::default();
    secret.metadata.name = Some("olt-admin".into());
    secret.string_data = Some([("password".to_string(), "s3cret".to_string())].into());
    secrets.create(&PostParams::default(), &secret).await?;
    for name in [
        "state.db",
        "state.db-wal",
        "state.db-shm",
        "state.db.lock",
        "token",
        "kubeconfig",
        "pki/ca.key",
        "pki/ca.crt",
        "pki/server.key",
        "pki/server.crt",
    ] {
        ensure!(data.join(name).exists(), "{name} was not written");
    }
    all_private(&data).context("while running")?;
    let status = interrupt(&mut up, EXIT).await?;
    ensure!(status.success(), "ferrule up exited with {status}");
    all_private(&data).context("after the exit")?;

    // What a version before the check left: directories 0755, files 0644.
    for (path, is_dir, _) in modes(&data)? {
        chmod(&path, if is_dir { 0o755 } else { 0o644 })?;
    }
    let (mut up, _client) = start(&data).await?;
    all_private(&data).context("after starting on an older data directory")?;
    let status = interrupt(&mut up, EXIT).await?;
    ensure!(status.success(), "ferrule up exited with {status}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_directory_other_users_can_write_is_refused() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    std::fs::create_dir(&data)?;
    let arg = data.to_str().context("path")?;
    let args = [
        "up",
        "--data",
        arg,
        "--api-listen",
        "127.0.0.1:0",
        "--http-listen",
        "127.0.0.1:0",
    ];
    for mode in [0o777, 0o770, 0o702] {
        chmod(&data, mode)?;
        let out = ferrule_e2e::run_child_to_end("ferrule_up_child", &args).await?;
        ensure!(!out.ok(), "started on a {mode:04o} data directory");
        let said = format!("{}{}", out.stdout, out.stderr);
        ensure!(
            said.contains("is writable by other users") && said.contains("chmod"),
            "no clear refusal for {mode:04o}:\n{said}"
        );
        ensure!(
            std::fs::read_dir(&data)?.next().is_none(),
            "files written into the refused directory"
        );
    }
    // Owned by another user: only root can make one to test with.
    if std::fs::metadata(&data)?.uid() == 0 {
        chmod(&data, 0o700)?;
        std::os::unix::fs::chown(&data, Some(65534), Some(65534))?;
        let out = ferrule_e2e::run_child_to_end("ferrule_up_child", &args).await?;
        ensure!(!out.ok(), "started on another user's data directory");
        let said = format!("{}{}", out.stdout, out.stderr);
        ensure!(
            said.contains("belongs to user id 65534") && said.contains("--data"),
            "no clear refusal for another user's directory:\n{said}"
        );
    }
    Ok(())
}

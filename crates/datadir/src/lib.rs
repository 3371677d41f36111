//! Files in the data directory: what is there is readable and writable by the owner only.
//!
//! The data directory holds the database (every Secret, device passwords included, is in
//! `state.db` and its write-ahead log), the CA key, the bearer token and the kubeconfig. On a
//! host shared with other users, anything there readable by them gives them the network, and
//! anything writable by them lets them plant objects or keys. So:
//!
//! - every directory is created 0700 ([`create_private_dir`]), every file 0600
//!   ([`write_private`], [`create_private_file`]);
//! - at start, [`prepare_data_dir`] refuses a data directory that another user owns or could
//!   have written to, and tightens what an older version left readable by others.
//!
//! Everything written under the data directory goes through these helpers; docs/security.md
//! ("Files and permissions in the data directory") explains the choices.

use std::fs::{File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mode of every directory under the data directory.
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// Mode of every file under the data directory.
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// Permission bits that let a user other than the owner write.
const WRITABLE_BY_OTHERS: u32 = 0o022;
/// Permission bits that give a user other than the owner any access.
const OTHERS: u32 = 0o077;

/// Why the data directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// Another user could have changed what is in the directory (planted objects, replaced the
    /// CA key): nothing in it can be trusted. Check its content, then `chmod go-w` it (or start
    /// over with a new directory).
    #[error(
        "{path} is writable by other users (mode {mode:04o}); refusing to use it as the data directory: check its content, then run `chmod -R go-w {path}` (or use a new directory)",
        path = path.display()
    )]
    WritableByOthers {
        /// The directory or file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The directory, or something in it, belongs to another user, who can change it and read
    /// it whatever its mode. Run Ferrule as that user, or give it a directory of its own with
    /// `--data`.
    #[error(
        "{path} belongs to user id {owner}, not to user id {user} that runs ferrule; refusing to use it as the data directory: run as its owner or pass a directory of your own with --data",
        path = path.display()
    )]
    OwnedByOtherUser {
        /// The directory or file.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The effective user id of this process.
        user: u32,
    },
    /// The path exists but is not a directory.
    #[error("{path} is not a directory", path = path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// Reading, creating or changing the mode of a file failed.
    #[error("{what} {path}: {source}", path = path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn io_err(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError {
    let path = path.to_path_buf();
    move |source| DataDirError::Io { what, path, source }
}

/// Creates `dir` (and missing parents) 0700, or checks and tightens the existing one, and
/// returns the paths whose mode was tightened (already logged).
///
/// Refused: a directory, or anything in it, owned by another user or writable by group or
/// others. Anything else readable by group or others (what versions before this check
/// created: directories 0755, files 0644) is set to 0700 / 0600. Symbolic links inside are
/// left alone (their own mode means nothing and their target is not ours to change).
pub fn prepare_data_dir(dir: &Path) -> Result<Vec<PathBuf>, DataDirError> {
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => {
            return Err(DataDirError::NotADirectory {
                path: dir.to_path_buf(),
            });
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            create_private_dir(dir).map_err(io_err("creating", dir))?;
        }
        Err(source) => return Err(io_err("reading", dir)(source)),
    }
    let user = rustix::process::geteuid().as_raw();
    // Every check before any change: a refused directory is left exactly as it was found.
    let entries = checked_tree(dir, user)?;
    let mut tightened = Vec::new();
    for (path, meta) in &entries {
        if meta.mode() & OTHERS == 0 {
            continue;
        }
        let mode = if meta.is_dir() {
            PRIVATE_DIR_MODE
        } else {
            PRIVATE_FILE_MODE
        };
        std::fs::set_permissions(path, Permissions::from_mode(mode))
            .map_err(io_err("restricting the mode of", path))?;
        tracing::warn!(
            path = %path.display(),
            was = format!("{:04o}", meta.mode() & 0o7777),
            now = format!("{mode:04o}"),
            "data directory entry was readable by other users; restricted to its owner"
        );
        tightened.push(path.clone());
    }
    Ok(tightened)
}

/// `dir` itself (its target, if it is a link) and, depth first, every directory and regular
/// file below it, with their metadata; symbolic links below it are skipped. Stops at the
/// first entry owned by another user than `user` or writable by others.
fn checked_tree(dir: &Path, user: u32) -> Result<Vec<(PathBuf, std::fs::Metadata)>, DataDirError> {
    let check = |path: &Path, meta: &std::fs::Metadata| {
        if meta.uid() != user {
            return Err(DataDirError::OwnedByOtherUser {
                path: path.to_path_buf(),
                owner: meta.uid(),
                user,
            });
        }
        if meta.mode() & WRITABLE_BY_OTHERS != 0 {
            return Err(DataDirError::WritableByOthers {
                path: path.to_path_buf(),
                mode: meta.mode() & 0o7777,
            });
        }
        Ok(())
    };
    let meta = std::fs::metadata(dir).map_err(io_err("reading", dir))?;
    check(dir, &meta)?;
    let mut out = vec![(dir.to_path_buf(), meta)];
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let listing = std::fs::read_dir(&current).map_err(io_err("listing", &current))?;
        for entry in listing {
            let entry = entry.map_err(io_err("listing", &current))?;
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).map_err(io_err("reading", &path))?;
            if meta.file_type().is_symlink() {
                continue;
            }
            check(&path, &meta)?;
            if meta.is_dir() {
                pending.push(path.clone());
            }
            out.push((path, meta));
        }
    }
    Ok(out)
}

/// Creates `dir` and its missing parents with mode 0700. An existing directory is left as it
/// is ([`prepare_data_dir`] has checked the data directory's tree at start).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR_MODE)
        .create(dir)
}

/// Opens `path` for writing, creating it 0600 if it does not exist (the umask can only
/// narrow that); an existing file readable or writable by others is set to 0600. The
/// content is kept. This is how a file another library then opens by name (the SQLite
/// database) is made private before that library creates it with its own default mode.
pub fn create_private_file(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(PRIVATE_FILE_MODE)
        .open(path)?;
    let mode = file.metadata()?.permissions().mode();
    if mode & OTHERS != 0 {
        file.set_permissions(Permissions::from_mode(PRIVATE_FILE_MODE))?;
    }
    Ok(file)
}

/// Replaces `path` with `bytes`, readable only by the owner (keys, tokens, kubeconfigs,
/// certificates).
///
/// The bytes go to a new temporary file with a unique name in the same directory, created
/// 0600 (never an existing file whose mode would be kept), synced, and renamed over `path`;
/// the directory is synced too. A crash leaves either the old file or the new one, never a
/// partial one; at worst an orphaned temporary file, which is 0600 as well.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(Permissions::from_mode(PRIVATE_FILE_MODE))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // The rename is durable once the directory entry is.
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
    }

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn write_private_ignores_a_stale_temporary_file_of_another_name() {
        // Before, `ca.key` and `ca.crt` were both written through `ca.tmp`, opened without
        // truncating its mode: a world-readable leftover made the key world-readable.
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join("ca.tmp");
        std::fs::write(&stale, "old certificate").unwrap();
        chmod(&stale, 0o644);
        let key = dir.path().join("ca.key");
        write_private(&key, b"secret key").unwrap();
        assert_eq!(mode(&key), 0o600);
        assert_eq!(std::fs::read(&key).unwrap(), b"secret key");
    }

    #[test]
    fn write_private_replaces_a_readable_file_with_a_private_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "old").unwrap();
        chmod(&path, 0o644);
        write_private(&path, b"new").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        // Nothing else is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("token")]);
    }

    #[test]
    fn concurrent_writes_of_different_files_use_different_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let writers: Vec<_> = ["ca.key", "ca.crt"]
            .into_iter()
            .map(|name| {
                let path = dir.path().join(name);
                std::thread::spawn(move || {
                    for i in 0..200 {
                        write_private(&path, format!("{name} {i}").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(dir.path().join("ca.key")).unwrap(),
            "ca.key 199"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("ca.crt")).unwrap(),
            "ca.crt 199"
        );
    }

    #[test]
    fn a_new_data_directory_and_its_parents_are_private() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        assert!(prepare_data_dir(&dir).unwrap().is_empty());
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700);
        create_private_dir(&dir.join("pki")).unwrap();
        assert_eq!(mode(&dir.join("pki")), 0o700);
        create_private_file(&dir.join("state.db")).unwrap();
        assert_eq!(mode(&dir.join("state.db")), 0o600);
    }

    #[test]
    fn an_older_readable_data_directory_is_tightened() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        std::fs::create_dir_all(dir.join("pki")).unwrap();
        std::fs::write(dir.join("state.db"), "db").unwrap();
        std::fs::write(dir.join("pki/ca.crt"), "cert").unwrap();
        std::fs::write(dir.join("pki/ca.key"), "key").unwrap();
        chmod(&dir, 0o755);
        chmod(&dir.join("pki"), 0o755);
        chmod(&dir.join("state.db"), 0o644);
        chmod(&dir.join("pki/ca.crt"), 0o644);
        chmod(&dir.join("pki/ca.key"), 0o600);
        let mut tightened = prepare_data_dir(&dir).unwrap();
        tightened.sort();
        let mut expected = vec![
            dir.clone(),
            dir.join("pki"),
            dir.join("state.db"),
            dir.join("pki/ca.crt"),
        ];
        expected.sort();
        assert_eq!(tightened, expected);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("pki")), 0o700);
        assert_eq!(mode(&dir.join("state.db")), 0o600);
        assert_eq!(mode(&dir.join("pki/ca.crt")), 0o600);
        assert_eq!(mode(&dir.join("pki/ca.key")), 0o600);
        // A second start has nothing to do.
        assert!(prepare_data_dir(&dir).unwrap().is_empty());
    }

    #[test]
    fn a_data_directory_writable_by_others_is_refused_untouched() {
        for (dir_mode, file_mode) in [(0o775, 0o644), (0o757, 0o644), (0o700, 0o660)] {
            let root = tempfile::tempdir().unwrap();
            let dir = root.path().join("data");
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("state.db"), "db").unwrap();
            chmod(&dir.join("state.db"), file_mode);
            chmod(&dir, dir_mode);
            let err = prepare_data_dir(&dir).unwrap_err();
            assert!(
                matches!(err, DataDirError::WritableByOthers { .. }),
                "{dir_mode:o}/{file_mode:o}: {err}"
            );
            assert!(err.to_string().contains("writable by other users"), "{err}");
            assert_eq!(mode(&dir), dir_mode);
            assert_eq!(mode(&dir.join("state.db")), file_mode);
        }
    }

    #[test]
    fn a_data_directory_of_another_user_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let user = rustix::process::geteuid().as_raw();
        // As root, give a directory away; as anyone else, a root-owned directory is not ours.
        let dir = if user == 0 {
            let dir = root.path().join("data");
            std::fs::create_dir(&dir).unwrap();
            chmod(&dir, 0o700);
            std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
            dir
        } else {
            PathBuf::from("/")
        };
        let err = prepare_data_dir(&dir).unwrap_err();
        match &err {
            DataDirError::OwnedByOtherUser { path, owner, .. } => {
                assert_eq!(path, &dir);
                assert_ne!(*owner, user);
            }
            other => panic!("unexpected {other}"),
        }
        assert!(err.to_string().contains("--data"), "{err}");
    }

    #[test]
    fn a_file_is_not_a_data_directory() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("data");
        std::fs::write(&file, "").unwrap();
        assert!(matches!(
            prepare_data_dir(&file),
            Err(DataDirError::NotADirectory { .. })
        ));
    }
}

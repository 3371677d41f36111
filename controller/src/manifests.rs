//! Kubernetes manifests from files: reading them (like `kubectl apply -f`) and applying them
//! with server-side apply through any API server, embedded or real.

use std::path::{Path, PathBuf};

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{Discovery, Scope};
use serde_json::Value;

/// The field manager of objects applied by `ferrule up --apply`.
pub const FIELD_MANAGER: &str = "ferrule-apply";

/// Largest manifest file read.
const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Why manifests could not be read or applied.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A file or folder could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is larger than the limit.
    #[error("{path} is {size} bytes; manifests larger than {MAX_FILE_BYTES} bytes are refused")]
    TooLarge {
        /// The path.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// A file is not YAML.
    #[error("{path}: {message}")]
    Yaml {
        /// The path.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A document lacks apiVersion, kind or metadata.name.
    #[error("{path}: document {index}: {message}")]
    Document {
        /// The file.
        path: PathBuf,
        /// Position of the document in the file, from 1.
        index: usize,
        /// What is missing.
        message: String,
    },
    /// The API server does not serve the document's kind.
    #[error("{path}: {kind} ({api_version}) is not served by the API server")]
    UnknownKind {
        /// The file.
        path: PathBuf,
        /// The kind.
        kind: String,
        /// The apiVersion.
        api_version: String,
    },
    /// The API server refused an object (its message says why, e.g. 422 with field paths).
    #[error("{path}: {kind} {name}: {source}")]
    Apply {
        /// The file.
        path: PathBuf,
        /// The kind.
        kind: String,
        /// The object's name.
        name: String,
        /// The API error.
        source: Box<kube::Error>,
    },
    /// Discovery of the API server's resources failed.
    #[error("discovering the API server's resources: {0}")]
    Discovery(#[source] Box<kube::Error>),
}

/// One document of a manifest file.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The file it came from.
    pub path: PathBuf,
    /// Position in the file, from 1.
    pub index: usize,
    /// The object.
    pub object: Value,
}

impl Manifest {
    /// `kind/name`, as kubectl prints it.
    pub fn describe(&self) -> String {
        format!(
            "{}/{}",
            self.object["kind"].as_str().unwrap_or("?").to_lowercase(),
            self.object["metadata"]["name"].as_str().unwrap_or("?")
        )
    }
}

/// Reads the manifests of a file, or of every `.yaml`/`.yml`/`.json` file directly in a
/// folder (not its sub-folders, as `kubectl apply -f DIR`), in file-name order. Empty
/// documents are skipped.
pub fn load(path: &Path) -> Result<Vec<Manifest>, ManifestError> {
    let read_err = |source| ManifestError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).map_err(read_err)? {
            let file = entry.map_err(read_err)?.path();
            let is_manifest = file
                .extension()
                .is_some_and(|x| x == "yaml" || x == "yml" || x == "json");
            if file.is_file() && is_manifest {
                files.push(file);
            }
        }
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    let mut manifests = Vec::new();
    for file in files {
        manifests.extend(load_file(&file)?);
    }
    Ok(manifests)
}

fn load_file(path: &Path) -> Result<Vec<Manifest>, ManifestError> {
    let read_err = |source| ManifestError::Read {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(read_err)?.len();
    if size > MAX_FILE_BYTES {
        return Err(ManifestError::TooLarge {
            path: path.to_path_buf(),
            size,
        });
    }
    let text = std::fs::read_to_string(path).map_err(read_err)?;
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(&text).map_err(|e| ManifestError::Yaml {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let mut manifests = Vec::new();
    for (i, object) in documents.into_iter().enumerate() {
        if object.is_null() {
            continue;
        }
        let index = i + 1;
        let missing = ["apiVersion", "kind"]
            .into_iter()
            .filter(|k| !object[*k].is_string())
            .chain((!object["metadata"]["name"].is_string()).then_some("metadata.name"))
            .collect::<Vec<_>>();
        if !missing.is_empty() {
            return Err(ManifestError::Document {
                path: path.to_path_buf(),
                index,
                message: format!("not a Kubernetes object: {} not set", missing.join(", ")),
            });
        }
        manifests.push(Manifest {
            path: path.to_path_buf(),
            index,
            object,
        });
    }
    Ok(manifests)
}

/// Applies manifests in order with server-side apply (field manager [`FIELD_MANAGER`],
/// conflicts forced, as a GitOps tool does); namespaced objects without a namespace go to
/// `default`. Returns what was applied, as `kind/name` lines.
pub async fn apply(
    client: &kube::Client,
    manifests: &[Manifest],
) -> Result<Vec<String>, ManifestError> {
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .map_err(|e| ManifestError::Discovery(Box::new(e)))?;
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let mut applied = Vec::with_capacity(manifests.len());
    for manifest in manifests {
        let object = &manifest.object;
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let kind = object["kind"].as_str().unwrap_or_default();
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let Some((resource, capabilities)) = discovery.resolve_gvk(&gvk) else {
            return Err(ManifestError::UnknownKind {
                path: manifest.path.clone(),
                kind: kind.to_owned(),
                api_version: api_version.to_owned(),
            });
        };
        let api: Api<DynamicObject> = match capabilities.scope {
            Scope::Cluster => Api::all_with(client.clone(), &resource),
            Scope::Namespaced => {
                let ns = object["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("default");
                Api::namespaced_with(client.clone(), ns, &resource)
            }
        };
        api.patch(name, &params, &Patch::Apply(object))
            .await
            .map_err(|e| ManifestError::Apply {
                path: manifest.path.clone(),
                kind: kind.to_owned(),
                name: name.to_owned(),
                source: Box::new(e),
            })?;
        applied.push(manifest.describe());
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_read_in_file_name_order_without_sub_folders() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("20-b.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("10-a.yaml"),
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a manifest").unwrap();
        std::fs::create_dir(dir.path().join("later")).unwrap();
        std::fs::write(
            dir.path().join("later/x.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: later\n",
        )
        .unwrap();
        let names: Vec<String> = load(dir.path())
            .unwrap()
            .iter()
            .map(Manifest::describe)
            .collect();
        assert_eq!(names, ["namespace/a", "secret/s", "configmap/b"]);
    }

    #[test]
    fn documents_that_are_not_objects_are_refused_with_their_place() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("topology.yaml");
        std::fs::write(
            &file,
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\ndevices: []\n",
        )
        .unwrap();
        let err = load(&file).unwrap_err().to_string();
        assert!(err.contains("document 2"), "{err}");
        assert!(
            err.contains("apiVersion, kind, metadata.name not set"),
            "{err}"
        );
        std::fs::write(&file, "a: [unclosed\n").unwrap();
        assert!(matches!(load(&file), Err(ManifestError::Yaml { .. })));
    }

    #[test]
    fn the_examples_load() {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
        let manifests = load(&examples).unwrap();
        assert!(manifests.len() >= 15, "{}", manifests.len());
        assert_eq!(manifests[0].describe(), "namespace/lusofibra");
    }
}

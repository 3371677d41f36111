//! Reading manifests for `ferrule plan`: files or folders of YAML (or JSON) documents, with
//! limits, into plain JSON objects with their namespace filled in.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Largest manifest file read.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Most documents read in all.
pub const MAX_DOCUMENTS: usize = 10_000;

/// Why manifests could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A file or folder could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A file is larger than [`MAX_FILE_BYTES`].
    #[error("{path}: larger than {MAX_FILE_BYTES} bytes")]
    TooLarge {
        /// The path.
        path: PathBuf,
    },
    /// More than [`MAX_DOCUMENTS`] documents.
    #[error("more than {MAX_DOCUMENTS} documents")]
    TooMany,
    /// A file is not YAML.
    #[error("{path}: not valid YAML: {message}")]
    Yaml {
        /// The path.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A document is not a Kubernetes object.
    #[error("{path}: document {index} has no kind or metadata.name")]
    NotAnObject {
        /// The path.
        path: PathBuf,
        /// 1-based document number.
        index: usize,
    },
}

/// One document and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// `file` or `file#n`.
    pub origin: String,
    /// The object, `metadata.namespace` set.
    pub object: Value,
}

impl Document {
    /// `kind`.
    pub fn kind(&self) -> &str {
        self.object["kind"].as_str().unwrap_or_default()
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or_default()
    }

    /// `metadata.namespace`.
    pub fn namespace(&self) -> &str {
        self.object["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
    }
}

/// The manifest files named by `paths`: files as given, folders' `*.yaml`, `*.yml` and
/// `*.json` files in name order (not recursive).
pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ManifestError> {
    let mut out = Vec::new();
    for path in paths {
        let io = |source| ManifestError::Io {
            path: path.clone(),
            source,
        };
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(io)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_manifest(p))
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Reads every document of `files`; documents without namespace get `default_namespace`.
pub fn load(files: &[PathBuf], default_namespace: &str) -> Result<Vec<Document>, ManifestError> {
    let mut docs = Vec::new();
    for path in files {
        let io = |source| ManifestError::Io {
            path: path.clone(),
            source,
        };
        let size = std::fs::metadata(path).map_err(io)?.len();
        if size > MAX_FILE_BYTES {
            return Err(ManifestError::TooLarge { path: path.clone() });
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        let parsed = parse(&text, default_namespace).map_err(|e| match e {
            ParseError::Yaml(message) => ManifestError::Yaml {
                path: path.clone(),
                message,
            },
            ParseError::NotAnObject(index) => ManifestError::NotAnObject {
                path: path.clone(),
                index,
            },
        })?;
        for (index, object) in parsed {
            docs.push(Document {
                origin: format!("{}#{index}", path.display()),
                object,
            });
            if docs.len() > MAX_DOCUMENTS {
                return Err(ManifestError::TooMany);
            }
        }
    }
    Ok(docs)
}

/// Why a text could not be read as manifests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Not YAML.
    Yaml(String),
    /// The n-th document (1-based) has no kind or name.
    NotAnObject(usize),
}

/// Parses a multi-document YAML text; returns `(1-based index, object)` of every non-empty
/// document, `metadata.namespace` defaulted. `List` objects are expanded; documents with
/// neither `kind` nor `apiVersion` are skipped.
pub fn parse(text: &str, default_namespace: &str) -> Result<Vec<(usize, Value)>, ParseError> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(text).map_err(|e| ParseError::Yaml(e.to_string()))?;
    let mut out = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        let index = i + 1;
        if doc.is_null() {
            continue;
        }
        let items = match doc.get("kind").and_then(Value::as_str) {
            Some("List") => doc
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            _ => vec![doc],
        };
        for mut item in items {
            // Files that are not Kubernetes objects (a netsim topology next to the
            // manifests) are not part of the plan.
            if item.get("kind").is_none() && item.get("apiVersion").is_none() {
                continue;
            }
            let named = item.get("kind").and_then(Value::as_str).is_some()
                && item
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .is_some();
            if !named {
                return Err(ParseError::NotAnObject(index));
            }
            if item
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .is_none()
                && let Some(meta) = item.get_mut("metadata").and_then(Value::as_object_mut)
            {
                meta.insert("namespace".into(), Value::from(default_namespace));
            }
            out.push((index, item));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_get_a_namespace_and_lists_are_expanded() {
        let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: isp}\n---\n\
                    kind: Device\nmetadata: {name: olt1, namespace: other}\n---\n\
                    kind: List\nitems:\n  - {kind: Product, metadata: {name: p}}\n";
        let docs = parse(text, "isp").unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].1["metadata"]["namespace"], "isp");
        assert_eq!(docs[1].1["metadata"]["namespace"], "other");
        assert_eq!(
            (docs[2].0, docs[2].1["kind"].as_str()),
            (3, Some("Product"))
        );
    }

    #[test]
    fn garbage_is_refused_with_the_document_number() {
        assert!(matches!(parse("a: [", "d"), Err(ParseError::Yaml(_))));
        let text = "kind: X\nmetadata: {name: x}\n---\nfoo: 1\n---\nkind: Y\n";
        assert_eq!(parse(text, "d"), Err(ParseError::NotAnObject(3)));
        assert_eq!(parse("foo: 1\n", "d").unwrap(), vec![]);
    }

    #[test]
    fn the_examples_folder_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let files = files(&[dir]).unwrap();
        assert!(files.len() >= 5);
        let docs = load(&files, "default").unwrap();
        assert!(
            docs.iter()
                .any(|d| d.kind() == "ServiceOrder" && d.name() == "ord-1001")
        );
        assert!(docs.iter().all(|d| !d.namespace().is_empty()));
    }
}

//! The crate layering of docs/architecture.md, checked on the sources: no crate re-exports
//! another crate's items (every user names the crate that owns what it uses), no library crate
//! imports one above it, and nothing but the end-to-end tests imports the binary crate.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `dir`, recursively, in a stable order.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
    out
}

/// The lines (`file:line: text`) of the `.rs` files under `dirs` for which `bad` holds.
fn offending(dirs: &[&str], bad: impl Fn(&Path, &str) -> bool) -> Vec<String> {
    let root = root();
    let mut found = Vec::new();
    for dir in dirs {
        for file in rust_files(&root.join(dir)) {
            let text = fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
            let rel = file
                .strip_prefix(&root)
                .expect("under the root")
                .to_path_buf();
            for (n, line) in text.lines().enumerate() {
                if bad(&rel, line) {
                    found.push(format!("{}:{}: {}", rel.display(), n + 1, line.trim()));
                }
            }
        }
    }
    found
}

fn names_any(line: &str, crates: &[&str]) -> bool {
    crates.iter().any(|c| {
        line.contains(&format!("ferrule_{c}::")) || line.contains(&format!("ferrule_{c} "))
    })
}

#[test]
fn no_crate_re_exports_another() {
    let found = offending(
        &["crds/src", "crates", "controller/src", "tests/src"],
        |_, line| line.trim_start().starts_with("pub use ferrule_"),
    );
    assert!(
        found.is_empty(),
        "re-exports of other crates:\n{}",
        found.join("\n")
    );
}

#[test]
fn nothing_but_the_e2e_tests_imports_the_binary_crate() {
    let found = offending(&["crds", "crates"], |_, line| line.contains("ferrule::"));
    assert!(
        found.is_empty(),
        "imports of the binary crate:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_import_runs_upward() {
    // (sources, crates they must not name)
    let rules: [(&str, &[&str]); 7] = [
        (
            "crds/src",
            &[
                "datadir",
                "netconf",
                "render",
                "netsim",
                "apiserver",
                "operator",
                "provisioning",
            ],
        ),
        (
            "crates/datadir/src",
            &[
                "crds",
                "netconf",
                "render",
                "netsim",
                "apiserver",
                "operator",
                "provisioning",
            ],
        ),
        (
            "crates/netconf/src",
            &["provisioning", "operator", "apiserver", "netsim", "render"],
        ),
        (
            "crates/render/src",
            &["provisioning", "operator", "apiserver", "netsim"],
        ),
        (
            "crates/netsim/src",
            &["provisioning", "operator", "apiserver"],
        ),
        (
            "crates/apiserver/src",
            &["provisioning", "operator", "netconf", "render", "netsim"],
        ),
        (
            "crates/operator/src",
            &["provisioning", "netconf", "render", "netsim"],
        ),
    ];
    let mut found = Vec::new();
    for (dir, above) in rules {
        found.extend(offending(&[dir], |_, line| names_any(line, above)));
    }
    // The kit's own code may not use the API server; only its tests run against it.
    found.extend(offending(&["crates/operator/src"], |file, line| {
        let in_tests = file.file_name().is_some_and(|name| name == "tests.rs")
            || file.components().any(|c| c.as_os_str() == "tests");
        !in_tests && names_any(line, &["apiserver"])
    }));
    assert!(
        found.is_empty(),
        "imports that run upward:\n{}",
        found.join("\n")
    );
}

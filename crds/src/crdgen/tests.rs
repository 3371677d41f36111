use std::path::PathBuf;

use super::*;

/// The committed CRD manifests live next to this crate's Cargo.toml.
fn crds_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn committed_yaml_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(crds_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    names.sort();
    names
}

#[test]
fn committed_crds_are_up_to_date() {
    let crds = all_crds();
    let update = std::env::var_os("FERRULE_UPDATE_CRDS").is_some_and(|v| v == "1");
    if update {
        for stale in committed_yaml_files() {
            std::fs::remove_file(crds_dir().join(stale)).unwrap();
        }
        for crd in &crds {
            std::fs::write(crds_dir().join(crd_file_name(crd)), crd_yaml(crd).unwrap()).unwrap();
        }
    }
    let expected: Vec<String> = crds.iter().map(crd_file_name).collect();
    assert_eq!(
        committed_yaml_files(),
        expected,
        "crds/*.yaml do not match the generated set; regenerate with FERRULE_UPDATE_CRDS=1 cargo test -p ferrule-crds"
    );
    for crd in &crds {
        let name = crd_file_name(crd);
        let committed = std::fs::read_to_string(crds_dir().join(&name)).unwrap();
        assert!(
            committed == crd_yaml(crd).unwrap(),
            "crds/{name} is stale; regenerate with FERRULE_UPDATE_CRDS=1 cargo test -p ferrule-crds"
        );
    }
}

#[test]
fn file_order_is_generation_order() {
    let names: Vec<String> = all_crds().iter().map(crd_file_name).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        names, sorted,
        "`cat crds/*.yaml` must list the CRDs in all_crds() order"
    );
    assert_eq!(names.len(), 8);
}

#[test]
fn stream_is_the_concatenation_of_the_documents() {
    let stream = all_crds_yaml().unwrap();
    let joined: String = all_crds().iter().map(|c| crd_yaml(c).unwrap()).collect();
    assert_eq!(stream, joined);
    assert_eq!(stream.matches("\n---\n").count() + 1, 8);
    assert!(stream.starts_with("---\n"));
}

#[test]
fn yaml_parses_back_to_the_same_crd() {
    for crd in all_crds() {
        let yaml = crd_yaml(&crd).unwrap();
        let back: CustomResourceDefinition = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(back, crd, "{}", crd_file_name(&crd));
    }
}

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
    // Each document: the header comment, then `---`.
    assert_eq!(stream.matches(HEADER).count(), 8);
    assert_eq!(stream.matches("\n---\n").count(), 8);
    assert!(stream.starts_with(HEADER));
}

#[test]
fn yaml_parses_back_to_the_same_crd() {
    for crd in all_crds() {
        let yaml = crd_yaml(&crd).unwrap();
        let back: CustomResourceDefinition = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(back, crd, "{}", crd_file_name(&crd));
    }
}

#[test]
fn every_document_starts_with_the_generated_header() {
    assert!(HEADER.lines().all(|l| l.starts_with("# ")), "{HEADER}");
    assert!(HEADER.contains("do not edit"));
    for crd in all_crds() {
        let yaml = crd_yaml(&crd).unwrap();
        let body = yaml
            .strip_prefix(HEADER)
            .unwrap_or_else(|| panic!("{yaml}"));
        assert!(body.starts_with("---\n"), "{}", crd_file_name(&crd));
    }
}

#[test]
fn reflow_joins_wrapped_lines_and_keeps_paragraphs_lists_and_code() {
    assert_eq!(reflow_description("One line."), "One line.");
    assert_eq!(
        reflow_description(
            "Fixed customer VLAN (1-4094); allocated from a pool\nthat selects the device when\nabsent."
        ),
        "Fixed customer VLAN (1-4094); allocated from a pool that selects the device when absent."
    );
    assert_eq!(
        reflow_description("First paragraph\nwrapped.\n\n\nSecond\n  paragraph.\n"),
        "First paragraph wrapped.\n\nSecond paragraph."
    );
    assert_eq!(
        reflow_description(
            "Phases:\n- Pending: waiting\n  for references\n* Active\n1. first\n2) second\nafter"
        ),
        "Phases:\n- Pending: waiting for references\n* Active\n1. first\n2) second after"
    );
    assert_eq!(
        reflow_description("Example:\n```\nkind: X\n  spec: {}\n\n```\nDone\nhere."),
        "Example:\n```\nkind: X\n  spec: {}\n\n```\nDone here."
    );
    // Numbers and dashes inside a sentence are not list items.
    assert_eq!(
        reflow_description("Between 1 and\n4094 - inclusive\n-5 is not"),
        "Between 1 and 4094 - inclusive -5 is not"
    );
}

/// Every description of every CRD, with its path.
fn descriptions(
    path: &str,
    schema: &k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps,
    out: &mut Vec<(String, String)>,
) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
        JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
    };
    if let Some(d) = &schema.description {
        out.push((path.to_owned(), d.clone()));
    }
    for (name, prop) in schema.properties.iter().flatten() {
        descriptions(&format!("{path}.{name}"), prop, out);
    }
    if let Some(JSONSchemaPropsOrBool::Schema(a)) = &schema.additional_properties {
        descriptions(&format!("{path}.*"), a, out);
    }
    if let Some(JSONSchemaPropsOrArray::Schema(items)) = &schema.items {
        descriptions(&format!("{path}[]"), items, out);
    }
}

#[test]
fn no_description_breaks_a_line_inside_a_paragraph() {
    let mut all = Vec::new();
    for crd in all_crds() {
        for version in &crd.spec.versions {
            let schema = version
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref());
            descriptions(&crd.spec.names.kind, schema.unwrap(), &mut all);
        }
    }
    assert!(all.len() > 100, "{} descriptions", all.len());
    for (path, text) in &all {
        for paragraph in text.split("\n\n") {
            if paragraph.starts_with("```") {
                continue;
            }
            for line in paragraph.lines().skip(1) {
                assert!(
                    is_list_item(line),
                    "{path}: a line break inside a paragraph before {line:?}:\n{text}"
                );
            }
            assert!(
                !paragraph.is_empty() && paragraph.trim() == paragraph,
                "{path}: {text:?}"
            );
        }
    }
}

//! Every manifest in examples/ is accepted by Ferrule's CRD schemas (strictly: unknown fields
//! are errors, as with `kubectl apply`), and the examples hang together: every reference
//! names an object that the examples define.

#![allow(clippy::unwrap_used)] // a test: a panic is the failure report

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ferrule_crds::crdgen::all_crds;
use ferrule_crds::schema::{Checked, DocumentValidator};
use serde_json::Value;

/// Folders of examples/ that hold no Kubernetes manifests (the simulated network's topology,
/// checked by the netsim's tests and by the test below).
const NOT_MANIFESTS: &[&str] = &["network"];

/// Kinds outside Ferrule's CRDs that the examples may use.
const CORE_KINDS: &[&str] = &["Namespace", "Secret", "ConfigMap"];

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn manifest_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if !NOT_MANIFESTS.contains(&name.as_str()) {
                manifest_files(&path, out);
            }
        } else if path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(path);
        }
    }
}

fn load_all() -> Vec<(PathBuf, Value)> {
    let mut files = Vec::new();
    manifest_files(&examples_dir(), &mut files);
    assert!(
        files.len() >= 5,
        "examples/ holds too few manifests: {files:?}"
    );
    let mut docs = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let parsed: Vec<Value> = serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|e| panic!("{}: not valid YAML: {e}", file.display()));
        for doc in parsed.into_iter().filter(|d| !d.is_null()) {
            docs.push((file.clone(), doc));
        }
    }
    docs
}

fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or("")
}

fn name(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or("")
}

#[test]
fn every_example_document_validates_against_the_crd_schemas() {
    let validator = DocumentValidator::new(&all_crds()).expect("the CRD schemas compile");
    let mut ours = 0;
    let mut failures = Vec::new();
    for (file, doc) in load_all() {
        match validator.check(&doc) {
            Ok(Checked::Valid) => ours += 1,
            Ok(Checked::NotOurs) => {
                assert!(
                    CORE_KINDS.contains(&kind(&doc)) && doc["apiVersion"] == "v1",
                    "{}: {} is neither a Ferrule kind nor one of {CORE_KINDS:?}",
                    file.display(),
                    kind(&doc)
                );
            }
            Err(errors) => failures.push(format!(
                "{} {}/{}: {}",
                file.display(),
                kind(&doc),
                name(&doc),
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.path, e.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "invalid examples:\n{}",
        failures.join("\n")
    );
    assert!(
        ours >= 15,
        "expected the examples to hold at least 15 Ferrule objects, got {ours}"
    );
}

#[test]
fn the_validator_used_here_rejects_a_broken_example() {
    // Guards the test above against passing vacuously: the same validator must reject a
    // changed copy of a real example.
    let validator = DocumentValidator::new(&all_crds()).unwrap();
    let (_, mut customer) = load_all()
        .into_iter()
        .find(|(_, d)| kind(d) == "Customer")
        .expect("examples define a Customer");
    customer["spec"]["billing"]["cycleDay"] = 31.into();
    let errors = validator.check(&customer).unwrap_err();
    assert!(
        errors.iter().any(|e| e.path == "spec.billing.cycleDay"),
        "{errors:?}"
    );
}

#[test]
fn every_reference_in_the_examples_names_a_defined_object() {
    let docs = load_all();
    let defined: BTreeSet<(String, String)> = docs
        .iter()
        .map(|(_, d)| (kind(d).to_owned(), name(d).to_owned()))
        .collect();
    let has = |k: &str, n: &str| defined.contains(&(k.to_owned(), n.to_owned()));
    // Devices only use Secrets made for them (docs/security.md).
    let device_credentials: BTreeSet<&str> = docs
        .iter()
        .filter(|(_, d)| kind(d) == "Secret" && d["type"] == ferrule_crds::CREDENTIALS_SECRET_TYPE)
        .map(|(_, d)| name(d))
        .collect();
    // Subscriptions that orders create are defined too.
    let mut subscriptions: BTreeSet<String> = docs
        .iter()
        .filter(|(_, d)| kind(d) == "Subscription")
        .map(|(_, d)| name(d).to_owned())
        .collect();
    for (_, d) in docs.iter().filter(|(_, d)| kind(d) == "ServiceOrder") {
        for item in d["spec"]["items"].as_array().unwrap() {
            if item["action"] == "Add" {
                subscriptions.insert(item["subscription"].as_str().unwrap().to_owned());
            }
        }
    }
    let mut problems = Vec::new();
    let mut need = |file: &Path, what: &str, k: &str, n: &str, ok: bool| {
        if !ok {
            problems.push(format!(
                "{}: {what} names {k} {n:?}, not defined",
                file.display()
            ));
        }
    };
    for (file, d) in &docs {
        let ns = d["metadata"]["namespace"].as_str();
        if kind(d) != "Namespace" {
            let ns = ns.unwrap_or("");
            need(
                file,
                "metadata.namespace",
                "Namespace",
                ns,
                has("Namespace", ns),
            );
        }
        let spec = &d["spec"];
        match kind(d) {
            "Device" => {
                let secret = spec["credentialsSecret"].as_str().unwrap();
                need(
                    file,
                    "credentialsSecret",
                    "Secret",
                    secret,
                    has("Secret", secret),
                );
                need(
                    file,
                    "credentialsSecret",
                    "Secret of type ferrule.dev/device-credentials",
                    secret,
                    device_credentials.contains(secret),
                );
                if let Some(bng) = spec["bng"].as_str() {
                    need(file, "bng", "Device", bng, has("Device", bng));
                }
            }
            "Subscription" => {
                for (field, k) in [("customer", "Customer"), ("product", "Product")] {
                    let n = spec[field].as_str().unwrap();
                    need(file, field, k, n, has(k, n));
                }
                let device = spec["access"]["device"].as_str().unwrap();
                need(
                    file,
                    "access.device",
                    "Device",
                    device,
                    has("Device", device),
                );
            }
            "ServiceOrder" => {
                let customer = spec["customer"].as_str().unwrap();
                need(
                    file,
                    "customer",
                    "Customer",
                    customer,
                    has("Customer", customer),
                );
                for item in spec["items"].as_array().unwrap() {
                    let sub = item["subscription"].as_str().unwrap();
                    need(
                        file,
                        "subscription",
                        "Subscription",
                        sub,
                        subscriptions.contains(sub),
                    );
                    if let Some(p) = item["product"].as_str() {
                        need(file, "product", "Product", p, has("Product", p));
                    }
                    if let Some(dev) = item["access"]["device"].as_str() {
                        need(file, "access.device", "Device", dev, has("Device", dev));
                    }
                }
            }
            "Customer" => {
                if let Some(secret) = spec["notifications"]["webhook"]["secretRef"]["name"].as_str()
                {
                    need(
                        file,
                        "webhook secretRef",
                        "Secret",
                        secret,
                        has("Secret", secret),
                    );
                }
            }
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn example_devices_match_the_simulated_network() {
    // The Devices of examples/ talk to examples/network/netsim.yaml: same addresses, and host keys
    // pinned to what the simulator derives from each device's name.
    let topology = ferrule_netsim::Topology::load(&examples_dir().join("network/netsim.yaml"))
        .expect("examples/network/netsim.yaml loads");
    let fingerprints: std::collections::BTreeMap<String, String> =
        ferrule_netsim::fingerprints(&topology)
            .into_iter()
            .collect();
    let devices: Vec<Value> = load_all()
        .into_iter()
        .map(|(_, d)| d)
        .filter(|d| kind(d) == "Device")
        .collect();
    assert_eq!(
        devices.len(),
        fingerprints.len(),
        "one simulated device per example Device"
    );
    for device in devices {
        let n = name(&device);
        let pinned = device["spec"]["hostKey"].as_str();
        assert_eq!(
            pinned,
            fingerprints.get(n).map(String::as_str),
            "hostKey of Device {n}"
        );
        let address = device["spec"]["address"].as_str().unwrap();
        let simulated = topology
            .devices
            .iter()
            .find(|d| d.name == n)
            .unwrap_or_else(|| panic!("netsim.yaml has no device {n}"));
        assert_eq!(
            address,
            simulated.listen.to_string(),
            "address of Device {n}"
        );
    }
}

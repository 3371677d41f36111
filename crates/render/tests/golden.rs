//! Golden tests of the built-in device profiles: every profile renders fixed inputs (each
//! role, active and suspended) to exactly the committed files under `tests/golden/`.
//!
//! After a deliberate template change, regenerate with
//! `FERRULE_UPDATE_GOLDEN=1 cargo test -p ferrule-render --test golden` and review the diff: the
//! files are what the devices receive.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use ferrule_render::{Attachment, ParamValue, RenderInput, Renderer, Role};

/// Ports in each vendor's own naming: (access port, BNG port).
fn ports(profile: &str) -> (&'static str, &'static str) {
    match profile {
        "openconfig" => ("Ethernet1", "Ethernet49"),
        "iosxr" => ("GigabitEthernet0/0/0/1", "TenGigE0/0/0/0"),
        _ => ("ge-0/0/1", "xe-1/0/0"),
    }
}

fn input(profile: &str, suspended: bool) -> RenderInput {
    let (access, bng) = ports(profile);
    RenderInput {
        customer: "acme".to_owned(),
        subscription: "s1".to_owned(),
        namespace: "isp-a".to_owned(),
        product: "fiber-500".to_owned(),
        parameters: BTreeMap::from([
            ("downMbps".to_owned(), ParamValue::Integer(500)),
            ("upMbps".to_owned(), ParamValue::Integer(100)),
        ]),
        access: Attachment {
            device: "olt1".to_owned(),
            port: access.to_owned(),
        },
        bng: Some(Attachment {
            device: "bng1".to_owned(),
            port: bng.to_owned(),
        }),
        vlan: 1203,
        ipv4: Some("198.51.100.8/29".parse().expect("valid prefix")),
        suspended,
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

#[test]
fn builtin_profiles_match_golden_files() {
    let update = std::env::var_os("FERRULE_UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let renderer = Renderer::builtin().expect("built-in profiles compile");
    let mut expected_files = BTreeSet::new();
    let mut failures = Vec::new();
    let profiles: Vec<String> = renderer.profiles().names().map(str::to_owned).collect();
    for profile in &profiles {
        for role in Role::ALL {
            for suspended in [false, true] {
                let case = format!(
                    "{role}-{}.xml",
                    if suspended { "suspended" } else { "active" }
                );
                let path = golden_dir().join(profile).join(&case);
                expected_files.insert(path.clone());
                let rendered = renderer
                    .render(profile, "internet-access", role, &input(profile, suspended))
                    .unwrap_or_else(|e| panic!("{profile}/{case}: {e}"));
                let rendered = format!("{rendered}\n");
                if update {
                    fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
                    fs::write(&path, &rendered).expect("write golden file");
                    continue;
                }
                match fs::read_to_string(&path) {
                    Ok(golden) if golden == rendered => {}
                    Ok(golden) => failures.push(format!(
                        "{profile}/{case} differs at line {}",
                        first_difference(&golden, &rendered)
                    )),
                    Err(e) => failures.push(format!("{}: {e}", path.display())),
                }
            }
        }
    }
    for profile in &profiles {
        let Ok(entries) = fs::read_dir(golden_dir().join(profile)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("dir entry").path();
            if !expected_files.contains(&path) {
                failures.push(format!("{} is not produced by any case", path.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "golden files are stale (rerun with FERRULE_UPDATE_GOLDEN=1 and review):\n{}",
        failures.join("\n")
    );
}

fn first_difference(a: &str, b: &str) -> usize {
    let mut line = 1;
    for (x, y) in a.lines().zip(b.lines()) {
        if x != y {
            return line;
        }
        line += 1;
    }
    line
}

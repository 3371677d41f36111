//! Tests of profile parsing, validation and the profile set loader.

use super::*;
use crate::{ProfileSet, StateRequest, UpRule};

const IETF: &str = include_str!("../../../../device-profiles/ietf.yaml");

fn load(text: &str) -> Result<DeviceProfile, ProfileError> {
    DeviceProfile::from_yaml("test.yaml", text)
}

/// Loads the ietf profile with one substring replaced, and returns the error message.
fn error_with(from: &str, to: &str) -> String {
    assert!(IETF.contains(from), "fixture lost `{from}`");
    load(&IETF.replacen(from, to, 1)).unwrap_err().to_string()
}

#[test]
fn builtin_profiles_load_and_resolve() {
    let set = ProfileSet::builtin().unwrap();
    assert_eq!(
        set.names().collect::<Vec<_>>(),
        ["ietf", "ietf-running", "iosxr", "junos", "openconfig"]
    );
    for profile in set.profiles() {
        assert!(
            profile.service("internet-access").is_some(),
            "{}",
            profile.name()
        );
        assert_eq!(profile.roles().len(), 3, "{}", profile.name());
        let running = profile.name() == "ietf-running";
        assert_eq!(profile.confirmed_commit(), !running, "{}", profile.name());
        let datastore = if running {
            Datastore::Running
        } else {
            Datastore::Candidate
        };
        assert_eq!(profile.datastore(), datastore, "{}", profile.name());
    }
    assert!(!set.get("ietf").unwrap().validate());
    assert!(set.get("junos").unwrap().validate());
    assert_eq!(set.get("junos").unwrap().template_folder(), "junos");
    assert_eq!(set.get("ietf-running").unwrap().template_folder(), "ietf");
    assert!(set.get("ietf-running").unwrap().rollback_on_error());
}

#[test]
fn ietf_keyed_lists_resolve_to_namespace_pairs() {
    let profile = load(IETF).unwrap();
    let if_ns = "urn:ietf:params:xml:ns:yang:ietf-interfaces".to_owned();
    let ip_ns = "urn:ietf:params:xml:ns:yang:ietf-ip".to_owned();
    let lists = profile.resolved_keyed_lists();
    assert_eq!(lists.len(), 2);
    assert_eq!(
        lists[0],
        (
            vec![
                (if_ns.clone(), "interfaces".to_owned()),
                (if_ns.clone(), "interface".to_owned())
            ],
            vec![(if_ns.clone(), "name".to_owned())]
        )
    );
    assert_eq!(lists[1].0[2], (ip_ns.clone(), "ipv4".to_owned()));
    assert_eq!(lists[1].1, vec![(ip_ns, "ip".to_owned())]);
}

#[test]
fn iosxr_has_a_two_key_list() {
    let set = ProfileSet::builtin().unwrap();
    let lists = set.get("iosxr").unwrap().resolved_keyed_lists();
    let keys: Vec<&str> = lists[0].1.iter().map(|(_, local)| local.as_str()).collect();
    assert_eq!(keys, ["active", "interface-name"]);
}

#[test]
fn interface_name_follows_the_pattern() {
    let profile = load(IETF).unwrap();
    assert_eq!(profile.interface_name("ge-0/0/1", 1203), "ge-0/0/1.1203");
    assert_eq!(profile.interface_name("odd{vlan}", 7), "odd{vlan}.7");
    let profile = load(&IETF.replace("\"{port}.{vlan}\"", "\"{port}:{vlan}\"")).unwrap();
    assert_eq!(profile.interface_name("Ethernet1", 7), "Ethernet1:7");
}

#[test]
fn state_section_resolves() {
    let profile = load(IETF).unwrap();
    let state = profile.state();
    assert_eq!(state.request, StateRequest::Get);
    assert_eq!(state.entries.len(), 2);
    assert_eq!(state.entries[1].local, "interface");
    assert_eq!(state.up, UpRule::Values(vec!["up".to_owned()]));
    assert_eq!(state.in_octets[1].local, "in-octets");
    let junos = ProfileSet::builtin().unwrap();
    let junos = junos.get("junos").unwrap().state();
    assert_eq!(junos.up, UpRule::Present);
    assert_eq!(junos.name[0].namespace, None);
}

#[test]
fn errors_name_the_file_and_the_field() {
    let cases = [
        (
            "    keys: [ip:ip]",
            "    keys: [zz:ip]",
            "test.yaml: keyedLists[1].keys[0]: prefix `zz`",
        ),
        (
            "  - path: /if:interfaces/if:interface\n",
            "  - path: if:interfaces/if:interface\n",
            "keyedLists[0].path: `if:interfaces/if:interface` must start with `/`",
        ),
        (
            "datastore: candidate",
            "datastore: running",
            "confirmedCommit: confirmed commit needs `datastore: candidate`",
        ),
        ("\"{port}.{vlan}\"", "\"{port}.{unit}\"", "interfaceNaming:"),
        (
            "parts: [subscriberInterface]",
            "parts: [subscriberInterface, subscriberInterface]",
            "roles.access.parts[1]: `subscriberInterface` is listed twice",
        ),
        (
            "    upValues: [up]",
            "    upValues: [up]\n    upWhenPresent: true",
            "state.operStatus: give either `upValues` or `upWhenPresent: true`",
        ),
        (
            "  body: <interfaces-state xmlns=\"urn:ietf:params:xml:ns:yang:ietf-interfaces\"/>",
            "  body: <interfaces-state>",
            "state.body:",
        ),
        (
            "    template: internet-access.xml",
            "    template: ../internet-access.xml",
            "services.internet-access.template:",
        ),
        ("name: ietf", "name: IETF", "test.yaml: name:"),
        (
            "datastore: candidate",
            "datastore: candidate\ntemplates: ../ietf",
            "templates: `../ietf` is not a profile name",
        ),
        (
            "  ip: urn:ietf:params:xml:ns:yang:ietf-ip",
            "  xmlip: urn:ietf:params:xml:ns:yang:ietf-ip",
            "namespaces.xmlip",
        ),
    ];
    for (from, to, expected) in cases {
        let message = error_with(from, to);
        assert!(
            message.contains(expected),
            "expected `{expected}` in `{message}`"
        );
    }
}

#[test]
fn serde_errors_keep_the_file_name() {
    let message = error_with(
        "rollbackOnError: true",
        "rollbackOnError: true\ncommitStyle: fast",
    );
    assert!(message.starts_with("test.yaml: "), "{message}");
    assert!(message.contains("commitStyle"), "{message}");
    let message = error_with("validate: false", "validate: sometimes");
    assert!(message.starts_with("test.yaml: "), "{message}");
    let message = error_with("roles:\n  access:", "roles:\n  core:");
    assert!(message.contains("core"), "{message}");
}

#[test]
fn oversized_profiles_are_refused() {
    let big = format!("{IETF}\n#{}", "x".repeat(MAX_PROFILE_BYTES));
    assert!(matches!(load(&big), Err(ProfileError::TooLarge { .. })));
}

#[test]
fn set_reports_missing_templates_and_name_mismatch() {
    let err = ProfileSet::from_sources(
        [("ietf".to_owned(), "ietf.yaml".to_owned(), IETF.to_owned())],
        [(
            "ietf/internet-access.xml".to_owned(),
            "<a xmlns='u'/>".to_owned(),
        )],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("template `internet-access-suspended.xml` not found"),
        "{err}"
    );
    let err = ProfileSet::from_sources(
        [("lab".to_owned(), "lab.yaml".to_owned(), IETF.to_owned())],
        [],
    )
    .unwrap_err();
    assert!(matches!(err, ProfileError::NameMismatch { .. }), "{err}");
    // A profile naming another template folder is checked against that folder.
    let lab = IETF.replacen("name: ietf", "name: lab", 1).replacen(
        "datastore: candidate",
        "datastore: candidate\ntemplates: ietf",
        1,
    );
    let err = ProfileSet::from_sources(
        [("lab".to_owned(), "lab.yaml".to_owned(), lab)],
        [(
            "lab/internet-access.xml".to_owned(),
            "<a xmlns='u'/>".to_owned(),
        )],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("looked for templates/ietf/internet-access.xml"),
        "{err}"
    );
}

#[test]
fn folders_override_and_extend_builtins() {
    let profiles = tempfile::tempdir().unwrap();
    let templates = tempfile::tempdir().unwrap();
    std::fs::write(
        profiles.path().join("ietf.yaml"),
        IETF.replace("\"{port}.{vlan}\"", "\"{port}-{vlan}\""),
    )
    .unwrap();
    std::fs::write(
        profiles.path().join("lab.yaml"),
        IETF.replace("name: ietf", "name: lab"),
    )
    .unwrap();
    std::fs::write(profiles.path().join("notes.txt"), "ignored").unwrap();
    let lab = templates.path().join("lab");
    std::fs::create_dir(&lab).unwrap();
    for file in ["internet-access.xml", "internet-access-suspended.xml"] {
        std::fs::write(lab.join(file), "<x xmlns='urn:lab'>{{ interface }}</x>").unwrap();
    }
    let set = ProfileSet::load(Some(profiles.path()), Some(templates.path())).unwrap();
    assert_eq!(set.get("ietf").unwrap().interface_name("p", 5), "p-5");
    assert!(set.get("lab").is_some());
    assert!(set.get("junos").is_some(), "built-ins stay");

    std::fs::write(lab.join("Bad Name.xml"), "<x/>").unwrap();
    let err = ProfileSet::load(Some(profiles.path()), Some(templates.path())).unwrap_err();
    assert!(matches!(err, ProfileError::BadTemplateName { .. }), "{err}");

    let err = ProfileSet::load(Some(&profiles.path().join("missing")), None).unwrap_err();
    assert!(matches!(err, ProfileError::Io { .. }), "{err}");
}

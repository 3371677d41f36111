//! The capabilities a simulated device advertises, and the features they switch on.

use super::topology::{CapabilityOverrides, DatastoreKind};

/// `urn:ietf:params:netconf:base:1.0`.
pub const BASE_1_0: &str = "urn:ietf:params:netconf:base:1.0";
/// `urn:ietf:params:netconf:base:1.1`.
pub const BASE_1_1: &str = "urn:ietf:params:netconf:base:1.1";
/// `:candidate`.
pub const CANDIDATE: &str = "urn:ietf:params:netconf:capability:candidate:1.0";
/// `:confirmed-commit:1.0`.
pub const CONFIRMED_COMMIT_1_0: &str = "urn:ietf:params:netconf:capability:confirmed-commit:1.0";
/// `:confirmed-commit:1.1`.
pub const CONFIRMED_COMMIT_1_1: &str = "urn:ietf:params:netconf:capability:confirmed-commit:1.1";
/// `:validate:1.0`.
pub const VALIDATE_1_0: &str = "urn:ietf:params:netconf:capability:validate:1.0";
/// `:validate:1.1`.
pub const VALIDATE_1_1: &str = "urn:ietf:params:netconf:capability:validate:1.1";
/// `:rollback-on-error`.
pub const ROLLBACK_ON_ERROR: &str = "urn:ietf:params:netconf:capability:rollback-on-error:1.0";
/// `:writable-running`.
pub const WRITABLE_RUNNING: &str = "urn:ietf:params:netconf:capability:writable-running:1.0";

/// Which protocol features a device offers, derived from what it advertises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// Edits go to `candidate` (else to `running`).
    pub candidate: bool,
    /// `<confirmed/>`, `<persist>`, `<cancel-commit>`.
    pub confirmed_commit: bool,
    /// `<validate>`.
    pub validate: bool,
    /// `error-option` `rollback-on-error`.
    pub rollback_on_error: bool,
    /// Chunked framing when the client offers base:1.1.
    pub base_1_1: bool,
}

/// The capability URIs a device advertises and the features they imply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Every URI of the `<hello>`, in order.
    pub uris: Vec<String>,
    /// The features.
    pub features: Features,
}

/// Computes a device's capabilities from its datastore, the module capabilities of its
/// profile and the topology's overrides. Removing `:candidate` or `:writable-running` is
/// refused: choose the datastore with `datastore:` instead.
pub fn capabilities(
    datastore: DatastoreKind,
    modules: &[String],
    overrides: &CapabilityOverrides,
) -> Result<Capabilities, String> {
    let mut uris: Vec<String> = vec![BASE_1_0.to_owned(), BASE_1_1.to_owned()];
    match datastore {
        DatastoreKind::Candidate => {
            for uri in [CANDIDATE, CONFIRMED_COMMIT_1_0, CONFIRMED_COMMIT_1_1] {
                uris.push(uri.to_owned());
            }
        }
        DatastoreKind::Running => uris.push(WRITABLE_RUNNING.to_owned()),
    }
    for uri in [VALIDATE_1_0, VALIDATE_1_1, ROLLBACK_ON_ERROR] {
        uris.push(uri.to_owned());
    }
    uris.extend(modules.iter().cloned());
    for removed in &overrides.remove {
        if [CANDIDATE, WRITABLE_RUNNING, BASE_1_0].contains(&removed.as_str()) {
            return Err(format!(
                "capability {removed} cannot be removed; set `datastore` instead"
            ));
        }
        uris.retain(|uri| !matches_uri(uri, removed));
    }
    for added in &overrides.add {
        if added.is_empty() || added.len() > 1024 || added.chars().any(char::is_whitespace) {
            return Err(format!("capability {added:?} is not a URI"));
        }
        if !uris.contains(added) {
            uris.push(added.clone());
        }
    }
    let has = |uri: &str| uris.iter().any(|u| u == uri);
    let features = Features {
        candidate: datastore == DatastoreKind::Candidate,
        confirmed_commit: datastore == DatastoreKind::Candidate
            && (has(CONFIRMED_COMMIT_1_0) || has(CONFIRMED_COMMIT_1_1)),
        validate: has(VALIDATE_1_0) || has(VALIDATE_1_1),
        rollback_on_error: has(ROLLBACK_ON_ERROR),
        base_1_1: has(BASE_1_1),
    };
    Ok(Capabilities { uris, features })
}

/// Whether `uri` is `pattern`, or `pattern` names it without its `?…` parameters.
fn matches_uri(uri: &str, pattern: &str) -> bool {
    uri == pattern || uri.split_once('?').is_some_and(|(base, _)| base == pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_and_running_devices() {
        let none = CapabilityOverrides::default();
        let c = capabilities(DatastoreKind::Candidate, &[], &none).unwrap();
        assert!(c.uris.iter().any(|u| u == CANDIDATE));
        assert!(!c.uris.iter().any(|u| u == WRITABLE_RUNNING));
        assert!(c.features.confirmed_commit && c.features.candidate && c.features.base_1_1);
        let r = capabilities(DatastoreKind::Running, &[], &none).unwrap();
        assert!(r.uris.iter().any(|u| u == WRITABLE_RUNNING));
        assert!(!r.uris.iter().any(|u| u == CANDIDATE));
        assert!(!r.features.confirmed_commit && !r.features.candidate);
    }

    #[test]
    fn overrides_add_and_remove() {
        let modules =
            ["urn:ietf:params:xml:ns:yang:ietf-interfaces?module=ietf-interfaces".to_owned()];
        let overrides = CapabilityOverrides {
            add: vec!["urn:example:extra".to_owned()],
            remove: vec![
                CONFIRMED_COMMIT_1_0.to_owned(),
                CONFIRMED_COMMIT_1_1.to_owned(),
                BASE_1_1.to_owned(),
                "urn:ietf:params:xml:ns:yang:ietf-interfaces".to_owned(),
            ],
        };
        let c = capabilities(DatastoreKind::Candidate, &modules, &overrides).unwrap();
        assert!(!c.features.confirmed_commit && !c.features.base_1_1);
        assert!(c.uris.iter().any(|u| u == "urn:example:extra"));
        assert!(!c.uris.iter().any(|u| u.contains("ietf-interfaces")));
        let bad = CapabilityOverrides {
            add: Vec::new(),
            remove: vec![CANDIDATE.to_owned()],
        };
        assert!(capabilities(DatastoreKind::Candidate, &[], &bad).is_err());
    }
}

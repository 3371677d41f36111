//! The capabilities a simulated device advertises, and the features they switch on.

use super::topology::{CapabilityOverrides, DatastoreKind};

use ferrule_netconf::hello::{
    BASE_1_0, BASE_1_1, CANDIDATE, CONFIRMED_COMMIT_1_0, CONFIRMED_COMMIT_1_1, ROLLBACK_ON_ERROR,
    VALIDATE_1_0, VALIDATE_1_1, WRITABLE_RUNNING,
};

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

/// What a device offers before the topology's overrides: its datastore, what its profile says
/// about confirmed commit and rollback-on-error, and its module capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer<'a> {
    /// Where edits go.
    pub datastore: DatastoreKind,
    /// `:confirmed-commit` (candidate devices only).
    pub confirmed_commit: bool,
    /// `:rollback-on-error`.
    pub rollback_on_error: bool,
    /// Module capability URIs.
    pub modules: &'a [String],
}

/// Why the topology's capability overrides cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapabilityError {
    /// `:candidate`, `:writable-running` and base:1.0 cannot be removed.
    #[error("capability {0} cannot be removed; set `datastore` instead")]
    NotRemovable(String),
    /// An added capability is empty, too long or contains whitespace.
    #[error("capability {0:?} is not a URI")]
    NotAUri(String),
}

/// Computes a device's capabilities from what it offers and the topology's overrides.
/// `:validate` is always offered. Removing `:candidate` or `:writable-running` is refused:
/// choose the datastore with `datastore:` instead.
pub fn capabilities(
    offer: &Offer<'_>,
    overrides: &CapabilityOverrides,
) -> Result<Capabilities, CapabilityError> {
    let datastore = offer.datastore;
    let mut uris: Vec<String> = vec![BASE_1_0.to_owned(), BASE_1_1.to_owned()];
    match datastore {
        DatastoreKind::Candidate => {
            uris.push(CANDIDATE.to_owned());
            if offer.confirmed_commit {
                uris.push(CONFIRMED_COMMIT_1_0.to_owned());
                uris.push(CONFIRMED_COMMIT_1_1.to_owned());
            }
        }
        DatastoreKind::Running => uris.push(WRITABLE_RUNNING.to_owned()),
    }
    uris.push(VALIDATE_1_0.to_owned());
    uris.push(VALIDATE_1_1.to_owned());
    if offer.rollback_on_error {
        uris.push(ROLLBACK_ON_ERROR.to_owned());
    }
    uris.extend(offer.modules.iter().cloned());
    for removed in &overrides.remove {
        if [CANDIDATE, WRITABLE_RUNNING, BASE_1_0].contains(&removed.as_str()) {
            return Err(CapabilityError::NotRemovable(removed.clone()));
        }
        uris.retain(|uri| !matches_uri(uri, removed));
    }
    for added in &overrides.add {
        if added.is_empty() || added.len() > 1024 || added.chars().any(char::is_whitespace) {
            return Err(CapabilityError::NotAUri(added.clone()));
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

    fn offer(datastore: DatastoreKind, modules: &[String]) -> Offer<'_> {
        Offer {
            datastore,
            confirmed_commit: true,
            rollback_on_error: true,
            modules,
        }
    }

    #[test]
    fn candidate_and_running_devices() {
        let none = CapabilityOverrides::default();
        let c = capabilities(&offer(DatastoreKind::Candidate, &[]), &none).unwrap();
        assert!(c.uris.iter().any(|u| u == CANDIDATE));
        assert!(!c.uris.iter().any(|u| u == WRITABLE_RUNNING));
        assert!(c.features.confirmed_commit && c.features.candidate && c.features.base_1_1);
        let r = capabilities(&offer(DatastoreKind::Running, &[]), &none).unwrap();
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
        let c = capabilities(&offer(DatastoreKind::Candidate, &modules), &overrides).unwrap();
        assert!(!c.features.confirmed_commit && !c.features.base_1_1);
        assert!(c.uris.iter().any(|u| u == "urn:example:extra"));
        assert!(!c.uris.iter().any(|u| u.contains("ietf-interfaces")));
        let bad = CapabilityOverrides {
            add: Vec::new(),
            remove: vec![CANDIDATE.to_owned()],
        };
        let refused = capabilities(&offer(DatastoreKind::Candidate, &[]), &bad).unwrap_err();
        assert_eq!(refused, CapabilityError::NotRemovable(CANDIDATE.to_owned()));
        assert_eq!(
            refused.to_string(),
            format!("capability {CANDIDATE} cannot be removed; set `datastore` instead")
        );
        for uri in ["", "urn:a b"] {
            let bad = CapabilityOverrides {
                add: vec![uri.to_owned()],
                remove: Vec::new(),
            };
            let refused = capabilities(&offer(DatastoreKind::Candidate, &[]), &bad).unwrap_err();
            assert_eq!(refused, CapabilityError::NotAUri(uri.to_owned()));
            assert_eq!(
                refused.to_string(),
                format!("capability {uri:?} is not a URI")
            );
        }
        let no_confirm = Offer {
            confirmed_commit: false,
            ..offer(DatastoreKind::Candidate, &[])
        };
        let c = capabilities(&no_confirm, &CapabilityOverrides::default()).unwrap();
        assert!(!c.features.confirmed_commit);
        assert!(!c.uris.iter().any(|u| u.contains("confirmed-commit")));
    }
}

//! The capabilities a device announced in its `<hello>`, and what they allow.

/// `urn:ietf:params:netconf:base:1.0`.
pub const BASE_1_0: &str = "urn:ietf:params:netconf:base:1.0";
/// `urn:ietf:params:netconf:base:1.1`.
pub const BASE_1_1: &str = "urn:ietf:params:netconf:base:1.1";
/// The candidate datastore.
pub const CANDIDATE: &str = "urn:ietf:params:netconf:capability:candidate:1.0";
/// Confirmed commit, 1.0 (no persist).
pub const CONFIRMED_COMMIT_1_0: &str = "urn:ietf:params:netconf:capability:confirmed-commit:1.0";
/// Confirmed commit, 1.1 (persist / persist-id).
pub const CONFIRMED_COMMIT_1_1: &str = "urn:ietf:params:netconf:capability:confirmed-commit:1.1";
/// Validate, 1.0.
pub const VALIDATE_1_0: &str = "urn:ietf:params:netconf:capability:validate:1.0";
/// Validate, 1.1.
pub const VALIDATE_1_1: &str = "urn:ietf:params:netconf:capability:validate:1.1";
/// Writable running datastore.
pub const WRITABLE_RUNNING: &str = "urn:ietf:params:netconf:capability:writable-running:1.0";
/// Startup datastore.
pub const STARTUP: &str = "urn:ietf:params:netconf:capability:startup:1.0";
/// Rollback on error.
pub const ROLLBACK_ON_ERROR: &str = "urn:ietf:params:netconf:capability:rollback-on-error:1.0";
/// XPath filters.
pub const XPATH: &str = "urn:ietf:params:netconf:capability:xpath:1.0";

/// The NETCONF base protocol version a session runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BaseVersion {
    /// base:1.0, end-of-message framing.
    V1_0,
    /// base:1.1, chunked framing.
    V1_1,
}

/// Capability URIs as announced, in announcement order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    uris: Vec<String>,
}

impl Capabilities {
    /// Wraps announced URIs.
    pub const fn new(uris: Vec<String>) -> Self {
        Self { uris }
    }

    /// Every announced URI, verbatim.
    pub fn uris(&self) -> &[String] {
        &self.uris
    }

    /// Whether `uri` was announced; parameters after `?` are ignored on both sides.
    pub fn has(&self, uri: &str) -> bool {
        let wanted = strip_params(uri);
        self.uris.iter().any(|u| strip_params(u) == wanted)
    }

    /// The highest base version both sides speak, given what the client offered.
    pub fn negotiate(&self, client_offers_1_1: bool) -> Option<BaseVersion> {
        if client_offers_1_1 && self.has(BASE_1_1) {
            Some(BaseVersion::V1_1)
        } else if self.has(BASE_1_0) {
            Some(BaseVersion::V1_0)
        } else {
            None
        }
    }

    /// `:candidate`.
    pub fn candidate(&self) -> bool {
        self.has(CANDIDATE)
    }

    /// `:confirmed-commit` in any version.
    pub fn confirmed_commit(&self) -> bool {
        self.has(CONFIRMED_COMMIT_1_0) || self.has(CONFIRMED_COMMIT_1_1)
    }

    /// `:confirmed-commit:1.1`, which adds `<persist>` and `<persist-id>`.
    pub fn confirmed_commit_persist(&self) -> bool {
        self.has(CONFIRMED_COMMIT_1_1)
    }

    /// `:validate` in any version.
    pub fn validate(&self) -> bool {
        self.has(VALIDATE_1_0) || self.has(VALIDATE_1_1)
    }

    /// `:writable-running`.
    pub fn writable_running(&self) -> bool {
        self.has(WRITABLE_RUNNING)
    }

    /// YANG modules announced as `...?module=NAME&revision=...` (NAME, revision).
    pub fn modules(&self) -> Vec<(String, Option<String>)> {
        self.uris
            .iter()
            .filter_map(|u| {
                let (_, query) = u.split_once('?')?;
                let mut module = None;
                let mut revision = None;
                // The URIs come XML-unescaped, so parameters are separated by plain '&'.
                for pair in query.split('&') {
                    match pair.split_once('=') {
                        Some(("module", v)) => module = Some(v.to_string()),
                        Some(("revision", v)) => revision = Some(v.to_string()),
                        _ => {}
                    }
                }
                module.map(|m| (m, revision))
            })
            .collect()
    }
}

fn strip_params(uri: &str) -> &str {
    uri.split_once('?').map_or(uri, |(base, _)| base).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(uris: &[&str]) -> Capabilities {
        Capabilities::new(uris.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn negotiation_prefers_1_1_when_both_offer_it() {
        let both = caps(&[BASE_1_0, BASE_1_1]);
        assert_eq!(both.negotiate(true), Some(BaseVersion::V1_1));
        assert_eq!(both.negotiate(false), Some(BaseVersion::V1_0));
        assert_eq!(caps(&[BASE_1_1]).negotiate(false), None);
        assert_eq!(caps(&[CANDIDATE]).negotiate(true), None);
    }

    #[test]
    fn parameters_are_ignored_when_matching() {
        let c = caps(&[
            "urn:ietf:params:netconf:capability:with-defaults:1.0?basic-mode=explicit",
            "urn:ietf:params:xml:ns:yang:ietf-interfaces?module=ietf-interfaces&revision=2014-05-08&features=if-mib",
        ]);
        assert!(c.has("urn:ietf:params:netconf:capability:with-defaults:1.0"));
        assert_eq!(
            c.modules(),
            vec![(
                "ietf-interfaces".to_string(),
                Some("2014-05-08".to_string())
            )]
        );
    }
}

//! Object identity and resource versions.

use std::fmt;

use super::StoreError;

/// Identifies one object: `(resource, namespace, name)`.
///
/// `resource` is the version-independent resource key chosen by the HTTP layer, conventionally
/// `"<group>/<plural>"` (`"bss.ferrule.dev/customers"`, `"/configmaps"` for the core group); two
/// API versions or views of the same data use the same key. `namespace` is `""` for
/// cluster-scoped resources.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// Resource key, e.g. `"bss.ferrule.dev/customers"`.
    pub resource: String,
    /// Namespace, `""` when cluster-scoped.
    pub namespace: String,
    /// Object name.
    pub name: String,
}

impl ObjectKey {
    /// Builds a key.
    pub fn new(
        resource: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            resource: resource.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {:?}", self.resource, self.name)
        } else {
            write!(
                f,
                "{} {:?} in namespace {:?}",
                self.resource, self.name, self.namespace
            )
        }
    }
}

/// The version-independent resource key for a group and plural resource name.
pub fn resource_key(group: &str, plural: &str) -> String {
    format!("{group}/{plural}")
}

/// Parses a `resourceVersion` given by a client: decimal digits only, as this store issues
/// them. `"0"` parses to 0.
pub fn parse_resource_version(text: &str) -> Result<u64, StoreError> {
    let invalid = || StoreError::InvalidResourceVersion {
        value: text.chars().take(64).collect(),
    };
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    text.parse().map_err(|_| invalid())
}

/// Converts a resource version to SQLite's integer type; versions come from SQLite so they
/// always fit.
pub(super) fn to_sql(rv: u64) -> i64 {
    i64::try_from(rv).unwrap_or(i64::MAX)
}

/// Converts an integer read from SQLite to a resource version (never negative in this schema).
pub(super) fn from_sql(rv: i64) -> u64 {
    u64::try_from(rv).unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn resource_versions() {
        assert_eq!(parse_resource_version("0").unwrap(), 0);
        assert_eq!(parse_resource_version("1234").unwrap(), 1234);
        for bad in ["", "-1", "1e3", " 1", "abc", "99999999999999999999999"] {
            assert!(parse_resource_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display() {
        assert_eq!(
            ObjectKey::new("/namespaces", "", "a").to_string(),
            "/namespaces \"a\""
        );
        assert_eq!(
            ObjectKey::new("/configmaps", "ns", "a").to_string(),
            "/configmaps \"a\" in namespace \"ns\""
        );
        assert_eq!(resource_key("", "configmaps"), "/configmaps");
    }
}

//! Prefixed element paths used in device profiles (`/if:interfaces/if:interface`).
//!
//! A path is a `/`-separated list of XML element names. A step may carry a prefix declared
//! in the profile's `namespaces`; the prefix is resolved to the namespace URI when the
//! profile is loaded, so the rest of the controller compares `(namespace, local name)` pairs
//! and never prefixes. No predicates, wildcards or axes: profiles name plain element
//! hierarchies, which is all that keyed-list ownership and state reading need.

use std::collections::BTreeMap;
use std::fmt;

/// One step of a path as written: an optional prefix and a local element name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStep {
    /// Prefix before the colon, if any.
    pub prefix: Option<String>,
    /// Local element name.
    pub local: String,
}

/// An element name resolved against the profile's namespaces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct XmlName {
    /// Namespace URI; `None` means "any namespace" (an unprefixed step in a state path).
    pub namespace: Option<String>,
    /// Local element name.
    pub local: String,
}

impl fmt::Display for XmlName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{{{ns}}}{}", self.local),
            None => f.write_str(&self.local),
        }
    }
}

/// Whether a path must start at the document root (`/a/b`) or below some element (`a/b`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The path starts with `/`.
    Absolute,
    /// The path does not start with `/`.
    Relative,
}

/// Why a path cannot be used. The caller adds the file and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// An absolute path without its leading `/`.
    #[error("`{0}` must start with `/`")]
    NotAbsolute(String),
    /// A relative path with a leading `/`.
    #[error("`{0}` must not start with `/`")]
    NotRelative(String),
    /// Nothing after the anchor.
    #[error("path is empty")]
    Empty,
    /// A step's prefix is not an NCName.
    #[error("`{step}`: `{prefix}` is not a valid prefix")]
    BadPrefix {
        /// The step.
        step: String,
        /// Its prefix.
        prefix: String,
    },
    /// A step's local name is not an NCName.
    #[error("`{0}` is not a valid element name")]
    BadName(String),
    /// A prefix is not declared in `namespaces`.
    #[error("prefix `{prefix}` (in `{prefix}:{local}`) is not declared in `namespaces`")]
    UndeclaredPrefix {
        /// The prefix.
        prefix: String,
        /// The step's local name.
        local: String,
    },
    /// An unprefixed step where every step must be prefixed.
    #[error("`{0}` needs a prefix declared in `namespaces`")]
    NeedsPrefix(String),
}

/// Parses one path.
pub fn parse_path(text: &str, anchor: Anchor) -> Result<Vec<PathStep>, PathError> {
    let body = match (anchor, text.strip_prefix('/')) {
        (Anchor::Absolute, Some(rest)) => rest,
        (Anchor::Absolute, None) => return Err(PathError::NotAbsolute(text.to_owned())),
        (Anchor::Relative, Some(_)) => return Err(PathError::NotRelative(text.to_owned())),
        (Anchor::Relative, None) => text,
    };
    if body.is_empty() {
        return Err(PathError::Empty);
    }
    body.split('/').map(parse_step).collect()
}

/// Parses one `prefix:local` or `local` step.
pub fn parse_step(text: &str) -> Result<PathStep, PathError> {
    let (prefix, local) = match text.split_once(':') {
        Some((prefix, local)) => (Some(prefix), local),
        None => (None, text),
    };
    if let Some(prefix) = prefix
        && !is_ncname(prefix)
    {
        return Err(PathError::BadPrefix {
            step: text.to_owned(),
            prefix: prefix.to_owned(),
        });
    }
    if !is_ncname(local) {
        return Err(PathError::BadName(text.to_owned()));
    }
    Ok(PathStep {
        prefix: prefix.map(str::to_owned),
        local: local.to_owned(),
    })
}

/// Resolves the prefixes of `steps`. With `require_prefix`, every step must be prefixed
/// (keyed lists compare exact namespaces); otherwise an unprefixed step matches any namespace.
pub fn resolve(
    steps: &[PathStep],
    namespaces: &BTreeMap<String, String>,
    require_prefix: bool,
) -> Result<Vec<XmlName>, PathError> {
    steps
        .iter()
        .map(|step| match &step.prefix {
            Some(prefix) => match namespaces.get(prefix) {
                Some(uri) => Ok(XmlName {
                    namespace: Some(uri.clone()),
                    local: step.local.clone(),
                }),
                None => Err(PathError::UndeclaredPrefix {
                    prefix: prefix.clone(),
                    local: step.local.clone(),
                }),
            },
            None if require_prefix => Err(PathError::NeedsPrefix(step.local.clone())),
            None => Ok(XmlName {
                namespace: None,
                local: step.local.clone(),
            }),
        })
        .collect()
}

/// True for an XML NCName restricted to ASCII, which covers every YANG identifier.
pub fn is_ncname(text: &str) -> bool {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns() -> BTreeMap<String, String> {
        BTreeMap::from([(
            "if".to_owned(),
            "urn:ietf:params:xml:ns:yang:ietf-interfaces".to_owned(),
        )])
    }

    #[test]
    fn parses_absolute_prefixed_path() {
        let steps = parse_path("/if:interfaces/if:interface", Anchor::Absolute).unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[1].prefix.as_deref(), Some("if"));
        assert_eq!(steps[1].local, "interface");
        let names = resolve(&steps, &ns(), true).unwrap();
        assert_eq!(
            names[0].namespace.as_deref(),
            Some("urn:ietf:params:xml:ns:yang:ietf-interfaces")
        );
    }

    #[test]
    fn anchors_are_enforced() {
        let refused = |text: &str, anchor| parse_path(text, anchor).unwrap_err().to_string();
        assert_eq!(
            refused("if:interfaces", Anchor::Absolute),
            "`if:interfaces` must start with `/`"
        );
        assert_eq!(
            refused("/if:interfaces", Anchor::Relative),
            "`/if:interfaces` must not start with `/`"
        );
        assert_eq!(parse_path("/", Anchor::Absolute), Err(PathError::Empty));
        assert_eq!(refused("/", Anchor::Absolute), "path is empty");
        assert_eq!(
            refused("a//b", Anchor::Relative),
            "`` is not a valid element name"
        );
    }

    #[test]
    fn rejects_bad_names_and_unknown_prefixes() {
        assert_eq!(
            parse_step("1abc").unwrap_err().to_string(),
            "`1abc` is not a valid element name"
        );
        assert_eq!(
            parse_step("a:b:c").unwrap_err().to_string(),
            "`a:b:c` is not a valid element name"
        );
        assert_eq!(
            parse_step("1a:b").unwrap_err().to_string(),
            "`1a:b`: `1a` is not a valid prefix"
        );
        assert!(parse_step("a[name='x']").is_err());
        let steps = parse_path("x:interfaces", Anchor::Relative).unwrap();
        let err = resolve(&steps, &ns(), false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "prefix `x` (in `x:interfaces`) is not declared in `namespaces`"
        );
    }

    #[test]
    fn unprefixed_steps_match_any_namespace_unless_required() {
        let steps = parse_path("traffic-statistics/input-bytes", Anchor::Relative).unwrap();
        let names = resolve(&steps, &ns(), false).unwrap();
        assert_eq!(names[0].namespace, None);
        assert_eq!(
            resolve(&steps, &ns(), true).unwrap_err().to_string(),
            "`traffic-statistics` needs a prefix declared in `namespaces`"
        );
    }
}

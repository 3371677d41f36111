//! Builders for the RPCs Ferrule sends, with message-id handling. Every value is checked for
//! characters XML cannot carry and escaped; XML payloads (filters, config) are parsed with
//! limits before they are embedded, so a payload can never break out of its element.

use super::tree::DefaultOperation;
use super::xml::{
    self, NETCONF_BASE_NS, XmlError, XmlLimits, check_xml_chars, escape_attr, escape_text,
};

/// A configuration datastore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datastore {
    /// `<running/>`.
    Running,
    /// `<candidate/>` (needs `:candidate`).
    Candidate,
    /// `<startup/>` (needs `:startup`).
    Startup,
}

/// A filter for `<get>` / `<get-config>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// A subtree filter (RFC 6241 section 6): XML selecting what to return.
    Subtree(String),
    /// An XPath filter (needs `:xpath`): the expression and the prefixes it uses.
    XPath {
        /// The `select` expression.
        select: String,
        /// Prefix bindings declared on the filter element.
        namespaces: Vec<(String, String)>,
    },
}

/// `test-option` of `<edit-config>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestOption {
    /// Validate, then apply if valid.
    TestThenSet,
    /// Apply without validation.
    Set,
    /// Validate only.
    TestOnly,
}

/// `error-option` of `<edit-config>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorOption {
    /// Stop at the first error (the default).
    StopOnError,
    /// Go on after errors.
    ContinueOnError,
    /// Undo everything on error (needs `:rollback-on-error`).
    RollbackOnError,
}

/// `<edit-config>` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditConfig {
    /// The datastore to edit.
    pub target: Datastore,
    /// The content of `<config>`: one or more namespaced elements.
    pub config: String,
    /// `default-operation` (server default: merge).
    pub default_operation: Option<DefaultOperation>,
    /// `test-option`.
    pub test_option: Option<TestOption>,
    /// `error-option`.
    pub error_option: Option<ErrorOption>,
}

/// `<commit>` parameters (RFC 6241 section 8.4.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commit {
    /// Start or extend a confirmed commit.
    pub confirmed: bool,
    /// Seconds before an unconfirmed commit rolls back (server default 600); needs `confirmed`.
    pub confirm_timeout: Option<u32>,
    /// Make the confirmed commit survive the session, identified by this token; needs
    /// `confirmed` (`:confirmed-commit:1.1`).
    pub persist: Option<String>,
    /// Confirm (or, with `confirmed`, extend) the persistent confirmed commit with this token.
    pub persist_id: Option<String>,
}

/// An RPC Ferrule sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rpc {
    /// `<get-config>`.
    GetConfig {
        /// The datastore to read.
        source: Datastore,
        /// What to read; everything without a filter.
        filter: Option<Filter>,
    },
    /// `<get>`: configuration and state.
    Get {
        /// What to read; everything without a filter.
        filter: Option<Filter>,
    },
    /// `<edit-config>`.
    EditConfig(EditConfig),
    /// `<lock>`.
    Lock {
        /// The datastore to lock.
        target: Datastore,
    },
    /// `<unlock>`.
    Unlock {
        /// The datastore to unlock.
        target: Datastore,
    },
    /// `<commit>`.
    Commit(Commit),
    /// `<cancel-commit>`, for a persistent confirmed commit with its persist-id.
    CancelCommit {
        /// The `persist` token of the confirmed commit, if it was persistent.
        persist_id: Option<String>,
    },
    /// `<discard-changes>`: reset candidate to running.
    DiscardChanges,
    /// `<validate>` of a datastore.
    Validate {
        /// The datastore to validate.
        source: Datastore,
    },
    /// `<close-session>`.
    CloseSession,
    /// `<kill-session>`.
    KillSession {
        /// The session to end (not the current one).
        session_id: u32,
    },
}

/// Why an RPC could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcBuildError {
    /// A value holds a character XML cannot carry (a control character).
    #[error("{field} contains a character XML cannot carry ({character:?})")]
    InvalidChar {
        /// Which value.
        field: &'static str,
        /// The offending character.
        character: char,
    },
    /// An XML payload (config or filter) is not acceptable XML.
    #[error("{field} is not acceptable XML: {source}")]
    InvalidXml {
        /// Which payload.
        field: &'static str,
        /// The parse error.
        source: XmlError,
    },
    /// A config payload has no element, or an element outside any namespace (it would land in
    /// the NETCONF namespace); the template must declare its model's `xmlns`.
    #[error("config payload element <{element}> has no namespace; declare the model's xmlns")]
    ConfigWithoutNamespace {
        /// Local name of the element ("" when the payload is empty).
        element: String,
    },
    /// Parameters that RFC 6241 does not allow together.
    #[error("invalid RPC parameters: {0}")]
    InvalidParameters(&'static str),
}

/// Hands out message-ids: decimal counters from 1, unique within a session.
#[derive(Debug, Clone, Default)]
pub struct MessageIds {
    last: u64,
}

// === impl MessageIds ===

impl MessageIds {
    /// A counter whose first id is "1".
    pub fn new() -> Self {
        Self::default()
    }

    /// The next message-id.
    pub fn next_id(&mut self) -> String {
        self.last = self.last.wrapping_add(1).max(1);
        self.last.to_string()
    }
}

// === impl Datastore / options ===

impl Datastore {
    /// The element name (`running`, `candidate`, `startup`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Candidate => "candidate",
            Self::Startup => "startup",
        }
    }
}

impl TestOption {
    /// The RFC spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TestThenSet => "test-then-set",
            Self::Set => "set",
            Self::TestOnly => "test-only",
        }
    }
}

impl ErrorOption {
    /// The RFC spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StopOnError => "stop-on-error",
            Self::ContinueOnError => "continue-on-error",
            Self::RollbackOnError => "rollback-on-error",
        }
    }
}

impl Commit {
    /// A plain commit (also confirms a pending non-persistent confirmed commit).
    pub fn plain() -> Self {
        Self::default()
    }

    /// A confirmed commit rolling back after `timeout_secs` unless confirmed; with `persist`
    /// it survives the session and is confirmed or cancelled by that token.
    pub fn confirmed(timeout_secs: u32, persist: Option<String>) -> Self {
        Self {
            confirmed: true,
            confirm_timeout: Some(timeout_secs),
            persist,
            persist_id: None,
        }
    }

    /// The commit confirming the persistent confirmed commit `persist_id`.
    pub fn confirm(persist_id: impl Into<String>) -> Self {
        Self {
            persist_id: Some(persist_id.into()),
            ..Self::default()
        }
    }
}

// === impl Rpc ===

impl Rpc {
    /// The operation's element name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::GetConfig { .. } => "get-config",
            Self::Get { .. } => "get",
            Self::EditConfig(_) => "edit-config",
            Self::Lock { .. } => "lock",
            Self::Unlock { .. } => "unlock",
            Self::Commit(_) => "commit",
            Self::CancelCommit { .. } => "cancel-commit",
            Self::DiscardChanges => "discard-changes",
            Self::Validate { .. } => "validate",
            Self::CloseSession => "close-session",
            Self::KillSession { .. } => "kill-session",
        }
    }

    /// The complete `<rpc>` message with `message_id`.
    pub fn to_xml(&self, message_id: &str) -> Result<String, RpcBuildError> {
        check_value("message-id", message_id)?;
        let mut body = String::new();
        self.write_operation(&mut body)?;
        Ok(format!(
            "<rpc xmlns=\"{NETCONF_BASE_NS}\" message-id=\"{}\">{body}</rpc>",
            escape_attr(message_id)
        ))
    }

    fn write_operation(&self, out: &mut String) -> Result<(), RpcBuildError> {
        let name = self.name();
        match self {
            Self::GetConfig { source, filter } => {
                out.push_str(&format!("<{name}>"));
                datastore(out, "source", *source);
                if let Some(filter) = filter {
                    write_filter(out, filter)?;
                }
                out.push_str(&format!("</{name}>"));
            }
            Self::Get { filter } => match filter {
                Some(filter) => {
                    out.push_str("<get>");
                    write_filter(out, filter)?;
                    out.push_str("</get>");
                }
                None => out.push_str("<get/>"),
            },
            Self::EditConfig(edit) => write_edit_config(out, edit)?,
            Self::Lock { target } | Self::Unlock { target } => {
                out.push_str(&format!("<{name}>"));
                datastore(out, "target", *target);
                out.push_str(&format!("</{name}>"));
            }
            Self::Commit(commit) => write_commit(out, commit)?,
            Self::CancelCommit { persist_id: None } => out.push_str("<cancel-commit/>"),
            Self::CancelCommit {
                persist_id: Some(id),
            } => {
                out.push_str("<cancel-commit>");
                leaf(out, "persist-id", id)?;
                out.push_str("</cancel-commit>");
            }
            Self::Validate { source } => {
                out.push_str("<validate>");
                datastore(out, "source", *source);
                out.push_str("</validate>");
            }
            Self::DiscardChanges | Self::CloseSession => out.push_str(&format!("<{name}/>")),
            Self::KillSession { session_id } => {
                if *session_id == 0 {
                    return Err(RpcBuildError::InvalidParameters(
                        "session-id must be at least 1",
                    ));
                }
                out.push_str(&format!(
                    "<kill-session><session-id>{session_id}</session-id></kill-session>"
                ));
            }
        }
        Ok(())
    }
}

/// Checks a value for characters XML cannot carry.
pub(crate) fn check_value(field: &'static str, value: &str) -> Result<(), RpcBuildError> {
    check_xml_chars(value).map_err(|character| RpcBuildError::InvalidChar { field, character })
}

fn leaf(out: &mut String, name: &'static str, value: &str) -> Result<(), RpcBuildError> {
    check_value(name, value)?;
    out.push_str(&format!("<{name}>{}</{name}>", escape_text(value)));
    Ok(())
}

fn datastore(out: &mut String, role: &str, store: Datastore) {
    out.push_str(&format!("<{role}><{}/></{role}>", store.as_str()));
}

fn limits() -> XmlLimits {
    XmlLimits::default()
}

fn write_filter(out: &mut String, filter: &Filter) -> Result<(), RpcBuildError> {
    match filter {
        Filter::Subtree(content) => {
            xml::parse_fragment(content, &limits()).map_err(|source| {
                RpcBuildError::InvalidXml {
                    field: "subtree filter",
                    source,
                }
            })?;
            out.push_str(&format!("<filter type=\"subtree\">{content}</filter>"));
        }
        Filter::XPath { select, namespaces } => {
            check_value("xpath select", select)?;
            out.push_str("<filter type=\"xpath\"");
            for (prefix, ns) in namespaces {
                check_value("xpath namespace prefix", prefix)?;
                check_value("xpath namespace", ns)?;
                if prefix.is_empty()
                    || !prefix
                        .chars()
                        .all(|c| c.is_alphanumeric() || "_-.".contains(c))
                {
                    return Err(RpcBuildError::InvalidParameters(
                        "xpath namespace prefixes must be non-empty XML names",
                    ));
                }
                out.push_str(&format!(" xmlns:{prefix}=\"{}\"", escape_attr(ns)));
            }
            out.push_str(&format!(" select=\"{}\"/>", escape_attr(select)));
        }
    }
    Ok(())
}

fn write_edit_config(out: &mut String, edit: &EditConfig) -> Result<(), RpcBuildError> {
    let elements = xml::parse_fragment(&edit.config, &limits()).map_err(|source| {
        RpcBuildError::InvalidXml {
            field: "config",
            source,
        }
    })?;
    match elements.iter().find(|e| e.ns.is_empty()) {
        Some(bare) => {
            return Err(RpcBuildError::ConfigWithoutNamespace {
                element: bare.name.clone(),
            });
        }
        None if elements.is_empty() => {
            return Err(RpcBuildError::ConfigWithoutNamespace {
                element: String::new(),
            });
        }
        None => {}
    }
    out.push_str("<edit-config>");
    datastore(out, "target", edit.target);
    if let Some(op) = edit.default_operation {
        out.push_str(&format!(
            "<default-operation>{}</default-operation>",
            op.as_str()
        ));
    }
    if let Some(test) = edit.test_option {
        out.push_str(&format!("<test-option>{}</test-option>", test.as_str()));
    }
    if let Some(error) = edit.error_option {
        out.push_str(&format!("<error-option>{}</error-option>", error.as_str()));
    }
    out.push_str(&format!("<config>{}</config></edit-config>", edit.config));
    Ok(())
}

fn write_commit(out: &mut String, commit: &Commit) -> Result<(), RpcBuildError> {
    if !commit.confirmed && (commit.confirm_timeout.is_some() || commit.persist.is_some()) {
        return Err(RpcBuildError::InvalidParameters(
            "confirm-timeout and persist need a confirmed commit",
        ));
    }
    if commit.confirm_timeout == Some(0) {
        return Err(RpcBuildError::InvalidParameters(
            "confirm-timeout must be at least 1 second",
        ));
    }
    if *commit == Commit::plain() {
        out.push_str("<commit/>");
        return Ok(());
    }
    out.push_str("<commit>");
    if commit.confirmed {
        out.push_str("<confirmed/>");
    }
    if let Some(timeout) = commit.confirm_timeout {
        out.push_str(&format!("<confirm-timeout>{timeout}</confirm-timeout>"));
    }
    if let Some(persist) = &commit.persist {
        leaf(out, "persist", persist)?;
    }
    if let Some(id) = &commit.persist_id {
        leaf(out, "persist-id", id)?;
    }
    out.push_str("</commit>");
    Ok(())
}

#[cfg(test)]
mod tests;

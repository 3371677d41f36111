//! Reading an `<rpc>` a client sent into an [`Operation`] (pure; every problem becomes an
//! [`RpcFailure`] for the reply, never a panic).

use std::time::Duration;

use ferrule_netconf::tree::DefaultOperation;
use ferrule_netconf::xml::{Attribute, Element, NETCONF_BASE_NS, XmlLimits, parse_document};

use super::commit::CommitRequest;
use super::locks::{Datastore, SessionId};
use super::rpc_error::RpcFailure;
use ferrule_netconf::rpc_error::ErrorType;

/// A parsed `<rpc>`: the attributes to echo on the reply and what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rpc {
    /// Attributes of `<rpc>` (message-id and any other), echoed on `<rpc-reply>`.
    pub attributes: Vec<Attribute>,
    /// The operation, or why it cannot be run.
    pub operation: Result<Operation, RpcFailure>,
}

/// One NETCONF operation with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// `<get>`: running config and state, optionally filtered.
    Get {
        /// The subtree filter's children.
        filter: Option<Vec<Element>>,
    },
    /// `<get-config>`.
    GetConfig {
        /// The datastore read.
        source: Datastore,
        /// The subtree filter's children.
        filter: Option<Vec<Element>>,
    },
    /// `<edit-config>`.
    EditConfig(EditRequest),
    /// `<copy-config>`.
    CopyConfig {
        /// Where to copy to.
        target: Datastore,
        /// What to copy.
        source: Source,
    },
    /// `<delete-config>`.
    DeleteConfig,
    /// `<lock>`.
    Lock(Datastore),
    /// `<unlock>`.
    Unlock(Datastore),
    /// `<commit>`.
    Commit(CommitRequest),
    /// `<cancel-commit>`.
    CancelCommit {
        /// `<persist-id>`.
        persist_id: Option<String>,
    },
    /// `<discard-changes>`.
    DiscardChanges,
    /// `<validate>`.
    Validate {
        /// What to validate.
        source: Source,
    },
    /// `<close-session>`.
    CloseSession,
    /// `<kill-session>`.
    KillSession(SessionId),
    /// The vendor RPC the device profile reads interface state with.
    StateRpc,
}

/// The parameters of `<edit-config>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditRequest {
    /// The datastore edited.
    pub target: Datastore,
    /// `default-operation` (merge when absent).
    pub default_operation: DefaultOperation,
    /// `test-option` `test-only` was given.
    pub test_only: bool,
    /// `error-option` `rollback-on-error` was given.
    pub rollback_on_error: bool,
    /// The children of `<config>`.
    pub config: Vec<Element>,
}

/// A configuration source: a datastore or an inline `<config>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A datastore.
    Store(Datastore),
    /// The children of an inline `<config>`.
    Inline(Vec<Element>),
}

/// Parses one message. `Err` means the message is not an `<rpc>` at all (malformed XML or
/// another root): the reply then carries no message-id.
pub fn parse(bytes: &[u8], limits: &XmlLimits, state_rpc: Option<&str>) -> Result<Rpc, RpcFailure> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| RpcFailure::malformed("message is not UTF-8"))?;
    let root = parse_document(text, limits).map_err(|e| RpcFailure::malformed(e.to_string()))?;
    if !root.is(NETCONF_BASE_NS, "rpc") {
        return Err(RpcFailure::malformed(format!(
            "expected <rpc> in {NETCONF_BASE_NS}, got <{}>",
            root.name
        )));
    }
    let attributes = root.attributes.clone();
    if root.attribute("", "message-id").is_none() {
        let failure = RpcFailure::new(
            ErrorType::Rpc,
            "missing-attribute",
            "<rpc> has no message-id",
        )
        .with_info("bad-attribute", "message-id")
        .with_info("bad-element", "rpc");
        return Ok(Rpc {
            attributes,
            operation: Err(failure),
        });
    }
    let operation = match root.children.as_slice() {
        [op] => operation(op, state_rpc),
        [] => Err(RpcFailure::missing_element("operation")),
        _ => Err(RpcFailure::new(
            ErrorType::Rpc,
            "malformed-message",
            "<rpc> must hold exactly one operation",
        )),
    };
    Ok(Rpc {
        attributes,
        operation,
    })
}

fn operation(op: &Element, state_rpc: Option<&str>) -> Result<Operation, RpcFailure> {
    if &*op.ns != NETCONF_BASE_NS {
        if state_rpc.is_some_and(|name| name == op.name) {
            return Ok(Operation::StateRpc);
        }
        return Err(RpcFailure::not_supported(format!(
            "unknown RPC <{}> in namespace {:?}",
            op.name, &*op.ns
        ))
        .with_info("bad-element", &op.name));
    }
    match op.name.as_str() {
        "get" => Ok(Operation::Get {
            filter: filter(op)?,
        }),
        "get-config" => Ok(Operation::GetConfig {
            source: datastore(op, "source")?,
            filter: filter(op)?,
        }),
        "edit-config" => edit_config(op).map(Operation::EditConfig),
        "copy-config" => Ok(Operation::CopyConfig {
            target: datastore(op, "target")?,
            source: source(op)?,
        }),
        "delete-config" => {
            datastore(op, "target")?;
            Err(RpcFailure::invalid_value(
                "only <startup/> can be deleted and this device has none",
            ))
        }
        "lock" => Ok(Operation::Lock(datastore(op, "target")?)),
        "unlock" => Ok(Operation::Unlock(datastore(op, "target")?)),
        "commit" => commit(op).map(Operation::Commit),
        "cancel-commit" => Ok(Operation::CancelCommit {
            persist_id: text(op, "persist-id").map(str::to_owned),
        }),
        "discard-changes" => Ok(Operation::DiscardChanges),
        "validate" => Ok(Operation::Validate {
            source: source(op)?,
        }),
        "close-session" => Ok(Operation::CloseSession),
        "kill-session" => {
            let id =
                text(op, "session-id").ok_or_else(|| RpcFailure::missing_element("session-id"))?;
            id.parse::<SessionId>()
                .ok()
                .filter(|id| *id > 0)
                .map(Operation::KillSession)
                .ok_or_else(|| {
                    RpcFailure::invalid_value(format!("session-id {id:?} is not a session id"))
                        .with_info("bad-element", "session-id")
                })
        }
        other if state_rpc == Some(other) => Ok(Operation::StateRpc),
        other => Err(
            RpcFailure::not_supported(format!("<{other}> is not supported"))
                .with_info("bad-element", other),
        ),
    }
}

fn text<'a>(op: &'a Element, name: &str) -> Option<&'a str> {
    op.child_text(NETCONF_BASE_NS, name)
}

/// Reads `<target>`/`<source>` naming one datastore.
fn datastore(op: &Element, wrapper: &str) -> Result<Datastore, RpcFailure> {
    let holder = op
        .child(NETCONF_BASE_NS, wrapper)
        .ok_or_else(|| RpcFailure::missing_element(wrapper))?;
    match holder.children.as_slice() {
        [store] if store.is(NETCONF_BASE_NS, "running") => Ok(Datastore::Running),
        [store] if store.is(NETCONF_BASE_NS, "candidate") => Ok(Datastore::Candidate),
        [store] if store.is(NETCONF_BASE_NS, "startup") => Err(RpcFailure::invalid_value(
            "this device has no startup datastore",
        )
        .with_info("bad-element", "startup")),
        [store] if store.is(NETCONF_BASE_NS, "url") => {
            Err(RpcFailure::not_supported(":url is not supported"))
        }
        [store] if store.is(NETCONF_BASE_NS, "config") => Err(RpcFailure::invalid_value(format!(
            "<{wrapper}> must name a datastore here"
        ))
        .with_info("bad-element", "config")),
        _ => Err(RpcFailure::new(
            ErrorType::Protocol,
            "bad-element",
            format!("<{wrapper}> must hold one datastore"),
        )
        .with_info("bad-element", wrapper)),
    }
}

/// Reads a `<source>` that is a datastore or an inline `<config>`.
fn source(op: &Element) -> Result<Source, RpcFailure> {
    let holder = op
        .child(NETCONF_BASE_NS, "source")
        .ok_or_else(|| RpcFailure::missing_element("source"))?;
    if let Some(config) = config_child(holder) {
        return Ok(Source::Inline(config.children.clone()));
    }
    datastore(op, "source").map(Source::Store)
}

/// `<config>` in the NETCONF namespace or, as ncclient sends an unqualified one, in none.
fn config_child(parent: &Element) -> Option<&Element> {
    parent
        .child(NETCONF_BASE_NS, "config")
        .or_else(|| parent.child("", "config"))
}

fn filter(op: &Element) -> Result<Option<Vec<Element>>, RpcFailure> {
    let Some(filter) = op.child(NETCONF_BASE_NS, "filter") else {
        return Ok(None);
    };
    let kind = filter
        .attribute("", "type")
        .or_else(|| filter.attribute(NETCONF_BASE_NS, "type"))
        .unwrap_or("subtree");
    match kind {
        "subtree" => Ok(Some(filter.children.clone())),
        "xpath" => Err(
            RpcFailure::not_supported(":xpath filters are not supported")
                .with_info("bad-attribute", "type"),
        ),
        other => Err(RpcFailure::new(
            ErrorType::Protocol,
            "bad-attribute",
            format!("unknown filter type {other:?}"),
        )
        .with_info("bad-attribute", "type")
        .with_info("bad-element", "filter")),
    }
}

fn edit_config(op: &Element) -> Result<EditRequest, RpcFailure> {
    let target = datastore(op, "target")?;
    let default_operation = match text(op, "default-operation") {
        None => DefaultOperation::Merge,
        Some(value) => {
            DefaultOperation::parse(value).ok_or_else(|| bad_value("default-operation", value))?
        }
    };
    let test_only = match text(op, "test-option") {
        None | Some("test-then-set" | "set") => false,
        Some("test-only") => true,
        Some(value) => return Err(bad_value("test-option", value)),
    };
    let rollback_on_error = match text(op, "error-option") {
        None | Some("stop-on-error" | "continue-on-error") => false,
        Some("rollback-on-error") => true,
        Some(value) => return Err(bad_value("error-option", value)),
    };
    let config = match config_child(op) {
        Some(config) => config.children.clone(),
        None if op.child(NETCONF_BASE_NS, "url").is_some() => {
            return Err(RpcFailure::not_supported(":url is not supported"));
        }
        None => return Err(RpcFailure::missing_element("config")),
    };
    Ok(EditRequest {
        target,
        default_operation,
        test_only,
        rollback_on_error,
        config,
    })
}

fn commit(op: &Element) -> Result<CommitRequest, RpcFailure> {
    let confirmed = op.child(NETCONF_BASE_NS, "confirmed").is_some();
    let timeout = match text(op, "confirm-timeout") {
        None => None,
        Some(value) => Some(
            value
                .parse::<u32>()
                .ok()
                .filter(|secs| *secs > 0)
                .map(|secs| Duration::from_secs(u64::from(secs)))
                .ok_or_else(|| bad_value("confirm-timeout", value))?,
        ),
    };
    Ok(CommitRequest {
        confirmed,
        timeout,
        persist: text(op, "persist").map(str::to_owned),
        persist_id: text(op, "persist-id").map(str::to_owned),
    })
}

fn bad_value(element: &str, value: &str) -> RpcFailure {
    RpcFailure::invalid_value(format!("{value:?} is not a valid {element}"))
        .with_info("bad-element", element)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(body: &str) -> Result<Operation, RpcFailure> {
        let xml = format!(
            "<rpc message-id=\"1\" xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\">{body}</rpc>"
        );
        parse(
            xml.as_bytes(),
            &XmlLimits::default(),
            Some("get-interface-information"),
        )
        .unwrap()
        .operation
    }

    #[test]
    fn reads_the_operations() {
        assert_eq!(op("<get/>").unwrap(), Operation::Get { filter: None });
        assert_eq!(
            op("<lock><target><candidate/></target></lock>").unwrap(),
            Operation::Lock(Datastore::Candidate)
        );
        let Operation::GetConfig { source, filter } = op(
            "<get-config><source><running/></source><filter type=\"subtree\"><a xmlns=\"urn:a\"/></filter></get-config>",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(source, Datastore::Running);
        assert_eq!(filter.unwrap()[0].name, "a");
        let Operation::Commit(c) = op(
            "<commit><confirmed/><confirm-timeout>2</confirm-timeout><persist>p</persist></commit>",
        )
        .unwrap() else {
            panic!()
        };
        assert!(c.confirmed);
        assert_eq!(c.timeout, Some(Duration::from_secs(2)));
        assert_eq!(c.persist.as_deref(), Some("p"));
        assert_eq!(
            op("<kill-session><session-id>4</session-id></kill-session>").unwrap(),
            Operation::KillSession(4)
        );
        assert_eq!(
            op("<get-interface-information xmlns=\"\"><detail/></get-interface-information>")
                .unwrap(),
            Operation::StateRpc
        );
        assert_eq!(
            op("<get-interface-information/>").unwrap(),
            Operation::StateRpc
        );
    }

    #[test]
    fn edit_config_options() {
        let Operation::EditConfig(e) = op(
            "<edit-config><target><running/></target><default-operation>none</default-operation>\
             <test-option>test-only</test-option><error-option>rollback-on-error</error-option>\
             <config><x xmlns=\"urn:x\"/></config></edit-config>",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(e.default_operation, DefaultOperation::None);
        assert!(e.test_only && e.rollback_on_error);
        assert_eq!(e.config.len(), 1);
        let Operation::EditConfig(e) = op(
            "<edit-config><target><candidate/></target><config xmlns=\"\"><x xmlns=\"urn:x\"/></config></edit-config>",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            e.config.len(),
            1,
            "ncclient's unqualified <config> is accepted"
        );
        let err = op("<edit-config><target><running/></target><default-operation>x</default-operation><config/></edit-config>").unwrap_err();
        assert_eq!(err.tag(), "invalid-value");
        let err = op("<edit-config><target><running/></target></edit-config>").unwrap_err();
        assert_eq!(err.tag(), "missing-element");
    }

    #[test]
    fn errors_for_unknown_and_bad_input() {
        assert_eq!(
            op("<frobnicate/>").unwrap_err().tag(),
            "operation-not-supported"
        );
        assert_eq!(
            op("<x xmlns=\"urn:other\"/>").unwrap_err().tag(),
            "operation-not-supported"
        );
        assert_eq!(
            op("<lock><target><startup/></target></lock>")
                .unwrap_err()
                .tag(),
            "invalid-value"
        );
        assert_eq!(op("<lock/>").unwrap_err().tag(), "missing-element");
        assert_eq!(
            op("<commit><confirmed/><confirm-timeout>0</confirm-timeout></commit>")
                .unwrap_err()
                .tag(),
            "invalid-value"
        );
        assert_eq!(
            op("<kill-session><session-id>x</session-id></kill-session>")
                .unwrap_err()
                .tag(),
            "invalid-value"
        );
        assert_eq!(op("").unwrap_err().tag(), "missing-element");
        let no_id = parse(
            b"<rpc xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><get/></rpc>",
            &XmlLimits::default(),
            None,
        )
        .unwrap();
        assert_eq!(no_id.operation.unwrap_err().tag(), "missing-attribute");
        for garbage in [
            &b"<rpc"[..],
            b"\xff",
            b"<hello xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"/>",
            b"",
        ] {
            assert!(parse(garbage, &XmlLimits::default(), None).is_err());
        }
    }
}

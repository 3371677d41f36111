//! Errors of the NETCONF client: what went wrong, with enough detail for an operator to act,
//! and whether trying again later can help.

use std::time::Duration;

use super::credentials::CredentialsError;
use crate::framing::FramingError;
use crate::message::MessageError;
use crate::rpc::RpcBuildError;
use crate::rpc_error::{ErrorTag, RpcError, RpcErrors};

/// Everything that can fail in a NETCONF session.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The session settings are unusable (bad address, bad fingerprint format...); fix the
    /// Device or its Secret.
    #[error("invalid session settings: {0}")]
    InvalidConfig(String),
    /// The credentials Secret is incomplete or its key cannot be read.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The TCP connection could not be opened; check the address and that the device listens.
    #[error("cannot connect to {address}: {source}")]
    Connect {
        /// `host:port` of the device.
        address: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// SSH handshake, authentication and NETCONF hello did not finish within the connect
    /// timeout.
    #[error("connecting to {address} took longer than {after:?}")]
    ConnectTimeout {
        /// `host:port` of the device.
        address: String,
        /// The connect timeout.
        after: Duration,
    },
    /// The device presented a host key other than the pinned one. Either the device was
    /// replaced or re-keyed (update `spec.hostKey` after checking out of band) or someone is
    /// intercepting the connection.
    #[error(
        "host key of {address} does not match the pinned key: the device presents {presented}, \
         {pinned} is pinned; if the device was re-keyed on purpose, pin the new fingerprint"
    )]
    HostKeyMismatch {
        /// `host:port` of the device.
        address: String,
        /// The pinned `SHA256:` fingerprint.
        pinned: String,
        /// The `SHA256:` fingerprint the device presented.
        presented: String,
    },
    /// No host key is pinned and the insecure opt-out is not set, so every key is refused.
    #[error(
        "host key of {address} is not pinned: the device presents {presented}; verify it out of \
         band and set it as the device's host key (or explicitly opt out of verification)"
    )]
    HostKeyNotPinned {
        /// `host:port` of the device.
        address: String,
        /// The `SHA256:` fingerprint the device presented.
        presented: String,
    },
    /// The device refused every authentication method we offered; check the Secret.
    #[error("authentication as {user} to {address} was refused (tried {tried})")]
    AuthRejected {
        /// `host:port` of the device.
        address: String,
        /// The login name.
        user: String,
        /// The methods attempted, e.g. `publickey, password`.
        tried: String,
    },
    /// An SSH protocol or transport failure (connection reset, key exchange failure...).
    #[error("SSH failure with {address}: {source}")]
    Ssh {
        /// `host:port` of the device.
        address: String,
        /// The SSH library error.
        source: russh::Error,
    },
    /// The SSH server does not offer the `netconf` subsystem.
    #[error("{address} refused the netconf SSH subsystem; is NETCONF enabled on the device?")]
    SubsystemRefused {
        /// `host:port` of the device.
        address: String,
    },
    /// The device's `<hello>` was missing, malformed or offered no common base version.
    #[error("NETCONF hello from {address} unusable: {reason}")]
    Hello {
        /// `host:port` of the device.
        address: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The device's `<hello>` could not be parsed.
    #[error("NETCONF hello from {address} unusable: {source}")]
    BadHello {
        /// `host:port` of the device.
        address: String,
        /// The parse error.
        source: MessageError,
    },
    /// The byte stream broke the framing rules or a message exceeded the size limit; the
    /// session has been dropped.
    #[error("NETCONF framing error from {address}: {source}")]
    Framing {
        /// `host:port` of the device.
        address: String,
        /// The framing error.
        source: FramingError,
    },
    /// A message from the device was not acceptable XML or not a NETCONF message; the session
    /// has been dropped.
    #[error("malformed message from {address}: {source}")]
    MalformedMessage {
        /// `host:port` of the device.
        address: String,
        /// The parse error.
        source: MessageError,
    },
    /// A reply did not fit the request (wrong message-id, `<data>` missing); the session has
    /// been dropped.
    #[error("unexpected reply from {address}: {reason}")]
    UnexpectedReply {
        /// `host:port` of the device.
        address: String,
        /// What was wrong with it.
        reason: String,
    },
    /// No reply within the per-RPC timeout; the session has been dropped because a late reply
    /// would be taken for the answer to the next request.
    #[error("{operation} on {address} got no reply within {after:?}")]
    RpcTimeout {
        /// `host:port` of the device.
        address: String,
        /// The NETCONF operation.
        operation: String,
        /// The per-RPC timeout.
        after: Duration,
    },
    /// The device closed the session (or the SSH connection died, e.g. keepalive timeout).
    #[error("session with {address} closed: {reason}")]
    Closed {
        /// `host:port` of the device.
        address: String,
        /// How it was noticed.
        reason: String,
    },
    /// The device lacks a capability the operation needs.
    #[error("{address} does not support {capability}, needed for {operation}")]
    MissingCapability {
        /// `host:port` of the device.
        address: String,
        /// The capability URI.
        capability: String,
        /// The operation that needs it.
        operation: String,
    },
    /// The request could not be built: a payload (rendered configuration, filter) is not
    /// acceptable XML or a value cannot be carried; fix the template or the intent. Nothing
    /// was sent.
    #[error("cannot build the {operation} request: {source}")]
    Build {
        /// The NETCONF operation.
        operation: &'static str,
        /// What is wrong with it.
        source: RpcBuildError,
    },
    /// The device answered with `<rpc-error>`; the fields are kept verbatim.
    #[error("{address} rejected {operation}: {errors}")]
    Rpc {
        /// `host:port` of the device.
        address: String,
        /// The NETCONF operation, e.g. `edit-config`.
        operation: &'static str,
        /// The errors as reported (warnings left out).
        errors: RpcErrors,
    },
}

impl ClientError {
    /// Whether the same request may succeed later without anyone changing the Device, its
    /// Secret or the intent (network trouble, timeouts, a lock held by someone else).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect { .. }
            | Self::ConnectTimeout { .. }
            | Self::Ssh { .. }
            | Self::Closed { .. }
            | Self::RpcTimeout { .. }
            | Self::Framing { .. }
            | Self::MalformedMessage { .. }
            | Self::UnexpectedReply { .. } => true,
            Self::Rpc { errors, .. } => errors.iter().any(|e| {
                matches!(
                    e.error_tag,
                    ErrorTag::LockDenied
                        | ErrorTag::InUse
                        | ErrorTag::ResourceDenied
                        | ErrorTag::TooBig
                )
            }),
            Self::InvalidConfig(_)
            | Self::Credentials(_)
            | Self::HostKeyMismatch { .. }
            | Self::HostKeyNotPinned { .. }
            | Self::AuthRejected { .. }
            | Self::SubsystemRefused { .. }
            | Self::Hello { .. }
            | Self::BadHello { .. }
            | Self::MissingCapability { .. }
            | Self::Build { .. } => false,
        }
    }

    /// The device's rpc-errors, if this is a device rejection.
    pub fn rpc_errors(&self) -> Option<&RpcErrors> {
        match self {
            Self::Rpc { errors, .. } => Some(errors),
            _ => None,
        }
    }

    /// Whether the session that produced this error can no longer be used.
    pub fn breaks_session(&self) -> bool {
        !matches!(
            self,
            Self::Rpc { .. } | Self::MissingCapability { .. } | Self::Build { .. }
        )
    }
}

/// Whether `error`, the answer to a confirming commit or cancel-commit by persist id, says
/// no confirmed commit is pending under that id. RFC 6241 (§8.4.5.1) prescribes
/// `invalid-value`; netconfd answers `operation-failed` with error-path
/// `/nc:rpc/nc:commit/nc:persist-id` ("persistent confirmed commit not active"). So: every
/// error is `invalid-value` or points at the `persist-id` element (by error-path or
/// bad-element).
pub fn no_pending_commit(error: &ClientError) -> bool {
    let Some(errors) = error.rpc_errors() else {
        return false;
    };
    let errors: Vec<_> = errors.iter().filter(|e| !e.is_warning()).collect();
    let about_persist_id = |e: &&RpcError| {
        let names = |text: &str| text.rsplit(['/', ':']).next() == Some("persist-id");
        e.error_tag == ErrorTag::InvalidValue
            || e.error_path.as_deref().is_some_and(names)
            || e.error_info
                .as_ref()
                .and_then(|i| i.bad_element.as_deref())
                .is_some_and(names)
    };
    !errors.is_empty() && errors.iter().all(about_persist_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::RpcReply;
    use crate::xml::XmlLimits;

    fn netconfd(fixture: &[u8]) -> RpcErrors {
        match RpcReply::parse(fixture, &XmlLimits::default())
            .unwrap()
            .into_result()
        {
            Err(errors) => errors,
            Ok(reply) => panic!("not an error: {reply:?}"),
        }
    }

    fn rejected(errors: RpcErrors) -> ClientError {
        ClientError::Rpc {
            address: "127.0.0.1:830".into(),
            operation: "edit-config",
            errors,
        }
    }

    #[test]
    fn display_keeps_the_device_fields() {
        let text = rejected(netconfd(include_bytes!(
            "../testdata/netconfd-invalid-value.xml"
        )))
        .to_string();
        for part in [
            "127.0.0.1:830",
            "edit-config",
            "protocol",
            "invalid-value",
            "if:interface[if:name='ge-0/0/2']/if:enabled",
            "invalid value",
            "data-invalid",
        ] {
            assert!(text.contains(part), "{part} missing from {text}");
        }
    }

    #[test]
    fn lock_denied_is_transient_but_invalid_value_is_not() {
        let lock = rejected(netconfd(include_bytes!(
            "../testdata/netconfd-lock-denied.xml"
        )));
        assert!(lock.is_transient());
        let invalid = rejected(netconfd(include_bytes!(
            "../testdata/netconfd-invalid-value.xml"
        )));
        assert!(!invalid.is_transient());
        assert!(!invalid.breaks_session());
    }
}

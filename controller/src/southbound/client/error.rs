//! Errors of the NETCONF client: what went wrong, with enough detail for an operator to act,
//! and whether trying again later can help.

use std::fmt;
use std::time::Duration;

use super::credentials::CredentialsError;
use super::framing::FramingError;

/// One `<rpc-error>` exactly as the device reported it (RFC 6241 §4.3). The fields are kept
/// verbatim so they can be shown to users unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpcError {
    /// `error-type`: transport, rpc, protocol or application.
    pub error_type: String,
    /// `error-tag`, e.g. `invalid-value`, `lock-denied`, `data-missing`.
    pub tag: String,
    /// `error-severity`: error or warning.
    pub severity: String,
    /// `error-app-tag`, a device- or model-specific tag.
    pub app_tag: Option<String>,
    /// `error-path`: the XPath of the offending node, with the device's prefixes.
    pub path: Option<String>,
    /// `error-message`: human-readable text.
    pub message: Option<String>,
    /// `error-info`: the raw XML content of the element (e.g. `<session-id>` of a lock
    /// holder, `<bad-element>`), trimmed.
    pub info: Option<String>,
}

impl RpcError {
    /// Whether this is a warning rather than an error (the operation still succeeded).
    pub fn is_warning(&self) -> bool {
        self.severity == "warning"
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} error {}", self.error_type, self.tag)?;
        if let Some(path) = &self.path {
            write!(f, " at {path}")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        if let Some(app_tag) = &self.app_tag {
            write!(f, " (app-tag {app_tag})")?;
        }
        if let Some(info) = &self.info {
            write!(f, " [info: {info}]")?;
        }
        Ok(())
    }
}

/// The `<rpc-error>` elements of one failed reply (at least one has severity error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcErrors {
    /// The operation that failed, e.g. `edit-config`.
    pub operation: String,
    /// Every `<rpc-error>` of the reply, in document order (warnings included).
    pub errors: Vec<RpcError>,
}

impl RpcErrors {
    /// The first error with severity error (what a one-line summary shows).
    pub fn first(&self) -> Option<&RpcError> {
        self.errors
            .iter()
            .find(|e| !e.is_warning())
            .or(self.errors.first())
    }

    /// Whether any error carries the given `error-tag`.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.errors.iter().any(|e| e.tag == tag)
    }
}

impl fmt::Display for RpcErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "device rejected {}", self.operation)?;
        for (i, e) in self.errors.iter().enumerate() {
            write!(f, "{} {e}", if i == 0 { ":" } else { ";" })?;
        }
        Ok(())
    }
}

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
    /// The byte stream broke the framing rules or a message exceeded the size limit; the
    /// session has been dropped.
    #[error("NETCONF framing error from {address}: {source}")]
    Framing {
        /// `host:port` of the device.
        address: String,
        /// The framing error.
        source: FramingError,
    },
    /// A reply was not a well-formed `<rpc-reply>`; the session has been dropped.
    #[error("malformed reply from {address}: {reason}")]
    MalformedReply {
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
    /// The configuration payload handed to edit-config is not well-formed XML; fix the
    /// template that rendered it.
    #[error("configuration payload is not well-formed XML: {0}")]
    BadPayload(String),
    /// The device answered with `<rpc-error>`; the fields are kept verbatim.
    #[error("{address}: {errors}")]
    Rpc {
        /// `host:port` of the device.
        address: String,
        /// The errors as reported.
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
            | Self::MalformedReply { .. } => true,
            Self::Rpc { errors, .. } => errors.errors.iter().any(|e| {
                matches!(
                    e.tag.as_str(),
                    "lock-denied" | "in-use" | "resource-denied" | "too-big"
                )
            }),
            Self::InvalidConfig(_)
            | Self::Credentials(_)
            | Self::HostKeyMismatch { .. }
            | Self::HostKeyNotPinned { .. }
            | Self::AuthRejected { .. }
            | Self::SubsystemRefused { .. }
            | Self::Hello { .. }
            | Self::MissingCapability { .. }
            | Self::BadPayload(_) => false,
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
            Self::Rpc { .. } | Self::MissingCapability { .. } | Self::BadPayload(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid_value() -> RpcError {
        RpcError {
            error_type: "protocol".into(),
            tag: "invalid-value".into(),
            severity: "error".into(),
            app_tag: Some("data-invalid".into()),
            path: Some("/nc:rpc/if:interfaces/if:interface[if:name='x']/if:enabled".into()),
            message: Some("invalid value".into()),
            info: Some("<bad-value>maybe</bad-value>".into()),
        }
    }

    #[test]
    fn display_keeps_every_field() {
        let errors = RpcErrors {
            operation: "edit-config".into(),
            errors: vec![invalid_value()],
        };
        let text = ClientError::Rpc {
            address: "127.0.0.1:830".into(),
            errors,
        }
        .to_string();
        for part in [
            "127.0.0.1:830",
            "edit-config",
            "protocol",
            "invalid-value",
            "if:interface[if:name='x']/if:enabled",
            "invalid value",
            "data-invalid",
            "<bad-value>maybe</bad-value>",
        ] {
            assert!(text.contains(part), "{part} missing from {text}");
        }
    }

    #[test]
    fn lock_denied_is_transient_but_invalid_value_is_not() {
        let mut lock = invalid_value();
        lock.tag = "lock-denied".into();
        let err = |e: RpcError| ClientError::Rpc {
            address: String::new(),
            errors: RpcErrors {
                operation: "lock".into(),
                errors: vec![e],
            },
        };
        assert!(err(lock).is_transient());
        assert!(!err(invalid_value()).is_transient());
        assert!(!err(invalid_value()).breaks_session());
    }

    #[test]
    fn first_prefers_errors_over_warnings() {
        let mut warning = invalid_value();
        warning.severity = "warning".into();
        warning.tag = "w".into();
        let errors = RpcErrors {
            operation: "commit".into(),
            errors: vec![warning, invalid_value()],
        };
        assert_eq!(
            errors.first().map(|e| e.tag.as_str()),
            Some("invalid-value")
        );
    }
}

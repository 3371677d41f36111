//! Faults injected into a simulated device through the control API.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::rpc_error::RpcFailure;
use ferrule_netconf::rpc_error::ErrorType;

/// The longest latency the control API accepts per RPC.
pub const MAX_LATENCY: Duration = Duration::from_secs(600);

/// What is currently wrong with a device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Interfaces (ports or subinterfaces) taken down.
    pub down: BTreeSet<String>,
    /// Delay added before every RPC reply.
    pub latency: Duration,
    /// The next `<commit>` fails with this error.
    pub reject_next_commit: Option<CommitRejection>,
    /// Sessions are closed and connections refused.
    pub unreachable: bool,
}

/// How the next commit is rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommitRejection {
    /// The `error-tag` (default `operation-failed`).
    #[serde(default = "default_tag")]
    pub error_tag: String,
    /// The `error-message`.
    #[serde(default = "default_message")]
    pub message: String,
}

fn default_tag() -> String {
    "operation-failed".to_owned()
}

fn default_message() -> String {
    "commit rejected by fault injection".to_owned()
}

// === impl CommitRejection ===

impl Default for CommitRejection {
    fn default() -> Self {
        Self {
            error_tag: default_tag(),
            message: default_message(),
        }
    }
}

/// Why a [`CommitRejection`] cannot be armed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRejection {
    /// The tag is not one of RFC 6241's error tags.
    #[error("errorTag {0:?} is not an RFC 6241 error-tag")]
    UnknownTag(String),
    /// The message is longer than [`MAX_MESSAGE_BYTES`].
    #[error("message is longer than 4096 bytes")]
    MessageTooLong,
}

/// The longest message a commit rejection may carry, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 4096;

impl CommitRejection {
    /// Checks the tag is one of RFC 6241's error tags and the message is of sane size.
    pub fn validate(&self) -> Result<(), InvalidRejection> {
        if !ERROR_TAGS.contains(&self.error_tag.as_str()) {
            return Err(InvalidRejection::UnknownTag(self.error_tag.clone()));
        }
        if self.message.len() > MAX_MESSAGE_BYTES {
            return Err(InvalidRejection::MessageTooLong);
        }
        Ok(())
    }

    /// The rpc-error the rejected commit returns.
    pub fn to_failure(&self) -> RpcFailure {
        RpcFailure::new(
            ErrorType::Application,
            &self.error_tag,
            self.message.clone(),
        )
    }
}

/// The error tags of RFC 6241 Appendix A.
pub const ERROR_TAGS: &[&str] = &[
    "in-use",
    "invalid-value",
    "too-big",
    "missing-attribute",
    "bad-attribute",
    "unknown-attribute",
    "missing-element",
    "bad-element",
    "unknown-element",
    "unknown-namespace",
    "access-denied",
    "lock-denied",
    "resource-denied",
    "rollback-failed",
    "data-exists",
    "data-missing",
    "operation-not-supported",
    "operation-failed",
    "partial-operation",
    "malformed-message",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_defaults_and_validation() {
        let r: CommitRejection = serde_json::from_str("{}").unwrap();
        assert_eq!(r.error_tag, "operation-failed");
        r.validate().unwrap();
        let bad: CommitRejection = serde_json::from_str(r#"{"errorTag":"oops"}"#).unwrap();
        assert_eq!(
            bad.validate(),
            Err(InvalidRejection::UnknownTag("oops".to_owned()))
        );
        assert_eq!(
            bad.validate().unwrap_err().to_string(),
            "errorTag \"oops\" is not an RFC 6241 error-tag"
        );
        let long = CommitRejection {
            message: "x".repeat(4097),
            ..CommitRejection::default()
        };
        assert_eq!(long.validate(), Err(InvalidRejection::MessageTooLong));
        assert_eq!(
            long.validate().unwrap_err().to_string(),
            "message is longer than 4096 bytes"
        );
        let f = CommitRejection {
            error_tag: "resource-denied".to_owned(),
            message: "out of TCAM".to_owned(),
        }
        .to_failure();
        assert_eq!((f.tag(), f.message()), ("resource-denied", "out of TCAM"));
        assert_eq!(f.error().error_type, ErrorType::Application);
    }
}

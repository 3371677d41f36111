//! Continue tokens of paginated lists: the snapshot version and the last key returned.
//!
//! The token is opaque to clients: base64url of a small JSON document. It is untrusted input,
//! so decoding is size-limited and checked.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::StoreError;

/// Longest token accepted (keys are at most a few hundred bytes).
const MAX_TOKEN_LEN: usize = 4096;

/// Where the next page of a list starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct ContinueToken {
    /// Format version.
    v: u8,
    /// Snapshot version every page is read at.
    pub rv: u64,
    /// Namespace of the last key returned.
    pub ns: String,
    /// Name of the last key returned.
    pub name: String,
}

impl ContinueToken {
    /// A token for the page after `(ns, name)` at snapshot `rv`.
    pub fn new(rv: u64, ns: String, name: String) -> Self {
        Self { v: 1, rv, ns, name }
    }

    /// The token text.
    pub fn encode(&self) -> String {
        // Serializing a struct of integers and strings cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Parses a token given by a client.
    pub fn decode(text: &str) -> Result<Self, StoreError> {
        if text.len() > MAX_TOKEN_LEN {
            return Err(StoreError::InvalidContinue {
                reason: "token too long",
            });
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| StoreError::InvalidContinue {
                reason: "not base64url",
            })?;
        let token: ContinueToken =
            serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidContinue {
                reason: "not a token issued by this server",
            })?;
        if token.v != 1 {
            return Err(StoreError::InvalidContinue {
                reason: "unknown token version",
            });
        }
        Ok(token)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = ContinueToken::new(42, "isp-a".into(), "sub/1\u{e9}".into());
        assert_eq!(ContinueToken::decode(&t.encode()).unwrap(), t);
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "!!!", "e30", &"A".repeat(MAX_TOKEN_LEN + 1)] {
            assert!(
                matches!(
                    ContinueToken::decode(bad),
                    Err(StoreError::InvalidContinue { .. })
                ),
                "{bad}"
            );
        }
        let wrong_version = URL_SAFE_NO_PAD.encode(br#"{"v":2,"rv":1,"ns":"","name":"a"}"#);
        assert!(ContinueToken::decode(&wrong_version).is_err());
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(text in ".{0,200}") {
            let _ = ContinueToken::decode(&text);
        }
    }
}

//! SSH host key verification: a device's key must match a pinned fingerprint written exactly
//! as OpenSSH prints it (`ssh-keygen -lf key.pub` → `SHA256:` + 43 base64 characters), unless
//! the device explicitly opts out of verification.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use russh::keys::{HashAlg, PublicKey};

use super::error::ClientError;

/// A SHA-256 host key fingerprint in OpenSSH form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct HostKeyFingerprint(String);

impl HostKeyFingerprint {
    /// Parses `SHA256:<43 base64 characters>` exactly as OpenSSH prints it: no padding, no
    /// surrounding text, the standard base64 alphabet, a 32-byte digest.
    pub fn parse(text: &str) -> Result<Self, ClientError> {
        let bad = |why: &str| {
            ClientError::InvalidConfig(format!(
                "host key fingerprint {text:?} {why}; expected OpenSSH's form \
                 SHA256:<43 base64 characters>, as printed by `ssh-keygen -lf <key>.pub`"
            ))
        };
        let digest = text
            .strip_prefix("SHA256:")
            .ok_or_else(|| bad("does not start with SHA256:"))?;
        if digest.len() != 43 {
            return Err(bad("does not have 43 characters after SHA256:"));
        }
        let bytes = STANDARD_NO_PAD
            .decode(digest)
            .map_err(|_| bad("is not valid unpadded base64"))?;
        if bytes.len() != 32 || STANDARD_NO_PAD.encode(&bytes) != digest {
            return Err(bad("is not a canonical SHA-256 digest"));
        }
        Ok(Self(text.to_string()))
    }

    /// The fingerprint of a public key, in the same form.
    pub fn of(key: &PublicKey) -> Self {
        Self(key.fingerprint(HashAlg::Sha256).to_string())
    }

    /// The text, e.g. `SHA256:zJO2HTwR...`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HostKeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for HostKeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HostKeyFingerprint({})", self.0)
    }
}

/// How a device's host key is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Accept only the key with this fingerprint.
    Pinned(HostKeyFingerprint),
    /// Accept any key. Only when a device explicitly opts out of verification.
    InsecureAcceptAny,
    /// Nothing pinned and no opt-out: every key is refused, and the error shows the presented
    /// fingerprint so an operator can verify and pin it.
    Unpinned,
}

impl HostKeyPolicy {
    /// The policy of a Device: `host_key` (`spec.hostKey`) wins over the opt-out
    /// (`spec.insecureSkipHostKeyVerification`), so setting both still verifies.
    pub fn from_device(host_key: Option<&str>, insecure_skip: bool) -> Result<Self, ClientError> {
        match (
            host_key.map(str::trim).filter(|s| !s.is_empty()),
            insecure_skip,
        ) {
            (Some(fp), _) => Ok(Self::Pinned(HostKeyFingerprint::parse(fp)?)),
            (None, true) => Ok(Self::InsecureAcceptAny),
            (None, false) => Ok(Self::Unpinned),
        }
    }

    /// Decides whether the presented key is acceptable.
    pub fn check(&self, address: &str, presented: &HostKeyFingerprint) -> Result<(), ClientError> {
        match self {
            Self::Pinned(pinned) if pinned == presented => Ok(()),
            Self::Pinned(pinned) => Err(ClientError::HostKeyMismatch {
                address: address.to_string(),
                pinned: pinned.to_string(),
                presented: presented.to_string(),
            }),
            Self::InsecureAcceptAny => Ok(()),
            Self::Unpinned => Err(ClientError::HostKeyNotPinned {
                address: address.to_string(),
                presented: presented.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Generated with ssh-keygen for this test; the expected values are ssh-keygen -lf output.
    const ED25519_PUB: &str =
        "AAAAC3NzaC1lZDI1NTE5AAAAIOr7+L6TgKCKYjA4CL7X8ttvSLO19y8sm2VuV1r+d/L1";
    const ED25519_FP: &str = "SHA256:zJO2HTwRIPFlBptMa0oJVe+1vXXdKqaxgLdTxT3Un2Q";
    const RSA_PUB: &str = "AAAAB3NzaC1yc2EAAAADAQABAAABAQCQAo+ZXsbVxJedfoX1RbhNIXY/Xf+7723GOWUUudMnU7V+WU7K4lrjcKH55G4YIKOHChYn1Pn+18ZYg1ygMeF5MyoQV6WoNhtMELsvkfe7WHsAPXHDywGBV+Lr5g6G4oZd639heYuwD1bLKpEfwUECTUoaAJZrT9i8tuXwxPwTTKecmg/dc9kNJlvtnvZrzxfUseXxRQVBxQC2dXy0Z4WgBqBf+MkZCZk4fdCq4l1EhtgGtT2hhCBijyXwveAuJ/NfUOC6z90/xkjsU+FLxnu5+OVpQaWiiUtN7zAW11iChWNp6ymUDRoYYoYdTF4gBMNfN3y1YC9xtFOsuIqZtX5b";
    const RSA_FP: &str = "SHA256:HGxmyHn9tXLojeHMIPqOF9CWAtY2it6cFUK97NCq48Q";

    #[test]
    fn fingerprints_match_ssh_keygen() {
        for (b64, fp) in [(ED25519_PUB, ED25519_FP), (RSA_PUB, RSA_FP)] {
            let key = russh::keys::parse_public_key_base64(b64).unwrap();
            assert_eq!(HostKeyFingerprint::of(&key).as_str(), fp);
            assert_eq!(HostKeyFingerprint::parse(fp).unwrap().as_str(), fp);
        }
    }

    #[test]
    fn only_openssh_form_parses() {
        for bad in [
            "zJO2HTwRIPFlBptMa0oJVe+1vXXdKqaxgLdTxT3Un2Q",
            "sha256:zJO2HTwRIPFlBptMa0oJVe+1vXXdKqaxgLdTxT3Un2Q",
            "SHA256:zJO2HTwRIPFlBptMa0oJVe+1vXXdKqaxgLdTxT3Un2Q=",
            "SHA256:zJO2HTwRIPFlBptMa0oJVe+1vXXdKqaxgLdTxT3Un2",
            "SHA256:zJO2HTwRIPFlBptMa0oJVe-1vXXdKqaxgLdTxT3Un2Q",
            "SHA256:zJO2HTwRIPFlBptMa0oJVe+1vXXdKqaxgLdTxT3Un2R",
            " SHA256:zJO2HTwRIPFlBptMa0oJVe+1vXXdKqaxgLdTxT3Un2Q",
            "MD5:aa:bb",
            "",
        ] {
            assert!(HostKeyFingerprint::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn policy_decisions() {
        let good = HostKeyFingerprint::parse(ED25519_FP).unwrap();
        let other = HostKeyFingerprint::parse(RSA_FP).unwrap();
        let pinned = HostKeyPolicy::from_device(Some(ED25519_FP), true).unwrap();
        assert!(pinned.check("h:1", &good).is_ok());
        let err = pinned.check("h:1", &other).unwrap_err().to_string();
        assert!(err.contains(RSA_FP) && err.contains(ED25519_FP), "{err}");

        let insecure = HostKeyPolicy::from_device(None, true).unwrap();
        assert!(insecure.check("h:1", &other).is_ok());

        let unpinned = HostKeyPolicy::from_device(Some("  "), false).unwrap();
        let err = unpinned.check("h:1", &good).unwrap_err();
        assert!(matches!(err, ClientError::HostKeyNotPinned { .. }));
        assert!(err.to_string().contains(ED25519_FP));

        assert!(HostKeyPolicy::from_device(Some("SHA256:nope"), true).is_err());
    }
}

//! Deterministic SSH host keys, so that examples can pin a simulated device's fingerprint.
//!
//! The Ed25519 seed is `sha256("ferrule-netsim:" + name)`, or
//! `sha256("ferrule-netsim:" + name + ":" + seed)` when the topology gives a `hostKeySeed`.
//! These keys are public knowledge by construction: they identify simulated devices, they do
//! not protect anything.

use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{HashAlg, PrivateKey};
use sha2::{Digest, Sha256};

/// The host key of a simulated device.
pub fn host_key(name: &str, seed: Option<&str>) -> PrivateKey {
    let mut hasher = Sha256::new();
    hasher.update(b"ferrule-netsim:");
    hasher.update(name.as_bytes());
    if let Some(seed) = seed {
        hasher.update(b":");
        hasher.update(seed.as_bytes());
    }
    let digest: [u8; 32] = hasher.finalize().into();
    PrivateKey::from(Ed25519Keypair::from_seed(&digest))
}

/// The OpenSSH fingerprint (`SHA256:…`) of a host key.
pub fn fingerprint(key: &PrivateKey) -> String {
    key.public_key().fingerprint(HashAlg::Sha256).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_distinct() {
        let a = fingerprint(&host_key("olt1", None));
        assert_eq!(a, fingerprint(&host_key("olt1", None)));
        assert!(a.starts_with("SHA256:"), "{a}");
        assert_eq!(a.len(), "SHA256:".len() + 43, "{a}");
        assert_ne!(a, fingerprint(&host_key("olt2", None)));
        assert_ne!(a, fingerprint(&host_key("olt1", Some("lab"))));
    }

    #[test]
    fn seed_derivation_is_sha256_of_the_documented_string() {
        let expected: [u8; 32] = Sha256::digest(b"ferrule-netsim:olt1:lab").into();
        let key = host_key("olt1", Some("lab"));
        let pair = key.key_data().ed25519().unwrap();
        assert_eq!(pair.private.to_bytes(), expected);
    }
}

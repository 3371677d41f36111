//! The bearer token that guards the API server.

use std::path::Path;

use rand::RngCore;

use ferrule_datadir::write_private;

const TOKEN_BYTES: usize = 32;

/// Reads the token stored at `path`, or creates a random one there.
pub fn load_or_create(path: &Path) -> std::io::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    write_private(path, token.as_bytes())?;
    Ok(token)
}

/// Compares a presented `Authorization` header value with the expected token in time that
/// does not depend on where they differ.
pub fn authorizes(header: Option<&[u8]>, token: &str) -> bool {
    let Some(header) = header else {
        return false;
    };
    let Some(presented) = header.strip_prefix(b"Bearer ") else {
        return false;
    };
    let expected = token.as_bytes();
    if presented.len() != expected.len() {
        return false;
    }
    presented
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let first = load_or_create(&path).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(load_or_create(&path).unwrap(), first);
    }

    #[test]
    fn only_the_exact_bearer_token_authorizes() {
        assert!(authorizes(Some(b"Bearer abc"), "abc"));
        assert!(!authorizes(Some(b"Bearer abd"), "abc"));
        assert!(!authorizes(Some(b"Bearer abcd"), "abc"));
        assert!(!authorizes(Some(b"Basic abc"), "abc"));
        assert!(!authorizes(None, "abc"));
    }
}

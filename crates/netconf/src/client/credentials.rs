//! Device login credentials, as they come out of a Kubernetes Secret (raw bytes per key).
//! Secret material never appears in `Debug` output or logs, and private keys are decoded in
//! memory (never written to disk).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use russh::keys::PrivateKey;

/// Secret key holding the login name.
pub const USERNAME_KEY: &str = "username";
/// Secret key holding the password.
pub const PASSWORD_KEY: &str = "password";
/// Secret key holding an OpenSSH or PEM private key.
pub const PRIVATE_KEY_KEY: &str = "privateKey";
/// The key that Secrets of type `kubernetes.io/ssh-auth` use for the private key.
pub const SSH_AUTH_PRIVATE_KEY_KEY: &str = "ssh-privatekey";
/// Secret key holding the private key's passphrase, if it is encrypted.
pub const PASSPHRASE_KEY: &str = "passphrase";

/// Why a credentials Secret cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// The Secret has no `username`.
    #[error("credentials Secret has no `username`")]
    MissingUsername,
    /// The Secret has neither `password` nor `privateKey`.
    #[error("credentials Secret has neither `password` nor `privateKey`")]
    NoSecret,
    /// A field is not UTF-8 text.
    #[error("credentials Secret field `{0}` is not UTF-8 text")]
    NotUtf8(&'static str),
    /// The private key cannot be decoded (wrong format, wrong or missing passphrase).
    #[error("credentials Secret `privateKey` cannot be decoded: {0}")]
    BadPrivateKey(String),
}

/// A secret string whose `Debug` shows nothing.
#[derive(Clone, PartialEq, Eq)]
struct Hidden(String);

impl fmt::Debug for Hidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Who to log in as and how: a password, a private key, or both (key tried first).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    password: Option<Hidden>,
    private_key: Option<Hidden>,
    passphrase: Option<Hidden>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field(
                "private_key",
                &self.private_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Credentials {
    /// Password login.
    pub fn password(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: Some(Hidden(password.into())),
            private_key: None,
            passphrase: None,
        }
    }

    /// Public-key login with an OpenSSH (or PEM) private key given as text.
    pub fn private_key(
        username: impl Into<String>,
        key: impl Into<String>,
        passphrase: Option<String>,
    ) -> Self {
        Self {
            username: username.into(),
            password: None,
            private_key: Some(Hidden(key.into())),
            passphrase: passphrase.map(Hidden),
        }
    }

    /// Reads the data of a credentials Secret: `username`, and `password` and/or `privateKey`
    /// (or `ssh-privatekey`), optionally `passphrase`. Empty values count as absent.
    pub fn from_secret_data(data: &BTreeMap<String, Vec<u8>>) -> Result<Self, CredentialsError> {
        let field = |key: &'static str| -> Result<Option<String>, CredentialsError> {
            match data.get(key) {
                None => Ok(None),
                Some(bytes) => {
                    let text = String::from_utf8(bytes.clone())
                        .map_err(|_| CredentialsError::NotUtf8(key))?;
                    Ok(Some(text).filter(|t| !t.is_empty()))
                }
            }
        };
        let username = field(USERNAME_KEY)?
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .ok_or(CredentialsError::MissingUsername)?;
        let password = field(PASSWORD_KEY)?;
        let private_key = match field(PRIVATE_KEY_KEY)? {
            Some(key) => Some(key),
            None => field(SSH_AUTH_PRIVATE_KEY_KEY)?,
        };
        if password.is_none() && private_key.is_none() {
            return Err(CredentialsError::NoSecret);
        }
        let creds = Self {
            username,
            password: password.map(Hidden),
            private_key: private_key.map(Hidden),
            passphrase: field(PASSPHRASE_KEY)?.map(Hidden),
        };
        // Fail now, not at connect time, if the key is unreadable.
        creds.decode_private_key()?;
        Ok(creds)
    }

    /// The login name.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password, if any.
    pub(crate) fn password_text(&self) -> Option<&str> {
        self.password.as_ref().map(|p| p.0.as_str())
    }

    /// Whether a private key is configured.
    pub fn has_private_key(&self) -> bool {
        self.private_key.is_some()
    }

    /// Decodes the private key, if any.
    pub(crate) fn decode_private_key(&self) -> Result<Option<Arc<PrivateKey>>, CredentialsError> {
        let Some(key) = &self.private_key else {
            return Ok(None);
        };
        let passphrase = self.passphrase.as_ref().map(|p| p.0.as_str());
        russh::keys::decode_secret_key(&key.0, passphrase)
            .map(|k| Some(Arc::new(k)))
            .map_err(|e| CredentialsError::BadPrivateKey(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn password_secret() {
        let c =
            Credentials::from_secret_data(&data(&[("username", "admin\n"), ("password", "pw")]))
                .unwrap();
        assert_eq!(c.username(), "admin");
        assert_eq!(c.password_text(), Some("pw"));
        assert!(!c.has_private_key());
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("pw\"") && shown.contains("redacted"),
            "{shown}"
        );
    }

    #[test]
    fn incomplete_secrets_are_refused() {
        assert_eq!(
            Credentials::from_secret_data(&data(&[("password", "x")])),
            Err(CredentialsError::MissingUsername)
        );
        assert_eq!(
            Credentials::from_secret_data(&data(&[("username", "a"), ("password", "")])),
            Err(CredentialsError::NoSecret)
        );
        let mut bad = data(&[("username", "a")]);
        bad.insert("password".into(), vec![0xff, 0xfe]);
        assert_eq!(
            Credentials::from_secret_data(&bad),
            Err(CredentialsError::NotUtf8("password"))
        );
        assert!(matches!(
            Credentials::from_secret_data(&data(&[("username", "a"), ("privateKey", "junk")])),
            Err(CredentialsError::BadPrivateKey(_))
        ));
    }
}

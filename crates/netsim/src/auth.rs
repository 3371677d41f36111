//! Who may log in to a simulated device.

use russh::keys::PublicKey;

use super::error::NetsimError;
use super::topology::UserSpec;

/// The accounts of one device, with their authorized keys parsed.
#[derive(Debug, Clone)]
pub struct Accounts {
    accounts: Vec<Account>,
}

#[derive(Debug, Clone)]
struct Account {
    username: String,
    password: Option<String>,
    keys: Vec<PublicKey>,
}

// === impl Accounts ===

impl Accounts {
    /// Parses the accounts of `device`; fails on a key that is not in OpenSSH format.
    pub fn new(device: &str, users: &[UserSpec]) -> Result<Self, NetsimError> {
        let mut accounts = Vec::with_capacity(users.len());
        for user in users {
            let keys = user
                .authorized_keys
                .iter()
                .map(|line| {
                    PublicKey::from_openssh(line.trim()).map_err(|e| NetsimError::AuthorizedKey {
                        device: device.to_owned(),
                        user: user.username.clone(),
                        reason: e.to_string(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            accounts.push(Account {
                username: user.username.clone(),
                password: user.password.clone(),
                keys,
            });
        }
        Ok(Self { accounts })
    }

    /// Whether `user` may log in with `password`.
    pub fn password_ok(&self, user: &str, password: &str) -> bool {
        self.accounts.iter().any(|a| {
            a.username == user
                && a.password
                    .as_deref()
                    .is_some_and(|p| constant_time_eq(p.as_bytes(), password.as_bytes()))
        })
    }

    /// Whether `key` is authorized for `user`.
    pub fn key_ok(&self, user: &str, key: &PublicKey) -> bool {
        self.accounts
            .iter()
            .any(|a| a.username == user && a.keys.iter().any(|k| k.key_data() == key.key_data()))
    }

    /// Whether any account allows password login.
    pub fn any_password(&self) -> bool {
        self.accounts.iter().any(|a| a.password.is_some())
    }

    /// Whether any account has authorized keys.
    pub fn any_key(&self) -> bool {
        self.accounts.iter().any(|a| !a.keys.is_empty())
    }
}

/// Compares without an early exit, so that timing does not tell how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hostkey::host_key;

    #[test]
    fn passwords_and_keys() {
        let key = host_key("client", None);
        let line = key.public_key().to_openssh().unwrap();
        let users = [
            UserSpec {
                username: "admin".to_owned(),
                password: Some("admin".to_owned()),
                authorized_keys: Vec::new(),
            },
            UserSpec {
                username: "robot".to_owned(),
                password: None,
                authorized_keys: vec![line],
            },
        ];
        let accounts = Accounts::new("d", &users).unwrap();
        assert!(accounts.password_ok("admin", "admin"));
        assert!(!accounts.password_ok("admin", "admin2"));
        assert!(!accounts.password_ok("robot", ""));
        assert!(accounts.key_ok("robot", key.public_key()));
        assert!(!accounts.key_ok("admin", key.public_key()));
        let other = host_key("other", None);
        assert!(!accounts.key_ok("robot", other.public_key()));
        assert!(accounts.any_password() && accounts.any_key());
    }

    #[test]
    fn bad_key_is_a_typed_error() {
        let users = [UserSpec {
            username: "x".to_owned(),
            password: None,
            authorized_keys: vec!["ssh-ed25519 not-base64".to_owned()],
        }];
        assert!(matches!(
            Accounts::new("d", &users),
            Err(NetsimError::AuthorizedKey { .. })
        ));
    }
}

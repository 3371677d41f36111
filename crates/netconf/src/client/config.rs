//! What a session needs to reach one device: address, credentials, host key policy, and the
//! timeouts and limits that keep a misbehaving device from stalling or flooding the controller.

use std::time::Duration;

use super::credentials::Credentials;
use super::error::ClientError;
use super::hostkey::HostKeyPolicy;

/// The IANA port of NETCONF over SSH.
pub const DEFAULT_PORT: u16 = 830;

/// Timeouts, limits and protocol choices of a session. `Default` gives values suited to
/// real devices on a WAN; see docs/southbound.md for the reasoning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOptions {
    /// Bound on TCP connect + SSH handshake + authentication + NETCONF hello.
    pub connect_timeout: Duration,
    /// Bound on one request/reply exchange. A timeout drops the session, since a late reply
    /// would otherwise be read as the answer to the next request.
    pub rpc_timeout: Duration,
    /// SSH keepalive interval while the session is idle; `None` disables keepalives.
    pub keepalive_interval: Option<Duration>,
    /// Unanswered keepalives after which the connection is considered dead.
    pub keepalive_max: usize,
    /// Largest message accepted from the device, in bytes (after de-framing); it also bounds
    /// the XML parser's input.
    pub max_reply_bytes: usize,
    /// Minimum time between sending our `<hello>` and sending the first request. Some servers
    /// (netconfd/yuma123) leave a request unanswered when it arrives in the same read as the
    /// hello; zero disables the pause.
    pub hello_pause: Duration,
    /// Offer base:1.1 (chunked framing); when false only base:1.0 is offered.
    pub offer_base_1_1: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(15),
            rpc_timeout: Duration::from_secs(60),
            keepalive_interval: Some(Duration::from_secs(30)),
            keepalive_max: 3,
            max_reply_bytes: crate::framing::DEFAULT_MAX_MESSAGE_SIZE,
            hello_pause: Duration::from_millis(50),
            offer_base_1_1: true,
        }
    }
}

/// Everything needed to open a session with one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Login.
    pub credentials: Credentials,
    /// Host key verification.
    pub host_key: HostKeyPolicy,
    /// Timeouts and limits.
    pub options: SessionOptions,
}

impl SessionConfig {
    /// A config for `address` (`host`, `host:port`, `[v6]` or `[v6]:port`; port 830 when
    /// absent) with default options.
    pub fn new(
        address: &str,
        credentials: Credentials,
        host_key: HostKeyPolicy,
    ) -> Result<Self, ClientError> {
        let (host, port) = parse_address(address)?;
        Ok(Self {
            host,
            port,
            credentials,
            host_key,
            options: SessionOptions::default(),
        })
    }

    /// `host:port` as shown in errors and logs (IPv6 hosts in brackets).
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Splits a Device address into host and port.
pub fn parse_address(address: &str) -> Result<(String, u16), ClientError> {
    let bad = |why: &str| ClientError::InvalidConfig(format!("device address {address:?} {why}"));
    let address = address.trim();
    if address.is_empty() {
        return Err(bad("is empty"));
    }
    let (host, port) = if let Some(rest) = address.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| bad("has an unclosed '['"))?;
        match after {
            "" => (host, None),
            p => (
                host,
                Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| bad("has text after ']'"))?,
                ),
            ),
        }
    } else {
        match address.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => {
                return Err(bad(
                    "is an IPv6 address without brackets; write [addr]:port",
                ));
            }
            Some((h, p)) => (h, Some(p)),
            None => (address, None),
        }
    };
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(bad("has no valid host"));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad("has an invalid port"))?,
    };
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let ok = |a: &str| parse_address(a).unwrap();
        assert_eq!(ok("127.0.0.1:18301"), ("127.0.0.1".into(), 18301));
        assert_eq!(ok("router1"), ("router1".into(), 830));
        assert_eq!(ok("[::1]:2830"), ("::1".into(), 2830));
        assert_eq!(ok("[::1]"), ("::1".into(), 830));
        for bad in [
            "", ":830", "h:0", "h:x", "::1", "[::1", "[::1]x", "a b:1", "h:70000",
        ] {
            assert!(parse_address(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn address_display_brackets_v6() {
        let creds = Credentials::password("u", "p");
        let c = SessionConfig::new("[::1]:1", creds, HostKeyPolicy::InsecureAcceptAny).unwrap();
        assert_eq!(c.address(), "[::1]:1");
    }
}

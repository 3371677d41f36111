//! A NETCONF session over SSH: hello exchange, capability negotiation, framed lock-step
//! request/reply with message ids, timeouts and size limits.

use std::time::{Duration, Instant};

use super::capabilities::{BaseVersion, Capabilities};
use super::config::SessionConfig;
use super::device_session::DeviceSession;
use super::error::{ClientError, RpcErrors};
use super::framing::{self, FrameDecoder, Framing};
use super::hostkey::HostKeyFingerprint;
use super::reply::{self, Incoming, ParsedReply};
use super::request;
use super::transport::SshChannel;

/// Upper bound on waiting for `<close-session/>` to be answered when closing.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A live NETCONF session with one device.
#[derive(Debug)]
pub struct NetconfSession {
    ssh: SshChannel,
    decoder: FrameDecoder,
    address: String,
    rpc_timeout: std::time::Duration,
    hello_pause: std::time::Duration,
    hello_sent: Instant,
    first_request_sent: bool,
    capabilities: Capabilities,
    session_id: u32,
    version: BaseVersion,
    next_message_id: u64,
    /// Set once the byte stream can no longer be trusted (timeout, framing error, closed).
    broken: bool,
}

impl NetconfSession {
    /// Opens a session: SSH connect, host key check, authentication, `netconf` subsystem,
    /// hello exchange. The whole setup is bounded by `options.connect_timeout`.
    pub async fn connect(config: &SessionConfig) -> Result<Self, ClientError> {
        let timeout = config.options.connect_timeout;
        match tokio::time::timeout(timeout, Self::establish(config)).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::ConnectTimeout {
                address: config.address(),
                after: timeout,
            }),
        }
    }

    async fn establish(config: &SessionConfig) -> Result<Self, ClientError> {
        let address = config.address();
        let opts = &config.options;
        let mut ssh = SshChannel::open(config).await?;
        let hello = request::hello(opts.offer_base_1_1);
        ssh.send(&framing::encode(Framing::EndOfMessage, hello.as_bytes()))
            .await?;
        let hello_sent = Instant::now();

        let mut decoder = FrameDecoder::new(Framing::EndOfMessage, opts.max_reply_bytes);
        let text = read_message(&mut ssh, &mut decoder, &address).await?;
        let server = reply::parse_hello(&text).map_err(|reason| ClientError::Hello {
            address: address.clone(),
            reason,
        })?;
        let capabilities = Capabilities::new(server.capabilities);
        let version =
            capabilities
                .negotiate(opts.offer_base_1_1)
                .ok_or_else(|| ClientError::Hello {
                    address: address.clone(),
                    reason: "no common base version (the device announces neither \
                             base:1.0 nor an offered base:1.1)"
                        .into(),
                })?;
        if version == BaseVersion::V1_1 {
            decoder.set_framing(Framing::Chunked);
        }
        tracing::debug!(
            %address,
            session_id = server.session_id,
            ?version,
            "NETCONF session established"
        );
        Ok(Self {
            ssh,
            decoder,
            address,
            rpc_timeout: opts.rpc_timeout,
            hello_pause: opts.hello_pause,
            hello_sent,
            first_request_sent: false,
            capabilities,
            session_id: server.session_id,
            version,
            next_message_id: 1,
            broken: false,
        })
    }

    /// The fingerprint of the host key the device presented.
    pub fn host_key(&self) -> Option<&HostKeyFingerprint> {
        self.ssh.host_key()
    }

    /// One request and its reply, without the per-RPC timeout.
    async fn exchange(&mut self, operation: &str) -> Result<ParsedReply, ClientError> {
        if !self.first_request_sent {
            // See `SessionOptions::hello_pause`.
            let elapsed = self.hello_sent.elapsed();
            if elapsed < self.hello_pause {
                tokio::time::sleep(self.hello_pause - elapsed).await;
            }
            self.first_request_sent = true;
        }
        let id = self.next_message_id;
        self.next_message_id += 1;
        let message = request::envelope(id, operation);
        let framing = self.decoder.framing();
        self.ssh
            .send(&framing::encode(framing, message.as_bytes()))
            .await?;
        loop {
            let text = read_message(&mut self.ssh, &mut self.decoder, &self.address).await?;
            let malformed = |reason: String| ClientError::MalformedReply {
                address: self.address.clone(),
                reason,
            };
            match reply::parse_incoming(&text).map_err(malformed)? {
                Incoming::Notification => {
                    tracing::debug!(address = %self.address, "skipping a notification");
                }
                Incoming::Reply(reply) => {
                    let expected = id.to_string();
                    return match &reply.message_id {
                        Some(got) if *got != expected => Err(malformed(format!(
                            "reply carries message-id {got}, expected {expected}"
                        ))),
                        _ => Ok(reply),
                    };
                }
            }
        }
    }
}

impl DeviceSession for NetconfSession {
    fn address(&self) -> &str {
        &self.address
    }

    fn session_id(&self) -> u32 {
        self.session_id
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn base_version(&self) -> BaseVersion {
        self.version
    }

    fn is_usable(&self) -> bool {
        !self.broken && !self.ssh.is_closed()
    }

    async fn rpc(&mut self, operation: &str) -> Result<ParsedReply, ClientError> {
        if !self.is_usable() {
            return Err(ClientError::Closed {
                address: self.address.clone(),
                reason: "the session is no longer usable".into(),
            });
        }
        let name = operation_name(operation);
        let result = match tokio::time::timeout(self.rpc_timeout, self.exchange(operation)).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::RpcTimeout {
                address: self.address.clone(),
                operation: name.clone(),
                after: self.rpc_timeout,
            }),
        };
        let reply = match result {
            Ok(reply) => reply,
            Err(err) => {
                if err.breaks_session() {
                    self.broken = true;
                }
                return Err(err);
            }
        };
        for warning in reply.errors.iter().filter(|e| e.is_warning()) {
            tracing::info!(address = %self.address, operation = %name, %warning, "device warning");
        }
        if reply.failed() {
            return Err(ClientError::Rpc {
                address: self.address.clone(),
                errors: RpcErrors {
                    operation: name,
                    errors: reply.errors,
                },
            });
        }
        Ok(reply)
    }

    async fn close(&mut self) {
        if self.is_usable() {
            let message = request::close_session();
            let bounded = tokio::time::timeout(CLOSE_TIMEOUT, self.exchange(&message)).await;
            if let Ok(Err(e)) = bounded {
                tracing::debug!(address = %self.address, error = %e, "close-session failed");
            }
        }
        self.broken = true;
        self.ssh.shutdown().await;
    }
}

/// Reads until one whole message is decoded.
async fn read_message(
    ssh: &mut SshChannel,
    decoder: &mut FrameDecoder,
    address: &str,
) -> Result<String, ClientError> {
    let framing_err = |source| ClientError::Framing {
        address: address.to_string(),
        source,
    };
    loop {
        if let Some(message) = decoder.next_message().map_err(framing_err)? {
            return String::from_utf8(message).map_err(|_| ClientError::MalformedReply {
                address: address.to_string(),
                reason: "message is not UTF-8".into(),
            });
        }
        match ssh.recv().await {
            Some(bytes) => decoder.push(&bytes).map_err(framing_err)?,
            None => {
                return Err(ClientError::Closed {
                    address: address.to_string(),
                    reason: "the device closed the channel".into(),
                });
            }
        }
    }
}

/// The element name of an operation, for error messages (`<edit-config>...` → `edit-config`).
pub(crate) fn operation_name(operation: &str) -> String {
    let start = operation.trim_start().trim_start_matches('<');
    let end = start
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(start.len());
    let name = start.get(..end).unwrap_or_default();
    if name.is_empty() {
        "rpc".to_string()
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::operation_name;

    #[test]
    fn operation_names() {
        assert_eq!(operation_name("<edit-config><target/>"), "edit-config");
        assert_eq!(operation_name("<commit/>"), "commit");
        assert_eq!(operation_name(" <get>"), "get");
        assert_eq!(operation_name("<x:y a='1'>"), "x:y");
        assert_eq!(operation_name(""), "rpc");
    }
}

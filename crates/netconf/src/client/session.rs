//! A NETCONF session over SSH: hello exchange, capability negotiation, framed lock-step
//! request/reply with message ids, timeouts and size limits.

use std::time::{Duration, Instant};

use bytes::BytesMut;

use super::config::SessionConfig;
use super::device_session::DeviceSession;
use super::error::ClientError;
use super::hostkey::HostKeyFingerprint;
use super::transport::SshChannel;
use crate::framing::{self, FrameDecoder, Framing};
use crate::hello::{self, BASE_1_0, Capabilities, ServerHello};
use crate::message::{ServerMessage, parse_server_message};
use crate::reply::RpcReply;
use crate::rpc::{MessageIds, Rpc};
use crate::xml::XmlLimits;

/// Upper bound on waiting for `<close-session/>` to be answered when closing.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A live NETCONF session with one device.
#[derive(Debug)]
pub struct NetconfSession {
    ssh: SshChannel,
    reader: Reader,
    address: String,
    rpc_timeout: Duration,
    hello_pause: Duration,
    hello_sent: Instant,
    first_request_sent: bool,
    capabilities: Capabilities,
    session_id: u32,
    message_ids: MessageIds,
    /// Set once the byte stream can no longer be trusted (timeout, framing error, closed).
    broken: bool,
}

/// The receiving side: the framing decoder, its buffer and the XML limits for what it yields.
#[derive(Debug)]
struct Reader {
    decoder: FrameDecoder,
    buffer: BytesMut,
    limits: XmlLimits,
}

// === impl NetconfSession ===

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
        let offered = if opts.offer_base_1_1 {
            Capabilities::client_default()
        } else {
            Capabilities::new([BASE_1_0])
        };
        let hello = hello::client_hello(&offered).map_err(|source| ClientError::Build {
            operation: "hello",
            source,
        })?;
        send(&mut ssh, Framing::EndOfMessage, &hello, &address).await?;
        let hello_sent = Instant::now();

        let mut reader = Reader {
            decoder: FrameDecoder::new(opts.max_reply_bytes),
            buffer: BytesMut::new(),
            limits: XmlLimits {
                max_bytes: opts.max_reply_bytes,
                ..XmlLimits::default()
            },
        };
        let message = reader.next(&mut ssh, &address).await?;
        let server = ServerHello::parse(&message, &reader.limits).map_err(|source| {
            ClientError::BadHello {
                address: address.clone(),
                source,
            }
        })?;
        let framing = Framing::negotiate(offered.iter(), server.capabilities.iter());
        if framing == Framing::EndOfMessage && !server.capabilities.has(BASE_1_0) {
            return Err(ClientError::Hello {
                address,
                reason: "no common base version (the device announces neither base:1.0 nor an \
                         offered base:1.1)"
                    .into(),
            });
        }
        reader.decoder.set_framing(framing);
        tracing::debug!(
            %address,
            session_id = server.session_id,
            ?framing,
            "NETCONF session established"
        );
        Ok(Self {
            ssh,
            reader,
            address,
            rpc_timeout: opts.rpc_timeout,
            hello_pause: opts.hello_pause,
            hello_sent,
            first_request_sent: false,
            capabilities: server.capabilities,
            session_id: server.session_id,
            message_ids: MessageIds::new(),
            broken: false,
        })
    }

    /// The fingerprint of the host key the device presented.
    pub fn host_key(&self) -> Option<&HostKeyFingerprint> {
        self.ssh.host_key()
    }

    /// One request and its reply, without the per-RPC timeout.
    async fn exchange(&mut self, rpc: &Rpc) -> Result<RpcReply, ClientError> {
        let id = self.message_ids.next_id();
        let message = rpc.to_xml(&id).map_err(|source| ClientError::Build {
            operation: rpc.name(),
            source,
        })?;
        if !self.first_request_sent {
            // See `SessionOptions::hello_pause`.
            let elapsed = self.hello_sent.elapsed();
            if elapsed < self.hello_pause {
                tokio::time::sleep(self.hello_pause - elapsed).await;
            }
            self.first_request_sent = true;
        }
        let framing = self.reader.decoder.framing();
        send(&mut self.ssh, framing, &message, &self.address).await?;
        loop {
            let bytes = self.reader.next(&mut self.ssh, &self.address).await?;
            let parsed = parse_server_message(&bytes, &self.reader.limits).map_err(|source| {
                ClientError::MalformedMessage {
                    address: self.address.clone(),
                    source,
                }
            })?;
            match parsed {
                ServerMessage::Notification(_) => {
                    tracing::debug!(address = %self.address, "skipping a notification");
                }
                ServerMessage::Hello(_) => {
                    return Err(self.unexpected("a second <hello> instead of a reply".into()));
                }
                ServerMessage::Reply(reply) if reply.answers(&id) => return Ok(reply),
                ServerMessage::Reply(reply) => {
                    return Err(self.unexpected(format!(
                        "reply carries message-id {:?}, expected {id}",
                        reply.message_id.unwrap_or_default()
                    )));
                }
            }
        }
    }

    fn unexpected(&self, reason: String) -> ClientError {
        ClientError::UnexpectedReply {
            address: self.address.clone(),
            reason,
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

    fn framing(&self) -> Framing {
        self.reader.decoder.framing()
    }

    fn is_usable(&self) -> bool {
        !self.broken && !self.ssh.is_closed()
    }

    async fn rpc(&mut self, rpc: &Rpc) -> Result<RpcReply, ClientError> {
        if !self.is_usable() {
            return Err(ClientError::Closed {
                address: self.address.clone(),
                reason: "the session is no longer usable".into(),
            });
        }
        let operation = rpc.name();
        let result = match tokio::time::timeout(self.rpc_timeout, self.exchange(rpc)).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::RpcTimeout {
                address: self.address.clone(),
                operation: operation.to_owned(),
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
        for warning in reply.warnings() {
            tracing::info!(address = %self.address, operation, %warning, "device warning");
        }
        reply.into_result().map_err(|errors| ClientError::Rpc {
            address: self.address.clone(),
            operation,
            errors,
        })
    }

    async fn close(&mut self) {
        if self.is_usable() {
            let bounded = tokio::time::timeout(CLOSE_TIMEOUT, self.exchange(&Rpc::CloseSession));
            if let Ok(Err(e)) = bounded.await {
                tracing::debug!(address = %self.address, error = %e, "close-session failed");
            }
        }
        self.broken = true;
        self.ssh.shutdown().await;
    }
}

/// Frames and sends one message.
async fn send(
    ssh: &mut SshChannel,
    framing: Framing,
    message: &str,
    address: &str,
) -> Result<(), ClientError> {
    let mut out = BytesMut::with_capacity(message.len() + 16);
    framing::encode(framing, message.as_bytes(), &mut out).map_err(|source| {
        ClientError::Framing {
            address: address.to_owned(),
            source,
        }
    })?;
    ssh.send(&out).await
}

// === impl Reader ===

impl Reader {
    /// Reads until one whole message is decoded.
    async fn next(
        &mut self,
        ssh: &mut SshChannel,
        address: &str,
    ) -> Result<bytes::Bytes, ClientError> {
        let framing_err = |source| ClientError::Framing {
            address: address.to_owned(),
            source,
        };
        loop {
            if let Some(message) = self.decoder.decode(&mut self.buffer).map_err(framing_err)? {
                return Ok(message);
            }
            match ssh.recv().await {
                Some(bytes) => self.buffer.extend_from_slice(&bytes),
                None => {
                    return Err(ClientError::Closed {
                        address: address.to_owned(),
                        reason: "the device closed the channel".into(),
                    });
                }
            }
        }
    }
}

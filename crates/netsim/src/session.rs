//! One NETCONF session over an SSH `netconf` subsystem channel: hello exchange, framing
//! (base:1.0 end-of-message, base:1.1 chunked when both sides offer it), and the RPC loop.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use russh::server::Msg;
use russh::{Channel, ChannelMsg};
use tokio_util::sync::CancellationToken;

use super::device::Device;
use super::hello;
use super::locks::SessionId;
use ferrule_netconf::framing::{FrameDecoder, Framing, encode};

/// The largest message a simulated device accepts.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// How long a client has to send its hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a session ended (for the log).
#[derive(Debug)]
enum End {
    /// The client closed the channel or sent `<close-session>`.
    Closed,
    /// The session was killed, the device went unreachable or the simulator stopped.
    Cancelled,
    /// The client broke the protocol; the session is dropped.
    Protocol(String),
    /// The channel failed.
    Channel(russh::Error),
}

/// Serves one session until it ends, then releases everything it held.
pub(crate) async fn run(device: Arc<Device>, mut channel: Channel<Msg>, user: String) {
    if !device.is_reachable() {
        let _ = channel.close().await;
        return;
    }
    let (session_id, cancel) = device.open_session(&user);
    tracing::debug!(device = device.name(), session_id, "NETCONF session opened");
    let end = tokio::select! {
        () = cancel.cancelled() => End::Cancelled,
        end = serve(&device, session_id, &mut channel, &cancel) => end,
    };
    device.end_session(session_id);
    match end {
        End::Closed | End::Cancelled => {
            tracing::debug!(
                device = device.name(),
                session_id,
                ?end,
                "NETCONF session ended"
            );
        }
        End::Protocol(reason) => {
            tracing::info!(device = device.name(), session_id, %reason, "NETCONF session dropped");
        }
        End::Channel(error) => {
            tracing::debug!(device = device.name(), session_id, %error, "NETCONF channel failed");
        }
    }
    let _ = channel.eof().await;
    let _ = channel.close().await;
}

async fn serve(
    device: &Device,
    session_id: SessionId,
    channel: &mut Channel<Msg>,
    cancel: &CancellationToken,
) -> End {
    let server_hello = hello::server_hello(&device.capabilities().uris, session_id);
    if let Err(end) = send(channel, Framing::EndOfMessage, server_hello.as_bytes()).await {
        return end;
    }
    let mut decoder = FrameDecoder::new(MAX_MESSAGE_BYTES);
    let mut framing = Framing::EndOfMessage;
    let mut buffer = BytesMut::new();
    let mut hello_done = false;
    let hello_deadline = tokio::time::Instant::now() + HELLO_TIMEOUT;
    loop {
        loop {
            let message = match decoder.decode(&mut buffer) {
                Ok(Some(message)) => message,
                Ok(None) => break,
                Err(error) => return End::Protocol(error.to_string()),
            };
            if !hello_done {
                match hello::parse_client_hello(&message) {
                    Ok(client) => {
                        if device.capabilities().features.base_1_1 && client.base_1_1 {
                            framing = Framing::Chunked;
                            decoder.set_framing(framing);
                        }
                        hello_done = true;
                        continue;
                    }
                    // RFC 6241 §8.1: a bad or missing hello ends the session.
                    Err(reason) => return End::Protocol(reason.to_string()),
                }
            }
            let reply = device.handle_rpc(session_id, &message);
            let latency = device.latency();
            if !latency.is_zero() {
                tokio::select! {
                    () = cancel.cancelled() => return End::Cancelled,
                    () = tokio::time::sleep(latency) => device.count_delay(latency),
                }
            }
            if let Err(end) = send(channel, framing, reply.xml.as_bytes()).await {
                return end;
            }
            if reply.close {
                return End::Closed;
            }
        }
        let next = if hello_done {
            channel.wait().await
        } else {
            match tokio::time::timeout_at(hello_deadline, channel.wait()).await {
                Ok(next) => next,
                Err(_) => return End::Protocol("no hello from the client".to_owned()),
            }
        };
        match next {
            Some(ChannelMsg::Data { data }) => {
                if buffer.len() + data.len() > MAX_MESSAGE_BYTES + 64 {
                    return End::Protocol("message larger than the limit".to_owned());
                }
                buffer.extend_from_slice(&data);
            }
            Some(ChannelMsg::Eof | ChannelMsg::Close) | None => return End::Closed,
            Some(_) => {}
        }
    }
}

async fn send(channel: &Channel<Msg>, framing: Framing, message: &[u8]) -> Result<(), End> {
    let mut out = BytesMut::with_capacity(message.len() + 32);
    encode(framing, message, &mut out).map_err(|e| End::Protocol(e.to_string()))?;
    channel.data_bytes(out.freeze()).await.map_err(End::Channel)
}

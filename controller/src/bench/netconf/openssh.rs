//! The protocol's floor: OpenSSH's `ssh -s netconf` driven lock-step with the same bytes
//! Ferrule sends, with no XML parsing beyond the server hello.

use std::process::Stdio;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::{BenchError, PeerEnv};
use ferrule_netconf::framing::{self, DEFAULT_MAX_MESSAGE_SIZE, FrameDecoder, Framing};
use ferrule_netconf::hello::{self, Capabilities, ServerHello};
use ferrule_netconf::rpc::{MessageIds, Rpc};
use ferrule_netconf::xml::XmlLimits;

/// A NETCONF session through an `ssh` child process.
#[derive(Debug)]
pub struct OpenSsh {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    decoder: FrameDecoder,
    buffer: BytesMut,
    ids: MessageIds,
}

// === impl OpenSsh ===

impl OpenSsh {
    /// Starts `ssh` (public key login, host key checked against the peer's known_hosts, no
    /// user configuration) and exchanges hellos.
    pub async fn connect(peer: &PeerEnv) -> Result<Self, BenchError> {
        let mut child = Command::new("ssh")
            .args(["-F", "/dev/null", "-q", "-s", "-p"])
            .arg(peer.port.to_string())
            .arg("-i")
            .arg(&peer.key)
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", peer.known_hosts.display()))
            .args([
                "-o",
                "GlobalKnownHostsFile=/dev/null",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
                "-l",
            ])
            .arg(&peer.user)
            .arg(&peer.host)
            .arg("netconf")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| BenchError::Spawn {
                program: "ssh".into(),
                source,
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(BenchError::Protocol("ssh has no stdin/stdout pipes".into()));
        };
        let mut ssh = Self {
            child,
            stdin,
            stdout,
            decoder: FrameDecoder::new(DEFAULT_MAX_MESSAGE_SIZE),
            buffer: BytesMut::new(),
            ids: MessageIds::new(),
        };
        let ours = Capabilities::client_default();
        let hello = hello::client_hello(&ours).map_err(protocol)?;
        ssh.send(Framing::EndOfMessage, &hello).await?;
        let theirs =
            ServerHello::parse(&ssh.receive().await?, &XmlLimits::default()).map_err(protocol)?;
        let framing = Framing::negotiate(ours.iter(), theirs.capabilities.iter());
        ssh.decoder.set_framing(framing);
        Ok(ssh)
    }

    /// Sends `rpc` and waits for its reply, which must carry `<ok/>`.
    pub async fn rpc(&mut self, rpc: &Rpc) -> Result<(), BenchError> {
        let message = rpc.to_xml(&self.ids.next_id()).map_err(protocol)?;
        self.send(self.decoder.framing(), &message).await?;
        let reply = self.receive().await?;
        if reply.windows(4).any(|w| w == b"<ok/") {
            Ok(())
        } else {
            Err(BenchError::Protocol(format!(
                "{} was not answered with <ok/>: {}",
                rpc.name(),
                String::from_utf8_lossy(&reply)
            )))
        }
    }

    /// `<close-session/>`, then waits for `ssh` to exit.
    pub async fn close(mut self) -> Result<(), BenchError> {
        self.rpc(&Rpc::CloseSession).await?;
        drop(self.stdin);
        self.child
            .wait()
            .await
            .map_err(|source| BenchError::Spawn {
                program: "ssh".into(),
                source,
            })?;
        Ok(())
    }

    async fn send(&mut self, framing: Framing, message: &str) -> Result<(), BenchError> {
        let mut out = BytesMut::with_capacity(message.len() + 16);
        framing::encode(framing, message.as_bytes(), &mut out).map_err(protocol)?;
        self.stdin.write_all(&out).await.map_err(io)?;
        self.stdin.flush().await.map_err(io)
    }

    async fn receive(&mut self) -> Result<bytes::Bytes, BenchError> {
        loop {
            if let Some(message) = self.decoder.decode(&mut self.buffer).map_err(protocol)? {
                return Ok(message);
            }
            if self.stdout.read_buf(&mut self.buffer).await.map_err(io)? == 0 {
                return Err(BenchError::Protocol("ssh closed the session".into()));
            }
        }
    }
}

fn protocol(e: impl std::fmt::Display) -> BenchError {
    BenchError::Protocol(e.to_string())
}

fn io(e: std::io::Error) -> BenchError {
    BenchError::Protocol(format!("ssh pipe: {e}"))
}

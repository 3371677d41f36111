//! A small NETCONF client for tests: russh client, the southbound framing codec, lock-step
//! RPCs. It checks the server's host key against an expected fingerprint.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::BytesMut;
use ferrule_netconf::framing::{FrameDecoder, Framing, encode};
use russh::client::{self, Msg};
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::{Channel, ChannelMsg};

/// How the client logs in.
#[derive(Debug, Clone)]
pub enum Login {
    /// Password login.
    Password(String, String),
    /// Public-key login.
    Key(String, Arc<PrivateKey>),
}

impl Login {
    pub fn admin() -> Self {
        Self::Password("admin".into(), "admin".into())
    }
}

pub struct Verifier {
    expected: Option<String>,
}

impl client::Handler for Verifier {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            return Ok(false);
        };
        let seen = key.fingerprint(HashAlg::Sha256).to_string();
        Ok(self.expected.as_ref().is_none_or(|e| *e == seen))
    }
}

/// One NETCONF session.
pub struct Nc {
    handle: client::Handle<Verifier>,
    channel: Channel<Msg>,
    decoder: FrameDecoder,
    buffer: BytesMut,
    framing: Framing,
    next_id: u64,
    /// The session-id from the server's hello.
    pub session_id: u32,
    /// The server's hello.
    pub hello: String,
}

const BASE_11_HELLO: &str = "<hello xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><capabilities>\
    <capability>urn:ietf:params:netconf:base:1.0</capability>\
    <capability>urn:ietf:params:netconf:base:1.1</capability></capabilities></hello>";
const BASE_10_HELLO: &str = "<hello xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><capabilities>\
    <capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>";

/// Opens an SSH connection and logs in; `Err` when login is refused.
pub async fn ssh(
    addr: SocketAddr,
    login: &Login,
    fingerprint: Option<&str>,
) -> anyhow::Result<client::Handle<Verifier>> {
    let config = Arc::new(client::Config {
        inactivity_timeout: Some(Duration::from_secs(30)),
        nodelay: true,
        ..Default::default()
    });
    let verifier = Verifier {
        expected: fingerprint.map(str::to_owned),
    };
    let mut handle = client::connect(config, addr, verifier).await?;
    let result = match login {
        Login::Password(user, password) => handle.authenticate_password(user, password).await?,
        Login::Key(user, key) => {
            handle
                .authenticate_publickey(user, PrivateKeyWithHashAlg::new(key.clone(), None))
                .await?
        }
    };
    if !result.success() {
        bail!("login refused");
    }
    Ok(handle)
}

impl Nc {
    /// Connects, opens the `netconf` subsystem and exchanges hellos (base:1.1 when `chunked`).
    pub async fn connect_with(
        addr: SocketAddr,
        login: &Login,
        fingerprint: Option<&str>,
        chunked: bool,
    ) -> anyhow::Result<Self> {
        let mut nc = Self::open(addr, login, fingerprint).await?;
        let hello = if chunked {
            BASE_11_HELLO
        } else {
            BASE_10_HELLO
        };
        nc.send(hello.as_bytes()).await?;
        if chunked && nc.hello.contains("urn:ietf:params:netconf:base:1.1") {
            nc.framing = Framing::Chunked;
            nc.decoder.set_framing(Framing::Chunked);
        }
        Ok(nc)
    }

    /// Opens the subsystem and reads the server's hello, without sending one.
    pub async fn open(
        addr: SocketAddr,
        login: &Login,
        fingerprint: Option<&str>,
    ) -> anyhow::Result<Self> {
        let handle = ssh(addr, login, fingerprint).await?;
        let channel = handle.channel_open_session().await?;
        channel.request_subsystem(true, "netconf").await?;
        let mut nc = Self {
            handle,
            channel,
            decoder: FrameDecoder::new(64 * 1024 * 1024),
            buffer: BytesMut::new(),
            framing: Framing::EndOfMessage,
            next_id: 1,
            session_id: 0,
            hello: String::new(),
        };
        nc.hello = nc.recv().await?;
        nc.session_id = between(&nc.hello, "<session-id>", "</session-id>")
            .context("no session-id in hello")?
            .parse()?;
        Ok(nc)
    }

    /// [`Nc::connect_with`] as admin/admin with chunked framing.
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        Self::connect_with(addr, &Login::admin(), None, true).await
    }

    /// Sends one framed message.
    pub async fn send(&mut self, message: &[u8]) -> anyhow::Result<()> {
        let mut out = BytesMut::new();
        encode(self.framing, message, &mut out)?;
        self.channel.data_bytes(out.freeze()).await?;
        Ok(())
    }

    /// Sends raw bytes, unframed.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.channel.data_bytes(bytes.to_vec()).await?;
        Ok(())
    }

    /// Receives one message (10 s at most).
    pub async fn recv(&mut self) -> anyhow::Result<String> {
        tokio::time::timeout(Duration::from_secs(10), self.recv_inner())
            .await
            .context("no reply within 10 s")?
    }

    async fn recv_inner(&mut self) -> anyhow::Result<String> {
        loop {
            if let Some(message) = self.decoder.decode(&mut self.buffer)? {
                return Ok(String::from_utf8(message.to_vec())?);
            }
            match self.channel.wait().await {
                Some(ChannelMsg::Data { data }) => self.buffer.extend_from_slice(&data),
                Some(ChannelMsg::Eof | ChannelMsg::Close) | None => bail!("session closed"),
                Some(_) => {}
            }
        }
    }

    /// Whether the server closes the session within `wait`.
    pub async fn closed_within(&mut self, wait: Duration) -> bool {
        matches!(
            tokio::time::timeout(wait, self.recv_inner()).await,
            Ok(Err(_))
        )
    }

    /// Sends `<rpc>` around `body` and returns the reply.
    pub async fn rpc(&mut self, body: &str) -> anyhow::Result<String> {
        let id = self.next_id;
        self.next_id += 1;
        let message = format!(
            "<rpc message-id=\"{id}\" xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\">{body}</rpc>"
        );
        self.send(message.as_bytes()).await?;
        let reply = self.recv().await?;
        if !reply.contains(&format!("message-id=\"{id}\"")) {
            bail!("reply without message-id {id}: {reply}");
        }
        Ok(reply)
    }

    /// Like [`Nc::rpc`], failing unless the reply is `<ok/>`.
    pub async fn ok(&mut self, body: &str) -> anyhow::Result<()> {
        let reply = self.rpc(body).await?;
        if !reply.contains("<ok/>") {
            bail!("expected <ok/> for {body}: {reply}");
        }
        Ok(())
    }

    /// Whether the framing switched to chunked.
    pub fn chunked(&self) -> bool {
        self.framing == Framing::Chunked
    }

    /// Closes the session politely.
    pub async fn close(mut self) -> anyhow::Result<()> {
        self.ok("<close-session/>").await?;
        let _ = self
            .handle
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await;
        Ok(())
    }
}

/// The text between `start` and `end`.
pub fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(&text[from..to])
}

/// `<edit-config>` of `config` into `target`.
pub fn edit(target: &str, config: &str) -> String {
    format!("<edit-config><target><{target}/></target><config>{config}</config></edit-config>")
}

/// An ietf-interfaces sub-interface as the ietf templates render it.
pub fn subif(name: &str, down: u32, up: u32) -> String {
    format!(
        "<interfaces xmlns=\"urn:ietf:params:xml:ns:yang:ietf-interfaces\"><interface><name>{name}</name>\
         <description>cust c sub s {down}/{up} Mbps</description>\
         <type xmlns:ianaift=\"urn:ietf:params:xml:ns:yang:iana-if-type\">ianaift:l2vlan</type>\
         <enabled>true</enabled></interface></interfaces>"
    )
}

/// `<get-config>` of `source`.
pub fn get_config(source: &str) -> String {
    format!("<get-config><source><{source}/></source></get-config>")
}

//! The SSH side of a simulated device: one accept loop per device on the shared runtime,
//! russh server sessions, password and public-key login, and the `netconf` subsystem.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use russh::server::{Auth, ChannelOpenHandle, Msg, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, MethodKind, MethodSet};
use tokio::net::{TcpListener, TcpStream};

use super::auth::Accounts;
use super::device::Device;
use super::session;

/// How many session channels one SSH connection may open.
const MAX_CHANNELS: usize = 4;
/// How long a failed login waits before the reply, as real servers do.
const AUTH_REJECTION_TIME: Duration = Duration::from_millis(300);
/// How long to wait before binding a listener again after the port was busy.
const REBIND_BACKOFF: Duration = Duration::from_millis(200);

/// The russh server configuration of one device.
pub(crate) fn server_config(
    host_key: russh::keys::PrivateKey,
    accounts: &Accounts,
) -> russh::server::Config {
    let mut methods = MethodSet::empty();
    if accounts.any_password() {
        methods.push(MethodKind::Password);
    }
    if accounts.any_key() {
        methods.push(MethodKind::PublicKey);
    }
    russh::server::Config {
        methods,
        auth_rejection_time: AUTH_REJECTION_TIME,
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![host_key],
        inactivity_timeout: Some(Duration::from_secs(3600)),
        nodelay: true,
        ..Default::default()
    }
}

/// Accepts connections for `device` until shutdown. While the device is unreachable the
/// listening socket is closed, so that connections are refused as by a dead device.
pub(crate) async fn serve(device: Arc<Device>, listener: TcpListener) {
    let mut reachable = device.watch_reachable();
    let mut listener = Some(listener);
    loop {
        let current = listener.take();
        match current {
            Some(sock) => {
                tokio::select! {
                    () = device.shutdown_token().cancelled() => return,
                    changed = reachable.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        if *reachable.borrow_and_update() {
                            listener = Some(sock);
                        }
                    }
                    accepted = sock.accept() => {
                        match accepted {
                            Ok((stream, peer)) => {
                                tokio::spawn(connection(device.clone(), stream, peer));
                            }
                            // Out of file descriptors and the like: back off instead of spinning.
                            Err(error) => {
                                tracing::warn!(device = device.name(), %error, "accept failed");
                                tokio::time::sleep(REBIND_BACKOFF).await;
                            }
                        }
                        listener = Some(sock);
                    }
                }
            }
            None => {
                if !*reachable.borrow_and_update() {
                    tokio::select! {
                        () = device.shutdown_token().cancelled() => return,
                        changed = reachable.changed() => {
                            if changed.is_err() {
                                return;
                            }
                        }
                    }
                    continue;
                }
                match TcpListener::bind(device.addr()).await {
                    Ok(sock) => listener = Some(sock),
                    Err(error) => {
                        tracing::warn!(device = device.name(), %error, "cannot listen again; retrying");
                        tokio::select! {
                            () = device.shutdown_token().cancelled() => return,
                            () = tokio::time::sleep(REBIND_BACKOFF) => {}
                        }
                    }
                }
            }
        }
    }
}

/// Runs one SSH connection to its end.
async fn connection(device: Arc<Device>, stream: TcpStream, peer: SocketAddr) {
    if !device.is_reachable() {
        return;
    }
    let _ = stream.set_nodelay(true);
    let handler = Connection {
        device: device.clone(),
        peer,
        user: None,
        channels: HashMap::new(),
    };
    let running = match russh::server::run_stream(device.ssh_config(), stream, handler).await {
        Ok(running) => running,
        Err(error) => {
            tracing::debug!(device = device.name(), %peer, %error, "SSH handshake failed");
            return;
        }
    };
    let id = device.register_connection(running.handle());
    if let Err(error) = running.await {
        tracing::debug!(device = device.name(), %peer, %error, "SSH connection ended with an error");
    }
    device.unregister_connection(id);
}

/// The russh handler of one connection.
struct Connection {
    device: Arc<Device>,
    peer: SocketAddr,
    user: Option<String>,
    channels: HashMap<ChannelId, Channel<Msg>>,
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        if self.device.accounts().password_ok(user, password) {
            self.user = Some(user.to_owned());
            Ok(Auth::Accept)
        } else {
            tracing::info!(device = self.device.name(), peer = %self.peer, "password login refused");
            Ok(Auth::reject())
        }
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: russh::server::PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        if self.device.accounts().key_ok(user, offer.public_key) {
            Ok(Auth::Accept)
        } else {
            Ok(Auth::reject())
        }
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        if self.device.accounts().key_ok(user, key.public_key) {
            self.user = Some(user.to_owned());
            Ok(Auth::Accept)
        } else {
            tracing::info!(device = self.device.name(), peer = %self.peer, "key login refused");
            Ok(Auth::reject())
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.channels.len() >= MAX_CHANNELS {
            reply
                .reject(russh::ChannelOpenFailure::ResourceShortage)
                .await;
            return Ok(());
        }
        self.channels.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let user = self.user.clone().unwrap_or_default();
        match (name, self.channels.remove(&channel)) {
            ("netconf", Some(chan)) => {
                session.channel_success(channel)?;
                tokio::spawn(session::run(self.device.clone(), chan, user));
            }
            (_, chan) => {
                if let Some(chan) = chan {
                    self.channels.insert(channel, chan);
                }
                session.channel_failure(channel)?;
            }
        }
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.remove(&channel);
        Ok(())
    }
}

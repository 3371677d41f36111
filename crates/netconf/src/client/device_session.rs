//! The operations Ferrule performs on a device, independent of how bytes reach it.
//!
//! An implementation provides the session facts and [`DeviceSession::rpc`]; every NETCONF
//! operation has a default built on [`DeviceSession::request`], which first checks that the
//! device announced what the operation needs ([`required_capability`]). Tests substitute their
//! own implementation of `rpc`.

use std::future::Future;
use std::time::Duration;

use super::error::ClientError;
use crate::framing::Framing;
use crate::hello::{
    BASE_1_1, CANDIDATE, CONFIRMED_COMMIT_1_0, CONFIRMED_COMMIT_1_1, Capabilities,
    ROLLBACK_ON_ERROR, STARTUP, VALIDATE_1_0, VALIDATE_1_1, WRITABLE_RUNNING, XPATH,
};
use crate::reply::RpcReply;
use crate::rpc::{Commit, Datastore, EditConfig, ErrorOption, Filter, Rpc};
use crate::xml::Element;

/// A NETCONF session with one device. Operations take `&mut self`: one request at a time.
pub trait DeviceSession: Send + std::fmt::Debug {
    /// `host:port` of the device.
    fn address(&self) -> &str;

    /// The session id the device assigned in its hello.
    fn session_id(&self) -> u32;

    /// What the device announced in its hello.
    fn capabilities(&self) -> &Capabilities;

    /// The negotiated framing: [`Framing::Chunked`] means the session runs base:1.1.
    fn framing(&self) -> Framing;

    /// Whether the session can still carry requests (not closed, not broken by a timeout or a
    /// framing error, SSH connection alive).
    fn is_usable(&self) -> bool;

    /// Sends one RPC and returns the reply, without checking capabilities. A reply carrying an
    /// rpc-error of severity error is returned as [`ClientError::Rpc`].
    fn rpc(&mut self, rpc: &Rpc) -> impl Future<Output = Result<RpcReply, ClientError>> + Send;

    /// Ends the session politely (`<close-session/>`, then the SSH connection).
    fn close(&mut self) -> impl Future<Output = ()> + Send;

    /// Sends `rpc` after checking that the device announced what it needs; a missing
    /// capability is [`ClientError::MissingCapability`] and nothing is sent.
    fn request(&mut self, rpc: Rpc) -> impl Future<Output = Result<RpcReply, ClientError>> + Send {
        async move {
            if let Some(capability) = required_capability(&rpc, self.capabilities(), self.framing())
            {
                return Err(ClientError::MissingCapability {
                    address: self.address().to_owned(),
                    capability,
                    operation: rpc.name().to_owned(),
                });
            }
            self.rpc(&rpc).await
        }
    }

    /// `<get-config>`: the elements inside `<data>`.
    fn get_config(
        &mut self,
        source: Datastore,
        filter: Option<Filter>,
    ) -> impl Future<Output = Result<Vec<Element>, ClientError>> + Send {
        async move {
            let reply = self.request(Rpc::GetConfig { source, filter }).await?;
            data_of(self.address(), reply, "get-config")
        }
    }

    /// `<get>` (configuration and state): the elements inside `<data>`.
    fn get(
        &mut self,
        filter: Option<Filter>,
    ) -> impl Future<Output = Result<Vec<Element>, ClientError>> + Send {
        async move {
            let reply = self.request(Rpc::Get { filter }).await?;
            data_of(self.address(), reply, "get")
        }
    }

    /// `<edit-config>`. The payload must be self-contained: it declares every namespace it
    /// uses, including the `nc` prefix of `nc:operation` attributes (as
    /// [`crate::tree::Edit::to_xml`] writes it).
    fn edit_config(
        &mut self,
        edit: EditConfig,
    ) -> impl Future<Output = Result<(), ClientError>> + Send {
        async move { self.request(Rpc::EditConfig(edit)).await.map(drop) }
    }

    /// `<lock>`.
    fn lock(&mut self, target: Datastore) -> impl Future<Output = Result<(), ClientError>> + Send {
        async move { self.request(Rpc::Lock { target }).await.map(drop) }
    }

    /// `<unlock>`.
    fn unlock(
        &mut self,
        target: Datastore,
    ) -> impl Future<Output = Result<(), ClientError>> + Send {
        async move { self.request(Rpc::Unlock { target }).await.map(drop) }
    }

    /// `<commit/>`: candidate becomes running (also confirms a pending non-persistent
    /// confirmed commit of this session).
    fn commit(&mut self) -> impl Future<Output = Result<(), ClientError>> + Send {
        async move { self.request(Rpc::Commit(Commit::plain())).await.map(drop) }
    }

    /// A confirmed commit the device rolls back after `timeout` (rounded up to whole seconds)
    /// unless confirmed. With `persist`, the pending commit survives this session and is
    /// confirmed or cancelled by that id (needs `:confirmed-commit:1.1` on a base:1.1 session).
    fn commit_confirmed(
        &mut self,
        timeout: Duration,
        persist: Option<&str>,
    ) -> impl Future<Output = Result<(), ClientError>> + Send {
        let commit = Commit::confirmed(confirm_timeout_secs(timeout), persist.map(str::to_owned));
        async move { self.request(Rpc::Commit(commit)).await.map(drop) }
    }

    /// The confirming commit: `<commit/>`, or `<commit><persist-id>` for a persistent one
    /// (which any session may send).
    fn confirm_commit(
        &mut self,
        persist_id: Option<&str>,
    ) -> impl Future<Output = Result<(), ClientError>> + Send {
        let commit = persist_id.map_or_else(Commit::plain, Commit::confirm);
        async move { self.request(Rpc::Commit(commit)).await.map(drop) }
    }

    /// `<cancel-commit>`: rolls back a pending confirmed commit now.
    fn cancel_commit(
        &mut self,
        persist_id: Option<&str>,
    ) -> impl Future<Output = Result<(), ClientError>> + Send {
        let persist_id = persist_id.map(str::to_owned);
        async move {
            self.request(Rpc::CancelCommit { persist_id })
                .await
                .map(drop)
        }
    }

    /// `<discard-changes/>`: candidate reverts to running.
    fn discard_changes(&mut self) -> impl Future<Output = Result<(), ClientError>> + Send {
        async move { self.request(Rpc::DiscardChanges).await.map(drop) }
    }

    /// `<validate>`.
    fn validate(
        &mut self,
        source: Datastore,
    ) -> impl Future<Output = Result<(), ClientError>> + Send {
        async move { self.request(Rpc::Validate { source }).await.map(drop) }
    }
}

/// The capability `rpc` needs and the device did not announce, if any.
///
/// The 1.1 additions of confirmed commit (`persist`, `persist-id`, `cancel-commit`) also need
/// a base:1.1 session: netconfd rejects them on base:1.0 although it announces the
/// capability.
pub fn required_capability(rpc: &Rpc, caps: &Capabilities, framing: Framing) -> Option<String> {
    let missing = |uri: &str| (!caps.has(uri)).then(|| uri.to_owned());
    let datastore = |store: Datastore| match store {
        Datastore::Running => None,
        Datastore::Candidate => missing(CANDIDATE),
        Datastore::Startup => missing(STARTUP),
    };
    let filter = |filter: &Option<Filter>| match filter {
        Some(Filter::XPath { .. }) => missing(XPATH),
        _ => None,
    };
    let confirmed_1_1 = || {
        missing(CONFIRMED_COMMIT_1_1).or_else(|| {
            (framing != Framing::Chunked)
                .then(|| format!("{BASE_1_1} (this session runs base:1.0)"))
        })
    };
    match rpc {
        Rpc::GetConfig { source, filter: f } => datastore(*source).or_else(|| filter(f)),
        Rpc::Get { filter: f } => filter(f),
        Rpc::EditConfig(edit) => match edit.target {
            Datastore::Running => missing(WRITABLE_RUNNING),
            other => datastore(other),
        }
        .or_else(|| match edit.error_option {
            Some(ErrorOption::RollbackOnError) => missing(ROLLBACK_ON_ERROR),
            _ => None,
        }),
        Rpc::Lock { target } | Rpc::Unlock { target } => datastore(*target),
        Rpc::Commit(commit) => missing(CANDIDATE)
            .or_else(|| {
                (commit.confirmed && !caps.confirmed_commit())
                    .then(|| CONFIRMED_COMMIT_1_0.to_owned())
            })
            .or_else(|| {
                (commit.persist.is_some() || commit.persist_id.is_some())
                    .then(confirmed_1_1)
                    .flatten()
            }),
        Rpc::CancelCommit { .. } => confirmed_1_1(),
        Rpc::DiscardChanges => missing(CANDIDATE),
        Rpc::Validate { source } => (!caps.validate())
            .then(|| format!("{VALIDATE_1_0} or {VALIDATE_1_1}"))
            .or_else(|| datastore(*source)),
        Rpc::CloseSession | Rpc::KillSession { .. } => None,
    }
}

/// Whole seconds for `<confirm-timeout>`: rounded up, at least 1.
pub fn confirm_timeout_secs(timeout: Duration) -> u32 {
    let secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
    u32::try_from(secs.max(1)).unwrap_or(u32::MAX)
}

/// The `<data>` of a reply, or an error naming the operation when it is missing.
fn data_of(address: &str, reply: RpcReply, operation: &str) -> Result<Vec<Element>, ClientError> {
    reply.data.ok_or_else(|| ClientError::UnexpectedReply {
        address: address.to_owned(),
        reason: format!("{operation} reply has no <data>"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hello::BASE_1_0;

    #[test]
    fn confirm_timeout_rounds_up() {
        assert_eq!(confirm_timeout_secs(Duration::ZERO), 1);
        assert_eq!(confirm_timeout_secs(Duration::from_millis(1500)), 2);
        assert_eq!(confirm_timeout_secs(Duration::from_secs(600)), 600);
        assert_eq!(
            confirm_timeout_secs(Duration::from_secs(u64::MAX)),
            u32::MAX
        );
    }

    #[test]
    fn persist_needs_confirmed_commit_1_1_on_a_base_1_1_session() {
        let caps = Capabilities::new([BASE_1_0, BASE_1_1, CANDIDATE, CONFIRMED_COMMIT_1_1]);
        let persist = Rpc::Commit(Commit::confirmed(5, Some("tx".into())));
        assert_eq!(required_capability(&persist, &caps, Framing::Chunked), None);
        let on_1_0 = required_capability(&persist, &caps, Framing::EndOfMessage).unwrap();
        assert!(on_1_0.contains("base:1.0"), "{on_1_0}");
        let cancel = Rpc::CancelCommit { persist_id: None };
        assert!(required_capability(&cancel, &caps, Framing::EndOfMessage).is_some());

        let old = Capabilities::new([BASE_1_0, CANDIDATE, CONFIRMED_COMMIT_1_0]);
        let plain_confirmed = Rpc::Commit(Commit::confirmed(5, None));
        assert_eq!(
            required_capability(&plain_confirmed, &old, Framing::EndOfMessage),
            None
        );
        assert_eq!(
            required_capability(&persist, &old, Framing::Chunked).as_deref(),
            Some(CONFIRMED_COMMIT_1_1)
        );
    }

    #[test]
    fn datastores_and_options_need_their_capabilities() {
        let caps = Capabilities::new([BASE_1_0, CANDIDATE]);
        let edit = |target, error_option| {
            Rpc::EditConfig(EditConfig {
                target,
                config: String::new(),
                default_operation: None,
                test_option: None,
                error_option,
            })
        };
        let check = |rpc: &Rpc| required_capability(rpc, &caps, Framing::EndOfMessage);
        assert_eq!(check(&edit(Datastore::Candidate, None)), None);
        assert_eq!(
            check(&edit(Datastore::Running, None)).as_deref(),
            Some(WRITABLE_RUNNING)
        );
        assert_eq!(
            check(&edit(
                Datastore::Candidate,
                Some(ErrorOption::RollbackOnError)
            ))
            .as_deref(),
            Some(ROLLBACK_ON_ERROR)
        );
        assert_eq!(
            check(&Rpc::Lock {
                target: Datastore::Startup
            })
            .as_deref(),
            Some(STARTUP)
        );
        assert_eq!(
            check(&Rpc::Lock {
                target: Datastore::Running
            }),
            None
        );
        assert!(
            check(&Rpc::Validate {
                source: Datastore::Candidate
            })
            .is_some()
        );
        let xpath = Rpc::Get {
            filter: Some(Filter::XPath {
                select: "/a".into(),
                namespaces: Vec::new(),
            }),
        };
        assert_eq!(check(&xpath).as_deref(), Some(XPATH));
    }
}

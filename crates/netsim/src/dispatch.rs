//! From a received message to the `<rpc-reply>` text: parse, run, write.

use std::time::Instant;

use ferrule_netconf::xml::{
    Attribute, Element, NETCONF_BASE_NS, XmlLimits, escape_attr, write_element,
};

use super::device::Device;
use super::locks::SessionId;
use super::rpc::{self, Operation};
use super::rpc_error::RpcFailure;
use super::session::MAX_MESSAGE_BYTES;
use super::state::{Body, Outcome};

/// A reply to send, and whether the session ends after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The `<rpc-reply>` document.
    pub xml: String,
    /// Close the session once the reply is sent.
    pub close: bool,
}

// === impl Device (dispatch) ===

impl Device {
    /// Answers one message of session `session`.
    pub(crate) fn handle_rpc(&self, session: SessionId, message: &[u8]) -> Reply {
        self.count_rpc();
        let limits = XmlLimits {
            max_bytes: MAX_MESSAGE_BYTES,
            ..XmlLimits::default()
        };
        let state_rpc = self.state_rpc_name();
        let rpc = match rpc::parse(message, &limits, state_rpc.as_deref()) {
            Ok(rpc) => rpc,
            Err(failure) => {
                return Reply {
                    xml: write_reply(&[], Err(&failure)),
                    close: false,
                };
            }
        };
        let commit = matches!(rpc.operation, Ok(Operation::Commit(_)));
        let result = match rpc.operation {
            Ok(Operation::KillSession(target)) => self.kill(session, target),
            Ok(operation) => {
                let result = self.state().execute(session, operation, Instant::now());
                self.config_touched();
                result
            }
            Err(failure) => Err(failure),
        };
        match result {
            Ok(outcome) => {
                if commit {
                    self.count_commit();
                }
                if let Some(deadline) = outcome.arm {
                    self.arm_confirm_timer(deadline);
                }
                Reply {
                    xml: write_reply(&rpc.attributes, Ok(&outcome)),
                    close: outcome.close,
                }
            }
            Err(failure) => Reply {
                xml: write_reply(&rpc.attributes, Err(&failure)),
                close: false,
            },
        }
    }

    /// `<kill-session>`: ends another session, releasing its locks and rolling back its
    /// unconfirmed commit before the reply (RFC 6241 §7.9).
    fn kill(&self, session: SessionId, target: SessionId) -> Result<Outcome, RpcFailure> {
        if target == session {
            return Err(RpcFailure::invalid_value(
                "a session cannot kill itself; use close-session",
            )
            .with_info("bad-element", "session-id"));
        }
        if !self.end_session(target) {
            return Err(RpcFailure::invalid_value(format!("no session {target}"))
                .with_info("bad-element", "session-id"));
        }
        Ok(Body::Ok.into())
    }

    /// The local name of the vendor RPC that reads state, when the profile uses one.
    fn state_rpc_name(&self) -> Option<String> {
        let spec = &self.model().state;
        if spec.request != ferrule_render::StateRequest::Rpc {
            return None;
        }
        let body = spec.body.trim_start().strip_prefix('<')?;
        let end = body
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .unwrap_or(body.len());
        let name = &body[..end];
        Some(
            name.rsplit_once(':')
                .map_or(name, |(_, local)| local)
                .to_owned(),
        )
    }
}

/// Writes an `<rpc-reply>` echoing the attributes of the `<rpc>` (RFC 6241 §4.2).
fn write_reply(attributes: &[Attribute], result: Result<&Outcome, &RpcFailure>) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("<rpc-reply xmlns=\"");
    out.push_str(NETCONF_BASE_NS);
    out.push('"');
    let mut declared: Vec<(&str, &str)> = Vec::new();
    for attribute in attributes {
        let name = if attribute.ns.is_empty() {
            attribute.name.clone()
        } else {
            let prefix = if attribute.prefix.is_empty() {
                "a"
            } else {
                attribute.prefix.as_str()
            };
            if !declared.contains(&(prefix, attribute.ns.as_str())) {
                out.push_str(&format!(
                    " xmlns:{prefix}=\"{}\"",
                    escape_attr(&attribute.ns)
                ));
                declared.push((prefix, attribute.ns.as_str()));
            }
            format!("{prefix}:{}", attribute.name)
        };
        out.push_str(&format!(" {name}=\"{}\"", escape_attr(&attribute.value)));
    }
    out.push('>');
    match result {
        Err(failure) => out.push_str(&failure.to_xml()),
        Ok(outcome) => match &outcome.body {
            Body::Ok => out.push_str("<ok/>"),
            Body::Data(data) => {
                out.push_str("<data>");
                write_all(data, &mut out);
                out.push_str("</data>");
            }
            Body::Elements(elements) => write_all(elements, &mut out),
        },
    }
    out.push_str("</rpc-reply>");
    out
}

fn write_all(elements: &[Element], out: &mut String) {
    for element in elements {
        write_element(element, NETCONF_BASE_NS, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_echo_attributes() {
        let attributes = vec![
            Attribute {
                ns: String::new(),
                prefix: String::new(),
                name: "message-id".to_owned(),
                value: "7\"".to_owned(),
            },
            Attribute {
                ns: "urn:x".to_owned(),
                prefix: "x".to_owned(),
                name: "trace".to_owned(),
                value: "t".to_owned(),
            },
        ];
        let ok = Outcome::from(Body::Ok);
        assert_eq!(
            write_reply(&attributes, Ok(&ok)),
            "<rpc-reply xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\" message-id=\"7&quot;\" \
             xmlns:x=\"urn:x\" x:trace=\"t\"><ok/></rpc-reply>"
        );
        let failure = RpcFailure::lock_denied(3);
        assert!(write_reply(&[], Err(&failure)).contains("<error-tag>lock-denied</error-tag>"));
    }
}

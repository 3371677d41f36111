//! Property tests: whatever a client sends, the parsers and the device state never panic, and
//! the lock and commit rules keep their invariants.

use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use ferrule_netconf::tree::DefaultOperation;
use ferrule_netconf::xml::{XmlLimits, parse_fragment};
use ferrule_render::ProfileSet;

use super::capabilities::{Offer, capabilities};
use super::commit::CommitRequest;
use super::locks::Datastore;
use super::model::DeviceModel;
use super::rpc::{self, EditRequest, Operation};
use super::state::DeviceState;
use super::topology::{CapabilityOverrides, DeviceSpec};
use super::{filter, hello, traffic};

fn device() -> DeviceState {
    let set = ProfileSet::builtin().unwrap();
    let model = DeviceModel::from_profile(set.get("ietf").unwrap(), None).unwrap();
    let offer = Offer {
        datastore: model.datastore,
        confirmed_commit: model.confirmed_commit,
        rollback_on_error: model.rollback_on_error,
        modules: &model.modules,
    };
    let caps = capabilities(&offer, &CapabilityOverrides::default()).unwrap();
    let spec = DeviceSpec::new("p", "127.0.0.1:0".parse().unwrap());
    DeviceState::new(Arc::new(model), caps.features, &spec)
}

/// One step a client (or the clock) can take.
#[derive(Debug, Clone)]
enum Step {
    Edit {
        session: u32,
        name: u8,
        op: Option<&'static str>,
    },
    Commit {
        session: u32,
        confirmed: bool,
        persist: Option<u8>,
        persist_id: Option<u8>,
    },
    Cancel {
        session: u32,
        persist_id: Option<u8>,
    },
    Lock {
        session: u32,
        candidate: bool,
    },
    Unlock {
        session: u32,
        candidate: bool,
    },
    Discard {
        session: u32,
    },
    Close {
        session: u32,
    },
    Expire {
        generation: u64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let session = 1u32..4;
    let op = prop_oneof![
        Just(None),
        Just(Some("create")),
        Just(Some("delete")),
        Just(Some("remove")),
        Just(Some("replace")),
        Just(Some("merge")),
    ];
    prop_oneof![
        (session.clone(), 0u8..4, op).prop_map(|(session, name, op)| Step::Edit {
            session,
            name,
            op
        }),
        (
            session.clone(),
            any::<bool>(),
            proptest::option::of(0u8..2),
            proptest::option::of(0u8..2)
        )
            .prop_map(|(session, confirmed, persist, persist_id)| Step::Commit {
                session,
                confirmed,
                persist,
                persist_id
            }),
        (session.clone(), proptest::option::of(0u8..2)).prop_map(|(session, persist_id)| {
            Step::Cancel {
                session,
                persist_id,
            }
        }),
        (session.clone(), any::<bool>())
            .prop_map(|(session, candidate)| Step::Lock { session, candidate }),
        (session.clone(), any::<bool>())
            .prop_map(|(session, candidate)| Step::Unlock { session, candidate }),
        session
            .clone()
            .prop_map(|session| Step::Discard { session }),
        session.prop_map(|session| Step::Close { session }),
        (0u64..20).prop_map(|generation| Step::Expire { generation }),
    ]
}

fn store(candidate: bool) -> Datastore {
    if candidate {
        Datastore::Candidate
    } else {
        Datastore::Running
    }
}

fn edit(name: u8, op: Option<&str>) -> Operation {
    let attr = op
        .map(|op| {
            format!(" xmlns:nc=\"urn:ietf:params:xml:ns:netconf:base:1.0\" nc:operation=\"{op}\"")
        })
        .unwrap_or_default();
    let xml = format!(
        "<interfaces xmlns=\"urn:ietf:params:xml:ns:yang:ietf-interfaces\"><interface{attr}>\
         <name>ge-0/0/1.{name}</name><enabled>true</enabled></interface></interfaces>"
    );
    Operation::EditConfig(EditRequest {
        target: Datastore::Candidate,
        default_operation: DefaultOperation::Merge,
        test_only: false,
        rollback_on_error: false,
        config: parse_fragment(&xml, &XmlLimits::default()).unwrap(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn rpc_parser_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = rpc::parse(&bytes, &XmlLimits::default(), Some("get-interface-information"));
        let _ = hello::parse_client_hello(&bytes);
    }

    #[test]
    fn rpc_parser_never_panics_on_rpc_shapes(
        op in "(get|get-config|edit-config|copy-config|lock|unlock|commit|cancel-commit|validate|kill-session|x)",
        inner in "(<(source|target|config|filter|running|candidate|startup|confirmed|persist|persist-id|confirm-timeout|session-id|default-operation|test-option|error-option)( type=\"(subtree|xpath|x)\")?>[a-z0-9-]{0,6}){0,6}",
    ) {
        let mut closing = String::new();
        let mut names: Vec<&str> = inner.match_indices('<').map(|(i, _)| {
            let rest = &inner[i + 1..];
            let end = rest.find([' ', '>']).unwrap_or(rest.len());
            &rest[..end]
        }).collect();
        names.reverse();
        for name in names {
            closing.push_str(&format!("</{name}>"));
        }
        let xml = format!(
            "<rpc message-id=\"1\" xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><{op}>{inner}{closing}</{op}></rpc>"
        );
        let _ = rpc::parse(xml.as_bytes(), &XmlLimits::default(), None);
    }

    #[test]
    fn device_state_keeps_its_invariants(steps in proptest::collection::vec(step(), 1..40)) {
        let mut s = device();
        let now = Instant::now();
        for step in steps {
            match step {
                Step::Edit { session, name, op } => {
                    let _ = s.execute(session, edit(name, op), now);
                }
                Step::Commit { session, confirmed, persist, persist_id } => {
                    let request = CommitRequest {
                        confirmed,
                        timeout: Some(Duration::from_secs(60)),
                        persist: persist.map(|p| format!("p{p}")),
                        persist_id: persist_id.map(|p| format!("p{p}")),
                    };
                    let _ = s.execute(session, Operation::Commit(request), now);
                }
                Step::Cancel { session, persist_id } => {
                    let op = Operation::CancelCommit { persist_id: persist_id.map(|p| format!("p{p}")) };
                    let _ = s.execute(session, op, now);
                }
                Step::Lock { session, candidate } => {
                    let _ = s.execute(session, Operation::Lock(store(candidate)), now);
                }
                Step::Unlock { session, candidate } => {
                    let unlocked = s.execute(session, Operation::Unlock(store(candidate)), now).is_ok();
                    if candidate && unlocked {
                        prop_assert!(!s.stores.candidate_dirty(), "unlock discards the candidate");
                    }
                }
                Step::Discard { session } => {
                    if s.execute(session, Operation::DiscardChanges, now).is_ok() {
                        prop_assert!(!s.stores.candidate_dirty());
                    }
                }
                Step::Close { session } => {
                    s.session_closed(session, now);
                    prop_assert_ne!(s.locks.holder(Datastore::Candidate), Some(session));
                    prop_assert_ne!(s.locks.holder(Datastore::Running), Some(session));
                    if let Some(pending) = s.stores.pending() {
                        prop_assert!(pending.persist.is_some() || pending.session != session);
                    }
                }
                Step::Expire { generation } => {
                    let _ = s.expire_confirmed(generation, now);
                }
            }
        }
    }

    #[test]
    fn filters_and_rates_never_panic(
        data in "(<a xmlns=\"urn:x\">(<b>[a-c]{0,2}</b>|<c><d>[a-c]</d></c>){0,4}</a>){0,3}",
        filter_xml in "(<a( xmlns=\"urn:(x|y)\")?>(<b>[a-c]{0,1}</b>|<c/>|<c><d>[a-c]</d></c>){0,3}</a>){0,2}",
        text in "\\PC{0,64}",
    ) {
        let limits = XmlLimits::default();
        let data = parse_fragment(&data, &limits).unwrap();
        let filter_elements = parse_fragment(&filter_xml, &limits).unwrap();
        let out = filter::apply(&data, &filter_elements);
        prop_assert!(out.len() <= data.len());
        let _ = traffic::rates_from_text(&text);
    }
}

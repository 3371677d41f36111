use proptest::prelude::*;

use super::*;
use crate::framing::{FrameDecoder, Framing, encode};
use crate::rpc_error::{ErrorSeverity, ErrorTag, ErrorType};

fn parse(bytes: &[u8]) -> RpcReply {
    RpcReply::parse(bytes, &XmlLimits::default()).unwrap()
}

#[test]
fn netconfd_invalid_value_is_shown_verbatim() {
    let reply = parse(include_bytes!("../testdata/netconfd-invalid-value.xml"));
    assert_eq!(reply.message_id.as_deref(), Some("1"));
    assert!(!reply.is_success());
    let [error] = &reply.errors[..] else {
        panic!("one error expected: {reply:?}");
    };
    assert_eq!(error.error_type, ErrorType::Protocol);
    assert_eq!(error.error_tag, ErrorTag::InvalidValue);
    assert_eq!(error.error_severity, ErrorSeverity::Error);
    assert_eq!(error.error_app_tag.as_deref(), Some("data-invalid"));
    let path = "/nc:rpc/nc:edit-config/nc:config/if:interfaces/if:interface[if:name='ge-0/0/2']/if:enabled";
    assert_eq!(error.error_path.as_deref(), Some(path));
    assert!(error.error_path_namespaces.contains(&(
        "if".into(),
        "urn:ietf:params:xml:ns:yang:ietf-interfaces".into()
    )));
    let data_path = error.data_path().unwrap();
    let ietf =
        crate::tree::PrefixMap::from_pairs([("if", "urn:ietf:params:xml:ns:yang:ietf-interfaces")])
            .unwrap();
    assert_eq!(
        data_path.format(&ietf),
        "/if:interfaces/if:interface[if:name='ge-0/0/2']/if:enabled"
    );
    let message = error.error_message.as_ref().unwrap();
    assert_eq!(message.text, "invalid value");
    assert_eq!(message.lang.as_deref(), Some("en"));
    let info = error.error_info.as_ref().unwrap();
    assert!(
        info.xml.contains(
            "<bad-value xmlns=\"http://netconfcentral.org/ns/yuma-ncx\">maybe</bad-value>"
        )
    );
    assert_eq!(
        error.to_string(),
        format!(
            "invalid-value at {path}: invalid value (error-type protocol, error-app-tag data-invalid)"
        )
    );
}

#[test]
fn netconfd_lock_denied_names_the_holder() {
    let reply = parse(include_bytes!("../testdata/netconfd-lock-denied.xml"));
    let error = &reply.errors[0];
    assert_eq!(error.error_tag, ErrorTag::LockDenied);
    assert_eq!(error.error_info.as_ref().unwrap().session_id, Some(3));
    assert_eq!(
        error.to_string(),
        "lock-denied: lock denied (error-type protocol, error-app-tag no-access, held by session 3)"
    );
}

#[test]
fn netconfd_data_errors_and_bad_element() {
    let missing = parse(include_bytes!("../testdata/netconfd-data-missing.xml"));
    assert_eq!(missing.errors[0].error_tag, ErrorTag::DataMissing);
    assert_eq!(missing.errors[0].error_type, ErrorType::Application);
    let exists = parse(include_bytes!("../testdata/netconfd-data-exists.xml"));
    assert_eq!(exists.errors[0].error_tag, ErrorTag::DataExists);
    let unknown = parse(include_bytes!("../testdata/netconfd-unknown-element.xml"));
    let info = unknown.errors[0].error_info.as_ref().unwrap();
    assert_eq!(info.bad_element.as_deref(), Some("nc:bogus"));
    assert!(
        unknown.errors[0]
            .to_string()
            .contains("bad-element nc:bogus")
    );
}

#[test]
fn netconfd_reply_with_two_errors() {
    let reply = parse(include_bytes!("../testdata/netconfd-two-errors.xml"));
    assert_eq!(reply.errors.len(), 2);
    let err = reply.clone().into_result().unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains("[if:name='a']/if:enabled: invalid value"));
    assert!(shown.contains("; invalid-value at "));
    assert!(shown.contains("[if:name='b']/if:enabled"));
}

#[test]
fn netconfd_ok_and_data() {
    let ok = parse(include_bytes!("../testdata/netconfd-ok.xml"));
    assert!(ok.ok && ok.is_success() && ok.data.is_none());
    assert!(ok.answers("3") && !ok.answers("4"));
    let data = parse(include_bytes!("../testdata/netconfd-get-config.xml"));
    let elements = data.data.as_ref().unwrap();
    assert_eq!(elements.len(), 2);
    assert!(elements[0].is("urn:ietf:params:xml:ns:yang:ietf-interfaces", "interfaces"));
    let xml = data.data_xml();
    assert!(xml.contains(
        "<type xmlns:ianaift=\"urn:ietf:params:xml:ns:yang:iana-if-type\">ianaift:ethernetCsmacd</type>"
    ));
    assert!(xml.contains("<description>a &amp; b</description>"));
}

const RFC6241_MISSING_ATTRIBUTE: &str = r#"<rpc-reply message-id="101"
     xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"
     xmlns:xc="urn:ietf:params:xml:ns:netconf:base:1.0">
  <rpc-error>
    <error-type>rpc</error-type>
    <error-tag>missing-attribute</error-tag>
    <error-severity>error</error-severity>
    <error-info>
      <bad-attribute>message-id</bad-attribute>
      <bad-element>rpc</bad-element>
    </error-info>
  </rpc-error>
</rpc-reply>"#;

const RFC6241_TWO_ERRORS: &str = r#"<rpc-reply message-id="101"
  xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"
  xmlns:xc="urn:ietf:params:xml:ns:netconf:base:1.0">
  <rpc-error>
    <error-type>application</error-type>
    <error-tag>invalid-value</error-tag>
    <error-severity>error</error-severity>
    <error-path xmlns:t="http://example.com/schema/1.2/config">
      /t:top/t:interface[t:name="Ethernet0/0"]/t:mtu
    </error-path>
    <error-message xml:lang="en">
      MTU value 25000 is not within range 256..9192
    </error-message>
  </rpc-error>
  <rpc-error>
    <error-type>application</error-type>
    <error-tag>invalid-value</error-tag>
    <error-severity>error</error-severity>
    <error-path xmlns:t="http://example.com/schema/1.2/config">
      /t:top/t:interface[t:name="Ethernet1/0"]/t:address/t:name
    </error-path>
    <error-message xml:lang="en">
      Invalid IP address for interface Ethernet1/0
    </error-message>
  </rpc-error>
</rpc-reply>"#;

#[test]
fn rfc6241_examples() {
    let reply = parse(RFC6241_MISSING_ATTRIBUTE.as_bytes());
    let error = &reply.errors[0];
    assert_eq!(error.error_type, ErrorType::Rpc);
    assert_eq!(error.error_tag, ErrorTag::MissingAttribute);
    let info = error.error_info.as_ref().unwrap();
    assert_eq!(info.bad_attribute.as_deref(), Some("message-id"));
    assert_eq!(info.bad_element.as_deref(), Some("rpc"));

    let reply = parse(RFC6241_TWO_ERRORS.as_bytes());
    assert_eq!(reply.errors.len(), 2);
    assert_eq!(
        reply.errors[0].error_path.as_deref(),
        Some("/t:top/t:interface[t:name=\"Ethernet0/0\"]/t:mtu")
    );
    assert_eq!(
        reply.errors[0].error_message.as_ref().unwrap().text,
        "MTU value 25000 is not within range 256..9192"
    );
    assert_eq!(
        reply.errors[1].data_path().unwrap().steps.len(),
        4,
        "top / interface[name] / address / name"
    );
    assert_eq!(
        reply.errors[0].error_path_namespaces,
        [(
            "t".to_owned(),
            "http://example.com/schema/1.2/config".to_owned()
        )]
    );

    let ok = parse(br#"<rpc-reply message-id="101" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><ok/></rpc-reply>"#);
    assert!(ok.ok);
}

#[test]
fn warnings_do_not_fail_the_reply() {
    let xml = r#"<rpc-reply message-id="5" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">
      <rpc-error><error-type>application</error-type><error-tag>operation-failed</error-tag>
      <error-severity>warning</error-severity><error-message>deprecated leaf</error-message></rpc-error>
      <ok/></rpc-reply>"#;
    let reply = parse(xml.as_bytes());
    assert!(reply.ok && reply.is_success());
    assert_eq!(reply.warnings().count(), 1);
    assert_eq!(reply.failures().count(), 0);
    assert_eq!(
        reply.errors[0].to_string(),
        "warning: operation-failed: deprecated leaf (error-type application)"
    );
    assert!(reply.into_result().is_ok());
}

#[test]
fn prefixed_envelopes_are_read_by_namespace() {
    let xml = r#"<nc:rpc-reply message-id="7" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:if="urn:x-if"><nc:data><if:interfaces><if:name>a &amp; b</if:name></if:interfaces></nc:data></nc:rpc-reply>"#;
    let reply = parse(xml.as_bytes());
    assert!(reply.answers("7"));
    assert_eq!(
        reply.data_xml(),
        r#"<interfaces xmlns="urn:x-if"><name>a &amp; b</name></interfaces>"#
    );
}

#[test]
fn rpc_errors_survive_a_json_round_trip_with_rfc_spellings() {
    let reply = parse(include_bytes!("../testdata/netconfd-invalid-value.xml"));
    let errors = reply.into_result().unwrap_err();
    let json = serde_json::to_value(&errors).unwrap();
    assert_eq!(json[0]["errorTag"], "invalid-value");
    assert_eq!(json[0]["errorType"], "protocol");
    assert_eq!(json[0]["errorSeverity"], "error");
    let back: RpcErrors = serde_json::from_value(json).unwrap();
    assert_eq!(back, errors);
}

#[test]
fn replies_round_trip_through_to_xml() {
    for fixture in [
        &include_bytes!("../testdata/netconfd-invalid-value.xml")[..],
        include_bytes!("../testdata/netconfd-lock-denied.xml"),
        include_bytes!("../testdata/netconfd-two-errors.xml"),
        include_bytes!("../testdata/netconfd-get-config.xml"),
        RFC6241_TWO_ERRORS.as_bytes(),
    ] {
        let reply = parse(fixture);
        let again = parse(reply.to_xml().as_bytes());
        assert_eq!(again, reply);
    }
}

#[test]
fn oversized_reply_is_refused() {
    let limits = XmlLimits {
        max_bytes: 64,
        ..XmlLimits::default()
    };
    let fixture = include_bytes!("../testdata/netconfd-get-config.xml");
    assert!(matches!(
        RpcReply::parse(fixture, &limits),
        Err(MessageError::Xml(_))
    ));
}

fn small_limits() -> XmlLimits {
    XmlLimits {
        max_bytes: 4096,
        max_depth: 16,
        max_elements: 256,
        max_name_len: 64,
        max_attributes: 8,
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = RpcReply::parse(&bytes, &small_limits());
        let _ = crate::message::parse_server_message(&bytes, &small_limits());
    }

    #[test]
    fn mutated_real_replies_never_panic(
        fixture in 0usize..4,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        cut in any::<usize>(),
    ) {
        let fixtures: [&[u8]; 4] = [
            include_bytes!("../testdata/netconfd-invalid-value.xml"),
            include_bytes!("../testdata/netconfd-lock-denied.xml"),
            include_bytes!("../testdata/netconfd-get-config.xml"),
            include_bytes!("../testdata/netconfd-hello.xml"),
        ];
        let mut bytes = fixtures[fixture].to_vec();
        for (at, byte) in edits {
            let at = at % bytes.len();
            bytes[at] = byte;
        }
        bytes.truncate(cut % (bytes.len() + 1));
        let _ = RpcReply::parse(&bytes, &XmlLimits::default());
        let _ = crate::message::parse_server_message(&bytes, &small_limits());
    }

    #[test]
    fn xml_soup_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("<rpc-reply xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\">"),
                Just("</rpc-reply>"),
                Just("<rpc-error>"),
                Just("</rpc-error>"),
                Just("<error-info><session-id>"),
                Just("</session-id></error-info>"),
                Just("<error-path xmlns:p=\"urn:p\">p:x"),
                Just("</error-path>"),
                Just("<data><a xmlns=\"urn:a\">"),
                Just("</a></data>"),
                Just("<ok/>"),
                Just("&amp;&#0;&#x110000;&bogus;"),
                Just("<![CDATA[x]]>"),
                Just("<p:q>"),
                Just("text"),
            ],
            0..24,
        ),
    ) {
        let doc: String = parts.concat();
        let _ = RpcReply::parse(doc.as_bytes(), &small_limits());
    }

    #[test]
    fn framed_replies_parse_the_same_after_any_split(
        fixture in 0usize..3,
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let fixtures: [&[u8]; 3] = [
            include_bytes!("../testdata/netconfd-invalid-value.xml"),
            include_bytes!("../testdata/netconfd-two-errors.xml"),
            include_bytes!("../testdata/netconfd-get-config.xml"),
        ];
        let original = fixtures[fixture];
        let mut stream = bytes::BytesMut::new();
        encode(Framing::Chunked, original, &mut stream).unwrap();
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
        points.push(stream.len());
        points.sort_unstable();
        let mut decoder = FrameDecoder::new(1 << 16);
        decoder.set_framing(Framing::Chunked);
        let mut src = bytes::BytesMut::new();
        let mut at = 0;
        let mut got = Vec::new();
        for point in points {
            src.extend_from_slice(&stream[at..point]);
            at = point;
            while let Some(message) = decoder.decode(&mut src).unwrap() {
                got.push(message);
            }
        }
        prop_assert_eq!(got.len(), 1);
        prop_assert_eq!(
            RpcReply::parse(&got[0], &XmlLimits::default()).unwrap(),
            RpcReply::parse(original, &XmlLimits::default()).unwrap()
        );
    }
}

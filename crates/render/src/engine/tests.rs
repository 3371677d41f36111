//! Tests of the renderer: escaping, typed errors, role parts.

use quick_xml::Reader;
use quick_xml::events::Event;

use super::*;
use crate::Ipv4Prefix;
use crate::xml_check::{Namespaces, check_payload};

const IETF: &str = include_str!("../../../../device-profiles/ietf.yaml");

fn input() -> RenderInput {
    RenderInput {
        customer: "acme".to_owned(),
        subscription: "s1".to_owned(),
        namespace: "isp-a".to_owned(),
        product: "fiber-500".to_owned(),
        parameters: BTreeMap::from([
            ("downMbps".to_owned(), ParamValue::Integer(500)),
            ("upMbps".to_owned(), ParamValue::Integer(100)),
        ]),
        access: Attachment {
            device: "olt1".to_owned(),
            port: "ge-0/0/1".to_owned(),
        },
        bng: Some(Attachment {
            device: "bng1".to_owned(),
            port: "xe-1/0/0".to_owned(),
        }),
        vlan: 1203,
        ipv4: Some("198.51.100.8/29".parse::<Ipv4Prefix>().unwrap()),
        suspended: false,
    }
}

fn renderer() -> Renderer {
    Renderer::builtin().unwrap()
}

/// A renderer with the ietf profile and custom templates for it.
fn custom(active: &str, suspended: &str) -> Result<Renderer, RenderError> {
    let set = ProfileSet::from_sources(
        [("ietf".to_owned(), "ietf.yaml".to_owned(), IETF.to_owned())],
        [
            ("ietf/internet-access.xml".to_owned(), active.to_owned()),
            (
                "ietf/internet-access-suspended.xml".to_owned(),
                suspended.to_owned(),
            ),
        ],
    )
    .map_err(|source| RenderError::Profiles { source })?;
    Renderer::new(set)
}

/// Text content of every element with this local name, references resolved.
fn texts(xml: &str, local: &str) -> Vec<String> {
    let mut reader = Reader::from_str(xml);
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) if e.local_name().as_ref() == local.as_bytes() => {
                current = Some(String::new());
            }
            Event::Text(t) => {
                if let Some(s) = current.as_mut() {
                    s.push_str(&t.decode().unwrap());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(s) = current.as_mut() {
                    let name = r.decode().unwrap();
                    s.push_str(match name.as_ref() {
                        "lt" => "<",
                        "gt" => ">",
                        "amp" => "&",
                        "apos" => "'",
                        "quot" => "\"",
                        other => panic!("unexpected entity {other}"),
                    });
                }
            }
            Event::End(e) if e.local_name().as_ref() == local.as_bytes() => {
                out.extend(current.take());
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

#[test]
fn every_value_is_xml_escaped() {
    let mut input = input();
    input.customer = "<&\"'>".to_owned();
    input.subscription = "]]><x/>".to_owned();
    for profile in ["ietf", "openconfig", "junos", "iosxr"] {
        let xml = renderer()
            .render(profile, "internet-access", Role::Standalone, &input)
            .unwrap();
        assert!(
            xml.contains("cust &lt;&amp;&quot;&apos;&gt; sub ]]&gt;&lt;x/&gt; 500/100"),
            "{xml}"
        );
        check_payload(&xml, Namespaces::Required).unwrap();
        assert_eq!(
            texts(&xml, "description"),
            ["cust <&\"'> sub ]]><x/> 500/100 Mbps"],
            "{profile}"
        );
    }
}

#[test]
fn escape_function_refuses_control_characters() {
    let mut out = Vec::new();
    escape_xml("a<b", &mut out).unwrap();
    assert_eq!(out, b"a&lt;b");
    assert!(escape_xml("bell\u{7}", &mut Vec::new()).is_err());
    let mut out = Vec::new();
    escape_xml("tab\there é", &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "tab\there é");
}

#[test]
fn roles_select_parts() {
    let r = renderer();
    let access = r
        .render("ietf", "internet-access", Role::Access, &input())
        .unwrap();
    assert!(!access.contains("<ipv4"), "{access}");
    assert_eq!(texts(&access, "name"), ["ge-0/0/1.1203"]);
    let bng = r
        .render("ietf", "internet-access", Role::Bng, &input())
        .unwrap();
    assert_eq!(texts(&bng, "name"), ["xe-1/0/0.1203"]);
    assert_eq!(texts(&bng, "ip"), ["198.51.100.9"]);
    let junos = r
        .render("junos", "internet-access", Role::Access, &input())
        .unwrap();
    assert!(
        junos.contains("<layer2-policer>") && !junos.contains("<family>"),
        "{junos}"
    );
}

#[test]
fn equal_rates_share_one_policer() {
    let mut input = input();
    input
        .parameters
        .insert("upMbps".to_owned(), ParamValue::Integer(500));
    let xml = renderer()
        .render("junos", "internet-access", Role::Standalone, &input)
        .unwrap();
    assert_eq!(xml.matches("<policer>\n      <name>").count(), 1, "{xml}");
}

#[test]
fn suspended_variant_disables_and_keeps_the_address() {
    let mut input = input();
    input.suspended = true;
    let xml = renderer()
        .render("ietf", "internet-access", Role::Standalone, &input)
        .unwrap();
    assert_eq!(texts(&xml, "enabled"), ["false"]);
    assert_eq!(texts(&xml, "ip"), ["198.51.100.9"]);
}

#[test]
fn lookup_errors_are_typed() {
    let r = renderer();
    let err = r
        .render("nokia", "internet-access", Role::Access, &input())
        .unwrap_err();
    assert!(matches!(err, RenderError::UnknownProfile { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("ietf, ietf-running, iosxr, junos, openconfig"),
        "{err}"
    );
    let err = r
        .render("ietf", "iptv", Role::Access, &input())
        .unwrap_err();
    assert!(
        matches!(&err, RenderError::UnknownServiceType { service_type, .. } if service_type == "iptv"),
        "{err}"
    );
    let set = ProfileSet::from_sources(
        [(
            "ietf".to_owned(),
            "ietf.yaml".to_owned(),
            IETF.replace("  standalone:\n    parts: [subscriberInterface, ipv4Gateway]\n    requires: [ipv4]\n", ""),
        )],
        ProfileSet::builtin().unwrap().templates().map(|(k, v)| (k.to_owned(), v.to_owned())),
    )
    .unwrap();
    let err = Renderer::new(set)
        .unwrap()
        .render("ietf", "internet-access", Role::Standalone, &input())
        .unwrap_err();
    assert!(
        matches!(
            err,
            RenderError::UnsupportedRole {
                role: Role::Standalone,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn parameter_errors_are_typed() {
    let r = renderer();
    let mut input = input();
    input
        .parameters
        .insert("downMbps".to_owned(), ParamValue::Integer(i64::MAX));
    let huge = r
        .render("openconfig", "internet-access", Role::Standalone, &input)
        .unwrap();
    assert!(huge.contains(&format!("<cir>{}</cir>", i128::from(i64::MAX) * 1_000_000)));
    input.parameters.remove("upMbps");
    let err = r
        .render("junos", "internet-access", Role::Access, &input)
        .unwrap_err();
    assert!(
        matches!(&err, RenderError::MissingParameter { parameter, .. } if parameter == "upMbps"),
        "{err}"
    );
    for bad in [
        ParamValue::Integer(0),
        ParamValue::String("100".to_owned()),
        ParamValue::Number(2.5),
    ] {
        input.parameters.insert("upMbps".to_owned(), bad);
        let err = r
            .render("junos", "internet-access", Role::Access, &input)
            .unwrap_err();
        assert!(matches!(err, RenderError::InvalidParameter { .. }), "{err}");
    }
    input
        .parameters
        .insert("upMbps".to_owned(), ParamValue::Integer(100));
    input
        .parameters
        .insert("ratio".to_owned(), ParamValue::Number(f64::NAN));
    let err = r
        .render("junos", "internet-access", Role::Access, &input)
        .unwrap_err();
    assert!(matches!(err, RenderError::InvalidParameter { .. }), "{err}");
}

#[test]
fn input_errors_are_typed() {
    let r = renderer();
    let mut no_bng = input();
    no_bng.bng = None;
    let err = r
        .render("iosxr", "internet-access", Role::Bng, &no_bng)
        .unwrap_err();
    assert!(
        matches!(err, RenderError::MissingInput { input: "bng", .. }),
        "{err}"
    );
    let mut no_ip = input();
    no_ip.ipv4 = None;
    let err = r
        .render("iosxr", "internet-access", Role::Standalone, &no_ip)
        .unwrap_err();
    assert!(
        matches!(err, RenderError::MissingInput { input: "ipv4", .. }),
        "{err}"
    );
    r.render("iosxr", "internet-access", Role::Access, &no_ip)
        .unwrap();

    let mut bad = input();
    bad.customer = "line\nbreak".to_owned();
    let err = r
        .render("ietf", "internet-access", Role::Access, &bad)
        .unwrap_err();
    assert!(
        matches!(&err, RenderError::InvalidInput { field, .. } if field == "customer"),
        "{err}"
    );
    let mut bad = input();
    bad.vlan = 4095;
    let err = r
        .render("ietf", "internet-access", Role::Access, &bad)
        .unwrap_err();
    assert!(
        matches!(&err, RenderError::InvalidInput { field, .. } if field == "vlan"),
        "{err}"
    );
    let mut bad = input();
    bad.access.port = "ge 0/0/1".to_owned();
    let err = r
        .render("ietf", "internet-access", Role::Access, &bad)
        .unwrap_err();
    assert!(
        matches!(&err, RenderError::InvalidInput { field, .. } if field == "access.port"),
        "{err}"
    );
    let mut bad = input();
    bad.product = "p".repeat(MAX_VALUE_CHARS + 1);
    assert!(
        r.render("ietf", "internet-access", Role::Access, &bad)
            .is_err()
    );
}

#[test]
fn template_errors_name_the_template() {
    let err = custom("<a xmlns='u'>{% if %}</a>", "<a xmlns='u'/>").unwrap_err();
    assert!(
        matches!(&err, RenderError::TemplateSyntax { template, .. } if template == "ietf/internet-access.xml"),
        "{err}"
    );
    let r = custom("<a xmlns='u'>{{ nothing.here }}</a>", "<a xmlns='u'/>").unwrap();
    let err = r
        .render("ietf", "internet-access", Role::Access, &input())
        .unwrap_err();
    assert!(
        matches!(&err, RenderError::Render { template, .. } if template == "ietf/internet-access.xml"),
        "{err}"
    );
    let r = custom("<a>{{ vlan }}</a>", "<a xmlns='u'><b></a>").unwrap();
    let err = r
        .render("ietf", "internet-access", Role::Access, &input())
        .unwrap_err();
    assert!(matches!(err, RenderError::MalformedOutput { .. }), "{err}");
    let mut suspended = input();
    suspended.suspended = true;
    let err = r
        .render("ietf", "internet-access", Role::Access, &suspended)
        .unwrap_err();
    assert!(
        matches!(&err, RenderError::MalformedOutput { template, .. } if template == "ietf/internet-access-suspended.xml"),
        "{err}"
    );
    assert!(matches!(
        custom("{% extends \"ietf/nothing.xml\" %}", "<a xmlns='u'/>"),
        Err(RenderError::TemplateSyntax { .. })
    ));
}

#[test]
fn renderer_can_be_shared_between_tasks() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Renderer>();
}

mod arbitrary_input {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the names contain, the result is either a typed input error or
        /// well-formed XML whose description reads back exactly.
        #[test]
        fn names_are_escaped_or_refused(customer in any::<String>(), port in "\\PC{1,12}") {
            let r = renderer();
            let mut input = input();
            input.customer = customer.clone();
            input.access.port = port;
            match r.render("ietf", "internet-access", Role::Access, &input) {
                Ok(xml) => {
                    prop_assert!(check_payload(&xml, Namespaces::Required).is_ok());
                    prop_assert_eq!(
                        texts(&xml, "description"),
                        vec![format!("cust {customer} sub s1 500/100 Mbps")]
                    );
                }
                Err(err) => prop_assert!(matches!(err, RenderError::InvalidInput { .. }), "{}", err),
            }
        }
    }
}

#[test]
fn a_profile_can_render_with_another_profiles_templates() {
    let r = renderer();
    for role in Role::ALL {
        let own = r.render("ietf", "internet-access", role, &input()).unwrap();
        let borrowed = r
            .render("ietf-running", "internet-access", role, &input())
            .unwrap();
        assert_eq!(borrowed, own, "{role}");
    }
}

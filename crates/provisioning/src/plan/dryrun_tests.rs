//! Tests of the dry run.

use super::*;
use crate::fixtures::*;
use ferrule_crds::oss::device::DeviceRole;
use serde_json::json;

fn graph() -> Graph {
    let mut olt = (*mk_device("olt1", DeviceRole::Access, Some("lis"))).clone();
    olt.spec.bng_port = Some("xe-0/0/1".into());
    Graph {
        customers: vec![mk_customer("ana", None)],
        products: vec![mk_product("fibre-500", 500, 100)],
        devices: vec![
            Arc::new(olt),
            mk_device("bng1", DeviceRole::Bng, Some("lis")),
        ],
        pools: vec![
            mk_vlan_pool("olt1-vlans", 1200, 1201, &["olt1"]),
            mk_ipv4_pool("v4", "100.64.0.0/24", 30, &[DeviceRole::Bng]),
        ],
        claims: vec![mk_claim("olt1-vlans", "1200", "someone-else")],
        subscriptions: Vec::new(),
    }
}

fn doc(object: Value) -> Document {
    Document {
        origin: "test.yaml#1".into(),
        object,
    }
}

fn order(items: Value) -> Document {
    doc(
        json!({"apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "ServiceOrder",
               "metadata": {"name": "o1", "namespace": NS},
               "spec": {"customer": "ana", "items": items}}),
    )
}

fn add(sub: &str, port: &str) -> Value {
    json!({"action": "Add", "subscription": sub, "product": "fibre-500",
           "access": {"device": "olt1", "port": port}})
}

#[test]
fn an_order_shows_claims_and_exact_payloads_per_device() {
    let renderer = Renderer::builtin().unwrap();
    let mut graph = graph();
    let docs = [order(json!([add("a", "ge-0/0/1")]))];
    let plans = plan(&renderer, &mut graph, &docs.iter().collect::<Vec<_>>());
    assert_eq!(plans.len(), 1);
    let p = &plans[0];
    assert_eq!((p.action, p.problem.clone()), (Action::Create, None));
    assert_eq!(p.vlan, Some(1201), "1200 is claimed by someone else");
    assert_eq!(p.ipv4.as_deref(), Some("100.64.0.1/30"));
    let claims: Vec<&str> = p.claims.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(claims, ["olt1-vlans.1201", "v4.100-64-0-0"]);
    assert_eq!(p.devices.len(), 2);
    assert!(
        p.devices[0]
            .payload
            .as_deref()
            .unwrap()
            .contains("ge-0/0/1.1201")
    );
    assert!(
        p.devices[1]
            .payload
            .as_deref()
            .unwrap()
            .contains("xe-0/0/1.1201")
    );
}

#[test]
fn later_subscriptions_of_the_plan_see_earlier_ones() {
    let renderer = Renderer::builtin().unwrap();
    let mut graph = graph();
    let docs = [
        order(json!([add("a", "ge-0/0/1"), add("b", "ge-0/0/2")])),
        order(json!([add("c", "ge-0/0/1")])),
    ];
    let plans = plan(&renderer, &mut graph, &docs.iter().collect::<Vec<_>>());
    assert_eq!(plans[0].vlan, Some(1201));
    let (reason, message) = plans[1].problem.clone().unwrap();
    assert_eq!(reason, "PoolExhausted");
    assert!(message.contains("olt1-vlans"), "{message}");
    let (reason, message) = plans[2].problem.clone().unwrap();
    assert_eq!(reason, "ItemRejected");
    assert_eq!(
        message,
        "port ge-0/0/1 of Device olt1 is used by Subscription a"
    );
}

#[test]
fn a_manifest_object_that_does_not_decode_keeps_the_json_error() {
    let mut graph = Graph::default();
    let bad = doc(
        json!({"apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "Device",
                         "metadata": {"name": "olt9", "namespace": NS},
                         "spec": {"role": "nope"}}),
    );
    let err = graph.overlay(&bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Device olt9 (test.yaml#1): {}", err.source)
    );
    let source = std::error::Error::source(&err).expect("the JSON error is kept");
    assert!(source.is::<serde_json::Error>());
    let renderer = Renderer::builtin().unwrap();
    let plans = plan(&renderer, &mut graph, &[&bad]);
    assert_eq!(
        plans[0].problem,
        Some(("InvalidManifest".to_owned(), err.to_string()))
    );
}

#[test]
fn manifest_objects_are_laid_over_the_cluster() {
    let renderer = Renderer::builtin().unwrap();
    let mut graph = Graph::default();
    let mut docs = vec![
        doc(serde_json::to_value(&*mk_customer("ana", None)).unwrap()),
        doc(serde_json::to_value(&*mk_product("fibre-500", 500, 100)).unwrap()),
        doc(serde_json::to_value(&*mk_device("olt9", DeviceRole::Access, None)).unwrap()),
        doc(serde_json::to_value(&*mk_ipv4_pool(
            "v4",
            "10.0.0.0/24",
            30,
            &[DeviceRole::Access],
        ))
        .unwrap()),
    ];
    let mut sub = mk_subscription("s", "ana", "fibre-500", "olt9", "ge-0/0/1");
    sub.spec.vlan = Some(42);
    docs.push(doc(serde_json::to_value(&sub).unwrap()));
    let plans = plan(&renderer, &mut graph, &docs.iter().collect::<Vec<_>>());
    let p = &plans[0];
    assert_eq!(p.problem, None);
    assert_eq!((p.vlan, p.ipv4.as_deref()), (Some(42), Some("10.0.0.1/30")));
    assert_eq!(
        p.claims.len(),
        1,
        "the pinned VLAN is outside every pool: no claim"
    );
    assert!(
        p.devices[0]
            .payload
            .as_deref()
            .unwrap()
            .contains("ge-0/0/1.42")
    );
}

#[test]
fn terminate_removes_what_the_subscription_applied() {
    let renderer = Renderer::builtin().unwrap();
    let mut graph = graph();
    let docs = [order(json!([add("a", "ge-0/0/1")]))];
    plan(&renderer, &mut graph, &docs.iter().collect::<Vec<_>>());
    // Pretend it was applied: record what the plan would have owned.
    let existing = graph
        .subscriptions
        .iter()
        .find(|s| s.name_any() == "a")
        .unwrap()
        .clone();
    let mut applied_sub = (*existing).clone();
    let olt = graph.devices[0].clone();
    let rendered = "<interfaces xmlns=\"urn:ietf:params:xml:ns:yang:ietf-interfaces\"><interface><name>ge-0/0/1.1201</name></interface></interfaces>";
    let ps =
        crate::netconf::plan::ProfileSchema::of(renderer.profiles().get("ietf").unwrap()).unwrap();
    let tree = ferrule_netconf::tree::ConfigTree::parse(rendered, &ps.schema).unwrap();
    let record = ps.applied(&tree);
    applied_sub.metadata.annotations = Some(
        [(
            applied::APPLIED_ANNOTATION.to_owned(),
            json!({"olt1": record.canonical}).to_string(),
        )]
        .into(),
    );
    applied_sub.status = Some(ferrule_crds::SubscriptionStatus {
        devices: vec![ferrule_crds::bss::subscription::DeviceConfig {
            name: olt.name_any(),
            transaction: "t".into(),
            digest: record.digest,
            owned: record.owned,
        }],
        ..Default::default()
    });
    upsert(&mut graph.subscriptions, applied_sub);
    let docs = [order(json!([{"action": "Terminate", "subscription": "a"}]))];
    let plans = plan(&renderer, &mut graph, &docs.iter().collect::<Vec<_>>());
    assert_eq!(plans[0].action, Action::Delete);
    let payload = plans[0].devices[0].payload.as_deref().unwrap();
    assert!(
        payload.contains("ge-0/0/1.1201") && payload.contains("remove"),
        "{payload}"
    );
}

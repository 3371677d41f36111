use k8s_openapi::api::core::v1::{ConfigMap, Event as CoreEvent, Namespace};
use kube::Resource;
use kube::api::{ApiResource, DeleteParams, DynamicObject, ListParams};
use serde_json::{Value, json};

use super::*;
use ferrule_apiserver::{self as apiserver, ApiServer, ServeConfig};

fn mk_event(type_: EventType, reason: &str, note: &str) -> Event {
    Event {
        type_,
        reason: reason.into(),
        note: Some(note.into()),
        action: "Provision".into(),
        secondary: None,
    }
}

fn mk_reference(name: &str, resource_version: &str) -> ObjectReference {
    ObjectReference {
        api_version: Some("ferrule.dev/v1alpha1".into()),
        kind: Some("Subscription".into()),
        namespace: Some("isp".into()),
        name: Some(name.into()),
        uid: Some(format!("uid-{name}")),
        resource_version: Some(resource_version.into()),
        field_path: None,
    }
}

fn mk_reporter(instance: Option<&str>) -> Reporter {
    Reporter {
        controller: "ferrule-provisioning".into(),
        instance: instance.map(str::to_owned),
    }
}

// === keys ===

#[test]
fn the_key_is_kubes_type_action_reason_and_references() {
    let event = mk_event(EventType::Warning, "DeviceRejected", "table full");
    let regarding = mk_reference("s1", "7");
    let key = event_key(&event, &regarding);
    let other_note = mk_event(EventType::Warning, "DeviceRejected", "another text");
    assert_eq!(
        event_key(&other_note, &regarding),
        key,
        "the note is not part of the key"
    );

    let mut differing = vec![
        event_key(
            &mk_event(EventType::Normal, "DeviceRejected", "table full"),
            &regarding,
        ),
        event_key(
            &mk_event(EventType::Warning, "Provisioned", "table full"),
            &regarding,
        ),
        event_key(
            &Event {
                action: "Deprovision".into(),
                ..mk_event(EventType::Warning, "DeviceRejected", "table full")
            },
            &regarding,
        ),
        event_key(
            &Event {
                secondary: Some(mk_reference("dev", "1")),
                ..mk_event(EventType::Warning, "DeviceRejected", "table full")
            },
            &regarding,
        ),
        event_key(&event, &mk_reference("s2", "7")),
        event_key(&event, &mk_reference("s1", "8")),
    ];
    for change in [
        |r: &mut ObjectReference| r.namespace = None,
        |r: &mut ObjectReference| r.uid = Some("other".into()),
        |r: &mut ObjectReference| r.kind = Some("Device".into()),
        |r: &mut ObjectReference| r.api_version = None,
        |r: &mut ObjectReference| r.field_path = Some("spec".into()),
    ] {
        let mut changed = regarding.clone();
        change(&mut changed);
        differing.push(event_key(&event, &changed));
    }
    for (i, other) in differing.iter().enumerate() {
        assert_ne!(other, &key, "variant {i}");
    }
}

#[test]
fn key_fields_do_not_run_together() {
    let regarding = mk_reference("s1", "1");
    let a = Event {
        action: "ab".into(),
        ..mk_event(EventType::Normal, "c", "")
    };
    let b = Event {
        action: "a".into(),
        ..mk_event(EventType::Normal, "bc", "")
    };
    assert_ne!(event_key(&a, &regarding), event_key(&b, &regarding));
    let mut empty = regarding.clone();
    empty.field_path = Some(String::new());
    assert_ne!(event_key(&a, &regarding), event_key(&a, &empty));
}

// === the Event and its series ===

#[test]
fn a_new_event_carries_kubes_fields() -> anyhow::Result<()> {
    let now: Timestamp = "2025-03-01T10:20:30.123456789Z".parse()?;
    let regarding = mk_reference("s1", "7");
    let event = mk_event(EventType::Warning, "DeviceRejected", "table full");
    let body = new_event(&mk_reporter(Some("ferrule-0")), &event, &regarding, now);
    let name = format!("s1.{:x}", now.as_nanosecond());
    assert_eq!(
        serde_json::to_value(&body)?,
        json!({
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": "isp"},
            "eventTime": "2025-03-01T10:20:30.123456Z",
            "action": "Provision",
            "reason": "DeviceRejected",
            "note": "table full",
            "type": "Warning",
            "regarding": serde_json::to_value(&regarding)?,
            "reportingController": "ferrule-provisioning",
            "reportingInstance": "ferrule-0",
        })
    );
    // Without an instance the controller reports as its own instance; a cluster-scoped
    // object's Events go to `default`.
    let cluster_scoped = ObjectReference {
        namespace: None,
        ..regarding
    };
    let body = new_event(&mk_reporter(None), &event, &cluster_scoped, now);
    assert_eq!(
        body.reporting_instance.as_deref(),
        Some("ferrule-provisioning")
    );
    assert_eq!(body.metadata.namespace.as_deref(), Some("default"));
    Ok(())
}

#[test]
fn the_series_patch_sets_count_and_last_observed_time_only() -> anyhow::Result<()> {
    let now: Timestamp = "2025-03-01T10:20:30.5Z".parse()?;
    assert_eq!(
        serde_json::to_value(series_patch(3, now))?,
        json!({"series": {"count": 3, "lastObservedTime": "2025-03-01T10:20:30.500000Z"}})
    );
    Ok(())
}

// === against the API server ===

async fn start_server(dir: &std::path::Path) -> anyhow::Result<ApiServer> {
    let config = ServeConfig::new(dir, std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    Ok(apiserver::serve(config).await?)
}

async fn events_about(client: &Client, name: &str) -> anyhow::Result<Vec<K8sEvent>> {
    let v1: Api<K8sEvent> = Api::namespaced(client.clone(), "default");
    let selector = format!("regarding.name={name}");
    Ok(v1
        .list(&ListParams::default().fields(&selector))
        .await?
        .items)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeats_become_a_series_in_both_apis() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = start_server(dir.path()).await?;
    let client = server.client().await?;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let mut subject = ConfigMap::default();
    subject.metadata.name = Some("subject".into());
    let subject = cms.create(&PostParams::default(), &subject).await?;
    let regarding = subject.object_ref(&());
    let recorder = Recorder::new(client.clone(), mk_reporter(Some("ferrule-0")));
    let event = mk_event(EventType::Warning, "DeviceRejected", "table full");

    recorder.publish(&event, &regarding).await?;
    let created = events_about(&client, "subject").await?;
    let [first] = created.as_slice() else {
        anyhow::bail!("one Event expected: {created:?}");
    };
    let name = first.metadata.name.clone().unwrap_or_default();
    assert!(name.starts_with("subject."), "{name}");
    assert_eq!(first.regarding.as_ref(), Some(&regarding));
    assert_eq!(first.note.as_deref(), Some("table full"));
    assert_eq!(first.reason.as_deref(), Some("DeviceRejected"));
    assert_eq!(first.type_.as_deref(), Some("Warning"));
    assert_eq!(first.action.as_deref(), Some("Provision"));
    assert_eq!(
        first.reporting_controller.as_deref(),
        Some("ferrule-provisioning")
    );
    assert_eq!(first.reporting_instance.as_deref(), Some("ferrule-0"));
    assert!(
        first.event_time.is_some() && first.series.is_none(),
        "{first:?}"
    );

    // Repeats, one with another note, extend the same Event; its note stays the first one.
    recorder.publish(&event, &regarding).await?;
    let other_note = mk_event(EventType::Warning, "DeviceRejected", "still full");
    recorder.publish(&other_note, &regarding).await?;
    let repeated = events_about(&client, "subject").await?;
    let [series] = repeated.as_slice() else {
        anyhow::bail!("still one Event expected: {repeated:?}");
    };
    assert_eq!(series.metadata.name.as_ref(), Some(&name));
    assert_eq!(series.series.as_ref().map(|s| s.count), Some(3));
    assert_eq!(series.note.as_deref(), Some("table full"));
    assert_eq!(series.event_time, first.event_time);
    assert!(
        series
            .series
            .as_ref()
            .zip(first.event_time.as_ref())
            .is_some_and(|(s, t)| s.last_observed_time.0 >= t.0)
    );

    // The core/v1 view shows the same Event and series.
    let core: Api<CoreEvent> = Api::namespaced(client.clone(), "default");
    let seen = core.get(&name).await?;
    assert_eq!(seen.involved_object, regarding);
    assert_eq!(seen.message.as_deref(), Some("table full"));
    assert_eq!(
        seen.reporting_component.as_deref(),
        Some("ferrule-provisioning")
    );
    assert_eq!(seen.series.as_ref().and_then(|s| s.count), Some(3));
    // As stored and served: eventTime with microseconds.
    let raw: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &ApiResource::erase::<K8sEvent>(&()),
    );
    let raw = raw.get(&name).await?.data;
    let event_time = raw.get("eventTime").and_then(Value::as_str).unwrap_or("");
    assert!(
        event_time.len() == "2025-03-01T10:20:30.123456Z".len() && event_time.ends_with('Z'),
        "eventTime with microseconds: {raw}"
    );

    // Another reason is another Event.
    let other = mk_event(EventType::Warning, "DeviceGone", "table full");
    recorder.publish(&other, &regarding).await?;
    assert_eq!(events_about(&client, "subject").await?.len(), 2);
    assert_eq!(recorder.remembered(), 2);

    // A deleted Event is created anew at its next occurrence.
    let v1: Api<K8sEvent> = Api::namespaced(client.clone(), "default");
    v1.delete(&name, &DeleteParams::default()).await?;
    recorder.publish(&event, &regarding).await?;
    let events = events_about(&client, "subject").await?;
    let renewed: Vec<_> = events
        .iter()
        .filter(|e| e.reason.as_deref() == Some("DeviceRejected"))
        .collect();
    assert_eq!(renewed.len(), 1, "{events:?}");
    assert_ne!(renewed[0].metadata.name.as_ref(), Some(&name));
    assert!(renewed[0].series.is_none());

    // A cluster-scoped object's Events go to `default`.
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let default = namespaces.get("default").await?.object_ref(&());
    recorder.publish(&event, &default).await?;
    recorder.publish(&event, &default).await?;
    let about_default = events_about(&client, "default").await?;
    assert_eq!(
        about_default
            .iter()
            .map(|e| e.series.as_ref().map(|s| s.count))
            .collect::<Vec<_>>(),
        [Some(2)],
        "{about_default:?}"
    );
    server.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_key_starts_a_new_event() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = start_server(dir.path()).await?;
    let client = server.client().await?;
    let recorder = Recorder::with_limits(client.clone(), mk_reporter(None), TTL, 1);
    let event = mk_event(EventType::Normal, "Provisioned", "ok");
    let (a, b) = (mk_reference("a", "1"), mk_reference("b", "1"));
    let a = ObjectReference {
        namespace: Some("default".into()),
        ..a
    };
    let b = ObjectReference {
        namespace: Some("default".into()),
        ..b
    };
    recorder.publish(&event, &a).await?;
    recorder.publish(&event, &a).await?;
    // b pushes a out of the one-key cache: a's next occurrence is a new Event.
    recorder.publish(&event, &b).await?;
    recorder.publish(&event, &a).await?;
    assert_eq!(recorder.remembered(), 1);
    let mut counts: Vec<_> = events_about(&client, "a")
        .await?
        .iter()
        .map(|e| e.series.as_ref().map(|s| s.count))
        .collect();
    counts.sort();
    assert_eq!(counts, [None, Some(2)]);
    server.shutdown().await;
    Ok(())
}

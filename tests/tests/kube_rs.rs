//! kube-rs against the embedded API server: a Controller with owned children and a
//! finalizer across a server restart, optimistic concurrency, and watchers recovering from
//! a compacted resourceVersion by re-listing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, ensure};
use ferrule_apiserver::store::{ObjectKey, Store, StoreConfig};
use ferrule_e2e::{eventually, start_server, start_server_on};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event as V1Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DynamicObject, ListParams, ObjectMeta, Patch, PatchParams, PostParams,
    WatchEvent, WatchParams,
};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event as Recorded, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event as Finalized, finalizer};
use kube::runtime::{conditions, wait::await_condition, watcher};
use kube::{Client, CustomResource, CustomResourceExt, Resource, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A test resource: the controller below gives every Widget a ConfigMap.
#[derive(CustomResource, Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "e2e.ferrule.dev",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus"
)]
pub struct WidgetSpec {
    /// Any number.
    pub size: i32,
}

/// What the controller reports.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WidgetStatus {
    /// The generation the ConfigMap reflects.
    pub observed_generation: Option<i64>,
}

const FINALIZER: &str = "e2e.ferrule.dev/cleanup";
const MANAGER: &str = "widget-controller";

/// Shared state of the test controller.
struct Ctx {
    client: Client,
    cleaned: Mutex<Vec<String>>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").finish_non_exhaustive()
    }
}

async fn install_crd(client: &Client) -> anyhow::Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = Widget::crd();
    let name = crd.name_any();
    crds.patch(
        &name,
        &PatchParams::apply("e2e").force(),
        &Patch::Apply(&crd),
    )
    .await?;
    let established = await_condition(crds, &name, conditions::is_crd_established());
    tokio::time::timeout(Duration::from_secs(20), established).await??;
    Ok(())
}

async fn apply_children(w: &Widget, ctx: &Ctx) -> Result<Action, kube::Error> {
    let ns = w.namespace().unwrap_or_default();
    let owner = w.controller_owner_ref(&()).into_iter().collect();
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(format!("{}-cfg", w.name_any())),
            owner_references: Some(owner),
            ..Default::default()
        },
        data: Some([("size".to_string(), w.spec.size.to_string())].into()),
        ..Default::default()
    };
    let cms: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ns);
    let pp = PatchParams::apply(MANAGER).force();
    cms.patch(&format!("{}-cfg", w.name_any()), &pp, &Patch::Apply(&cm))
        .await?;
    let widgets: Api<Widget> = Api::namespaced(ctx.client.clone(), &ns);
    let status = json!({
        "apiVersion": "e2e.ferrule.dev/v1", "kind": "Widget",
        "status": {"observedGeneration": w.metadata.generation},
    });
    widgets
        .patch_status(&w.name_any(), &pp, &Patch::Apply(&status))
        .await?;
    let reporter = Reporter {
        controller: MANAGER.into(),
        instance: None,
    };
    let event = Recorded {
        type_: EventType::Normal,
        reason: "Reconciled".into(),
        note: Some(format!("size {}", w.spec.size)),
        action: "Reconcile".into(),
        secondary: None,
    };
    Recorder::new(ctx.client.clone(), reporter)
        .publish(&event, &w.object_ref(&()))
        .await?;
    Ok(Action::await_change())
}

async fn reconcile(
    w: Arc<Widget>,
    ctx: Arc<Ctx>,
) -> Result<Action, kube::runtime::finalizer::Error<kube::Error>> {
    let api: Api<Widget> = Api::namespaced(ctx.client.clone(), &w.namespace().unwrap_or_default());
    finalizer(&api, FINALIZER, w, |event| async {
        match event {
            Finalized::Apply(w) => apply_children(&w, &ctx).await,
            Finalized::Cleanup(w) => {
                if let Ok(mut cleaned) = ctx.cleaned.lock() {
                    cleaned.push(w.name_any());
                }
                Ok(Action::await_change())
            }
        }
    })
    .await
}

fn error_policy(
    _: Arc<Widget>,
    _: &kube::runtime::finalizer::Error<kube::Error>,
    _: Arc<Ctx>,
) -> Action {
    Action::requeue(Duration::from_millis(500))
}

fn widget(name: &str, size: i32) -> Widget {
    let mut w = Widget::new(name, WidgetSpec { size });
    w.metadata.namespace = Some("default".into());
    w
}

async fn configmap_size(cms: &Api<ConfigMap>, name: &str) -> Option<String> {
    let cm = cms.get_opt(name).await.ok()??;
    let owned = cm.owner_references().iter().any(|o| o.kind == "Widget");
    owned.then(|| cm.data.and_then(|d| d.get("size").cloned()))?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_reconciles_across_a_restart() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = start_server(dir.path()).await?;
    let addr = server.addr();
    let client = server.client().await?;
    install_crd(&client).await?;

    let ctx = Arc::new(Ctx {
        client: client.clone(),
        cleaned: Mutex::new(Vec::new()),
    });
    let widgets: Api<Widget> = Api::namespaced(client.clone(), "default");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let controller = Controller::new(widgets.clone(), watcher::Config::default())
        .owns(cms.clone(), watcher::Config::default())
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|_| async {});
    let controller = tokio::spawn(controller);

    // Created while the controller runs.
    widgets
        .create(&PostParams::default(), &widget("one", 1))
        .await?;
    eventually(Duration::from_secs(30), || configmap_size(&cms, "one-cfg")).await?;
    let one = widgets.get("one").await?;
    ensure!(
        one.finalizers().iter().any(|f| f == FINALIZER),
        "finalizer added"
    );
    eventually(Duration::from_secs(30), || async {
        let w = widgets.get("one").await.ok()?;
        (w.status?.observed_generation == w.metadata.generation).then_some(())
    })
    .await?;

    // Events written through events.k8s.io/v1 are read through core/v1, selected by the
    // involved object as `kubectl describe` does.
    let events: Api<CoreEvent> = Api::namespaced(client.clone(), "default");
    let selector = format!(
        "involvedObject.kind=Widget,involvedObject.name=one,involvedObject.uid={}",
        one.uid().unwrap_or_default()
    );
    let found = eventually(Duration::from_secs(30), || async {
        let list = events
            .list(&ListParams::default().fields(&selector))
            .await
            .ok()?;
        list.items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("Reconciled"))
    })
    .await?;
    ensure!(
        found.reporting_component.as_deref() == Some(MANAGER),
        "{found:?}"
    );

    // The server restarts; the controller's watches reconnect and carry on.
    server.shutdown().await;
    let server = start_server_on(dir.path(), addr).await?;
    widgets
        .create(&PostParams::default(), &widget("two", 2))
        .await?;
    ensure!(eventually(Duration::from_secs(60), || configmap_size(&cms, "two-cfg")).await? == "2");

    // A change of the spec is reconciled into the child.
    let patch = json!({"spec": {"size": 5}});
    widgets
        .patch("one", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    eventually(Duration::from_secs(30), || async {
        (configmap_size(&cms, "one-cfg").await? == "5").then_some(())
    })
    .await?;

    // Deleting runs the cleanup, then the object goes and its child is collected.
    widgets.delete("one", &Default::default()).await?;
    eventually(Duration::from_secs(30), || async {
        widgets.get_opt("one").await.ok()?.is_none().then_some(())
    })
    .await?;
    ensure!(
        ctx.cleaned
            .lock()
            .map(|c| c.contains(&"one".to_string()))
            .unwrap_or(false)
    );
    eventually(Duration::from_secs(30), || async {
        cms.get_opt("one-cfg").await.ok()?.is_none().then_some(())
    })
    .await?;

    controller.abort();
    server.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_updates_conflict() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = start_server(dir.path()).await?;
    let client = server.client().await?;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some("c".into());
    cms.create(&PostParams::default(), &cm).await?;
    let mut first = cms.get("c").await?;
    let mut second = first.clone();
    first.data = Some([("a".to_string(), "1".to_string())].into());
    cms.replace("c", &PostParams::default(), &first).await?;
    second.data = Some([("a".to_string(), "2".to_string())].into());
    match cms.replace("c", &PostParams::default(), &second).await {
        Err(kube::Error::Api(status)) => ensure!(status.code == 409, "{status:?}"),
        other => anyhow::bail!("a stale update must be a 409, got {other:?}"),
    }
    match cms.create(&PostParams::default(), &cm).await {
        Err(kube::Error::Api(status)) => {
            ensure!(status.code == 409 && status.reason == "AlreadyExists")
        }
        other => anyhow::bail!("a second create must be a 409, got {other:?}"),
    }
    server.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_recover_from_a_compacted_version() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = start_server(dir.path()).await?;
    let addr = server.addr();
    let client = server.client().await?;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for name in ["a", "b"] {
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some(name.into());
        cms.create(&PostParams::default(), &cm).await?;
    }

    // A watch from a version the store no longer has gets the in-stream 410.
    let old = cms.get("a").await?.resource_version().context("rv")?;
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some("c".into());
    cms.create(&PostParams::default(), &cm).await?;
    server
        .store()
        .compact_to(server.store().current_resource_version())
        .await?;
    let mut stream = cms.watch(&WatchParams::default(), &old).await?.boxed();
    match stream.next().await {
        Some(Ok(WatchEvent::Error(e))) => ensure!(e.code == 410, "{e:?}"),
        other => anyhow::bail!("expected a 410 ERROR event, got {other:?}"),
    }

    // A streaming list (sendInitialEvents=true) ends its initial state with the bookmark.
    let mut streaming = watcher(cms.clone(), watcher::Config::default().streaming_lists()).boxed();
    let mut initial = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(event) = streaming.next().await {
            match event? {
                watcher::Event::InitApply(cm) => initial.push(cm.name_any()),
                watcher::Event::InitDone => break,
                _ => {}
            }
        }
        anyhow::Ok(())
    })
    .await
    .context("the streaming list did not end its initial events")??;
    initial.sort();
    ensure!(initial == ["a", "b", "c"], "{initial:?}");
    drop(streaming);

    // A running watcher whose version gets compacted while the server is down re-lists.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watch = tokio::spawn(
        watcher(cms.clone(), watcher::Config::default()).for_each(move |e| {
            let _ = tx.send(e.map_err(|e| e.to_string()));
            async {}
        }),
    );
    let mut inits = 0;
    while inits < 1 {
        if let Some(Ok(watcher::Event::InitDone)) = rx.recv().await {
            inits += 1;
        }
    }
    server.shutdown().await;
    {
        let store = Store::open(StoreConfig::new(dir.path().join("state.db"))).await?;
        let late = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "late", "namespace": "default", "uid": "00000000-0000-4000-8000-000000000001",
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
        });
        store
            .create(ObjectKey::new("/configmaps", "default", "late"), late)
            .await?;
        store.compact_to(store.current_resource_version()).await?;
        store.close().await;
    }
    let server = start_server_on(dir.path(), addr).await?;
    let relisted = tokio::time::timeout(Duration::from_secs(60), async {
        let mut in_init = false;
        while let Some(event) = rx.recv().await {
            match event {
                Ok(watcher::Event::Init) => in_init = true,
                Ok(watcher::Event::InitApply(cm)) if in_init && cm.name_any() == "late" => {
                    return true;
                }
                _ => {}
            }
        }
        false
    })
    .await
    .context("the watcher did not re-list")?;
    ensure!(
        relisted,
        "the re-list must contain the object written while it was away"
    );
    watch.abort();
    server.shutdown().await;
    Ok(())
}

async fn parent_and_child(cms: &Api<ConfigMap>, tag: &str) -> anyhow::Result<()> {
    parent_and_child_with(cms, tag, &[]).await
}

/// A parent ConfigMap and a child it owns (blocking its deletion), the child holding
/// `finalizers`.
async fn parent_and_child_with(
    cms: &Api<ConfigMap>,
    tag: &str,
    finalizers: &[&str],
) -> anyhow::Result<()> {
    let mut parent = ConfigMap::default();
    parent.metadata.name = Some(format!("parent-{tag}"));
    let parent = cms.create(&PostParams::default(), &parent).await?;
    let mut child = ConfigMap::default();
    child.metadata.name = Some(format!("child-{tag}"));
    child.metadata.owner_references = Some(vec![
        k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: parent.name_any(),
            uid: parent.uid().context("uid")?,
            block_owner_deletion: Some(true),
            controller: Some(true),
        },
    ]);
    if !finalizers.is_empty() {
        child.metadata.finalizers = Some(finalizers.iter().map(|f| (*f).to_owned()).collect());
    }
    cms.create(&PostParams::default(), &child).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_propagation_policies() -> anyhow::Result<()> {
    use kube::api::DeleteParams;
    let dir = tempfile::tempdir()?;
    let server = start_server(dir.path()).await?;
    let cms: Api<ConfigMap> = Api::namespaced(server.client().await?, "default");
    let gone = |name: &'static str| {
        let cms = cms.clone();
        async move { cms.get_opt(name).await.ok()?.is_none().then_some(()) }
    };

    // Background: the parent goes at once, the collector removes the child.
    parent_and_child(&cms, "bg").await?;
    cms.delete("parent-bg", &DeleteParams::background()).await?;
    ensure!(cms.get_opt("parent-bg").await?.is_none());
    eventually(Duration::from_secs(30), || gone("child-bg")).await?;

    // Foreground: the parent waits, marked, until the child is gone. The child's finalizer
    // holds it (and so the parent) until the test removes it.
    const HOLD: &str = "e2e.ferrule.dev/hold";
    parent_and_child_with(&cms, "fg", &[HOLD]).await?;
    cms.delete("parent-fg", &DeleteParams::foreground()).await?;
    let marked = |p: &ConfigMap| {
        p.metadata.deletion_timestamp.is_some()
            && p.finalizers().iter().any(|f| f == "foregroundDeletion")
    };
    let parent = cms
        .get_opt("parent-fg")
        .await?
        .context("parent gone at once")?;
    ensure!(marked(&parent), "parent not marked: {:?}", parent.metadata);
    // The collector deletes the child, which its finalizer keeps.
    eventually(Duration::from_secs(30), || {
        let cms = cms.clone();
        async move {
            let child = cms.get_opt("child-fg").await.ok()??;
            child.metadata.deletion_timestamp.is_some().then_some(())
        }
    })
    .await
    .context("the child is deleted in the foreground deletion")?;
    // Let the collector look again at the parent with its dependent being deleted: two
    // background deletions done one after the other take at least one whole pass that
    // started after the child was marked.
    for probe in ["probe1", "probe2"] {
        parent_and_child(&cms, probe).await?;
        cms.delete(&format!("parent-{probe}"), &DeleteParams::background())
            .await?;
        let child = format!("child-{probe}");
        eventually(Duration::from_secs(30), || {
            let cms = cms.clone();
            let child = child.clone();
            async move { cms.get_opt(&child).await.ok()?.is_none().then_some(()) }
        })
        .await?;
    }
    let parent = cms.get_opt("parent-fg").await?.context("parent gone")?;
    ensure!(
        marked(&parent),
        "a foreground deletion keeps the owner until its dependents are gone: {:?}",
        parent.metadata
    );
    cms.patch(
        "child-fg",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await?;
    eventually(Duration::from_secs(30), || gone("child-fg")).await?;
    eventually(Duration::from_secs(30), || gone("parent-fg")).await?;

    // Orphan: the child stays, without its owner reference.
    parent_and_child(&cms, "or").await?;
    cms.delete("parent-or", &DeleteParams::orphan()).await?;
    eventually(Duration::from_secs(30), || gone("parent-or")).await?;
    let child = cms.get("child-or").await?;
    ensure!(child.owner_references().is_empty(), "{child:?}");
    server.shutdown().await;
    Ok(())
}

/// What the controllers publish through events.k8s.io/v1 keeps its fields in both APIs, also
/// after the recorder turns a repeated event into a series (a merge patch of the v1 form).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_keep_their_fields_in_both_apis() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = start_server(dir.path()).await?;
    let client = server.client().await?;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let mut subject = ConfigMap::default();
    subject.metadata.name = Some("subject".into());
    let subject = cms.create(&PostParams::default(), &subject).await?;
    let regarding = subject.object_ref(&());
    let reporter = Reporter {
        controller: "ferrule-provisioning".into(),
        instance: Some("ferrule-0".into()),
    };
    let recorder = Recorder::new(client.clone(), reporter);
    let note = "Device bng1 rejected the change: operation-failed: subscriber table full";
    let event = Recorded {
        type_: EventType::Warning,
        reason: "DeviceRejected".into(),
        note: Some(note.into()),
        action: "Provision".into(),
        secondary: None,
    };
    let v1: Api<V1Event> = Api::namespaced(client.clone(), "default");
    let core: Api<CoreEvent> = Api::namespaced(client.clone(), "default");
    let core_raw: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &ApiResource::erase::<CoreEvent>(&()),
    );
    let v1_raw: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &ApiResource::erase::<V1Event>(&()),
    );

    for count in [None, Some(2)] {
        recorder.publish(&event, &regarding).await?;

        let listed = v1
            .list(&ListParams::default().fields("regarding.name=subject"))
            .await?
            .items;
        ensure!(listed.len() == 1, "one event, got {listed:?}");
        let got = &listed[0];
        ensure!(got.note.as_deref() == Some(note), "note: {got:?}");
        ensure!(got.reason.as_deref() == Some("DeviceRejected"), "{got:?}");
        ensure!(got.type_.as_deref() == Some("Warning"), "{got:?}");
        ensure!(got.action.as_deref() == Some("Provision"), "{got:?}");
        ensure!(
            got.regarding.as_ref() == Some(&regarding),
            "regarding: {got:?}"
        );
        ensure!(
            got.reporting_controller.as_deref() == Some("ferrule-provisioning")
                && got.reporting_instance.as_deref() == Some("ferrule-0"),
            "{got:?}"
        );
        ensure!(
            got.series.as_ref().map(|s| s.count) == count,
            "series after {count:?}: {got:?}"
        );
        ensure!(got.event_time.is_some(), "{got:?}");

        let listed = core
            .list(&ListParams::default().fields(&format!(
                "involvedObject.kind=ConfigMap,involvedObject.name=subject,involvedObject.uid={}",
                subject.uid().unwrap_or_default()
            )))
            .await?
            .items;
        ensure!(listed.len() == 1, "one event, got {listed:?}");
        let got = &listed[0];
        ensure!(got.message.as_deref() == Some(note), "message: {got:?}");
        ensure!(got.reason.as_deref() == Some("DeviceRejected"), "{got:?}");
        ensure!(got.type_.as_deref() == Some("Warning"), "{got:?}");
        ensure!(got.action.as_deref() == Some("Provision"), "{got:?}");
        ensure!(got.involved_object == regarding, "involvedObject: {got:?}");
        ensure!(
            got.reporting_component.as_deref() == Some("ferrule-provisioning")
                && got.reporting_instance.as_deref() == Some("ferrule-0"),
            "{got:?}"
        );
        ensure!(
            got.series.as_ref().and_then(|s| s.count) == count,
            "series after {count:?}: {got:?}"
        );

        // Each view carries only its own names for the renamed fields.
        let name = got.metadata.name.clone().context("event name")?;
        let raw = core_raw.get(&name).await?.data;
        for v1_only in [
            "note",
            "regarding",
            "reportingController",
            "deprecatedCount",
        ] {
            ensure!(
                raw.get(v1_only).is_none(),
                "core/v1 view has {v1_only}: {raw}"
            );
        }
        let raw = v1_raw.get(&name).await?.data;
        for core_only in ["message", "involvedObject", "reportingComponent", "count"] {
            ensure!(
                raw.get(core_only).is_none(),
                "events.k8s.io/v1 view has {core_only}: {raw}"
            );
        }
    }
    server.shutdown().await;
    Ok(())
}

//! The real kubectl against the embedded API server: the acceptance scenario of the
//! embedded API server, step by step.

use std::time::Duration;

use anyhow::{Context, ensure};
use ferrule_e2e::{Kubectl, eventually, start_server};
use tokio::io::{AsyncBufReadExt, BufReader};

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: serviceorders.net.example.io
spec:
  group: net.example.io
  scope: Namespaced
  names: {plural: serviceorders, singular: serviceorder, kind: ServiceOrder, shortNames: [so], categories: [all]}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Bandwidth, type: integer, jsonPath: .spec.bandwidthMbps}
    - {name: Phase, type: string, jsonPath: .status.phase}
    - {name: Ready, type: string, jsonPath: '.status.conditions[?(@.type=="Ready")].status'}
    - {name: Customer, type: string, jsonPath: .spec.customer, priority: 1}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        description: ServiceOrder requests a network service.
        properties:
          spec:
            type: object
            required: [customer, bandwidthMbps]
            properties:
              customer: {type: string, minLength: 1, description: Customer identifier.}
              bandwidthMbps: {type: integer, minimum: 1, maximum: 100000}
              tier: {type: string, enum: [bronze, silver, gold], default: bronze, description: Service tier.}
          status:
            type: object
            properties:
              phase: {type: string}
              conditions:
                type: array
                items:
                  type: object
                  required: [type, status]
                  properties:
                    type: {type: string}
                    status: {type: string}
                    reason: {type: string}
                    lastTransitionTime: {type: string, format: date-time}
"#;

fn order(name: &str, bandwidth: u32, extra_meta: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: net.example.io/v1alpha1\nkind: ServiceOrder\nmetadata:\n  name: {name}\n  namespace: default\n  labels: {{app: demo}}\n{extra_meta}spec:\n  customer: acme\n  bandwidthMbps: {bandwidth}\n{extra_spec}"
    )
}

fn check(out: &ferrule_e2e::Output, what: &str) -> anyhow::Result<()> {
    ensure!(out.ok(), "{what} failed:\n{}\n{}", out.stdout, out.stderr);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_acceptance_scenario() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let work = tempfile::tempdir()?;
    let server = start_server(dir.path()).await?;
    let k = Kubectl::new(server.kubeconfig_path(), work.path());

    // --- CRDs: apply one and wait until it is Established.
    let crd = k.manifest("crd.yaml", CRD)?;
    let out = k.ok(&["apply", "-f", &crd]).await?;
    ensure!(out.contains("created"), "{out}");
    k.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/serviceorders.net.example.io",
        "--timeout=20s",
    ])
    .await?;

    // --- apply: create, re-apply unchanged, apply a change.
    let cr = k.manifest("cr.yaml", &order("x", 100, "", ""))?;
    ensure!(
        k.ok(&["apply", "-f", &cr])
            .await?
            .contains("serviceorder.net.example.io/x created")
    );
    ensure!(k.ok(&["apply", "-f", &cr]).await?.contains("unchanged"));
    let cr2 = k.manifest("cr2.yaml", &order("x", 200, "", ""))?;
    ensure!(k.ok(&["apply", "-f", &cr2]).await?.contains("configured"));

    // --- server-side apply: conflict with the client-side applier, then forced.
    let cr3 = k.manifest("cr3.yaml", &order("x", 300, "", ""))?;
    let out = k.run(&["apply", "--server-side", "-f", &cr3]).await?;
    ensure!(!out.ok(), "a conflicting server-side apply must fail");
    ensure!(
        out.stderr
            .contains("Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\"")
            && out.stderr.contains(".spec.bandwidthMbps"),
        "{}",
        out.stderr
    );
    let out = k
        .ok(&["apply", "--server-side", "--force-conflicts", "-f", &cr3])
        .await?;
    ensure!(out.contains("serverside-applied"), "{out}");
    ensure!(
        k.ok(&["get", "so", "x", "-o", "jsonpath={.spec.bandwidthMbps}"])
            .await?
            == "300"
    );
    let managed = k
        .ok(&["get", "so", "x", "-o", "yaml", "--show-managed-fields"])
        .await?;
    ensure!(
        managed.contains("manager: kubectl\n") && managed.contains("operation: Apply"),
        "{managed}"
    );

    // --- get: printer columns and the output formats.
    let table = k.ok(&["get", "so"]).await?;
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    ensure!(
        header == ["NAME", "BANDWIDTH", "PHASE", "READY", "AGE"],
        "{table}"
    );
    ensure!(
        table
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("x") && l.contains("300")),
        "{table}"
    );
    let wide = k.ok(&["get", "so", "-o", "wide"]).await?;
    ensure!(wide.contains("CUSTOMER") && wide.contains("acme"), "{wide}");
    ensure!(k.ok(&["get", "so", "-A"]).await?.starts_with("NAMESPACE"));
    ensure!(
        k.ok(&["get", "so", "x", "-o", "name"]).await?.trim() == "serviceorder.net.example.io/x"
    );
    let yaml = k.ok(&["get", "so", "x", "-o", "yaml"]).await?;
    ensure!(
        yaml.contains("bandwidthMbps: 300") && yaml.contains("tier: bronze"),
        "{yaml}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "so", "x", "-o", "json"]).await?)?;
    ensure!(json["metadata"]["generation"].as_i64() >= Some(2), "{json}");
    ensure!(
        k.ok(&["get", "so", "-l", "app=demo", "-o", "name"])
            .await?
            .contains("/x")
    );
    let none = k.run(&["get", "so", "-l", "app=other"]).await?;
    ensure!(
        none.ok() && none.stderr.contains("No resources found"),
        "{none:?}"
    );

    // --- status subresource: the main endpoint ignores status, /status only status.
    k.ok(&[
        "patch",
        "so",
        "x",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Active"},"spec":{"bandwidthMbps":1}}"#,
    ])
    .await?;
    let row = k
        .ok(&[
            "get",
            "so",
            "x",
            "-o",
            "jsonpath={.status.phase} {.spec.bandwidthMbps} {.metadata.generation}",
        ])
        .await?;
    let generation = json["metadata"]["generation"].as_i64().unwrap_or(0);
    ensure!(row == format!("Active 300 {generation}"), "{row}");

    // --- describe shows the events of an object.
    let uid = k
        .ok(&["get", "so", "x", "-o", "jsonpath={.metadata.uid}"])
        .await?;
    let event = k.manifest("event.yaml", &format!(
        "apiVersion: v1\nkind: Event\nmetadata: {{name: x.provisioned, namespace: default}}\n\
         involvedObject: {{apiVersion: net.example.io/v1alpha1, kind: ServiceOrder, name: x, namespace: default, uid: {uid}}}\n\
         reason: Provisioned\nmessage: all devices configured\ntype: Normal\nsource: {{component: ferrule}}\n"))?;
    k.ok(&["apply", "-f", &event]).await?;
    let described = k.ok(&["describe", "so", "x"]).await?;
    ensure!(
        described.contains("Provisioned") && described.contains("all devices configured"),
        "{described}"
    );
    ensure!(k.ok(&["get", "events"]).await?.contains("serviceorder/x"));

    // --- wait for a condition: times out, then succeeds when the status changes.
    let out = k
        .run(&["wait", "--for=condition=Ready", "so/x", "--timeout=2s"])
        .await?;
    ensure!(!out.ok() && out.stderr.contains("timed out"), "{out:?}");
    let waiter = {
        let k = k.clone();
        tokio::spawn(async move {
            k.run(&["wait", "--for=condition=Ready", "so/x", "--timeout=30s"])
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    k.ok(&["patch", "so", "x", "--subresource=status", "--type=merge", "-p",
        r#"{"status":{"conditions":[{"type":"Ready","status":"True","reason":"Done","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}"#]).await?;
    check(&waiter.await??, "wait --for=condition=Ready")?;
    ensure!(k.ok(&["get", "so", "x"]).await?.contains("True"));

    // --- watch: a change shows up on a running `kubectl get --watch`.
    let mut watch = k
        .command(&[
            "get",
            "so",
            "x",
            "--watch",
            "-o",
            "jsonpath={.metadata.labels.stage}{\"\\n\"}",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let stdout = watch.stdout.take().context("watch stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    lines.next_line().await?; // the current state
    k.ok(&["label", "so", "x", "stage=two"]).await?;
    let seen = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await? {
            if line.trim() == "two" {
                return anyhow::Ok(true);
            }
        }
        anyhow::Ok(false)
    })
    .await
    .context("the watch did not show the label change")??;
    ensure!(seen);
    watch.kill().await?;

    // --- label, annotate, edit, replace.
    k.ok(&["annotate", "so", "x", "note=hello"]).await?;
    ensure!(
        k.ok(&[
            "get",
            "so",
            "x",
            "-o",
            "jsonpath={.metadata.annotations.note}"
        ])
        .await?
            == "hello"
    );
    let out = k
        .run_env(
            &["edit", "so", "x"],
            &[(
                "EDITOR",
                "sed -i s/bandwidthMbps:\\ 300/bandwidthMbps:\\ 400/",
            )],
        )
        .await?;
    check(&out, "edit")?;
    ensure!(
        k.ok(&["get", "so", "x", "-o", "jsonpath={.spec.bandwidthMbps}"])
            .await?
            == "400"
    );
    let current = k.ok(&["get", "so", "x", "-o", "yaml"]).await?;
    let replaced = k.manifest(
        "replace.yaml",
        &current.replace("customer: acme", "customer: globex"),
    )?;
    ensure!(
        k.ok(&["replace", "-f", &replaced])
            .await?
            .contains("replaced")
    );
    ensure!(
        k.ok(&["get", "so", "x", "-o", "jsonpath={.spec.customer}"])
            .await?
            == "globex"
    );
    // A stale resourceVersion is a conflict.
    let out = k.run(&["replace", "-f", &replaced]).await?;
    ensure!(
        !out.ok() && out.stderr.contains("the object has been modified"),
        "{out:?}"
    );

    // --- discovery and OpenAPI.
    let resources = k.ok(&["api-resources"]).await?;
    for needle in [
        "serviceorders",
        "configmaps",
        "customresourcedefinitions",
        "leases",
        "events.k8s.io/v1",
    ] {
        ensure!(
            resources.contains(needle),
            "api-resources lacks {needle}:\n{resources}"
        );
    }
    let explained = k.ok(&["explain", "so.spec.tier"]).await?;
    ensure!(
        explained.contains("Service tier.") && explained.contains("bronze"),
        "{explained}"
    );
    ensure!(
        k.ok(&["explain", "serviceorders"])
            .await?
            .contains("ServiceOrder requests a network service.")
    );

    // --- invalid objects: 422 with field paths, unknown fields under strict validation.
    let bad = k.manifest("bad.yaml", &order("bad", 0, "", "  tier: platinum\n"))?;
    let out = k.run(&["apply", "-f", &bad]).await?;
    ensure!(!out.ok(), "an invalid object must be refused");
    ensure!(
        out.stderr.contains("The ServiceOrder \"bad\" is invalid"),
        "{}",
        out.stderr
    );
    ensure!(
        out.stderr
            .contains("* spec.bandwidthMbps: Invalid value: 0"),
        "{}",
        out.stderr
    );
    ensure!(
        out.stderr
            .contains("* spec.tier: Unsupported value: \"platinum\""),
        "{}",
        out.stderr
    );
    let unknown = k.manifest("unknown.yaml", &order("unk", 5, "", "  foo: bar\n"))?;
    let out = k.run(&["apply", "-f", &unknown]).await?;
    ensure!(
        !out.ok()
            && out
                .stderr
                .contains("strict decoding error: unknown field \"spec.foo\""),
        "{}",
        out.stderr
    );
    let out = k
        .run(&["create", "--validate=warn", "-f", &unknown])
        .await?;
    ensure!(
        out.ok() && out.stderr.contains("unknown field \"spec.foo\""),
        "{out:?}"
    );

    // --- finalizers: delete marks, wait --for=delete returns once the finalizer is gone.
    let held = k.manifest(
        "held.yaml",
        &order("held", 5, "  finalizers: [example.com/hold]\n", ""),
    )?;
    k.ok(&["apply", "-f", &held]).await?;
    k.ok(&["delete", "so", "held", "--wait=false"]).await?;
    let marked = k
        .ok(&[
            "get",
            "so",
            "held",
            "-o",
            "jsonpath={.metadata.deletionTimestamp}",
        ])
        .await?;
    ensure!(!marked.is_empty(), "deletionTimestamp must be set");
    let waiter = {
        let k = k.clone();
        tokio::spawn(async move {
            k.run(&["wait", "--for=delete", "so/held", "--timeout=30s"])
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    k.ok(&[
        "patch",
        "so",
        "held",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ])
    .await?;
    check(&waiter.await??, "wait --for=delete")?;
    ensure!(!k.run(&["get", "so", "held"]).await?.ok());

    // --- core types through apply, server-side apply and imperative commands.
    let core = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n\
        apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\ndata: {a: \"1\"}\n---\n\
        apiVersion: v1\nkind: Secret\nmetadata: {name: sec, namespace: shop}\nstringData: {user: admin}\n";
    let core_file = k.manifest("core.yaml", core)?;
    k.ok(&["apply", "-f", &core_file]).await?;
    let core2 = k.manifest(
        "core2.yaml",
        &core.replace("a: \"1\"", "a: \"2\", b: \"3\""),
    )?;
    ensure!(
        k.ok(&["apply", "-f", &core2])
            .await?
            .contains("configmap/cfg configured")
    );
    k.ok(&["apply", "--server-side", "--force-conflicts", "-f", &core2])
        .await?;
    ensure!(
        k.ok(&["get", "cm", "cfg", "-n", "shop", "-o", "jsonpath={.data.b}"])
            .await?
            == "3"
    );
    ensure!(
        k.ok(&[
            "get",
            "secret",
            "sec",
            "-n",
            "shop",
            "-o",
            "jsonpath={.data.user}"
        ])
        .await?
            == "YWRtaW4="
    );
    k.ok(&[
        "create",
        "configmap",
        "cfg2",
        "-n",
        "shop",
        "--from-literal=x=1",
    ])
    .await?;
    k.ok(&[
        "create",
        "secret",
        "generic",
        "s2",
        "-n",
        "shop",
        "--from-literal=pw=p@ss",
    ])
    .await?;
    k.ok(&["create", "namespace", "other"]).await?;
    ensure!(
        k.ok(&[
            "get",
            "secret",
            "s2",
            "-n",
            "shop",
            "-o",
            "jsonpath={.data.pw}"
        ])
        .await?
            == "cEBzcw=="
    );
    let listing = k.ok(&["get", "cm,secret", "-n", "shop"]).await?;
    ensure!(
        listing.contains("configmap/cfg2") && listing.contains("secret/s2"),
        "{listing}"
    );
    ensure!(k.ok(&["get", "ns"]).await?.contains("other"));
    // Writes into a namespace that does not exist are refused.
    let out = k
        .run(&["create", "configmap", "c", "-n", "nowhere"])
        .await?;
    ensure!(
        !out.ok() && out.stderr.contains("namespaces \"nowhere\" not found"),
        "{out:?}"
    );

    // --- deleting a namespace removes what it holds, then the namespace.
    k.ok(&["delete", "ns", "shop", "--timeout=60s"]).await?;
    ensure!(!k.run(&["get", "ns", "shop"]).await?.ok());
    let left = k
        .run(&["get", "cm,secret", "-n", "shop", "-o", "name"])
        .await?;
    ensure!(left.stdout.trim().is_empty(), "{left:?}");

    // --- deleting the CRD removes its objects.
    k.ok(&["delete", "-f", &crd, "--timeout=60s"]).await?;
    eventually(Duration::from_secs(20), || async {
        let out = k.run(&["get", "crd", "-o", "name"]).await.ok()?;
        (!out.stdout.contains("serviceorders")).then_some(())
    })
    .await?;

    server.shutdown().await;
    Ok(())
}

/// The row of `listing` that mentions `needle`, as a line index.
fn row_of(listing: &str, needle: &str) -> anyhow::Result<usize> {
    listing
        .lines()
        .position(|l| l.contains(needle))
        .with_context(|| format!("no row with {needle:?} in:\n{listing}"))
}

/// Events published by Ferrule's recorder (events.k8s.io/v1, `eventTime` and `series` only)
/// next to old-style core/v1 events (`lastTimestamp`, `count`), as kubectl lists them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_lists_and_sorts_recorded_events() -> anyhow::Result<()> {
    use ferrule_operator::events::Recorder;
    use k8s_openapi::api::core::v1::ObjectReference;
    use kube::runtime::events::{Event, EventType, Reporter};

    let dir = tempfile::tempdir()?;
    let work = tempfile::tempdir()?;
    let server = start_server(dir.path()).await?;
    let k = Kubectl::new(server.kubeconfig_path(), work.path());
    k.ok(&["create", "namespace", "lusofibra"]).await?;

    let recorder = Recorder::new(
        server.client().await?,
        Reporter {
            controller: "ferrule-provisioning".into(),
            instance: Some("ferrule-0".into()),
        },
    );
    let about = |name: &str| ObjectReference {
        api_version: Some("ferrule.dev/v1alpha1".into()),
        kind: Some("Subscription".into()),
        namespace: Some("lusofibra".into()),
        name: Some(name.into()),
        uid: Some(format!("uid-{name}")),
        ..Default::default()
    };
    let event = |reason: &str, note: &str| Event {
        type_: EventType::Normal,
        reason: reason.into(),
        note: Some(note.into()),
        action: "Provision".into(),
        secondary: None,
    };
    recorder
        .publish(
            &event("Provisioned", "all devices configured"),
            &about("s1"),
        )
        .await?;
    recorder
        .publish(&event("Claimed", "vlan 101 claimed"), &about("s2"))
        .await?;
    // A repeat: the first Event becomes a series of 2.
    recorder
        .publish(
            &event("Provisioned", "all devices configured"),
            &about("s1"),
        )
        .await?;

    // Two core/v1 events written the old way, created out of time order.
    for (name, last) in [
        ("late", "2026-01-01T00:10:00Z"),
        ("early", "2026-01-01T00:05:00Z"),
    ] {
        let manifest = k.manifest(
            &format!("{name}.yaml"),
            &format!(
                "apiVersion: v1\nkind: Event\nmetadata: {{name: {name}, namespace: lusofibra}}\n\
                 involvedObject: {{kind: Subscription, name: {name}, namespace: lusofibra}}\n\
                 reason: Legacy\nmessage: {name} event\ntype: Warning\nsource: {{component: old}}\n\
                 firstTimestamp: \"{last}\"\nlastTimestamp: \"{last}\"\ncount: 1\n"
            ),
        )?;
        k.ok(&["create", "-f", &manifest]).await?;
    }

    // The core/v1 view serves the unset deprecated fields as a real API server does.
    let raw = k
        .ok(&["get", "--raw", "/api/v1/namespaces/lusofibra/events"])
        .await?;
    let list: serde_json::Value = serde_json::from_str(&raw)?;
    let items = list["items"].as_array().context("items")?;
    let recorded: Vec<&serde_json::Value> = items
        .iter()
        .filter(|e| e["reportingComponent"] == "ferrule-provisioning")
        .collect();
    ensure!(recorded.len() == 2, "{raw}");
    for e in &recorded {
        ensure!(
            e.get("lastTimestamp") == Some(&serde_json::Value::Null)
                && e.get("firstTimestamp") == Some(&serde_json::Value::Null)
                && e["source"] == serde_json::json!({})
                && e["eventTime"].is_string(),
            "{e}"
        );
    }

    // --sort-by=.lastTimestamp lists every event: those without lastTimestamp (null) first,
    // then the others in time order.
    let sorted = k
        .ok(&[
            "get",
            "events",
            "-n",
            "lusofibra",
            "--sort-by=.lastTimestamp",
        ])
        .await?;
    ensure!(sorted.starts_with("LAST SEEN"), "{sorted}");
    let s1 = row_of(&sorted, "subscription/s1")?;
    let s2 = row_of(&sorted, "subscription/s2")?;
    let early = row_of(&sorted, "subscription/early")?;
    let late = row_of(&sorted, "subscription/late")?;
    ensure!(s1.max(s2) < early && early < late, "{sorted}");

    // The table: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE; the series counts 2.
    let table = k.ok(&["get", "events", "-n", "lusofibra"]).await?;
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap_or("")
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    ensure!(
        header == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        "{table}"
    );
    let row: Vec<&str> = table
        .lines()
        .find(|l| l.contains("subscription/s1"))
        .unwrap_or("")
        .split_whitespace()
        .collect();
    ensure!(
        row.get(1..5) == Some(&["Normal", "Provisioned", "subscription/s1", "all"][..])
            && row.last() == Some(&"configured")
            && !row[0].is_empty()
            && row[0] != "<unknown>",
        "{table}"
    );
    let wide = k
        .ok(&["get", "events", "-n", "lusofibra", "-o", "wide"])
        .await?;
    let s1_wide = wide
        .lines()
        .find(|l| l.contains("subscription/s1"))
        .unwrap_or("");
    ensure!(
        s1_wide.contains("ferrule-provisioning") && s1_wide.split_whitespace().any(|c| c == "2"),
        "{wide}"
    );
    Ok(())
}

/// `kubectl explain` on a Ferrule CRD installed from its committed YAML (generated header
/// included): descriptions are paragraphs that kubectl wraps at its own width, not at the
/// line breaks of the doc comments they come from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_explain_wraps_ferrule_descriptions_as_paragraphs() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let work = tempfile::tempdir()?;
    let server = start_server(dir.path()).await?;
    let k = Kubectl::new(server.kubeconfig_path(), work.path());
    let crd = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crds/subscriptions.bss.ferrule.dev.yaml")
        .canonicalize()?;
    let yaml = std::fs::read_to_string(&crd)?;
    ensure!(yaml.starts_with("# Generated by `ferrule crds`"), "{yaml}");
    k.ok(&["apply", "-f", &crd.display().to_string()]).await?;
    k.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/subscriptions.bss.ferrule.dev",
        "--timeout=20s",
    ])
    .await?;
    let explained = eventually(Duration::from_secs(20), || async {
        let out = k.run(&["explain", "subscription.spec"]).await.ok()?;
        out.ok().then_some(out.stdout)
    })
    .await?;
    // The doc comments break these sentences after "suspended variant" and "access device
    // when"; kubectl, wrapping at its own width, keeps the words together.
    for sentence in [
        "variant of the configuration (and stops recurring charges).",
        "device when absent.",
        "that selects the BNG (or the access device without a BNG) when absent.",
    ] {
        ensure!(
            explained.lines().any(|l| l.trim() == sentence),
            "no line {sentence:?} in:\n{explained}"
        );
    }
    Ok(())
}

/// `kubectl auth can-i` and `kubectl auth whoami` against the server's one identity, which
/// may do everything that exists; without the token they are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_auth_can_i_and_whoami() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let work = tempfile::tempdir()?;
    let mut config = ferrule_apiserver::ServeConfig::new(dir.path(), "127.0.0.1:0".parse()?);
    config.crds = ferrule_crds::crdgen::all_crds()
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    let server = ferrule_apiserver::serve(config).await?;
    let k = Kubectl::new(server.kubeconfig_path(), work.path());

    // Discovery lists the review resources, create-only.
    let resources = k
        .ok(&[
            "api-resources",
            "--api-group=authorization.k8s.io",
            "-o",
            "wide",
        ])
        .await?;
    ensure!(
        resources.contains("selfsubjectaccessreviews")
            && resources.contains("selfsubjectrulesreviews"),
        "{resources}"
    );
    let versions = k.ok(&["api-versions"]).await?;
    ensure!(
        versions.contains("authorization.k8s.io/v1")
            && versions.contains("authentication.k8s.io/v1"),
        "{versions}"
    );

    // Anything that exists: yes (exit 0).
    for args in [
        &["auth", "can-i", "create", "subscriptions", "-n", "x"][..],
        &["auth", "can-i", "delete", "devices.oss.ferrule.dev", "-A"],
        &[
            "auth",
            "can-i",
            "patch",
            "subscriptions",
            "--subresource=status",
            "-n",
            "x",
        ],
        &["auth", "can-i", "get", "/healthz"],
        &["auth", "can-i", "*", "*"],
    ] {
        let out = k.run(args).await?;
        ensure!(out.ok() && out.stdout.trim() == "yes", "{args:?}: {out:?}");
    }
    // What does not exist: no (exit 1), with the reason.
    let out = k
        .run(&["auth", "can-i", "create", "pods", "-n", "x"])
        .await?;
    ensure!(out.code == 1 && out.stdout.starts_with("no"), "{out:?}");
    ensure!(out.stdout.contains("does not serve pods"), "{out:?}");
    let out = k
        .run(&["auth", "can-i", "escalate", "subscriptions", "-n", "x"])
        .await?;
    ensure!(out.code == 1 && out.stdout.starts_with("no"), "{out:?}");

    // --list: every served resource with its verbs.
    let list = k.ok(&["auth", "can-i", "--list", "-n", "x"]).await?;
    let line = |needle: &str| {
        list.lines()
            .find(|l| l.split_whitespace().next() == Some(needle))
            .map(str::to_string)
    };
    let subs = line("subscriptions.bss.ferrule.dev").context(list.clone())?;
    ensure!(
        subs.contains("[create delete deletecollection get list patch update watch]"),
        "{subs}"
    );
    let status = line("subscriptions.bss.ferrule.dev/status").context(list.clone())?;
    ensure!(status.contains("[get patch update]"), "{status}");
    ensure!(line("configmaps").is_some(), "{list}");

    // whoami, as a table and as JSON.
    let table = k.ok(&["auth", "whoami"]).await?;
    ensure!(table.contains("ferrule-admin"), "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&k.ok(&["auth", "whoami", "-o", "json"]).await?)?;
    ensure!(json["kind"] == "SelfSubjectReview", "{json}");
    ensure!(json["apiVersion"] == "authentication.k8s.io/v1", "{json}");
    ensure!(
        json["status"]["userInfo"]["username"] == "ferrule-admin",
        "{json}"
    );
    ensure!(
        json["status"]["userInfo"]["groups"]
            == serde_json::json!(["system:masters", "system:authenticated"]),
        "{json}"
    );

    // Without the token: 401, as for every other request.
    let anonymous = work.path().join("anonymous.kubeconfig");
    let text = std::fs::read_to_string(server.kubeconfig_path())?;
    let token = &server.kubeconfig().token;
    std::fs::write(&anonymous, text.replace(token.as_str(), "not-the-token"))?;
    let anon = Kubectl::new(&anonymous, work.path());
    for args in [
        &["auth", "can-i", "create", "subscriptions", "-n", "x"][..],
        &["auth", "whoami"],
    ] {
        let out = anon.run(args).await?;
        ensure!(
            !out.ok() && out.stderr.contains("Unauthorized"),
            "{args:?}: {out:?}"
        );
    }
    server.shutdown().await;
    Ok(())
}

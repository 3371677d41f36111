//! Writing a plan for people (text) and programs (JSON). Pure.

use std::fmt::Write as _;

use serde::Serialize;

use crate::netconf::plan::ProfileSchema;
use ferrule_netconf::tree::Edit;
use ferrule_render::Renderer;

use super::dryrun::{Action, SubscriptionPlan};

/// The JSON document of a plan.
#[derive(Debug, Serialize)]
pub struct PlanDocument<'a> {
    /// Every subscription the manifests touch, in manifest order.
    pub subscriptions: &'a [SubscriptionPlan],
    /// Always false: a plan pushes nothing.
    pub pushed: bool,
}

/// The plan as JSON.
pub fn json(plans: &[SubscriptionPlan]) -> String {
    let doc = PlanDocument {
        subscriptions: plans,
        pushed: false,
    };
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_owned())
}

/// An edit payload indented for reading, when its profile is known.
fn pretty(renderer: &Renderer, profile: &str, payload: &str) -> String {
    renderer
        .profiles()
        .get(profile)
        .and_then(|p| ProfileSchema::of(p).ok())
        .and_then(|ps| Edit::parse(payload, &ps.schema).ok())
        .map(|edit| edit.to_xml_pretty())
        .unwrap_or_else(|| payload.to_owned())
}

/// The plan as text.
pub fn text(renderer: &Renderer, plans: &[SubscriptionPlan]) -> String {
    let mut out = String::new();
    let mut claims = 0;
    let mut edits = 0;
    let mut problems = 0;
    for plan in plans {
        let action = match plan.action {
            Action::Create => "create",
            Action::Update => "update",
            Action::Unchanged => "no spec change",
            Action::Delete => "delete",
        };
        let _ = writeln!(
            out,
            "Subscription {}/{}: {action}  [{}]",
            plan.namespace, plan.name, plan.origin
        );
        if let Some((reason, message)) = &plan.problem {
            problems += 1;
            let _ = writeln!(out, "  ! {reason}: {message}");
            out.push('\n');
            continue;
        }
        for claim in &plan.claims {
            claims += 1;
            let _ = writeln!(
                out,
                "  + claim {} (pool {}, value {})",
                claim.name, claim.pool, claim.value
            );
        }
        for released in &plan.released {
            let _ = writeln!(out, "  - claim {released}");
        }
        if plan.action != Action::Delete {
            let mut values = Vec::new();
            if let Some(vlan) = plan.vlan {
                values.push(format!("vlan {vlan}"));
            }
            if let Some(ipv4) = &plan.ipv4 {
                values.push(format!("ipv4 {ipv4}"));
            }
            let _ = writeln!(out, "  allocations: {}", values.join(", "));
        }
        for device in &plan.devices {
            match &device.payload {
                None => {
                    let _ = writeln!(
                        out,
                        "  device {} ({}): no change",
                        device.device, device.address
                    );
                }
                Some(payload) => {
                    edits += 1;
                    let _ = writeln!(
                        out,
                        "  device {} ({}, profile {}): edit-config",
                        device.device, device.address, device.profile
                    );
                    for line in pretty(renderer, &device.profile, payload).lines() {
                        let _ = writeln!(out, "    {line}");
                    }
                }
            }
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Plan: {} subscription(s), {claims} claim(s) to create, {edits} device edit(s), {problems} problem(s). Nothing was pushed.",
        plans.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::dryrun::{DeviceEdit, PlannedClaim};

    fn plan() -> SubscriptionPlan {
        SubscriptionPlan {
            namespace: "isp".into(),
            name: "a".into(),
            origin: "o.yaml#1".into(),
            action: Action::Create,
            problem: None,
            claims: vec![PlannedClaim {
                name: "p.1200".into(),
                pool: "p".into(),
                value: "1200".into(),
            }],
            released: vec![],
            vlan: Some(1200),
            ipv4: None,
            devices: vec![DeviceEdit {
                device: "olt1".into(),
                address: "127.0.0.1:830".into(),
                profile: "ietf".into(),
                payload: Some(
                    "<interfaces xmlns=\"urn:ietf:params:xml:ns:yang:ietf-interfaces\"><interface><name>x.1200</name></interface></interfaces>".into(),
                ),
            }],
        }
    }

    #[test]
    fn text_lists_claims_and_indented_payloads() {
        let renderer = Renderer::builtin().unwrap();
        let text = text(&renderer, &[plan()]);
        assert!(text.contains("Subscription isp/a: create"), "{text}");
        assert!(text.contains("  + claim p.1200 (pool p, value 1200)"));
        assert!(text.contains("      <name>x.1200</name>"), "{text}");
        assert!(text.ends_with("1 device edit(s), 0 problem(s). Nothing was pushed.\n"));
    }

    #[test]
    fn json_says_nothing_was_pushed() {
        let value: serde_json::Value = serde_json::from_str(&json(&[plan()])).unwrap();
        assert_eq!(value["pushed"], false);
        assert_eq!(value["subscriptions"][0]["claims"][0]["name"], "p.1200");
    }
}

//! Render: the configuration every device of a subscription needs, from its device profile.
//!
//! Pure: an [`Intent`] and the allocated values in, one payload per device out.

use crate::transactor::DeviceTarget;
use ferrule_operator::reasons;
use ferrule_render::{
    Attachment, Ipv4Prefix, RenderError, RenderInput, Renderer, Requirement, Role,
};

use super::validate::{Intent, Placement};

/// The values a subscription renders with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Values {
    /// Subscriber VLAN.
    pub vlan: u16,
    /// Subscriber address with prefix length.
    pub ipv4: Option<Ipv4Prefix>,
}

/// The payload of one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The device.
    pub target: DeviceTarget,
    /// Its role for the subscription.
    pub role: Role,
    /// The inner `<config>` payload.
    pub payload: String,
}

/// Rendering failed on one device. The user must fix product, profile or template.
#[derive(Debug, thiserror::Error)]
#[error("Device {device} (profile {profile}, role {role}): {source}")]
pub struct RenderFailure {
    /// The device.
    pub device: String,
    /// Its profile.
    pub profile: String,
    /// Its role.
    pub role: Role,
    /// What went wrong.
    #[source]
    pub source: Box<RenderError>,
}

impl RenderFailure {
    /// The condition reason.
    pub fn reason(&self) -> &'static str {
        reasons::RENDER_FAILED
    }
}

/// The render input of a subscription (the same for every device).
pub fn render_input(intent: &Intent, values: &Values) -> RenderInput {
    RenderInput {
        customer: intent.customer.clone(),
        subscription: intent.name.clone(),
        namespace: intent.namespace.clone(),
        product: intent.product.clone(),
        parameters: intent.parameters.clone(),
        access: Attachment {
            device: intent.access.name(),
            port: intent.access.port.clone(),
        },
        bng: intent.bng.as_ref().map(|b| Attachment {
            device: b.name(),
            port: b.port.clone(),
        }),
        vlan: values.vlan,
        ipv4: values.ipv4,
        suspended: intent.suspended,
    }
}

/// Whether the device handing out addresses renders nothing without one (its profile's role
/// requires `ipv4`). Unknown profiles count as not requiring: rendering reports them.
pub fn ipv4_required(renderer: &Renderer, intent: &Intent) -> bool {
    let placement = intent.bng.as_ref().unwrap_or(&intent.access);
    renderer
        .profiles()
        .get(&placement.device.spec.profile)
        .and_then(|p| p.roles().get(&placement.role))
        .is_some_and(|r| r.requires.contains(&Requirement::Ipv4))
}

/// Renders the payload of every device, access device first.
pub fn render(
    renderer: &Renderer,
    intent: &Intent,
    values: &Values,
) -> Result<Vec<Rendered>, RenderFailure> {
    let input = render_input(intent, values);
    intent
        .placements()
        .map(|placement| render_one(renderer, intent, placement, &input))
        .collect()
}

fn render_one(
    renderer: &Renderer,
    intent: &Intent,
    placement: &Placement,
    input: &RenderInput,
) -> Result<Rendered, RenderFailure> {
    let profile = &placement.device.spec.profile;
    let payload = renderer
        .render(profile, &intent.service_type, placement.role, input)
        .map_err(|source| RenderFailure {
            device: placement.name(),
            profile: profile.clone(),
            role: placement.role,
            source: Box::new(source),
        })?;
    Ok(Rendered {
        target: DeviceTarget::of(&placement.device),
        role: placement.role,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::subscription::validate::{References, validate};
    use ferrule_crds::oss::device::DeviceRole;
    use std::sync::Arc;

    fn intent(with_bng: bool, suspended: bool) -> Intent {
        let customer = mk_customer("ana", None);
        let product = mk_product("fibre-500", 500, 100);
        let mut devices = vec![mk_device("olt1", DeviceRole::Access, Some("lis"))];
        if with_bng {
            devices.push(mk_device("bng1", DeviceRole::Bng, Some("lis")));
        }
        let mut sub = mk_subscription("ana-home", "ana", "fibre-500", "olt1", "ge-0/0/1");
        if suspended {
            sub.spec.state = ferrule_crds::bss::subscription::DesiredState::Suspended;
        }
        let subs: Vec<Arc<ferrule_crds::Subscription>> = Vec::new();
        validate(
            &sub,
            References {
                customer: Some(&customer),
                product: Some(&product),
                devices: &devices,
                subscriptions: &subs,
            },
        )
        .unwrap()
    }

    fn values() -> Values {
        Values {
            vlan: 1203,
            ipv4: Some("100.64.0.5/30".parse().unwrap()),
        }
    }

    #[test]
    fn access_and_bng_render_their_halves() {
        let renderer = Renderer::builtin().unwrap();
        let intent = intent(true, false);
        assert!(ipv4_required(&renderer, &intent));
        let out = render(&renderer, &intent, &values()).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(
            (out[0].target.name.as_str(), out[0].role),
            ("olt1", Role::Access)
        );
        assert!(
            out[0].payload.contains("ge-0/0/1.1203"),
            "{}",
            out[0].payload
        );
        assert!(!out[0].payload.contains("100.64.0.5"));
        assert_eq!(
            (out[1].target.name.as_str(), out[1].role),
            ("bng1", Role::Bng)
        );
        assert!(out[1].payload.contains("olt1.1203"), "{}", out[1].payload);
        assert!(out[1].payload.contains("100.64.0.5"));
    }

    #[test]
    fn standalone_renders_both_halves_on_one_device() {
        let renderer = Renderer::builtin().unwrap();
        let out = render(&renderer, &intent(false, false), &values()).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].role, Role::Standalone);
        assert!(out[0].payload.contains("ge-0/0/1.1203") && out[0].payload.contains("100.64.0.5"));
    }

    #[test]
    fn suspended_renders_the_suspended_variant() {
        let renderer = Renderer::builtin().unwrap();
        let active = render(&renderer, &intent(false, false), &values()).unwrap();
        let suspended = render(&renderer, &intent(false, true), &values()).unwrap();
        assert!(active[0].payload.contains("<enabled>true</enabled>"));
        assert!(suspended[0].payload.contains("<enabled>false</enabled>"));
    }

    #[test]
    fn missing_address_names_the_device_and_role() {
        let renderer = Renderer::builtin().unwrap();
        let no_ip = Values {
            vlan: 1203,
            ipv4: None,
        };
        let err = render(&renderer, &intent(true, false), &no_ip).unwrap_err();
        assert_eq!(err.device, "bng1");
        assert_eq!(err.reason(), reasons::RENDER_FAILED);
        assert!(
            err.to_string()
                .starts_with("Device bng1 (profile ietf, role bng): "),
            "{err}"
        );
    }
}

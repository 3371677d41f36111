//! Writing a subscription's status, applied record and Events.

use ferrule_crds::Subscription;
use ferrule_crds::bss::subscription::{
    Allocations, DesiredState, DeviceConfig, SubscriptionStatus,
};
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

use crate::context::{Context, FIELD_MANAGER};
use crate::transactor::NetworkPlan;
use ferrule_operator::context::{Note, now};
use ferrule_operator::patch::status_patch;

use super::applied::{self, APPLIED_ANNOTATION};
use super::status::{Outcome, StatusInput, next_status, transitions};

/// Keeps the latest version of the subscription and patches its status and annotation.
pub(super) struct StatusWriter {
    pub(super) api: Api<Subscription>,
    pub(super) current: Subscription,
}

impl StatusWriter {
    pub(super) fn status(&self) -> SubscriptionStatus {
        self.current.status.clone().unwrap_or_default()
    }

    pub(super) fn params() -> PatchParams {
        PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..Default::default()
        }
    }

    pub(super) async fn write(
        &mut self,
        outcome: &Outcome,
        allocations: Option<Allocations>,
        devices: Option<Vec<DeviceConfig>>,
    ) -> Result<(), kube::Error> {
        let old = self.status();
        let input = StatusInput {
            generation: self.current.metadata.generation,
            suspended: self.current.spec.state == DesiredState::Suspended,
            now: now(),
            allocations,
            devices,
        };
        let new = next_status(&old, outcome, input);
        let (Ok(old_json), Ok(new_json)) = (serde_json::to_value(&old), serde_json::to_value(&new))
        else {
            return Ok(());
        };
        let Some(patch) = status_patch(
            self.current.resource_version().as_deref(),
            &old_json,
            &new_json,
        ) else {
            return Ok(());
        };
        let name = self.current.name_any();
        self.current = self
            .api
            .patch_status(&name, &Self::params(), &Patch::Merge(&patch))
            .await?;
        Ok(())
    }

    pub(super) async fn record_applied(&mut self, plan: &NetworkPlan) -> Result<(), kube::Error> {
        let value = applied::encode(&plan.devices);
        let patch = json!({"metadata": {"annotations": {APPLIED_ANNOTATION: value}}});
        let name = self.current.name_any();
        self.current = self
            .api
            .patch(&name, &Self::params(), &Patch::Merge(&patch))
            .await?;
        Ok(())
    }
}

/// Publishes the Events of the change from `before` to the subscription's status.
pub(super) async fn publish_transitions(
    ctx: &Context,
    sub: &Subscription,
    before: &SubscriptionStatus,
) {
    let after = sub.status.clone().unwrap_or_default();
    let reference = sub.object_ref(&());
    for note in transitions(before, &after) {
        ctx.publish(&reference, &note).await;
    }
}

/// Warns that devices the subscription had configuration on no longer exist.
pub(super) async fn report_gone(ctx: &Context, sub: &Subscription, gone: &[String]) {
    for device in gone {
        let note = Note {
            warning: true,
            reason: "DeviceGone".into(),
            message: format!(
                "Device {device} no longer exists; the configuration this subscription had there was not removed"
            ),
            action: "Deprovision",
        };
        ctx.publish(&sub.object_ref(&()), &note).await;
    }
}

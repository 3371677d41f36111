//! Drift seen from a subscription: the Device controller's drift checks record, in each
//! Device's `status.drift.affected`, the subscriptions whose configuration is missing or
//! different there and was not repaired. A converged subscription named there is not Ready.
//! Pure.

use ferrule_crds::Device;
use ferrule_crds::bss::subscription::DeviceConfig;

/// The message of a subscription whose configuration drifted on some of `configured`'s
/// devices (looked up with `device`); `None` when it is intact everywhere.
pub fn drifted(
    subscription: &str,
    configured: &[DeviceConfig],
    device: impl Fn(&str) -> Option<std::sync::Arc<Device>>,
) -> Option<String> {
    let parts: Vec<String> = configured
        .iter()
        .filter_map(|config| {
            let found = device(&config.name)?;
            let drift = found.status.as_ref()?.drift.as_ref()?;
            (drift.detected && drift.affected.iter().any(|a| a == subscription)).then(|| {
                format!(
                    "configuration drifted on {}: {}",
                    config.name,
                    drift.entries.join("; ")
                )
            })
        })
        .collect();
    (!parts.is_empty()).then(|| {
        format!(
            "{} (the device's driftPolicy is Report, or the repair failed; repair it or set driftPolicy: Repair)",
            parts.join("; ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use ferrule_crds::Timestamp;
    use ferrule_crds::oss::device::{DeviceRole, DeviceStatus, Drift};
    use std::sync::Arc;

    fn config(device: &str) -> DeviceConfig {
        DeviceConfig {
            name: device.into(),
            transaction: "t".into(),
            digest: "d".into(),
            owned: vec![],
        }
    }

    fn with_drift(name: &str, affected: &[&str]) -> Arc<Device> {
        let mut device = (*mk_device(name, DeviceRole::Access, None)).clone();
        device.status = Some(DeviceStatus {
            drift: Some(Drift {
                detected: !affected.is_empty(),
                entries: vec!["missing /if:interfaces/if:interface[if:name='x.1']".into()],
                affected: affected.iter().map(|a| a.to_string()).collect(),
                checked_at: Timestamp::parse("2024-01-01T00:00:00Z").unwrap(),
            }),
            ..Default::default()
        });
        Arc::new(device)
    }

    #[test]
    fn only_a_device_naming_the_subscription_takes_it_out_of_ready() {
        let devices = [with_drift("olt2", &["a"]), with_drift("bng1", &[])];
        let lookup = |name: &str| {
            devices
                .iter()
                .find(|d| d.metadata.name.as_deref() == Some(name))
                .cloned()
        };
        let message = drifted("a", &[config("olt2"), config("bng1")], lookup).unwrap();
        assert!(
            message.contains("drifted on olt2") && !message.contains("bng1"),
            "{message}"
        );
        assert_eq!(drifted("b", &[config("olt2")], lookup), None);
        assert_eq!(
            drifted("a", &[config("bng1"), config("gone")], lookup),
            None
        );
    }
}

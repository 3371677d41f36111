//! What the control plane has achieved, at a glance: orders completed, subscriptions ready,
//! devices connected and configured. `ferrule up --apply` waits for it to settle and prints
//! it; the same figures are what `kubectl get so,subs,devices` shows in detail.
//!
//! Device figures count what the Device controller verified in this run of the process
//! ([`Verified`]), not what a status written before a restart remembers: a device counts as
//! connected once it was reached here, and as configured once its owned configuration was
//! found on it (or repaired) here.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use ferrule_crds::bss::service_order::OrderState;
use ferrule_crds::bss::subscription::SubscriptionPhase;
use ferrule_crds::condition::{find_condition, is_condition_true, types};
use ferrule_crds::oss::device::DevicePhase;
use ferrule_crds::{Device, ServiceOrder, Subscription};
use kube::ResourceExt;
use kube::api::{Api, ListParams};

use ferrule_operator::reasons;
use ferrule_provisioning::inventory::verified::{Verdict, Verified};

/// Counts over every namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// ServiceOrders by state (`Pending` while none is set yet).
    pub orders: BTreeMap<String, usize>,
    /// Subscriptions by phase (`Pending` while none is set yet).
    pub subscriptions: BTreeMap<String, usize>,
    /// Subscriptions whose Ready condition is True.
    pub subscriptions_ready: usize,
    /// Subscriptions not Ready because a device's configuration drifted (reason ConfigDrift).
    pub subscriptions_drifted: usize,
    /// Subscriptions whose Ready condition does not agree yet with their devices' last drift
    /// check (about to change).
    pub subscriptions_catching_up: usize,
    /// Devices in all.
    pub devices: usize,
    /// Devices whose phase is Connected (and that were reached in this run).
    pub devices_connected: usize,
    /// Devices holding configuration of at least one subscription (verified in this run).
    pub devices_configured: usize,
    /// Devices not yet looked at in this run.
    pub devices_unverified: usize,
}

impl Summary {
    /// Reads the counts from the API; device figures only count what `verified` records
    /// (all of the API's view when `None`, e.g. against a cluster run by another process).
    pub async fn collect(
        client: &kube::Client,
        verified: Option<&Verified>,
    ) -> Result<Self, kube::Error> {
        let params = ListParams::default();
        let orders = Api::<ServiceOrder>::all(client.clone())
            .list(&params)
            .await?;
        let subs = Api::<Subscription>::all(client.clone())
            .list(&params)
            .await?;
        let devices = Api::<Device>::all(client.clone()).list(&params).await?;
        Ok(Self::of(
            &orders.items,
            &subs.items,
            &devices.items,
            verified,
        ))
    }

    /// The counts over these objects.
    pub fn of(
        orders: &[ServiceOrder],
        subs: &[Subscription],
        devices: &[Device],
        verified: Option<&Verified>,
    ) -> Self {
        let key = |ns: Option<String>, name: String| format!("{}/{name}", ns.unwrap_or_default());
        let verdict = |d: &Device| match verified {
            Some(v) => v.get(&key(d.namespace(), d.name_any())),
            None => Some(Verdict::InSync),
        };
        let mut summary = Summary::default();
        for order in orders {
            let state = order.status.as_ref().and_then(|s| s.state);
            *summary.orders.entry(order_state(state)).or_default() += 1;
        }
        // Subscriptions the devices' last drift checks found drifted.
        let drifted: BTreeSet<(String, String)> = devices
            .iter()
            .filter_map(|d| {
                let drift = d.status.as_ref()?.drift.as_ref()?;
                drift.detected.then(|| {
                    drift
                        .affected
                        .iter()
                        .map(|a| (d.namespace().unwrap_or_default(), a.clone()))
                        .collect::<Vec<_>>()
                })
            })
            .flatten()
            .collect();
        let mut configured = BTreeSet::new();
        for sub in subs {
            let status = sub.status.as_ref();
            let phase = status.and_then(|s| s.phase);
            *summary.subscriptions.entry(sub_phase(phase)).or_default() += 1;
            let ready = status.and_then(|s| find_condition(&s.conditions, types::READY));
            let shows_drift =
                ready.is_some_and(|c| !c.is_true() && c.reason == reasons::CONFIG_DRIFT);
            if status.is_some_and(|s| is_condition_true(&s.conditions, types::READY)) {
                summary.subscriptions_ready += 1;
            }
            if shows_drift {
                summary.subscriptions_drifted += 1;
            }
            let ns = sub.namespace().unwrap_or_default();
            let named = drifted.contains(&(ns.clone(), sub.name_any()));
            let settled_phase = matches!(
                phase,
                Some(SubscriptionPhase::Active | SubscriptionPhase::Suspended)
            );
            if settled_phase && named != shows_drift {
                summary.subscriptions_catching_up += 1;
            }
            for device in status.map(|s| s.devices.as_slice()).unwrap_or_default() {
                configured.insert(key(Some(ns.clone()), device.name.clone()));
            }
        }
        summary.devices = devices.len();
        for device in devices {
            let verdict = verdict(device);
            let phase = device.status.as_ref().and_then(|s| s.phase);
            match verdict {
                None => summary.devices_unverified += 1,
                Some(v) if v.connected() && phase == Some(DevicePhase::Connected) => {
                    summary.devices_connected += 1;
                    if v == Verdict::InSync
                        && configured.contains(&key(device.namespace(), device.name_any()))
                    {
                        summary.devices_configured += 1;
                    }
                }
                Some(_) => {}
            }
        }
        summary
    }

    /// Orders still moving: neither Completed, Failed, Partial nor Rejected.
    pub fn orders_open(&self) -> usize {
        self.orders
            .iter()
            .filter(|(state, _)| {
                !matches!(
                    state.as_str(),
                    "Completed" | "Failed" | "Partial" | "Rejected"
                )
            })
            .map(|(_, n)| n)
            .sum()
    }

    /// Subscriptions in all.
    pub fn subscriptions_total(&self) -> usize {
        self.subscriptions.values().sum()
    }

    /// Nothing is moving any more: every order reached a final state, every device was
    /// looked at in this run, and every subscription is Ready, Failed, or not Ready because of
    /// a drift its device reported (which waits for someone to act).
    pub fn settled(&self) -> bool {
        let failed = self.subscriptions.get("Failed").copied().unwrap_or(0);
        self.orders_open() == 0
            && self.devices_unverified == 0
            && self.subscriptions_catching_up == 0
            && self.subscriptions_ready + failed + self.subscriptions_drifted
                == self.subscriptions_total()
    }

    /// Polls until [`Summary::settled`] or until `timeout`; returns the last summary and
    /// whether it settled.
    pub async fn wait_settled(
        client: &kube::Client,
        verified: Option<&Verified>,
        timeout: Duration,
    ) -> Result<(Self, bool), kube::Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let summary = Self::collect(client, verified).await?;
            if summary.settled() {
                return Ok((summary, true));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok((summary, false));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

fn order_state(state: Option<OrderState>) -> String {
    state.map_or_else(|| "Pending".to_owned(), |s| format!("{s:?}"))
}

fn sub_phase(phase: Option<SubscriptionPhase>) -> String {
    phase.map_or_else(|| "Pending".to_owned(), |p| format!("{p:?}"))
}

fn counts(map: &BTreeMap<String, usize>) -> String {
    if map.is_empty() {
        return "none".to_owned();
    }
    map.iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let orders: usize = self.orders.values().sum();
        let completed = self.orders.get("Completed").copied().unwrap_or(0);
        writeln!(
            f,
            "orders:        {completed}/{orders} completed ({})",
            counts(&self.orders)
        )?;
        write!(
            f,
            "subscriptions: {}/{} ready ({})",
            self.subscriptions_ready,
            self.subscriptions_total(),
            counts(&self.subscriptions)
        )?;
        if self.subscriptions_drifted > 0 {
            write!(
                f,
                ", {} not ready: configuration drifted on a device",
                self.subscriptions_drifted
            )?;
        }
        writeln!(f)?;
        write!(
            f,
            "devices:       {}/{} connected, {} configured",
            self.devices_connected, self.devices, self.devices_configured
        )?;
        if self.devices_unverified > 0 {
            write!(f, ", {} not checked yet", self.devices_unverified)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrule_crds::bss::subscription::{DeviceConfig, SubscriptionStatus};
    use ferrule_crds::oss::device::{DeviceRole, DeviceStatus, Drift};
    use ferrule_crds::testing::*;
    use ferrule_crds::{Condition, ConditionStatus, Timestamp};

    fn mk_summary(orders: &[(&str, usize)], subs: &[(&str, usize)], ready: usize) -> Summary {
        Summary {
            orders: orders.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
            subscriptions: subs.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
            subscriptions_ready: ready,
            devices: 3,
            devices_connected: 3,
            devices_configured: 3,
            ..Default::default()
        }
    }

    #[test]
    fn settles_only_when_orders_are_final_and_subscriptions_ready_or_failed() {
        assert!(mk_summary(&[("Completed", 3)], &[("Active", 3), ("Suspended", 1)], 4).settled());
        assert!(!mk_summary(&[("Completed", 2), ("InProgress", 1)], &[("Active", 3)], 3).settled());
        assert!(
            !mk_summary(
                &[("Completed", 3)],
                &[("Provisioning", 1), ("Active", 2)],
                2
            )
            .settled()
        );
        assert!(mk_summary(&[("Rejected", 1)], &[("Failed", 1), ("Active", 1)], 1).settled());
        assert!(mk_summary(&[], &[], 0).settled());
    }

    /// A Connected device, drift recorded for `affected`.
    fn mk_connected(name: &str, affected: &[&str]) -> Device {
        let mut device = (*mk_device(name, DeviceRole::Access, None)).clone();
        device.status = Some(DeviceStatus {
            phase: Some(DevicePhase::Connected),
            drift: Some(Drift {
                detected: !affected.is_empty(),
                entries: vec![],
                affected: affected.iter().map(|a| a.to_string()).collect(),
                checked_at: Timestamp::parse("2024-01-01T00:00:00Z").unwrap(),
            }),
            ..Default::default()
        });
        device
    }

    /// An Active subscription configured on `device`, Ready or not for `reason`.
    fn mk_active(name: &str, device: &str, ready: Result<(), &str>) -> Subscription {
        let mut sub = mk_subscription(name, "c", "p", device, "ge-0/0/1");
        let (value, reason) = match ready {
            Ok(()) => (ConditionStatus::True, "Active"),
            Err(reason) => (ConditionStatus::False, reason),
        };
        sub.status = Some(SubscriptionStatus {
            phase: Some(SubscriptionPhase::Active),
            conditions: vec![Condition::new(
                types::READY,
                value,
                reason,
                "",
                Timestamp::parse("2024-01-01T00:00:00Z").unwrap(),
                None,
            )],
            devices: vec![DeviceConfig {
                name: device.into(),
                transaction: "t".into(),
                digest: "d".into(),
                owned: vec![],
            }],
            ..Default::default()
        });
        sub
    }

    #[test]
    fn devices_count_only_what_this_run_verified() {
        let devices = [mk_connected("olt1", &[]), mk_connected("olt2", &["b"])];
        let subs = [
            mk_active("a", "olt1", Ok(())),
            mk_active("b", "olt2", Err(reasons::CONFIG_DRIFT)),
        ];
        // Nothing verified yet: the statuses from before are not counted.
        let verified = Verified::default();
        let summary = Summary::of(&[], &subs, &devices, Some(&verified));
        assert_eq!(
            (summary.devices_connected, summary.devices_configured),
            (0, 0)
        );
        assert_eq!(summary.devices_unverified, 2);
        assert!(!summary.settled());
        assert!(
            summary.to_string().ends_with(", 2 not checked yet"),
            "{summary}"
        );

        verified.record("isp/olt1", Verdict::InSync, 1);
        verified.record("isp/olt2", Verdict::Drifted, 1);
        let summary = Summary::of(&[], &subs, &devices, Some(&verified));
        assert_eq!(
            (summary.devices_connected, summary.devices_configured),
            (2, 1)
        );
        assert_eq!(
            (summary.subscriptions_ready, summary.subscriptions_drifted),
            (1, 1)
        );
        assert!(summary.settled(), "{summary:?}");
        assert!(
            summary
                .to_string()
                .contains("1/2 ready (2 Active), 1 not ready: configuration drifted"),
            "{summary}"
        );
    }

    #[test]
    fn a_subscription_still_ready_on_a_drifted_device_is_not_settled() {
        let devices = [mk_connected("olt2", &["b"])];
        let subs = [mk_active("b", "olt2", Ok(()))];
        let verified = Verified::default();
        verified.record("isp/olt2", Verdict::Drifted, 1);
        let summary = Summary::of(&[], &subs, &devices, Some(&verified));
        assert_eq!(summary.subscriptions_catching_up, 1);
        assert!(!summary.settled());
    }

    #[test]
    fn display_reads_at_a_glance() {
        let text =
            mk_summary(&[("Completed", 3)], &[("Active", 4), ("Suspended", 1)], 5).to_string();
        assert_eq!(
            text,
            "orders:        3/3 completed (3 Completed)\n\
             subscriptions: 5/5 ready (4 Active, 1 Suspended)\n\
             devices:       3/3 connected, 3 configured"
        );
    }
}

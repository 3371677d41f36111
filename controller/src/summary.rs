//! What the control plane has achieved, at a glance: orders completed, subscriptions ready,
//! devices connected and configured. `ferrule up --apply` waits for it to settle and prints
//! it; the same figures are what `kubectl get so,subs,devices` shows in detail.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use ferrule_crds::bss::service_order::OrderState;
use ferrule_crds::bss::subscription::SubscriptionPhase;
use ferrule_crds::condition::{is_condition_true, types};
use ferrule_crds::oss::device::DevicePhase;
use ferrule_crds::{Device, ServiceOrder, Subscription};
use kube::api::{Api, ListParams};

/// Counts over every namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// ServiceOrders by state (`Pending` while none is set yet).
    pub orders: BTreeMap<String, usize>,
    /// Subscriptions by phase (`Pending` while none is set yet).
    pub subscriptions: BTreeMap<String, usize>,
    /// Subscriptions whose Ready condition is True.
    pub subscriptions_ready: usize,
    /// Devices in all.
    pub devices: usize,
    /// Devices whose phase is Connected.
    pub devices_connected: usize,
    /// Devices holding configuration of at least one subscription.
    pub devices_configured: usize,
}

impl Summary {
    /// Reads the counts from the API.
    pub async fn collect(client: &kube::Client) -> Result<Self, kube::Error> {
        let params = ListParams::default();
        let orders = Api::<ServiceOrder>::all(client.clone())
            .list(&params)
            .await?;
        let subs = Api::<Subscription>::all(client.clone())
            .list(&params)
            .await?;
        let devices = Api::<Device>::all(client.clone()).list(&params).await?;
        let mut summary = Summary::default();
        for order in &orders {
            let state = order.status.as_ref().and_then(|s| s.state);
            *summary.orders.entry(order_state(state)).or_default() += 1;
        }
        let mut configured = BTreeSet::new();
        for sub in &subs {
            let status = sub.status.as_ref();
            let phase = status.and_then(|s| s.phase);
            *summary.subscriptions.entry(sub_phase(phase)).or_default() += 1;
            if status.is_some_and(|s| is_condition_true(&s.conditions, types::READY)) {
                summary.subscriptions_ready += 1;
            }
            for device in status.map(|s| s.devices.as_slice()).unwrap_or_default() {
                let ns = sub.metadata.namespace.clone().unwrap_or_default();
                configured.insert((ns, device.name.clone()));
            }
        }
        summary.devices = devices.items.len();
        summary.devices_connected = devices
            .iter()
            .filter(|d| {
                d.status
                    .as_ref()
                    .is_some_and(|s| s.phase == Some(DevicePhase::Connected))
            })
            .count();
        summary.devices_configured = configured.len();
        Ok(summary)
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

    /// Nothing is moving any more: every order reached a final state and every subscription
    /// is Ready or Failed.
    pub fn settled(&self) -> bool {
        let failed = self.subscriptions.get("Failed").copied().unwrap_or(0);
        self.orders_open() == 0 && self.subscriptions_ready + failed == self.subscriptions_total()
    }

    /// Polls until [`Summary::settled`] or until `timeout`; returns the last summary and
    /// whether it settled.
    pub async fn wait_settled(
        client: &kube::Client,
        timeout: Duration,
    ) -> Result<(Self, bool), kube::Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let summary = Self::collect(client).await?;
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
        writeln!(
            f,
            "subscriptions: {}/{} ready ({})",
            self.subscriptions_ready,
            self.subscriptions_total(),
            counts(&self.subscriptions)
        )?;
        write!(
            f,
            "devices:       {}/{} connected, {} configured",
            self.devices_connected, self.devices, self.devices_configured
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mk_summary(orders: &[(&str, usize)], subs: &[(&str, usize)], ready: usize) -> Summary {
        Summary {
            orders: orders.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
            subscriptions: subs.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
            subscriptions_ready: ready,
            devices: 3,
            devices_connected: 3,
            devices_configured: 3,
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

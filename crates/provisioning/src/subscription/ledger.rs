//! Values this process claimed (or found taken) recently, so concurrent reconciles do not all
//! race for the same lowest free value.
//!
//! The claims cache learns of a new claim only with its watch event; until then every
//! reconcile allocating from the pool would pick the same value, and all but one would lose
//! the creation race, one round trip each. The ledger hands each reconcile a different
//! candidate. It only steers the choice: the API server's name uniqueness still decides.
//! Entries expire after [`ClaimLedger::TTL`], by when the cache knows the claim.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::allocate::{Allocation, PoolRange};

/// Recently reserved values per pool (`namespace/pool`).
#[derive(Debug, Default)]
pub struct ClaimLedger {
    pools: Mutex<HashMap<String, HashMap<Allocation, Instant>>>,
}

impl ClaimLedger {
    /// How long a reservation counts.
    pub const TTL: Duration = Duration::from_secs(60);

    /// Reserves the lowest value of `range` that is neither in `taken` nor reserved recently.
    pub fn reserve(
        &self,
        pool: &str,
        range: &PoolRange,
        taken: &BTreeSet<Allocation>,
        now: Instant,
    ) -> Option<Allocation> {
        let mut pools = self.pools.lock().ok()?;
        let reserved = pools.entry(pool.to_owned()).or_default();
        reserved.retain(|_, at| now.saturating_duration_since(*at) < Self::TTL);
        let mut busy = taken.clone();
        busy.extend(reserved.keys().copied());
        let value = range.next_free(&busy)?;
        reserved.insert(value, now);
        Some(value)
    }

    /// Forgets the reservation of a claim value as written in a claim (`1203`,
    /// `100.64.0.4/30`).
    pub fn forget_text(&self, pool: &str, value: &str) {
        let parsed = match value.parse::<u16>() {
            Ok(id) => Some(Allocation::Vlan(id)),
            Err(_) => crate::allocate::Ipv4Prefix::parse_network(value)
                .ok()
                .map(Allocation::Ipv4),
        };
        if let Some(value) = parsed {
            self.forget(pool, &value);
        }
    }

    /// Forgets a reservation (the claim was not created, or has been released).
    pub fn forget(&self, pool: &str, value: &Allocation) {
        if let Ok(mut pools) = self.pools.lock()
            && let Some(reserved) = pools.get_mut(pool)
        {
            reserved.remove(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_reservations_get_different_values_until_they_expire() {
        let ledger = ClaimLedger::default();
        let range = PoolRange::vlan(10, 12).unwrap();
        let t0 = Instant::now();
        let taken = BTreeSet::from([Allocation::Vlan(10)]);
        assert_eq!(
            ledger.reserve("ns/p", &range, &taken, t0),
            Some(Allocation::Vlan(11))
        );
        assert_eq!(
            ledger.reserve("ns/p", &range, &taken, t0),
            Some(Allocation::Vlan(12))
        );
        assert_eq!(ledger.reserve("ns/p", &range, &taken, t0), None);
        assert_eq!(
            ledger.reserve("ns/other", &range, &taken, t0),
            Some(Allocation::Vlan(11)),
            "pools are separate"
        );
        ledger.forget_text("ns/p", "11");
        assert_eq!(
            ledger.reserve("ns/p", &range, &taken, t0),
            Some(Allocation::Vlan(11))
        );
        let later = t0 + ClaimLedger::TTL;
        assert_eq!(
            ledger.reserve("ns/p", &range, &taken, later),
            Some(Allocation::Vlan(11))
        );
    }
}

//! What the Device controller has established about each device in this run of the process.
//!
//! A Device's status survives a restart of the controller, but the device may not have kept
//! its configuration meanwhile (a rebooted box, a simulator started afresh): a status that
//! says Connected and InSync is only a memory. The controller therefore checks every device
//! once in each run before it trusts the status to skip a check, and `ferrule up`'s summary
//! counts what was verified here, not what the status remembers.

use std::collections::HashMap;
use std::sync::Mutex;

/// The outcome of the last look at one device in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Connected, and the owned configuration is on the device (or was repaired).
    InSync,
    /// Connected, and owned configuration is missing or different.
    Drifted,
    /// Connected, but the drift check could not run.
    CheckFailed,
    /// The device could not be reached.
    Unreachable,
}

impl Verdict {
    /// Whether the device was reached in this run.
    pub fn connected(self) -> bool {
        !matches!(self, Self::Unreachable)
    }
}

/// The verdicts, keyed `namespace/name`, each with the number of the session it was reached
/// on. Shared by the Device controller and the summary.
#[derive(Debug, Default)]
pub struct Verified {
    verdicts: Mutex<HashMap<String, (Verdict, u64)>>,
}

impl Verified {
    /// Records the outcome of a look at device `key` over its `session`-th session.
    pub fn record(&self, key: &str, verdict: Verdict, session: u64) {
        self.lock().insert(key.to_owned(), (verdict, session));
    }

    /// The last verdict on device `key` in this run, if it was looked at.
    pub fn get(&self, key: &str) -> Option<Verdict> {
        self.lock().get(key).map(|(v, _)| *v)
    }

    /// Whether device `key` was reached and checked on its `session`-th session (a newer
    /// session may reach a device that restarted meanwhile).
    pub fn checked_on(&self, key: &str, session: u64) -> bool {
        self.lock()
            .get(key)
            .is_some_and(|(v, s)| v.connected() && *s == session)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Verdict, u64)>> {
        self.verdicts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_is_unverified_until_looked_at() {
        let verified = Verified::default();
        assert_eq!(verified.get("isp/olt1"), None);
        assert!(!verified.checked_on("isp/olt1", 0));
        verified.record("isp/olt1", Verdict::Drifted, 1);
        assert_eq!(verified.get("isp/olt1"), Some(Verdict::Drifted));
        assert!(verified.checked_on("isp/olt1", 1));
        // A new session: checked again.
        assert!(!verified.checked_on("isp/olt1", 2));
        verified.record("isp/olt1", Verdict::Unreachable, 2);
        assert!(!verified.get("isp/olt1").unwrap().connected());
        assert!(!verified.checked_on("isp/olt1", 2));
    }
}

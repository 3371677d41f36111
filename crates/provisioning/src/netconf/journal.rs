//! The durable transaction journal: each running network transaction's record in a
//! ConfigMap, so a controller that dies mid-transaction is finished by the next one.
//!
//! [`ApiJournal`] implements the southbound [`Journal`]: the record is written before every
//! phase that can change a device's running configuration (the confirmed commits, the
//! decision, the confirming commits) and once more at the end. The ConfigMap
//! (`<transaction id>`, label [`RECORD_LABEL`], in the devices' namespace) lives while the
//! transaction may hold devices; it is deleted when the transaction ended cleanly, and kept
//! when something is left for [`super::recovery`] to finish: a confirming commit that did not
//! reach a device, a rollback step that failed, or a process that died.
//!
//! The ConfigMap also names the devices (`namespace/name`, [`DEVICES_KEY`]) since the record
//! knows them only by name.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

use ferrule_netconf::transaction::{Journal, JournalError, TransactionRecord};

/// Label on every journal ConfigMap (value `"true"`).
pub const RECORD_LABEL: &str = "transactions.ferrule.dev/record";
/// Data key of the record (JSON).
pub const RECORD_KEY: &str = "record.json";
/// Data key of the devices (JSON array of `namespace/name`, in record order).
pub const DEVICES_KEY: &str = "devices.json";
/// Field manager of journal writes.
const FIELD_MANAGER: &str = "ferrule-transactions";

/// Transactions this process is running now: recovery leaves their records alone.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<Mutex<BTreeSet<String>>>);

impl InFlight {
    /// Marks `id` as running until the guard is dropped.
    pub fn enter(&self, id: &str) -> InFlightGuard {
        if let Ok(mut set) = self.0.lock() {
            set.insert(id.to_owned());
        }
        InFlightGuard {
            set: self.clone(),
            id: id.to_owned(),
        }
    }

    /// Whether `id` is running in this process.
    pub fn contains(&self, id: &str) -> bool {
        self.0.lock().is_ok_and(|set| set.contains(id))
    }
}

/// Keeps a transaction in [`InFlight`] while alive.
#[derive(Debug)]
pub struct InFlightGuard {
    set: InFlight,
    id: String,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if let Ok(mut set) = self.set.0.lock() {
            set.remove(&self.id);
        }
    }
}

/// Stores one transaction's record in a ConfigMap.
#[derive(Debug)]
pub struct ApiJournal {
    api: Api<ConfigMap>,
    devices: Vec<String>,
    /// Set once the ConfigMap exists.
    created: bool,
}

impl ApiJournal {
    /// A journal for a transaction over `devices` (`namespace/name`, in edit order); the
    /// ConfigMap goes to the first device's namespace.
    pub fn new(client: Client, devices: Vec<String>) -> Self {
        let namespace = devices
            .first()
            .and_then(|key| key.split_once('/'))
            .map_or("default", |(ns, _)| ns)
            .to_owned();
        Self {
            api: Api::namespaced(client, &namespace),
            devices,
            created: false,
        }
    }

    /// Whether a record was written.
    pub fn is_written(&self) -> bool {
        self.created
    }

    /// Deletes the record of transaction `id` (once nothing is left to recover).
    pub async fn discard(&self, id: &str) -> Result<(), JournalError> {
        if !self.created {
            return Ok(());
        }
        delete(&self.api, id).await
    }

    async fn create(&self, record: &TransactionRecord, text: String) -> Result<(), kube::Error> {
        let devices = serde_json::to_string(&self.devices).unwrap_or_else(|_| "[]".into());
        let object: ConfigMap = serde_json::from_value(json!({
            "metadata": {
                "name": record.id,
                "labels": {RECORD_LABEL: "true"},
            },
            "data": {RECORD_KEY: text, DEVICES_KEY: devices},
        }))
        .map_err(kube::Error::SerdeError)?;
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        };
        self.api.create(&params, &object).await.map(drop)
    }
}

impl Journal for ApiJournal {
    async fn save(&mut self, record: &TransactionRecord) -> Result<(), JournalError> {
        let text = serde_json::to_string(record).map_err(|e| JournalError(e.to_string()))?;
        if self.created {
            return store(&self.api, &record.id, text).await;
        }
        self.create(record, text)
            .await
            .map_err(|e| JournalError(format!("ConfigMap {}: {e}", record.id)))?;
        self.created = true;
        Ok(())
    }
}

/// Replaces the record of transaction `id`.
pub async fn store(api: &Api<ConfigMap>, id: &str, record: String) -> Result<(), JournalError> {
    let patch = json!({"data": {RECORD_KEY: record}});
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    api.patch(id, &params, &Patch::Merge(&patch))
        .await
        .map(drop)
        .map_err(|e| JournalError(format!("ConfigMap {id}: {e}")))
}

/// Deletes the record of transaction `id`; a record already gone is fine.
pub async fn delete(api: &Api<ConfigMap>, id: &str) -> Result<(), JournalError> {
    match api.delete(id, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
        Err(e) => Err(JournalError(format!("ConfigMap {id}: {e}"))),
    }
}

/// A stored journal entry, as recovery reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The record.
    pub record: TransactionRecord,
    /// `namespace/name` of each device, in record order.
    pub devices: Vec<String>,
}

/// Why a journal ConfigMap cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("transaction record {name}: {reason}")]
pub struct EntryError {
    /// The ConfigMap name.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Entry {
    /// Reads a journal ConfigMap.
    pub fn read(cm: &ConfigMap) -> Result<Self, EntryError> {
        let name = cm.metadata.name.clone().unwrap_or_default();
        let error = |reason: String| EntryError {
            name: name.clone(),
            reason,
        };
        let data = cm.data.as_ref().ok_or_else(|| error("no data".into()))?;
        let text = data
            .get(RECORD_KEY)
            .ok_or_else(|| error(format!("no {RECORD_KEY}")))?;
        let record: TransactionRecord =
            serde_json::from_str(text).map_err(|e| error(format!("{RECORD_KEY}: {e}")))?;
        let devices: Vec<String> = match data.get(DEVICES_KEY) {
            Some(text) => {
                serde_json::from_str(text).map_err(|e| error(format!("{DEVICES_KEY}: {e}")))?
            }
            None => Vec::new(),
        };
        if devices.len() != record.devices.len() {
            return Err(error(format!(
                "{} device keys for {} devices in the record",
                devices.len(),
                record.devices.len()
            )));
        }
        Ok(Self { record, devices })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::mk_candidate_record;
    use ferrule_netconf::transaction::Decision;

    fn record() -> TransactionRecord {
        TransactionRecord {
            id: "ferrule-1".into(),
            confirm_timeout_secs: 120,
            decision: Decision::Commit,
            devices: vec![mk_candidate_record("olt1")],
        }
    }

    fn config_map(record: &str, devices: Option<&str>) -> ConfigMap {
        let mut data = std::collections::BTreeMap::from([(RECORD_KEY.into(), record.into())]);
        if let Some(devices) = devices {
            data.insert(DEVICES_KEY.into(), devices.into());
        }
        ConfigMap {
            metadata: kube::api::ObjectMeta {
                name: Some("ferrule-1".into()),
                ..Default::default()
            },
            data: Some(data),
            ..Default::default()
        }
    }

    #[test]
    fn entries_round_trip_and_bad_ones_are_named() {
        let text = serde_json::to_string(&record()).unwrap();
        let entry = Entry::read(&config_map(&text, Some(r#"["isp/olt1"]"#))).unwrap();
        assert_eq!(entry.record, record());
        assert_eq!(entry.devices, ["isp/olt1"]);

        let missing = Entry::read(&config_map(&text, None)).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "transaction record ferrule-1: 0 device keys for 1 devices in the record"
        );
        let garbage = Entry::read(&config_map("{", Some("[]"))).unwrap_err();
        assert!(garbage.reason.starts_with("record.json: "), "{garbage}");
    }

    #[test]
    fn in_flight_guards_remove_on_drop() {
        let in_flight = InFlight::default();
        let guard = in_flight.enter("t1");
        assert!(in_flight.contains("t1"));
        drop(guard);
        assert!(!in_flight.contains("t1"));
    }
}

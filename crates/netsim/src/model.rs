//! What a simulated device takes from its device profile: the keyed lists that give its
//! datastore RFC 6241 list semantics, the prefixes of its error paths, the module capabilities
//! it advertises, its datastore and commit style, and where its interface state lives.

use ferrule_netconf::tree::{ListSchema, PrefixMap, SchemaError};
use ferrule_render::{Datastore, DeviceProfile, StateSpec};

use super::topology::DatastoreKind;

/// The profile-derived model of one simulated device.
#[derive(Debug, Clone)]
pub struct DeviceModel {
    /// The profile name.
    pub profile: String,
    /// Where edits go.
    pub datastore: DatastoreKind,
    /// Keyed lists of the profile.
    pub schema: ListSchema,
    /// The profile's prefixes, for `error-path`s.
    pub prefixes: PrefixMap,
    /// Module capability URIs for the hello.
    pub modules: Vec<String>,
    /// The profile says the device has `:confirmed-commit`.
    pub confirmed_commit: bool,
    /// The profile says the device has `:rollback-on-error`.
    pub rollback_on_error: bool,
    /// Where interface state is read.
    pub state: StateSpec,
}

// === impl DeviceModel ===

impl DeviceModel {
    /// The model of a device emulating `profile`, with the topology's datastore override.
    pub fn from_profile(
        profile: &DeviceProfile,
        datastore: Option<DatastoreKind>,
    ) -> Result<Self, SchemaError> {
        let schema = profile.list_schema()?;
        let prefixes = profile.prefix_map()?;
        let datastore = datastore.unwrap_or(match profile.datastore() {
            Datastore::Candidate => DatastoreKind::Candidate,
            Datastore::Running => DatastoreKind::Running,
        });
        Ok(Self {
            profile: profile.name().to_owned(),
            datastore,
            schema,
            prefixes,
            modules: profile
                .namespaces()
                .values()
                .map(|ns| module_uri(ns))
                .collect(),
            confirmed_commit: profile.confirmed_commit(),
            rollback_on_error: profile.rollback_on_error(),
            state: profile.state().clone(),
        })
    }
}

/// The capability URI of a YANG namespace: `ns?module=name` for IETF namespaces, whose module
/// name is the last segment; the bare namespace otherwise.
fn module_uri(ns: &str) -> String {
    match ns.strip_prefix("urn:ietf:params:xml:ns:yang:") {
        Some(module) if !module.is_empty() && !module.contains(':') => {
            format!("{ns}?module={module}")
        }
        _ => ns.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrule_render::ProfileSet;

    #[test]
    fn every_builtin_profile_makes_a_model() {
        let set = ProfileSet::builtin().unwrap();
        for profile in set.profiles() {
            let model = DeviceModel::from_profile(profile, None)
                .unwrap_or_else(|e| panic!("{}: {e}", profile.name()));
            assert!(model.schema.lists().count() > 0, "{}", profile.name());
        }
        let ietf = DeviceModel::from_profile(set.get("ietf").unwrap(), None).unwrap();
        assert_eq!(ietf.datastore, DatastoreKind::Candidate);
        assert!(ietf.modules.contains(
            &"urn:ietf:params:xml:ns:yang:ietf-interfaces?module=ietf-interfaces".to_owned()
        ));
        let running =
            DeviceModel::from_profile(set.get("ietf").unwrap(), Some(DatastoreKind::Running))
                .unwrap();
        assert_eq!(running.datastore, DatastoreKind::Running);
    }
}

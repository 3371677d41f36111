//! A device profile as the config-tree code sees it: its keyed lists as a [`ListSchema`] and
//! its namespace prefixes as a [`PrefixMap`]. The planner, drift checks and the simulated
//! devices all read payloads with these, so they agree on what a list entry is.

use super::profile::DeviceProfile;
use ferrule_netconf::tree::{KeyedList, ListSchema, PrefixMap, QName, SchemaError};

// === impl DeviceProfile (config trees) ===

impl DeviceProfile {
    /// The profile's keyed lists, for reading payloads and device data as config trees.
    pub fn list_schema(&self) -> Result<ListSchema, SchemaError> {
        let qnames = |pairs: Vec<(String, String)>| -> Vec<QName> {
            pairs
                .into_iter()
                .map(|(ns, name)| QName::new(ns, name))
                .collect()
        };
        ListSchema::from_lists(self.resolved_keyed_lists().into_iter().map(|(path, keys)| {
            KeyedList {
                path: qnames(path),
                keys: qnames(keys),
            }
        }))
    }

    /// The profile's prefixes, for writing and reading owned-entry paths and error paths.
    pub fn prefix_map(&self) -> Result<PrefixMap, SchemaError> {
        PrefixMap::from_pairs(
            self.namespaces()
                .iter()
                .map(|(prefix, ns)| (prefix.clone(), ns.clone())),
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::ProfileSet;
    use ferrule_netconf::tree::QName;

    #[test]
    fn every_builtin_profile_gives_a_schema_and_prefixes() {
        let set = ProfileSet::builtin().unwrap();
        for profile in set.profiles() {
            let schema = profile.list_schema().unwrap();
            assert!(schema.lists().count() > 0, "{}", profile.name());
            let prefixes = profile.prefix_map().unwrap();
            for (prefix, ns) in profile.namespaces() {
                assert_eq!(prefixes.prefix(ns), Some(prefix.as_str()));
            }
        }
        let ietf = set.get("ietf").unwrap().list_schema().unwrap();
        let q = |name: &str| QName::new("urn:ietf:params:xml:ns:yang:ietf-interfaces", name);
        assert_eq!(
            ietf.keys(&[q("interfaces"), q("interface")]),
            Some(&[q("name")][..])
        );
    }
}

//! The topology file: which simulated devices exist, where they listen and how they behave.
//!
//! Parsing and expansion are pure: [`Topology::from_yaml`] turns text into a validated list of
//! [`DeviceSpec`]s (with `generate` blocks expanded), and nothing here opens a socket.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::NetsimError;

/// The largest topology file accepted, in bytes.
pub const MAX_TOPOLOGY_BYTES: usize = 4 * 1024 * 1024;
/// The largest number of devices one topology may hold.
pub const MAX_DEVICES: usize = 5000;
/// The largest number of ports one device may declare.
pub const MAX_PORTS: usize = 4096;
/// The profile a device emulates when the topology names none.
pub const DEFAULT_PROFILE: &str = "ietf";
/// The share of an interface's configured rate that simulated traffic uses, in percent.
pub const DEFAULT_TRAFFIC_LOAD_PERCENT: u8 = 10;

/// A topology file as written by a user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopologyFile {
    /// Devices listed one by one.
    #[serde(default)]
    pub devices: Vec<DeviceSpec>,
    /// Blocks of generated devices (`prefix1`, `prefix2`, … on consecutive ports).
    #[serde(default)]
    pub generate: Vec<GenerateSpec>,
}

/// One simulated device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceSpec {
    /// The device name (also the seed of its host key).
    pub name: String,
    /// Where its SSH server listens; must be a loopback address (port 0 picks a free port).
    pub listen: SocketAddr,
    /// The device profile it emulates (a `device-profiles/` name).
    #[serde(default = "default_profile")]
    pub profile: String,
    /// Who may log in; `admin`/`admin` by password when absent.
    #[serde(default)]
    pub auth: Option<AuthSpec>,
    /// Capabilities added to or removed from the ones the profile implies.
    #[serde(default)]
    pub capabilities: CapabilityOverrides,
    /// The datastore edits go to; the profile's when absent.
    #[serde(default)]
    pub datastore: Option<DatastoreKind>,
    /// The physical ports present on the device.
    #[serde(default)]
    pub ports: Vec<String>,
    /// Extra seed material for the host key, to give two topologies different keys.
    #[serde(default)]
    pub host_key_seed: Option<String>,
    /// Share of each interface's configured rate that simulated traffic uses, in percent.
    #[serde(default)]
    pub traffic_load_percent: Option<u8>,
}

/// A block of devices generated from a prefix, for benchmarks and scale tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerateSpec {
    /// Name prefix; devices are named `<prefix>1` … `<prefix><count>`.
    pub prefix: String,
    /// How many devices to generate.
    pub count: u32,
    /// Port of the first device; the others follow consecutively (0 picks free ports).
    pub base_port: u16,
    /// The loopback address they listen on.
    #[serde(default = "default_host")]
    pub host: IpAddr,
    /// The device profile they emulate.
    #[serde(default = "default_profile")]
    pub profile: String,
    /// Who may log in; `admin`/`admin` by password when absent.
    #[serde(default)]
    pub auth: Option<AuthSpec>,
    /// Capability overrides applied to every generated device.
    #[serde(default)]
    pub capabilities: CapabilityOverrides,
    /// The datastore edits go to; the profile's when absent.
    #[serde(default)]
    pub datastore: Option<DatastoreKind>,
    /// The physical ports present on every generated device.
    #[serde(default)]
    pub ports: Vec<String>,
    /// Extra seed material for the host keys.
    #[serde(default)]
    pub host_key_seed: Option<String>,
    /// Share of each interface's configured rate that simulated traffic uses, in percent.
    #[serde(default)]
    pub traffic_load_percent: Option<u8>,
}

/// Login rules of a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthSpec {
    /// The accounts that may log in.
    pub users: Vec<UserSpec>,
}

/// One account of a simulated device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserSpec {
    /// The login name.
    pub username: String,
    /// Its password, if password login is allowed.
    #[serde(default)]
    pub password: Option<String>,
    /// OpenSSH public keys (`ssh-ed25519 AAAA… comment`) that may log in as this user.
    #[serde(default)]
    pub authorized_keys: Vec<String>,
}

/// Capability URIs added to or removed from a device's hello.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CapabilityOverrides {
    /// URIs advertised in addition to the implied ones.
    #[serde(default)]
    pub add: Vec<String>,
    /// URIs (or their prefix before `?`) not advertised; the matching feature is refused.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// Where a device applies edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatastoreKind {
    /// Edits go to `candidate` and take effect on `commit`.
    Candidate,
    /// Edits go straight to `running` (`:writable-running`).
    Running,
}

/// A validated topology: every device resolved, generated blocks expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// The devices, listed devices first, then generated ones in order.
    pub devices: Vec<DeviceSpec>,
}

// === impl Topology ===

impl Topology {
    /// Reads and validates a topology file.
    pub fn load(path: &Path) -> Result<Self, NetsimError> {
        let text = std::fs::read_to_string(path).map_err(|source| NetsimError::ReadTopology {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_yaml(&text)
    }

    /// Parses and validates a topology from YAML text.
    pub fn from_yaml(text: &str) -> Result<Self, NetsimError> {
        if text.len() > MAX_TOPOLOGY_BYTES {
            return Err(NetsimError::TopologyTooLarge {
                size: text.len(),
                limit: MAX_TOPOLOGY_BYTES,
            });
        }
        let file: TopologyFile = serde_saphyr::from_str(text)?;
        Self::from_file(file)
    }

    /// Expands and validates a parsed topology file.
    pub fn from_file(file: TopologyFile) -> Result<Self, NetsimError> {
        let mut devices = file.devices;
        for block in &file.generate {
            expand(block, &mut devices)?;
        }
        validate(&devices)?;
        Ok(Self { devices })
    }

    /// A topology of the given devices, validated.
    pub fn new(devices: Vec<DeviceSpec>) -> Result<Self, NetsimError> {
        Self::from_file(TopologyFile {
            devices,
            generate: Vec::new(),
        })
    }
}

// === impl DeviceSpec ===

impl DeviceSpec {
    /// A device with default settings (profile `ietf`, `admin`/`admin`) listening on `listen`.
    pub fn new(name: impl Into<String>, listen: SocketAddr) -> Self {
        Self {
            name: name.into(),
            listen,
            profile: default_profile(),
            auth: None,
            capabilities: CapabilityOverrides::default(),
            datastore: None,
            ports: Vec::new(),
            host_key_seed: None,
            traffic_load_percent: None,
        }
    }

    /// The accounts of the device, with the `admin`/`admin` default applied.
    pub fn users(&self) -> Vec<UserSpec> {
        match &self.auth {
            Some(auth) => auth.users.clone(),
            None => vec![UserSpec {
                username: "admin".to_owned(),
                password: Some("admin".to_owned()),
                authorized_keys: Vec::new(),
            }],
        }
    }

    /// The traffic load in percent of the configured rate.
    pub fn traffic_load(&self) -> u8 {
        self.traffic_load_percent
            .unwrap_or(DEFAULT_TRAFFIC_LOAD_PERCENT)
    }
}

fn default_profile() -> String {
    DEFAULT_PROFILE.to_owned()
}

fn default_host() -> IpAddr {
    IpAddr::from([127, 0, 0, 1])
}

/// Appends the devices a `generate` block stands for.
fn expand(block: &GenerateSpec, out: &mut Vec<DeviceSpec>) -> Result<(), NetsimError> {
    let invalid = |reason: String| NetsimError::InvalidDevice {
        device: format!("generate {}", block.prefix),
        reason,
    };
    if block.count as usize > MAX_DEVICES {
        return Err(invalid(format!("count is over the limit of {MAX_DEVICES}")));
    }
    for i in 0..block.count {
        let port = if block.base_port == 0 {
            0
        } else {
            u16::try_from(u32::from(block.base_port) + i)
                .map_err(|_| invalid("ports run past 65535".to_owned()))?
        };
        out.push(DeviceSpec {
            name: format!("{}{}", block.prefix, i + 1),
            listen: SocketAddr::new(block.host, port),
            profile: block.profile.clone(),
            auth: block.auth.clone(),
            capabilities: block.capabilities.clone(),
            datastore: block.datastore,
            ports: block.ports.clone(),
            host_key_seed: block.host_key_seed.clone(),
            traffic_load_percent: block.traffic_load_percent,
        });
    }
    Ok(())
}

/// Checks the rules a topology must follow.
fn validate(devices: &[DeviceSpec]) -> Result<(), NetsimError> {
    if devices.len() > MAX_DEVICES {
        return Err(NetsimError::InvalidDevice {
            device: "topology".to_owned(),
            reason: format!("{} devices, more than {MAX_DEVICES}", devices.len()),
        });
    }
    let mut names = BTreeSet::new();
    let mut addrs = BTreeSet::new();
    for device in devices {
        let invalid = |reason: String| NetsimError::InvalidDevice {
            device: device.name.clone(),
            reason,
        };
        if !valid_name(&device.name) {
            return Err(invalid(
                "name must be 1-63 characters of a-z, 0-9, '-', '_' or '.'".to_owned(),
            ));
        }
        if !names.insert(device.name.as_str()) {
            return Err(invalid("name used twice".to_owned()));
        }
        if !device.listen.ip().is_loopback() {
            return Err(invalid(format!(
                "listen address {} is not a loopback address",
                device.listen
            )));
        }
        if device.listen.port() != 0 && !addrs.insert(device.listen) {
            return Err(invalid(format!(
                "listen address {} used twice",
                device.listen
            )));
        }
        if device.ports.len() > MAX_PORTS {
            return Err(invalid(format!("more than {MAX_PORTS} ports")));
        }
        if device.ports.iter().any(|p| p.is_empty() || p.len() > 255) {
            return Err(invalid("port names must be 1-255 characters".to_owned()));
        }
        if device.traffic_load() > 100 {
            return Err(invalid("trafficLoadPercent must be 0-100".to_owned()));
        }
        let users = device.users();
        if users.is_empty() {
            return Err(invalid(
                "auth.users is empty: nobody could log in".to_owned(),
            ));
        }
        for user in &users {
            if user.username.is_empty() {
                return Err(invalid("a user has an empty username".to_owned()));
            }
            if user.password.is_none() && user.authorized_keys.is_empty() {
                return Err(invalid(format!(
                    "user {} has neither a password nor an authorized key",
                    user.username
                )));
            }
        }
    }
    Ok(())
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
devices:
  - name: olt1
    listen: 127.0.0.1:18301
    ports: [ge-0/0/1, ge-0/0/2]
  - name: bng1
    listen: 127.0.0.1:18310
    profile: ietf
    datastore: running
    auth:
      users:
        - username: ops
          password: secret
          authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKv9 ops@example"]
    capabilities:
      remove: ["urn:ietf:params:netconf:capability:confirmed-commit:1.1"]
generate:
  - prefix: acc
    count: 3
    basePort: 20000
"#;

    #[test]
    fn parses_listed_and_generated_devices() {
        let topo = Topology::from_yaml(EXAMPLE).unwrap();
        let names: Vec<_> = topo.devices.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["olt1", "bng1", "acc1", "acc2", "acc3"]);
        assert_eq!(topo.devices[3].listen.port(), 20001);
        assert_eq!(topo.devices[4].name, "acc3");
        assert_eq!(topo.devices[0].profile, "ietf");
        assert_eq!(topo.devices[0].users()[0].username, "admin");
        assert_eq!(topo.devices[1].datastore, Some(DatastoreKind::Running));
        assert_eq!(topo.devices[1].users()[0].authorized_keys.len(), 1);
        assert_eq!(topo.devices[1].capabilities.remove.len(), 1);
    }

    #[test]
    fn generated_name_clash_is_rejected() {
        // olt1 is listed and also generated by the block.
        let yaml = "devices:\n  - {name: olt1, listen: '127.0.0.1:1'}\n\
                    generate:\n  - {prefix: olt, count: 1, basePort: 2}\n";
        let err = Topology::from_yaml(yaml).unwrap_err();
        assert!(err.to_string().contains("used twice"), "{err}");
    }

    #[test]
    fn non_loopback_listen_is_rejected() {
        let yaml = "devices:\n  - {name: a, listen: '0.0.0.0:830'}\n";
        let err = Topology::from_yaml(yaml).unwrap_err();
        assert!(err.to_string().contains("loopback"), "{err}");
        let yaml = "generate:\n  - {prefix: a, count: 1, basePort: 1, host: 10.0.0.1}\n";
        assert!(Topology::from_yaml(yaml).is_err());
    }

    #[test]
    fn duplicate_address_and_bad_users_are_rejected() {
        let yaml = "devices:\n  - {name: a, listen: '127.0.0.1:5'}\n  - {name: b, listen: '127.0.0.1:5'}\n";
        assert!(Topology::from_yaml(yaml).is_err());
        let yaml = "devices:\n  - {name: a, listen: '127.0.0.1:0'}\n  - {name: b, listen: '127.0.0.1:0'}\n";
        assert!(Topology::from_yaml(yaml).is_ok(), "port 0 may repeat");
        let yaml =
            "devices:\n  - {name: a, listen: '127.0.0.1:5', auth: {users: [{username: x}]}}\n";
        assert!(Topology::from_yaml(yaml).is_err());
        let yaml = "devices:\n  - {name: a, listen: '127.0.0.1:5', auth: {users: []}}\n";
        assert!(Topology::from_yaml(yaml).is_err());
    }

    #[test]
    fn unknown_fields_and_bad_names_are_rejected() {
        let yaml = "devices:\n  - {name: a, listen: '127.0.0.1:5', colour: red}\n";
        assert!(Topology::from_yaml(yaml).is_err());
        let yaml = "devices:\n  - {name: 'A B', listen: '127.0.0.1:5'}\n";
        assert!(Topology::from_yaml(yaml).is_err());
    }

    #[test]
    fn generated_ports_must_fit() {
        let yaml = "generate:\n  - {prefix: a, count: 10, basePort: 65530}\n";
        assert!(Topology::from_yaml(yaml).is_err());
        let yaml = "generate:\n  - {prefix: a, count: 100000, basePort: 1}\n";
        assert!(Topology::from_yaml(yaml).is_err());
    }

    #[test]
    fn oversized_input_is_rejected_before_parsing() {
        let text = " ".repeat(MAX_TOPOLOGY_BYTES + 1);
        assert!(matches!(
            Topology::from_yaml(&text),
            Err(NetsimError::TopologyTooLarge { .. })
        ));
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "",
            "[",
            "devices: 5",
            "devices: [{name: 1}]",
            "\u{0}",
            "generate: [{}]",
        ] {
            let _ = Topology::from_yaml(text);
        }
    }
}

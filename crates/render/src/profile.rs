//! Device profiles: how Ferrule talks to one kind of device (`device-profiles/<name>.yaml`).
//!
//! A profile is parsed in two steps: serde reads the YAML into [`ProfileFile`] (unknown
//! fields are refused so typos surface), then [`DeviceProfile::from_file`] checks every
//! cross-reference (prefixes, template names, roles) and resolves the paths. Every error
//! names the source file and the field path, e.g.
//! `junos.yaml: keyedLists[1].keys[0]: prefix `jx` is not declared in `namespaces``.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::error::ProfileError;
use super::input::Role;
use super::path::{self, Anchor, XmlName};
use super::state::{StateFile, StateSpec};

/// Largest profile file accepted (profiles are a few KiB).
pub const MAX_PROFILE_BYTES: usize = 256 * 1024;

/// Which datastore edits go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Datastore {
    /// Edit `<candidate/>` and commit.
    Candidate,
    /// Edit `<running/>` directly (rollback is the reverse diff).
    Running,
}

/// Kind of value a service parameter must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ParamKind {
    /// Any whole number.
    Integer,
    /// A whole number greater than zero (rates, sizes).
    PositiveInteger,
    /// Any finite number.
    Number,
    /// Text.
    String,
    /// `true` / `false`.
    Boolean,
}

/// One service type as written in the profile.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceSpec {
    /// Template file for the active service, relative to `templates/<profile>/`.
    pub template: String,
    /// Template file for the suspended service (kept but blocked).
    pub suspended_template: String,
    /// Parameters the templates need, with their kinds.
    #[serde(default)]
    pub parameters: BTreeMap<String, ParamKind>,
}

/// An input a role cannot render without.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Requirement {
    /// The subscription must have an IPv4 prefix.
    Ipv4,
}

/// What a device in one role renders.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleSpec {
    /// Names of template parts this role renders; templates test `parts.<name>`.
    pub parts: Vec<String>,
    /// Inputs this role needs.
    #[serde(default)]
    pub requires: Vec<Requirement>,
}

/// A keyed list as written: `path: /if:interfaces/if:interface`, `keys: [if:name]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyedListFile {
    /// Absolute path of the list's entries, every step prefixed.
    pub path: String,
    /// Key leaves of one entry, prefixed, in schema order.
    pub keys: Vec<String>,
}

/// A profile file exactly as serde reads it; see [`DeviceProfile`] for the meaning.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileFile {
    /// Profile name; must equal the file name without `.yaml`.
    pub name: String,
    /// One line for humans.
    pub description: String,
    /// Prefix -> namespace URI.
    pub namespaces: BTreeMap<String, String>,
    /// Target datastore.
    pub datastore: Datastore,
    /// Template folder under `templates/`; the profile's own name when absent. Lets a
    /// variant of a profile (e.g. the same models on running-only devices) reuse its
    /// templates.
    #[serde(default)]
    pub templates: Option<String>,
    /// Whether to commit with `<confirmed/>`.
    pub confirmed_commit: bool,
    /// Whether to send `<validate>` before commit.
    pub validate: bool,
    /// Whether to send edit-config with `rollback-on-error`.
    pub rollback_on_error: bool,
    /// Lists whose entries the controller may own.
    pub keyed_lists: Vec<KeyedListFile>,
    /// Subscriber interface name from `{port}` and `{vlan}`.
    pub interface_naming: String,
    /// Service type -> templates.
    pub services: BTreeMap<String, ServiceSpec>,
    /// Role -> parts it renders.
    pub roles: BTreeMap<Role, RoleSpec>,
    /// How to read interface state and counters.
    pub state: StateFile,
}

/// A keyed list with resolved names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedList {
    /// Element path from the root of the config payload to one list entry.
    pub path: Vec<XmlName>,
    /// Key leaves, children of the entry.
    pub keys: Vec<XmlName>,
    /// The path as written, for messages.
    pub source: String,
}

/// A validated device profile.
#[derive(Debug, Clone)]
pub struct DeviceProfile {
    name: String,
    description: String,
    namespaces: BTreeMap<String, String>,
    datastore: Datastore,
    templates: String,
    confirmed_commit: bool,
    validate: bool,
    rollback_on_error: bool,
    keyed_lists: Vec<KeyedList>,
    interface_naming: String,
    services: BTreeMap<String, ServiceSpec>,
    roles: BTreeMap<Role, RoleSpec>,
    state: StateSpec,
}

/// A resolved name as `(namespace URI, local name)`.
pub type NamePair = (String, String);

impl DeviceProfile {
    /// Parses and validates a profile. `source` names the file in error messages.
    pub fn from_yaml(source: &str, text: &str) -> Result<Self, ProfileError> {
        if text.len() > MAX_PROFILE_BYTES {
            return Err(ProfileError::TooLarge {
                source_name: source.to_owned(),
                limit: MAX_PROFILE_BYTES,
            });
        }
        let file: ProfileFile =
            serde_saphyr::from_str(text).map_err(|err| ProfileError::Parse {
                source_name: source.to_owned(),
                source: Box::new(err),
            })?;
        Self::from_file(source, file)
    }

    /// Validates an already parsed profile.
    pub fn from_file(source: &str, file: ProfileFile) -> Result<Self, ProfileError> {
        let invalid = |field: &str, message: String| ProfileError::Invalid {
            source_name: source.to_owned(),
            field: field.to_owned(),
            message,
        };
        if !is_profile_name(&file.name) {
            return Err(invalid(
                "name",
                format!(
                    "`{}` must be lower-case letters, digits and `-`, starting with a letter",
                    file.name
                ),
            ));
        }
        if file.description.trim().is_empty() {
            return Err(invalid("description", "must not be empty".to_owned()));
        }
        check_namespaces(&file.namespaces).map_err(|(f, m)| invalid(&f, m))?;
        if let Some(folder) = &file.templates
            && !is_profile_name(folder)
        {
            return Err(invalid(
                "templates",
                format!("`{folder}` is not a profile name (the folder under templates/)"),
            ));
        }
        if file.confirmed_commit && file.datastore == Datastore::Running {
            return Err(invalid(
                "confirmedCommit",
                "confirmed commit needs `datastore: candidate` (RFC 6241 :confirmed-commit \
                 depends on :candidate)"
                    .to_owned(),
            ));
        }
        let keyed_lists = resolve_keyed_lists(&file.keyed_lists, &file.namespaces)
            .map_err(|(f, m)| invalid(&f, m))?;
        check_interface_naming(&file.interface_naming)
            .map_err(|m| invalid("interfaceNaming", m))?;
        check_services(&file.services).map_err(|(f, m)| invalid(&f, m))?;
        check_roles(&file.roles).map_err(|(f, m)| invalid(&f, m))?;
        let state = StateSpec::from_file(&file.state, &file.namespaces)
            .map_err(|(f, m)| invalid(&format!("state.{f}"), m))?;
        let templates = file.templates.unwrap_or_else(|| file.name.clone());
        Ok(Self {
            name: file.name,
            description: file.description,
            namespaces: file.namespaces,
            datastore: file.datastore,
            templates,
            confirmed_commit: file.confirmed_commit,
            validate: file.validate,
            rollback_on_error: file.rollback_on_error,
            keyed_lists,
            interface_naming: file.interface_naming,
            services: file.services,
            roles: file.roles,
            state,
        })
    }

    /// Profile name (`ietf`, `junos`, ...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// One-line description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Prefix -> namespace URI, as declared.
    pub fn namespaces(&self) -> &BTreeMap<String, String> {
        &self.namespaces
    }

    /// Datastore edits go to.
    pub fn datastore(&self) -> Datastore {
        self.datastore
    }

    /// The folder under `templates/` this profile's templates are in.
    pub fn template_folder(&self) -> &str {
        &self.templates
    }

    /// Whether commits are confirmed commits.
    pub fn confirmed_commit(&self) -> bool {
        self.confirmed_commit
    }

    /// Whether `<validate>` is sent before commit.
    pub fn validate(&self) -> bool {
        self.validate
    }

    /// Whether edit-config uses `rollback-on-error`.
    pub fn rollback_on_error(&self) -> bool {
        self.rollback_on_error
    }

    /// Keyed lists the controller may own.
    pub fn keyed_lists(&self) -> &[KeyedList] {
        &self.keyed_lists
    }

    /// Keyed lists as `(path, keys)` of `(namespace URI, local name)` pairs, for code that
    /// keeps its own name types (the config-tree schema).
    pub fn resolved_keyed_lists(&self) -> Vec<(Vec<NamePair>, Vec<NamePair>)> {
        let pairs = |names: &[XmlName]| {
            names
                .iter()
                .map(|n| (n.namespace.clone().unwrap_or_default(), n.local.clone()))
                .collect::<Vec<_>>()
        };
        self.keyed_lists
            .iter()
            .map(|list| (pairs(&list.path), pairs(&list.keys)))
            .collect()
    }

    /// The subscriber interface name on a port for a VLAN, e.g. `ge-0/0/1.1203`.
    pub fn interface_name(&self, port: &str, vlan: u16) -> String {
        // One pass over the pattern, so a port name containing `{vlan}` stays literal.
        let vlan = vlan.to_string();
        self.interface_naming
            .split("{port}")
            .map(|piece| piece.replace("{vlan}", &vlan))
            .collect::<Vec<_>>()
            .join(port)
    }

    /// The naming pattern as written.
    pub fn interface_naming(&self) -> &str {
        &self.interface_naming
    }

    /// Service types and their templates.
    pub fn services(&self) -> &BTreeMap<String, ServiceSpec> {
        &self.services
    }

    /// One service type.
    pub fn service(&self, service_type: &str) -> Option<&ServiceSpec> {
        self.services.get(service_type)
    }

    /// Roles and the parts they render.
    pub fn roles(&self) -> &BTreeMap<Role, RoleSpec> {
        &self.roles
    }

    /// Every part name any role of this profile uses.
    pub fn all_parts(&self) -> BTreeSet<&str> {
        self.roles
            .values()
            .flat_map(|r| r.parts.iter().map(String::as_str))
            .collect()
    }

    /// How to read interface state and counters.
    pub fn state(&self) -> &StateSpec {
        &self.state
    }
}

/// Profile names are file names and template folder names: keep them boring.
pub fn is_profile_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.len() <= 63
}

/// A template reference must be a plain `.xml` file name inside the profile's folder.
pub fn is_template_file_name(name: &str) -> bool {
    name.ends_with(".xml")
        && name.len() > 4
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.')
}

type FieldError = (String, String);

fn check_namespaces(namespaces: &BTreeMap<String, String>) -> Result<(), FieldError> {
    if namespaces.is_empty() {
        return Err(("namespaces".into(), "declare at least one prefix".into()));
    }
    for (prefix, uri) in namespaces {
        let field = format!("namespaces.{prefix}");
        if !path::is_ncname(prefix) || prefix.to_ascii_lowercase().starts_with("xml") {
            return Err((field, format!("`{prefix}` is not a usable XML prefix")));
        }
        if uri.trim().is_empty() || uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err((field, format!("`{uri}` is not a namespace URI")));
        }
    }
    Ok(())
}

fn resolve_keyed_lists(
    lists: &[KeyedListFile],
    namespaces: &BTreeMap<String, String>,
) -> Result<Vec<KeyedList>, FieldError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(lists.len());
    for (i, list) in lists.iter().enumerate() {
        let field = format!("keyedLists[{i}].path");
        let steps = path::parse_path(&list.path, Anchor::Absolute)
            .map_err(|m| (field.clone(), m.to_string()))?;
        let path =
            path::resolve(&steps, namespaces, true).map_err(|m| (field.clone(), m.to_string()))?;
        if !seen.insert(path.clone()) {
            return Err((field, format!("`{}` is listed twice", list.path)));
        }
        if list.keys.is_empty() {
            return Err((
                format!("keyedLists[{i}].keys"),
                "name at least one key".into(),
            ));
        }
        let mut keys = Vec::with_capacity(list.keys.len());
        for (k, key) in list.keys.iter().enumerate() {
            let field = format!("keyedLists[{i}].keys[{k}]");
            let step = path::parse_step(key).map_err(|m| (field.clone(), m.to_string()))?;
            let name = path::resolve(&[step], namespaces, true)
                .map_err(|m| (field.clone(), m.to_string()))?
                .remove(0);
            if keys.contains(&name) {
                return Err((field, format!("key `{key}` is listed twice")));
            }
            keys.push(name);
        }
        out.push(KeyedList {
            path,
            keys,
            source: list.path.clone(),
        });
    }
    Ok(out)
}

fn check_interface_naming(pattern: &str) -> Result<(), String> {
    if !pattern.contains("{port}") || !pattern.contains("{vlan}") {
        return Err(format!(
            "`{pattern}` must use both `{{port}}` and `{{vlan}}`"
        ));
    }
    let rest = pattern.replace("{port}", "").replace("{vlan}", "");
    if rest.contains('{') || rest.contains('}') {
        return Err(format!(
            "`{pattern}`: only `{{port}}` and `{{vlan}}` may appear in braces"
        ));
    }
    if rest.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "`{pattern}` must not contain spaces or control characters"
        ));
    }
    Ok(())
}

fn check_services(services: &BTreeMap<String, ServiceSpec>) -> Result<(), FieldError> {
    if services.is_empty() {
        return Err((
            "services".into(),
            "declare at least one service type".into(),
        ));
    }
    for (name, spec) in services {
        if !is_profile_name(name) {
            return Err((
                format!("services.{name}"),
                "service types are lower-case letters, digits and `-`".into(),
            ));
        }
        for (field, file) in [
            ("template", &spec.template),
            ("suspendedTemplate", &spec.suspended_template),
        ] {
            if !is_template_file_name(file) {
                return Err((
                    format!("services.{name}.{field}"),
                    format!("`{file}` must be a plain file name ending in `.xml`"),
                ));
            }
        }
        for param in spec.parameters.keys() {
            if !is_identifier(param) {
                return Err((
                    format!("services.{name}.parameters.{param}"),
                    "parameter names are letters, digits and `_`, starting with a letter".into(),
                ));
            }
        }
    }
    Ok(())
}

fn check_roles(roles: &BTreeMap<Role, RoleSpec>) -> Result<(), FieldError> {
    if roles.is_empty() {
        return Err(("roles".into(), "declare at least one role".into()));
    }
    for (role, spec) in roles {
        if spec.parts.is_empty() {
            return Err((
                format!("roles.{role}.parts"),
                "name at least one part".into(),
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, part) in spec.parts.iter().enumerate() {
            let field = format!("roles.{role}.parts[{i}]");
            if !is_identifier(part) {
                return Err((field, format!("`{part}` is not an identifier")));
            }
            if !seen.insert(part) {
                return Err((field, format!("`{part}` is listed twice")));
            }
        }
    }
    Ok(())
}

/// Letters, digits and `_`, starting with a letter: usable as a Tera attribute name.
fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests;

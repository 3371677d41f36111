//! The set of device profiles and templates the controller works with.
//!
//! The built-in profiles come first; a profiles folder (`device-profiles/*.yaml`) and a
//! templates folder (`templates/<profile>/*.xml`) given at run time replace built-in files
//! of the same name and add new ones. Everything is validated when the set is built, so a
//! broken profile stops `ferrule` at start-up instead of failing a subscription later.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::builtin::BUILTIN;
use super::error::ProfileError;
use super::profile::{self, DeviceProfile};

/// Largest template file accepted.
pub const MAX_TEMPLATE_BYTES: usize = 256 * 1024;

/// Validated profiles with the template sources they use.
#[derive(Debug, Clone)]
pub struct ProfileSet {
    profiles: BTreeMap<String, DeviceProfile>,
    /// Template name (`<profile>/<file>`) -> source.
    templates: BTreeMap<String, String>,
}

impl ProfileSet {
    /// The profiles compiled into the binary.
    pub fn builtin() -> Result<Self, ProfileError> {
        Self::load(None, None)
    }

    /// Built-in profiles, overridden and extended by the given folders.
    pub fn load(
        profiles_dir: Option<&Path>,
        templates_dir: Option<&Path>,
    ) -> Result<Self, ProfileError> {
        let mut yaml: BTreeMap<String, (String, String)> = BTreeMap::new();
        let mut templates: BTreeMap<String, String> = BTreeMap::new();
        for builtin in BUILTIN {
            yaml.insert(
                builtin.name.to_owned(),
                (
                    format!("{}.yaml (built in)", builtin.name),
                    builtin.yaml.to_owned(),
                ),
            );
            for (file, source) in builtin.templates {
                templates.insert(format!("{}/{file}", builtin.name), (*source).to_owned());
            }
        }
        if let Some(dir) = profiles_dir {
            for path in sorted_entries(dir)? {
                if path.extension().and_then(|e| e.to_str()) != Some("yaml") || !path.is_file() {
                    continue;
                }
                let stem = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default()
                    .to_owned();
                let text = read_limited(&path, profile::MAX_PROFILE_BYTES)?;
                yaml.insert(stem, (path.display().to_string(), text));
            }
        }
        if let Some(dir) = templates_dir {
            for folder in sorted_entries(dir)? {
                let Some(profile_name) = folder.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                if !folder.is_dir() || !profile::is_profile_name(profile_name) {
                    continue;
                }
                let profile_name = profile_name.to_owned();
                for path in sorted_entries(&folder)? {
                    if path.extension().and_then(|e| e.to_str()) != Some("xml") || !path.is_file() {
                        continue;
                    }
                    let file = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default();
                    if !profile::is_template_file_name(file) {
                        return Err(ProfileError::BadTemplateName { path });
                    }
                    let name = format!("{profile_name}/{file}");
                    templates.insert(name, read_limited(&path, MAX_TEMPLATE_BYTES)?);
                }
            }
        }
        Self::from_sources(
            yaml.into_iter()
                .map(|(stem, (source, text))| (stem, source, text)),
            templates,
        )
    }

    /// Builds a set from in-memory sources: `(expected name, source name, YAML)` per
    /// profile and `(<profile>/<file>, source)` per template.
    pub fn from_sources(
        profiles: impl IntoIterator<Item = (String, String, String)>,
        templates: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ProfileError> {
        let templates: BTreeMap<String, String> = templates.into_iter().collect();
        let mut loaded = BTreeMap::new();
        for (expected, source_name, text) in profiles {
            let profile = DeviceProfile::from_yaml(&source_name, &text)?;
            if profile.name() != expected {
                return Err(ProfileError::NameMismatch {
                    source_name,
                    name: profile.name().to_owned(),
                    expected,
                });
            }
            let folder = profile.template_folder();
            for (service_type, spec) in profile.services() {
                for template in [&spec.template, &spec.suspended_template] {
                    if !templates.contains_key(&format!("{folder}/{template}")) {
                        return Err(ProfileError::TemplateMissing {
                            profile: expected.clone(),
                            folder: folder.to_owned(),
                            service_type: service_type.clone(),
                            template: template.clone(),
                        });
                    }
                }
            }
            loaded.insert(expected, profile);
        }
        Ok(Self {
            profiles: loaded,
            templates,
        })
    }

    /// One profile by name.
    pub fn get(&self, name: &str) -> Option<&DeviceProfile> {
        self.profiles.get(name)
    }

    /// Every profile, by name.
    pub fn profiles(&self) -> impl Iterator<Item = &DeviceProfile> {
        self.profiles.values()
    }

    /// Profile names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }

    /// Every template as `(<profile>/<file>, source)`.
    pub fn templates(&self) -> impl Iterator<Item = (&str, &str)> {
        self.templates.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, ProfileError> {
    let io = |source| ProfileError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

fn read_limited(path: &Path, limit: usize) -> Result<String, ProfileError> {
    let io = |source| ProfileError::Io {
        path: path.to_owned(),
        source,
    };
    let len = fs::metadata(path).map_err(io)?.len();
    if len > limit as u64 {
        return Err(ProfileError::TooLarge {
            source_name: path.display().to_string(),
            limit,
        });
    }
    let bytes = fs::read(path).map_err(io)?;
    if bytes.len() > limit {
        return Err(ProfileError::TooLarge {
            source_name: path.display().to_string(),
            limit,
        });
    }
    String::from_utf8(bytes).map_err(|_| ProfileError::NotUtf8 {
        path: path.to_owned(),
    })
}

//! Profiles and templates compiled into the binary, so `ferrule` works without the
//! `device-profiles/` and `templates/` folders. The files in those folders are the source;
//! a folder given at run time overrides or extends these.

/// One built-in profile: its YAML and its templates (file name, source).
#[derive(Debug)]
pub(crate) struct BuiltinProfile {
    /// Profile name (the file stem).
    pub name: &'static str,
    /// `device-profiles/<name>.yaml`.
    pub yaml: &'static str,
    /// `templates/<name>/<file>`.
    pub templates: &'static [(&'static str, &'static str)],
}

macro_rules! builtin {
    ($name:literal, [$($file:literal),* $(,)?]) => {
        BuiltinProfile {
            name: $name,
            yaml: include_str!(concat!("../../../device-profiles/", $name, ".yaml")),
            templates: &[$((
                $file,
                include_str!(concat!("../../../templates/", $name, "/", $file)),
            )),*],
        }
    };
}

/// Every built-in profile.
pub(crate) const BUILTIN: &[BuiltinProfile] = &[
    builtin!(
        "ietf",
        ["internet-access.xml", "internet-access-suspended.xml"]
    ),
    // The ietf models on devices without a candidate datastore; the ietf templates.
    builtin!("ietf-running", []),
    builtin!(
        "openconfig",
        ["internet-access.xml", "internet-access-suspended.xml"]
    ),
    builtin!(
        "junos",
        ["internet-access.xml", "internet-access-suspended.xml"]
    ),
    builtin!(
        "iosxr",
        ["internet-access.xml", "internet-access-suspended.xml"]
    ),
];

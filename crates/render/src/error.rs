//! Errors of profile loading and rendering.
//!
//! Profile errors are operator mistakes in `device-profiles/` or `templates/`: the message
//! names the file and the field so it can be fixed without reading code. Render errors say
//! which profile, service type and template were involved.

use std::path::PathBuf;

use super::input::Role;

/// A device profile or its templates could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// A file or directory could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file is larger than profiles and templates ever need to be.
    #[error("{source_name}: larger than {limit} bytes")]
    TooLarge {
        /// The file.
        source_name: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The YAML could not be read into the profile structure (syntax, unknown or missing
    /// field, wrong type); the message carries line and column.
    #[error("{source_name}: {source}")]
    Parse {
        /// The file.
        source_name: String,
        /// The YAML error.
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    /// A field has a value the profile cannot work with.
    #[error("{source_name}: {field}: {message}")]
    Invalid {
        /// The file.
        source_name: String,
        /// Field path inside the file, e.g. `keyedLists[0].keys[1]`.
        field: String,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// The `name` field does not match the file name.
    #[error("{source_name}: name: `{name}` must match the file name `{expected}.yaml`")]
    NameMismatch {
        /// The file.
        source_name: String,
        /// The name written in the file.
        name: String,
        /// The name taken from the file name.
        expected: String,
    },
    /// A profile refers to a template that is neither built in nor in the templates folder.
    #[error(
        "profile `{profile}`: services.{service_type}: template `{template}` not found (looked for templates/{folder}/{template})"
    )]
    TemplateMissing {
        /// The profile.
        profile: String,
        /// The template folder the profile uses (its own name unless it says `templates`).
        folder: String,
        /// The service type whose entry names the template.
        service_type: String,
        /// The template file name.
        template: String,
    },
    /// A template file name in a templates folder is not usable.
    #[error("{}: template files are named like `internet-access.xml`", path.display())]
    BadTemplateName {
        /// The file.
        path: PathBuf,
    },
    /// A template or profile file is not UTF-8.
    #[error("{}: not UTF-8 text", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
}

/// Rendering a service for a device failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The profiles could not be loaded (only from [`super::Renderer::builtin`]).
    #[error("device profiles: {source}")]
    Profiles {
        /// The loading error.
        #[source]
        source: ProfileError,
    },
    /// No profile of that name is loaded.
    #[error("unknown device profile `{profile}` (known: {known})")]
    UnknownProfile {
        /// The name asked for.
        profile: String,
        /// Loaded profile names, comma-separated.
        known: String,
    },
    /// The profile has no templates for the service type.
    #[error(
        "profile `{profile}` has no templates for service type `{service_type}` (it has: {known})"
    )]
    UnknownServiceType {
        /// The profile.
        profile: String,
        /// The service type asked for.
        service_type: String,
        /// Service types the profile declares, comma-separated.
        known: String,
    },
    /// The profile does not say what a device in this role renders.
    #[error("profile `{profile}` does not support role `{role}`")]
    UnsupportedRole {
        /// The profile.
        profile: String,
        /// The role asked for.
        role: Role,
    },
    /// A parameter the service needs is absent.
    #[error(
        "service type `{service_type}` needs parameter `{parameter}` ({kind}); set it on the product or subscription"
    )]
    MissingParameter {
        /// The service type.
        service_type: String,
        /// The parameter name.
        parameter: String,
        /// The kind expected.
        kind: &'static str,
    },
    /// A parameter has the wrong kind of value.
    #[error("parameter `{parameter}` must be {expected}, got {got}")]
    InvalidParameter {
        /// The parameter name.
        parameter: String,
        /// The kind expected.
        expected: &'static str,
        /// What was given.
        got: String,
    },
    /// An input the role needs is absent (e.g. the IPv4 prefix on a BNG).
    #[error(
        "role `{role}` of profile `{profile}` needs `{input}`, which the subscription does not have"
    )]
    MissingInput {
        /// The profile.
        profile: String,
        /// The role.
        role: Role,
        /// The input, e.g. `ipv4` or `bng`.
        input: &'static str,
    },
    /// An input value cannot be put into device configuration.
    #[error("`{field}` is not usable in device configuration: {reason}")]
    InvalidInput {
        /// The input field.
        field: String,
        /// Why.
        reason: String,
    },
    /// A template does not compile.
    #[error("template `{template}` does not compile: {message}")]
    TemplateSyntax {
        /// Template name (`<profile>/<file>`).
        template: String,
        /// Tera's report.
        message: String,
    },
    /// The template engine failed while rendering.
    #[error("rendering template `{template}` failed: {source}")]
    Render {
        /// Template name (`<profile>/<file>`).
        template: String,
        /// Tera's error.
        #[source]
        source: tera::Error,
    },
    /// The template rendered something that is not a well-formed namespaced XML payload.
    #[error("template `{template}` produced malformed XML: {message}")]
    MalformedOutput {
        /// Template name (`<profile>/<file>`).
        template: String,
        /// What the XML check found.
        message: String,
    },
}

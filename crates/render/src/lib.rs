//! Rendering of device configuration from device profiles and Tera templates.
//!
//! - [`DeviceProfile`] (`device-profiles/<name>.yaml`) says how to talk to one kind of
//!   device: namespaces, datastore, commit style, the keyed lists the controller may own,
//!   which template renders each service type, what each role renders, how to read state.
//! - [`ProfileSet`] holds the built-in profiles and templates, optionally overridden and
//!   extended by folders given at run time.
//! - [`Renderer`] compiles the templates (Tera 2, every value XML-escaped) and renders the
//!   inner `<config>` payload for one subscription on one device:
//!   [`Renderer::render`]`(profile, service_type, role, input)`.
//!
//! Everything here is pure: no network, no Kubernetes. See `docs/device-profiles.md`.

mod builtin;
mod engine;
mod error;
mod input;
mod ipv4;
mod path;
mod profile;
mod profile_set;
mod state;
mod tree_schema;
mod xml_check;

pub use engine::{MAX_VALUE_CHARS, Renderer};
pub use error::{ProfileError, RenderError};
pub use input::{Attachment, ParamValue, RenderInput, Role};
pub use ipv4::{Ipv4Prefix, Ipv4PrefixError, Ipv4View};
pub use path::XmlName;
pub use profile::{
    Datastore, DeviceProfile, KeyedList, KeyedListFile, NamePair, ParamKind, ProfileFile,
    Requirement, RoleSpec, ServiceSpec,
};
pub use profile_set::ProfileSet;
pub use state::{OperStatusFile, StateFile, StateRequest, StateSpec, UpRule};
pub use xml_check::{Namespaces, check_payload};

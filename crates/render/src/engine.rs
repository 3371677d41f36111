//! The template engine: Tera 2 with every value XML-escaped.
//!
//! Templates are compiled once when the [`Renderer`] is built. Rendering is a pure function
//! of (profile, service type, role, input): checks of the input come first so that a bad
//! subscription gets a typed error naming the field, then the template runs, then the
//! output is checked to be a well-formed namespaced XML payload.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;
use tera::{Context, Tera};

use super::error::RenderError;
use super::input::{Attachment, ParamValue, RenderInput, Role, is_value_char};
use super::ipv4::Ipv4View;
use super::profile::{DeviceProfile, ParamKind, Requirement, ServiceSpec};
use super::profile_set::ProfileSet;
use super::xml_check::{self, Namespaces};

/// Longest string value accepted from a render input (descriptions included).
pub const MAX_VALUE_CHARS: usize = 255;

/// Compiled templates plus the profiles they belong to.
#[derive(Debug)]
pub struct Renderer {
    tera: Tera,
    profiles: ProfileSet,
}

/// What a template sees. Keys are camelCase like the resources they come from.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TemplateContext<'a> {
    profile: &'a str,
    service_type: &'a str,
    role: &'static str,
    suspended: bool,
    customer: &'a str,
    subscription: &'a str,
    namespace: &'a str,
    product: &'a str,
    params: &'a BTreeMap<String, ParamValue>,
    access: &'a Attachment,
    #[serde(skip_serializing_if = "Option::is_none")]
    bng: Option<&'a Attachment>,
    device: &'a str,
    port: &'a str,
    interface: String,
    vlan: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv4: Option<Ipv4View>,
    parts: BTreeMap<&'a str, bool>,
}

impl Renderer {
    /// Compiles every template of the set.
    pub fn new(profiles: ProfileSet) -> Result<Self, RenderError> {
        let mut tera = Tera::new();
        tera.autoescape_on([".xml"]);
        tera.set_escape_fn(escape_xml);
        if let Err(err) = tera.add_raw_templates(profiles.templates()) {
            return Err(syntax_error(&profiles, err));
        }
        Ok(Self { tera, profiles })
    }

    /// The built-in profiles and templates.
    pub fn builtin() -> Result<Self, RenderError> {
        let profiles = ProfileSet::builtin().map_err(|source| RenderError::Profiles { source })?;
        Self::new(profiles)
    }

    /// The profiles this renderer knows.
    pub fn profiles(&self) -> &ProfileSet {
        &self.profiles
    }

    /// Renders the `<config>` payload (without the `<config>` element) that a device using
    /// `profile` in `role` needs for the subscription described by `input`.
    pub fn render(
        &self,
        profile: &str,
        service_type: &str,
        role: Role,
        input: &RenderInput,
    ) -> Result<String, RenderError> {
        let Some(device_profile) = self.profiles.get(profile) else {
            return Err(RenderError::UnknownProfile {
                profile: profile.to_owned(),
                known: join(self.profiles.names()),
            });
        };
        let service = device_profile.service(service_type).ok_or_else(|| {
            RenderError::UnknownServiceType {
                profile: profile.to_owned(),
                service_type: service_type.to_owned(),
                known: join(device_profile.services().keys().map(String::as_str)),
            }
        })?;
        let context = build_context(device_profile, service_type, service, role, input)?;
        let file = if input.suspended {
            &service.suspended_template
        } else {
            &service.template
        };
        let template = format!("{}/{file}", device_profile.template_folder());
        let context = Context::from_serialize(&context).map_err(|source| RenderError::Render {
            template: template.clone(),
            source,
        })?;
        let output =
            self.tera
                .render(&template, &context)
                .map_err(|source| RenderError::Render {
                    template: template.clone(),
                    source,
                })?;
        let output = output.trim();
        xml_check::check_payload(output, Namespaces::Required)
            .map_err(|message| RenderError::MalformedOutput { template, message })?;
        Ok(output.to_owned())
    }
}

/// Checks the input against the profile and builds the template context.
fn build_context<'a>(
    profile: &'a DeviceProfile,
    service_type: &'a str,
    service: &'a ServiceSpec,
    role: Role,
    input: &'a RenderInput,
) -> Result<TemplateContext<'a>, RenderError> {
    let role_spec = profile
        .roles()
        .get(&role)
        .ok_or_else(|| RenderError::UnsupportedRole {
            profile: profile.name().to_owned(),
            role,
        })?;
    let missing = |input: &'static str| RenderError::MissingInput {
        profile: profile.name().to_owned(),
        role,
        input,
    };
    let attachment = input.attachment(role).ok_or_else(|| missing("bng"))?;
    if role_spec.requires.contains(&Requirement::Ipv4) && input.ipv4.is_none() {
        return Err(missing("ipv4"));
    }
    check_strings(input)?;
    check_port(role, attachment)?;
    if !(1..=4094).contains(&input.vlan) {
        return Err(RenderError::InvalidInput {
            field: "vlan".to_owned(),
            reason: format!("{} is outside 1..=4094", input.vlan),
        });
    }
    check_parameters(service_type, service, &input.parameters)?;
    let mut parts: BTreeMap<&str, bool> = profile
        .all_parts()
        .into_iter()
        .map(|p| (p, false))
        .collect();
    for part in &role_spec.parts {
        parts.insert(part.as_str(), true);
    }
    Ok(TemplateContext {
        profile: profile.name(),
        service_type,
        role: role.as_str(),
        suspended: input.suspended,
        customer: &input.customer,
        subscription: &input.subscription,
        namespace: &input.namespace,
        product: &input.product,
        params: &input.parameters,
        access: &input.access,
        bng: input.bng.as_ref(),
        device: &attachment.device,
        port: &attachment.port,
        interface: profile.interface_name(&attachment.port, input.vlan),
        vlan: input.vlan,
        ipv4: input.ipv4.as_ref().map(Ipv4View::from),
        parts,
    })
}

fn check_strings(input: &RenderInput) -> Result<(), RenderError> {
    for (field, value) in input.strings() {
        let reason = if value.chars().count() > MAX_VALUE_CHARS {
            format!("longer than {MAX_VALUE_CHARS} characters")
        } else if let Some(c) = value.chars().find(|c| !is_value_char(*c)) {
            format!("contains the control character U+{:04X}", u32::from(c))
        } else {
            continue;
        };
        return Err(RenderError::InvalidInput { field, reason });
    }
    Ok(())
}

fn check_port(role: Role, attachment: &Attachment) -> Result<(), RenderError> {
    let side = if role == Role::Bng { "bng" } else { "access" };
    let port = &attachment.port;
    if port.is_empty() || port.chars().any(char::is_whitespace) {
        return Err(RenderError::InvalidInput {
            field: format!("{side}.port"),
            reason: format!("`{port}` must be a non-empty interface name without spaces"),
        });
    }
    Ok(())
}

fn check_parameters(
    service_type: &str,
    service: &ServiceSpec,
    params: &BTreeMap<String, ParamValue>,
) -> Result<(), RenderError> {
    for (name, value) in params {
        if let ParamValue::Number(n) = value
            && !n.is_finite()
        {
            return Err(RenderError::InvalidParameter {
                parameter: name.clone(),
                expected: "a finite number",
                got: n.to_string(),
            });
        }
    }
    for (name, kind) in &service.parameters {
        let expected = kind_name(*kind);
        let Some(value) = params.get(name) else {
            return Err(RenderError::MissingParameter {
                service_type: service_type.to_owned(),
                parameter: name.clone(),
                kind: expected,
            });
        };
        let ok = match (kind, value) {
            (ParamKind::Integer, ParamValue::Integer(_)) => true,
            (ParamKind::PositiveInteger, ParamValue::Integer(i)) => *i > 0,
            (ParamKind::Number, ParamValue::Integer(_) | ParamValue::Number(_)) => true,
            (ParamKind::String, ParamValue::String(_)) => true,
            (ParamKind::Boolean, ParamValue::Bool(_)) => true,
            _ => false,
        };
        if !ok {
            return Err(RenderError::InvalidParameter {
                parameter: name.clone(),
                expected,
                got: describe(value),
            });
        }
    }
    Ok(())
}

fn kind_name(kind: ParamKind) -> &'static str {
    match kind {
        ParamKind::Integer => "an integer",
        ParamKind::PositiveInteger => "a positive integer",
        ParamKind::Number => "a number",
        ParamKind::String => "a string",
        ParamKind::Boolean => "a boolean",
    }
}

fn describe(value: &ParamValue) -> String {
    match value {
        ParamValue::Bool(b) => format!("boolean {b}"),
        ParamValue::Integer(i) => format!("integer {i}"),
        ParamValue::Number(n) => format!("number {n}"),
        ParamValue::String(s) => format!("string {s:?}"),
    }
}

fn join<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// Finds which template fails to compile: Tera reports a batch failure as one message.
fn syntax_error(profiles: &ProfileSet, err: tera::Error) -> RenderError {
    for (name, source) in profiles.templates() {
        let mut alone = Tera::new();
        if let Err(single) = alone.add_raw_template(name, source)
            && matches!(single.kind(), tera::ErrorKind::SyntaxError(_))
        {
            return RenderError::TemplateSyntax {
                template: name.to_owned(),
                message: single.to_string(),
            };
        }
    }
    RenderError::TemplateSyntax {
        template: "(templates)".to_owned(),
        message: err.to_string(),
    }
}

/// XML escaping for every value a template prints. Characters XML 1.0 forbids are refused
/// rather than dropped: silently changing configuration values is worse than failing.
fn escape_xml(input: &str, out: &mut dyn Write) -> io::Result<()> {
    let mut start = 0;
    for (i, c) in input.char_indices() {
        let replacement = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&apos;",
            '\t' | '\n' | '\r' => continue,
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("U+{:04X} cannot appear in XML", u32::from(c)),
                ));
            }
            _ => continue,
        };
        out.write_all(&input.as_bytes()[start..i])?;
        out.write_all(replacement.as_bytes())?;
        start = i + c.len_utf8();
    }
    out.write_all(&input.as_bytes()[start..])
}

#[cfg(test)]
mod tests;

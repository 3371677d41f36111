//! Kubernetes name rules (DNS-1123 labels and subdomains, DNS-1035 labels) with the API
//! server's exact messages, and validation of the by-name references between resources.

use crate::schema::{BadValue, FieldError};

/// Longest DNS-1123 label.
pub const DNS1123_LABEL_MAX_LENGTH: usize = 63;
/// Longest DNS-1123 subdomain, and so the longest object name.
pub const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;

const LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const SUBDOMAIN_FMT: &str = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1035_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";

fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let mut out = msg.to_owned();
    if examples.is_empty() {
        out.push_str(&format!(" (regex used for validation is '{fmt}')"));
        return out;
    }
    out.push_str(" (e.g. ");
    for (i, example) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push_str(&format!("'{example}', "));
    }
    out.push_str(&format!("regex used for validation is '{fmt}')"));
    out
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?` without a regex engine.
fn is_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            alnum(first) && alnum(last) && bytes.iter().all(|b| alnum(b) || *b == b'-')
        }
        _ => false,
    }
}

fn is_subdomain(value: &str) -> bool {
    value.split('.').all(is_label)
}

/// The problems of `value` as a DNS-1123 label (empty when valid), worded as Kubernetes'
/// `IsDNS1123Label`.
pub fn dns1123_label_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errors.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    if !is_label(value) {
        if is_subdomain(value) {
            errors.push("must not contain dots".to_owned());
        } else {
            errors.push(regex_error(LABEL_MSG, LABEL_FMT, &["my-name", "123-abc"]));
        }
    }
    errors
}

/// The problems of `value` as a DNS-1123 subdomain (empty when valid), worded as Kubernetes'
/// `IsDNS1123Subdomain`.
pub fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errors.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !is_subdomain(value) {
        errors.push(regex_error(SUBDOMAIN_MSG, SUBDOMAIN_FMT, &["example.com"]));
    }
    errors
}

/// The problems of `value` as a DNS-1035 label (used for kinds of embedded resources).
pub fn dns1035_label_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errors.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    let starts_alpha = value.as_bytes().first().is_some_and(u8::is_ascii_lowercase);
    if !(starts_alpha && is_label(value)) {
        errors.push(regex_error(
            DNS1035_MSG,
            DNS1035_FMT,
            &["my-name", "abc-123"],
        ));
    }
    errors
}

/// Whether `value` is a valid DNS-1123 label.
pub fn is_dns1123_label(value: &str) -> bool {
    value.len() <= DNS1123_LABEL_MAX_LENGTH && is_label(value)
}

/// Whether `value` is a valid DNS-1123 subdomain, i.e. a valid custom resource name.
pub fn is_dns1123_subdomain(value: &str) -> bool {
    value.len() <= DNS1123_SUBDOMAIN_MAX_LENGTH && is_subdomain(value)
}

/// Field errors for an object name at `path` (usually `metadata.name`): required, and a
/// DNS-1123 subdomain, as the API server checks names of custom resources.
pub fn validate_object_name(path: &str, name: &str) -> Vec<FieldError> {
    if name.is_empty() {
        return vec![FieldError::required(
            path,
            "name or generateName is required",
        )];
    }
    dns1123_subdomain_errors(name)
        .into_iter()
        .map(|detail| FieldError::invalid(path, BadValue::Str(name), &detail))
        .collect()
}

/// Field errors for a by-name reference to another object in the same namespace
/// (`spec.customer`, `spec.access.device`...): required and a valid object name.
pub fn validate_reference(path: &str, name: &str) -> Vec<FieldError> {
    if name.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    dns1123_subdomain_errors(name)
        .into_iter()
        .map(|detail| FieldError::invalid(path, BadValue::Str(name), &detail))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert!(dns1123_label_errors("olt1").is_empty());
        assert!(dns1123_label_errors("123-abc").is_empty());
        assert_eq!(
            dns1123_label_errors("a.b"),
            vec!["must not contain dots".to_owned()]
        );
        assert_eq!(
            dns1123_label_errors("Foo"),
            vec!["a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')".to_owned()]
        );
        assert_eq!(
            dns1123_label_errors(&"a".repeat(64))[0],
            "must be no more than 63 characters"
        );
        assert!(!is_dns1123_label("-a"));
        assert!(!is_dns1123_label(""));
    }

    #[test]
    fn subdomains_and_references() {
        assert!(is_dns1123_subdomain("olt1-vlans.1203"));
        assert!(!is_dns1123_subdomain("olt1..x"));
        assert!(!is_dns1123_subdomain(&"a".repeat(254)));
        let errors = validate_reference("spec.customer", "Acme Corp");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].to_string().starts_with(
            "spec.customer: Invalid value: \"Acme Corp\": a lowercase RFC 1123 subdomain must consist of"
        ));
        assert!(errors[0].message.ends_with(
            r"(e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        ));
        assert_eq!(
            validate_reference("spec.product", "")[0].to_string(),
            "spec.product: Required value"
        );
        assert_eq!(
            validate_object_name("metadata.name", "")[0].to_string(),
            "metadata.name: Required value: name or generateName is required"
        );
        assert!(validate_object_name("metadata.name", "acme").is_empty());
    }

    #[test]
    fn dns1035() {
        assert!(dns1035_label_errors("customer").is_empty());
        assert!(!dns1035_label_errors("1abc").is_empty());
    }
}

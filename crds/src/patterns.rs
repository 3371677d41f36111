//! The regular expressions the CRD schemas enforce, in one place.
//!
//! They are written for Go's RE2 (what the Kubernetes API server uses) and stay within the
//! syntax the Rust `regex` crate shares with it, so the embedded API server enforces exactly
//! the same rules.

/// A price: up to 12 integer digits and at most two fraction digits, never negative.
pub const MONEY: &str = r"^[0-9]{1,12}(\.[0-9]{1,2})?$";
/// A balance: like [`MONEY`] but may be negative.
pub const SIGNED_MONEY: &str = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$";
/// An ISO 4217 currency code.
pub const CURRENCY: &str = r"^[A-Z]{3}$";
/// A tax rate in percent with at most two fraction digits, e.g. `19` or `7.25`.
pub const TAX_RATE_PERCENT: &str = r"^[0-9]{1,3}(\.[0-9]{1,2})?$";
/// An availability in percent, 0 to 100 with at most three fraction digits, e.g. `99.95`.
pub const AVAILABILITY_PERCENT: &str = r"^(100(\.0{1,3})?|[0-9]{1,2}(\.[0-9]{1,3})?)$";
/// A percentage from 0 to 100 with at most two fraction digits.
pub const PERCENT_0_100: &str = r"^(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)$";
/// A deliberately simple e-mail address check: something, `@`, a dotted domain.
pub const EMAIL: &str = r"^[^@\s]+@[^@\s]+\.[^@\s]+$";
/// A telephone number: optional `+`, digits, spaces, parentheses and dashes.
pub const PHONE: &str = r"^\+?[0-9][0-9 ()-]{2,31}$";
/// An http or https URL.
pub const HTTP_URL: &str = r"^https?://";
/// A DNS-1123 label (object names used as types, profiles, service types).
pub const DNS1123_LABEL: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// A DNS-1123 subdomain: what Kubernetes accepts as the name of a custom resource.
pub const DNS1123_SUBDOMAIN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// An IPv4 address in dotted-quad form.
pub const IPV4_ADDRESS: &str = r"^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$";
/// An IPv4 address with prefix length, `a.b.c.d/len`.
pub const IPV4_CIDR: &str = r"^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/(3[0-2]|[12]?[0-9])$";
/// `host:port` where host is a DNS name, an IPv4 address or a bracketed IPv6 address and
/// port is 1-65535.
pub const HOST_PORT: &str = r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\]):([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$";
/// An OpenSSH SHA-256 host key fingerprint, `SHA256:` and 43 base64 characters.
pub const SSH_FINGERPRINT: &str = r"^SHA256:[A-Za-z0-9+/]{43}=?$";
/// The type of a condition, as in `metav1.Condition`.
pub const CONDITION_TYPE: &str = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$";
/// The reason of a condition, as in `metav1.Condition`.
pub const CONDITION_REASON: &str = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$";

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    fn matches(pattern: &str, text: &str) -> bool {
        Regex::new(pattern).unwrap().is_match(text)
    }

    #[test]
    fn money_patterns() {
        for ok in ["0", "39.90", "39.9", "999999999999.99"] {
            assert!(matches(MONEY, ok), "{ok}");
        }
        for bad in ["", "-1", "39.901", "1.", ".5", "1,00", "1000000000000"] {
            assert!(!matches(MONEY, bad), "{bad}");
        }
        assert!(matches(SIGNED_MONEY, "-12.30"));
        assert!(!matches(SIGNED_MONEY, "--1"));
    }

    #[test]
    fn percent_patterns() {
        for ok in ["99.9", "100", "100.000", "0", "99.999"] {
            assert!(matches(AVAILABILITY_PERCENT, ok), "{ok}");
        }
        for bad in ["100.1", "101", "99.9999", ""] {
            assert!(!matches(AVAILABILITY_PERCENT, bad), "{bad}");
        }
        assert!(matches(PERCENT_0_100, "12.5"));
        assert!(!matches(PERCENT_0_100, "100.5"));
    }

    #[test]
    fn network_patterns() {
        for ok in [
            "olt1.lab:830",
            "10.0.0.1:22",
            "[2001:db8::1]:830",
            "router:65535",
        ] {
            assert!(matches(HOST_PORT, ok), "{ok}");
        }
        for bad in ["router", "router:0", "router:65536", "-bad:22", "[zz]:22"] {
            assert!(!matches(HOST_PORT, bad), "{bad}");
        }
        assert!(matches(IPV4_CIDR, "100.64.0.5/24"));
        assert!(!matches(IPV4_CIDR, "100.64.0.256/24"));
        assert!(!matches(IPV4_CIDR, "100.64.0.5/33"));
        assert!(matches(IPV4_ADDRESS, "192.0.2.1"));
        assert!(!matches(IPV4_ADDRESS, "192.0.2.01"));
        assert!(matches(
            SSH_FINGERPRINT,
            "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
        ));
    }
}

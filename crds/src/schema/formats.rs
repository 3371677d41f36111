//! The `format` values the validator checks. Unknown formats are ignored, as Kubernetes does.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::Value;

/// A `format` the validator understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    DateTime,
    Date,
    Ipv4,
    Ipv6,
    Cidr,
    Uuid,
    Hostname,
    Byte,
    Int32,
    Int64,
}

impl Format {
    pub(crate) fn parse(text: &str) -> Option<Format> {
        Some(match text {
            "date-time" | "datetime" => Format::DateTime,
            "date" => Format::Date,
            "ipv4" => Format::Ipv4,
            "ipv6" => Format::Ipv6,
            "cidr" => Format::Cidr,
            "uuid" => Format::Uuid,
            "hostname" => Format::Hostname,
            "byte" => Format::Byte,
            "int32" => Format::Int32,
            "int64" => Format::Int64,
            _ => return None,
        })
    }

    /// The name used in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::DateTime => "date-time",
            Format::Date => "date",
            Format::Ipv4 => "ipv4",
            Format::Ipv6 => "ipv6",
            Format::Cidr => "cidr",
            Format::Uuid => "uuid",
            Format::Hostname => "hostname",
            Format::Byte => "byte",
            Format::Int32 => "int32",
            Format::Int64 => "int64",
        }
    }

    /// Whether `value` conforms. Values of a type the format does not apply to conform.
    pub(crate) fn accepts(self, value: &Value) -> bool {
        match (self, value) {
            (Format::Int32, Value::Number(n)) => match n.as_i64() {
                Some(i) => i32::try_from(i).is_ok(),
                None => n
                    .as_f64()
                    .is_some_and(|f| f >= f64::from(i32::MIN) && f <= f64::from(i32::MAX)),
            },
            (Format::Int64, Value::Number(n)) => {
                n.is_i64() || n.as_f64().is_some_and(|f| f.abs() < 9.2e18)
            }
            (Format::Int32 | Format::Int64, _) => true,
            (_, Value::String(s)) => self.accepts_str(s),
            _ => true,
        }
    }

    fn accepts_str(self, s: &str) -> bool {
        match self {
            Format::DateTime => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
            Format::Date => {
                chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() && s.len() == 10
            }
            Format::Ipv4 => s.parse::<Ipv4Addr>().is_ok(),
            Format::Ipv6 => s.parse::<Ipv6Addr>().is_ok(),
            Format::Cidr => is_cidr(s),
            Format::Uuid => is_uuid(s),
            Format::Hostname => is_hostname(s),
            Format::Byte => is_base64(s),
            Format::Int32 | Format::Int64 => true,
        }
    }
}

fn is_cidr(s: &str) -> bool {
    let Some((addr, len)) = s.split_once('/') else {
        return false;
    };
    let Ok(len) = len.parse::<u8>() else {
        return false;
    };
    if addr.parse::<Ipv4Addr>().is_ok() {
        len <= 32
    } else {
        addr.parse::<Ipv6Addr>().is_ok() && len <= 128
    }
}

fn is_uuid(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn is_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    s.len().is_multiple_of(4)
        && s.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn string_formats() {
        let ok = |f: Format, s: &str| f.accepts(&json!(s));
        assert!(ok(Format::DateTime, "2024-05-01T12:00:00Z"));
        assert!(ok(Format::DateTime, "2024-05-01T12:00:00.5+02:00"));
        assert!(!ok(Format::DateTime, "2024-05-01"));
        assert!(!ok(Format::DateTime, "yesterday"));
        assert!(ok(Format::Date, "2024-02-29"));
        assert!(!ok(Format::Date, "2023-02-29"));
        assert!(ok(Format::Cidr, "10.0.0.0/8"));
        assert!(!ok(Format::Cidr, "10.0.0.0/33"));
        assert!(ok(Format::Uuid, "123e4567-e89b-12d3-a456-426614174000"));
        assert!(!ok(Format::Uuid, "123e4567e89b12d3a456426614174000"));
        assert!(ok(Format::Hostname, "olt1.example.net"));
        assert!(!ok(Format::Hostname, "-bad.example"));
        assert!(ok(Format::Byte, "aGVsbG8="));
        assert!(!ok(Format::Byte, "aGVsbG8"));
    }

    #[test]
    fn integer_formats() {
        assert!(Format::Int32.accepts(&json!(2147483647)));
        assert!(!Format::Int32.accepts(&json!(2147483648_i64)));
        assert!(Format::Int64.accepts(&json!(i64::MAX)));
        assert!(!Format::Int64.accepts(&json!(u64::MAX)));
        assert!(Format::Int32.accepts(&json!("not a number: not my business")));
    }
}

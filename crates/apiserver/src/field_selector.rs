//! Kubernetes field selectors: the `fieldSelector` query language of lists and watches.
//!
//! The syntax follows `k8s.io/apimachinery/pkg/fields`: comma-separated terms `path=value`,
//! `path==value` or `path!=value`, where a backslash escapes `\`, `,` and `=` in values. A path
//! is a dotted JSON path into the object (`metadata.name`, `involvedObject.name`,
//! `status.phase`). A missing field compares as the empty string, and numbers and booleans
//! compare by their JSON text, so `spec.count=3` works.
//!
//! Kubernetes only allows a few fields per resource; which ones is the HTTP layer's decision
//! ([`FieldSelector::paths`] lists them for that check), and [`FieldSelector::map_paths`]
//! lets it translate one view of a resource to another (`regarding.name` of
//! `events.k8s.io/v1` to `involvedObject.name` of `core/v1`, for example).

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

/// The longest field selector accepted.
pub const MAX_FIELD_SELECTOR_LEN: usize = 16 * 1024;

/// Why a field selector could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldSelectorError {
    /// The selector is longer than [`MAX_FIELD_SELECTOR_LEN`].
    #[error("field selector is {len} bytes long, at most {max} are accepted")]
    TooLong {
        /// Length of the rejected selector in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A term has no `=`, `==` or `!=`.
    #[error("invalid field selector term '{term}': expected 'field=value' or 'field!=value'")]
    MissingOperator {
        /// The offending term.
        term: String,
    },
    /// A term has an empty field path.
    #[error("invalid field selector term '{term}': the field name is empty")]
    EmptyField {
        /// The offending term.
        term: String,
    },
    /// A backslash is followed by something other than `\`, `,` or `=`.
    #[error(
        "invalid escape sequence in field selector value '{value}': only \\\\, \\, and \\= are allowed"
    )]
    InvalidEscape {
        /// The raw value text.
        value: String,
    },
}

/// Whether a term asks for equality or inequality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldOperator {
    /// `=` or `==`.
    Equals,
    /// `!=`.
    NotEquals,
}

/// One `path op value` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    /// Dotted path into the object, e.g. `involvedObject.name`.
    pub path: String,
    /// The comparison.
    pub operator: FieldOperator,
    /// The value, unescaped.
    pub value: String,
}

impl FieldRequirement {
    /// Whether the object's field at `path` satisfies this term.
    pub fn matches(&self, object: &Value) -> bool {
        let equal = match lookup(object, &self.path) {
            None | Some(Value::Null) => self.value.is_empty(),
            Some(Value::String(s)) => *s == self.value,
            Some(Value::Number(n)) => self
                .value
                .parse()
                .is_ok_and(|want: serde_json::Number| want == *n || n.to_string() == self.value),
            Some(Value::Bool(b)) => self.value == if *b { "true" } else { "false" },
            Some(Value::Array(_) | Value::Object(_)) => false,
        };
        equal == (self.operator == FieldOperator::Equals)
    }
}

/// Follows a dotted path through nested JSON objects.
fn lookup<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(object, |value, segment| value.get(segment))
}

/// A parsed field selector: the conjunction of its terms; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// The selector that matches everything.
    pub fn everything() -> Self {
        Self::default()
    }

    /// Parses the `fieldSelector` syntax.
    pub fn parse(text: &str) -> Result<Self, FieldSelectorError> {
        if text.len() > MAX_FIELD_SELECTOR_LEN {
            return Err(FieldSelectorError::TooLong {
                len: text.len(),
                max: MAX_FIELD_SELECTOR_LEN,
            });
        }
        let mut requirements = Vec::new();
        for term in split_unescaped(text, ',') {
            let term = term.trim_start();
            if term.is_empty() {
                continue;
            }
            let (path, operator, raw) =
                split_term(term).ok_or_else(|| FieldSelectorError::MissingOperator {
                    term: term.to_string(),
                })?;
            let path = path.trim();
            if path.is_empty() {
                return Err(FieldSelectorError::EmptyField {
                    term: term.to_string(),
                });
            }
            requirements.push(FieldRequirement {
                path: path.to_string(),
                operator,
                value: unescape(raw)?,
            });
        }
        Ok(Self { requirements })
    }

    /// A selector from already-parsed terms.
    pub fn from_requirements(requirements: Vec<FieldRequirement>) -> Self {
        Self { requirements }
    }

    /// True when the selector has no term.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The terms in the order they were written.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// The field paths the selector uses, for a per-resource whitelist check.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.requirements.iter().map(|r| r.path.as_str())
    }

    /// Rewrites every path, e.g. to translate between two API views of the same data.
    pub fn map_paths(mut self, mut map: impl FnMut(&str) -> String) -> Self {
        for r in &mut self.requirements {
            r.path = map(&r.path);
        }
        self
    }

    /// Whether the object satisfies every term.
    pub fn matches_object(&self, object: &Value) -> bool {
        self.requirements.iter().all(|r| r.matches(object))
    }
}

impl FromStr for FieldSelector {
    type Err = FieldSelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let op = match r.operator {
                FieldOperator::Equals => "=",
                FieldOperator::NotEquals => "!=",
            };
            write!(f, "{}{op}{}", r.path, escape(&r.value))?;
        }
        Ok(())
    }
}

/// Splits on `sep` where it is not preceded by an escaping backslash.
fn split_unescaped(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Finds the first operator, trying `!=`, `==`, `=` at each position like Kubernetes.
fn split_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        if let Some(value) = rest.strip_prefix("!=") {
            return Some((&term[..i], FieldOperator::NotEquals, value));
        }
        if let Some(value) = rest.strip_prefix("==") {
            return Some((&term[..i], FieldOperator::Equals, value));
        }
        if let Some(value) = rest.strip_prefix('=') {
            return Some((&term[..i], FieldOperator::Equals, value));
        }
    }
    None
}

fn unescape(raw: &str) -> Result<String, FieldSelectorError> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                _ => {
                    return Err(FieldSelectorError::InvalidEscape {
                        value: raw.to_string(),
                    });
                }
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({
            "metadata": {"name": "ev1", "namespace": "isp-a"},
            "involvedObject": {"kind": "Subscription", "name": "sub-1"},
            "count": 3,
            "series": null,
            "reason": "a,b=c"
        })
    }

    #[test]
    fn equality_and_inequality_on_nested_paths() {
        let e = event();
        let yes = [
            "",
            "metadata.name=ev1",
            "metadata.namespace==isp-a",
            "involvedObject.name=sub-1,involvedObject.kind=Subscription",
            "involvedObject.name!=sub-2",
            "count=3",
            "series=",
            "missing.field=",
            "missing!=x",
            r"reason=a\,b\=c",
            " metadata.name =ev1",
        ];
        for text in yes {
            assert!(
                FieldSelector::parse(text).unwrap().matches_object(&e),
                "{text}"
            );
        }
        let no = [
            "metadata.name=ev2",
            "involvedObject.name!=sub-1",
            "count=4",
            "missing=x",
            "involvedObject=sub-1",
            "metadata.name= ev1",
        ];
        for text in no {
            assert!(
                !FieldSelector::parse(text).unwrap().matches_object(&e),
                "{text}"
            );
        }
    }

    #[test]
    fn errors() {
        assert!(matches!(
            FieldSelector::parse("metadata.name"),
            Err(FieldSelectorError::MissingOperator { .. })
        ));
        assert!(matches!(
            FieldSelector::parse("=x"),
            Err(FieldSelectorError::EmptyField { .. })
        ));
        assert!(matches!(
            FieldSelector::parse(r"a=\x"),
            Err(FieldSelectorError::InvalidEscape { .. })
        ));
        assert!(matches!(
            FieldSelector::parse(r"a=x\"),
            Err(FieldSelectorError::InvalidEscape { .. })
        ));
    }

    #[test]
    fn display_escapes_and_round_trips() {
        let s = FieldSelector::parse(r"reason=a\,b\=c,x!=\\").unwrap();
        assert_eq!(s.to_string(), r"reason=a\,b\=c,x!=\\");
        assert_eq!(FieldSelector::parse(&s.to_string()).unwrap(), s);
    }

    #[test]
    fn map_paths_translates_views() {
        let s = FieldSelector::parse("regarding.name=sub-1")
            .unwrap()
            .map_paths(|p| p.replace("regarding.", "involvedObject."));
        assert_eq!(s.paths().collect::<Vec<_>>(), vec!["involvedObject.name"]);
        assert!(s.matches_object(&event()));
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(text in "[a-z.=!,\\\\ é]{0,30}") {
            let _ = FieldSelector::parse(&text);
        }
    }
}

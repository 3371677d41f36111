//! Kubernetes label selectors: the `labelSelector` query language of lists and watches.
//!
//! The grammar and the matching rules follow `k8s.io/apimachinery/pkg/labels`:
//!
//! ```text
//! selector    := "" | requirement ("," requirement)*
//! requirement := key                       (exists)
//!              | "!" key                   (does not exist)
//!              | key ("=" | "==" | "!=") value?
//!              | key ("in" | "notin") "(" value ("," value)* ")"
//!              | key (">" | "<") integer
//! ```
//!
//! Whitespace may separate tokens. Keys are qualified names (`[prefix/]name`, the prefix a DNS
//! subdomain); values are at most 63 characters of `[A-Za-z0-9._-]`, beginning and ending
//! alphanumeric, or empty. As in Kubernetes, `!=` and `notin` also match objects that lack the
//! label, and the set `()` means the single empty value.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

/// The longest selector accepted; selectors arrive in URLs, so this bounds parser work.
pub const MAX_SELECTOR_LEN: usize = 16 * 1024;

/// Why a label selector could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// The selector text is longer than [`MAX_SELECTOR_LEN`]; shorten it or split the query.
    #[error("selector is {len} bytes long, at most {max} are accepted")]
    TooLong {
        /// Length of the rejected selector in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A token appeared where the grammar expects something else.
    #[error(
        "unable to parse requirement: found '{found}' at offset {offset}, expected: {expected}"
    )]
    Unexpected {
        /// The text of the offending token (`end of string` at the end).
        found: String,
        /// Byte offset of the token in the selector.
        offset: usize,
        /// What the grammar allows at that point.
        expected: &'static str,
    },
    /// A key is not a valid qualified name.
    #[error("invalid label key '{key}': {reason}")]
    InvalidKey {
        /// The rejected key.
        key: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A value is not a valid label value.
    #[error("invalid label value '{value}' for key '{key}': {reason}")]
    InvalidValue {
        /// The key the value belongs to.
        key: String,
        /// The rejected value.
        value: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// The operand of `>` or `<` is not an integer.
    #[error("for '>' and '<' the value must be an integer, found '{value}' for key '{key}'")]
    NotAnInteger {
        /// The key of the requirement.
        key: String,
        /// The rejected value.
        value: String,
    },
}

/// The operator of one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `key=value`.
    Equals,
    /// `key==value` (same meaning as `=`).
    DoubleEquals,
    /// `key!=value`: the label is absent or has another value.
    NotEquals,
    /// `key in (a,b)`.
    In,
    /// `key notin (a,b)`: the label is absent or has none of the values.
    NotIn,
    /// `key`: the label is present.
    Exists,
    /// `!key`: the label is absent.
    DoesNotExist,
    /// `key>n`: the label is an integer greater than `n`.
    GreaterThan,
    /// `key<n`: the label is an integer less than `n`.
    LessThan,
}

impl Operator {
    fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
            Operator::Exists | Operator::DoesNotExist => "",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
        }
    }
}

/// One `key op values` term of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: BTreeSet<String>,
}

impl Requirement {
    /// The label key this requirement tests.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values (empty for `Exists` and `DoesNotExist`, one for the comparison operators).
    pub fn values(&self) -> &BTreeSet<String> {
        &self.values
    }

    /// Whether a label value (`None` when the label is absent) satisfies this requirement.
    pub fn matches(&self, value: Option<&str>) -> bool {
        match self.operator {
            Operator::Equals | Operator::DoubleEquals | Operator::In => {
                value.is_some_and(|v| self.values.contains(v))
            }
            Operator::NotEquals | Operator::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(have), Some(bound)) = (
                    value.and_then(|v| v.parse::<i64>().ok()),
                    self.values.first().and_then(|v| v.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    have > bound
                } else {
                    have < bound
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.operator {
            Operator::DoesNotExist => write!(f, "!{}", self.key),
            Operator::Exists => f.write_str(&self.key),
            Operator::In | Operator::NotIn => {
                let values: Vec<&str> = self.values.iter().map(String::as_str).collect();
                write!(
                    f,
                    "{}{}({})",
                    self.key,
                    self.operator.as_str(),
                    values.join(",")
                )
            }
            _ => {
                let value = self.values.first().map(String::as_str).unwrap_or_default();
                write!(f, "{}{}{}", self.key, self.operator.as_str(), value)
            }
        }
    }
}

/// A parsed label selector: the conjunction of its requirements. The empty selector matches
/// every object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// The selector that matches everything.
    pub fn everything() -> Self {
        Self::default()
    }

    /// Parses the `labelSelector` syntax. Requirements are kept sorted by key, as Kubernetes
    /// does, so that equal selectors print equally.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        if text.len() > MAX_SELECTOR_LEN {
            return Err(SelectorError::TooLong {
                len: text.len(),
                max: MAX_SELECTOR_LEN,
            });
        }
        let mut requirements = Parser::new(text).parse()?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self { requirements })
    }

    /// True when the selector has no requirement and so matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Whether a label set satisfies every requirement. Non-string label values (which a valid
    /// object never has) count as absent.
    pub fn matches_labels(&self, labels: Option<&Map<String, Value>>) -> bool {
        self.requirements.iter().all(|r| {
            let value = labels.and_then(|l| l.get(&r.key)).and_then(Value::as_str);
            r.matches(value)
        })
    }

    /// Whether a Kubernetes object's `metadata.labels` satisfy the selector.
    pub fn matches_object(&self, object: &Value) -> bool {
        if self.is_empty() {
            return true;
        }
        let labels = object
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object);
        self.matches_labels(labels)
    }
}

impl FromStr for LabelSelector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

// === impl Parser ===

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Ident(&'a str),
    Not,
    NotEquals,
    Equals,
    DoubleEquals,
    GreaterThan,
    LessThan,
    OpenPar,
    ClosedPar,
    Comma,
    End,
}

impl Token<'_> {
    fn text(&self) -> &str {
        match self {
            Token::Ident(s) => s,
            Token::Not => "!",
            Token::NotEquals => "!=",
            Token::Equals => "=",
            Token::DoubleEquals => "==",
            Token::GreaterThan => ">",
            Token::LessThan => "<",
            Token::OpenPar => "(",
            Token::ClosedPar => ")",
            Token::Comma => ",",
            Token::End => "end of string",
        }
    }
}

fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Splits the selector into tokens with their byte offsets, like the Kubernetes lexer:
/// identifiers run up to whitespace or an operator character.
fn tokenize(text: &str) -> Vec<(Token<'_>, usize)> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let next = bytes.get(i + 1).copied();
        let (token, len) = match (b, next) {
            (b'!', Some(b'=')) => (Token::NotEquals, 2),
            (b'!', _) => (Token::Not, 1),
            (b'=', Some(b'=')) => (Token::DoubleEquals, 2),
            (b'=', _) => (Token::Equals, 1),
            (b'>', _) => (Token::GreaterThan, 1),
            (b'<', _) => (Token::LessThan, 1),
            (b'(', _) => (Token::OpenPar, 1),
            (b')', _) => (Token::ClosedPar, 1),
            (b',', _) => (Token::Comma, 1),
            _ => {
                let end = bytes[i..]
                    .iter()
                    .position(|&c| c.is_ascii_whitespace() || is_special(c))
                    .map_or(bytes.len(), |p| i + p);
                // Operator characters and whitespace are ASCII, so `end` is a char boundary.
                (Token::Ident(&text[i..end]), end - i)
            }
        };
        tokens.push((token, i));
        i += len;
    }
    tokens.push((Token::End, text.len()));
    tokens
}

struct Parser<'a> {
    tokens: Vec<(Token<'a>, usize)>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            tokens: tokenize(text),
            pos: 0,
        }
    }

    fn peek(&self) -> (Token<'a>, usize) {
        self.tokens
            .get(self.pos)
            .copied()
            .unwrap_or((Token::End, usize::MAX))
    }

    fn next(&mut self) -> (Token<'a>, usize) {
        let t = self.peek();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    fn unexpected(token: (Token<'_>, usize), expected: &'static str) -> SelectorError {
        SelectorError::Unexpected {
            found: token.0.text().to_string(),
            offset: token.1,
            expected,
        }
    }

    fn parse(mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut requirements = Vec::new();
        if self.peek().0 == Token::End {
            return Ok(requirements);
        }
        loop {
            requirements.push(self.requirement()?);
            let token = self.next();
            match token.0 {
                Token::End => return Ok(requirements),
                Token::Comma => {
                    let after = self.peek();
                    if !matches!(after.0, Token::Ident(_) | Token::Not) {
                        return Err(Self::unexpected(after, "identifier after ','"));
                    }
                }
                _ => return Err(Self::unexpected(token, "',' or end of string")),
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        let mut token = self.next();
        let negated = token.0 == Token::Not;
        if negated {
            token = self.next();
        }
        let Token::Ident(key) = token.0 else {
            return Err(Self::unexpected(token, "'!' or a label key"));
        };
        validate_key(key)?;
        let key = key.to_string();
        if negated || matches!(self.peek().0, Token::Comma | Token::End) {
            let operator = if negated {
                Operator::DoesNotExist
            } else {
                Operator::Exists
            };
            return Ok(Requirement {
                key,
                operator,
                values: BTreeSet::new(),
            });
        }
        let op_token = self.next();
        let operator = match op_token.0 {
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::NotEquals => Operator::NotEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            Token::Ident("in") => Operator::In,
            Token::Ident("notin") => Operator::NotIn,
            _ => {
                return Err(Self::unexpected(
                    op_token,
                    "one of '=', '==', '!=', 'in', 'notin', '>', '<'",
                ));
            }
        };
        let values = match operator {
            Operator::In | Operator::NotIn => self.value_set()?,
            _ => BTreeSet::from([self.exact_value()?]),
        };
        for value in &values {
            if matches!(operator, Operator::GreaterThan | Operator::LessThan) {
                if value.parse::<i64>().is_err() {
                    return Err(SelectorError::NotAnInteger {
                        key,
                        value: value.clone(),
                    });
                }
            } else {
                validate_value(&key, value)?;
            }
        }
        Ok(Requirement {
            key,
            operator,
            values,
        })
    }

    /// The operand of `=`, `==`, `!=`, `>` and `<`; nothing before `,` or the end means "".
    fn exact_value(&mut self) -> Result<String, SelectorError> {
        match self.peek().0 {
            Token::End | Token::Comma => Ok(String::new()),
            Token::Ident(v) => {
                self.next();
                Ok(v.to_string())
            }
            _ => Err(Self::unexpected(self.peek(), "a label value")),
        }
    }

    /// `( v1, v2 )`; empty elements stand for the empty value, as in Kubernetes.
    fn value_set(&mut self) -> Result<BTreeSet<String>, SelectorError> {
        let open = self.next();
        if open.0 != Token::OpenPar {
            return Err(Self::unexpected(open, "'('"));
        }
        let mut values = BTreeSet::new();
        let mut expect_value = true;
        loop {
            let token = self.next();
            match token.0 {
                Token::Ident(v) if expect_value => {
                    values.insert(v.to_string());
                    expect_value = false;
                }
                Token::Comma => {
                    if expect_value {
                        values.insert(String::new());
                    }
                    expect_value = true;
                }
                Token::ClosedPar => {
                    if expect_value {
                        values.insert(String::new());
                    }
                    return Ok(values);
                }
                _ if expect_value => {
                    return Err(Self::unexpected(token, "a label value, ',' or ')'"));
                }
                _ => return Err(Self::unexpected(token, "',' or ')'")),
            }
        }
    }
}

// === validation ===

const NAME_MAX: usize = 63;
const PREFIX_MAX: usize = 253;

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, the shape of label names and values.
fn is_label_token(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// A lowercase RFC 1123 DNS subdomain.
fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= PREFIX_MAX
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            match (b.first(), b.last()) {
                (Some(first), Some(last)) => {
                    (first.is_ascii_lowercase() || first.is_ascii_digit())
                        && (last.is_ascii_lowercase() || last.is_ascii_digit())
                        && b.iter()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                }
                _ => false,
            }
        })
}

/// Checks that `key` is a Kubernetes qualified name: `[prefix/]name`.
pub fn validate_key(key: &str) -> Result<(), SelectorError> {
    let invalid = |reason| SelectorError::InvalidKey {
        key: key.to_string(),
        reason,
    };
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        if name.contains('/') {
            return Err(invalid("a qualified name has at most one '/'"));
        }
        if !is_dns_subdomain(prefix) {
            return Err(invalid(
                "the prefix must be a lowercase DNS subdomain of at most 253 characters",
            ));
        }
    }
    if name.is_empty() {
        return Err(invalid("the name part must not be empty"));
    }
    if name.len() > NAME_MAX {
        return Err(invalid("the name part must be at most 63 characters"));
    }
    if !is_label_token(name) {
        return Err(invalid(
            "the name part must consist of alphanumerics, '-', '_' or '.', \
             and begin and end with an alphanumeric",
        ));
    }
    Ok(())
}

/// Checks that `value` is a valid label value (empty is allowed).
pub fn validate_value(key: &str, value: &str) -> Result<(), SelectorError> {
    let invalid = |reason| SelectorError::InvalidValue {
        key: key.to_string(),
        value: value.to_string(),
        reason,
    };
    if value.len() > NAME_MAX {
        return Err(invalid("a label value must be at most 63 characters"));
    }
    if !value.is_empty() && !is_label_token(value) {
        return Err(invalid(
            "a label value must consist of alphanumerics, '-', '_' or '.', \
             and begin and end with an alphanumeric",
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

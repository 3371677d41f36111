//! Paths to nodes, written as RFC 7950 instance-identifiers.
//!
//! Syntax: `/step/step...`, a step being a name followed by predicates:
//! - names are `prefix:local` with the prefix from a [`PrefixMap`]; a namespace without a
//!   prefix in the map is written `{namespace}local`, a name without namespace as `local`;
//! - a keyed-list entry carries one `[key='value']` per key leaf, in key order, key names
//!   written like step names: `/if:interfaces/if:interface[if:name='ge-0/0/1.1203']`;
//! - a leaf-list entry carries `[.='value']`; a repeated element the schema does not know
//!   carries its 1-based position `[2]`;
//! - values are quoted with `'`, or with `"` when they contain `'`; a value containing both
//!   doubles the `'` (`'it''s "x"'`). Qualified-name values appear in their canonical
//!   `{namespace}local` form.
//!
//! These strings are stored in Subscription status, so they only depend on the data and the
//! prefix map, never on how a payload happened to be written.

use std::fmt;

use super::node::{Ident, Key};
use super::schema::{PrefixMap, QName};

/// A path from a top-level element to a node; each step identifies one node among its
/// siblings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DataPath {
    /// Steps from the top-level element down.
    pub steps: Vec<Ident>,
}

/// A path string that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path does not follow the syntax.
    #[error("invalid path at byte {position}: {reason}")]
    Syntax {
        /// Byte offset of the problem.
        position: usize,
        /// What was expected.
        reason: &'static str,
    },
    /// A prefix the prefix map does not know.
    #[error("unknown prefix '{prefix}' in path")]
    UnknownPrefix {
        /// The prefix.
        prefix: String,
    },
}

// === impl DataPath ===

impl DataPath {
    /// Whether `self` is `prefix` or below it.
    pub fn starts_with(&self, prefix: &DataPath) -> bool {
        self.steps.starts_with(&prefix.steps)
    }

    /// Writes the path with the prefixes of `prefixes`.
    pub fn format(&self, prefixes: &PrefixMap) -> String {
        let mut out = String::new();
        for step in &self.steps {
            out.push('/');
            push_name(&mut out, &step.name, prefixes);
            match &step.key {
                Key::Single => {}
                Key::Entry(pairs) => {
                    for (name, value) in pairs {
                        out.push('[');
                        push_name(&mut out, name, prefixes);
                        out.push('=');
                        push_literal(&mut out, value);
                        out.push(']');
                    }
                }
                Key::LeafList(value) => {
                    out.push_str("[.=");
                    push_literal(&mut out, value);
                    out.push(']');
                }
                Key::Position(n) => out.push_str(&format!("[{n}]")),
            }
        }
        out
    }

    /// Reads a path written by [`DataPath::format`] with the same prefix map.
    pub fn parse(input: &str, prefixes: &PrefixMap) -> Result<Self, PathError> {
        let mut parser = Parser {
            input,
            at: 0,
            prefixes,
        };
        let mut steps = Vec::new();
        while !parser.done() {
            parser.expect('/', "expected '/'")?;
            let name = parser.name()?;
            let key = parser.predicates()?;
            steps.push(Ident { name, key });
        }
        if steps.is_empty() {
            return Err(parser.error("empty path"));
        }
        Ok(Self { steps })
    }
}

/// The path with every name in `{namespace}local` form.
impl fmt::Display for DataPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format(&PrefixMap::new()))
    }
}

fn push_name(out: &mut String, name: &QName, prefixes: &PrefixMap) {
    if name.ns.is_empty() {
    } else if let Some(prefix) = prefixes.prefix(&name.ns) {
        out.push_str(prefix);
        out.push(':');
    } else {
        out.push('{');
        out.push_str(&name.ns);
        out.push('}');
    }
    out.push_str(&name.name);
}

fn push_literal(out: &mut String, value: &str) {
    if !value.contains('\'') {
        out.push('\'');
        out.push_str(value);
        out.push('\'');
    } else if !value.contains('"') {
        out.push('"');
        out.push_str(value);
        out.push('"');
    } else {
        out.push('\'');
        out.push_str(&value.replace('\'', "''"));
        out.push('\'');
    }
}

struct Parser<'a> {
    input: &'a str,
    at: usize,
    prefixes: &'a PrefixMap,
}

impl<'a> Parser<'a> {
    fn done(&self) -> bool {
        self.at >= self.input.len()
    }

    fn rest(&self) -> &'a str {
        &self.input[self.at..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn error(&self, reason: &'static str) -> PathError {
        PathError::Syntax {
            position: self.at,
            reason,
        }
    }

    fn expect(&mut self, c: char, reason: &'static str) -> Result<(), PathError> {
        if self.peek() == Some(c) {
            self.at += c.len_utf8();
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    fn ncname(&mut self) -> Result<&'a str, PathError> {
        let rest = self.rest();
        let len = rest
            .char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
            .map_or(rest.len(), |(i, _)| i);
        if len == 0 || rest.starts_with(['-', '.']) || rest.starts_with(|c: char| c.is_numeric()) {
            return Err(self.error("expected a name"));
        }
        self.at += len;
        Ok(&rest[..len])
    }

    fn name(&mut self) -> Result<QName, PathError> {
        if self.peek() == Some('{') {
            self.at += 1;
            let end = self
                .rest()
                .find('}')
                .ok_or_else(|| self.error("unterminated '{namespace}'"))?;
            let ns = self.rest()[..end].to_owned();
            self.at += end + 1;
            let local = self.ncname()?.to_owned();
            return Ok(QName::new(ns, local));
        }
        let first = self.ncname()?.to_owned();
        if self.peek() != Some(':') {
            return Ok(QName::new("", first));
        }
        self.at += 1;
        let local = self.ncname()?.to_owned();
        let ns = self
            .prefixes
            .namespace(&first)
            .ok_or(PathError::UnknownPrefix { prefix: first })?;
        Ok(QName::new(ns, local))
    }

    fn literal(&mut self) -> Result<String, PathError> {
        let quote = match self.peek() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err(self.error("expected a quoted value")),
        };
        self.at += 1;
        let mut value = String::new();
        loop {
            let rest = self.rest();
            let end = rest
                .find(quote)
                .ok_or_else(|| self.error("unterminated quoted value"))?;
            value.push_str(&rest[..end]);
            self.at += end + 1;
            if quote == '\'' && self.peek() == Some('\'') {
                value.push('\'');
                self.at += 1;
            } else {
                return Ok(value);
            }
        }
    }

    fn predicates(&mut self) -> Result<Key, PathError> {
        let mut pairs = Vec::new();
        while self.peek() == Some('[') {
            self.at += 1;
            if !pairs.is_empty()
                && !self
                    .rest()
                    .starts_with(|c: char| c.is_alphabetic() || c == '_' || c == '{')
            {
                return Err(self.error("only key predicates may follow a key predicate"));
            }
            if self.rest().starts_with(".=") {
                self.at += 2;
                let value = self.literal()?;
                self.expect(']', "expected ']'")?;
                return self.last_predicate(Key::LeafList(value));
            }
            if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                let digits: String = self
                    .rest()
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                self.at += digits.len();
                let position = digits
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| self.error("position must be a positive number"))?;
                self.expect(']', "expected ']'")?;
                return self.last_predicate(Key::Position(position));
            }
            let name = self.name()?;
            self.expect('=', "expected '='")?;
            let value = self.literal()?;
            self.expect(']', "expected ']'")?;
            pairs.push((name, value));
        }
        Ok(if pairs.is_empty() {
            Key::Single
        } else {
            Key::Entry(pairs)
        })
    }

    fn last_predicate(&self, key: Key) -> Result<Key, PathError> {
        if self.peek() == Some('[') {
            return Err(self.error("no predicate may follow a value or position predicate"));
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IF: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";

    fn prefixes() -> PrefixMap {
        PrefixMap::from_pairs([("if", IF)]).unwrap()
    }

    fn entry(name: &str) -> DataPath {
        DataPath {
            steps: vec![
                Ident::single(QName::new(IF, "interfaces")),
                Ident {
                    name: QName::new(IF, "interface"),
                    key: Key::Entry(vec![(QName::new(IF, "name"), name.to_owned())]),
                },
            ],
        }
    }

    #[test]
    fn formats_like_an_instance_identifier() {
        let path = entry("ge-0/0/1.1203");
        assert_eq!(
            path.format(&prefixes()),
            "/if:interfaces/if:interface[if:name='ge-0/0/1.1203']"
        );
        assert_eq!(
            path.to_string(),
            format!("/{{{IF}}}interfaces/{{{IF}}}interface[{{{IF}}}name='ge-0/0/1.1203']")
        );
    }

    #[test]
    fn round_trips_awkward_values() {
        for value in ["a'b", "a\"b", "it's \"x\"", "", "]['/"] {
            let path = entry(value);
            for map in [prefixes(), PrefixMap::new()] {
                let text = path.format(&map);
                assert_eq!(DataPath::parse(&text, &map).unwrap(), path, "{text}");
            }
        }
        let mut path = entry("x");
        path.steps.push(Ident {
            name: QName::new("urn:o", "tag"),
            key: Key::LeafList("v".into()),
        });
        let text = path.format(&prefixes());
        assert_eq!(DataPath::parse(&text, &prefixes()).unwrap(), path);
        path.steps.push(Ident {
            name: QName::new("", "x"),
            key: Key::Position(3),
        });
        let text = path.format(&prefixes());
        assert!(text.ends_with("/x[3]"), "{text}");
        assert_eq!(DataPath::parse(&text, &prefixes()).unwrap(), path);
    }

    #[test]
    fn rejects_bad_paths() {
        let map = prefixes();
        for bad in [
            "",
            "if:interfaces",
            "/",
            "/if:a[",
            "/if:a[if:b='x'",
            "/x:a",
            "/if:a[0]",
            "/if:a[.='x'][1]",
            "/{urn:a",
        ] {
            assert!(DataPath::parse(bad, &map).is_err(), "{bad}");
        }
        assert!(matches!(
            DataPath::parse("/zz:a", &map),
            Err(PathError::UnknownPrefix { .. })
        ));
    }
}

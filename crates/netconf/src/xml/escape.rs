//! Escaping of text and attribute values, and the XML 1.0 character check.

use std::borrow::Cow;

/// Whether `c` may appear in an XML 1.0 document at all (even escaped).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Checks that every character of `value` can be carried by XML 1.0; returns the first one
/// that cannot (control characters other than tab, line feed and carriage return).
pub fn check_xml_chars(value: &str) -> Result<(), char> {
    match value.chars().find(|c| !is_xml_char(*c)) {
        Some(c) => Err(c),
        None => Ok(()),
    }
}

/// Escapes character data: `&`, `<`, `>` and carriage return (kept through line-end
/// normalisation). Characters XML cannot carry become U+FFFD, so the output is always
/// well-formed; callers that must refuse such input use [`check_xml_chars`] first.
pub fn escape_text(value: &str) -> Cow<'_, str> {
    escape(value, false)
}

/// Escapes an attribute value for use between double quotes: like [`escape_text`] plus both
/// quotes and tab / line feed (which attribute normalisation would otherwise turn into spaces).
pub fn escape_attr(value: &str) -> Cow<'_, str> {
    escape(value, true)
}

fn escape(value: &str, attribute: bool) -> Cow<'_, str> {
    let needs = |c: char| {
        matches!(c, '&' | '<' | '>' | '\r')
            || (attribute && matches!(c, '"' | '\'' | '\t' | '\n'))
            || !is_xml_char(c)
    };
    if !value.chars().any(needs) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 16);
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' if attribute => out.push_str("&#10;"),
            c if !is_xml_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(escape_text("a & <b> ]]>"), "a &amp; &lt;b&gt; ]]&gt;");
        assert_eq!(escape_attr("x\"y'z\n"), "x&quot;y&apos;z&#10;");
        assert!(matches!(escape_text("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn control_characters_are_detected_and_replaced() {
        assert_eq!(check_xml_chars("ok\tfine\n"), Ok(()));
        assert_eq!(check_xml_chars("bad\u{1}"), Err('\u{1}'));
        assert_eq!(escape_text("a\u{0}b"), "a\u{FFFD}b");
    }
}

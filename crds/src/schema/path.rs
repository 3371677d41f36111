//! A field path built in one reusable buffer while walking a document: descending pushes
//! `.key` or `[i]`, returning truncates, and a `String` is only made when an error needs it.

use std::fmt::Write;

/// The path of the field being visited, `spec.items[0].action` style.
#[derive(Debug, Default)]
pub(crate) struct FieldPath(String);

/// Where to truncate back to when leaving a field.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mark(usize);

impl FieldPath {
    /// A path starting at `base` instead of the document root.
    pub(crate) fn at(base: &str) -> FieldPath {
        FieldPath(base.to_owned())
    }

    /// Enters the object member `key`.
    pub(crate) fn push_key(&mut self, key: &str) -> Mark {
        let mark = Mark(self.0.len());
        if !self.0.is_empty() {
            self.0.push('.');
        }
        self.0.push_str(key);
        mark
    }

    /// Enters the list item `index`.
    pub(crate) fn push_index(&mut self, index: usize) -> Mark {
        let mark = Mark(self.0.len());
        // Writing to a String cannot fail.
        let _ = write!(self.0, "[{index}]");
        mark
    }

    /// Leaves the field entered when `mark` was taken.
    pub(crate) fn pop(&mut self, mark: Mark) {
        self.0.truncate(mark.0);
    }

    /// The current path.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The current path with `key` appended, without entering it.
    pub(crate) fn with_key(&self, key: &str) -> String {
        if self.0.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_kubernetes_paths() {
        let mut p = FieldPath::default();
        let spec = p.push_key("spec");
        let items = p.push_key("items");
        let first = p.push_index(0);
        let action = p.push_key("action");
        assert_eq!(p.as_str(), "spec.items[0].action");
        p.pop(action);
        p.pop(first);
        assert_eq!(p.as_str(), "spec.items");
        p.pop(items);
        assert_eq!(p.with_key("customer"), "spec.customer");
        p.pop(spec);
        assert_eq!(p.as_str(), "");
        assert_eq!(p.with_key("spec"), "spec");
    }
}

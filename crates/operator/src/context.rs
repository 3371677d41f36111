//! What a reconcile publishes and stamps: Event notes, the status timestamp, bounded texts.

use ferrule_crds::Timestamp;

/// An Event to publish about a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Warning (true) or Normal.
    pub warning: bool,
    /// CamelCase reason.
    pub reason: String,
    /// Human-readable text.
    pub message: String,
    /// What the controller did.
    pub action: &'static str,
}

/// The current time, as status timestamps carry it.
pub fn now() -> Timestamp {
    Timestamp::new(chrono::Utc::now())
}

/// Cuts `text` to at most `max` bytes on a character boundary.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("abc", 10), "abc");
        assert_eq!(truncate("ééééé", 7), "éé...");
        assert_eq!(truncate("ééééé", 6), "é...");
    }
}

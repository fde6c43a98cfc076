//! The id of one request for a run (a webhook delivery, a message of Raito's trigger channel,
//! a schedule): part of its trigger's key, and what a replayed delivery is recognised by.

use std::fmt;

/// The longest delivery id.
const MAX_DELIVERY_ID: usize = 128;

/// A delivery id: 1 to 128 characters of `[A-Za-z0-9._-]`, so it is safe in an S3 key and in
/// a log line as is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeliveryId(String);

impl DeliveryId {
    /// `text` as a delivery id, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        let valid = (1..=MAX_DELIVERY_ID).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        valid.then(|| Self(text.to_owned()))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_ids_are_limited_to_a_safe_alphabet() {
        assert!(DeliveryId::parse("d-1.a_B").is_some());
        assert!(DeliveryId::parse(&"x".repeat(128)).is_some());
        assert!(DeliveryId::parse(&"x".repeat(129)).is_none());
        assert!(DeliveryId::parse("").is_none());
        assert!(DeliveryId::parse("a/b").is_none());
        assert!(DeliveryId::parse("é").is_none());
    }
}

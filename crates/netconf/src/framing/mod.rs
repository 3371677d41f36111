//! NETCONF message framing (RFC 6242 section 4).
//!
//! A NETCONF session starts in base:1.0 *end-of-message* framing: each message is followed by
//! `]]>]]>`. Once both hellos advertise `urn:ietf:params:netconf:base:1.1`, both directions
//! switch to *chunked* framing: a message is one or more chunks `\n#<len>\n<len bytes>`
//! followed by `\n##\n`.
//!
//! [`FrameDecoder`] is the pure, incremental core: it is fed whatever byte splits the transport
//! delivers and yields whole messages. It never allocates more than the configured maximum
//! message size, rejects malformed chunk headers with a typed [`FramingError`] and refuses
//! every later input once it has failed, because a framing error leaves the stream position
//! unknown. [`encode`] writes one message in either framing. [`NetconfCodec`] wraps both as a
//! `tokio_util` codec for sessions that read from an `AsyncRead`.

mod codec;
mod decoder;
mod encoder;

pub use codec::NetconfCodec;
pub use decoder::FrameDecoder;
pub use encoder::{encode, encode_chunked};

/// The end-of-message marker of base:1.0 framing.
pub const END_OF_MESSAGE: &[u8] = b"]]>]]>";

/// The largest chunk size RFC 6242 allows (`4294967295`).
pub const MAX_CHUNK_SIZE: u64 = 4_294_967_295;

/// Default limit on the size of one received message: 32 MiB. A full `get-config` of a large
/// access device stays well below it.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 32 * 1024 * 1024;

/// Which framing a direction of the session uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// base:1.0: the message followed by `]]>]]>`. Used for the hellos.
    EndOfMessage,
    /// base:1.1: chunked framing.
    Chunked,
}

impl Framing {
    /// The framing to use after the hello exchange: chunked when both sides advertise
    /// base:1.1, end-of-message otherwise (RFC 6242 section 4.1).
    pub fn negotiate<'a>(
        local: impl IntoIterator<Item = &'a str>,
        remote: impl IntoIterator<Item = &'a str>,
    ) -> Framing {
        fn has_base_11<'a>(caps: impl IntoIterator<Item = &'a str>) -> bool {
            caps.into_iter().any(|c| c.trim() == crate::hello::BASE_1_1)
        }
        if has_base_11(local) && has_base_11(remote) {
            Framing::Chunked
        } else {
            Framing::EndOfMessage
        }
    }
}

/// Why a byte stream could not be split into NETCONF messages.
#[derive(Debug, thiserror::Error)]
pub enum FramingError {
    /// A message grew past the configured limit; the peer is misbehaving or the limit is too
    /// small for this device (raise the maximum message size).
    #[error("NETCONF message larger than the limit of {limit} bytes")]
    MessageTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// A chunk header was not `\n#<1..4294967295>\n` nor the end marker `\n##\n`.
    #[error("invalid NETCONF chunk header: {reason}")]
    BadChunkHeader {
        /// What was wrong with the header.
        reason: &'static str,
    },
    /// An end-of-chunks marker arrived before any chunk (RFC 6242 requires at least one).
    #[error("NETCONF chunked message without any chunk")]
    EmptyMessage,
    /// The stream ended in the middle of a message.
    #[error("NETCONF stream ended inside a message ({buffered} bytes pending)")]
    Truncated {
        /// Bytes received for the incomplete message.
        buffered: usize,
    },
    /// A message to send contains `]]>]]>`, which base:1.0 framing cannot carry.
    #[error("message contains the end-of-message marker and cannot be sent with base:1.0 framing")]
    MarkerInMessage,
    /// An empty message cannot be sent with chunked framing (a chunk has at least one byte).
    #[error("cannot send an empty message with chunked framing")]
    EmptyOutgoing,
    /// The decoder already failed; the session must be closed.
    #[error("NETCONF framing already failed earlier; close the session")]
    Failed,
    /// The transport failed.
    #[error("transport error: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hello::{BASE_1_0, BASE_1_1};

    #[test]
    fn chunked_only_when_both_sides_offer_base_11() {
        let both = [BASE_1_0, BASE_1_1];
        assert_eq!(Framing::negotiate(both, both), Framing::Chunked);
        assert_eq!(Framing::negotiate(both, [BASE_1_0]), Framing::EndOfMessage);
        assert_eq!(Framing::negotiate([BASE_1_0], both), Framing::EndOfMessage);
    }
}

//! NETCONF message framing over SSH (RFC 6242): the base:1.0 end-of-message marker and the
//! base:1.1 chunked framing, with a hard bound on the size of one message.
//!
//! The decoder is incremental: bytes are pushed as they arrive from the channel and whole
//! messages are taken out. It never panics on hostile input; anything outside the grammar
//! is a [`FramingError`], after which the session must be dropped (the byte stream can no
//! longer be trusted to be in step).

/// The base:1.0 end-of-message marker.
pub const EOM: &[u8] = b"]]>]]>";

/// Largest chunk size RFC 6242 allows (4294967295).
const MAX_CHUNK_SIZE: u64 = u32::MAX as u64;

/// The framing in force on a session: always end-of-message for the hello, then what the
/// capability exchange agreed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// base:1.0: each message ends with `]]>]]>`.
    EndOfMessage,
    /// base:1.1: each message is a sequence of `\n#<size>\n<data>` chunks ended by `\n##\n`.
    Chunked,
}

/// Why a byte stream could not be split into NETCONF messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// One message grew past the configured maximum; the peer is misbehaving or the limit is
    /// too small for this device (raise `max_reply_bytes`).
    #[error("NETCONF message exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A chunk header did not follow the `\n#<size>\n` grammar of RFC 6242.
    #[error("invalid chunk header in base:1.1 framing: {0}")]
    BadChunkHeader(String),
}

/// Encodes one message for sending with the given framing.
pub fn encode(framing: Framing, message: &[u8]) -> Vec<u8> {
    match framing {
        Framing::EndOfMessage => {
            let mut out = Vec::with_capacity(message.len() + EOM.len());
            out.extend_from_slice(message);
            out.extend_from_slice(EOM);
            out
        }
        Framing::Chunked => {
            let mut out = Vec::with_capacity(message.len() + 32);
            // An empty message cannot be sent as a chunk (chunk-size >= 1); NETCONF never
            // sends one, so it is framed as a lone end-of-chunks marker.
            if !message.is_empty() {
                out.extend_from_slice(format!("\n#{}\n", message.len()).as_bytes());
                out.extend_from_slice(message);
            }
            out.extend_from_slice(b"\n##\n");
            out
        }
    }
}

/// Incremental decoder of NETCONF messages.
#[derive(Debug)]
pub struct FrameDecoder {
    framing: Framing,
    max_message: usize,
    /// Bytes received and not yet consumed.
    buf: Vec<u8>,
    /// End-of-message mode: where the next search for the marker starts, so that a large
    /// message arriving in many pieces is scanned once, not once per piece.
    scan_from: usize,
    /// Chunked mode: the message assembled so far from complete chunks.
    assembled: Vec<u8>,
    /// Chunked mode: bytes still expected for the chunk being read.
    chunk_left: usize,
}

impl FrameDecoder {
    /// A decoder that refuses messages larger than `max_message` bytes.
    pub fn new(framing: Framing, max_message: usize) -> Self {
        Self {
            framing,
            max_message,
            buf: Vec::new(),
            scan_from: 0,
            assembled: Vec::new(),
            chunk_left: 0,
        }
    }

    /// The framing currently decoded.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Switches framing after the hello exchange. Bytes already buffered are decoded with the
    /// new framing (the peer switches right after its hello too).
    pub fn set_framing(&mut self, framing: Framing) {
        self.framing = framing;
        self.scan_from = 0;
        self.assembled.clear();
        self.chunk_left = 0;
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), FramingError> {
        self.buf.extend_from_slice(bytes);
        // The buffer can legitimately hold a little more than one message (the start of the
        // next one, framing overhead); anything far beyond the limit is refused right away.
        let slack = 64 * 1024;
        if self.buf.len() + self.assembled.len() > self.max_message.saturating_add(slack) {
            return Err(FramingError::TooLarge {
                limit: self.max_message,
            });
        }
        Ok(())
    }

    /// Takes the next complete message out of the buffer, if one is there.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        match self.framing {
            Framing::EndOfMessage => self.next_eom(),
            Framing::Chunked => self.next_chunked(),
        }
    }

    fn next_eom(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        let start = self.scan_from;
        let found = self
            .buf
            .get(start..)
            .and_then(|tail| tail.windows(EOM.len()).position(|w| w == EOM));
        match found {
            Some(offset) => {
                let end = start + offset;
                if end > self.max_message {
                    return Err(FramingError::TooLarge {
                        limit: self.max_message,
                    });
                }
                let message: Vec<u8> = self.buf.drain(..end + EOM.len()).take(end).collect();
                self.scan_from = 0;
                Ok(Some(message))
            }
            None => {
                // The marker may straddle the next push: rescan the last few bytes.
                self.scan_from = self.buf.len().saturating_sub(EOM.len() - 1);
                if self.buf.len() > self.max_message + EOM.len() {
                    return Err(FramingError::TooLarge {
                        limit: self.max_message,
                    });
                }
                Ok(None)
            }
        }
    }

    fn next_chunked(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        let mut pos = 0;
        let result = loop {
            if self.chunk_left > 0 {
                let available = self.buf.len() - pos;
                let take = available.min(self.chunk_left);
                if self.assembled.len() + take > self.max_message {
                    return Err(FramingError::TooLarge {
                        limit: self.max_message,
                    });
                }
                self.assembled
                    .extend_from_slice(self.buf.get(pos..pos + take).unwrap_or_default());
                pos += take;
                self.chunk_left -= take;
                if self.chunk_left > 0 {
                    break None;
                }
                continue;
            }
            match parse_chunk_header(self.buf.get(pos..).unwrap_or_default())? {
                ChunkHeader::Incomplete => break None,
                ChunkHeader::EndOfChunks { len } => {
                    pos += len;
                    break Some(std::mem::take(&mut self.assembled));
                }
                ChunkHeader::Chunk { len, size } => {
                    pos += len;
                    self.chunk_left = size;
                }
            }
        };
        self.buf.drain(..pos);
        Ok(result)
    }
}

/// A parsed chunk header at the start of a byte slice.
#[derive(Debug, PartialEq, Eq)]
enum ChunkHeader {
    /// More bytes are needed to decide.
    Incomplete,
    /// `\n##\n`: the message is complete; `len` header bytes.
    EndOfChunks { len: usize },
    /// `\n#<size>\n`: `size` data bytes follow the `len` header bytes.
    Chunk { len: usize, size: usize },
}

fn parse_chunk_header(bytes: &[u8]) -> Result<ChunkHeader, FramingError> {
    let bad = |what: &str| Err(FramingError::BadChunkHeader(what.to_string()));
    let Some(&first) = bytes.first() else {
        return Ok(ChunkHeader::Incomplete);
    };
    if first != b'\n' {
        return bad("expected a newline before '#'");
    }
    let Some(&hash) = bytes.get(1) else {
        return Ok(ChunkHeader::Incomplete);
    };
    if hash != b'#' {
        return bad("expected '#' after the newline");
    }
    let Some(&third) = bytes.get(2) else {
        return Ok(ChunkHeader::Incomplete);
    };
    if third == b'#' {
        return match bytes.get(3) {
            None => Ok(ChunkHeader::Incomplete),
            Some(b'\n') => Ok(ChunkHeader::EndOfChunks { len: 4 }),
            Some(_) => bad("expected a newline after '##'"),
        };
    }
    if !(b'1'..=b'9').contains(&third) {
        return bad("chunk size must start with a digit 1-9");
    }
    // Up to 10 digits (4294967295), then a newline.
    let mut size: u64 = 0;
    for (i, &b) in bytes.iter().enumerate().skip(2) {
        match b {
            b'0'..=b'9' => {
                if i - 2 >= 10 {
                    return bad("chunk size has more than 10 digits");
                }
                size = size * 10 + u64::from(b - b'0');
            }
            b'\n' => {
                if size > MAX_CHUNK_SIZE {
                    return bad("chunk size exceeds 4294967295");
                }
                let size = usize::try_from(size)
                    .map_err(|_| FramingError::BadChunkHeader("chunk size too large".into()))?;
                return Ok(ChunkHeader::Chunk { len: i + 1, size });
            }
            _ => return bad("chunk size must be decimal digits"),
        }
    }
    Ok(ChunkHeader::Incomplete)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(framing: Framing, input: &[u8], pieces: usize) -> Vec<Vec<u8>> {
        let mut d = FrameDecoder::new(framing, 1 << 20);
        let mut out = Vec::new();
        let step = (input.len() / pieces.max(1)).max(1);
        for piece in input.chunks(step) {
            d.push(piece).unwrap();
            while let Some(m) = d.next_message().unwrap() {
                out.push(m);
            }
        }
        out
    }

    #[test]
    fn eom_round_trip_in_one_and_many_pieces() {
        let mut wire = encode(Framing::EndOfMessage, b"<a/>");
        wire.extend(encode(Framing::EndOfMessage, b"<b>]]></b>"));
        for pieces in [1, 3, 7, wire.len()] {
            assert_eq!(
                decode_all(Framing::EndOfMessage, &wire, pieces),
                vec![b"<a/>".to_vec(), b"<b>]]></b>".to_vec()]
            );
        }
    }

    #[test]
    fn chunked_accepts_several_chunks_per_message() {
        let wire = b"\n#4\n<rpc\n#17\n message-id=\"1\"/>\n##\n\n#3\nabc\n##\n";
        for pieces in [1, 2, 5, wire.len()] {
            assert_eq!(
                decode_all(Framing::Chunked, wire, pieces),
                vec![b"<rpc message-id=\"1\"/>".to_vec(), b"abc".to_vec()]
            );
        }
    }

    #[test]
    fn chunked_rejects_bad_headers() {
        for wire in [
            &b"#4\nabcd\n##\n"[..],
            b"\n#0\n\n##\n",
            b"\n#04\nabcd\n##\n",
            b"\n#x\n",
            b"\n#12345678901\n",
            b"\n#4294967296\n",
            b"\n##x",
        ] {
            let mut d = FrameDecoder::new(Framing::Chunked, 1 << 20);
            d.push(wire).unwrap();
            assert!(
                matches!(d.next_message(), Err(FramingError::BadChunkHeader(_))),
                "{:?}",
                String::from_utf8_lossy(wire)
            );
        }
    }

    #[test]
    fn limits_apply_to_both_framings() {
        let mut d = FrameDecoder::new(Framing::EndOfMessage, 8);
        d.push(b"0123456789]]>]]>").unwrap();
        assert_eq!(d.next_message(), Err(FramingError::TooLarge { limit: 8 }));
        let mut d = FrameDecoder::new(Framing::Chunked, 8);
        d.push(b"\n#5\n01234\n#5\n56789\n##\n").unwrap();
        assert_eq!(d.next_message(), Err(FramingError::TooLarge { limit: 8 }));
        let mut d = FrameDecoder::new(Framing::EndOfMessage, 8);
        assert!(d.push(&vec![b'x'; 200_000]).is_err());
    }

    #[test]
    fn switching_framing_keeps_buffered_bytes() {
        let mut d = FrameDecoder::new(Framing::EndOfMessage, 1 << 20);
        d.push(b"<hello/>]]>]]>\n#2\nok\n##\n").unwrap();
        assert_eq!(d.next_message().unwrap(), Some(b"<hello/>".to_vec()));
        d.set_framing(Framing::Chunked);
        assert_eq!(d.next_message().unwrap(), Some(b"ok".to_vec()));
    }

    proptest! {
        #[test]
        fn chunked_round_trips_any_split(
            messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 1..5),
            pieces in 1usize..40,
        ) {
            let wire: Vec<u8> = messages.iter().flat_map(|m| encode(Framing::Chunked, m)).collect();
            prop_assert_eq!(decode_all(Framing::Chunked, &wire, pieces), messages);
        }

        #[test]
        fn eom_round_trips_any_split(
            messages in proptest::collection::vec("[a-z<>/ =\"\\]]{1,200}", 1..5),
            pieces in 1usize..40,
        ) {
            // base:1.0 cannot frame a message that contains the marker or ends with "]]>"
            // (the marker's period); XML text never holds "]]>" unescaped.
            let messages: Vec<Vec<u8>> = messages
                .into_iter()
                .map(|m| m.into_bytes())
                .filter(|m| !m.windows(EOM.len()).any(|w| w == EOM) && !m.ends_with(b"]]>"))
                .collect();
            let wire: Vec<u8> = messages.iter().flat_map(|m| encode(Framing::EndOfMessage, m)).collect();
            prop_assert_eq!(decode_all(Framing::EndOfMessage, &wire, pieces), messages);
        }

        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000), chunked in any::<bool>()) {
            let framing = if chunked { Framing::Chunked } else { Framing::EndOfMessage };
            let mut d = FrameDecoder::new(framing, 512);
            if d.push(&bytes).is_ok() {
                while let Ok(Some(_)) = d.next_message() {}
            }
        }
    }
}

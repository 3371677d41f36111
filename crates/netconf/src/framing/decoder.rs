//! The incremental NETCONF message decoder (pure: bytes in, messages out).

use bytes::{Buf, Bytes, BytesMut};

use super::{END_OF_MESSAGE, Framing, FramingError, MAX_CHUNK_SIZE};

/// Longest possible chunk header: `\n#` + 10 digits + `\n`.
const MAX_HEADER_LEN: usize = 13;

/// Splits a byte stream into NETCONF messages.
///
/// Feed it the stream's receive buffer through [`FrameDecoder::decode`] after every read; it
/// removes what it consumed and returns each complete message once. A decoder belongs to one
/// stream: it remembers how far it searched the buffer and the chunks it already collected.
#[derive(Debug)]
pub struct FrameDecoder {
    framing: Framing,
    max_message_size: usize,
    state: State,
    /// Chunked framing: payload of the current message collected so far.
    message: Vec<u8>,
    /// End-of-message framing: length of the buffer already searched for the marker.
    scanned: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for a chunk header (chunked) or for the marker (end-of-message).
    Header,
    /// Inside a chunk with this many payload bytes still to come.
    InChunk { remaining: u64 },
    /// A framing error happened; the stream position is unknown.
    Failed,
}

/// A parsed chunk header.
#[derive(Debug, PartialEq, Eq)]
enum Header {
    /// `\n#<size>\n`
    Chunk(u64),
    /// `\n##\n`
    End,
}

// === impl FrameDecoder ===

impl FrameDecoder {
    /// A decoder in base:1.0 framing (the hello exchange) that rejects messages larger than
    /// `max_message_size` bytes.
    pub fn new(max_message_size: usize) -> Self {
        Self {
            framing: Framing::EndOfMessage,
            max_message_size,
            state: State::Header,
            message: Vec::new(),
            scanned: 0,
        }
    }

    /// The framing currently expected.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// The configured message size limit.
    pub fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// Switches framing. Call it between messages, right after the hello exchange decided on
    /// base:1.1; bytes already buffered after the hello are then read as chunks.
    pub fn set_framing(&mut self, framing: Framing) {
        self.framing = framing;
        self.scanned = 0;
        if self.state != State::Failed {
            self.state = State::Header;
            self.message.clear();
        }
    }

    /// Payload bytes of an incomplete message held by the decoder itself (chunked framing;
    /// end-of-message framing keeps them in the caller's buffer).
    pub fn buffered(&self) -> usize {
        self.message.len()
    }

    /// Whether the decoder is between messages with nothing pending in `src`.
    pub fn is_idle(&self, src: &[u8]) -> bool {
        self.state == State::Header && self.message.is_empty() && src.is_empty()
    }

    /// Takes the next complete message out of `src`, or `None` when more bytes are needed.
    ///
    /// After an error every later call fails with [`FramingError::Failed`].
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        if self.state == State::Failed {
            return Err(FramingError::Failed);
        }
        let result = match self.framing {
            Framing::EndOfMessage => self.decode_end_of_message(src),
            Framing::Chunked => self.decode_chunked(src),
        };
        if result.is_err() {
            self.state = State::Failed;
            self.message = Vec::new();
        }
        result
    }

    /// Like [`FrameDecoder::decode`], for the end of the stream: an incomplete message is a
    /// [`FramingError::Truncated`] error.
    pub fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        if let Some(message) = self.decode(src)? {
            return Ok(Some(message));
        }
        // Some servers end the stream with a line feed after their last message.
        if self.state == State::Header
            && self.message.is_empty()
            && src.iter().all(u8::is_ascii_whitespace)
        {
            src.clear();
            Ok(None)
        } else {
            let buffered = self.message.len() + src.len();
            self.state = State::Failed;
            Err(FramingError::Truncated { buffered })
        }
    }

    fn decode_end_of_message(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        let marker = END_OF_MESSAGE.len();
        // The marker may straddle the previous search end, so look back marker-1 bytes.
        let start = self.scanned.min(src.len()).saturating_sub(marker - 1);
        let found = src[start..]
            .windows(marker)
            .position(|w| w == END_OF_MESSAGE)
            .map(|pos| start + pos);
        match found {
            Some(end) if end > self.max_message_size => Err(self.too_large()),
            Some(end) => {
                let message = src.split_to(end).freeze();
                src.advance(marker);
                self.scanned = 0;
                Ok(Some(message))
            }
            // Without a marker, the message is everything except a tail that may be the
            // start of the marker.
            None if src.len() - partial_marker(src) > self.max_message_size => {
                Err(self.too_large())
            }
            None => {
                self.scanned = src.len();
                Ok(None)
            }
        }
    }

    fn decode_chunked(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        loop {
            match self.state {
                State::Header => match parse_header(src)? {
                    None => return Ok(None),
                    Some((consumed, Header::Chunk(size))) => {
                        let total = (self.message.len() as u64).saturating_add(size);
                        if total > self.max_message_size as u64 {
                            return Err(self.too_large());
                        }
                        src.advance(consumed);
                        self.state = State::InChunk { remaining: size };
                    }
                    Some((consumed, Header::End)) => {
                        if self.message.is_empty() {
                            return Err(FramingError::EmptyMessage);
                        }
                        src.advance(consumed);
                        let message = std::mem::take(&mut self.message);
                        return Ok(Some(Bytes::from(message)));
                    }
                },
                State::InChunk { remaining } => {
                    if src.is_empty() {
                        return Ok(None);
                    }
                    // `remaining` fits in usize here: it is bounded by the message limit.
                    let take = usize::try_from(remaining).map_or(src.len(), |r| r.min(src.len()));
                    self.message.extend_from_slice(&src[..take]);
                    src.advance(take);
                    let left = remaining - take as u64;
                    self.state = if left == 0 {
                        State::Header
                    } else {
                        State::InChunk { remaining: left }
                    };
                }
                State::Failed => return Err(FramingError::Failed),
            }
        }
    }

    fn too_large(&self) -> FramingError {
        FramingError::MessageTooLarge {
            limit: self.max_message_size,
        }
    }
}

/// Length of the longest tail of `src` that is a proper prefix of the end-of-message marker.
fn partial_marker(src: &[u8]) -> usize {
    (1..END_OF_MESSAGE.len())
        .rev()
        .find(|&n| src.ends_with(&END_OF_MESSAGE[..n]))
        .unwrap_or(0)
}

/// Parses a chunk header at the start of `src`: `Ok(None)` when more bytes are needed,
/// otherwise the header and its length in bytes.
fn parse_header(src: &[u8]) -> Result<Option<(usize, Header)>, FramingError> {
    let bad = |reason| Err(FramingError::BadChunkHeader { reason });
    let Some(&first) = src.first() else {
        return Ok(None);
    };
    if first != b'\n' {
        return bad("expected a line feed before '#'");
    }
    match src.get(1) {
        None => return Ok(None),
        Some(b'#') => {}
        Some(_) => return bad("expected '#' after the line feed"),
    }
    match src.get(2) {
        None => return Ok(None),
        Some(b'#') => {
            return match src.get(3) {
                None => Ok(None),
                Some(b'\n') => Ok(Some((4, Header::End))),
                Some(_) => bad("end-of-chunks marker '##' not followed by a line feed"),
            };
        }
        Some(b'0') => return bad("chunk size starts with 0"),
        Some(_) => {}
    }
    let mut size: u64 = 0;
    for (i, &byte) in src.iter().enumerate().skip(2) {
        if byte == b'\n' {
            if i == 2 {
                return bad("empty chunk size");
            }
            return Ok(Some((i + 1, Header::Chunk(size))));
        }
        if !byte.is_ascii_digit() {
            return bad("chunk size is not a decimal number");
        }
        if i + 1 >= MAX_HEADER_LEN {
            return bad("chunk size has more than 10 digits");
        }
        size = size * 10 + u64::from(byte - b'0');
        if size > MAX_CHUNK_SIZE {
            return bad("chunk size above 4294967295");
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(decoder: &mut FrameDecoder, input: &[u8]) -> Result<Vec<Bytes>, FramingError> {
        let mut src = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(message) = decoder.decode(&mut src)? {
            out.push(message);
        }
        Ok(out)
    }

    fn chunked() -> FrameDecoder {
        let mut decoder = FrameDecoder::new(1024);
        decoder.set_framing(Framing::Chunked);
        decoder
    }

    #[test]
    fn rfc6242_chunked_example_decodes() {
        // RFC 6242 section 4.2: one message in two chunks.
        let input = b"\n#4\n<rpc\n#18\n message-id=\"102\"\n\n#79\n     xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\">\n  <close-session/>\n</rpc>\n##\n";
        let messages = decode_all(&mut chunked(), input).unwrap();
        assert_eq!(messages.len(), 1);
        assert!(messages[0].starts_with(b"<rpc message-id=\"102\"\n"));
        assert!(messages[0].ends_with(b"</rpc>"));
    }

    #[test]
    fn end_of_message_then_switch_to_chunked_in_one_buffer() {
        let mut decoder = FrameDecoder::new(1024);
        let mut src = BytesMut::from(&b"<hello/>]]>]]>\n#5\n<ok/>\n##\n"[..]);
        assert_eq!(decoder.decode(&mut src).unwrap().unwrap(), &b"<hello/>"[..]);
        decoder.set_framing(Framing::Chunked);
        assert_eq!(decoder.decode(&mut src).unwrap().unwrap(), &b"<ok/>"[..]);
        assert!(decoder.is_idle(&src));
    }

    #[test]
    fn real_netconfd_chunked_stream_decodes() {
        let stream = include_bytes!("../testdata/netconfd-chunked-stream.bin");
        let messages = decode_all(&mut chunked(), stream).unwrap();
        assert_eq!(messages.len(), 2);
        assert!(messages[0].ends_with(b"</rpc-reply>"));
        assert!(std::str::from_utf8(&messages[1]).unwrap().contains("<ok/>"));
    }

    #[test]
    fn marker_split_across_reads_is_found() {
        let mut decoder = FrameDecoder::new(1024);
        let mut src = BytesMut::from(&b"<a/>]]>]"[..]);
        assert!(decoder.decode(&mut src).unwrap().is_none());
        src.extend_from_slice(b"]>");
        assert_eq!(decoder.decode(&mut src).unwrap().unwrap(), &b"<a/>"[..]);
    }

    #[test]
    fn bad_headers_are_typed_errors() {
        for (input, reason) in [
            (&b"#4\n"[..], "expected a line feed before '#'"),
            (b"\nx", "expected '#' after the line feed"),
            (b"\n#0\n", "chunk size starts with 0"),
            (b"\n#\n", "empty chunk size"),
            (b"\n#12a\n", "chunk size is not a decimal number"),
            (b"\n#4294967296\n", "chunk size above 4294967295"),
            (b"\n#12345678901\n", "chunk size has more than 10 digits"),
            (
                b"\n##x",
                "end-of-chunks marker '##' not followed by a line feed",
            ),
        ] {
            match decode_all(&mut chunked(), input) {
                Err(FramingError::BadChunkHeader { reason: got }) => assert_eq!(got, reason),
                other => panic!("{input:?}: expected {reason}, got {other:?}"),
            }
        }
    }

    #[test]
    fn largest_chunk_size_is_accepted_as_header() {
        let mut decoder = FrameDecoder::new(usize::MAX);
        decoder.set_framing(Framing::Chunked);
        let mut src = BytesMut::from(&b"\n#4294967295\nabc"[..]);
        assert!(decoder.decode(&mut src).unwrap().is_none());
        assert_eq!(decoder.buffered(), 3);
    }

    #[test]
    fn end_marker_without_chunks_is_an_error() {
        assert!(matches!(
            decode_all(&mut chunked(), b"\n##\n"),
            Err(FramingError::EmptyMessage)
        ));
    }

    #[test]
    fn limits_are_enforced_before_buffering() {
        let mut decoder = FrameDecoder::new(8);
        decoder.set_framing(Framing::Chunked);
        // The header alone announces too much: rejected without reading the payload.
        assert!(matches!(
            decode_all(&mut decoder, b"\n#9\n"),
            Err(FramingError::MessageTooLarge { limit: 8 })
        ));
        let mut decoder = FrameDecoder::new(8);
        decoder.set_framing(Framing::Chunked);
        assert!(matches!(
            decode_all(&mut decoder, b"\n#5\n12345\n#4\n"),
            Err(FramingError::MessageTooLarge { .. })
        ));
        let mut decoder = FrameDecoder::new(8);
        assert!(matches!(
            decode_all(&mut decoder, b"123456789ab"),
            Err(FramingError::MessageTooLarge { .. })
        ));
        let mut decoder = FrameDecoder::new(8);
        assert!(
            decode_all(&mut decoder, b"12345678]]>]]")
                .unwrap()
                .is_empty()
        );
        let mut decoder = FrameDecoder::new(8);
        assert_eq!(
            decode_all(&mut decoder, b"12345678]]>]]>").unwrap().len(),
            1
        );
    }

    #[test]
    fn decoder_stays_failed() {
        let mut decoder = chunked();
        assert!(decode_all(&mut decoder, b"x").is_err());
        assert!(matches!(
            decode_all(&mut decoder, b"\n#1\na\n##\n"),
            Err(FramingError::Failed)
        ));
    }

    #[test]
    fn eof_inside_a_message_is_truncated() {
        let mut decoder = chunked();
        let mut src = BytesMut::from(&b"\n#5\nabc"[..]);
        assert!(matches!(
            decoder.decode_eof(&mut src),
            Err(FramingError::Truncated { buffered: 3 })
        ));
        let mut decoder = FrameDecoder::new(100);
        let mut src = BytesMut::from(&b"<a/>]]>]]>\n"[..]);
        assert!(decoder.decode_eof(&mut src).unwrap().is_some());
        assert!(decoder.decode_eof(&mut src).unwrap().is_none());
        let mut src = BytesMut::from(&b"<b"[..]);
        assert!(matches!(
            decoder.decode_eof(&mut src),
            Err(FramingError::Truncated { buffered: 2 })
        ));
    }
}

//! Writing NETCONF messages in either framing.

use bytes::{BufMut, BytesMut};

use super::{END_OF_MESSAGE, Framing, FramingError};

/// Appends one framed message to `dst`.
///
/// Chunked framing writes the whole message as one chunk (split only past the 4 GiB chunk
/// limit). End-of-message framing refuses a message that contains `]]>]]>`, which would end it
/// early on the receiving side.
pub fn encode(framing: Framing, message: &[u8], dst: &mut BytesMut) -> Result<(), FramingError> {
    match framing {
        Framing::EndOfMessage => {
            if message
                .windows(END_OF_MESSAGE.len())
                .any(|w| w == END_OF_MESSAGE)
            {
                return Err(FramingError::MarkerInMessage);
            }
            dst.reserve(message.len() + END_OF_MESSAGE.len());
            dst.put_slice(message);
            dst.put_slice(END_OF_MESSAGE);
            Ok(())
        }
        Framing::Chunked => encode_chunked(message, u32::MAX, dst),
    }
}

/// Appends one message in chunked framing, cut into chunks of at most `chunk_size` bytes
/// (a `chunk_size` of 0 is treated as 1). Useful to exercise peers with many small chunks.
pub fn encode_chunked(
    message: &[u8],
    chunk_size: u32,
    dst: &mut BytesMut,
) -> Result<(), FramingError> {
    if message.is_empty() {
        return Err(FramingError::EmptyOutgoing);
    }
    let chunk_size = usize::try_from(chunk_size.max(1)).unwrap_or(usize::MAX);
    for chunk in message.chunks(chunk_size) {
        dst.put_slice(format!("\n#{}\n", chunk.len()).as_bytes());
        dst.put_slice(chunk);
    }
    dst.put_slice(b"\n##\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::FrameDecoder;

    #[test]
    fn chunked_encoding_matches_rfc_shape() {
        let mut dst = BytesMut::new();
        encode(Framing::Chunked, b"<ok/>", &mut dst).unwrap();
        assert_eq!(&dst[..], b"\n#5\n<ok/>\n##\n");
        let mut dst = BytesMut::new();
        encode_chunked(b"abcde", 2, &mut dst).unwrap();
        assert_eq!(&dst[..], b"\n#2\nab\n#2\ncd\n#1\ne\n##\n");
    }

    #[test]
    fn end_of_message_encoding_rejects_the_marker() {
        let mut dst = BytesMut::new();
        encode(Framing::EndOfMessage, b"<a/>", &mut dst).unwrap();
        assert_eq!(&dst[..], b"<a/>]]>]]>");
        assert!(matches!(
            encode(Framing::EndOfMessage, b"<a b=\"]]>]]>\"/>", &mut dst),
            Err(FramingError::MarkerInMessage)
        ));
        assert!(matches!(
            encode(Framing::Chunked, b"", &mut dst),
            Err(FramingError::EmptyOutgoing)
        ));
    }

    #[test]
    fn chunked_message_may_carry_the_marker() {
        let mut dst = BytesMut::new();
        encode(Framing::Chunked, b"]]>]]>", &mut dst).unwrap();
        let mut decoder = FrameDecoder::new(64);
        decoder.set_framing(Framing::Chunked);
        assert_eq!(decoder.decode(&mut dst).unwrap().unwrap(), &b"]]>]]>"[..]);
    }
}

//! `tokio_util` codec over the pure decoder and encoder.

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::{FrameDecoder, Framing, FramingError, encode};

/// A NETCONF codec for `tokio_util::codec::Framed`: decodes whole messages as [`Bytes`] and
/// encodes anything that is a byte slice.
///
/// It starts in base:1.0 framing for the hellos; call [`NetconfCodec::set_framing`] (through
/// `Framed::codec_mut`) once the hello exchange is done.
#[derive(Debug)]
pub struct NetconfCodec {
    decoder: FrameDecoder,
    send: Framing,
}

// === impl NetconfCodec ===

impl NetconfCodec {
    /// A codec in base:1.0 framing accepting messages up to `max_message_size` bytes.
    pub fn new(max_message_size: usize) -> Self {
        Self {
            decoder: FrameDecoder::new(max_message_size),
            send: Framing::EndOfMessage,
        }
    }

    /// Switches both directions to `framing`.
    pub fn set_framing(&mut self, framing: Framing) {
        self.decoder.set_framing(framing);
        self.send = framing;
    }

    /// The framing in use for sending (always the same as for receiving).
    pub fn framing(&self) -> Framing {
        self.send
    }
}

impl Decoder for NetconfCodec {
    type Item = Bytes;
    type Error = FramingError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        self.decoder.decode(src)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        self.decoder.decode_eof(src)
    }
}

impl<T: AsRef<[u8]>> Encoder<T> for NetconfCodec {
    type Error = FramingError;

    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), FramingError> {
        encode(self.send, item.as_ref(), dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::{SinkExt, StreamExt};
    use tokio_util::codec::Framed;

    #[tokio::test]
    async fn framed_duplex_exchanges_hello_then_chunked_messages() {
        let (client, server) = tokio::io::duplex(1 << 16);
        let mut client = Framed::new(client, NetconfCodec::new(4096));
        let mut server = Framed::new(server, NetconfCodec::new(4096));

        client.send("<hello/>").await.unwrap();
        assert_eq!(server.next().await.unwrap().unwrap(), &b"<hello/>"[..]);
        client.codec_mut().set_framing(Framing::Chunked);
        server.codec_mut().set_framing(Framing::Chunked);

        let big = "x".repeat(1000);
        client.send(big.as_str()).await.unwrap();
        server.send("<rpc-reply/>").await.unwrap();
        assert_eq!(server.next().await.unwrap().unwrap(), big.as_bytes());
        assert_eq!(client.next().await.unwrap().unwrap(), &b"<rpc-reply/>"[..]);

        drop(client);
        assert!(server.next().await.is_none());
    }

    #[tokio::test]
    async fn stream_ending_mid_message_reports_truncation() {
        let (mut raw, server) = tokio::io::duplex(64);
        let mut server = Framed::new(server, NetconfCodec::new(4096));
        tokio::io::AsyncWriteExt::write_all(&mut raw, b"<hello")
            .await
            .unwrap();
        drop(raw);
        assert!(matches!(
            server.next().await,
            Some(Err(FramingError::Truncated { buffered: 6 }))
        ));
    }
}

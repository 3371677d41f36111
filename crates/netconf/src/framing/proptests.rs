//! Property tests: arbitrary messages survive arbitrary read splits, and arbitrary bytes
//! never panic the decoder nor make it hold more than the limit.

use bytes::BytesMut;
use proptest::prelude::*;

use super::{END_OF_MESSAGE, FrameDecoder, Framing, encode, encode_chunked};

/// Cuts `stream` at the given points and feeds the pieces one by one, collecting messages.
fn feed_split(
    decoder: &mut FrameDecoder,
    stream: &[u8],
    cuts: &[usize],
) -> Result<Vec<Vec<u8>>, super::FramingError> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.push(stream.len());
    points.sort_unstable();
    let mut src = BytesMut::new();
    let mut out = Vec::new();
    let mut at = 0;
    for point in points {
        src.extend_from_slice(&stream[at..point]);
        at = point;
        while let Some(message) = decoder.decode(&mut src)? {
            out.push(message.to_vec());
        }
        // Bounded state: end-of-message keeps at most the limit plus a partial marker in
        // `src`; chunked keeps at most one partial header there and the message inside.
        match decoder.framing() {
            Framing::EndOfMessage => {
                assert!(src.len() < decoder.max_message_size() + END_OF_MESSAGE.len());
            }
            Framing::Chunked => {
                assert!(src.len() < 13);
                assert!(decoder.buffered() <= decoder.max_message_size());
            }
        }
    }
    Ok(out)
}

fn message_without_marker() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 1..200).prop_filter("no marker", |m| {
        !m.windows(END_OF_MESSAGE.len()).any(|w| w == END_OF_MESSAGE)
    })
}

proptest! {
    #[test]
    fn chunked_roundtrip_any_split(
        messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 1..6),
        chunk in 1u32..64,
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
    ) {
        let mut stream = BytesMut::new();
        for m in &messages {
            encode_chunked(m, chunk, &mut stream).unwrap();
        }
        let mut decoder = FrameDecoder::new(300);
        decoder.set_framing(Framing::Chunked);
        let out = feed_split(&mut decoder, &stream, &cuts).unwrap();
        prop_assert_eq!(out, messages);
    }

    #[test]
    fn end_of_message_roundtrip_any_split(
        messages in proptest::collection::vec(message_without_marker(), 1..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
    ) {
        let mut stream = BytesMut::new();
        for m in &messages {
            encode(Framing::EndOfMessage, m, &mut stream).unwrap();
        }
        let mut decoder = FrameDecoder::new(200);
        let out = feed_split(&mut decoder, &stream, &cuts).unwrap();
        prop_assert_eq!(out, messages);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_respect_the_limit(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
        chunked in any::<bool>(),
        limit in 1usize..128,
    ) {
        let mut decoder = FrameDecoder::new(limit);
        if chunked {
            decoder.set_framing(Framing::Chunked);
        }
        if let Ok(messages) = feed_split(&mut decoder, &bytes, &cuts) {
            for m in messages {
                prop_assert!(m.len() <= limit);
            }
        }
    }

    #[test]
    fn chunk_headers_with_noise_never_panic(
        parts in proptest::collection::vec(
            prop_oneof![
                Just(b"\n#".to_vec()),
                Just(b"\n##\n".to_vec()),
                Just(b"\n".to_vec()),
                "[0-9]{1,12}".prop_map(|s| s.into_bytes()),
                proptest::collection::vec(any::<u8>(), 0..8),
            ],
            0..30,
        ),
        cuts in proptest::collection::vec(any::<usize>(), 0..10),
    ) {
        let stream: Vec<u8> = parts.concat();
        let mut decoder = FrameDecoder::new(64);
        decoder.set_framing(Framing::Chunked);
        if let Ok(messages) = feed_split(&mut decoder, &stream, &cuts) {
            for m in messages {
                prop_assert!(!m.is_empty() && m.len() <= 64);
            }
        }
    }
}

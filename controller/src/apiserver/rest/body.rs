//! Reading a request body within the size limit.
//!
//! A body over the limit is answered `413 RequestEntityTooLarge`. Answering while the client
//! is still sending makes HTTP/2 reset the stream and HTTP/1 close a connection with unread
//! bytes, and clients (curl among them) then report a broken stream instead of the answer.
//! So the rest of a too-large body is read and discarded first, up to [`DRAIN_LIMIT`] in all;
//! only a body larger than that (announced or sent) is answered without reading it.

use axum::body::{Body, Bytes};
use bytes::BytesMut;
use futures::StreamExt;

use crate::apiserver::status::ApiError;

/// Most bytes of a too-large body read (and discarded) before answering 413.
pub const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// Reads `body` whole if it is at most `limit` bytes; `declared` is its `Content-Length`.
pub async fn read_limited(
    body: Body,
    limit: usize,
    declared: Option<u64>,
) -> Result<Bytes, ApiError> {
    if declared.is_some_and(|n| n > DRAIN_LIMIT as u64) {
        return Err(ApiError::too_large(limit));
    }
    let mut stream = body.into_data_stream();
    let mut kept = BytesMut::new();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
        total = total.saturating_add(chunk.len());
        if total > DRAIN_LIMIT {
            return Err(ApiError::too_large(limit));
        }
        if total <= limit {
            kept.extend_from_slice(&chunk);
        }
    }
    if total > limit {
        return Err(ApiError::too_large(limit));
    }
    Ok(kept.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked(parts: usize, size: usize) -> Body {
        let chunks =
            (0..parts).map(move |_| Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; size])));
        Body::from_stream(futures::stream::iter(chunks))
    }

    #[tokio::test]
    async fn bodies_up_to_the_limit_are_read_whole() {
        let body = read_limited(chunked(4, 10), 40, None).await.unwrap();
        assert_eq!(body.len(), 40);
    }

    #[tokio::test]
    async fn larger_bodies_are_413_announced_or_not() {
        let e = read_limited(chunked(5, 10), 40, None).await.unwrap_err();
        assert_eq!(e.to_status()["code"], 413);
        assert_eq!(e.to_status()["reason"], "RequestEntityTooLarge");
        let e = read_limited(chunked(1, 1), 40, Some(DRAIN_LIMIT as u64 + 1))
            .await
            .unwrap_err();
        assert_eq!(e.to_status()["code"], 413);
    }
}

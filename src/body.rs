//! The body of every response: whole, from one buffer (JSON and CSV are built by PostgreSQL and
//! shared from the connection's read buffer, never copied), or streamed piece by piece as the
//! database sends it (the export functions, `rowgate.stream`), so a large document never sits
//! whole in the gateway's memory.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Frame, SizeHint};
use tokio::sync::mpsc;

/// A streamed body's pieces; an `Err` ends the response abruptly (the client sees a truncated
/// transfer, never a document that looks complete).
pub type Piece = Result<Bytes, StreamError>;

/// Why a streamed body stopped before its end.
#[derive(Debug, thiserror::Error)]
#[error("the response stream failed: {0}")]
pub struct StreamError(pub String);

pub struct Body(Kind);

enum Kind {
    Full(Full<Bytes>),
    Stream { first: Option<Bytes>, rest: mpsc::Receiver<Piece> },
}

pub fn full(b: impl Into<Bytes>) -> Body {
    Body(Kind::Full(Full::new(b.into())))
}

/// A body that sends `first`, then every piece `rest` yields until it closes.
pub fn streamed(first: Bytes, rest: mpsc::Receiver<Piece>) -> Body {
    Body(Kind::Stream { first: Some(first), rest })
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Kind::Full(b) => f.debug_tuple("Body::Full").field(b).finish(),
            Kind::Stream { .. } => f.write_str("Body::Stream"),
        }
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = StreamError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, StreamError>>> {
        match &mut self.0 {
            Kind::Full(b) => Pin::new(b).poll_frame(cx).map(|f| f.map(|r| r.map_err(|never| match never {}))),
            Kind::Stream { first, rest } => {
                if let Some(b) = first.take() {
                    return Poll::Ready(Some(Ok(Frame::data(b))));
                }
                rest.poll_recv(cx).map(|piece| piece.map(|p| p.map(Frame::data)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Kind::Full(b) => b.is_end_stream(),
            Kind::Stream { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Kind::Full(b) => b.size_hint(),
            Kind::Stream { .. } => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_full_body_has_its_exact_size() {
        let b = full("hello");
        assert_eq!(hyper::body::Body::size_hint(&b).exact(), Some(5));
        assert_eq!(b.collect().await.unwrap().to_bytes(), "hello");
    }

    #[tokio::test]
    async fn a_streamed_body_sends_its_pieces_in_order_then_ends() {
        let (tx, rx) = mpsc::channel(2);
        let b = streamed(Bytes::from_static(b"{\"a\":"), rx);
        assert_eq!(hyper::body::Body::size_hint(&b).exact(), None);
        tokio::spawn(async move {
            tx.send(Ok(Bytes::from_static(b"[1,"))).await.unwrap();
            tx.send(Ok(Bytes::from_static(b"2]}"))).await.unwrap();
        });
        assert_eq!(b.collect().await.unwrap().to_bytes(), "{\"a\":[1,2]}");
    }

    #[tokio::test]
    async fn a_failed_stream_is_an_error_not_an_end() {
        let (tx, rx) = mpsc::channel(1);
        let b = streamed(Bytes::from_static(b"{"), rx);
        tx.send(Err(StreamError("the database went away".into()))).await.unwrap();
        let e = b.collect().await.unwrap_err();
        assert_eq!(e.to_string(), "the response stream failed: the database went away");
    }
}

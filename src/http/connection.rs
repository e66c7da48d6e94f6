//! Keeping connections across refusals. A request refused before its body is read (401, 403,
//! 413 from a handler, 429) left the body unread; hyper then gives up on the connection and
//! closes it without telling the client, which sees its next request on that connection fail.
//! Here the body is handed back once the handler is done with it, and what is left of it is read
//! and discarded before the answer leaves, up to `DRAIN_MAX` bytes within `DRAIN_WITHIN`. A body
//! too large for that gets `Connection: close` on the answer, so the client knows.
//!
//! It also answers an over-long URI (414) and an oversized head (431: too many header fields, or
//! too many bytes of them) itself, in the API's error shape with the request id. hyper's own
//! answers to these have neither; our bounds sit below hyper's parser limits (100 header fields,
//! about 408 KiB of head, 64 KiB of URI), so only a head beyond those still gets hyper's bare
//! answer, followed by a close.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;
use http_body::{Frame, SizeHint};
use serde_json::Value;
use tokio::sync::oneshot;

use super::error::error_body;

/// Most of an unread body read to keep its connection.
pub const DRAIN_MAX: u64 = 4 * 1024 * 1024;
/// Longest wait for the rest of an unread body.
pub const DRAIN_WITHIN: Duration = Duration::from_secs(5);
/// Longest URI (path and query) answered; longer ones get 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Most header fields in a request; more get 431.
pub const MAX_HEADER_FIELDS: usize = 80;
/// Most bytes of header names and values in a request; more get 431.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

pub async fn keep_alive(req: Request<Body>, next: Next) -> Response {
    let (back, mut returned) = oneshot::channel();
    let req = req.map(|body| {
        Body::new(Returning {
            inner: Some(body),
            back: Some(back),
        })
    });
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len())
        .sum();
    let mut resp = if uri_len > MAX_URI_BYTES {
        drop(req);
        let message = format!("the URI is longer than {MAX_URI_BYTES} bytes");
        error_body(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            &message,
            Value::Null,
        )
    } else if req.headers().len() > MAX_HEADER_FIELDS || header_bytes > MAX_HEADER_BYTES {
        drop(req);
        let message = format!(
            "the request's headers exceed {MAX_HEADER_FIELDS} fields or {MAX_HEADER_BYTES} bytes"
        );
        error_body(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            &message,
            serde_json::json!({ "max_fields": MAX_HEADER_FIELDS, "max_bytes": MAX_HEADER_BYTES }),
        )
    } else {
        next.run(req).await
    };
    // Empty: something still holds the body (it reads on); closed: it was read to its end.
    let Ok(rest) = returned.try_recv() else {
        return resp;
    };
    if !drain(rest).await {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

/// Reads and discards `body`; `false` when it is over `DRAIN_MAX`, slower than `DRAIN_WITHIN`
/// or broken, and the connection should close.
async fn drain(body: Body) -> bool {
    if http_body::Body::size_hint(&body).lower() > DRAIN_MAX {
        return false;
    }
    let mut stream = body.into_data_stream();
    let read = async {
        let mut total = 0u64;
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(c) => total += c.len() as u64,
                Err(_) => return false,
            }
            if total > DRAIN_MAX {
                return false;
            }
        }
        true
    };
    tokio::time::timeout(DRAIN_WITHIN, read)
        .await
        .unwrap_or(false)
}

/// The request body as handlers see it; when dropped unfinished, it hands the rest back.
struct Returning {
    inner: Option<Body>,
    back: Option<oneshot::Sender<Body>>,
}

impl http_body::Body for Returning {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        match self.get_mut().inner.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), http_body::Body::size_hint)
    }
}

impl Drop for Returning {
    fn drop(&mut self) {
        if let (Some(body), Some(back)) = (self.inner.take(), self.back.take()) {
            if !http_body::Body::is_end_stream(&body) {
                let _ = back.send(body);
            }
        }
    }
}

//! Serving `GET /metrics`: hyper's HTTP/1.1 server on a single-threaded
//! tokio runtime, on a thread of its own.
//!
//! A scrape never waits on `/proc` or netlink: it clones the `Arc` of the
//! last refresh's exposition, already written in both formats, and picks
//! one by the `Accept` header. Limits that keep it answering when exposed:
//!
//! * only `GET` and `HEAD`, only on `/metrics` and `/` (404 elsewhere,
//!   405 with `Allow` for other methods, 413 for a request with a body);
//! * the request head (line and headers) at most [`MAX_HEAD`] bytes and
//!   [`MAX_HEADERS`] headers (hyper answers 431, or 400 for garbage);
//! * a head must arrive within [`HEAD_TIMEOUT`] (slowloris; hyper also
//!   closes a keep-alive connection idle that long), and a connection
//!   lives at most [`CONNECTION_LIFETIME`] (a client that never reads its
//!   response);
//! * at most [`MAX_CONNECTIONS`] connections at once; more are closed as
//!   they are accepted. Connections are tasks, not threads: a stalled one
//!   costs a socket and a few KiB, and never holds up another scrape.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ACCEPT, ALLOW, CACHE_CONTROL, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::header::{HeaderValue, TRANSFER_ENCODING};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{Semaphore, oneshot};

/// Longest request head (request line and headers) accepted.
pub(crate) const MAX_HEAD: usize = 8 * 1024;
/// Most headers in one request.
pub(crate) const MAX_HEADERS: usize = 32;
/// Time a client has to send a whole request head.
pub(crate) const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a connection stays open, whatever it does.
pub(crate) const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// Connections served at once.
pub(crate) const MAX_CONNECTIONS: usize = 256;

/// The OpenMetrics content type served.
pub(crate) const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The classic text format's content type.
pub(crate) const CLASSIC: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One refresh's exposition in both formats.
#[derive(Debug, Default)]
pub(crate) struct Rendered {
    pub openmetrics: Bytes,
    pub classic: Bytes,
}

/// What scrapes read: the last completed refresh (`None` before the first).
#[derive(Debug, Default)]
pub(crate) struct Published {
    current: Mutex<Option<Arc<Rendered>>>,
}

impl Published {
    /// Replaces what scrapes get.
    pub(crate) fn publish(&self, rendered: Rendered) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(rendered));
    }

    fn current(&self) -> Option<Arc<Rendered>> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The running server; [`Server::stop`] ends it.
pub(crate) struct Server {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Serves `published` on `listener` (already bound) until stopped.
    pub(crate) fn start(
        listener: std::net::TcpListener,
        published: Arc<Published>,
    ) -> io::Result<Server> {
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => serve(listener, published, stopped).await,
                        Err(e) => eprintln!("netmonitor: cannot serve: {e}"),
                    }
                });
            })?;
        Ok(Server {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops accepting, drops open connections and waits for the thread.
    pub(crate) fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: tokio::net::TcpListener,
    published: Arc<Published>,
    mut stopped: oneshot::Receiver<()>,
) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // Out of descriptors or memory, or an aborted handshake: keep
            // serving once it passes.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let published = Arc::clone(&published);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let response = respond(&request, &published);
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .max_buf_size(MAX_HEAD.max(8192))
                .max_headers(MAX_HEADERS)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_LIFETIME, connection).await;
            drop(permit);
        });
    }
}

/// The answer to one request.
fn respond(request: &Request<Incoming>, published: &Published) -> Response<Full<Bytes>> {
    let path = request.uri().path();
    if path != "/metrics" && path != "/" {
        return plain(
            StatusCode::NOT_FOUND,
            "not found: metrics are at /metrics\n",
        );
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let has_body = request.headers().contains_key(TRANSFER_ENCODING)
        || request
            .headers()
            .get(CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0");
    if has_body {
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "a GET has no body\n");
    }
    if path == "/" {
        let mut response = plain(
            StatusCode::OK,
            "netmonitor exporter: the metrics are at /metrics\n",
        );
        response.headers_mut().remove(CONNECTION);
        return response;
    }
    let Some(rendered) = published.current() else {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the first refresh has not completed yet\n",
        );
    };
    let accept = request
        .headers()
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let (body, content_type) = if wants_openmetrics(&accept) {
        (rendered.openmetrics.clone(), OPENMETRICS)
    } else {
        (rendered.classic.clone(), CLASSIC)
    };
    let mut response = Response::new(Full::new(body));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A short text answer; errors close the connection.
fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if !status.is_success() {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Content negotiation as Prometheus does it: OpenMetrics when the
/// `Accept` header ranks `application/openmetrics-text` (version 1.0.0,
/// 0.0.1 or none) above zero and at least as high as the text format;
/// the classic text format otherwise (no header, `*/*`, `text/plain`).
pub(crate) fn wants_openmetrics(accept: &str) -> bool {
    let mut openmetrics = 0.0_f64;
    let mut text = 0.0_f64;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut quality = 1.0_f64;
        let mut version: Option<String> = None;
        for parameter in parts {
            let Some((name, value)) = parameter.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"');
            match name.trim().to_ascii_lowercase().as_str() {
                "q" => quality = value.parse().unwrap_or(0.0),
                "version" => version = Some(value.to_string()),
                _ => {}
            }
        }
        if !quality.is_finite() {
            continue;
        }
        let quality = quality.clamp(0.0, 1.0);
        match media.as_str() {
            "application/openmetrics-text"
                if version
                    .as_deref()
                    .is_none_or(|v| v == "1.0.0" || v == "0.0.1") =>
            {
                openmetrics = openmetrics.max(quality);
            }
            "text/plain" if version.as_deref().is_none_or(|v| v == "0.0.4") => {
                text = text.max(quality);
            }
            "text/*" | "*/*" => text = text.max(quality),
            _ => {}
        }
    }
    openmetrics > 0.0 && openmetrics >= text
}

/// The address the server listens on, as a URL for people.
pub(crate) fn url(addr: SocketAddr) -> String {
    format!("http://{addr}/metrics")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_prometheus() {
        // What Prometheus 2.x sends.
        assert!(wants_openmetrics(
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        ));
        // Prometheus with the classic format preferred.
        assert!(!wants_openmetrics(
            "text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5"
        ));
        assert!(!wants_openmetrics(""));
        assert!(!wants_openmetrics("*/*"));
        assert!(!wants_openmetrics("text/plain"));
        assert!(wants_openmetrics("application/openmetrics-text"));
        assert!(wants_openmetrics(
            "Application/OpenMetrics-Text; Version=\"1.0.0\""
        ));
        assert!(!wants_openmetrics(
            "application/openmetrics-text;version=2.0.0"
        ));
        assert!(!wants_openmetrics("application/openmetrics-text;q=0"));
        assert!(!wants_openmetrics("application/openmetrics-text;q=NaN"));
        assert!(!wants_openmetrics(";;,=,q=,;q"));
    }
}

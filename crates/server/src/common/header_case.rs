//! Exact-case response header names (`ETag`, `Content-Length`, `x-cos-hash-crc64ecma`), for
//! clients that read headers case-sensitively: cos-python-sdk-v5 copies the response headers
//! into a plain `dict` and then asks for `rt['ETag']`, `['Content-Length']`,
//! `['x-cos-hash-crc64ecma']` (`/tmp/tcsdk/NOTES.md` §0.3).
//!
//! `http::HeaderName` is always lowercase, and hyper writes names as stored unless the response
//! carries hyper's private `HeaderCaseMap` extension, which its HTTP/1 server honours. That
//! type cannot be built from outside hyper, but a hyper *client* with
//! `preserve_header_case(true)` puts one on every response it parses. So [`HeaderCase::new`]
//! parses one synthetic response, spelled as wanted, from an in-memory pipe, once, and keeps
//! its extensions; [`HeaderCase::apply`] copies them onto each answer. Names not in the list
//! keep hyper's lowercase.
//!
//! This is the only place that knows the trick; hyper's client is used for nothing else.

use http::Extensions;
use http_body_util::Empty;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The harvested extensions carrying a `HeaderCaseMap` (clone per response; cheap).
#[derive(Clone, Debug, Default)]
pub struct HeaderCase {
    extensions: Extensions,
}

impl HeaderCase {
    /// Harvests the spellings of `names` (each name once; a repeated header's later values are
    /// written lowercase). Synchronous: it drives the in-memory exchange on a short-lived thread,
    /// so it can run while a state is built, inside or outside a runtime. On failure (it cannot
    /// fail short of a hyper bug) names stay lowercase and a warning is logged.
    pub fn new(names: &[&str]) -> HeaderCase {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        // A thread of its own: outside any tokio task, so no task's cooperative budget can
        // make the in-memory pipe report "pending" forever.
        let harvested = std::thread::spawn(move || futures::executor::block_on(harvest(&names)))
            .join()
            .map_err(|_| "the harvest thread panicked".to_string())
            .and_then(|r| r.map_err(|e| e.to_string()));
        match harvested {
            Ok(extensions) => HeaderCase { extensions },
            Err(e) => {
                tracing::warn!("header names will be lowercase: {e}");
                HeaderCase::default()
            }
        }
    }

    /// Makes hyper write this response's listed header names in their harvested spelling.
    pub fn apply<B>(&self, response: &mut http::Response<B>) {
        response.extensions_mut().extend(self.extensions.clone());
    }
}

/// Parses `HTTP/1.1 200 OK` with one `Name: 0` line per name (a value valid even for
/// `Content-Length`) through a hyper client that preserves header case, and returns the
/// response's extensions.
async fn harvest(names: &[String]) -> Result<Extensions, hyper::Error> {
    let mut raw = String::from("HTTP/1.1 200 OK\r\n");
    for name in names {
        raw.push_str(name);
        raw.push_str(": 0\r\n");
    }
    if !names
        .iter()
        .any(|n| n.eq_ignore_ascii_case("content-length"))
    {
        raw.push_str("Content-Length: 0\r\n");
    }
    raw.push_str("\r\n");
    let (client, mut server) = tokio::io::duplex(64 * 1024);
    // The other end of the pipe: answers once the request has arrived (hyper's client refuses
    // bytes that come before its request).
    let answer = async move {
        let mut request = [0u8; 1024];
        let _ = server.read(&mut request).await;
        let _ = server.write_all(raw.as_bytes()).await;
        server
    };
    let (mut sender, connection) = http1::Builder::new()
        .preserve_header_case(true)
        .handshake::<_, Empty<bytes::Bytes>>(TokioIo::new(client))
        .await?;
    let request = http::Request::builder()
        .uri("/")
        .body(Empty::new())
        .unwrap_or_default();
    let exchange = async { futures::join!(answer, sender.send_request(request)) };
    futures::pin_mut!(exchange, connection);
    match futures::future::select(exchange, connection).await {
        futures::future::Either::Left(((_server, response), _)) => {
            Ok(response?.extensions().clone())
        }
        futures::future::Either::Right((closed, _)) => closed.map(|()| Extensions::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves one response through hyper's server with the case map applied and returns the
    /// raw bytes written.
    async fn served(case: HeaderCase) -> String {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let service = hyper::service::service_fn(move |_req| {
            let case = case.clone();
            async move {
                let mut r = http::Response::builder()
                    .header("etag", "\"e\"")
                    .header("x-cos-hash-crc64ecma", "1")
                    .header("content-length", "0")
                    .header("x-other", "y")
                    .body(Empty::<bytes::Bytes>::new())
                    .unwrap();
                case.apply(&mut r);
                Ok::<_, std::convert::Infallible>(r)
            }
        });
        tokio::spawn(
            hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(server), service),
        );
        let mut client = client;
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        client.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn listed_names_keep_their_spelling() {
        let case = HeaderCase::new(&["ETag", "x-cos-hash-crc64ecma", "Content-Length"]);
        let raw = served(case).await;
        assert!(raw.contains("\r\nETag: \"e\"\r\n"), "{raw}");
        assert!(raw.contains("\r\nx-cos-hash-crc64ecma: 1\r\n"), "{raw}");
        assert!(raw.contains("\r\nContent-Length: 0\r\n"), "{raw}");
        assert!(raw.contains("\r\nx-other: y\r\n"), "{raw}");
    }

    #[tokio::test]
    async fn without_the_map_names_are_lowercase() {
        let raw = served(HeaderCase::default()).await;
        assert!(raw.contains("\r\netag: \"e\"\r\n"), "{raw}");
    }
}

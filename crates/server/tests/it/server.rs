//! The real server on a free loopback port, with graceful shutdown.

use crate::common::Fixture;
use std::io::{Read, Write};
use std::net::TcpStream;
use stsgate::serve;
use stsgate_signing::oss_v1;
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_on_a_free_port_and_shuts_down() {
    let f = Fixture::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve::run_oss(listener, f.state.clone(), async {
        let _ = rx.await;
    }));
    let answer = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /-/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("x-oss-request-id:"),
        "{answer}"
    );
    tx.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// A V1-signed request with a body (the oneshot router; untimed set-up).
fn signed_put(f: &Fixture, uri: &str, body: Vec<u8>) -> http::Request<axum::body::Body> {
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let sts = oss_v1::string_to_sign("PUT", "", "", &date, "", uri);
    let sig = oss_v1::sign(f.dir.root.secret.expose(), &sts);
    http::Request::builder()
        .method("PUT")
        .uri(uri)
        .header("host", "127.0.0.1:8702")
        .header("date", &date)
        .header("authorization", format!("OSS {}:{sig}", f.dir.root.id))
        .body(axum::body::Body::from(body))
        .unwrap()
}

/// Regression guard for the per-request stall: a streamed response body written after its
/// headers waited for the client's delayed ACK (Nagle without TCP_NODELAY), ~40 ms a request on
/// one keep-alive connection. The bound is generous for a busy machine and a debug build, and
/// far below the stall; bench/ measures the real figure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_gets_on_one_keep_alive_connection_take_milliseconds() {
    let f = Fixture::new();
    let (resp, body) = f.send(signed_put(&f, "/lat/", Vec::new())).await;
    assert_eq!(resp.status(), 200, "{body}");
    let (resp, body) = f.send(signed_put(&f, "/lat/k4", vec![b'x'; 4096])).await;
    assert_eq!(resp.status(), 200, "{body}");
    let expires = (std::time::SystemTime::now() + std::time::Duration::from_secs(600))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let sig = oss_v1::sign(
        f.dir.root.secret.expose(),
        &oss_v1::string_to_sign("GET", "", "", &expires, "", "/lat/k4"),
    );
    let sig = percent_encoding::utf8_percent_encode(&sig, percent_encoding::NON_ALPHANUMERIC);
    let request = format!(
        "GET /lat/k4?OSSAccessKeyId={}&Expires={expires}&Signature={sig} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        f.dir.root.id
    );

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve::run_oss(listener, f.state.clone(), async {
        let _ = rx.await;
    }));
    let times = tokio::task::spawn_blocking(move || {
        let s = TcpStream::connect(addr).unwrap();
        let mut w = s.try_clone().unwrap();
        let mut r = std::io::BufReader::new(s);
        let mut times = Vec::new();
        for i in 0..45 {
            let start = std::time::Instant::now();
            w.write_all(request.as_bytes()).unwrap();
            let mut length = None;
            let mut status = String::new();
            loop {
                let mut line = String::new();
                std::io::BufRead::read_line(&mut r, &mut line).unwrap();
                if status.is_empty() {
                    status = line.clone();
                }
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = Some(v.trim().parse::<usize>().unwrap());
                }
            }
            assert!(status.starts_with("HTTP/1.1 200"), "{status}");
            let mut body = vec![0; length.expect("content-length")];
            r.read_exact(&mut body).unwrap();
            assert_eq!(body, vec![b'x'; 4096]);
            if i >= 5 {
                times.push(start.elapsed());
            }
        }
        times
    })
    .await
    .unwrap();
    let mut sorted = times.clone();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    assert!(
        median < std::time::Duration::from_millis(8),
        "median {median:?} per GET on one connection: {times:?}"
    );
    tx.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

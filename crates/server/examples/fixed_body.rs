//! Benchmark baseline (bench/run_api.py): the smallest axum server, on the same tokio and axum as
//! stsgate, answering every request with a fixed body.
//!
//!     cargo run --release --example fixed_body -- 127.0.0.1:0
//!
//! prints `fixed_body listening on http://IP:PORT` and serves until killed.

use axum::routing::any;
use axum::Router;
use std::io::Write;

const BODY: &str = "OSS STS.fixed-body-baseline:0123456789abcdefABCDEF0123456=";

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_string());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let mut out = std::io::stdout();
    writeln!(
        out,
        "fixed_body listening on http://{}",
        listener.local_addr()?
    )?;
    out.flush()?;
    let app = Router::new().fallback(any(|| async { BODY }));
    axum::serve(listener, app).await
}

//! The bench's reference point: a minimal axum server answering every GET with one fixed body.
//!
//! `cargo run --release --example fixed_body -- --bind 127.0.0.1:0 --size 512` prints
//! `fixed_body listening on http://ADDR` and serves `size` bytes of JSON-typed content.

use std::net::SocketAddr;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use bytes::Bytes;
use clap::Parser;

/// Command line of the reference server.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// Body size in bytes.
    #[arg(long, default_value_t = 512)]
    size: usize,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let body = Bytes::from(vec![b'x'; args.size]);
    let app = Router::new().fallback(get(move || {
        let body = body.clone();
        async move {
            (
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
                ],
                body,
            )
        }
    }));
    let listener = tokio::net::TcpListener::bind(args.bind).await?;
    println!("fixed_body listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}

//! The bench's WebSocket load: many clients on one stream, measuring fan-out lag and data age.
//!
//! `cargo run --release --example ws_load -- --url ws://127.0.0.1:8675/ws/aggregate --clients 1000
//! --seconds 30` connects the clients (64 handshakes at a time), reads for the window and prints
//! one JSON line: connected and failed clients, messages, bytes, messages per client per second,
//! the fan-out lag (a client's receive time minus the first client's for the same message) and the
//! data age (receive time minus the message's `newest_timestamp`, the newest gateway read in it).
//! Messages are recognised by a hash of their bytes, so the clients never parse JSON.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use futures_util::StreamExt;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// Command line of the load generator.
#[derive(Debug, Parser)]
struct Args {
    /// Stream to follow.
    #[arg(long)]
    url: String,
    /// Clients to connect.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Measurement window after the last client connected, in seconds.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
}

/// What one client saw: (message hash, receive instant, data age in ms if known).
type Seen = Vec<(u64, Instant, Option<f64>)>;

/// Epoch seconds of `"newest_timestamp":<number>` near the end of a message.
fn newest_timestamp(text: &str) -> Option<f64> {
    let key = "\"newest_timestamp\":";
    let start = text.rfind(key)? + key.len();
    let rest = &text[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

async fn client(
    url: String,
    handshakes: Arc<Semaphore>,
    connected: mpsc::Sender<bool>,
    mut until: watch::Receiver<Option<Instant>>,
) -> Option<(Seen, u64)> {
    let stream = {
        let _permit = handshakes.acquire().await.ok()?;
        let attempt = tokio::time::timeout(
            Duration::from_secs(30),
            tokio_tungstenite::connect_async(&url),
        )
        .await;
        let _ = connected.send(matches!(attempt, Ok(Ok(_)))).await;
        drop(connected);
        attempt.ok()?.ok()?.0
    };
    let (_, mut read) = stream.split();
    let mut seen = Seen::new();
    let mut bytes = 0u64;
    loop {
        let deadline = *until.borrow();
        let next = match deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, read.next()).await {
                Ok(next) => next,
                Err(_) => break,
            },
            None => tokio::select! {
                next = read.next() => next,
                _ = until.changed() => continue,
            },
        };
        match next {
            Some(Ok(Message::Text(text))) => {
                let received = Instant::now();
                let mut hasher = DefaultHasher::new();
                text.as_bytes().hash(&mut hasher);
                let age = newest_timestamp(&text).map(|data| (now_epoch() - data) * 1000.0);
                bytes += text.len() as u64;
                seen.push((hasher.finish(), received, age));
            }
            Some(Ok(_)) => {}
            _ => break,
        }
    }
    Some((seen, bytes))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let handshakes = Arc::new(Semaphore::new(64));
    let (set_until, until) = watch::channel(None);
    let (connected, mut handshaken) = mpsc::channel(args.clients.max(1));
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.clients)
        .map(|_| {
            tokio::spawn(client(
                args.url.clone(),
                Arc::clone(&handshakes),
                connected.clone(),
                until.clone(),
            ))
        })
        .collect();
    drop(connected);
    // The window starts once every client has finished its handshake (or given up).
    for _ in 0..args.clients {
        if handshaken.recv().await.is_none() {
            break;
        }
    }
    let connect_secs = started.elapsed().as_secs_f64();
    let window_start = Instant::now();
    let _ = set_until.send(Some(window_start + Duration::from_secs(args.seconds)));
    let mut clients: Vec<Seen> = Vec::new();
    let mut failed = 0usize;
    let mut bytes = 0u64;
    for task in tasks {
        match task.await {
            Ok(Some((seen, received))) => {
                bytes += received;
                clients.push(seen);
            }
            _ => failed += 1,
        }
    }
    // Fan-out lag: per message, how long after the first client each client got it (window only).
    let mut first: HashMap<u64, Instant> = HashMap::new();
    for seen in &clients {
        for (hash, at, _) in seen {
            first
                .entry(*hash)
                .and_modify(|earliest| *earliest = (*earliest).min(*at))
                .or_insert(*at);
        }
    }
    let mut lags = Vec::new();
    let mut ages = Vec::new();
    let mut messages = 0u64;
    for seen in &clients {
        for (hash, at, age) in seen {
            if *at < window_start {
                continue;
            }
            messages += 1;
            if let Some(earliest) = first.get(hash) {
                lags.push(at.duration_since(*earliest).as_secs_f64() * 1000.0);
            }
            if let Some(age) = age {
                ages.push(*age);
            }
        }
    }
    lags.sort_by(f64::total_cmp);
    ages.sort_by(f64::total_cmp);
    let per_client_per_s = if clients.is_empty() {
        0.0
    } else {
        messages as f64 / clients.len() as f64 / args.seconds as f64
    };
    println!(
        "{{\"connected\":{},\"failed\":{},\"connect_s\":{:.2},\"messages\":{},\"bytes\":{},\
         \"msgs_per_client_per_s\":{:.3},\"lag_p50_ms\":{:.1},\"lag_p99_ms\":{:.1},\
         \"lag_max_ms\":{:.1},\"age_p50_ms\":{:.0},\"age_p99_ms\":{:.0}}}",
        clients.len(),
        failed,
        connect_secs,
        messages,
        bytes,
        per_client_per_s,
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        lags.last().copied().unwrap_or(f64::NAN),
        percentile(&ages, 0.5),
        percentile(&ages, 0.99),
    );
}

//! The daemon's small HTTP surface: `/healthz`, `/readyz` and `/metrics`. Hand-rolled on tokio
//! because three GET routes for probes and Prometheus do not need a web framework.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::metrics::Metrics;

/// Largest request head read; probes and scrapers send a few hundred bytes.
const MAX_HEAD: usize = 8 * 1024;

/// Connections served at once, at most: half the process's open-file limit (the other half is
/// the manifest tree's and AWS's), and never more than this. A flood past the cap is closed at
/// accept, so it cannot take the descriptors a pass needs (a 28,000-connection flood once failed
/// a pass with "Too many open files" on the manifest root).
pub const MAX_CONNECTIONS: usize = 4096;

/// The cap for this process: half its soft open-file limit (read from /proc/self/limits; no
/// system call needed), between 16 and [`MAX_CONNECTIONS`]; 512 when the limit is unknown.
pub fn connection_cap() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("Max open files"))?;
            let value = line
                .trim_start_matches("Max open files")
                .split_whitespace()
                .next()?;
            Some(if value == "unlimited" {
                usize::MAX
            } else {
                value.parse::<usize>().ok()?
            })
        });
    soft.map_or(512, |soft| (soft / 2).clamp(16, MAX_CONNECTIONS))
}

pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    let cap = connection_cap();
    tracing::debug!(cap, "HTTP connections served at once, at most");
    let slots = Arc::new(tokio::sync::Semaphore::new(cap));
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                    // Over the cap: closed at once, its descriptor freed.
                    drop(stream);
                    continue;
                };
                let metrics = Arc::clone(&metrics);
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(Duration::from_secs(10), handle(stream, &metrics))
                        .await;
                    drop(slot);
                });
            }
            Err(err) => {
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn handle(mut stream: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut parts = text.split_whitespace();
    let method = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default();
    let path = path.split('?').next().unwrap_or_default();
    let (status, content_type, body) = match (method, path) {
        ("GET", "/healthz") => match metrics.unhealthy() {
            None => (200, "text/plain", "ok\n".to_string()),
            Some(reason) => (503, "text/plain", format!("unhealthy: {reason}\n")),
        },
        ("GET", "/readyz") => match metrics.not_ready() {
            None => (200, "text/plain", "ready\n".to_string()),
            Some(reason) => (503, "text/plain", format!("not ready: {reason}\n")),
        },
        ("GET", "/metrics") => (200, "text/plain; version=0.0.4", metrics.render()),
        ("GET", _) => (404, "text/plain", "not found\n".to_string()),
        _ => (405, "text/plain", "method not allowed\n".to_string()),
    };
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_connection_cap_leaves_half_the_descriptors_free() {
        let cap = super::connection_cap();
        assert!((16..=super::MAX_CONNECTIONS).contains(&cap), "{cap}");
    }
}

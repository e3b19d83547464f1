//! HTTP/1.1 serving and the per-request pipeline: accept loop with keep-alive, region from
//! the SigV4 credential scope, routing to an operation, latency, throttling and fault
//! injection, running the handler under the state lock, saving state, and rendering the
//! rest-json response or error. Never logs headers, credentials or query strings.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tracing::{debug, error, warn};

use crate::control;
use crate::error::{ApiError, ErrorCode};
use crate::limits::{splitmix64, Faults, RateLimits};
use crate::model::{Scope, World};
use crate::ops::{self, percent_decode, Op, Query, Req};
use crate::persist::Persister;
use crate::stats::Stats;
use crate::Config;

/// Request bodies above this are refused before parsing; the largest legal CreateJob
/// (32 KiB document plus every other member at its maximum) is far below it.
const MAX_BODY: usize = 1 << 20;

/// Shared state of a running emulator.
pub struct App {
    pub cfg: Config,
    pub world: Mutex<World>,
    pub limits: RateLimits,
    pub faults: Faults,
    pub stats: Stats,
    pub persist: Option<Persister>,
    requests: AtomicU64,
}

impl App {
    pub fn new(cfg: Config, world: World, persist: Option<Persister>) -> Self {
        App {
            limits: RateLimits::new(cfg.aws_limits, &cfg.tps),
            faults: Faults::new(cfg.fail.clone(), cfg.fault_rate, cfg.seed),
            stats: Stats::default(),
            world: Mutex::new(world),
            persist,
            requests: AtomicU64::new(0),
            cfg,
        }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, World> {
        // A panic while holding the lock cannot leave the world half-updated in a way that
        // matters more than stopping service would, so keep serving.
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Serialises the world for the state file; call with the lock held.
    pub fn snapshot(&self, world: &World) -> Option<(u64, Vec<u8>)> {
        let p = self.persist.as_ref()?;
        match serde_json::to_vec(world) {
            Ok(bytes) => Some((p.take_gen(), bytes)),
            Err(e) => {
                error!(error = %e, "failed to serialise state");
                None
            }
        }
    }

    /// Writes a snapshot off the async workers (fsync can take milliseconds).
    pub async fn save(self: &Arc<Self>, snap: Option<(u64, Vec<u8>)>) -> Result<(), ApiError> {
        let Some((gen, bytes)) = snap else {
            return Ok(());
        };
        let app = Arc::clone(self);
        let res = tokio::task::spawn_blocking(move || match &app.persist {
            Some(p) => p.write(gen, &bytes),
            None => Ok(()),
        })
        .await;
        match res {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                error!(error = %e, "failed to save state");
                Err(ApiError::new(
                    ErrorCode::InternalFailure,
                    "The change was applied but could not be saved to the state file",
                ))
            }
            Err(e) => {
                error!(error = %e, "state save task failed");
                Err(ApiError::new(
                    ErrorCode::InternalFailure,
                    "State save failed",
                ))
            }
        }
    }

    fn request_id(&self) -> String {
        let n = splitmix64(self.requests.fetch_add(1, Ordering::Relaxed));
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            n >> 32,
            (n >> 16) & 0xffff,
            n & 0xffff,
            (n >> 48) & 0xffff,
            splitmix64(n) & 0xffff_ffff_ffff
        )
    }
}

/// Accepts connections until the task is dropped. Each connection is served with
/// HTTP/1.1 keep-alive, which the SDKs and load generators reuse.
pub async fn serve(listener: TcpListener, app: Arc<App>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Usually EMFILE: back off instead of spinning.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Small request/response pairs: Nagle would add delayed-ACK stalls.
        let _ = stream.set_nodelay(true);
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(Arc::clone(&app), req));
            if let Err(e) = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc)
                .await
            {
                debug!(error = %e, "connection ended with an error");
            }
        });
    }
}

/// The region of the SigV4 credential scope
/// (`Credential=AKID/20260101/us-east-1/iot/aws4_request`), from the Authorization header
/// or a presigned `X-Amz-Credential` query parameter.
pub fn region_from_request(headers: &HeaderMap, query: &Query) -> Option<String> {
    let scope = headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| {
            let start = auth.find("Credential=")? + "Credential=".len();
            let rest = &auth[start..];
            let end = rest
                .find(|c: char| c == ',' || c.is_whitespace())
                .unwrap_or(rest.len());
            Some(rest[..end].to_owned())
        })
        .or_else(|| query.get("X-Amz-Credential").map(str::to_owned))?;
    let region = scope.split('/').nth(2)?;
    let valid = !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid.then(|| region.to_owned())
}

fn json_response(status: u16, body: Vec<u8>, request_id: &str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-RequestId", v);
    }
    resp
}

pub fn error_response(err: &ApiError, request_id: &str) -> Response<Full<Bytes>> {
    let mut resp = json_response(err.code.status(), err.body(), request_id);
    resp.headers_mut().insert(
        "x-amzn-ErrorType",
        HeaderValue::from_static(err.code.as_str()),
    );
    resp
}

async fn read_body(body: Incoming) -> Result<Bytes, ApiError> {
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) => Err(ApiError::invalid(format!(
            "Could not read the request body: {e}"
        ))),
    }
}

async fn handle(
    app: Arc<App>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let segs: Vec<String> = parts
        .uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let query = Query::parse(parts.uri.query());
    let request_id = app.request_id();

    if segs.first().map(String::as_str) == Some("_emulator") {
        let body = match read_body(body).await {
            Ok(b) => b,
            Err(e) => {
                return Ok(control::reply(
                    400,
                    &serde_json::json!({"error": e.message}),
                ))
            }
        };
        return Ok(control::handle(&app, parts.method.as_str(), &segs[1..], &query, &body).await);
    }

    let region =
        region_from_request(&parts.headers, &query).unwrap_or_else(|| app.cfg.region.clone());
    let Some((op, labels)) = ops::route(parts.method.as_str(), &segs) else {
        app.stats
            .record("Unknown", ErrorCode::UnknownOperation.as_str());
        let err = ApiError::new(
            ErrorCode::UnknownOperation,
            format!("No operation matches {} {}", parts.method, parts.uri.path()),
        );
        return Ok(error_response(&err, &request_id));
    };

    let result = run(&app, op, &labels, &query, &region, body).await;
    let resp = match result {
        Ok(body) => {
            app.stats.record(op.as_str(), "OK");
            let bytes = match body {
                Some(v) => serde_json::to_vec(&v).unwrap_or_default(),
                None => Vec::new(),
            };
            json_response(200, bytes, &request_id)
        }
        Err(err) => {
            app.stats.record(op.as_str(), err.code.as_str());
            error_response(&err, &request_id)
        }
    };
    debug!(op = op.as_str(), %region, status = resp.status().as_u16(), "request");
    Ok(resp)
}

async fn run(
    app: &Arc<App>,
    op: Op,
    labels: &[String],
    query: &Query,
    region: &str,
    body: Incoming,
) -> Result<Option<Value>, ApiError> {
    if app.cfg.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(app.cfg.latency_ms)).await;
    }
    app.limits.check(region, op)?;
    app.faults.check(op)?;
    let body = read_body(body).await?;
    let (result, snap) = {
        let mut world = app.lock();
        let now = world.now_ms();
        let ticked = world.tick(now);
        let req = Req {
            op,
            labels,
            query,
            body: &body,
            now,
            deletion_delay_ms: app.cfg.deletion_delay_ms as i64,
            max_active_jobs: app.cfg.max_active_jobs,
        };
        let account = app.cfg.account_id.as_str();
        // Reads must not create a scope: the state file should only hold regions that
        // were written to.
        let result = if op.mutates() {
            ops::dispatch(world.scope(account, region), &req)
        } else if let Some(scope) = world.existing_scope(account, region) {
            ops::dispatch(scope, &req)
        } else {
            ops::dispatch(&mut Scope::new(account, region), &req)
        };
        let dirty = ticked || (result.is_ok() && op.mutates());
        let snap = if dirty { app.snapshot(&world) } else { None };
        (result, snap)
    };
    app.save(snap).await?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_comes_from_the_credential_scope() {
        let mut h = HeaderMap::new();
        h.insert(
            hyper::header::AUTHORIZATION,
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/iot/aws4_request, SignedHeaders=host, Signature=abc",
            ),
        );
        assert_eq!(
            region_from_request(&h, &Query::default()).as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            region_from_request(&HeaderMap::new(), &Query::default()),
            None
        );
        let q = Query::parse(Some(
            "X-Amz-Credential=AKID%2F20260101%2Fap-south-1%2Fiot%2Faws4_request",
        ));
        assert_eq!(
            region_from_request(&HeaderMap::new(), &q).as_deref(),
            Some("ap-south-1")
        );
    }
}

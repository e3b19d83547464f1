//! HTTP/1.1 serving and the per-request pipeline: accept loop with keep-alive, region from
//! the SigV4 credential scope, routing to an operation, latency, throttling and fault
//! injection, running the handler under the state lock, saving state, and rendering the
//! rest-json response or error. Never logs headers, credentials or query strings.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE, DATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tracing::{debug, warn};

use crate::app::App;
use crate::control;
use crate::engine;
use crate::error::{ApiError, ErrorCode};
use crate::model::Scope;
use crate::op::{Op, Plane};
use crate::request::{percent_decode, Query, Req};
use crate::router;

/// Request bodies above this are refused before parsing; the largest legal CreateJob
/// (32 KiB document plus every other member at its maximum) is far below it.
const MAX_BODY: usize = 1 << 20;

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

/// The SigV4 credential scope (`Credential=AKID/20260101/us-east-1/iot/aws4_request`),
/// from the Authorization header or a presigned `X-Amz-Credential` query parameter.
fn credential_scope(headers: &HeaderMap, query: &Query) -> Option<String> {
    headers
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
        .or_else(|| query.get("X-Amz-Credential").map(str::to_owned))
}

/// The region of the credential scope.
pub fn region_from_request(headers: &HeaderMap, query: &Query) -> Option<String> {
    let scope = credential_scope(headers, query)?;
    let region = scope.split('/').nth(2)?;
    let valid = !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid.then(|| region.to_owned())
}

/// Which service a request was signed for: `iot-jobs-data` is the device data plane,
/// `tagging` the Resource Groups Tagging API, anything else (`iot`, or no signature) the
/// control plane.
pub fn plane_from_request(headers: &HeaderMap, query: &Query) -> Plane {
    match credential_scope(headers, query)
        .as_deref()
        .and_then(|s| s.split('/').nth(3))
    {
        Some("iot-jobs-data") => Plane::Data,
        Some("tagging") => Plane::Tagging,
        _ => Plane::Control,
    }
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

/// A control-API reply: plain JSON, no AWS headers.
fn plain_json(status: u16, body: &Value) -> Response<Full<Bytes>> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut resp = Response::new(Full::new(Bytes::from(bytes)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

pub fn error_response(err: &ApiError, plane: Plane, request_id: &str) -> Response<Full<Bytes>> {
    if plane == Plane::Tagging {
        // JSON 1.1: the code in `__type`, the text in `Message`, no error-type header.
        let (_, status) = err.tagging_code();
        let mut resp = json_response(status, err.tagging_body(), request_id);
        resp.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-amz-json-1.1"),
        );
        return resp;
    }
    // iot-jobs-data models ThrottlingException as 429 where the IoT model says 400.
    let status = match (plane, err.code) {
        (Plane::Data, ErrorCode::Throttling) => 429,
        (_, code) => code.status(),
    };
    let mut resp = json_response(status, err.body(), request_id);
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
        let (status, v) = match read_body(body).await {
            Ok(b) => control::handle(&app, parts.method.as_str(), &segs[1..], &query, &b).await,
            Err(e) => (400, serde_json::json!({"error": e.message})),
        };
        return Ok(plain_json(status, &v));
    }

    let region =
        region_from_request(&parts.headers, &query).unwrap_or_else(|| app.cfg.region.clone());
    let plane = plane_from_request(&parts.headers, &query);
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok());
    let Some((op, labels)) = router::route(plane, parts.method.as_str(), &segs, target) else {
        app.stats
            .record("Unknown", ErrorCode::UnknownOperation.as_str());
        let err = ApiError::new(
            ErrorCode::UnknownOperation,
            format!("No operation matches {} {}", parts.method, parts.uri.path()),
        );
        return Ok(error_response(&err, plane, &request_id));
    };

    let result = run(&app, op, &labels, &query, &region, body).await;
    let resp = match result {
        Ok(body) => {
            app.stats.record(op.as_str(), "OK");
            let bytes = match body {
                Some(v) => serde_json::to_vec(&v).unwrap_or_default(),
                None => Vec::new(),
            };
            let mut resp = json_response(200, bytes, &request_id);
            if plane == Plane::Tagging {
                resp.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-amz-json-1.1"),
                );
            }
            resp
        }
        Err(err) => {
            app.stats.record(op.as_str(), err.code.as_str());
            error_response(&err, plane, &request_id)
        }
    };
    let mut resp = resp;
    // AWS stamps every answer with its own time. The emulator stamps its emulated clock, so a
    // client that measures time by the server (a soak, an ETA) runs at `timeScale` too.
    let now_ms = app.lock().now_ms();
    if let Some(date) = http_date(now_ms) {
        resp.headers_mut().insert(DATE, date);
    }
    debug!(op = op.as_str(), %region, status = resp.status().as_u16(), "request");
    Ok(resp)
}

/// An HTTP date (RFC 9110 IMF-fixdate, always GMT), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(ms: i64) -> Option<HeaderValue> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).ok()?;
    HeaderValue::from_str(&at.format(&format).ok()?).ok()
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
    app.check_allowed(op)?;
    app.limits.check(region, op)?;
    app.faults.check(op)?;
    let body = read_body(body).await?;
    let (result, snap) = {
        let mut guard = app.lock();
        let world = &mut *guard;
        // What is due by now happens first, so the answer reflects the emulated clock. A
        // request runs only a few timers itself: behind a backlog (a million-thing rollout
        // at a high timeScale) the clock is held where the engine stands and the background
        // driver catches up, so requests stay fast.
        let (ticked, _, now) = engine::catch_up(world, engine::REQUEST_TIMERS);
        if ticked {
            app.mark_dirty();
        }
        let req = Req {
            op,
            labels,
            query,
            body: &body,
            now,
            deletion_delay_ms: app.cfg.deletion_delay_ms as i64,
            tagging_lag_ms: world
                .fleet
                .as_ref()
                .and_then(|f| f.tagging_lag_seconds)
                .map_or(app.cfg.tagging_lag_ms as i64, |s| (s * 1000.0) as i64),
            max_active_jobs: app.cfg.max_active_jobs,
            fleet: world.fleet.as_deref(),
        };
        let account = app.cfg.account_id.as_str();
        let key = format!("{account}:{region}");
        // Reads must not create a scope: the state file should only hold regions that
        // were written to.
        let result = if op.mutates() {
            let scope = world
                .scopes
                .entry(key)
                .or_insert_with(|| Scope::new(account, region));
            router::dispatch(scope, &req)
        } else if let Some(scope) = world.scopes.get_mut(&key) {
            router::dispatch(scope, &req)
        } else {
            router::dispatch(&mut Scope::new(account, region), &req)
        };
        let snap = if result.is_ok() && op.mutates() {
            app.snapshot(world)
        } else {
            None
        };
        (result, snap)
    };
    app.save(snap).await?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_scope_names_the_plane() {
        let signed = |service: &str| {
            let mut h = HeaderMap::new();
            let v = format!("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=abc");
            h.insert(
                hyper::header::AUTHORIZATION,
                HeaderValue::from_str(&v).expect("header"),
            );
            plane_from_request(&h, &Query::default())
        };
        assert_eq!(signed("tagging"), Plane::Tagging);
        assert_eq!(signed("iot-jobs-data"), Plane::Data);
        assert_eq!(signed("iot"), Plane::Control);
        assert_eq!(
            plane_from_request(&HeaderMap::new(), &Query::default()),
            Plane::Control
        );
    }

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

//! Building the SDK client, once per run: region, profile and endpoint from the standard AWS
//! chain (or flags), the SDK's own retries, timeouts, an attempt counter, and our per-operation
//! pacing.
//!
//! The HTTP client is the SDK's default (`default-https-client`): aws-smithy-http-client on
//! hyper 1.x with rustls 0.23 and aws-lc, proxies from `HTTPS_PROXY`/`NO_PROXY`. It is the one to
//! customise for a trust store (`--ca-bundle`, `AWS_CA_BUNDLE`): aws-smithy-http-client's
//! `tls::TlsContext::builder().with_trust_store(..)` on the same rustls provider, handed to the
//! loader with `.http_client(..)`. Connect and read timeouts need no custom client: they are
//! the SDK's `TimeoutConfig`, set below.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig as SdkTimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_iot::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_iot::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_iot::error::BoxError;
use aws_sdk_iot::Client;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

use super::ratelimit::RateLimiter;
use super::ApiStats;

/// How to reach AWS, resolved from flags and the environment.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// Attempts per call, the first included, for throttling and 5xx answers.
    pub max_attempts: u32,
    pub default_tps: f64,
    pub tps_overrides: HashMap<String, f64>,
}

/// Why no client could be built.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("no AWS region: pass --region or set AWS_REGION")]
    NoRegion,
}

/// The SDK-backed [`super::JobsApi`].
pub struct IotJobs {
    pub(super) client: Client,
    limiter: RateLimiter,
    stats: Arc<ApiStats>,
    pub(super) clock: Arc<ServerClock>,
    endpoint: String,
}

/// The service's clock as its answers' `Date` header gives it, so that "finished in the last
/// 24 hours" is judged by the service's time, not by a local clock that may be off.
#[derive(Debug, Default)]
pub(super) struct ServerClock {
    /// The latest `Date` and the local instant it arrived.
    seen: Mutex<Option<(SystemTime, Instant)>>,
}

impl ServerClock {
    fn record(&self, date: SystemTime) {
        let mut seen = match self.seen.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *seen = Some((date, Instant::now()));
    }

    /// The latest `Date`, moved on by the time that passed here since it arrived.
    pub(super) fn now(&self) -> Option<SystemTime> {
        let seen = match self.seen.lock() {
            Ok(g) => *g,
            Err(p) => *p.into_inner(),
        };
        seen.map(|(date, at)| date + at.elapsed())
    }
}

/// Counts every HTTP attempt the SDK makes (retries included), by operation and outcome, from
/// an interceptor: this is what the account's quotas see, and where throttling shows up even
/// when a retry later succeeds. It also notes the service's `Date`.
#[derive(Debug)]
struct AttemptMetrics(Arc<ApiStats>, Arc<ServerClock>);

/// Where calls go: the `--endpoint-url`, the endpoint variables the SDK reads
/// (`AWS_ENDPOINT_URL_IOT`, then `AWS_ENDPOINT_URL`), else AWS's regional endpoint.
fn endpoint_of(conn: &Connection, region: &str) -> String {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    conn.endpoint_url
        .clone()
        .or_else(|| var("AWS_ENDPOINT_URL_IOT"))
        .or_else(|| var("AWS_ENDPOINT_URL"))
        .unwrap_or_else(|| format!("https://iot.{region}.amazonaws.com"))
}

impl Intercept for AttemptMetrics {
    fn name(&self) -> &'static str {
        "jobctl-attempt-metrics"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map_or("Unknown", |m| m.name())
            .to_string();
        let outcome = match context.response() {
            None => "ConnectionError".to_string(),
            Some(response) if response.status().is_success() => {
                if let Some(date) = response
                    .headers()
                    .get("date")
                    .and_then(|d| httpdate::parse_http_date(d).ok())
                {
                    self.1.record(date);
                }
                "ok".to_string()
            }
            Some(response) => response
                .headers()
                .get("x-amzn-ErrorType")
                .map(|v| v.split(':').next().unwrap_or(v).to_string())
                .unwrap_or_else(|| format!("HTTP{}", response.status().as_u16())),
        };
        self.0.record(&operation, &outcome);
        Ok(())
    }
}

impl IotJobs {
    /// Builds the client from flags and the standard AWS chain. Fails only when no region can be
    /// found, which would otherwise surface as an obscure error on the first call.
    pub async fn connect(conn: &Connection) -> Result<Self, ConnectError> {
        let retry = RetryConfig::standard()
            .with_max_attempts(conn.max_attempts.max(1))
            .with_initial_backoff(Duration::from_millis(200))
            .with_max_backoff(Duration::from_secs(20));
        let timeouts = SdkTimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(30))
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(retry)
            .timeout_config(timeouts);
        if let Some(region) = &conn.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(profile) = &conn.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &conn.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        let Some(region) = config.region().map(ToString::to_string) else {
            return Err(ConnectError::NoRegion);
        };
        let builder = aws_sdk_iot::config::Builder::from(&config);
        let mut client = Self::from_config(builder, conn);
        client.endpoint = endpoint_of(conn, &region);
        Ok(client)
    }

    /// The client for an SDK configuration (tests give one with their own HTTP client).
    pub(super) fn from_config(builder: aws_sdk_iot::config::Builder, conn: &Connection) -> Self {
        let stats = Arc::new(ApiStats::default());
        let clock = Arc::new(ServerClock::default());
        let config = builder
            .interceptor(AttemptMetrics(Arc::clone(&stats), Arc::clone(&clock)))
            .build();
        Self {
            client: Client::from_conf(config),
            limiter: RateLimiter::new(conn.default_tps, conn.tps_overrides.clone()),
            stats,
            clock,
            endpoint: conn.endpoint_url.clone().unwrap_or_default(),
        }
    }

    /// Attempts by operation and outcome since the client was built.
    pub fn stats(&self) -> Arc<ApiStats> {
        Arc::clone(&self.stats)
    }

    /// The endpoint calls go to, for messages (`https://iot.REGION.amazonaws.com` unless
    /// overridden).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Waits for `operation`'s next slot under the rate limit.
    pub(super) async fn begin(&self, operation: &'static str) {
        self.limiter.acquire(operation).await;
        self.stats.started(operation);
    }
}

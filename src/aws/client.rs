//! Building the SDK client, once per run: region, profile and endpoint from the standard AWS
//! chain (or flags), the trust store (`--ca-bundle`, `AWS_CA_BUNDLE`, the profile's
//! `ca_bundle`), retries that respect `AWS_MAX_ATTEMPTS`/`AWS_RETRY_MODE` and the profile,
//! connect and read timeouts, an attempt counter, the calls in flight, and our per-operation
//! pacing.
//!
//! The HTTP client is the SDK's default (`default-https-client`): aws-smithy-http-client on
//! hyper 1.x with rustls 0.23 and aws-lc, proxies from `HTTPS_PROXY`/`NO_PROXY`. With a CA bundle
//! jobctl builds the same client itself (the SDK's default has no way to take a trust store), with
//! the same provider and the same proxy settings.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig as SdkTimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_iot::config::interceptors::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_iot::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_iot::error::BoxError;
use aws_sdk_iot::Client;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

use super::body::{BoundedResponses, NoRetryOfCutOffBodies, MAX_RESPONSE_BYTES};
use super::ratelimit::RateLimiter;
use super::{ApiError, ApiStats, ErrorKind};

/// `--connect-timeout` when not given: time to open a connection, per attempt.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// `--read-timeout` when not given: time to wait for an answer, per attempt. AWS IoT's control
/// plane answers in well under a second; a silent endpoint should fail fast.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(20);
/// Attempts per call when neither `--max-attempts`, `AWS_MAX_ATTEMPTS` nor the profile's
/// `max_attempts` says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// How to reach AWS, resolved from flags and the environment.
#[derive(Debug, Clone)]
pub struct Connection {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// `--max-attempts`: only when given does it override the AWS configuration.
    pub max_attempts: Option<u32>,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    /// `--ca-bundle` or `AWS_CA_BUNDLE`; the profile's `ca_bundle` when neither is set.
    pub ca_bundle: Option<PathBuf>,
    pub default_tps: f64,
    pub tps_overrides: HashMap<String, f64>,
}

impl Default for Connection {
    fn default() -> Self {
        Self {
            region: None,
            profile: None,
            endpoint_url: None,
            max_attempts: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            ca_bundle: None,
            default_tps: super::ratelimit::DEFAULT_TPS,
            tps_overrides: HashMap::new(),
        }
    }
}

/// Why no client could be built. Each says how to fix it, in one line.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("no AWS region: pass --region, set AWS_REGION or AWS_DEFAULT_REGION, or add `region = …` to the profile{}", profile_note(.profile))]
    NoRegion { profile: Option<String> },
    #[error("the AWS profile `{name}` does not exist; looked in {}{}", display_paths(.looked_in), known_profiles(.known))]
    NoProfile {
        name: String,
        looked_in: Vec<PathBuf>,
        known: Vec<String>,
    },
    #[error("the AWS config files cannot be read: {0}")]
    ProfileFiles(String),
    #[error("no AWS credentials{}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pick a profile that has them (--profile, AWS_PROFILE), or sign in (`aws sso login`)", profile_note(.profile))]
    NoCredentials { profile: Option<String> },
    #[error("the CA bundle {} ({from}) cannot be used: {message}", .path.display())]
    CaBundle {
        path: PathBuf,
        from: &'static str,
        message: String,
    },
}

fn profile_note(profile: &Option<String>) -> String {
    profile
        .as_ref()
        .map(|p| format!(" (profile `{p}`)"))
        .unwrap_or_default()
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" and ")
}

fn known_profiles(known: &[String]) -> String {
    if known.is_empty() {
        " (no profiles are defined there)".into()
    } else {
        format!("; the profiles there are: {}", known.join(", "))
    }
}

/// The SDK-backed [`super::JobsApi`].
pub struct IotJobs {
    pub(super) client: Client,
    limiter: RateLimiter,
    stats: Arc<ApiStats>,
    calls: Arc<Calls>,
    region: String,
    timeouts: (Duration, Duration),
    pub(super) clock: Arc<ServerClock>,
}

/// What the client knows about its calls: where they went, which are in flight, and whether the
/// endpoint has proven unreachable (then later calls fail at once with the same error, so one
/// outage is one message, not one per job).
#[derive(Debug, Default)]
pub(super) struct Calls {
    /// The endpoint, redacted ([`redact_endpoint`]).
    endpoint: Mutex<Option<String>>,
    /// The parts of the endpoint URL that may be secret (its userinfo and query), so that no
    /// error message can carry them, whichever layer wrote it.
    secrets: Mutex<Vec<String>>,
    next_id: AtomicU64,
    in_flight: Mutex<BTreeMap<u64, (&'static str, String, Instant)>>,
    unreachable: Mutex<Option<ApiError>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// A call in flight; dropping it (the call returned or was abandoned) removes it.
pub(super) struct InFlight<'a> {
    calls: &'a Calls,
    id: u64,
    pub(super) started: Instant,
    /// What the call is about (a job id, an ARN, a name), for its error message.
    subject: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        lock(&self.calls.in_flight).remove(&self.id);
    }
}

/// The oldest call still waiting for AWS, for the message of an expired `--timeout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub operation: &'static str,
    /// The job id, ARN or name the call is about.
    pub subject: String,
    pub waited: Duration,
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
        *lock(&self.seen) = Some((date, Instant::now()));
    }

    /// The latest `Date`, moved on by the time that passed here since it arrived.
    pub(super) fn now(&self) -> Option<SystemTime> {
        lock(&self.seen).map(|(date, at)| date + at.elapsed())
    }
}

/// Counts every HTTP attempt the SDK makes (retries included), by operation and outcome, from
/// an interceptor: this is what the account's quotas see, and where throttling shows up even
/// when a retry later succeeds. It also notes the endpoint each request goes to, so errors can
/// name it, and the service's `Date`.
#[derive(Debug)]
struct AttemptMetrics(Arc<ApiStats>, Arc<Calls>, Arc<ServerClock>);

impl Intercept for AttemptMetrics {
    fn name(&self) -> &'static str {
        "jobctl-attempt-metrics"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Scheme and authority only, without credentials: the endpoint is all an error message
        // needs.
        let uri = context.request().uri();
        if let Some(endpoint) = redact_endpoint(uri) {
            *lock(&self.1.endpoint) = Some(endpoint);
        }
        // Only the userinfo: a request's own query (ListTagsForResource's `resourceArn`, a page
        // token) is no secret, and remembering each one grew without bound (10,000 jobs' ARNs
        // in the daemon) and blanked ARNs out of error messages.
        self.1.keep_secret(uri, Parts::Userinfo);
        Ok(())
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
                    self.2.record(date);
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

/// What replaces a secret in anything jobctl shows or stores.
const REDACTED: &str = "***";

/// `scheme://authority` of a URL, its userinfo (`admin:hunter2@`) replaced by `***`: the form
/// in which jobctl shows and stores an endpoint (headers, errors, saved plans, reports). The
/// path and query are dropped: an endpoint needs neither, and a query may hold a signature.
pub fn redact_endpoint(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = match authority.rsplit_once('@') {
        Some((_, host)) => format!("{REDACTED}@{host}"),
        None => authority.to_string(),
    };
    (!scheme.is_empty() && !authority.is_empty()).then(|| format!("{scheme}://{host}"))
}

/// Which parts of a URL [`secret_parts`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parts {
    /// Userinfo only (a request's URL: its query is the operation's own).
    Userinfo,
    /// Userinfo and query (the configured endpoint: a query there may be a signature).
    UserinfoAndQuery,
}

/// The parts of a URL that may be secret: its userinfo and, with `parts`, its query.
fn secret_parts(url: &str, parts: Parts) -> Vec<String> {
    let Some((_, rest)) = url.split_once("://") else {
        return Vec::new();
    };
    let (before_fragment, _) = rest.split_once('#').unwrap_or((rest, ""));
    let authority = before_fragment
        .split(['/', '?'])
        .next()
        .unwrap_or(before_fragment);
    let userinfo = authority.rsplit_once('@').map(|(userinfo, _)| userinfo);
    let query = before_fragment
        .split_once('?')
        .map(|(_, query)| query)
        .filter(|_| parts == Parts::UserinfoAndQuery);
    userinfo
        .into_iter()
        .chain(query)
        .filter(|part| !part.is_empty())
        .map(String::from)
        .collect()
}

impl Calls {
    /// Remembers the secret parts of `url`, to be kept out of error messages.
    fn keep_secret(&self, url: &str, parts: Parts) {
        let mut secrets = lock(&self.secrets);
        for part in secret_parts(url, parts) {
            if !secrets.contains(&part) {
                secrets.push(part);
            }
        }
    }

    /// `text` with every secret part of the endpoint URL replaced by `***`.
    fn scrub(&self, text: &str) -> String {
        lock(&self.secrets)
            .iter()
            .fold(text.to_string(), |text, secret| {
                text.replace(secret.as_str(), REDACTED)
            })
    }
}

/// The endpoint URL the IoT client will use, as the SDK picks it: `--endpoint-url`, else
/// AWS_ENDPOINT_URL_IOT or the profile's `iot` section, else AWS_ENDPOINT_URL or the profile's
/// `endpoint_url`.
fn configured_endpoint(config: &aws_types::SdkConfig) -> Option<String> {
    use aws_types::service_config::ServiceConfigKey;
    let general = config.endpoint_url().map(String::from);
    if config.get_origin("endpoint_url").is_client_config() {
        return general;
    }
    let key = ServiceConfigKey::builder()
        .service_id("IoT")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .ok()?;
    config
        .service_config()
        .and_then(|service| service.load_config(key))
        .or(general)
}

/// The bits of the AWS configuration files jobctl reads itself: whether the profile exists,
/// its `ca_bundle`, and whether it sets retries.
struct ProfileFacts {
    ca_bundle: Option<String>,
    sets_retries: bool,
}

async fn profile_facts(selected: Option<&str>) -> Result<ProfileFacts, ConnectError> {
    use aws_types::os_shim_internal::{Env, Fs};
    let env = Env::real();
    let set = aws_config::profile::load(
        &Fs::real(),
        &env,
        // The standard files (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, ~/.aws).
        &Default::default(),
        selected.map(|s| std::borrow::Cow::Owned(s.to_string())),
    )
    .await
    .map_err(|e| ConnectError::ProfileFiles(e.to_string()))?;
    let profile = set.get_profile(set.selected_profile());
    if let (Some(name), None) = (selected, profile) {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let file = |var: &str, default: &str| {
            std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
                home.as_deref()
                    .unwrap_or(Path::new("~"))
                    .join(".aws")
                    .join(default)
            })
        };
        let mut known: Vec<String> = set.profiles().map(String::from).collect();
        known.sort();
        return Err(ConnectError::NoProfile {
            name: name.to_string(),
            looked_in: vec![
                file("AWS_CONFIG_FILE", "config"),
                file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            ],
            known,
        });
    }
    let get = |key: &str| profile.and_then(|p| p.get(key)).map(String::from);
    let env_sets = |key: &str| env.get(key).is_ok_and(|v| !v.is_empty());
    Ok(ProfileFacts {
        ca_bundle: get("ca_bundle"),
        sets_retries: env_sets("AWS_MAX_ATTEMPTS")
            || env_sets("AWS_RETRY_MODE")
            || get("max_attempts").is_some()
            || get("retry_mode").is_some(),
    })
}

/// The PEM bundle at `path`, checked the way the TLS stack will read it (which would panic on a
/// malformed certificate instead of saying which file is wrong).
fn read_ca_bundle(path: &Path, from: &'static str) -> Result<Vec<u8>, ConnectError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let fail = |message: String| ConnectError::CaBundle {
        path: path.to_path_buf(),
        from,
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(format!("not a PEM certificate bundle: {e:?}")))?;
    if certs.is_empty() {
        return Err(fail("it holds no PEM certificate".into()));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| fail(format!("a certificate in it cannot be used: {e}")))?;
    }
    Ok(bytes)
}

/// The SDK's default HTTPS client (rustls with aws-lc, proxies from the environment), trusting
/// only the certificates of `bundle`, as the AWS CLI does with `--ca-bundle`.
fn https_client_trusting(
    bundle: Vec<u8>,
) -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
    use aws_smithy_http_client::{Builder, ConnectorBuilder};
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(bundle);
    Builder::new().build_with_connector_fn(move |settings, components| {
        let context = TlsContext::builder()
            .with_trust_store(trust.clone())
            .build()
            .unwrap_or_default();
        let mut builder = ConnectorBuilder::default()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .tls_context(context);
        builder.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            builder.set_sleep_impl(components.sleep_impl());
        }
        builder.set_proxy_config(Some(ProxyConfig::from_env()));
        builder.build()
    })
}

impl IotJobs {
    /// Builds the client from flags and the standard AWS chain. Fails, with one line saying how
    /// to fix it, when the profile does not exist, no region or no credentials can be found, or
    /// the CA bundle is unusable: each would otherwise surface as an obscure error on the first
    /// call.
    pub async fn connect(conn: &Connection) -> Result<Self, ConnectError> {
        let facts = profile_facts(conn.profile.as_deref()).await?;
        let timeouts = SdkTimeoutConfig::builder()
            .connect_timeout(conn.connect_timeout)
            .read_timeout(conn.read_timeout)
            .build();
        // The SDK's read timeout ends when the response head arrives; a body that stalls after
        // it is cut off by stalled-stream protection, whose grace period is made the same
        // --read-timeout (the SDK's default is 5 s whatever the flag says).
        let stalled = aws_sdk_iot::config::StalledStreamProtectionConfig::enabled()
            .grace_period(conn.read_timeout)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(timeouts)
            .stalled_stream_protection(stalled);
        // Only an explicit --max-attempts overrides AWS_MAX_ATTEMPTS, AWS_RETRY_MODE and the
        // profile; without any of them jobctl keeps its own default, meant for throttling.
        let attempts = match (conn.max_attempts, facts.sets_retries) {
            (Some(n), _) => Some(n),
            (None, false) => Some(DEFAULT_MAX_ATTEMPTS),
            (None, true) => None,
        };
        if let Some(attempts) = attempts {
            loader = loader.retry_config(
                RetryConfig::standard()
                    .with_max_attempts(attempts.max(1))
                    .with_initial_backoff(Duration::from_millis(200))
                    .with_max_backoff(Duration::from_secs(20)),
            );
        }
        if let Some(region) = &conn.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(profile) = &conn.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &conn.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let bundle = match (&conn.ca_bundle, &facts.ca_bundle) {
            (Some(path), _) => Some(read_ca_bundle(path, "--ca-bundle or AWS_CA_BUNDLE")?),
            (None, Some(path)) => Some(read_ca_bundle(Path::new(path), "the profile's ca_bundle")?),
            (None, None) => None,
        };
        if let Some(bundle) = bundle {
            loader = loader.http_client(https_client_trusting(bundle));
        }
        let config = loader.load().await;
        let Some(region) = config.region().map(ToString::to_string) else {
            return Err(ConnectError::NoRegion {
                profile: conn.profile.clone(),
            });
        };
        if let Some(provider) = config.credentials_provider() {
            use aws_sdk_iot::config::ProvideCredentials;
            if let Err(err) = provider.provide_credentials().await {
                tracing::info!(error = %crate::aws::errors::chain(&err), "credentials");
                return Err(ConnectError::NoCredentials {
                    profile: conn.profile.clone(),
                });
            }
        }
        let mut builder = aws_sdk_iot::config::Builder::from(&config);
        let endpoint = configured_endpoint(&config);
        // Without its query: the SDK ignores one but logs it in a warning, and it may be a
        // signature.
        if let Some(url) = &endpoint {
            builder = builder.endpoint_url(url.split(['?', '#']).next().unwrap_or(url));
        }
        let mut api = Self::from_config(builder, conn);
        api.region = region;
        // A failure before any request is sent may still quote the endpoint.
        if let Some(url) = &endpoint {
            api.calls.keep_secret(url, Parts::UserinfoAndQuery);
        }
        Ok(api)
    }

    /// The client for an SDK configuration (tests give one with their own HTTP client).
    pub(super) fn from_config(builder: aws_sdk_iot::config::Builder, conn: &Connection) -> Self {
        let stats = Arc::new(ApiStats::default());
        let calls = Arc::new(Calls::default());
        let clock = Arc::new(ServerClock::default());
        let config = builder
            .interceptor(AttemptMetrics(
                Arc::clone(&stats),
                Arc::clone(&calls),
                Arc::clone(&clock),
            ))
            .interceptor(BoundedResponses {
                limit: MAX_RESPONSE_BYTES,
                budget: conn.read_timeout,
            })
            .retry_classifier(NoRetryOfCutOffBodies)
            .build();
        Self {
            client: Client::from_conf(config),
            limiter: RateLimiter::new(conn.default_tps, conn.tps_overrides.clone()),
            stats,
            calls,
            region: String::new(),
            timeouts: (conn.connect_timeout, conn.read_timeout),
            clock,
        }
    }

    /// Attempts by operation and outcome since the client was built.
    pub fn stats(&self) -> Arc<ApiStats> {
        Arc::clone(&self.stats)
    }

    /// The region every call goes to.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Where the calls went (`https://iot.us-east-1.amazonaws.com`), once one was made; any
    /// credentials in it redacted (`http://***@host`).
    pub fn endpoint(&self) -> Option<String> {
        lock(&self.calls.endpoint).clone()
    }

    /// The call that has waited longest for AWS, if one is in flight.
    pub fn waiting(&self) -> Option<Waiting> {
        lock(&self.calls.in_flight)
            .values()
            .min_by_key(|(_, _, started)| *started)
            .map(|(operation, subject, started)| Waiting {
                operation,
                subject: subject.clone(),
                waited: started.elapsed(),
            })
    }

    /// Lets calls try the endpoint again after it proved unreachable.
    pub(super) fn forget_unreachable(&self) {
        *lock(&self.calls.unreachable) = None;
    }

    /// Waits for `operation`'s next slot under the rate limit, and registers the call as in
    /// flight. Fails at once when the endpoint has already proven unreachable in this run.
    pub(super) async fn begin(
        &self,
        operation: &'static str,
        subject: &str,
    ) -> Result<InFlight<'_>, ApiError> {
        if let Some(err) = lock(&self.calls.unreachable).clone() {
            return Err(ApiError { operation, ..err });
        }
        self.limiter.acquire(operation).await;
        self.stats.started(operation);
        let id = self.calls.next_id.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        lock(&self.calls.in_flight).insert(id, (operation, subject.to_string(), started));
        Ok(InFlight {
            calls: &self.calls,
            id,
            started,
            subject: subject.to_string(),
        })
    }

    /// An SDK failure as an [`ApiError`] whose message names the endpoint (redacted) and what
    /// the call was about; an unreachable endpoint also trips the breaker, so the calls after it
    /// fail at once with the same message.
    pub(super) fn error<E>(
        &self,
        operation: &'static str,
        err: &aws_sdk_iot::error::SdkError<E>,
        call: &InFlight<'_>,
    ) -> ApiError
    where
        E: aws_sdk_iot::error::ProvideErrorMetadata + std::error::Error + 'static,
        aws_sdk_iot::error::SdkError<E>: aws_sdk_iot::operation::RequestId,
    {
        use aws_sdk_iot::error::ProvideErrorMetadata;
        let mut error = super::errors::api_error(operation, err);
        error.endpoint = self.endpoint();
        let endpoint = error.endpoint.as_deref().unwrap_or("the endpoint");
        let waited = call.started.elapsed().as_secs_f64();
        let (connect, read) = self.timeouts;
        let read = humantime::format_duration(read);
        error.message = match error.kind {
            ErrorKind::NotAws => format!(
                "{endpoint} answered {}: it does not look like AWS IoT (check --endpoint-url, AWS_ENDPOINT_URL_IOT and AWS_ENDPOINT_URL)",
                error.message
            ),
            ErrorKind::BadResponse if super::body::cut_off(err).is_some() => {
                format!("{endpoint} answered {} (after {waited:.1}s)", error.message)
            }
            ErrorKind::BadResponse => format!(
                "{endpoint} answered {} (after {waited:.1}s; a body that stalls is cut off after --read-timeout {read})",
                error.message,
            ),
            ErrorKind::Unreachable => {
                let mut message = format!(
                    "could not reach {endpoint} (waited {waited:.1}s; --connect-timeout {}, --read-timeout {read}): {}",
                    humantime::format_duration(connect),
                    error.message,
                );
                if untrusted_certificate(err) {
                    message.push_str(
                        " (the endpoint's certificate is not signed by a trusted CA: pass --ca-bundle, set AWS_CA_BUNDLE or the profile's ca_bundle)",
                    );
                }
                message
            }
            // An answer without AWS's own message ("HTTP 502 with no error message").
            _ if err.message().is_none() && err.raw_response().is_some() => {
                format!("{endpoint} answered {}", error.message)
            }
            _ => format!("{} (from {endpoint})", error.message),
        };
        error.message = self.calls.scrub(&error.message);
        if error.ends_the_run() {
            let mut tripped = lock(&self.calls.unreachable);
            if tripped.is_none() {
                // Without this call's subject: the calls it ends are about other things.
                *tripped = Some(error.clone());
            }
        }
        if let Some(about) = about(operation, &call.subject) {
            error.message = format!("{} ({about})", error.message);
        }
        error
    }
}

/// What a call of `operation` is about, in words ("job `a`"); `None` for calls about the whole
/// account.
fn about(operation: &str, subject: &str) -> Option<String> {
    let what = match operation {
        "ListJobs" | "ListJobTemplates" => return None,
        "ListTagsForResource" | "TagResource" | "UntagResource" => "resource",
        "DescribeThing" => "thing",
        "DescribeThingGroup" => "thing group",
        "DescribeJobTemplate"
        | "DescribeManagedJobTemplate"
        | "CreateJobTemplate"
        | "DeleteJobTemplate" => "job template",
        _ => "job",
    };
    Some(format!("{what} `{subject}`"))
}

/// Whether a failure's cause is a TLS certificate rustls would not trust.
fn untrusted_certificate(err: &(dyn std::error::Error + 'static)) -> bool {
    matches!(
        super::errors::find_cause::<rustls::Error>(err),
        Some(rustls::Error::InvalidCertificate(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_is_shown_without_its_credentials_path_or_query() {
        for (url, shown) in [
            (
                "https://iot.us-east-1.amazonaws.com",
                "https://iot.us-east-1.amazonaws.com",
            ),
            (
                "http://admin:hunter2@host:8080/jobs?x=1",
                "http://***@host:8080",
            ),
            ("http://user@host", "http://***@host"),
            // An `@` in the password: the host is what follows the last one.
            ("http://a:p@ss@host/", "http://***@host"),
            ("https://host/?X-Amz-Signature=abc", "https://host"),
        ] {
            assert_eq!(redact_endpoint(url).as_deref(), Some(shown), "{url}");
        }
        assert_eq!(redact_endpoint("not a url"), None);
    }

    #[test]
    fn the_secret_parts_of_an_endpoint_are_scrubbed_from_messages() {
        let calls = Calls::default();
        calls.keep_secret(
            "http://admin:hunter2@host/?X-Amz-Signature=abc#frag",
            Parts::UserinfoAndQuery,
        );
        calls.keep_secret("https://plain.example.com/jobs", Parts::UserinfoAndQuery);
        // A request's own query is no secret, and is not remembered.
        calls.keep_secret(
            "http://admin:hunter2@host/tags?resourceArn=arn%3Aaws%3Aiot",
            Parts::Userinfo,
        );
        assert_eq!(
            *lock(&calls.secrets),
            vec![
                "admin:hunter2".to_string(),
                "X-Amz-Signature=abc".to_string()
            ]
        );
        assert_eq!(
            calls.scrub("error sending http://admin:hunter2@host/?X-Amz-Signature=abc"),
            "error sending http://***@host/?***"
        );
    }
}

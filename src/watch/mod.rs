//! `jobctl watch`: the long-running reconciler. It owns the loop (when to reconcile), not the
//! reconciling: every pass is [`crate::engine::reconcile::pass`], the one `jobctl apply` runs,
//! with a driver that applies what is safe and keeps the retry schedule.
//!
//! Triggers are file-system hints (debounced, then confirmed by a content fingerprint), a resync
//! timer for drift on the AWS side, and per-job backoff expiries. Errors are split the watchexec
//! way: [`FatalError`] ends the process at start-up; everything at run time is reported (logs,
//! `/readyz`, `/metrics`) and retried.

pub mod backoff;
pub mod fs;
pub mod http;
pub mod jobs;
pub mod metrics;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::aws::{ApiStats, JobsApi};
use crate::domain::ResourceId;
use crate::engine::apply::Outcome;
use crate::engine::health;
use crate::engine::plan::{Action, Plan};
use crate::engine::reconcile::{self, Planned};
use crate::engine::refresh::OwnerCache;
use crate::engine::Settings;
use crate::manifest::{self, ManifestSet};
use crate::shutdown::Shutdown;
use backoff::Backoff;
use metrics::Metrics;

/// Errors that end the daemon: only at start-up, before any reconcile ran.
#[derive(Debug, thiserror::Error)]
pub enum FatalError {
    #[error("manifest root {0} does not exist")]
    RootMissing(PathBuf),
    #[error("failed to listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to watch the manifest tree: {0}")]
    Watch(#[from] notify::Error),
}

#[derive(Debug, Clone)]
pub struct Config {
    pub paths: Vec<PathBuf>,
    pub settings: Settings,
    pub debounce: Duration,
    pub resync_interval: Duration,
    pub shutdown_timeout: Duration,
    pub listen_addr: Option<SocketAddr>,
    /// `/healthz` fails once a pass has run longer than this, so a supervisor restarts a
    /// daemon that is wedged (`--max-pass-duration`).
    pub max_pass_duration: Duration,
    /// The instance name given on the command line (`--instance`), which wins over
    /// `jobctl.yaml` when the file is re-read on SIGHUP.
    pub instance_flag: Option<String>,
}

/// Prune waits one more settle period when a tree has lost more than this share of the jobs
/// it declared at the last complete pass: a checkout or sync half-way through looks like that.
pub const PRUNE_HOLD_LOST_SHARE: f64 = 0.5;

/// Why a pass runs; a label on the reconcile counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Start,
    Change,
    Resync,
    Retry,
    /// SIGHUP: `jobctl.yaml` re-read, then a full pass at once.
    Reload,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Change => "change",
            Self::Resync => "resync",
            Self::Retry => "retry",
            Self::Reload => "reload",
        }
    }
}

/// Runs until the first signal (`shutdown`); each message on `reload` (SIGHUP) re-reads
/// `jobctl.yaml` and starts a full pass. Returns `Err` only for start-up failures.
pub async fn run(
    mut config: Config,
    api: Arc<dyn JobsApi>,
    api_stats: Arc<ApiStats>,
    shutdown: Shutdown,
    mut reload: mpsc::Receiver<()>,
) -> Result<(), FatalError> {
    for path in &config.paths {
        if !path.exists() {
            return Err(FatalError::RootMissing(path.clone()));
        }
    }
    let metrics = Arc::new(Metrics::new(api_stats, config.max_pass_duration));
    if let Some(addr) = config.listen_addr {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| FatalError::Listen { addr, source })?;
        if let Ok(bound) = listener.local_addr() {
            // Like the emulator: the first stdout line says where to reach us (port 0 works).
            println!("listening on http://{bound}");
        }
        tokio::spawn(http::serve(listener, Arc::clone(&metrics)));
    }
    let (hint_tx, mut hints) = mpsc::channel::<()>(1);
    let mut watcher = fs::TreeWatcher::new(&config.paths, hint_tx)?;

    let mut state = PassState {
        backoff: Backoff::default(),
        stop: shutdown.clone(),
        last_fingerprint: None,
        last_good_jobs: None,
        tree_was_absent: false,
        prune_held: None,
        events: 0,
        prune_read: None,
        rollouts_moving: false,
        owners: OwnerCache::default(),
    };
    let mut next_resync = Instant::now() + config.resync_interval;
    let mut settle: Option<(Instant, Instant)> = None; // (deadline, first hint + cap)
    let mut trigger = Some(Trigger::Start);

    loop {
        if shutdown.requested() {
            break;
        }
        if let Some(why) = trigger.take() {
            watcher.rewatch_if_moved(&config.paths);
            let pass = run_pass(&config, &*api, &metrics, &mut state, why, &mut hints);
            tokio::select! {
                moving = pass => {
                    if moving {
                        let now = Instant::now();
                        settle = Some((now + config.debounce, now + config.debounce * 10));
                    }
                }
                () = drain_on_shutdown(&shutdown, config.shutdown_timeout) => {
                    tracing::warn!(timeout_s = config.shutdown_timeout.as_secs(), "shutdown timeout reached with calls still in flight");
                    break;
                }
            }
            watcher.rewatch_if_moved(&config.paths);
            if why != Trigger::Retry {
                next_resync = Instant::now() + config.resync_interval;
            }
            continue;
        }
        let retry_at = state.backoff.next_due().map(Instant::from_std);
        // While events are settling, the settle deadline replaces the resync timer.
        let mut wake = match settle {
            Some((deadline, cap)) => deadline.min(cap),
            None => next_resync,
        };
        if let Some(at) = retry_at {
            wake = wake.min(at);
        }
        let rollout_at = state
            .rollouts_moving
            .then(|| Instant::now() + ROLLOUT_RECHECK);
        if let Some(at) = rollout_at {
            wake = wake.min(at);
        }
        tokio::select! {
            () = shutdown.wait() => break,
            Some(()) = reload.recv() => {
                reload_root_config(&mut config);
                // A full pass: every job, those waiting in backoff included, whatever the
                // fingerprint says. It also covers any file events still settling.
                state.backoff = Backoff::default();
                settle = None;
                trigger = Some(Trigger::Reload);
            }
            hint = hints.recv() => {
                if hint.is_some() {
                    state.events += 1;
                    // Re-armed at once, so events in a recreated root are not lost while
                    // the events about its creation settle.
                    watcher.rewatch_if_moved(&config.paths);
                    let now = Instant::now();
                    // Trailing debounce, with a cap so a constant stream of events cannot
                    // postpone reconciling for ever.
                    settle = Some(match settle {
                        Some((_, cap)) => (now + config.debounce, cap),
                        None => (now + config.debounce, now + config.debounce * 10),
                    });
                }
            }
            () = tokio::time::sleep_until(wake) => {
                let now = Instant::now();
                if settle.is_some_and(|(deadline, cap)| now >= deadline || now >= cap) {
                    settle = None;
                    trigger = Some(Trigger::Change);
                } else if now >= next_resync && settle.is_none() {
                    // Never resync in the middle of a burst of file events.
                    trigger = Some(Trigger::Resync);
                } else if retry_at.is_some_and(|at| now >= at) {
                    trigger = Some(Trigger::Retry);
                } else if rollout_at.is_some_and(|at| now >= at) && settle.is_none() {
                    trigger = Some(Trigger::Resync);
                }
            }
        }
    }
    tracing::info!("watch stopped");
    Ok(())
}

/// SIGHUP: reads the roots' `jobctl.yaml` again. A file that cannot be read keeps the instance
/// the daemon runs as (a broken edit must not change which jobs it owns); `--instance` still wins.
fn reload_root_config(config: &mut Config) {
    let current = config.settings.instance.clone();
    match manifest::root_config::instance(config.instance_flag.as_deref(), &config.paths) {
        Ok(name) if name == current => {
            tracing::info!(instance = %name, "SIGHUP: jobctl.yaml re-read, instance unchanged");
        }
        Ok(name) => {
            tracing::warn!(from = %current, to = %name, "SIGHUP: jobctl.yaml re-read, the instance changed; from now on this daemon owns the jobs of instance `{name}`");
            config.settings.instance = name;
        }
        Err(err) => {
            tracing::error!(instance = %current, "SIGHUP: jobctl.yaml could not be read, keeping instance `{current}`: {err}");
        }
    }
}

/// Warn-level logs when a rollout promotes, halts or waits for approval.
fn log_rollout(run: &crate::engine::advance::RolloutRun) {
    use crate::engine::advance::RolloutEvent;
    for event in &run.events {
        match event {
            RolloutEvent::Promoted { from, to } => {
                tracing::warn!(rollout = %run.job_id, from = %from, to = %to, "rollout promoted");
            }
            RolloutEvent::Halted { stage, comment } => {
                tracing::warn!(rollout = %run.job_id, stage = %stage, "rollout halted: {comment}");
            }
            RolloutEvent::AwaitingApproval { stage } => {
                tracing::warn!(rollout = %run.job_id, stage = %stage, "rollout waits for approval: jobctl promote {}", run.job_id);
            }
            RolloutEvent::GateHeld { stage } => {
                tracing::info!(rollout = %run.job_id, stage = %stage, "rollout gate holds; soak starts");
            }
            RolloutEvent::Resumed { stage } => {
                tracing::info!(rollout = %run.job_id, stage = %stage, "rollout stage resumed");
            }
            RolloutEvent::Completed { stage } => {
                tracing::warn!(rollout = %run.job_id, stage = %stage, "rollout complete; its job is closed");
            }
        }
    }
    if let Some(error) = &run.error {
        tracing::error!(rollout = %run.job_id, "rollout not advanced: {error}");
    }
}

/// Completes when shutdown was requested and the grace period is over.
async fn drain_on_shutdown(shutdown: &Shutdown, grace: Duration) {
    // Apply starts no new change from here on: it watches the same token.
    shutdown.wait().await;
    tracing::info!(
        grace_s = grace.as_secs(),
        "shutting down: no new changes, waiting for calls in flight"
    );
    tokio::time::sleep(grace).await;
}

/// What the manifests say, reduced to a number: jobs and diagnostics, not file metadata, so a
/// touch or a git checkout of identical content does not trigger a reconcile.
fn fingerprint(set: &ManifestSet) -> u64 {
    let mut hasher = DefaultHasher::new();
    for job in &set.jobs {
        job.job_id.hash(&mut hasher);
        serde_json::to_string(&job.spec)
            .unwrap_or_default()
            .hash(&mut hasher);
    }
    for diag in &set.diagnostics {
        diag.code.code().hash(&mut hasher);
        diag.file.display.hash(&mut hasher);
        diag.location.map(|l| (l.line, l.col)).hash(&mut hasher);
        diag.message.hash(&mut hasher);
    }
    set.complete.hash(&mut hasher);
    hasher.finish()
}

/// What passes carry over from one to the next.
struct PassState {
    backoff: Backoff,
    /// The first signal; apply starts no new change once it came.
    stop: Shutdown,
    /// The manifests as of the last pass, to skip file events that changed nothing.
    last_fingerprint: Option<u64>,
    /// Jobs declared at the last complete pass that was free to prune.
    last_good_jobs: Option<usize>,
    /// At the last pass, a root was missing or held no manifest.
    tree_was_absent: bool,
    /// The tree (as its fingerprint) for which prune waits one more settle period.
    prune_held: Option<u64>,
    /// File events seen so far (a count, never reset): "no event between two reads" is this
    /// number unchanged.
    events: u64,
    /// The read a prune waits to see confirmed: the tree's fingerprint, when it was read, and
    /// [`PassState::events`] then. A later pass prunes only when its read agrees, at least one
    /// settle period later, with no file event in between.
    prune_read: Option<PruneRead>,
    /// A rollout is running or soaking: the loop looks again after [`ROLLOUT_RECHECK`]
    /// instead of waiting for the resync interval.
    rollouts_moving: bool,
    /// Undeclared jobs already found to be someone else's: with `--prune`, their tags are not
    /// read again on every pass (1,000 foreign jobs cost 100 s of ListTagsForResource at
    /// 10 TPS). Cleared by SIGHUP, so a job re-tagged for this instance is seen on demand.
    owners: OwnerCache,
}

/// How soon the daemon looks at a rollout again while a stage runs or soaks.
const ROLLOUT_RECHECK: Duration = Duration::from_secs(5);

/// Why prune must wait one more settle period before acting on this tree, if it must: a tree
/// that has just reappeared, or that lost more than [`PRUNE_HOLD_LOST_SHARE`] of its jobs since
/// the last good pass, is often a checkout in progress rather than what the user meant.
fn prune_hold_reason(
    was_absent: bool,
    last_good_jobs: Option<usize>,
    absent_now: bool,
    jobs_now: usize,
) -> Option<String> {
    if was_absent && !absent_now {
        return Some("the manifest tree has just reappeared".into());
    }
    let good = last_good_jobs?;
    #[allow(clippy::cast_precision_loss)]
    let lost = good.saturating_sub(jobs_now) as f64 / good.max(1) as f64;
    (lost > PRUNE_HOLD_LOST_SHARE).then(|| {
        format!(
            "the tree declares {jobs_now} job(s), {} fewer than the {good} of the last complete pass",
            good - jobs_now
        )
    })
}

/// One pass. Returns true when files changed while they were being read: the tree may have
/// been half-written, so the caller schedules another pass.
async fn run_pass(
    config: &Config,
    api: &dyn JobsApi,
    metrics: &Metrics,
    state: &mut PassState,
    trigger: Trigger,
    hints: &mut mpsc::Receiver<()>,
) -> bool {
    let PassState {
        backoff,
        stop,
        last_fingerprint,
        last_good_jobs,
        tree_was_absent,
        prune_held,
        rollouts_moving,
        owners,
        events,
        prune_read,
    } = state;
    // Hints that arrived before this read are covered by it.
    while hints.try_recv().is_ok() {
        *events += 1;
    }
    let read_at = Instant::now();
    // Each pass is a run of its own: an outage seen in the last one must not fail this one unread.
    api.new_run();
    let paths = config.paths.clone();
    let mut set = match tokio::task::spawn_blocking(move || manifest::load(&paths)).await {
        Ok(set) => set,
        Err(err) => {
            tracing::error!(error = %err, "manifest loading panicked");
            return true;
        }
    };
    // The loader's parse trees are freed by now; their pages go back before the account is
    // read, so the reads' high-water mark does not sit on top of the loader's.
    release_freed_memory();
    // A tree that changed under the read (a checkout or copy in progress) may be missing files
    // that still exist in git: reconcile what was read, but never prune from it.
    let moving = hints.try_recv().is_ok();
    if moving {
        *events += 1;
    }
    if moving {
        set.complete = false;
    }
    let print = fingerprint(&set);
    // A held or deferred prune is re-checked after one settle period even if nothing changed.
    if trigger == Trigger::Change
        && *last_fingerprint == Some(print)
        && !moving
        && prune_held.is_none()
        && prune_read.is_none()
    {
        tracing::debug!("file events, but the manifests did not change");
        return false;
    }
    // Failures are retried by the backoff schedule, not by file events that change nothing.
    *last_fingerprint = Some(print);
    let started = std::time::Instant::now();
    metrics.begin(trigger);
    for diag in &set.diagnostics {
        if diag.is_error() {
            tracing::error!(code = diag.code.code(), position = %diag.position(), "{}", diag.message);
        } else {
            tracing::warn!(code = diag.code.code(), position = %diag.position(), "{}", diag.message);
        }
    }
    metrics.set_manifests(set.jobs.len(), set.error_count());
    let manifest_errors = set.error_count();
    let mut coverage = reconcile::Coverage {
        incomplete: set.incomplete_reason(),
        empty_roots: set.prune_empty_roots(),
        templates: std::mem::take(&mut set.templates),
    };
    let absent_now = set.roots.iter().any(|r| !r.exists || r.manifests == 0);
    let wants_prune = config.settings.prune || config.settings.prune_delete;
    let mut hold = false;
    if wants_prune && coverage.incomplete.is_none() && *prune_held != Some(print) {
        if let Some(reason) = prune_hold_reason(
            *tree_was_absent,
            *last_good_jobs,
            absent_now,
            set.jobs.len(),
        ) {
            tracing::warn!(
                settle_ms = u64::try_from(config.debounce.as_millis()).unwrap_or(u64::MAX),
                "prune waits one more settle period: {reason}"
            );
            coverage.incomplete = Some(format!("prune waits one more settle period: {reason}"));
            *prune_held = Some(print);
            hold = true;
        }
    }
    if !hold {
        if prune_held.take().is_some() {
            tracing::info!("the manifest tree held still for a settle period; prune may act");
        }
        *tree_was_absent = absent_now;
        if coverage.incomplete.is_none() {
            *last_good_jobs = Some(set.jobs.len());
        }
    }
    let job_ids: Vec<String> = set.jobs.iter().map(|j| j.job_id.clone()).collect();
    if trigger == Trigger::Reload {
        *owners = OwnerCache::default();
    }
    let declared = reconcile::Declared {
        jobs: std::mem::take(&mut set.jobs),
        coverage,
        manifest_errors,
    };
    drop(set);
    let this_read = PruneRead {
        fingerprint: print,
        at: read_at,
        events: *events,
    };
    let prune_confirmed = prune_read
        .as_ref()
        .is_some_and(|earlier| earlier.confirmed_by(&this_read, config.debounce));
    let mut driver = DaemonDriver {
        api,
        metrics,
        backoff,
        max_failure_rate: config.settings.max_failure_rate,
        planned_changes: 0,
        blocked: 0,
        prune_confirmed,
        prune_deferred: 0,
    };
    let options = reconcile::PassOptions {
        mode: reconcile::Mode::WhatIsSafe,
        stop: stop.clone(),
    };
    // The same pass as `jobctl apply`; the daemon's driver applies what is safe and keeps the
    // retry schedule. The plan is moved into it, not cloned: at 10,000 jobs a copy is tens of
    // MiB at the pass's peak.
    let mut pass = reconcile::Pass::default();
    let read = reconcile::pass(
        api,
        declared,
        &config.settings,
        owners,
        &options,
        &mut driver,
        &mut pass,
    )
    .await;
    if let Err(err) = read {
        pass.planned = Planned::unreadable(job_ids, &err);
        driver.account_for(&mut pass.planned).await;
    }
    let DaemonDriver {
        planned_changes,
        blocked,
        backoff,
        prune_deferred,
        ..
    } = driver;
    // A prune waits for the next read to confirm it; any other pass forgets the earlier read.
    *prune_read = (prune_deferred > 0).then_some(this_read);
    let mut failures = 0;
    let results = match &pass.applied {
        Some(reconcile::Applied::Results(results)) => results.as_slice(),
        _ => &[],
    };
    for result in results {
        match &result.outcome {
            Outcome::Done | Outcome::AlreadyExists => {
                backoff.succeeded(&result.resource);
                metrics.change_applied(result.action);
            }
            Outcome::Failed {
                operation,
                code,
                message,
            } => {
                failures += 1;
                let delay = backoff.failed(&result.resource);
                tracing::error!(resource = %result.resource, action = result.action.as_str(), operation = %operation, code = %code, retry_in_s = delay.as_secs_f64(), "{message}");
            }
            Outcome::Skipped { .. } => {}
        }
    }
    // Rollouts move as far as they can on every pass.
    *rollouts_moving = pass.rollouts.moving;
    for run in &pass.rollouts.rollouts {
        log_rollout(run);
    }
    metrics.rollouts_advanced(&pass.rollouts.rollouts);
    let planned = &pass.planned;
    // AWS answered everything: a success, even if manifests are broken or changes blocked.
    let api_ok = planned.errors.is_empty() && failures == 0;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    metrics.finish(&metrics::PassOutcome {
        duration: started.elapsed(),
        api_ok,
        blocked,
        in_backoff: backoff.len(),
        finished_at: now,
        not_ready: readiness_reason(planned, manifest_errors, failures, blocked, backoff.len()),
    });
    tracing::info!(
        trigger = trigger.as_str(),
        duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        jobs = planned_changes,
        errors = planned.errors.len(),
        failures,
        blocked,
        invalid_manifests = manifest_errors,
        "reconcile finished"
    );
    drop(pass);
    release_freed_memory();
    // A held or deferred prune is looked at again after one settle period.
    moving || hold || prune_deferred > 0
}

/// One read of the tree, as a prune's confirmation needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PruneRead {
    fingerprint: u64,
    at: Instant,
    events: u64,
}

impl PruneRead {
    /// Whether `later` confirms this read: the same tree, read at least one settle period
    /// later, with no file event in between. A prune decided on this read alone could rest on
    /// a file renamed away and back while it was being read (issue 26: a rename storm).
    fn confirmed_by(&self, later: &Self, settle: Duration) -> bool {
        later.fingerprint == self.fingerprint
            && later.events == self.events
            && later.at.saturating_duration_since(self.at) >= settle
    }
}

/// The daemon around a pass: logs, gauges and the retry schedule. Nobody approves a plan, so
/// the review leaves out what must wait (blocked changes, changes in backoff) and applies the
/// rest.
struct DaemonDriver<'a> {
    api: &'a dyn JobsApi,
    metrics: &'a Metrics,
    backoff: &'a mut Backoff,
    max_failure_rate: f64,
    /// How many changes the pass planned, before any was held back.
    planned_changes: usize,
    /// How many were blocked.
    blocked: usize,
    /// This pass's read confirms the last one's: prune may act.
    prune_confirmed: bool,
    /// Prune changes held back for a second read.
    prune_deferred: usize,
}

impl DaemonDriver<'_> {
    /// Logs the plan's notes, errors and blocked changes, updates the gauges and the retry
    /// schedule, and leaves out the changes that must wait.
    async fn account_for(&mut self, planned: &mut Planned) {
        for note in &planned.plan.notes {
            tracing::warn!("{note}");
        }
        job_gauges(self.api, self.metrics, &planned.plan, self.max_failure_rate).await;
        for error in &planned.errors {
            tracing::error!(resource = %error.resource, operation = error.operation.unwrap_or(""), "{}", error.message);
            self.backoff.failed(&error.resource);
        }
        // Resources that need nothing any more leave the retry schedule; so do those no longer
        // declared.
        let known: std::collections::HashSet<&ResourceId> = planned
            .plan
            .changes
            .iter()
            .map(|c| &c.resource)
            .chain(planned.errors.iter().map(|e| &e.resource))
            .collect();
        self.backoff.retain(|resource| known.contains(resource));
        for change in &planned.plan.changes {
            // Unchanged ones need no retry; blocked ones wait for a person, not for a timer (a
            // stale entry would otherwise wake the loop for ever).
            if change.action == Action::Unchanged || change.blocked.is_some() {
                self.backoff.succeeded(&change.resource);
            }
        }
        self.planned_changes = planned.plan.changes.len();
        for change in planned.plan.blocked() {
            self.blocked += 1;
            tracing::error!(resource = %change.resource, action = change.action.as_str(), "blocked: {}", change.blocked.as_deref().unwrap_or_default());
        }
        // Prune acts only on two reads that agree (see `PruneRead`); the first one defers it.
        if !self.prune_confirmed {
            let before = planned.plan.changes.len();
            planned
                .plan
                .changes
                .retain(|c| c.blocked.is_some() || !is_prune(c));
            self.prune_deferred = before - planned.plan.changes.len();
            if self.prune_deferred > 0 {
                tracing::warn!(
                    count = self.prune_deferred,
                    "prune waits one settle period for a second read of the tree to agree that no manifest declares them"
                );
            }
        }
        let backoff = &*self.backoff;
        planned.plan.changes.retain(|c| {
            c.blocked.is_none() && (c.action == Action::Unchanged || !backoff.waiting(&c.resource))
        });
    }
}

/// A change that prunes: cancels or deletes what no manifest declares.
fn is_prune(change: &crate::engine::plan::Change) -> bool {
    matches!(change.action, Action::Cancel | Action::Delete)
}

#[async_trait::async_trait]
impl reconcile::Driver for DaemonDriver<'_> {
    async fn review(
        &mut self,
        planned: &mut Planned,
        _refused: Option<reconcile::Refusal>,
    ) -> bool {
        self.account_for(planned).await;
        true
    }
}

/// Updates the per-job gauges from the counts the plan read, and reads once each owned job
/// that left the active set since the last pass, for its final counts.
async fn job_gauges(api: &dyn JobsApi, metrics: &Metrics, plan: &Plan, default_tolerance: f64) {
    for (job_id, tolerance) in metrics.jobs_observed(plan, default_tolerance) {
        match api.describe_job(&job_id).await {
            Ok(Some(job)) => {
                let health = health::of_job(&job.status, &job.spec, &job.progress, tolerance);
                metrics.job_finished(&job_id, Some((health, job.progress.details)));
            }
            Ok(None) => metrics.job_finished(&job_id, None),
            // Its last values stay until the series expire.
            Err(err) => {
                tracing::debug!(job_id, error = %err, "final read of a finished job failed")
            }
        }
    }
}

/// Keeps the daemon to one malloc arena. glibc gives each thread that allocates its own arena
/// (up to 8 per core), and memory freed in one arena is never reused by another: the loader's
/// threads, the blocking pool and the runtime thread each keep their own high-water mark. For
/// `jobctl watch` with 10,000 manifests that was a third of the peak (177 MiB with the default,
/// 143 MiB with one arena, debug build; see docs/benchmarks.md). The daemon is I/O-bound on one
/// runtime thread, so lock contention on one arena costs nothing measurable. Must run before any
/// other thread starts. A `MALLOC_ARENA_MAX` set in the environment is left to decide.
///
/// It also fixes the mmap threshold at 128 KiB. glibc raises it to the size of each large block
/// freed (up to 32 MiB), after which the pass's large vectors and tables come from the heap and
/// their pages stay resident once freed; with a fixed threshold they are mapped and unmapped.
/// 10,000 manifests, release: 75.1 MiB peak before, 71.2 MiB after (docs/benchmarks.md).
/// `MALLOC_MMAP_THRESHOLD_` in the environment is left to decide.
#[allow(unsafe_code)]
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; it is called before the runtime
        // and any other thread exist, and a failure (return 0) leaves glibc's default.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: as above.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        }
    }
}

/// Hands memory freed by a pass back to the OS. glibc keeps freed heap pages by default, so a
/// daemon's resident size would otherwise stay at the high-water mark of its largest pass.
// glibc's allocator has no safe interface to give memory back.
#[allow(unsafe_code)]
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks and trims the allocator's own free lists; it has no
    // preconditions and is safe to call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn readiness_reason(
    planned: &Planned,
    manifest_errors: usize,
    failures: usize,
    blocked: usize,
    in_backoff: usize,
) -> Option<String> {
    let mut reasons = Vec::new();
    if manifest_errors > 0 {
        reasons.push(format!("{manifest_errors} invalid manifest problem(s)"));
    }
    if !planned.errors.is_empty() {
        reasons.push(format!(
            "{} job(s) could not be planned",
            planned.errors.len()
        ));
    }
    if failures > 0 {
        reasons.push(format!("{failures} job(s) failed to apply"));
    }
    if blocked > 0 {
        reasons.push(format!("{blocked} change(s) blocked"));
    }
    if in_backoff > 0 && failures == 0 && planned.errors.is_empty() {
        reasons.push(format!("{in_backoff} job(s) waiting to be retried"));
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

#[cfg(test)]
mod tests {
    use super::{prune_hold_reason, Duration, Instant, PruneRead};

    #[test]
    fn a_prune_read_is_confirmed_only_by_the_same_tree_later_with_no_event_between() {
        let settle = Duration::from_millis(150);
        let first = PruneRead {
            fingerprint: 7,
            at: Instant::now(),
            events: 3,
        };
        let later = PruneRead {
            at: first.at + settle,
            ..first
        };
        assert!(first.confirmed_by(&later, settle));
        let too_soon = PruneRead {
            at: first.at + settle / 2,
            ..first
        };
        assert!(
            !first.confirmed_by(&too_soon, settle),
            "within the settle period"
        );
        let moved = PruneRead { events: 4, ..later };
        assert!(
            !first.confirmed_by(&moved, settle),
            "a file event in between"
        );
        let other = PruneRead {
            fingerprint: 8,
            ..later
        };
        assert!(!first.confirmed_by(&other, settle), "another tree");
    }

    #[test]
    fn prune_waits_when_the_tree_reappears_or_loses_most_of_its_jobs() {
        assert!(prune_hold_reason(true, Some(5), false, 5)
            .is_some_and(|r| r.contains("just reappeared")));
        assert!(prune_hold_reason(false, Some(5), false, 2)
            .is_some_and(|r| r.contains("3 fewer than the 5")));
        assert_eq!(prune_hold_reason(false, Some(5), false, 3), None);
        assert_eq!(prune_hold_reason(false, None, false, 0), None);
        assert_eq!(
            prune_hold_reason(true, Some(5), true, 0).map(|_| ()),
            Some(())
        );
    }
}

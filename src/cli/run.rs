//! What `plan` and `apply` share around the engine's one pass: load the manifests, connect, run
//! [`reconcile::pass`] with a driver that shows the plan and asks, all under the run's deadline
//! and the first Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::config::RunConfig;
use super::spinner::Spinner;
use crate::aws::IotJobs;
use crate::engine::advance::Advance;
use crate::engine::apply::JobResult;
use crate::engine::reconcile::{
    self, Applied, Declared, Driver, Mode, PassOptions, Planned, Refusal, Stage,
};
use crate::engine::refresh::OwnerCache;
use crate::engine::saved::AccountState;
use crate::manifest::{self, diagnostic::Diagnostic};
use crate::output::Output;
use crate::report::{Failure, FailureKind, PlanReport, Scope};
use crate::shutdown::Shutdown;

/// A run's deadline (`--timeout`): when it passes, the run stops and says what it was waiting
/// for, and jobctl exits 3.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    limit: Duration,
    at: tokio::time::Instant,
}

impl Deadline {
    /// The deadline of a run that starts now; `None` runs without one.
    pub fn start(limit: Option<Duration>) -> Option<Self> {
        limit.map(|limit| Self {
            limit,
            at: tokio::time::Instant::now() + limit,
        })
    }

    /// The `--timeout` given.
    pub fn limit(&self) -> Duration {
        self.limit
    }
}

/// Resolves when `deadline` passes; never without one.
pub async fn passed(deadline: Option<Deadline>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.at).await,
        None => std::future::pending().await,
    }
}

/// Runs `work` until the deadline, or until the first signal when `interruptible` says the work
/// may be dropped then (reads; an apply instead finishes what is under way and reports). When
/// either comes first the work is dropped (calls in flight are abandoned) and the failure names
/// the AWS call that was waiting longest.
pub async fn guarded<T>(
    deadline: Option<Deadline>,
    shutdown: &Shutdown,
    api: &IotJobs,
    doing: &(dyn Fn() -> &'static str + Sync),
    interruptible: &(dyn Fn() -> bool + Sync),
    work: impl std::future::Future<Output = T>,
) -> Result<T, Failure> {
    // Pinned here so that the calls in flight are still registered (not yet dropped) when the
    // message below asks which one was waiting.
    tokio::pin!(work);
    let mut signalled = false;
    loop {
        tokio::select! {
            value = &mut work => return Ok(value),
            () = passed(deadline) => {
                let limit = deadline.map(|d| d.limit).unwrap_or_default();
                let message = format!(
                    "--timeout {} passed while {}; {}",
                    humantime::format_duration(limit),
                    doing(),
                    in_flight(api)
                );
                return Err(Failure::new(FailureKind::Timeout, message));
            }
            () = shutdown.wait(), if !signalled => {
                signalled = true;
                if interruptible() {
                    let message = format!("{} while {}; {}", shutdown.cause(), doing(), in_flight(api));
                    return Err(Failure::stopped(shutdown, message));
                }
            }
        }
    }
}

/// Which AWS call was waiting longest, for a deadline's or a signal's message.
fn in_flight(api: &IotJobs) -> String {
    let endpoint = api
        .endpoint()
        .unwrap_or_else(|| "the AWS endpoint".to_string());
    match api.waiting() {
        Some(waiting) => format!(
            "it was waiting {:.1}s for {} ({}) at {endpoint}",
            waiting.waited.as_secs_f64(),
            waiting.operation,
            waiting.subject
        ),
        None => format!("no call to {endpoint} was in flight (calls are paced by --rate-limit)"),
    }
}

/// The manifests loaded and the client connected: what a pass starts from.
pub struct Loaded {
    pub api: IotJobs,
    pub config: RunConfig,
    pub deadline: Option<Deadline>,
    pub declared: Declared,
    pub diagnostics: Vec<Diagnostic>,
    /// Every file the load read (for a saved plan's fingerprint).
    pub read: Vec<PathBuf>,
    /// Remarks of the load that belong in the plan (files skipped).
    pub notes: Vec<String>,
}

/// Loads (problems shown at once) and connects. A failure is rendered here and returned as the
/// exit code.
pub async fn load(config: RunConfig, out: &Output) -> Result<Loaded, u8> {
    let deadline = Deadline::start(config.timeout);
    let mut set = manifest::load(&config.paths);
    out.loaded(&set.diagnostics);
    let api = match IotJobs::connect(&config.connection).await {
        Ok(api) => api,
        Err(err) => {
            let mut failure = Failure::new(FailureKind::Connect, err.to_string());
            failure.diagnostics = set.diagnostics;
            out.failure(&failure);
            return Err(super::exit::ERROR);
        }
    };
    let declared = Declared {
        coverage: reconcile::Coverage {
            incomplete: set.incomplete_reason(),
            empty_roots: set.prune_empty_roots(),
            templates: std::mem::take(&mut set.templates),
        },
        jobs: std::mem::take(&mut set.jobs),
        manifest_errors: set.error_count(),
    };
    Ok(Loaded {
        api,
        config,
        deadline,
        declared,
        notes: set.skipped_note().into_iter().collect(),
        read: std::mem::take(&mut set.read),
        diagnostics: set.diagnostics,
    })
}

/// A saved plan's check: whether the plan made now is the saved one (given the account state
/// it was made from).
pub type SavedCheck = Box<dyn FnMut(&PlanReport, &AccountState) -> bool + Send + Sync>;

/// What the driver does at the review, when nothing refused the plan first.
pub enum Review {
    /// Show the plan, then ask at the terminal before a destructive change unless `--yes`.
    Ask { yes: bool },
    /// A saved plan (`file`, made at `created_at`): carried out without asking, and only when
    /// `check` finds that nothing moved.
    Saved {
        check: SavedCheck,
        file: String,
        created_at: String,
    },
}

/// What one pass of `plan` or `apply` left.
pub struct Ran {
    pub plan: PlanReport,
    /// `None` for a preview.
    pub applied: Option<Applied>,
    pub rollouts: Advance,
    /// The account state the plan was made from (a saved plan's fingerprint).
    pub state: AccountState,
    /// Why the pass stopped before its end (`--timeout`, a signal), with what it did by then.
    pub stopped: Option<Failure>,
}

/// Runs one pass. `Err` is an exit code, the failure rendered already (the account could not be
/// read, or the deadline or a signal came before anything was applied).
pub async fn pass(
    loaded: &mut Loaded,
    mode: Mode,
    review: Review,
    out: &Output,
    shutdown: &Shutdown,
) -> Result<Ran, u8> {
    let declared = std::mem::take(&mut loaded.declared);
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let stage = Arc::new(AtomicU8::new(STAGE_READING));
    let mut driver = CliDriver {
        out,
        review,
        api: &loaded.api,
        config: &loaded.config,
        diagnostics: std::mem::take(&mut loaded.diagnostics),
        stage: Arc::clone(&stage),
        spinner: Some(Spinner::start(
            loaded.api.stats(),
            "reading the account",
            terminal,
        )),
        applied: Mutex::new(Vec::new()),
        total: AtomicUsize::new(0),
        shutdown: shutdown.clone(),
        kept: Planned::default(),
    };
    let options = PassOptions {
        mode,
        stop: shutdown.clone(),
    };
    let mut cache = OwnerCache::default();
    let settings = loaded.config.settings.clone();
    let doing = |stage: &AtomicU8| match stage.load(Ordering::SeqCst) {
        STAGE_APPLYING => Stage::Applying.doing(),
        STAGE_ADVANCING => Stage::Advancing.doing(),
        STAGE_REVIEWING => "waiting for an answer",
        _ => Stage::Reading.doing(),
    };
    let reading = |stage: &AtomicU8| stage.load(Ordering::SeqCst) == STAGE_READING;
    let mut pass = reconcile::Pass::default();
    let result = guarded(
        loaded.deadline,
        shutdown,
        &loaded.api,
        &|| doing(&stage),
        &|| reading(&stage),
        reconcile::pass(
            &loaded.api,
            declared,
            &settings,
            &mut cache,
            &options,
            &mut driver,
            &mut pass,
        ),
    )
    .await;
    if let Some(spinner) = driver.spinner.take() {
        spinner.stop().await;
    }
    let diagnostics = std::mem::take(&mut driver.diagnostics);
    let stopped = match result {
        Ok(Ok(())) => (shutdown.requested() && pass.applied.is_some()).then(|| {
            let what = match &pass.applied {
                Some(Applied::Refused(_)) => "nothing was applied",
                _ => "changes not yet started were skipped; the ones under way finished",
            };
            Failure::stopped(shutdown, format!("{}: {what}", shutdown.cause()))
        }),
        Ok(Err(err)) => {
            let mut failure = Failure::new(FailureKind::Aws, err.to_string());
            failure.diagnostics = diagnostics;
            out.failure(&failure);
            return Err(super::exit::ERROR);
        }
        // Stopped before anything could change: the failure says so, and nothing else.
        Err(mut failure)
            if pass.applied.is_none()
                && lock(&driver.applied).is_empty()
                && stage.load(Ordering::SeqCst) != STAGE_APPLYING =>
        {
            failure.diagnostics = diagnostics;
            out.failure(&failure);
            return Err(failure.exit_code());
        }
        // Stopped while applying or advancing: what was done by then is the report, with the
        // stop as its error.
        Err(failure) => {
            if pass.applied.is_none() {
                let done = std::mem::take(&mut *lock(&driver.applied));
                pass.applied = Some(Applied::Results(done));
            }
            Some(failure)
        }
    };
    let mut planned = pass.planned;
    let state = std::mem::take(&mut planned.state);
    let scope = scope_of(&loaded.api, &loaded.config, planned.account.clone());
    Ok(Ran {
        plan: report_of(scope, diagnostics, planned, &loaded.notes),
        applied: pass.applied,
        rollouts: pass.rollouts,
        state,
        stopped,
    })
}

const STAGE_READING: u8 = 0;
const STAGE_REVIEWING: u8 = 1;
const STAGE_APPLYING: u8 = 2;
const STAGE_ADVANCING: u8 = 3;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn scope_of(api: &IotJobs, config: &RunConfig, account: Option<String>) -> Scope {
    Scope::new(
        account,
        api.region(),
        api.endpoint(),
        &config.settings.instance,
    )
}

fn report_of(
    scope: Scope,
    diagnostics: Vec<Diagnostic>,
    mut planned: Planned,
    notes: &[String],
) -> PlanReport {
    planned.plan.notes.extend(notes.iter().cloned());
    PlanReport::new(scope, diagnostics, planned)
}

/// The CLI around a pass: a spinner while reading, the plan shown before anything changes, the
/// question at the terminal, a line per change applied.
struct CliDriver<'a> {
    out: &'a Output,
    review: Review,
    /// For the plan's scope: the endpoint is known once the account has been read.
    api: &'a IotJobs,
    config: &'a RunConfig,
    diagnostics: Vec<Diagnostic>,
    stage: Arc<AtomicU8>,
    spinner: Option<Spinner>,
    /// The results so far: an apply stopped by `--timeout` still reports them.
    applied: Mutex<Vec<JobResult>>,
    total: AtomicUsize,
    shutdown: Shutdown,
    /// What of the plan the review does not show (the account, the saved-plan state), kept
    /// while the report borrows the rest.
    kept: Planned,
}

#[async_trait::async_trait]
impl Driver for CliDriver<'_> {
    async fn stage(&mut self, stage: Stage) {
        let code = match stage {
            Stage::Reading => STAGE_READING,
            Stage::Applying => STAGE_APPLYING,
            Stage::Advancing => STAGE_ADVANCING,
        };
        self.stage.store(code, Ordering::SeqCst);
    }

    async fn review(&mut self, planned: &mut Planned, refused: Option<Refusal>) -> bool {
        self.stage.store(STAGE_REVIEWING, Ordering::SeqCst);
        if let Some(spinner) = self.spinner.take() {
            spinner.stop().await;
        }
        // The plan is shown as the report shows it, then handed back to the pass unchanged.
        let scope = scope_of(self.api, self.config, planned.account.clone());
        let mut whole = std::mem::take(planned);
        self.kept = Planned {
            account: whole.account.clone(),
            state: std::mem::take(&mut whole.state),
            ..Planned::default()
        };
        let report = PlanReport::new(scope, std::mem::take(&mut self.diagnostics), whole);
        let go = match &mut self.review {
            // A saved plan is compared first: what moved is the answer, whatever else is wrong.
            Review::Saved {
                check,
                file,
                created_at,
            } => {
                let same = check(&report, &self.kept.state);
                if same {
                    self.out.saved_plan_matches(file, created_at);
                    self.out.apply_started(&report);
                }
                same && refused.is_none()
            }
            // Refused anyway: the plan is shown, and nothing is asked.
            Review::Ask { .. } if refused.is_some() => {
                self.out.apply_started(&report);
                false
            }
            Review::Ask { yes } => {
                self.out.apply_started(&report);
                !must_confirm(&report.plan, *yes, terminal_answers())
                    || confirm(self.out, &report, &self.shutdown).await
            }
        };
        self.total
            .store(report.plan.changes_to_apply().count(), Ordering::SeqCst);
        let PlanReport {
            diagnostics,
            plan,
            errors,
            ..
        } = report;
        self.diagnostics = diagnostics;
        *planned = Planned {
            plan,
            errors,
            ..std::mem::take(&mut self.kept)
        };
        go
    }

    fn applied(&self, result: &JobResult) {
        let mut done = lock(&self.applied);
        done.push(result.clone());
        self.out
            .progress(done.len(), self.total.load(Ordering::SeqCst), result);
    }
}

/// Whether a person can answer a question: stdin and stderr are terminals.
fn terminal_answers() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Whether apply must ask before it starts: the plan replaces, cancels or deletes something, no
/// `--yes` was given, and a person can answer. Without a terminal nothing is asked:
/// `--allow-replace` and `--prune` are the guard there.
pub fn must_confirm(plan: &crate::engine::plan::Plan, yes: bool, terminal: bool) -> bool {
    use crate::engine::plan::Action;
    let destructive = plan.changes.iter().any(|c| {
        c.blocked.is_none() && matches!(c.action, Action::Replace | Action::Cancel | Action::Delete)
    });
    destructive && !yes && terminal
}

/// Asks on the terminal, as Terraform does: only `yes` goes ahead. The first Ctrl-C or SIGTERM
/// ends the question as a "no" (the reading thread is left behind: a blocked read of a terminal
/// cannot be cancelled, and the process exits soon after); the run's deadline drops the whole
/// pass (`guarded`), question included.
async fn confirm(out: &Output, report: &PlanReport, shutdown: &Shutdown) -> bool {
    tokio::select! {
        answer = out.ask(report) => answer,
        () = shutdown.wait() => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ResourceId;
    use crate::engine::plan::{Action, Change, Plan};

    fn plan(action: Action, blocked: bool) -> Plan {
        let mut change = Change::new(ResourceId::job("job"), action);
        change.blocked = blocked.then(|| "blocked".to_string());
        Plan {
            changes: vec![change],
            ..Plan::default()
        }
    }

    #[test]
    fn apply_asks_only_before_destruction_on_a_terminal() {
        for action in [Action::Replace, Action::Cancel, Action::Delete] {
            let destructive = plan(action, false);
            assert!(must_confirm(&destructive, false, true), "{action:?}");
            assert!(!must_confirm(&destructive, true, true), "--yes skips");
            assert!(!must_confirm(&destructive, false, false), "no terminal");
            assert!(
                !must_confirm(&plan(action, true), false, true),
                "a blocked change is refused anyway"
            );
        }
        for action in [Action::Create, Action::Update, Action::Unchanged] {
            assert!(
                !must_confirm(&plan(action, false), false, true),
                "{action:?}"
            );
        }
    }
}

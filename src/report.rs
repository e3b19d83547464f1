//! What each command found and did, as plain data: one report per command. `output` renders
//! every report in every format and writes the report files; nothing else prints a report.
//! Diagnostics travel inside the reports, so each rendering is complete even when a run fails.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::engine::apply::JobResult;
use crate::engine::export::WrittenFile;
use crate::engine::health::Health;
use crate::engine::plan::Plan;
use crate::engine::reconcile::{Applied, Planned, Refusal};
use crate::engine::refresh::JobError;
use crate::engine::status::JobHealth;
use crate::manifest::diagnostic::{tally, Diagnostic};
use crate::manifest::ManifestSet;

/// `jobctl validate`: every manifest problem found offline.
#[derive(Debug, Clone)]
pub struct ValidateReport {
    /// The `-f` paths, as given.
    pub paths: Vec<PathBuf>,
    pub files: usize,
    /// Valid jobs declared (rollouts included: each is one job).
    pub jobs: usize,
    /// Of `jobs`, the rollouts (`kind: Rollout`).
    pub rollouts: usize,
    /// Valid job templates declared (`kind: JobTemplate`).
    pub templates: usize,
    pub diagnostics: Vec<Diagnostic>,
    /// Remarks that are not problems: roots that hold no manifest, YAML files not read.
    pub notes: Vec<String>,
}

impl ValidateReport {
    pub fn new(paths: Vec<PathBuf>, set: ManifestSet) -> Self {
        let mut notes: Vec<String> = set
            .empty_roots()
            .into_iter()
            .map(|root| format!("{root} holds no manifest"))
            .collect();
        notes.extend(set.skipped_note());
        Self {
            paths,
            files: set.files_read,
            jobs: set.jobs.len(),
            rollouts: set.jobs.iter().filter(|j| j.rollout.is_some()).count(),
            templates: set.templates.len(),
            diagnostics: set.diagnostics,
            notes,
        }
    }

    pub fn errors(&self) -> usize {
        errors(&self.diagnostics)
    }

    pub fn warnings(&self) -> usize {
        tally(&self.diagnostics).warnings
    }
}

/// Errors among `diagnostics`, those left out past the per-file cap included.
fn errors(diagnostics: &[Diagnostic]) -> usize {
    tally(diagnostics).errors
}

/// Where a plan or apply works: what a reviewer must see before anything else.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    /// The AWS account, from the ARNs AWS returned; `None` when it returned none.
    pub account: Option<String>,
    pub region: String,
    /// The endpoint, when it is not AWS's own for the region (an emulator, a VPC endpoint, a
    /// proxy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The jobctl instance whose jobs the run manages.
    pub instance: String,
}

impl Scope {
    pub fn new(
        account: Option<String>,
        region: &str,
        endpoint: Option<String>,
        instance: &str,
    ) -> Self {
        let endpoint = endpoint.filter(|e| !is_aws_endpoint(e, region));
        Self {
            account,
            region: region.to_string(),
            endpoint,
            instance: instance.to_string(),
        }
    }
}

/// `https://iot.REGION.amazonaws.com` (or `.amazonaws.com.cn`): AWS's own endpoint.
fn is_aws_endpoint(endpoint: &str, region: &str) -> bool {
    let host = endpoint.strip_prefix("https://").unwrap_or("");
    host == format!("iot.{region}.amazonaws.com")
        || host == format!("iot.{region}.amazonaws.com.cn")
}

/// `jobctl plan` (and the plan an apply carries out).
#[derive(Debug, Clone)]
pub struct PlanReport {
    /// The instance whose jobs this plan manages.
    pub instance: String,
    /// The account, region, endpoint and instance the plan was made for.
    pub scope: Scope,
    /// Manifest problems found while loading, errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
    pub plan: Plan,
    /// Jobs that could not be planned.
    pub errors: Vec<JobError>,
}

impl PlanReport {
    pub fn new(scope: Scope, diagnostics: Vec<Diagnostic>, planned: Planned) -> Self {
        Self {
            instance: scope.instance.clone(),
            scope,
            diagnostics,
            plan: planned.plan,
            errors: planned.errors,
        }
    }

    pub fn manifest_errors(&self) -> usize {
        errors(&self.diagnostics)
    }

    /// Manifest errors, or jobs that could not be planned: the run exits 1.
    pub fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    /// Manifest errors plus jobs that could not be planned: what the summary counts.
    pub fn error_count(&self) -> usize {
        self.manifest_errors() + self.errors.len()
    }
}

/// `jobctl apply`: the plan, and what became of it.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    pub plan: PlanReport,
    pub applied: Applied,
    /// HTTP attempts by AWS operation during the whole run, retries included.
    pub calls: BTreeMap<String, u64>,
    /// `apply --wait`: the jobs it created or changed, as the wait left them.
    pub wait: Option<StatusReport>,
    /// The rollouts, as this run's advance left them.
    pub rollouts: Vec<crate::engine::advance::RolloutRun>,
    /// Why the run stopped before its end (`--timeout`, Ctrl-C, SIGTERM): the results are what
    /// was done by then.
    pub stopped: Option<Failure>,
}

impl ApplyReport {
    /// The per-job results; none when the plan was refused.
    pub fn results(&self) -> &[JobResult] {
        match &self.applied {
            Applied::Refused(_) => &[],
            Applied::Results(results) => results,
        }
    }

    pub fn refused(&self) -> bool {
        self.refusal().is_some()
    }

    pub fn refusal(&self) -> Option<Refusal> {
        match self.applied {
            Applied::Refused(why) => Some(why),
            Applied::Results(_) => None,
        }
    }

    pub fn failures(&self) -> impl Iterator<Item = &JobResult> {
        self.results().iter().filter(|r| r.failed())
    }

    /// Refused, a job failed, the plan itself had errors, or the run was stopped: not a success.
    pub fn has_errors(&self) -> bool {
        self.refused()
            || self.failures().next().is_some()
            || self.plan.has_errors()
            || self.stopped.is_some()
    }
}

/// `jobctl export`: the jobs read from the account, and where their manifests went.
#[derive(Debug, Clone, Default)]
pub struct ExportReport {
    /// `--dir`, when the manifests go to files; `None` for one stream on stdout.
    pub dir: Option<PathBuf>,
    pub jobs: Vec<ExportedJob>,
    /// The files written (none when a file existed already).
    pub files: Vec<WrittenFile>,
    /// Without `--dir`: every manifest, as one multi-document YAML stream.
    pub stream: Option<String>,
    /// Jobs that could not be exported.
    pub errors: Vec<JobError>,
    /// Files that exist already: nothing was written (`--force` overwrites).
    pub conflicts: Vec<PathBuf>,
    /// Writing failed part way (a full disk, a permission).
    pub write_error: Option<String>,
    /// Finished jobs `--all` left out, by status.
    pub finished_left_out: BTreeMap<String, usize>,
    /// The `$schema=` each manifest's modeline carries.
    pub schema: String,
    /// How to make the modeline's schema exist, when it does not.
    pub schema_hint: Option<String>,
}

/// One exported job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedJob {
    pub job_id: String,
    pub status: String,
    /// Fields left to the job's template.
    pub inherited: Vec<&'static str>,
    pub warnings: Vec<String>,
}

impl ExportReport {
    /// A job failed, a file existed, or writing failed: the run exits 1.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty() || !self.conflicts.is_empty() || self.write_error.is_some()
    }
}

/// `jobctl status` (and what `apply --wait` waited for): each job's status, health and counts.
#[derive(Debug, Clone)]
pub struct StatusReport {
    /// The instance whose owned jobs were looked for (`status -f`).
    pub instance: Option<String>,
    pub jobs: Vec<JobHealth>,
    /// Problems that belong to no shown job (an ownership check that failed).
    pub errors: Vec<JobError>,
    /// Manifest problems found while loading.
    pub diagnostics: Vec<Diagnostic>,
    /// Finished jobs older than this were listed, not read.
    pub finished_within: Duration,
    /// How following the jobs ended, when the run followed them.
    pub wait: Option<WaitOutcome>,
    /// HTTP attempts by AWS operation during the whole run, retries included.
    pub calls: BTreeMap<String, u64>,
}

/// How `status --watch` or `apply --wait` stopped following the jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum WaitOutcome {
    /// Every job reached Healthy, Degraded, Aborted or Missing.
    Finished,
    /// `--timeout` passed first.
    TimedOut,
    /// Ctrl-C or SIGTERM: waiting stopped; the jobs go on.
    Interrupted,
}

impl StatusReport {
    /// Whether the job's health counts for the exit code: its counts were read this run, or it
    /// is missing. Finished jobs that were only listed (older than `--finished-within`) do not.
    pub fn counts(job: &JobHealth) -> bool {
        job.progress.is_some() || job.health == Some(Health::Missing)
    }

    /// Declared rollouts that are Halted (exit 1 whatever their job's health).
    pub fn halted_rollouts(&self) -> impl Iterator<Item = &JobHealth> {
        self.jobs.iter().filter(|j| {
            j.rollout
                .as_ref()
                .is_some_and(|r| r.phase == crate::engine::rollout::Phase::Halted)
        })
    }

    /// Jobs that are Degraded, Aborted or Missing (among those that count).
    pub fn unhealthy(&self) -> impl Iterator<Item = &JobHealth> {
        self.jobs
            .iter()
            .filter(|j| Self::counts(j) && j.health.is_some_and(Health::is_unhealthy))
    }

    /// Jobs still Progressing or Scheduled.
    pub fn in_progress(&self) -> impl Iterator<Item = &JobHealth> {
        self.jobs
            .iter()
            .filter(|j| j.pending() && j.health.is_some())
    }

    /// Finished jobs that were listed, not read.
    pub fn not_read(&self) -> impl Iterator<Item = &JobHealth> {
        self.jobs
            .iter()
            .filter(|j| j.progress.is_none() && j.status.as_ref().is_some_and(|s| s.is_finished()))
    }

    /// Jobs that could not be read, manifest errors, or problems of the run.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
            || self.jobs.iter().any(|j| j.error.is_some())
            || errors(&self.diagnostics) > 0
    }

    /// How many jobs have each health, in [`Health::ALL`] order; jobs not read last.
    pub fn tally(&self) -> Vec<(Option<Health>, usize)> {
        let mut out: Vec<(Option<Health>, usize)> = Health::ALL
            .into_iter()
            .map(|h| {
                (
                    Some(h),
                    self.jobs.iter().filter(|j| j.health == Some(h)).count(),
                )
            })
            .collect();
        out.push((
            None,
            self.jobs.iter().filter(|j| j.health.is_none()).count(),
        ));
        out.retain(|(_, n)| *n > 0);
        out
    }
}

/// A run that stopped before it could produce its report (or, for an apply stopped half-way,
/// the reason beside what it did).
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
    /// Manifest problems found before the failure, when manifests were loaded.
    pub diagnostics: Vec<Diagnostic>,
}

impl Failure {
    /// A run stopped by the first signal: Ctrl-C or SIGTERM.
    pub fn stopped(shutdown: &crate::shutdown::Shutdown, message: String) -> Self {
        let kind = match shutdown.exit_code() {
            Some(crate::shutdown::SIGTERM_EXIT) => FailureKind::Terminated,
            _ => FailureKind::Interrupted,
        };
        Self::new(kind, message)
    }

    pub fn new(kind: FailureKind, message: String) -> Self {
        Self {
            kind,
            message,
            diagnostics: Vec::new(),
        }
    }

    /// The exit code it ends a run with (README, "Exit codes").
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            FailureKind::Config => 64,
            FailureKind::Timeout => 3,
            FailureKind::Interrupted => crate::shutdown::SIGINT_EXIT,
            FailureKind::Terminated => crate::shutdown::SIGTERM_EXIT,
            FailureKind::Connect | FailureKind::Aws | FailureKind::SavedPlan => 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FailureKind {
    /// The configuration could not be resolved (flags, `jobctl.yaml`): a usage error.
    Config,
    /// No client could be built for AWS (no region, no credentials, no such profile, an
    /// unusable CA bundle).
    Connect,
    /// The account could not be read at all (ListJobs failed, the endpoint is unreachable or
    /// not AWS IoT): reported once for the run.
    Aws,
    /// `--timeout` passed (exit 3).
    Timeout,
    /// The first Ctrl-C (exit 130).
    Interrupted,
    /// The first SIGTERM (exit 143).
    Terminated,
    /// `apply FILE`: the file is missing, unreadable, not a saved plan, of a newer format, or
    /// could not be written by `plan --out`.
    SavedPlan,
}

/// `apply FILE` changed nothing: what moved since the plan was saved.
#[derive(Debug, Clone)]
pub struct SavedPlanRefused {
    /// The plan file, as given.
    pub file: String,
    /// The `-f` roots the plan was made from, for the command that plans again.
    pub roots: Vec<String>,
    /// What moved, scope first, then files, then the account.
    pub moved: Vec<crate::engine::saved::Moved>,
}

impl SavedPlanRefused {
    /// The command that makes a fresh plan to review.
    pub fn replan(&self) -> String {
        let roots: Vec<String> = self.roots.iter().map(|r| format!("-f {r}")).collect();
        format!("jobctl plan {} --out {}", roots.join(" "), self.file)
    }
}

pub use crate::engine::promote::{PromoteReport, PromoteResult};

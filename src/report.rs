//! What each command found and did, as plain data: one report per command. `output` renders
//! every report in every format and writes the report files; nothing else prints a report.
//! Diagnostics travel inside the reports, so each rendering is complete even when a run fails.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::engine::apply::JobResult;
use crate::engine::health::Health;
use crate::engine::plan::Plan;
use crate::engine::reconcile::{Applied, Planned};
use crate::engine::refresh::JobError;
use crate::engine::status::JobHealth;
use crate::manifest::diagnostic::Diagnostic;
use crate::manifest::ManifestSet;

/// `jobctl validate`: every manifest problem found offline.
#[derive(Debug, Clone)]
pub struct ValidateReport {
    /// The `-f` paths, as given.
    pub paths: Vec<PathBuf>,
    pub files: usize,
    /// Valid jobs declared.
    pub jobs: usize,
    pub diagnostics: Vec<Diagnostic>,
}

impl ValidateReport {
    pub fn new(paths: Vec<PathBuf>, set: ManifestSet) -> Self {
        Self {
            paths,
            files: set.files_read,
            jobs: set.jobs.len(),
            diagnostics: set.diagnostics,
        }
    }

    pub fn errors(&self) -> usize {
        errors(&self.diagnostics)
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }
}

fn errors(diagnostics: &[Diagnostic]) -> usize {
    diagnostics.iter().filter(|d| d.is_error()).count()
}

/// `jobctl plan` (and the plan an apply carries out).
#[derive(Debug, Clone)]
pub struct PlanReport {
    /// The instance whose jobs this plan manages.
    pub instance: String,
    /// Manifest problems found while loading, errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
    pub plan: Plan,
    /// Jobs that could not be planned.
    pub errors: Vec<JobError>,
}

impl PlanReport {
    pub fn new(instance: String, diagnostics: Vec<Diagnostic>, planned: Planned) -> Self {
        Self {
            instance,
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
        self.manifest_errors() > 0 || !self.errors.is_empty()
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
}

impl ApplyReport {
    /// The per-job results; none when the plan was refused.
    pub fn results(&self) -> &[JobResult] {
        match &self.applied {
            Applied::Refused => &[],
            Applied::Results(results) => results,
        }
    }

    pub fn refused(&self) -> bool {
        self.applied == Applied::Refused
    }

    pub fn failures(&self) -> impl Iterator<Item = &JobResult> {
        self.results().iter().filter(|r| r.failed())
    }

    /// Refused, a job failed, or the plan itself had errors: the run exits 1.
    pub fn has_errors(&self) -> bool {
        self.refused() || self.failures().next().is_some() || self.plan.has_errors()
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

/// A run that stopped before it could produce its report.
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
    /// Manifest problems found before the failure, when manifests were loaded.
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureKind {
    /// The configuration could not be resolved (flags, `jobctl.yaml`): a usage error.
    Config,
    /// No client could be built for AWS (no region).
    Connect,
}

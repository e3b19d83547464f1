//! What each command found and did, as plain data: one report per command. `output` renders
//! every report in every format and writes the report files; nothing else prints a report.
//! Diagnostics travel inside the reports, so each rendering is complete even when a run fails.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::engine::apply::JobResult;
use crate::engine::plan::Plan;
use crate::engine::reconcile::{Applied, Planned};
use crate::engine::refresh::JobError;
use crate::manifest::diagnostic::{tally, Diagnostic};
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

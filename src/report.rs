//! What each command found and did, as plain data: one report per command. `output` renders
//! every report in every format and writes the report files; nothing else prints a report.
//! Diagnostics travel inside the reports, so each rendering is complete even when a run fails.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::engine::apply::JobResult;
use crate::engine::plan::Plan;
use crate::engine::reconcile::{Applied, Planned, Refusal};
use crate::engine::refresh::JobError;
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
    /// A saved plan cannot be applied: unreadable, or the account or manifests moved.
    SavedPlan,
}

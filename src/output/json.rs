//! `--output json`: exactly one JSON object on stdout per run, `version` 1. The wire shapes are
//! the types below (snapshotted in tests/render.rs), so the contract cannot drift silently.
//! Fields are added, never renamed or removed; `errors` and `diagnostics` of plan and apply
//! appear only when there are some.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Render, Screen};
use crate::engine::apply::JobResult;
use crate::engine::export::{FileKind, WrittenFile};
use crate::engine::plan::{Change, NotCompared, Orphan, PruneSummary, Summary};
use crate::engine::reconcile::Refusal;
use crate::engine::refresh::JobError;
use crate::manifest::diagnostic::{Diagnostic, Omitted, Severity};
use crate::manifest::rule::Rule;
use crate::report::{
    ApplyReport, ExportReport, Failure, FailureKind, PlanReport, Scope, ValidateReport,
};

/// The version of the JSON contract.
pub const VERSION: u32 = 1;

/// The JSON renderer. Manifest problems also go to stderr, one line each, as soon as they are
/// found.
pub struct Json;

impl Render for Json {
    fn loaded(&self, diagnostics: &[Diagnostic]) -> Screen {
        Screen::stderr(diagnostics.iter().map(|d| format!("{d}\n")).collect())
    }

    fn validate(&self, report: &ValidateReport) -> Screen {
        Screen::stdout(line(&validate(report)))
    }

    fn plan(&self, report: &PlanReport) -> Screen {
        Screen::stdout(line(&plan(report)))
    }

    fn apply(&self, report: &ApplyReport) -> Screen {
        Screen::stdout(line(&apply(report)))
    }

    fn export(&self, report: &ExportReport) -> Screen {
        Screen::stdout(line(&export(report)))
    }

    fn status(&self, report: &crate::report::StatusReport) -> Screen {
        Screen::stdout(line(&super::status::json(report)))
    }

    fn promote(&self, report: &crate::report::PromoteReport) -> Screen {
        Screen::stdout(line(&super::promote::json(report)))
    }

    fn failure(&self, failure: &Failure) -> Screen {
        Screen {
            stdout: line(&self::failure(failure)),
            stderr: self.notice(&failure.message).stderr,
        }
    }

    fn saved_plan_refused(&self, report: &crate::report::SavedPlanRefused) -> Screen {
        Screen {
            stdout: super::saved::refusal_json(report),
            stderr: self.notice(&super::saved::headline(report)).stderr,
        }
    }
}

/// The object as one line.
pub fn line(value: &impl Serialize) -> String {
    let mut text = serde_json::to_string(value).unwrap_or_else(|err| {
        // Serializing these plain types cannot fail; if it ever did, the output is still JSON.
        serde_json::json!({"version": VERSION, "error": {"message": err.to_string()}}).to_string()
    });
    text.push('\n');
    text
}

fn is_empty<T>(items: &&[T]) -> bool {
    items.is_empty()
}

/// One manifest problem.
#[derive(Debug, Serialize)]
pub struct DiagnosticJson<'a> {
    pub severity: Severity,
    pub code: Rule,
    pub file: &'a str,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: &'a str,
    pub help: Option<&'a str>,
    /// On the diagnostic that stands for a file's problems past the per-file cap: how many
    /// errors and warnings it left out (they are counted in `errors` and `warnings`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub omitted: Option<Omitted>,
}

pub fn diagnostics(diagnostics: &[Diagnostic]) -> Vec<DiagnosticJson<'_>> {
    diagnostics
        .iter()
        .map(|d| DiagnosticJson {
            severity: d.severity,
            code: d.code,
            file: &d.file.display,
            line: d.location.map(|l| l.line),
            column: d.location.map(|l| l.col),
            message: &d.message,
            help: d.help.as_deref(),
            omitted: d.omitted,
        })
        .collect()
}

/// `jobctl validate -o json`.
#[derive(Debug, Serialize)]
pub struct ValidateJson<'a> {
    pub version: u32,
    pub valid: bool,
    pub files: usize,
    /// Valid jobs, rollouts included (each is one job).
    pub jobs: usize,
    /// Of `jobs`, the rollouts.
    pub rollouts: usize,
    /// Valid job templates.
    pub templates: usize,
    pub errors: usize,
    pub warnings: usize,
    pub diagnostics: Vec<DiagnosticJson<'a>>,
    /// Remarks that are not problems (a root without manifests, YAML files not read).
    #[serde(skip_serializing_if = "is_empty")]
    pub notes: &'a [String],
}

pub fn validate(report: &ValidateReport) -> ValidateJson<'_> {
    ValidateJson {
        version: VERSION,
        valid: report.errors() == 0,
        files: report.files,
        jobs: report.jobs,
        rollouts: report.rollouts,
        templates: report.templates,
        errors: report.errors(),
        warnings: report.warnings(),
        diagnostics: diagnostics(&report.diagnostics),
        notes: &report.notes,
    }
}

/// `jobctl plan -o json`, and the first part of apply's.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanJson<'a> {
    pub version: u32,
    /// Where the plan works: account, region, endpoint (when not AWS's), instance.
    pub scope: &'a Scope,
    pub summary: Summary,
    pub changes: &'a [Change],
    /// Changes apply will refuse to carry out.
    pub blocked: usize,
    pub not_compared: &'a [NotCompared],
    pub orphans: &'a [Orphan],
    pub notes: &'a [String],
    /// How many jobs and job templates prune takes (`wouldPrune`, the templates among them in
    /// `wouldPruneTemplates`), whether it was asked for, and why it is refused when it is.
    pub prune: &'a PruneSummary,
    /// Jobs that could not be planned.
    #[serde(skip_serializing_if = "is_empty")]
    pub errors: &'a [JobError],
    /// Manifest problems (jobs with errors are left out of the plan).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<DiagnosticJson<'a>>,
}

pub fn plan(report: &PlanReport) -> PlanJson<'_> {
    let plan = &report.plan;
    PlanJson {
        version: VERSION,
        scope: &report.scope,
        summary: plan.summary(),
        changes: &plan.changes,
        blocked: plan.blocked().count(),
        not_compared: &plan.not_compared,
        orphans: &plan.orphans,
        notes: &plan.notes,
        prune: &plan.prune,
        errors: &report.errors,
        diagnostics: diagnostics(&report.diagnostics),
    }
}

/// `jobctl apply -o json`: the plan, then `results`, then `refused: true` and `refusal`
/// (`blocked`, `errors` or `declined`) when nothing was attempted, or `calls` (HTTP attempts per
/// operation) when it ran.
#[derive(Debug, Serialize)]
pub struct ApplyJson<'a> {
    #[serde(flatten)]
    pub plan: PlanJson<'a>,
    pub results: &'a [JobResult],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calls: Option<&'a BTreeMap<String, u64>>,
    /// `--wait`: the jobs it followed, as `jobctl status -o json` shows them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<super::status::StatusJson<'a>>,
    /// Each declared rollout as the run's advance left it (phase, stages, what it did).
    #[serde(skip_serializing_if = "is_empty")]
    pub rollouts: &'a [crate::engine::advance::RolloutRun],
    /// Why the run stopped before its end (`timeout`, `interrupted`, `terminated`): `results`
    /// are what was done by then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorJson<'a>>,
}

pub fn apply(report: &ApplyReport) -> ApplyJson<'_> {
    let refused = report.refused();
    ApplyJson {
        plan: plan(&report.plan),
        results: report.results(),
        refused: refused.then_some(true),
        refusal: report.refusal(),
        calls: (!refused).then_some(&report.calls),
        wait: report.wait.as_ref().map(super::status::json),
        rollouts: &report.rollouts,
        error: report.stopped.as_ref().map(|stopped| ErrorJson {
            kind: stopped.kind,
            message: &stopped.message,
        }),
    }
}

/// `jobctl export -o json`: each job with its files, every file written, and without `--dir`
/// the YAML stream itself.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportJson<'a> {
    pub version: u32,
    pub summary: ExportSummaryJson,
    pub jobs: Vec<ExportJobJson<'a>>,
    pub files: &'a [WrittenFile],
    /// Without `--dir`: the manifests as one multi-document YAML stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<&'a str>,
    /// Jobs that could not be exported.
    #[serde(skip_serializing_if = "is_empty")]
    pub errors: &'a [JobError],
    /// Files that exist already; nothing was written.
    #[serde(skip_serializing_if = "is_empty")]
    pub conflicts: &'a [std::path::PathBuf],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_error: Option<&'a str>,
    /// Finished jobs `--all` left out, by status.
    pub finished_left_out: &'a BTreeMap<String, usize>,
    /// The `$schema=` of every manifest's modeline.
    pub schema: &'a str,
}

#[derive(Debug, Serialize)]
pub struct ExportSummaryJson {
    pub exported: usize,
    pub failed: usize,
    pub files: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportJobJson<'a> {
    pub job_id: &'a str,
    pub status: &'a str,
    /// The manifest file, when written.
    pub manifest: Option<&'a std::path::Path>,
    /// The document file, when written.
    pub document: Option<&'a std::path::Path>,
    /// Fields left to the job's template.
    pub inherited: &'a [&'static str],
    pub warnings: &'a [String],
}

pub fn export(report: &ExportReport) -> ExportJson<'_> {
    let file = |job_id: &str, kind: FileKind| {
        report
            .files
            .iter()
            .find(|f| f.job_id == job_id && f.kind == kind)
            .map(|f| f.path.as_path())
    };
    ExportJson {
        version: VERSION,
        summary: ExportSummaryJson {
            exported: report.jobs.len(),
            failed: report.errors.len(),
            files: report.files.len(),
        },
        jobs: report
            .jobs
            .iter()
            .map(|j| ExportJobJson {
                job_id: &j.job_id,
                status: &j.status,
                manifest: file(&j.job_id, FileKind::Manifest),
                document: file(&j.job_id, FileKind::Document),
                inherited: &j.inherited,
                warnings: &j.warnings,
            })
            .collect(),
        files: &report.files,
        stream: report.stream.as_deref(),
        errors: &report.errors,
        conflicts: &report.conflicts,
        write_error: report.write_error.as_deref(),
        finished_left_out: &report.finished_left_out,
        schema: &report.schema,
    }
}

/// A run that stopped before its report: the error, and the manifest problems found so far.
#[derive(Debug, Serialize)]
pub struct FailureJson<'a> {
    pub version: u32,
    pub error: ErrorJson<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<DiagnosticJson<'a>>,
}

#[derive(Debug, Serialize)]
pub struct ErrorJson<'a> {
    /// `config` (flags or jobctl.yaml; exit 64), `connect` (no client for AWS; exit 1), `aws`
    /// (the account could not be read; exit 1), `timeout` (`--timeout` passed; exit 3),
    /// `interrupted` (Ctrl-C; exit 130), `terminated` (SIGTERM; exit 143) or `savedPlan` (a
    /// saved plan cannot be applied; exit 1).
    pub kind: FailureKind,
    pub message: &'a str,
}

pub fn failure(failure: &Failure) -> FailureJson<'_> {
    FailureJson {
        version: VERSION,
        error: ErrorJson {
            kind: failure.kind,
            message: &failure.message,
        },
        diagnostics: diagnostics(&failure.diagnostics),
    }
}

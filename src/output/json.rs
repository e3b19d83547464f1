//! `--output json`: exactly one JSON object on stdout per run, `version` 1. The wire shapes are
//! the types below (snapshotted in tests/render.rs), so the contract cannot drift silently.
//! Fields are added, never renamed or removed; `errors` and `diagnostics` of plan and apply
//! appear only when there are some.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Render, Screen};
use crate::engine::apply::JobResult;
use crate::engine::plan::{Change, NotCompared, Orphan, Summary};
use crate::engine::refresh::JobError;
use crate::manifest::diagnostic::{Diagnostic, Severity};
use crate::manifest::rule::Rule;
use crate::report::{ApplyReport, Failure, FailureKind, PlanReport, ValidateReport};

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

    fn status(&self, report: &crate::report::StatusReport) -> Screen {
        Screen::stdout(line(&super::status::json(report)))
    }

    fn failure(&self, failure: &Failure) -> Screen {
        Screen {
            stdout: line(&self::failure(failure)),
            stderr: self.notice(&failure.message).stderr,
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
        })
        .collect()
}

/// `jobctl validate -o json`.
#[derive(Debug, Serialize)]
pub struct ValidateJson<'a> {
    pub version: u32,
    pub valid: bool,
    pub files: usize,
    pub jobs: usize,
    pub errors: usize,
    pub warnings: usize,
    pub diagnostics: Vec<DiagnosticJson<'a>>,
}

pub fn validate(report: &ValidateReport) -> ValidateJson<'_> {
    ValidateJson {
        version: VERSION,
        valid: report.errors() == 0,
        files: report.files,
        jobs: report.jobs,
        errors: report.errors(),
        warnings: report.warnings(),
        diagnostics: diagnostics(&report.diagnostics),
    }
}

/// `jobctl plan -o json`, and the first part of apply's.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanJson<'a> {
    pub version: u32,
    pub summary: Summary,
    pub changes: &'a [Change],
    /// Changes apply will refuse to carry out.
    pub blocked: usize,
    pub not_compared: &'a [NotCompared],
    pub orphans: &'a [Orphan],
    pub notes: &'a [String],
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
        summary: plan.summary(),
        changes: &plan.changes,
        blocked: plan.blocked().count(),
        not_compared: &plan.not_compared,
        orphans: &plan.orphans,
        notes: &plan.notes,
        errors: &report.errors,
        diagnostics: diagnostics(&report.diagnostics),
    }
}

/// `jobctl apply -o json`: the plan, then `results`, then `refused: true` when nothing was
/// attempted or `calls` (HTTP attempts per operation) when it ran.
#[derive(Debug, Serialize)]
pub struct ApplyJson<'a> {
    #[serde(flatten)]
    pub plan: PlanJson<'a>,
    pub results: &'a [JobResult],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calls: Option<&'a BTreeMap<String, u64>>,
}

pub fn apply(report: &ApplyReport) -> ApplyJson<'_> {
    let refused = report.refused();
    ApplyJson {
        plan: plan(&report.plan),
        results: report.results(),
        refused: refused.then_some(true),
        calls: (!refused).then_some(&report.calls),
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
    /// `config` (flags or jobctl.yaml; exit 64) or `connect` (no client for AWS; exit 1).
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

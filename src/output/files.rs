//! The report files, written besides what `--output` prints, so that one run (one read of the
//! account) feeds a log, a job summary, a pull-request comment and an artifact: the JSON report
//! (exactly what `--output json` prints) and Markdown cut to GitHub's limits.

use std::path::PathBuf;

use super::json;
use super::markdown::{self, MarkdownOptions, COMMENT_MAX_CHARS, STEP_SUMMARY_MAX_BYTES};
use crate::report::{ApplyReport, PlanReport, ValidateReport};

/// Where to write which report; `None` writes nothing.
#[derive(Debug, Clone, Default)]
pub struct ReportFiles {
    pub json: Option<PathBuf>,
    pub markdown: Option<PathBuf>,
    /// Markdown cut to fit a GitHub job summary.
    pub summary: Option<PathBuf>,
    /// Markdown cut to fit a GitHub comment, its first line a hidden marker.
    pub comment: Option<PathBuf>,
}

/// A report that can be written to files.
pub trait Document {
    /// The `--output json` text.
    fn json(&self) -> String;
    /// The Markdown report with the given heading, cap and marker.
    fn markdown(&self, options: &MarkdownOptions) -> String;
    /// The Markdown heading.
    fn title(&self) -> String;
    /// The comment's hidden first line, by which the GitHub action finds and edits it.
    fn marker(&self) -> String;
}

impl Document for ValidateReport {
    fn json(&self) -> String {
        json::line(&json::validate(self))
    }
    fn markdown(&self, options: &MarkdownOptions) -> String {
        markdown::validate_markdown(self, options)
    }
    fn title(&self) -> String {
        markdown::VALIDATE_TITLE.to_string()
    }
    fn marker(&self) -> String {
        markdown::validate_marker(&self.paths)
    }
}

impl Document for PlanReport {
    fn json(&self) -> String {
        json::line(&json::plan(self))
    }
    fn markdown(&self, options: &MarkdownOptions) -> String {
        let options = MarkdownOptions {
            scope: Some(self.scope.clone()),
            ..options.clone()
        };
        markdown::plan_markdown(&self.plan, &self.errors, &self.diagnostics, &options)
    }
    fn title(&self) -> String {
        markdown::title("plan", &self.instance)
    }
    fn marker(&self) -> String {
        markdown::plan_marker(&self.instance)
    }
}

impl Document for ApplyReport {
    fn json(&self) -> String {
        json::line(&json::apply(self))
    }
    fn markdown(&self, options: &MarkdownOptions) -> String {
        let options = MarkdownOptions {
            scope: Some(self.plan.scope.clone()),
            ..options.clone()
        };
        markdown::apply_report_markdown(self, &options)
    }
    fn title(&self) -> String {
        markdown::title("apply", &self.plan.instance)
    }
    fn marker(&self) -> String {
        markdown::plan_marker(&self.plan.instance)
    }
}

/// Writes the requested files, stopping at the first that cannot be written.
pub fn write(files: &ReportFiles, document: &dyn Document) -> Result<(), String> {
    let write = |path: &PathBuf, text: String| {
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    if let Some(path) = &files.json {
        write(path, document.json())?;
    }
    let base = MarkdownOptions {
        title: document.title(),
        full_report: run_link(),
        ..MarkdownOptions::default()
    };
    if let Some(path) = &files.markdown {
        write(path, document.markdown(&base))?;
    }
    if let Some(path) = &files.summary {
        let options = MarkdownOptions {
            // A little room for the lines the GitHub action adds around the report.
            max_bytes: Some(STEP_SUMMARY_MAX_BYTES - 4096),
            ..base.clone()
        };
        write(path, document.markdown(&options))?;
    }
    if let Some(path) = &files.comment {
        let options = MarkdownOptions {
            max_bytes: Some(COMMENT_MAX_CHARS),
            marker: Some(document.marker()),
            ..base
        };
        write(path, document.markdown(&options))?;
    }
    Ok(())
}

/// Where the complete report lives when a capped one is cut: the GitHub Actions run (its log and
/// artifacts), from the variables every runner sets.
fn run_link() -> Option<String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (server, repo, run) = (
        var("GITHUB_SERVER_URL")?,
        var("GITHUB_REPOSITORY")?,
        var("GITHUB_RUN_ID")?,
    );
    // Only plain URL characters go into the link, so the variables cannot inject Markdown.
    let plain = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | ':' | '_' | '-'))
    };
    (plain(&server) && plain(&repo) && plain(&run)).then(|| {
        format!("the log and the artifacts of [workflow run {run}]({server}/{repo}/actions/runs/{run}).")
    })
}

//! Everything jobctl shows a person or a program. Each command produces one report
//! (`crate::report`); one renderer per format turns every report into text: [`text`] for people,
//! [`json`] for programs (a stable contract), [`github`] for workflow commands and [`markdown`]
//! for job summaries and comments. The format is matched once, in [`Output::new`]; [`files`]
//! writes the extra report files; [`style`] is the one styling layer. Renderers return text;
//! [`Output`] writes it.

pub mod diff;
pub mod files;
pub mod github;
pub mod json;
pub mod live;
pub mod markdown;
pub mod promote;
pub mod prompt;
pub mod saved;
pub mod status;
pub mod style;
pub mod text;

use std::io::{IsTerminal, Write};

use clap::ValueEnum;

use crate::engine::apply::JobResult;
use crate::manifest::diagnostic::Diagnostic;
use crate::report::{
    ApplyReport, ExportReport, Failure, PlanReport, PromoteReport, SavedPlanRefused, StatusReport,
    ValidateReport,
};
use files::{Document, ReportFiles};
use style::Colors;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: diffs and diagnostics as on a terminal.
    Text,
    /// Exactly one JSON object on stdout (a stable contract, `version` 1).
    Json,
    /// GitHub Actions workflow commands: annotations on manifest lines, then the text output
    /// fenced so that manifest text cannot run workflow commands. The default when
    /// GITHUB_ACTIONS=true.
    Github,
    /// A summary table, then a collapsible diff per job, for job summaries and PR comments.
    Markdown,
}

impl Format {
    /// `--output` when given; otherwise `github` inside GitHub Actions and `text` elsewhere.
    /// Resolved after parsing, not as a clap default, so that `--help`, completions and the man
    /// page do not change with the environment they were generated in.
    pub fn resolve(choice: Option<Self>) -> Self {
        choice.unwrap_or_else(|| {
            if std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
                Self::Github
            } else {
                Self::Text
            }
        })
    }
}

/// Text for the two standard streams.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Screen {
    pub stdout: String,
    pub stderr: String,
}

impl Screen {
    pub fn stdout(text: String) -> Self {
        Self {
            stdout: text,
            stderr: String::new(),
        }
    }

    pub fn stderr(text: String) -> Self {
        Self {
            stdout: String::new(),
            stderr: text,
        }
    }
}

/// One output format: every report, rendered. Methods run in the order a command reaches them.
pub trait Render: Send + Sync {
    /// Manifest problems, as soon as manifests are loaded (before the account is read), for
    /// formats that show them apart from the report.
    fn loaded(&self, _diagnostics: &[Diagnostic]) -> Screen {
        Screen::default()
    }

    fn validate(&self, report: &ValidateReport) -> Screen;

    fn plan(&self, report: &PlanReport) -> Screen;

    /// Before apply changes anything: the plan, where the format shows it first.
    fn apply_started(&self, _report: &PlanReport) -> Screen {
        Screen::default()
    }

    /// A line when a job has been applied (`done` of `total`), where the format shows progress.
    fn progress(&self, _done: usize, _total: usize, _result: &JobResult) -> Option<String> {
        None
    }

    fn apply(&self, report: &ApplyReport) -> Screen;

    /// `jobctl export`. Without `--dir` the manifests themselves are the output: formats for
    /// people put them on stdout and their summary on stderr.
    fn export(&self, report: &ExportReport) -> Screen;
    /// `jobctl status`, and what `--watch` left at its end.
    fn status(&self, report: &StatusReport) -> Screen {
        Screen::stdout(status::text(report, style::Paint::PLAIN))
    }

    /// `jobctl promote`.
    fn promote(&self, report: &PromoteReport) -> Screen {
        promote::text(report)
    }

    /// A run that stopped before its report.
    fn failure(&self, failure: &Failure) -> Screen;

    /// `plan --out FILE`: where the plan was saved and how to apply it.
    fn plan_saved(&self, path: &str) -> Screen {
        Screen::stderr(saved::saved_text(path))
    }

    /// `apply FILE`: nothing moved since the plan was saved, so it is carried out.
    fn saved_plan_matches(&self, path: &str, created_at: &str) -> Screen {
        Screen::stderr(saved::matches_text(path, created_at))
    }

    /// `apply FILE` changed nothing: what moved since the plan was saved.
    fn saved_plan_refused(&self, report: &SavedPlanRefused) -> Screen {
        Screen::stderr(saved::refusal_text(report, style::Paint::PLAIN))
    }

    /// After an apply's report, why the run stopped before its end (as a notice; the JSON
    /// report also carries it as `error`).
    fn stopped(&self, failure: &Failure) -> Screen {
        self.notice(&failure.message)
    }

    /// A problem after the report was shown (a report file could not be written).
    fn notice(&self, message: &str) -> Screen {
        Screen::stderr(format!("jobctl: {message}\n"))
    }
}

/// The chosen renderer, writing to stdout and stderr.
pub struct Output {
    render: Box<dyn Render>,
}

impl Output {
    /// The one place the output format is matched.
    pub fn new(format: Format, colors: Colors) -> Self {
        let render: Box<dyn Render> = match format {
            Format::Text => Box::new(text::Text::new(colors, std::io::stderr().is_terminal())),
            Format::Json => Box::new(json::Json),
            Format::Github => Box::new(github::Github::new(github::Workspace::from_env())),
            Format::Markdown => Box::new(markdown::Markdown::new(colors)),
        };
        Self { render }
    }

    pub fn loaded(&self, diagnostics: &[Diagnostic]) {
        show(&self.render.loaded(diagnostics));
    }

    pub fn validate(&self, report: &ValidateReport) {
        show(&self.render.validate(report));
    }

    pub fn plan(&self, report: &PlanReport) {
        show(&self.render.plan(report));
    }

    pub fn apply_started(&self, report: &PlanReport) {
        show(&self.render.apply_started(report));
    }

    pub fn progress(&self, done: usize, total: usize, result: &JobResult) {
        if let Some(line) = self.render.progress(done, total, result) {
            show(&Screen::stderr(line));
        }
    }

    pub fn apply(&self, report: &ApplyReport) {
        show(&self.render.apply(report));
        if let Some(stopped) = &report.stopped {
            show(&self.render.stopped(stopped));
        }
    }

    pub fn export(&self, report: &ExportReport) {
        show(&self.render.export(report));
    }

    pub fn status(&self, report: &StatusReport) {
        show(&self.render.status(report));
    }

    pub fn promote(&self, report: &PromoteReport) {
        show(&self.render.promote(report));
    }

    pub fn failure(&self, failure: &Failure) {
        show(&self.render.failure(failure));
    }

    pub fn plan_saved(&self, path: &str) {
        show(&self.render.plan_saved(path));
    }

    pub fn saved_plan_matches(&self, path: &str, created_at: &str) {
        show(&self.render.saved_plan_matches(path, created_at));
    }

    pub fn saved_plan_refused(&self, report: &SavedPlanRefused) {
        show(&self.render.saved_plan_refused(report));
    }

    pub fn notice(&self, message: &str) {
        show(&self.render.notice(message));
    }

    /// Asks at the terminal whether to carry out `report`'s destructive plan.
    pub async fn ask(&self, report: &PlanReport) -> bool {
        prompt::confirm(report).await
    }

    /// Writes the report files; a failure is shown as a notice and returned as `false`.
    pub fn write_files(&self, files: &ReportFiles, document: &dyn Document) -> bool {
        match files::write(files, document) {
            Ok(()) => true,
            Err(message) => {
                self.notice(&message);
                false
            }
        }
    }
}

/// Writes both streams. A closed pipe (`jobctl plan | head`) ends the output quietly.
fn show(screen: &Screen) {
    if !screen.stdout.is_empty() {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout
            .write_all(screen.stdout.as_bytes())
            .and_then(|()| stdout.flush());
    }
    if !screen.stderr.is_empty() {
        let _ = std::io::stderr().lock().write_all(screen.stderr.as_bytes());
    }
}

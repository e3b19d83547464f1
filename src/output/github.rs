//! `--output github`: GitHub Actions workflow commands (`::error file=…,line=…::message`) that
//! annotate manifest lines on a pull request, and the quoting that keeps untrusted manifest text
//! from ever being read as a workflow command.
//!
//! Two GitHub rules shape this module. A runner reads any log line starting with `::` as a
//! command, so everything jobctl prints that came from a manifest or from AWS is either escaped
//! into a single annotation line or fenced between `::stop-commands::TOKEN` and `::TOKEN::`. And a
//! step shows at most 10 error and 10 warning annotations, so the rest are counted in one notice
//! (they are all in the log anyway).

use std::path::Path;

use super::style::Paint;
use super::text::{
    apply_text, diagnostics_text, export_text, notes_text, prune_line, refusal_text, report_text,
    verdict,
};
use super::{Render, Screen};
use crate::engine::apply::{JobResult, Outcome};
use crate::engine::plan::{Action, Plan};
use crate::engine::refresh::JobError;
use crate::manifest::diagnostic::{Diagnostic, Severity};
use crate::report::{ApplyReport, ExportReport, Failure, PlanReport, ValidateReport};

/// The GitHub renderer: annotations first (GitHub's per-step cap counts them together), then
/// the text output for the log, fenced so that manifest and AWS text cannot run commands.
pub struct Github {
    workspace: Workspace,
}

impl Github {
    pub fn new(workspace: Workspace) -> Self {
        Self { workspace }
    }

    /// Annotations for the manifest problems, the plan and any extra ones (a refusal, apply
    /// failures), within GitHub's per-step cap.
    fn annotations(&self, report: &PlanReport, extra: &[Annotation]) -> String {
        let mut all = diagnostics_annotations(&report.diagnostics, &self.workspace);
        all.extend(plan_annotations(
            &report.plan,
            &report.errors,
            &self.workspace,
        ));
        all.extend_from_slice(extra);
        annotations_text(&all)
    }
}

impl Render for Github {
    fn validate(&self, report: &ValidateReport) -> Screen {
        let mut out = annotations_text(&diagnostics_annotations(
            &report.diagnostics,
            &self.workspace,
        ));
        let mut log = diagnostics_text(&report.diagnostics, Paint::PLAIN);
        log.push_str(&notes_text(&report.notes));
        log.push_str(&verdict(report));
        out.push_str(&quoted(&log, &stop_token()));
        Screen::stdout(out)
    }

    fn plan(&self, report: &PlanReport) -> Screen {
        let mut out = self.annotations(report, &[]);
        out.push_str(&log(report));
        Screen::stdout(out)
    }

    /// The plan goes to the log before anything changes; annotations come at the end.
    fn apply_started(&self, report: &PlanReport) -> Screen {
        Screen::stdout(log(report))
    }

    fn apply(&self, report: &ApplyReport) -> Screen {
        let plan = &report.plan;
        let mut out;
        if let Some(why) = report.refusal() {
            let text = refusal_text(why, plan);
            let first = text
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("jobctl: ")
                .trim_end_matches(':')
                .to_string();
            let refusal = Annotation::new(Level::Error, first).with_title("jobctl: apply refused");
            out = self.annotations(plan, &[refusal]);
            // Reasons quote AWS tags (another instance's name): fenced like all untrusted text.
            out.push_str(&quoted(&text, &stop_token()));
        } else {
            let mut failures = apply_annotations(report.results(), &plan.plan, &self.workspace);
            let mut log = apply_text(report.results(), Paint::PLAIN);
            log.push_str(&super::text::rollouts_text(&report.rollouts));
            if let Some(wait) = &report.wait {
                failures.extend(status_annotations(wait));
                log.push('\n');
                log.push_str(&super::status::text(wait, Paint::PLAIN));
            }
            out = self.annotations(plan, &failures);
            out.push_str(&quoted(&log, &stop_token()));
        }
        Screen::stdout(out)
    }

    /// An annotation per failed job and per existing file, then the summary, fenced. Without
    /// `--dir` the manifests go to stdout unchanged and the rest to stderr.
    fn export(&self, report: &ExportReport) -> Screen {
        let mut annotations: Vec<Annotation> = report
            .errors
            .iter()
            .map(|e| {
                Annotation::new(Level::Error, format!("job `{}`: {}", e.resource, e.message))
                    .with_title("jobctl export")
            })
            .collect();
        annotations.extend(report.conflicts.iter().map(|p| {
            Annotation::new(
                Level::Error,
                format!(
                    "{} exists already; nothing was written (--force overwrites)",
                    p.display()
                ),
            )
            .with_title("jobctl export")
        }));
        let mut out = annotations_text(&annotations);
        out.push_str(&quoted(&export_text(report, Paint::PLAIN), &stop_token()));
        match &report.stream {
            Some(stream) => Screen {
                stdout: stream.clone(),
                stderr: out,
            },
            None => Screen::stdout(out),
        }
    }

    /// An error annotation per unhealthy job, then the table, fenced.
    fn status(&self, report: &crate::report::StatusReport) -> Screen {
        let mut out = annotations_text(&status_annotations(report));
        out.push_str(&quoted(
            &super::status::text(report, Paint::PLAIN),
            &stop_token(),
        ));
        Screen::stdout(out)
    }

    fn promote(&self, report: &crate::report::PromoteReport) -> Screen {
        super::promote::github(report)
    }

    fn failure(&self, failure: &Failure) -> Screen {
        let mut out = annotations_text(&diagnostics_annotations(
            &failure.diagnostics,
            &self.workspace,
        ));
        out.push_str(&self.notice(&failure.message).stdout);
        Screen::stdout(out)
    }

    /// One escaped error annotation: the names in it come from files and the account.
    fn saved_plan_refused(&self, report: &crate::report::SavedPlanRefused) -> Screen {
        let text = super::saved::refusal_text(report, super::style::Paint::PLAIN);
        Screen::stdout(format!(
            "{}\n",
            Annotation::new(Level::Error, text.trim_end())
                .with_title("jobctl")
                .command()
        ))
    }

    /// The message may quote a manifest, so it is never printed raw where the runner reads
    /// commands: it becomes one escaped annotation.
    fn notice(&self, message: &str) -> Screen {
        Screen::stdout(format!(
            "{}\n",
            Annotation::new(Level::Error, message)
                .with_title("jobctl")
                .command()
        ))
    }
}

/// An error annotation per unhealthy job (`status`, `apply --wait`), and one when the wait
/// timed out.
fn status_annotations(report: &crate::report::StatusReport) -> Vec<Annotation> {
    let mut annotations: Vec<Annotation> = report
        .unhealthy()
        .filter_map(|job| {
            let health = job.health?;
            Some(
                Annotation::new(Level::Error, format!("{} is {health}", job.job_id))
                    .with_title("jobctl status"),
            )
        })
        .collect();
    if report.wait == Some(crate::report::WaitOutcome::TimedOut) {
        let waiting: Vec<&str> = report
            .in_progress()
            .map(|job| job.job_id.as_str())
            .collect();
        annotations.push(
            Annotation::new(
                Level::Error,
                format!(
                    "--timeout passed while waiting for {}; they keep running",
                    waiting.join(", ")
                ),
            )
            .with_title("jobctl status"),
        );
    }
    annotations
}

/// The diagnostics and the plan as text for the log, where manifest text cannot run commands.
fn log(report: &PlanReport) -> String {
    let mut text = diagnostics_text(&report.diagnostics, Paint::PLAIN);
    text.push_str(&report_text(report, Paint::PLAIN));
    quoted(&text, &stop_token())
}

/// Annotations of one kind GitHub shows per step; more are dropped silently by GitHub.
pub const ANNOTATIONS_PER_KIND: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warning,
    Notice,
}

impl Level {
    fn command(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Notice => "notice",
        }
    }
}

/// One workflow-command annotation, optionally anchored to a file position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub level: Level,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub col: Option<usize>,
    pub title: Option<String>,
    pub message: String,
}

impl Annotation {
    pub fn new(level: Level, message: impl Into<String>) -> Self {
        Self {
            level,
            file: None,
            line: None,
            col: None,
            title: None,
            message: message.into(),
        }
    }

    #[must_use]
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Anchors the annotation at a `file:line:col` position as plan changes carry it.
    #[must_use]
    pub fn at_source(mut self, source: &str, workspace: &Workspace) -> Self {
        match split_source(source) {
            Some((file, line, col)) => {
                self.file = Some(workspace.relative(file));
                self.line = Some(line);
                self.col = Some(col);
            }
            None => self.file = Some(workspace.relative(source)),
        }
        self
    }

    /// The workflow command: one line, properties and message escaped.
    pub fn command(&self) -> String {
        let mut props = Vec::new();
        if let Some(file) = &self.file {
            props.push(format!("file={}", escape_property(file)));
        }
        if let Some(line) = self.line {
            props.push(format!("line={line}"));
        }
        if let Some(col) = self.col {
            props.push(format!("col={col}"));
        }
        if let Some(title) = &self.title {
            props.push(format!("title={}", escape_property(title)));
        }
        let props = if props.is_empty() {
            String::new()
        } else {
            format!(" {}", props.join(","))
        };
        format!(
            "::{}{props}::{}",
            self.level.command(),
            escape_data(&self.message)
        )
    }
}

/// Escapes a workflow command's message, as the runner unescapes it: `%`, CR and LF.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command property value: the message escapes plus `:` and `,`, which would
/// otherwise end the property list or start another property.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `file:line:col` split into its parts; the file may itself contain colons.
fn split_source(source: &str) -> Option<(&str, usize, usize)> {
    let mut parts = source.rsplitn(3, ':');
    let col = parts.next()?.parse().ok()?;
    let line = parts.next()?.parse().ok()?;
    let file = parts.next()?;
    Some((file, line, col))
}

/// Where annotations' paths are made relative to. GitHub matches an annotation to a diff line
/// by its path from the repository root, while jobctl shows paths relative to where it ran.
#[derive(Debug, Clone, Default)]
pub struct Workspace {
    /// `GITHUB_WORKSPACE`: the checkout root.
    pub root: Option<std::path::PathBuf>,
    /// The directory jobctl runs in.
    pub cwd: Option<std::path::PathBuf>,
}

impl Workspace {
    /// The runner's workspace and the current directory, from the environment.
    pub fn from_env() -> Self {
        Self {
            root: std::env::var_os("GITHUB_WORKSPACE")
                .filter(|v| !v.is_empty())
                .map(Into::into),
            cwd: std::env::current_dir().ok(),
        }
    }

    /// The path relative to the workspace root, with `/` separators; unchanged when it lies
    /// outside the workspace or no workspace is known.
    pub fn relative(&self, path: &str) -> String {
        let Some(root) = &self.root else {
            return path.to_string();
        };
        let given = Path::new(path);
        let absolute = if given.is_absolute() {
            given.to_path_buf()
        } else if let Some(cwd) = &self.cwd {
            cwd.join(given)
        } else {
            return path.to_string();
        };
        let normal = normalize(&absolute);
        match normal.strip_prefix(normalize(root)) {
            Ok(rel) => rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/"),
            Err(_) => path.to_string(),
        }
    }
}

/// Removes `.` and resolves `..` lexically (the path may not exist any more, so no canonicalize).
fn normalize(path: &Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// One annotation per diagnostic, at its file position; the help goes on the next line of the
/// message, where GitHub shows it under the error.
pub fn diagnostic_annotation(diag: &Diagnostic, workspace: &Workspace) -> Annotation {
    let level = match diag.severity {
        Severity::Error => Level::Error,
        Severity::Warning => Level::Warning,
    };
    let mut message = diag.message.clone();
    if let Some(help) = &diag.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    Annotation {
        level,
        file: Some(workspace.relative(&diag.file.display)),
        line: diag.location.map(|l| l.line),
        col: diag.location.map(|l| l.col),
        title: Some(format!("jobctl: {}", diag.code)),
        message,
    }
}

pub fn diagnostics_annotations(
    diagnostics: &[Diagnostic],
    workspace: &Workspace,
) -> Vec<Annotation> {
    diagnostics
        .iter()
        .map(|d| diagnostic_annotation(d, workspace))
        .collect()
}

/// What a reviewer must see on the diff: blocked changes and failed reads as errors,
/// replacements, cancellations and deletions as warnings. Creates and updates are the plan
/// working as intended and stay in the summary.
pub fn plan_annotations(
    plan: &Plan,
    errors: &[JobError],
    workspace: &Workspace,
) -> Vec<Annotation> {
    let mut out = Vec::new();
    for change in &plan.changes {
        let id = &change.resource;
        let annotation = if let Some(reason) = &change.blocked {
            Some(
                Annotation::new(Level::Error, format!("{id}: {reason}"))
                    .with_title(format!("jobctl: {id} is blocked")),
            )
        } else {
            match change.action {
                Action::Replace => Some(
                    Annotation::new(
                        Level::Warning,
                        format!(
                            "{id} will be replaced (forced by {}): it is cancelled, deleted and rolled out again on its devices",
                            change.forced_by.join(", ")
                        ),
                    )
                    .with_title(format!("jobctl: {id} will be replaced")),
                ),
                Action::Cancel => Some(
                    Annotation::new(Level::Warning, format!("{id} will be cancelled: no manifest declares it"))
                        .with_title(format!("jobctl: {id} will be cancelled")),
                ),
                Action::Delete => Some(
                    Annotation::new(Level::Warning, format!("{id} will be deleted: no manifest declares it"))
                        .with_title(format!("jobctl: {id} will be deleted")),
                ),
                Action::Create | Action::Update | Action::Unchanged => None,
            }
        };
        if let Some(annotation) = annotation {
            out.push(match &change.source {
                Some(source) => annotation.at_source(source, workspace),
                None => annotation,
            });
        }
    }
    for error in errors {
        let annotation = Annotation::new(
            Level::Error,
            format!("{}: {}", error.resource, error.message),
        )
        .with_title(format!("jobctl: {} could not be planned", error.resource));
        out.push(match &error.source {
            Some(source) => annotation.at_source(source, workspace),
            None => annotation,
        });
    }
    for note in &plan.notes {
        out.push(Annotation::new(Level::Warning, note.clone()).with_title("jobctl"));
    }
    if plan.prune.requested {
        let level = if plan.prune.refused.is_some() && plan.prune.would_prune > 0 {
            Level::Warning
        } else {
            Level::Notice
        };
        out.push(Annotation::new(level, prune_line(plan)).with_title("jobctl: prune"));
    }
    out
}

/// Failed steps of an apply, as errors at the manifest that declares the job.
pub fn apply_annotations(
    results: &[JobResult],
    plan: &Plan,
    workspace: &Workspace,
) -> Vec<Annotation> {
    let mut out = Vec::new();
    for result in results {
        let Outcome::Failed {
            operation,
            code,
            message,
        } = &result.outcome
        else {
            continue;
        };
        let id = &result.resource;
        let annotation = Annotation::new(
            Level::Error,
            format!("{id}: {operation} failed: {code}: {message}"),
        )
        .with_title(format!("jobctl: {id} failed"));
        let source = plan
            .changes
            .iter()
            .find(|c| &c.resource == id)
            .and_then(|c| c.source.as_deref());
        out.push(match source {
            Some(source) => annotation.at_source(source, workspace),
            None => annotation,
        });
    }
    out
}

/// The annotations as workflow command lines: at most [`ANNOTATIONS_PER_KIND`] of each level,
/// in order, then one notice that counts the rest, so nothing disappears without a word.
pub fn annotations_text(annotations: &[Annotation]) -> String {
    let mut out = String::new();
    let mut shown = [0usize; 3];
    let mut hidden = [0usize; 3];
    for annotation in annotations {
        let kind = annotation.level as usize;
        if shown[kind] < ANNOTATIONS_PER_KIND {
            shown[kind] += 1;
            out.push_str(&annotation.command());
            out.push('\n');
        } else {
            hidden[kind] += 1;
        }
    }
    let parts: Vec<String> = [
        (hidden[Level::Error as usize], "error"),
        (hidden[Level::Warning as usize], "warning"),
        (hidden[Level::Notice as usize], "notice"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} more {what}{}", if n == 1 { "" } else { "s" }))
    .collect();
    if !parts.is_empty() {
        let notice = Annotation::new(
            Level::Notice,
            format!(
                "{} not shown as annotations: GitHub shows {ANNOTATIONS_PER_KIND} of each kind per step. Every problem is listed in this step's log.",
                parts.join(" and ")
            ),
        )
        .with_title("jobctl: more annotations");
        out.push_str(&notice.command());
        out.push('\n');
    }
    out
}

/// Text that must reach the log verbatim but never be read as a workflow command: fenced by
/// `::stop-commands::TOKEN` / `::TOKEN::`. The token is unpredictable, so manifest text cannot
/// contain the line that turns commands back on.
pub fn quoted(text: &str, token: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let mut out = format!("::stop-commands::{token}\n{text}");
    if !text.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!("::{token}::\n"));
    out
}

/// A fresh token for [`quoted`]: 128 bits from the standard library's randomly seeded hasher
/// (jobctl has no other use for a random number generator).
pub fn stop_token() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut token = String::from("jobctl-");
    for salt in 0..2u64 {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(salt);
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        hasher.write_u32(std::process::id());
        token.push_str(&format!("{:016x}", hasher.finish()));
    }
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_and_properties_are_escaped_per_the_runner() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn a_message_cannot_start_a_command_on_a_new_line() {
        let a = Annotation::new(
            Level::Error,
            "bad\n::set-output name=x::pwned\n::add-mask::x",
        );
        let line = a.command();
        assert_eq!(line.lines().count(), 1);
        assert_eq!(
            line,
            "::error::bad%0A::set-output name=x::pwned%0A::add-mask::x"
        );
    }

    #[test]
    fn properties_cannot_break_out() {
        let a = Annotation {
            level: Level::Warning,
            file: Some("jobs/a,line=1:b.yaml".into()),
            line: Some(3),
            col: Some(7),
            title: Some("t::x,y".into()),
            message: "m".into(),
        };
        assert_eq!(
            a.command(),
            "::warning file=jobs/a%2Cline=1%3Ab.yaml,line=3,col=7,title=t%3A%3Ax%2Cy::m"
        );
    }

    #[test]
    fn sources_split_from_the_right() {
        assert_eq!(split_source("jobs/a.yaml:3:9"), Some(("jobs/a.yaml", 3, 9)));
        assert_eq!(split_source("c:/x.yaml:3:9"), Some(("c:/x.yaml", 3, 9)));
        assert_eq!(split_source("jobs/a.yaml"), None);
    }

    #[test]
    fn ten_of_each_kind_then_a_notice() {
        let mut all = Vec::new();
        for i in 0..13 {
            all.push(Annotation::new(Level::Error, format!("e{i}")));
        }
        for i in 0..11 {
            all.push(Annotation::new(Level::Warning, format!("w{i}")));
        }
        let text = annotations_text(&all);
        assert_eq!(text.matches("::error::").count(), 10);
        assert_eq!(text.matches("::warning::").count(), 10);
        assert!(text.contains("::error::e9\n"));
        assert!(!text.contains("e10"));
        let last = text.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("::notice title=jobctl%3A more annotations::3 more errors and 1 more warning not shown"),
            "{last}"
        );
    }

    #[test]
    fn quoted_text_is_fenced_with_a_fresh_token() {
        let (a, b) = (stop_token(), stop_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), "jobctl-".len() + 32);
        assert_eq!(
            quoted("::error::x", "T"),
            "::stop-commands::T\n::error::x\n::T::\n"
        );
    }

    #[test]
    fn paths_become_relative_to_the_workspace() {
        let ws = Workspace {
            root: Some("/w/repo".into()),
            cwd: Some("/w/repo/envs/prod".into()),
        };
        assert_eq!(ws.relative("jobs/a.yaml"), "envs/prod/jobs/a.yaml");
        assert_eq!(ws.relative("../staging/a.yaml"), "envs/staging/a.yaml");
        assert_eq!(ws.relative("/w/repo/x.yaml"), "x.yaml");
        assert_eq!(ws.relative("/elsewhere/x.yaml"), "/elsewhere/x.yaml");
        assert_eq!(Workspace::default().relative("a.yaml"), "a.yaml");
    }
}

//! `--output markdown` and the Markdown files written for GitHub (job summary, pull-request
//! comment): a summary table first, then one collapsible `<details>` block per job with its diff.
//!
//! Manifest and AWS text is untrusted here too: inline text is backslash-escaped (no HTML, no
//! links, no table breaks, no @mentions), identifiers go in code spans, and diffs go in fences
//! longer than any backtick run they contain. Reports can be capped to GitHub's size limits; what
//! does not fit is left out whole, from the last job backwards, with a note saying so.

use serde_json::Value;
use similar::ChangeTag;

use super::diff::{self, pretty, Shape};
use super::style::{Colors, Paint};
use super::text::{apply_text, diagnostics_text, prune_line, summary_line};
use super::{Render, Screen};
use crate::engine::apply::{JobResult, Outcome};
use crate::engine::plan::{Action, Change, FieldChange, Plan, Step};
use crate::engine::reconcile::{Applied, Refusal};
use crate::engine::refresh::JobError;
use crate::manifest::diagnostic::{tally, Diagnostic, Omitted, Severity};
use crate::report::{ApplyReport, ExportReport, Failure, PlanReport, Scope, ValidateReport};

/// GitHub's limit on one step's job summary ($GITHUB_STEP_SUMMARY), in bytes.
pub const STEP_SUMMARY_MAX_BYTES: usize = 1024 * 1024;
/// GitHub's limit on a comment body, in characters. Capping bytes at this number is safe: a
/// character is at least one byte.
pub const COMMENT_MAX_CHARS: usize = 65_536;

/// The Markdown renderer. Manifest problems also go to stderr as text, as soon as they are
/// found, since stdout holds the report.
pub struct Markdown {
    stderr: Paint,
}

impl Markdown {
    pub fn new(colors: Colors) -> Self {
        Self {
            stderr: Paint::new(colors.stderr),
        }
    }
}

impl Render for Markdown {
    fn loaded(&self, diagnostics: &[Diagnostic]) -> Screen {
        Screen::stderr(diagnostics_text(diagnostics, self.stderr))
    }

    fn validate(&self, report: &ValidateReport) -> Screen {
        Screen::stdout(validate_markdown(report, &titled(VALIDATE_TITLE)))
    }

    fn plan(&self, report: &PlanReport) -> Screen {
        let options = MarkdownOptions {
            scope: Some(report.scope.clone()),
            ..titled(&title("plan", &report.instance))
        };
        Screen::stdout(plan_markdown(
            &report.plan,
            &report.errors,
            &report.diagnostics,
            &options,
        ))
    }

    fn apply(&self, report: &ApplyReport) -> Screen {
        let options = MarkdownOptions {
            scope: Some(report.plan.scope.clone()),
            ..titled(&title("apply", &report.plan.instance))
        };
        Screen::stdout(apply_report_markdown(report, &options))
    }

    fn export(&self, report: &ExportReport) -> Screen {
        let markdown = export_markdown(report);
        match &report.stream {
            Some(stream) => Screen {
                stdout: stream.clone(),
                stderr: markdown,
            },
            None => Screen::stdout(markdown),
        }
    }

    fn status(&self, report: &crate::report::StatusReport) -> Screen {
        Screen::stdout(super::status::markdown(report))
    }

    fn promote(&self, report: &crate::report::PromoteReport) -> Screen {
        super::promote::markdown(report)
    }

    fn failure(&self, failure: &Failure) -> Screen {
        self.notice(&failure.message)
    }

    fn saved_plan_refused(&self, report: &crate::report::SavedPlanRefused) -> Screen {
        Screen::stdout(super::saved::refusal_markdown(report))
    }
}

/// `jobctl export` as a table: one row per job with its files, then failures and conflicts.
pub fn export_markdown(report: &ExportReport) -> String {
    let mut out = format!(
        "### jobctl export\n\n{} exported, {} failed.\n\n",
        report.jobs.len(),
        report.errors.len()
    );
    if !report.jobs.is_empty() {
        out.push_str(
            "| job | status | files | left to its template | warnings |\n|---|---|---|---|---|\n",
        );
        for job in &report.jobs {
            let files: Vec<String> = report
                .files
                .iter()
                .filter(|f| f.job_id == job.job_id)
                .map(|f| code(&f.path.display().to_string()))
                .collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                code(&job.job_id),
                text(&job.status),
                files.join(" "),
                text(&job.inherited.join(", ")),
                text(&job.warnings.join("; "))
            ));
        }
        out.push('\n');
    }
    for error in &report.errors {
        out.push_str(&format!(
            "- ✗ {}: {}\n",
            code(&error.resource.to_string()),
            text(&error.message)
        ));
    }
    for path in &report.conflicts {
        out.push_str(&format!(
            "- ✗ {} exists already; nothing was written (`--force` overwrites)\n",
            code(&path.display().to_string())
        ));
    }
    if let Some(message) = &report.write_error {
        out.push_str(&format!("- ✗ writing failed: {}\n", text(message)));
    }
    out
}

/// The heading of validate's report.
pub const VALIDATE_TITLE: &str = "jobctl validate";

/// The heading of a plan or apply report; instance names are plain characters (validated).
pub fn title(command: &str, instance: &str) -> String {
    format!("jobctl {command} · instance `{instance}`")
}

/// The hidden first line of a plan's or apply's pull-request comment: one comment per
/// instance, edited in place.
pub fn plan_marker(instance: &str) -> String {
    format!("<!-- jobctl:plan instance={instance} -->")
}

/// Validate's comment marker names the manifest paths (plain characters only), as validate has
/// no instance.
pub fn validate_marker(paths: &[std::path::PathBuf]) -> String {
    let paths: Vec<String> = paths
        .iter()
        .map(|p| {
            p.display()
                .to_string()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
                .collect()
        })
        .collect();
    format!("<!-- jobctl:validate paths={} -->", paths.join(","))
}

fn titled(title: &str) -> MarkdownOptions {
    MarkdownOptions {
        title: title.to_string(),
        ..MarkdownOptions::default()
    }
}

/// `jobctl validate`'s report.
pub fn validate_markdown(report: &ValidateReport, options: &MarkdownOptions) -> String {
    diagnostics_markdown_with_notes(
        &report.diagnostics,
        &report.notes,
        report.files,
        report.jobs,
        options,
    )
}

/// `jobctl apply`'s report: the refusal or the results, then the plan.
pub fn apply_report_markdown(report: &ApplyReport, options: &MarkdownOptions) -> String {
    let plan = &report.plan;
    // `--wait`: the status table of the jobs it followed comes last, and always fits.
    let status = report
        .wait
        .as_ref()
        .map(|wait| format!("\n{}", super::status::markdown(wait)))
        .unwrap_or_default();
    let options = MarkdownOptions {
        max_bytes: options
            .max_bytes
            .map(|max| max.saturating_sub(status.len())),
        ..options.clone()
    };
    let mut out = apply_markdown(
        &plan.plan,
        &plan.errors,
        &plan.diagnostics,
        &report.applied,
        &options,
    );
    if let Some(stopped) = &report.stopped {
        out.push_str(&format!(
            "\n**Stopped before the end:** {}. The results above are what was done by then.\n",
            html(&stopped.message)
        ));
    }
    if !report.rollouts.is_empty() {
        out.push_str("\n#### Rollouts\n\n| rollout | phase | stage | next |\n|---|---|---|---|\n");
        for run in &report.rollouts {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                code(&run.job_id),
                run.phase,
                code(&run.stage),
                text(&run.summary).replace('|', "\\|")
            ));
        }
    }
    out.push_str(&status);
    out
}

#[derive(Debug, Clone, Default)]
pub struct MarkdownOptions {
    /// The heading, written by jobctl (never from manifest text).
    pub title: String,
    /// A first line such as `<!-- jobctl:plan instance=prod -->`, by which the GitHub action
    /// finds its earlier comment and edits it instead of adding another.
    pub marker: Option<String>,
    /// Cap on the report's size in bytes. Job diffs that do not fit are left out, with a note.
    pub max_bytes: Option<usize>,
    /// Where the complete report can be found, said in the note when something is left out.
    pub full_report: Option<String>,
    /// Where the plan works, shown under the heading.
    pub scope: Option<Scope>,
}

/// The plan: headline, alerts for what must stand out, a table of changes, then the diffs.
pub fn plan_markdown(
    plan: &Plan,
    errors: &[JobError],
    diagnostics: &[Diagnostic],
    options: &MarkdownOptions,
) -> String {
    let (head, blocks) = plan_parts(plan, errors, diagnostics, options);
    finish(head, blocks, options)
}

/// The apply report: the plan it carried out, with the results (or the refusal) up front.
pub fn apply_markdown(
    plan: &Plan,
    errors: &[JobError],
    diagnostics: &[Diagnostic],
    applied: &Applied,
    options: &MarkdownOptions,
) -> String {
    let mut results = String::new();
    match applied {
        Applied::Refused(Refusal::Blocked) => results.push_str(&format!(
            "> [!CAUTION]\n> **Apply refused:** {} change(s) are blocked; nothing was changed.\n\n",
            plan.blocked().count()
        )),
        Applied::Refused(Refusal::Errors) => results.push_str(&format!(
            "> [!CAUTION]\n> **Apply refused:** the plan has {} error(s); nothing was changed.\n\n",
            errors.len() + diagnostics.iter().filter(|d| d.is_error()).count()
        )),
        Applied::Refused(Refusal::Declined) => results.push_str(
            "> [!CAUTION]\n> **Apply cancelled:** the changes were not confirmed; nothing was changed.\n\n",
        ),
        Applied::Results(applied) => {
            results.push_str(&format!("**{}**\n\n", apply_line(applied)));
            let failed: Vec<_> = applied
                .iter()
                .filter(|r| !matches!(r.outcome, Outcome::Done | Outcome::AlreadyExists))
                .collect();
            if !failed.is_empty() {
                results.push_str("| | job | result |\n|---|---|---|\n");
                for result in failed {
                    let what = match &result.outcome {
                        Outcome::Failed {
                            operation,
                            code,
                            message,
                        } => format!(
                            "**{} failed:** {}: {}",
                            text(operation),
                            text(code),
                            text(message)
                        ),
                        Outcome::Skipped { reason } => format!("skipped: {}", text(reason)),
                        Outcome::Done | Outcome::AlreadyExists => String::new(),
                    };
                    let mark = if result.failed() { "❌" } else { "⏭️" };
                    results.push_str(&format!("| {mark} | {} | {what} |\n", code(&result.resource.to_string())));
                }
                results.push('\n');
            }
        }
    }
    let (head, blocks) = plan_parts(plan, errors, diagnostics, options);
    // The results go right under the heading: they are what an apply run is read for.
    let head = match head.split_once("\n\n") {
        Some((heading, rest)) => format!("{heading}\n\n{results}{rest}"),
        None => format!("{head}{results}"),
    };
    finish(head, blocks, options)
}

/// `jobctl validate` as Markdown: the verdict, then a table of problems.
pub fn diagnostics_markdown(
    diagnostics: &[Diagnostic],
    files: usize,
    jobs: usize,
    options: &MarkdownOptions,
) -> String {
    diagnostics_markdown_with_notes(diagnostics, &[], files, jobs, options)
}

/// The same, with remarks that are not problems as notes under the verdict.
pub fn diagnostics_markdown_with_notes(
    diagnostics: &[Diagnostic],
    notes: &[String],
    files: usize,
    jobs: usize,
    options: &MarkdownOptions,
) -> String {
    let Omitted { errors, warnings } = tally(diagnostics);
    let mut head = format!("### {}\n\n", options.title);
    let noun = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    if errors == 0 {
        head.push_str(&format!(
            "✅ **{} valid in {}{}.**\n\n",
            noun(jobs, "job", "jobs"),
            noun(files, "file", "files"),
            if warnings > 0 {
                format!(", {}", noun(warnings, "warning", "warnings"))
            } else {
                String::new()
            }
        ));
    } else {
        head.push_str(&format!(
            "❌ **{}, {} in {}.**\n\n",
            noun(errors, "error", "errors"),
            noun(warnings, "warning", "warnings"),
            noun(files, "file", "files")
        ));
    }
    for note in notes {
        head.push_str(&format!("> [!NOTE]\n> {}\n\n", text(note)));
    }
    head.push_str(&diagnostics_table(diagnostics));
    finish(head, Vec::new(), options)
}

fn diagnostics_table(diagnostics: &[Diagnostic]) -> String {
    if diagnostics.is_empty() {
        return String::new();
    }
    let mut out = String::from("| | where | rule | problem |\n|---|---|---|---|\n");
    for diag in diagnostics {
        let mark = match diag.severity {
            Severity::Error => "❌",
            Severity::Warning => "⚠️",
        };
        let mut problem = text(&diag.message);
        if let Some(help) = &diag.help {
            problem.push_str(&format!("<br>help: {}", text(help)));
        }
        out.push_str(&format!(
            "| {mark} | {} | {} | {problem} |\n",
            code(&diag.position()),
            code(diag.code.code())
        ));
    }
    out.push('\n');
    out
}

fn apply_line(results: &[JobResult]) -> String {
    apply_text(results, Paint::PLAIN)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// The part that is always shown (head) and the per-job diffs, which a cap may leave out.
fn plan_parts(
    plan: &Plan,
    errors: &[JobError],
    diagnostics: &[Diagnostic],
    options: &MarkdownOptions,
) -> (String, Vec<String>) {
    let mut head = format!("### {}\n\n", options.title);
    if let Some(scope) = &options.scope {
        head.push_str(&format!("{}\n\n", scope_markdown(scope)));
    }
    let invalid = tally(diagnostics).errors;
    head.push_str(&format!(
        "**{}**\n\n{}\n\n",
        summary_line(
            &plan.summary(),
            errors.len() + invalid,
            plan.not_compared.len(),
            Paint::PLAIN
        ),
        text(&prune_line(plan))
    ));
    if invalid > 0 {
        head.push_str(&format!(
            "> [!CAUTION]\n> **{invalid} manifest error(s):** the jobs they concern are left out of this plan, and jobctl exits 1 until they are fixed.\n\n"
        ));
    }
    let blocked = plan.blocked().count();
    if blocked > 0 {
        head.push_str(&format!(
            "> [!CAUTION]\n> **{blocked} change(s) blocked: apply will refuse to run.** Each is marked ⛔ below with the reason.\n\n"
        ));
    }
    let count = |action: Action| plan.changes.iter().filter(|c| c.action == action).count();
    let replaced = count(Action::Replace);
    if replaced > 0 {
        head.push_str(&format!(
            "> [!WARNING]\n> **{replaced} job(s) must be replaced:** cancelled, deleted and rolled out again on their devices.\n\n"
        ));
    }
    let removed = count(Action::Cancel) + count(Action::Delete);
    if removed > 0 {
        head.push_str(&format!(
            "> [!WARNING]\n> **{removed} job(s) will be cancelled or deleted:** no manifest declares them any more.\n\n"
        ));
    }
    if !errors.is_empty() {
        head.push_str(&format!(
            "> [!CAUTION]\n> **{} job(s) could not be planned.**\n\n",
            errors.len()
        ));
    }
    for note in &plan.notes {
        head.push_str(&format!("> [!NOTE]\n> {}\n\n", text(note)));
    }
    if !diagnostics.is_empty() {
        head.push_str("**Manifest problems**\n\n");
        head.push_str(&diagnostics_table(diagnostics));
    }

    let shown: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Unchanged || c.blocked.is_some())
        .collect();
    if !shown.is_empty() || !errors.is_empty() {
        head.push_str("| | job | change | status | manifest |\n|---|---|---|---|---|\n");
        for change in &shown {
            head.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                mark(change),
                code(&change.resource.to_string()),
                describe(change),
                change.status.as_deref().map(text).unwrap_or_default(),
                change.source.as_deref().map(code).unwrap_or_default()
            ));
        }
        for error in errors {
            head.push_str(&format!(
                "| ❗ | {} | **error:** {} | | {} |\n",
                code(&error.resource.to_string()),
                text(&error.message),
                error.source.as_deref().map(code).unwrap_or_default()
            ));
        }
        head.push('\n');
    }

    let unchanged: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Unchanged && c.blocked.is_none())
        .map(|c| code(&c.resource.to_string()))
        .collect();
    if !unchanged.is_empty() {
        head.push_str(&format!(
            "<details><summary>{} unchanged</summary>\n\n{}\n\n</details>\n\n",
            unchanged.len(),
            unchanged.join(", ")
        ));
    }
    if !plan.orphans.is_empty() {
        let list: Vec<String> = plan
            .orphans
            .iter()
            .map(|o| format!("{} ({})", code(&o.job_id), text(&o.status)))
            .collect();
        let header = if plan.prune.refused.is_some() {
            "are declared by no manifest that could be read** (kept: a broken file may declare them)"
        } else {
            "have no manifest** (`--prune` cancels them, `--prune-delete` deletes finished ones)"
        };
        head.push_str(&format!(
            "**{} job(s) of this instance {header}: {}\n\n",
            plan.orphans.len(),
            list.join(", ")
        ));
    }
    if !plan.not_compared.is_empty() {
        head.push_str(&format!(
            "{} finished job(s) were not compared; `--compare-finished` compares them.\n\n",
            plan.not_compared.len()
        ));
    }

    let mut blocks: Vec<String> = shown.iter().map(|c| change_block(c)).collect();
    blocks.extend(errors.iter().map(error_block));
    (head, blocks)
}

/// "Account `123456789012` · region `us-east-1` · instance `prod`", plus the endpoint when it
/// is not AWS's.
fn scope_markdown(scope: &Scope) -> String {
    let mut parts = vec![
        format!(
            "account {}",
            scope
                .account
                .as_deref()
                .map_or_else(|| "unknown".to_string(), code)
        ),
        format!("region {}", code(&scope.region)),
    ];
    if let Some(endpoint) = &scope.endpoint {
        parts.push(format!("endpoint {}", code(endpoint)));
    }
    parts.push(format!("instance {}", code(&scope.instance)));
    parts.join(" · ")
}

/// The action's glyph; a blocked change also gets ⛔ (a conflict has only that).
fn mark(change: &Change) -> &'static str {
    match (change.action, change.blocked.is_some()) {
        (Action::Unchanged, true) => "⛔",
        (Action::Unchanged, false) => "",
        (Action::Create, false) => "➕",
        (Action::Create, true) => "➕⛔",
        (Action::Update, false) => "✏️",
        (Action::Update, true) => "✏️⛔",
        (Action::Replace, false) => "♻️",
        (Action::Replace, true) => "♻️⛔",
        (Action::Cancel, false) => "🛑",
        (Action::Cancel, true) => "🛑⛔",
        (Action::Delete, false) => "🗑️",
        (Action::Delete, true) => "🗑️⛔",
    }
}

/// The change column: the action, loud when it re-runs, removes or is blocked.
fn describe(change: &Change) -> String {
    let fields: Vec<&str> = change.fields.iter().map(|f| f.field).collect();
    let mut out = match change.action {
        Action::Create => "create".to_string(),
        Action::Update if fields.is_empty() => "update in place".to_string(),
        Action::Update => format!("update in place ({})", fields.join(", ")),
        Action::Replace => format!("**replace** (forced by {})", change.forced_by.join(", ")),
        Action::Cancel => "**cancel**".to_string(),
        Action::Delete => "**delete**".to_string(),
        Action::Unchanged => "**conflict**".to_string(),
    };
    if change.blocked.is_some() {
        out.push_str(", ⛔ **blocked**");
    }
    out
}

fn change_block(change: &Change) -> String {
    let mut body = String::new();
    if let Some(reason) = &change.blocked {
        body.push_str(&format!("> ⛔ **Blocked:** {}\n\n", text(reason)));
    }
    if let Some(note) = &change.note {
        body.push_str(&format!("{}\n\n", text(note)));
    }
    if let Some(rollout) = &change.rollout {
        body.push_str(&format!(
            "Rollout **{}** in stage {}: {}\n\n",
            rollout.phase,
            code(&rollout.stage),
            text(&rollout.next)
        ));
        for stage in &rollout.upcoming {
            let line = super::text::upcoming_line(stage);
            body.push_str(&format!("{}\n\n", text(line.trim_start_matches("# "))));
        }
    }
    let calls: Vec<String> = change.steps.iter().map(step_call).collect();
    if !calls.is_empty() {
        body.push_str(&format!("AWS calls: {}\n\n", calls.join(" → ")));
    }
    let diff = change_diff(change);
    if !diff.is_empty() {
        let fence = fence(&diff);
        body.push_str(&format!("{fence}diff\n{diff}{fence}\n\n"));
    }
    let mut summary = format!(
        "{} <code>{}</code>: ",
        mark(change),
        html(&change.resource.to_string())
    );
    summary.push_str(match change.action {
        Action::Create => "create",
        Action::Update => "update in place",
        Action::Replace => "replace",
        Action::Cancel => "cancel",
        Action::Delete => "delete",
        Action::Unchanged => "conflict",
    });
    if change.blocked.is_some() {
        summary.push_str(" (blocked)");
    }
    format!("<details><summary>{summary}</summary>\n\n{body}</details>\n\n")
}

fn error_block(error: &JobError) -> String {
    // Indented like the diffs, so that no line of an AWS message starts a line of the report.
    let message: String = error
        .message
        .lines()
        .map(|line| format!("  {line}\n"))
        .collect();
    let fence = fence(&message);
    format!(
        "<details><summary>❗ <code>{}</code>: error</summary>\n\n{fence}text\n{message}{fence}\n\n</details>\n\n",
        html(&error.resource.to_string()),
    )
}

/// A step as a reviewer reads it in "AWS calls": the operation, with what it changes.
fn step_call(step: &Step) -> String {
    match step {
        Step::Adopt => "TagResource (adopt)".into(),
        Step::UpdateJob { fields, .. } => format!("UpdateJob ({})", fields.join(", ")),
        Step::AssociateTargetsWithJob { targets } => {
            format!("AssociateTargetsWithJob ({} target(s))", targets.len())
        }
        Step::CancelJob { force: true } | Step::DeleteJob { force: true } => {
            format!("{} (force)", step.name())
        }
        Step::WaitForDeletion => "wait for the deletion".into(),
        Step::TagResource { .. }
        | Step::UntagResource { .. }
        | Step::CancelJob { force: false }
        | Step::DeleteJob { force: false }
        | Step::CreateJob { .. }
        | Step::CreateJobTemplate { .. }
        | Step::DeleteJobTemplate => step.name().into(),
    }
}

/// The job's diff in `diff` syntax: `@@ field @@` headers, `-` for the account, `+` for the
/// manifest. Every line starts with a marker, so no manifest line can end the fence early.
fn change_diff(change: &Change) -> String {
    let mut out = String::new();
    if change.action == Action::Create {
        if let Some(spec) = change.create_spec() {
            if let Ok(Value::Object(fields)) = serde_json::to_value(&**spec) {
                for (name, value) in fields {
                    out.push_str(&format!("@@ {name} @@\n"));
                    for line in pretty(&value).lines() {
                        out.push_str(&format!("+ {line}\n"));
                    }
                }
            }
        }
        out.push_str(&inherited_diff(change));
        return out;
    }
    for field in &change.fields {
        out.push_str(&field_diff(field));
    }
    out.push_str(&inherited_diff(change));
    out
}

/// The values a job takes from its template, as context lines (they are not changes), each
/// under a header naming the template.
fn inherited_diff(change: &Change) -> String {
    let Some(inherited) = &change.inherited else {
        return String::new();
    };
    let name = match &inherited.template_version {
        Some(version) => format!("{} version {version}", inherited.template_name),
        None => inherited.template_name.clone(),
    };
    let mut out = String::new();
    for (field, value) in &inherited.fields {
        out.push_str(&format!(
            "@@ {field} (inherited from template {name}: {}) @@\n",
            inherited.template_arn
        ));
        for line in pretty(value).lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out
}

fn field_diff(field: &FieldChange) -> String {
    let mut out = format!(
        "@@ {}{} @@\n",
        field.field,
        if field.forces_replacement {
            " (forces replacement)"
        } else {
            ""
        }
    );
    if let Some(keys) = diff::key_changes(field) {
        // Tags read key by key: a changed key is its old line and its new one.
        for change in keys {
            let name = diff::key(&change.key);
            for (value, sign) in [(&change.before, '-'), (&change.after, '+')] {
                if let Some(value) = value {
                    out.push_str(&format!("{sign} {name} = {}\n", pretty(value)));
                }
            }
        }
        return out;
    }
    if diff::shape(field) != Shape::Structured {
        for (value, sign) in [(&field.before, '-'), (&field.after, '+')] {
            if !value.is_null() {
                for line in pretty(value).lines() {
                    out.push_str(&format!("{sign} {line}\n"));
                }
            }
        }
        return out;
    }
    // Structured values are diffed line by line as pretty JSON, as the text plan does.
    for (tag, line) in diff::lines(&field.before, &field.after) {
        let sign = match tag {
            ChangeTag::Delete => '-',
            ChangeTag::Insert => '+',
            ChangeTag::Equal => ' ',
        };
        out.push_str(&format!("{sign} {line}\n"));
    }
    out
}

/// Puts the report together, leaving out job diffs from the end (then cutting the head at a line)
/// until it fits `max_bytes`, and saying so in a note.
fn finish(head: String, blocks: Vec<String>, options: &MarkdownOptions) -> String {
    let marker = options
        .marker
        .as_ref()
        .map(|m| format!("{m}\n"))
        .unwrap_or_default();
    let total: usize = marker.len() + head.len() + blocks.iter().map(String::len).sum::<usize>();
    let Some(max) = options.max_bytes.filter(|max| total > *max) else {
        return format!("{marker}{head}{}", blocks.concat());
    };
    let mut size = total;
    for kept in (0..blocks.len()).rev() {
        size -= blocks[kept].len();
        let note = cut_note(blocks.len() - kept, blocks.len(), false, max, options);
        if size + note.len() <= max {
            return format!("{marker}{head}{}{note}", blocks[..kept].concat());
        }
    }
    let note = cut_note(blocks.len(), blocks.len(), true, max, options);
    let budget = max.saturating_sub(marker.len() + note.len());
    // Cut at a line end, so no table row or alert is left half-written.
    let cut = head.as_bytes()[..budget.min(head.len())]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let mut out = format!("{marker}{}{note}", &head[..cut]);
    if out.len() > max {
        // A cap smaller than the note itself: the marker and a cut note are all that fit.
        let mut end = max;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out
}

fn cut_note(
    omitted: usize,
    total: usize,
    head_cut: bool,
    max: usize,
    options: &MarkdownOptions,
) -> String {
    let what = if head_cut {
        "the summary is cut short and every job diff is left out".to_string()
    } else {
        format!("{omitted} of {total} job diff(s) are left out")
    };
    let full = options.full_report.as_deref().unwrap_or(
        "run `jobctl plan --output markdown` (or `--output json`) for the complete plan.",
    );
    format!(
        "\n> [!NOTE]\n> **Truncated:** this report is capped at {max} bytes (GitHub's limit), so {what}. The full plan: {full}\n"
    )
}

/// Backslash-escapes every ASCII punctuation mark Markdown or HTML could act on, joins lines (a
/// newline would end a table row), and breaks `@name` so a manifest cannot mention people.
pub fn text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            '@' => out.push_str("@\u{2060}"),
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// An inline code span that survives any content: a delimiter longer than the content's
/// longest backtick run, and `|` escaped for table cells (GFM splits cells first).
pub fn code(raw: &str) -> String {
    let flat: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace('|', "\\|");
    let ticks = "`".repeat(longest_run(&flat, '`') + 1);
    let pad = if flat.starts_with('`') || flat.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{flat}{pad}{ticks}")
}

/// Text inside an HTML element such as `<summary>`.
fn html(raw: &str) -> String {
    raw.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A code fence that the content cannot close: at least three backticks, and more than any run
/// of backticks inside.
fn fence(content: &str) -> String {
    "`".repeat((longest_run(content, '`') + 1).max(3))
}

fn longest_run(text: &str, of: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in text.chars() {
        if c == of {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_inert() {
        assert_eq!(
            text("<img src=x> | [a](b) @team\n# x"),
            "\\<img src\\=x\\> \\| \\[a\\]\\(b\\) @\u{2060}team \\# x"
        );
    }

    #[test]
    fn code_spans_and_fences_outgrow_backticks() {
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(fence("no ticks"), "```");
        assert_eq!(fence("x\n  ````\n"), "`````");
    }

    #[test]
    fn cap_leaves_out_whole_blocks_then_cuts_the_head() {
        let blocks: Vec<String> = (0..5)
            .map(|i| format!("<details>{i}{}</details>\n", "x".repeat(100)))
            .collect();
        let head = "### t\n\n| a |\n".to_string() + &"| row |\n".repeat(50);
        let options = MarkdownOptions {
            max_bytes: Some(head.len() + 300 + 250),
            marker: Some("<!-- m -->".into()),
            ..Default::default()
        };
        let out = finish(head.clone(), blocks.clone(), &options);
        assert!(out.len() <= head.len() + 550, "{}", out.len());
        assert!(out.starts_with("<!-- m -->\n### t"));
        assert!(out.contains("of 5 job diff(s) are left out"), "{out}");
        assert!(out.contains("<details>0"));
        assert!(!out.contains("<details>4"));

        let tiny = MarkdownOptions {
            max_bytes: Some(400),
            ..Default::default()
        };
        let out = finish(head.clone(), blocks.clone(), &tiny);
        assert!(out.len() <= 400, "{}", out.len());
        assert!(out.contains("summary is cut short"), "{out}");
        assert!(out.starts_with("### t\n"));

        let none = MarkdownOptions::default();
        assert_eq!(
            finish(head.clone(), blocks.clone(), &none),
            head + &blocks.concat()
        );
    }
}

//! `--output text`, for people: Terraform-like plans, apply summaries and compiler-style
//! diagnostics, coloured through [`super::style`] when the stream takes colour. The other
//! renderers reuse these texts where they show the same thing (the GitHub log, Markdown's
//! summary line).

use std::collections::BTreeMap;

use serde_json::Value;
use similar::ChangeTag;

use super::diff::{self, pretty, Shape};
use super::style::{self, Colors, Paint};
use super::{Render, Screen};
use crate::engine::apply::{JobResult, Outcome};
use crate::engine::export::FileKind;
use crate::engine::plan::{Action, Change, FieldChange, Plan, Summary};
use crate::engine::reconcile::Refusal;
use crate::engine::refresh::JobError;
use crate::manifest::diagnostic::{sanitize, Diagnostic, Severity};
use crate::manifest::yaml::Location;
use crate::report::{ApplyReport, ExportReport, Failure, PlanReport, Scope, ValidateReport};

/// The text renderer.
pub struct Text {
    stdout: Paint,
    stderr: Paint,
    /// Whether stderr is a terminal, where apply shows a line per finished job.
    progress: bool,
}

impl Text {
    pub fn new(colors: Colors, stderr_is_terminal: bool) -> Self {
        Self {
            stdout: Paint::new(colors.stdout),
            stderr: Paint::new(colors.stderr),
            progress: stderr_is_terminal,
        }
    }
}

impl Render for Text {
    fn loaded(&self, diagnostics: &[Diagnostic]) -> Screen {
        Screen::stderr(diagnostics_text(diagnostics, self.stderr))
    }

    fn validate(&self, report: &ValidateReport) -> Screen {
        let mut out = diagnostics_text(&report.diagnostics, self.stdout);
        out.push_str(&notes_text(&report.notes));
        out.push_str(&verdict(report));
        out.push('\n');
        Screen::stdout(out)
    }

    fn plan(&self, report: &PlanReport) -> Screen {
        Screen::stdout(report_text(report, self.stdout))
    }

    fn apply_started(&self, report: &PlanReport) -> Screen {
        self.plan(report)
    }

    fn progress(&self, done: usize, total: usize, result: &JobResult) -> Option<String> {
        (self.progress && total > 1).then(|| {
            let what = match &result.outcome {
                Outcome::Done => result.action.as_str(),
                Outcome::AlreadyExists => "already exists",
                Outcome::Skipped { .. } => "skipped",
                Outcome::Failed { .. } => "failed",
            };
            format!("[{done}/{total}] {} {what}\n", result.resource)
        })
    }

    fn apply(&self, report: &ApplyReport) -> Screen {
        if let Some(refusal) = report.refusal() {
            Screen::stderr(refusal_text(refusal, &report.plan))
        } else {
            let mut out = format!(
                "\n{}{}",
                apply_text(report.results(), self.stdout),
                rollouts_text(&report.rollouts)
            );
            if let Some(wait) = &report.wait {
                out.push('\n');
                out.push_str(&super::status::text(wait, self.stdout));
            }
            Screen::stdout(out)
        }
    }

    fn export(&self, report: &ExportReport) -> Screen {
        match &report.stream {
            Some(stream) => Screen {
                stdout: stream.clone(),
                stderr: export_text(report, self.stderr),
            },
            None => Screen::stdout(export_text(report, self.stdout)),
        }
    }

    fn status(&self, report: &crate::report::StatusReport) -> Screen {
        Screen::stdout(super::status::text(report, self.stdout))
    }

    fn failure(&self, failure: &Failure) -> Screen {
        self.notice(&failure.message)
    }

    fn saved_plan_refused(&self, report: &crate::report::SavedPlanRefused) -> Screen {
        Screen::stderr(super::saved::refusal_text(report, self.stderr))
    }
}

/// Diagnostics, each rendered and followed by a blank line.
pub fn diagnostics_text(diagnostics: &[Diagnostic], paint: Paint) -> String {
    let mut out = String::new();
    for diag in diagnostics {
        out.push_str(&diagnostic_text(diag, paint));
        out.push('\n');
    }
    out
}

/// One diagnostic: a header line, a source snippet with a caret line, then notes. jobctl draws
/// this itself so that it is stable for snapshots and CI logs, whatever the terminal width.
pub fn diagnostic_text(diag: &Diagnostic, paint: Paint) -> String {
    let mut out = String::new();
    let (kind, kind_style) = match diag.severity {
        Severity::Error => ("error", style::ERROR),
        Severity::Warning => ("warning", style::WARNING),
    };
    out.push_str(&format!(
        "{}: {}: {}\n",
        paint.paint(style::STRONG, &sanitize(&diag.position())),
        paint.paint(kind_style, kind),
        sanitize(&diag.message)
    ));
    if let Some(loc) = diag.location {
        snippet(
            &mut out,
            &diag.file.text,
            loc,
            diag.label.as_deref(),
            paint,
            kind_style,
        );
    }
    for related in &diag.related {
        out.push_str(&format!(
            "  = note: {} at {}:{}:{}\n",
            related.message,
            sanitize(&related.file.display),
            related.location.line,
            related.location.col
        ));
    }
    if let Some(help) = &diag.help {
        out.push_str(&format!(
            "  = {}: {}\n",
            paint.paint(style::HELP, "help"),
            sanitize(help)
        ));
    }
    out
}

/// Width of the longest line shown; longer lines are cut so that a minified file cannot flood
/// the terminal.
const MAX_SNIPPET_WIDTH: usize = 160;

fn snippet(
    out: &mut String,
    text: &str,
    loc: Location,
    label: Option<&str>,
    paint: Paint,
    caret_style: anstyle::Style,
) {
    // The line is found from the byte offset, in time proportional to the line: a file with
    // many diagnostics must not be scanned from its start for each of them.
    let Some(line_text) = line_at(text, loc.offset) else {
        return;
    };
    let line_no = loc.line.to_string();
    let gutter = " ".repeat(line_no.len());
    let shown: String = line_text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_SNIPPET_WIDTH)
        .collect();
    let truncated = line_text.chars().count() > MAX_SNIPPET_WIDTH;
    let bar = paint.paint(style::GUTTER, "|");
    out.push_str(&format!(" {gutter} {bar}\n"));
    out.push_str(&format!(
        " {} {bar} {}{}\n",
        paint.paint(style::GUTTER, &line_no),
        shown,
        if truncated { " …" } else { "" }
    ));
    let start_col = loc.col.saturating_sub(1).min(MAX_SNIPPET_WIDTH);
    // The caret covers the span on its first line only; multi-line spans (maps, lists) are
    // marked by their first line, which is where the user has to look.
    let span_text = text.get(loc.offset..loc.offset + loc.len).unwrap_or("");
    let first_line_len = span_text.lines().next().map_or(0, |l| l.chars().count());
    let width = first_line_len
        .max(1)
        .min(MAX_SNIPPET_WIDTH.saturating_sub(start_col).max(1));
    let carets = paint.paint(caret_style, &"^".repeat(width));
    let label = label.map(|l| format!(" {l}")).unwrap_or_default();
    out.push_str(&format!(
        " {gutter} {bar} {}{carets}{label}\n",
        " ".repeat(start_col)
    ));
}

/// Remarks that are not problems, one `note:` line each.
pub fn notes_text(notes: &[String]) -> String {
    notes
        .iter()
        .map(|n| format!("note: {}\n", sanitize(n)))
        .collect()
}

/// The line holding byte `offset`, without its line break.
fn line_at(text: &str, offset: usize) -> Option<&str> {
    if offset > text.len() || !text.is_char_boundary(offset) {
        return None;
    }
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    Some(text[start..end].trim_end_matches('\r'))
}

/// "3 valid jobs in 2 files", "1 valid job, 2 valid rollouts and 1 valid job template in 4
/// files", or "1 error, 0 warnings in 2 files".
pub fn verdict(report: &ValidateReport) -> String {
    let errors = report.errors();
    let warnings = report.warnings();
    let files = report.files;
    let noun = if files == 1 { "file" } else { "files" };
    if errors == 0 {
        let plural =
            |n: usize, one: &str| format!("{n} valid {one}{}", if n == 1 { "" } else { "s" });
        let plain = report.jobs - report.rollouts.min(report.jobs);
        let mut kinds = Vec::new();
        if plain > 0 || (report.rollouts == 0 && report.templates == 0) {
            kinds.push(plural(plain, "job"));
        }
        if report.rollouts > 0 {
            kinds.push(plural(report.rollouts, "rollout"));
        }
        if report.templates > 0 {
            kinds.push(plural(report.templates, "job template"));
        }
        let counted = match kinds.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => kinds.concat(),
        };
        format!(
            "{counted} in {files} {noun}{}",
            match warnings {
                0 => String::new(),
                n => format!(", {n} warning{}", if n == 1 { "" } else { "s" }),
            }
        )
    } else {
        format!(
            "{errors} error{}, {warnings} warning{} in {files} {noun}",
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        )
    }
}

/// The line that says where a plan works, before anything else: account, region, endpoint
/// (when it is not AWS's) and instance.
pub fn scope_line(scope: &Scope) -> String {
    let mut parts = vec![
        format!(
            "account {}",
            scope
                .account
                .as_deref()
                .unwrap_or("(unknown: AWS returned no ARN)")
        ),
        format!("region {}", scope.region),
    ];
    if let Some(endpoint) = &scope.endpoint {
        parts.push(format!("endpoint {endpoint}"));
    }
    parts.push(format!("instance {}", scope.instance));
    sanitize(&parts.join(" · ")).into_owned()
}

/// A plan report as text: where it works, then the plan.
pub fn report_text(report: &PlanReport, paint: Paint) -> String {
    format!(
        "{}

{}",
        paint.paint(style::FAINT, &scope_line(&report.scope)),
        plan_text(
            &report.plan,
            &report.errors,
            report.manifest_errors(),
            paint
        )
    )
}

/// The plan as text: one block per job that changes, a line per unchanged job, a summary last.
/// `manifest_errors` count in the summary with the jobs that could not be planned.
pub fn plan_text(plan: &Plan, errors: &[JobError], manifest_errors: usize, paint: Paint) -> String {
    let mut out = String::new();
    for change in &plan.changes {
        out.push_str(&change_text(change, paint));
    }
    for error in errors {
        out.push_str(&format!(
            "  {} {}{}\n      {}\n",
            paint.paint(style::DANGER, "!"),
            paint.paint(style::STRONG, &error.resource.to_string()),
            error
                .source
                .as_ref()
                .map(|s| paint.paint(style::FAINT, &format!("  ({s})")))
                .unwrap_or_default(),
            error.message
        ));
    }
    if !plan.orphans.is_empty() {
        // With prune asked for but refused (a broken or unreadable manifest), the broken file
        // may well declare these jobs: they are kept, not "without a manifest".
        let header = if plan.prune.refused.is_some() {
            "are declared by no manifest that could be read (kept: a broken file may declare them)"
        } else {
            "have no manifest (pass --prune to cancel them, --prune-delete for finished ones)"
        };
        out.push_str(&format!(
            "\n  {} job(s) of this instance {header}:\n",
            plan.orphans.len()
        ));
        for orphan in &plan.orphans {
            out.push_str(&format!(
                "  {} {}  {}{}\n",
                paint.paint(style::CHANGED, "?"),
                orphan.job_id,
                paint.paint(style::FAINT, &format!("[{}]", orphan.status)),
                super::status::plan_health(
                    orphan.health,
                    orphan.job_process_details.as_ref(),
                    paint
                )
            ));
        }
    }
    if !plan.not_compared.is_empty() {
        let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
        for job in &plan.not_compared {
            *by_status.entry(job.status.as_str()).or_default() += 1;
        }
        let counts: Vec<String> = by_status.iter().map(|(s, n)| format!("{n} {s}")).collect();
        out.push_str(&format!(
            "\n  {} finished job(s) were not compared ({}); --compare-finished compares them.\n",
            plan.not_compared.len(),
            counts.join(", ")
        ));
    }
    for note in &plan.notes {
        out.push_str(&format!(
            "\n  {} {note}\n",
            paint.paint(style::CHANGED, "!")
        ));
    }
    if !out.is_empty() {
        out.push('\n');
    }
    let blocked = plan.blocked().count();
    out.push_str(&summary_line(
        &plan.summary(),
        errors.len() + manifest_errors,
        plan.not_compared.len(),
        paint,
    ));
    if blocked > 0 {
        out.push_str(&format!(
            " {}",
            paint.paint(
                style::DANGER,
                &format!("{blocked} change(s) blocked: apply will refuse to run.")
            )
        ));
    }
    out.push('\n');
    out.push_str(&prune_line(plan));
    out.push('\n');
    out
}

/// The line every plan ends with: how many jobs prune takes, or why it takes none, so the number
/// is seen before anything is cancelled.
pub fn prune_line(plan: &Plan) -> String {
    let prune = &plan.prune;
    let jobs = |n: usize| format!("{n} job{}", if n == 1 { "" } else { "s" });
    // With templates pruned too, the total and what it is made of.
    let pruned = |n: usize| match prune.would_prune_templates {
        0 => jobs(n),
        t => format!(
            "{n} ({}, {t} job template{})",
            jobs(n.saturating_sub(t)),
            if t == 1 { "" } else { "s" }
        ),
    };
    if !prune.requested {
        return match plan.orphans.len() {
            0 => "Prune: off.".to_string(),
            n => format!(
                "Prune: off; {} of this instance {} no manifest.",
                jobs(n),
                if n == 1 { "has" } else { "have" }
            ),
        };
    }
    match &prune.refused {
        None => format!(
            "Prune: {} to prune{}.",
            pruned(prune.would_prune),
            prune
                .max_prune
                .map(|max| format!(" (--max-prune {max})"))
                .unwrap_or_default()
        ),
        Some(reason) => format!(
            "Prune: refused; it would prune {}: {}.",
            pruned(prune.would_prune),
            sanitize(reason)
        ),
    }
}

/// Each rollout after apply's advance: phase, stage, what it did and what it waits for.
pub fn rollouts_text(rollouts: &[crate::engine::advance::RolloutRun]) -> String {
    use crate::engine::advance::RolloutEvent;
    let mut out = String::new();
    for run in rollouts {
        out.push_str(&format!(
            "Rollout {}: {} in stage {}: {}\n",
            run.job_id,
            run.phase,
            run.stage,
            sanitize(&run.summary)
        ));
        for event in &run.events {
            let line = match event {
                RolloutEvent::GateHeld { stage } => {
                    format!("gate of {stage} holds; its soak starts")
                }
                RolloutEvent::Promoted { from, to } => format!("promoted {from} → {to}"),
                RolloutEvent::Resumed { stage } => format!("finished starting {stage}"),
                RolloutEvent::Completed { stage } => {
                    format!("complete after {stage}: its job is closed to devices that join later")
                }
                RolloutEvent::Halted { stage, comment } => {
                    format!("halted in {stage}: {}", sanitize(comment))
                }
                RolloutEvent::AwaitingApproval { stage } => {
                    format!("{stage} waits for approval: jobctl promote {}", run.job_id)
                }
            };
            out.push_str(&format!("  - {line}\n"));
        }
        if let Some(error) = &run.error {
            out.push_str(&format!("  ✗ {}\n", sanitize(error)));
        }
    }
    out
}

fn change_text(change: &Change, paint: Paint) -> String {
    let mut out = change_body(change, paint);
    if let Some(inherited) = &change.inherited {
        out.push_str(&inherited_text(inherited, paint));
    }
    if let Some(rollout) = &change.rollout {
        out.push_str(&format!(
            "      {}\n",
            paint.paint(
                style::FAINT,
                &format!("# rollout {}: {}", rollout.phase, sanitize(&rollout.next))
            )
        ));
        for stage in &rollout.upcoming {
            out.push_str(&format!(
                "      {}\n",
                paint.paint(style::FAINT, &upcoming_line(stage))
            ));
        }
    }
    if let Some(note) = &change.note {
        out.push_str(&format!(
            "      {}\n",
            paint.paint(style::FAINT, &format!("# {note}"))
        ));
    }
    if let Some(reason) = &change.blocked {
        out.push_str(&format!(
            "      {} {reason}\n",
            paint.paint(style::DANGER, "✗ blocked:")
        ));
    }
    out
}

/// `# stage wave will add thinggroup/BulbsWave`: what a rollout's promotion to a stage that has
/// not started will associate, as the manifest declares it now.
pub fn upcoming_line(stage: &crate::engine::plan::UpcomingStage) -> String {
    let adds: Vec<&str> = stage
        .adds
        .iter()
        .map(|arn| arn.rsplit(':').next().unwrap_or(arn))
        .collect();
    format!(
        "# stage {} will add {}",
        sanitize(&stage.name),
        if adds.is_empty() {
            "nothing new".to_string()
        } else {
            sanitize(&adds.join(", ")).into_owned()
        }
    )
}

fn change_body(change: &Change, paint: Paint) -> String {
    let source = change
        .source
        .as_ref()
        .map(|s| paint.paint(style::FAINT, &format!("  ({s})")))
        .unwrap_or_default();
    let mut status = change
        .status
        .as_ref()
        .map(|s| paint.paint(style::FAINT, &format!("  [{s}]")))
        .unwrap_or_default();
    status.push_str(&super::status::plan_health(
        change.health,
        change.job_process_details.as_ref(),
        paint,
    ));
    let id = paint.paint(style::STRONG, &change.resource.to_string());
    match change.action {
        Action::Unchanged if change.blocked.is_some() => format!(
            "  {} {id} {}{source}{status}\n",
            paint.paint(style::DANGER, "!"),
            paint.paint(style::DANGER, "conflict")
        ),
        Action::Unchanged => format!(
            "  {} {}{}{status}\n",
            paint.paint(style::FAINT, "="),
            change.resource,
            paint.paint(style::FAINT, "  unchanged")
        ),
        Action::Create => {
            let mut out = format!(
                "  {} {id} will be created{source}\n",
                paint.paint(style::ADDED, "+")
            );
            if let Some(spec) = change.create_spec() {
                if let Ok(Value::Object(fields)) = serde_json::to_value(&**spec) {
                    let width = fields.keys().map(String::len).max().unwrap_or(0);
                    let mark = paint.paint(style::ADDED, "+");
                    for (name, value) in fields {
                        out.push_str(&field_lines(&name, &value, width, &mark));
                    }
                }
            }
            out
        }
        Action::Update => {
            let mut out = format!(
                "  {} {id} will be updated in place{source}{status}\n",
                paint.paint(style::CHANGED, "~")
            );
            for field in &change.fields {
                out.push_str(&field_diff(field, paint));
            }
            out
        }
        Action::Replace => {
            let mut out = format!(
                "  {} {id} {}{source}{status}\n",
                paint.paint(style::DANGER, "-/+"),
                paint.paint(
                    style::DANGER,
                    &format!(
                        "must be replaced (forced by {})",
                        change.forced_by.join(", ")
                    )
                )
            );
            for field in &change.fields {
                out.push_str(&field_diff(field, paint));
            }
            out
        }
        Action::Cancel | Action::Delete => format!(
            "  {} {id} will be {}{source}{status}\n",
            paint.paint(style::DANGER, "-"),
            if change.action == Action::Cancel {
                "cancelled"
            } else {
                "deleted"
            }
        ),
    }
}

/// The block under a job from a template: which template, where its values come from, and each
/// value the job takes from it (documents shown as the plan shows them elsewhere).
pub fn inherited_text(inherited: &crate::engine::inherit::Inherited, paint: Paint) -> String {
    use crate::engine::inherit::InheritedFrom;
    let version = inherited
        .template_version
        .as_ref()
        .map(|v| format!("version {v}; "))
        .unwrap_or_default();
    let origin = match (&inherited.source, inherited.from) {
        (Some(source), InheritedFrom::Manifest) => format!("declared at {source}"),
        _ => inherited.from.describe().to_string(),
    };
    let mut out = format!(
        "      {}\n",
        paint.paint(
            style::FAINT,
            &sanitize(&format!(
                "inherits from template {}: {} ({version}{origin}){}",
                inherited.template_name,
                inherited.template_arn,
                if inherited.fields.is_empty() {
                    ": nothing, the job sets every value the template has"
                } else {
                    ""
                }
            ))
        )
    );
    let width = inherited.fields.keys().map(String::len).max().unwrap_or(0);
    for (name, value) in &inherited.fields {
        let pretty = pretty(value);
        let mut lines = pretty.lines();
        out.push_str(&format!(
            "        {name:<width$} = {}\n",
            lines.next().unwrap_or_default()
        ));
        let indent = " ".repeat(width + 11);
        for line in lines {
            out.push_str(&format!("{indent}{line}\n"));
        }
    }
    out
}

/// `name = value`, the value's further lines indented under its first.
fn field_lines(name: &str, value: &Value, width: usize, mark: &str) -> String {
    let width = width.max(name.len());
    let pretty = pretty(value);
    let mut lines = pretty.lines();
    let first = lines.next().unwrap_or_default();
    let mut out = format!("      {mark} {name:<width$} = {first}\n");
    let indent = " ".repeat(width + 11);
    for line in lines {
        out.push_str(&format!("{indent}{line}\n"));
    }
    out
}

fn field_diff(field: &FieldChange, paint: Paint) -> String {
    let (mark_style, note) = if field.forces_replacement {
        (
            style::DANGER,
            paint.paint(style::DANGER, "  # forces replacement"),
        )
    } else {
        (style::CHANGED, String::new())
    };
    let mark = paint.paint(mark_style, "~");
    let with_note = |text: String| text.replacen('\n', &format!("{note}\n"), 1);
    if let Some(keys) = diff::key_changes(field) {
        // Tags read key by key, as Terraform shows a map: what was added, changed or removed.
        let width = keys
            .iter()
            .map(|k| diff::key(&k.key).len())
            .max()
            .unwrap_or(0);
        let mut out = format!("      {mark} {}:{note}\n", field.field);
        for change in keys {
            let name = diff::key(&change.key);
            let line = match (&change.before, &change.after) {
                (Some(before), Some(after)) => format!(
                    "          {} {name:<width$} = {} → {}",
                    paint.paint(style::CHANGED, "~"),
                    pretty(before),
                    pretty(after)
                ),
                (None, Some(after)) => paint.paint(
                    style::ADDED,
                    &format!("          + {name:<width$} = {}", pretty(after)),
                ),
                (Some(before), None) => paint.paint(
                    style::REMOVED,
                    &format!("          - {name:<width$} = {}", pretty(before)),
                ),
                (None, None) => continue,
            };
            out.push_str(&line);
            out.push('\n');
        }
        return out;
    }
    match diff::shape(field) {
        // A structured value that appears or disappears is shown whole, not as a diff against
        // null.
        Shape::Appears => with_note(field_lines(
            field.field,
            &field.after,
            0,
            &paint.paint(style::ADDED, "+"),
        )),
        Shape::Disappears => with_note(field_lines(
            field.field,
            &field.before,
            0,
            &paint.paint(style::DANGER, "-"),
        )),
        Shape::OneLine => format!(
            "      {mark} {}: {} → {}{note}\n",
            field.field,
            display_value(&field.before),
            display_value(&field.after)
        ),
        Shape::Structured => {
            let mut out = format!("      {mark} {}:{note}\n", field.field);
            for (tag, text) in diff::lines(&field.before, &field.after) {
                let line = match tag {
                    ChangeTag::Delete => {
                        paint.paint(style::REMOVED, &format!("          - {text}"))
                    }
                    ChangeTag::Insert => paint.paint(style::ADDED, &format!("          + {text}")),
                    ChangeTag::Equal => format!("            {text}"),
                };
                out.push_str(&line);
                out.push('\n');
            }
            out
        }
    }
}

fn display_value(value: &Value) -> String {
    if value.is_null() {
        "(absent)".to_string()
    } else {
        pretty(value)
    }
}

/// "Plan: 2 to create, 5 unchanged." with only the counts that are not zero. Finished jobs
/// that were not compared count too: they are declared, so the plan is never "no jobs declared"
/// because of them.
pub fn summary_line(summary: &Summary, errors: usize, not_compared: usize, paint: Paint) -> String {
    let parts: Vec<String> = [
        (summary.create, "to create"),
        (summary.update, "to update"),
        (summary.replace, "to replace"),
        (summary.cancel, "to cancel"),
        (summary.delete, "to delete"),
        (summary.unchanged, "unchanged"),
        (not_compared, "finished (not compared)"),
        (errors, if errors == 1 { "error" } else { "errors" }),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if parts.is_empty() {
        return paint.paint(style::STRONG, "Plan: no jobs declared.");
    }
    format!(
        "{} {}.",
        paint.paint(style::STRONG, "Plan:"),
        parts.join(", ")
    )
}

/// The apply results as text: failures spelled out with job, operation and AWS error, then
/// a count line.
pub fn apply_text(results: &[JobResult], paint: Paint) -> String {
    let mut out = String::new();
    let mut done: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failed = 0;
    for result in results {
        match &result.outcome {
            Outcome::Done => {
                let verb = match result.action {
                    Action::Create => "created",
                    Action::Update => "updated",
                    Action::Replace => "replaced",
                    Action::Cancel => "cancelled",
                    Action::Delete => "deleted",
                    Action::Unchanged => "unchanged",
                };
                *done.entry(verb).or_default() += 1;
                out.push_str(&format!(
                    "  {} {} {verb}{}\n",
                    paint.paint(style::ADDED, "✓"),
                    result.resource,
                    result
                        .job_arn
                        .as_deref()
                        .map(|arn| paint.paint(style::FAINT, &format!("  {arn}")))
                        .unwrap_or_default()
                ));
            }
            Outcome::AlreadyExists => *done.entry("already existed").or_default() += 1,
            Outcome::Skipped { reason } => {
                *done.entry("skipped").or_default() += 1;
                out.push_str(&format!(
                    "  {} {}: skipped: {reason}\n",
                    paint.paint(style::CHANGED, "!"),
                    result.resource
                ));
            }
            Outcome::Failed {
                operation,
                code,
                message,
            } => {
                failed += 1;
                out.push_str(&format!(
                    "  {} {}: {operation} failed: {code}: {message}\n",
                    paint.paint(style::DANGER, "✗"),
                    result.resource
                ));
            }
        }
    }
    let created = done.remove("created").unwrap_or(0);
    let mut parts = vec![format!("{created} created")];
    for (verb, n) in done {
        parts.push(format!("{n} {verb}"));
    }
    parts.push(format!("{failed} failed"));
    out.push_str(&format!(
        "{} {}.\n",
        paint.paint(style::STRONG, "Apply:"),
        parts.join(", ")
    ));
    out
}

/// What export did: a line per job with its files, what it left to its template, warnings,
/// failures, conflicts, then a count line and what to run next.
pub fn export_text(report: &ExportReport, paint: Paint) -> String {
    let mut out = String::new();
    for job in &report.jobs {
        let files: Vec<String> = report
            .files
            .iter()
            .filter(|f| f.job_id == job.job_id)
            .map(|f| f.path.display().to_string())
            .collect();
        out.push_str(&format!(
            "  {} {}  {}{}\n",
            paint.paint(style::ADDED, "+"),
            paint.paint(style::STRONG, &job.job_id),
            job.status,
            if files.is_empty() {
                String::new()
            } else {
                format!("  {}", sanitize(&files.join(", ")))
            }
        ));
        if !job.inherited.is_empty() {
            out.push_str(&format!(
                "      left to its template: {}\n",
                job.inherited.join(", ")
            ));
        }
        for warning in &job.warnings {
            out.push_str(&format!(
                "      {} {}\n",
                paint.paint(style::WARNING, "warning:"),
                sanitize(warning)
            ));
        }
    }
    for error in &report.errors {
        out.push_str(&format!(
            "  {} {}: {}\n",
            paint.paint(style::DANGER, "✗"),
            error.resource,
            sanitize(&error.message)
        ));
    }
    for path in &report.conflicts {
        out.push_str(&format!(
            "{} {} exists already\n",
            paint.paint(style::ERROR, "error:"),
            sanitize(&path.display().to_string())
        ));
    }
    if !report.conflicts.is_empty() {
        out.push_str(&format!(
            "{} nothing was written: {} file(s) exist already; pass --force to overwrite them\n",
            paint.paint(style::ERROR, "error:"),
            report.conflicts.len()
        ));
    }
    if let Some(message) = &report.write_error {
        out.push_str(&format!(
            "{} writing failed: {}\n",
            paint.paint(style::ERROR, "error:"),
            sanitize(message)
        ));
    }
    let manifests = report
        .files
        .iter()
        .filter(|f| f.kind == FileKind::Manifest)
        .count();
    let documents = report.files.len() - manifests;
    let mut line = format!(
        "{} {} exported, {} failed",
        paint.paint(style::STRONG, "Export:"),
        report.jobs.len(),
        report.errors.len()
    );
    if let Some(dir) = &report.dir {
        line.push_str(&format!(
            "; {manifests} manifest(s) and {documents} document file(s) written to {}",
            sanitize(&dir.display().to_string())
        ));
    }
    out.push_str(&line);
    out.push_str(".\n");
    if !report.finished_left_out.is_empty() {
        let counts: Vec<String> = report
            .finished_left_out
            .iter()
            .map(|(status, n)| format!("{n} {status}"))
            .collect();
        let statuses: Vec<&str> = report
            .finished_left_out
            .keys()
            .map(String::as_str)
            .collect();
        out.push_str(&format!(
            "Finished jobs left out ({}): export them with --status {} or by id.\n",
            counts.join(", "),
            statuses.join(",")
        ));
    }
    if let (Some(dir), false) = (&report.dir, report.files.is_empty()) {
        out.push_str(&format!(
            "Next: `jobctl plan -f {} --adopt` shows only the ownership tags being added; `jobctl apply -f {0} --adopt` adds them.\n",
            sanitize(&dir.display().to_string())
        ));
    }
    if let Some(hint) = &report.schema_hint {
        out.push_str(&format!(
            "{} {}\n",
            paint.paint(style::HELP, "hint:"),
            sanitize(hint)
        ));
    }
    out
}

/// Why apply changed nothing: the errors, every blocked change with its reason, or the
/// declined prompt.
pub fn refusal_text(refusal: Refusal, report: &PlanReport) -> String {
    match refusal {
        Refusal::Errors => format!(
            "jobctl: apply refused: the plan has {} error(s) ({} in manifests, {} job(s) that could not be planned); nothing was changed. Fix them and run apply again.\n",
            report.error_count(),
            report.manifest_errors(),
            report.errors.len()
        ),
        Refusal::Declined => {
            "jobctl: apply cancelled: the changes were not confirmed; nothing was changed.\n".into()
        }
        Refusal::Blocked => blocked_text(&report.plan),
    }
}

fn blocked_text(plan: &Plan) -> String {
    let blocked: Vec<&Change> = plan.blocked().collect();
    let mut out = format!(
        "jobctl: apply refused: {} change(s) are blocked; nothing was changed:\n",
        blocked.len()
    );
    for change in blocked {
        out.push_str(&format!(
            "  {}: {}\n",
            change.resource,
            change.blocked.as_deref().unwrap_or_default()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::diagnostic::SourceFile;
    use crate::manifest::rule::Rule;
    use std::sync::Arc;

    #[test]
    fn validate_counts_each_kind() {
        let report = |jobs, rollouts, templates, files| ValidateReport {
            paths: Vec::new(),
            files,
            jobs,
            rollouts,
            templates,
            diagnostics: Vec::new(),
            notes: Vec::new(),
        };
        assert_eq!(verdict(&report(3, 0, 0, 2)), "3 valid jobs in 2 files");
        assert_eq!(verdict(&report(1, 1, 0, 1)), "1 valid rollout in 1 file");
        assert_eq!(
            verdict(&report(2, 2, 1, 3)),
            "2 valid rollouts and 1 valid job template in 3 files"
        );
        assert_eq!(
            verdict(&report(3, 1, 1, 3)),
            "2 valid jobs, 1 valid rollout and 1 valid job template in 3 files"
        );
        assert_eq!(verdict(&report(0, 0, 0, 0)), "0 valid jobs in 0 files");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let file = Arc::new(SourceFile {
            display: "a.yaml".into(),
            text: "k: v\n".into(),
        });
        let diag = Diagnostic::error(
            Rule::SchemaUnknownField,
            &file,
            None,
            "unknown field `\u{1b}]0;pwned\u{7}`",
        );
        let rendered = diagnostic_text(&diag, Paint::PLAIN);
        assert!(
            !rendered.contains('\u{1b}') && !rendered.contains('\u{7}'),
            "{rendered:?}"
        );
        assert!(rendered.contains("\\u{1b}"), "{rendered}");
        assert!(!diag.to_string().contains('\u{1b}'));
    }

    #[test]
    fn colour_comes_from_the_palette_and_only_when_on() {
        let summary = Summary {
            create: 1,
            ..Summary::default()
        };
        assert_eq!(
            summary_line(&summary, 0, 0, Paint::PLAIN),
            "Plan: 1 to create."
        );
        let coloured = summary_line(&summary, 0, 0, Paint::new(true));
        assert_eq!(
            coloured,
            format!(
                "{}Plan:{} 1 to create.",
                style::STRONG.render(),
                style::STRONG.render_reset()
            )
        );
    }
}

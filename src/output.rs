//! Everything jobctl shows a person or a program: plans, apply reports and diagnostics, as text
//! (Terraform-like), JSON (a stable contract), GitHub workflow commands ([`github`]) or Markdown
//! ([`markdown`]). Renderers return strings; the CLI writes them.

use serde_json::{json, Value};
use similar::{ChangeTag, TextDiff};

use crate::apply::{ApplyReport, Outcome};
use crate::manifest::diagnostic::Diagnostic;
use crate::plan::{Action, Change, FieldChange, Plan, Summary};
use crate::refresh::JobError;

pub mod github;
pub mod markdown;

/// ANSI styling, off unless the CLI decided colour is wanted.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn green(self, t: &str) -> String {
        self.paint(t, "32")
    }
    fn yellow(self, t: &str) -> String {
        self.paint(t, "33")
    }
    fn red_bold(self, t: &str) -> String {
        self.paint(t, "1;31")
    }
    fn bold(self, t: &str) -> String {
        self.paint(t, "1")
    }
    fn dim(self, t: &str) -> String {
        self.paint(t, "2")
    }
}

/// The plan as text: one block per job that changes, a line per unchanged job, a summary last.
pub fn plan_text(plan: &Plan, errors: &[JobError], style: Style) -> String {
    let mut out = String::new();
    for change in &plan.changes {
        out.push_str(&change_text(change, style));
    }
    for error in errors {
        out.push_str(&format!(
            "  {} {}{}\n      {}\n",
            style.red_bold("!"),
            style.bold(&error.job_id),
            error
                .source
                .as_ref()
                .map(|s| style.dim(&format!("  ({s})")))
                .unwrap_or_default(),
            error.message
        ));
    }
    if !plan.orphans.is_empty() {
        out.push_str(&format!(
            "\n  {} job(s) of this instance have no manifest (pass --prune to cancel them, --prune-delete for finished ones):\n",
            plan.orphans.len()
        ));
        for orphan in &plan.orphans {
            out.push_str(&format!(
                "  {} {}  {}\n",
                style.yellow("?"),
                orphan.job_id,
                style.dim(&format!("[{}]", orphan.status))
            ));
        }
    }
    if !plan.not_compared.is_empty() {
        let mut by_status: std::collections::BTreeMap<&str, usize> =
            std::collections::BTreeMap::new();
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
        out.push_str(&format!("\n  {} {note}\n", style.yellow("!")));
    }
    if !out.is_empty() {
        out.push('\n');
    }
    let blocked = plan.blocked().count();
    out.push_str(&summary_line(&plan.summary(), errors.len(), style));
    if blocked > 0 {
        out.push_str(&format!(
            " {}",
            style.red_bold(&format!(
                "{blocked} change(s) blocked: apply will refuse to run."
            ))
        ));
    }
    out.push('\n');
    out
}

fn change_text(change: &Change, style: Style) -> String {
    let mut out = change_body(change, style);
    if let Some(note) = &change.note {
        out.push_str(&format!("      {}\n", style.dim(&format!("# {note}"))));
    }
    if let Some(reason) = &change.blocked {
        out.push_str(&format!(
            "      {} {reason}\n",
            style.red_bold("✗ blocked:")
        ));
    }
    out
}

fn change_body(change: &Change, style: Style) -> String {
    let source = change
        .source
        .as_ref()
        .map(|s| style.dim(&format!("  ({s})")))
        .unwrap_or_default();
    let status = change
        .status
        .as_ref()
        .map(|s| style.dim(&format!("  [{s}]")))
        .unwrap_or_default();
    match change.action {
        Action::Unchanged if change.blocked.is_some() => format!(
            "  {} {} {}{source}{status}\n",
            style.red_bold("!"),
            style.bold(&change.job_id),
            style.red_bold("conflict")
        ),
        Action::Unchanged => format!(
            "  {} {}{}{status}\n",
            style.dim("="),
            change.job_id,
            style.dim("  unchanged")
        ),
        Action::Create => {
            let mut out = format!(
                "  {} {} will be created{source}\n",
                style.green("+"),
                style.bold(&change.job_id)
            );
            if let Some(spec) = &change.desired {
                if let Ok(Value::Object(fields)) = serde_json::to_value(spec) {
                    let width = fields.keys().map(String::len).max().unwrap_or(0);
                    for (name, value) in fields {
                        out.push_str(&field_lines(&name, &value, width, &style.green("+")));
                    }
                }
            }
            out
        }
        Action::Update => {
            let mut out = format!(
                "  {} {} will be updated in place{source}{status}\n",
                style.yellow("~"),
                style.bold(&change.job_id)
            );
            for field in &change.fields {
                out.push_str(&field_diff(field, style));
            }
            out
        }
        Action::Replace => {
            let mut out = format!(
                "  {} {} {}{source}{status}\n",
                style.red_bold("-/+"),
                style.bold(&change.job_id),
                style.red_bold(&format!(
                    "must be replaced (forced by {})",
                    change.forced_by.join(", ")
                ))
            );
            for field in &change.fields {
                out.push_str(&field_diff(field, style));
            }
            out
        }
        Action::Cancel | Action::Delete => format!(
            "  {} {} will be {}{source}{status}\n",
            style.red_bold("-"),
            style.bold(&change.job_id),
            if change.action == Action::Cancel {
                "cancelled"
            } else {
                "deleted"
            }
        ),
    }
}

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

pub(crate) fn pretty(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Object(_) | Value::Array(_) => {
            let compact = value.to_string();
            if compact.len() <= 60 {
                compact
            } else {
                serde_json::to_string_pretty(value).unwrap_or(compact)
            }
        }
        other => other.to_string(),
    }
}

fn field_diff(field: &FieldChange, style: Style) -> String {
    let mark = if field.forces_replacement {
        style.red_bold("~")
    } else {
        style.yellow("~")
    };
    let note = if field.forces_replacement {
        style.red_bold("  # forces replacement")
    } else {
        String::new()
    };
    let before = pretty(&field.before);
    let after = pretty(&field.after);
    let one_line = !before.contains('\n') && !after.contains('\n');
    // A structured value that appears or disappears is shown whole, not as a diff against null.
    if !one_line && field.before.is_null() {
        return field_lines(field.field, &field.after, 0, &style.green("+")).replacen(
            '\n',
            &format!("{note}\n"),
            1,
        );
    }
    if !one_line && field.after.is_null() {
        return field_lines(field.field, &field.before, 0, &style.red_bold("-")).replacen(
            '\n',
            &format!("{note}\n"),
            1,
        );
    }
    if one_line {
        return format!(
            "      {mark} {}: {} → {}{note}\n",
            field.field,
            display_value(&field.before, &before),
            display_value(&field.after, &after)
        );
    }
    // Structured values are diffed line by line as pretty JSON, the way reviewers read them.
    let before = serde_json::to_string_pretty(&field.before).unwrap_or_default();
    let after = serde_json::to_string_pretty(&field.after).unwrap_or_default();
    let mut out = format!("      {mark} {}:{note}\n", field.field);
    let diff = TextDiff::from_lines(&before, &after);
    for line in diff.iter_all_changes() {
        let text = line.value().trim_end_matches('\n');
        let rendered = match line.tag() {
            ChangeTag::Delete => style.paint(&format!("          - {text}"), "31"),
            ChangeTag::Insert => style.paint(&format!("          + {text}"), "32"),
            ChangeTag::Equal => format!("            {text}"),
        };
        out.push_str(&rendered);
        out.push('\n');
    }
    out
}

fn display_value(value: &Value, pretty: &str) -> String {
    if value.is_null() {
        "(absent)".to_string()
    } else {
        pretty.to_string()
    }
}

/// "Plan: 2 to create, 5 unchanged." with only the counts that are not zero.
pub fn summary_line(summary: &Summary, errors: usize, style: Style) -> String {
    let parts: Vec<String> = [
        (summary.create, "to create"),
        (summary.update, "to update"),
        (summary.replace, "to replace"),
        (summary.cancel, "to cancel"),
        (summary.delete, "to delete"),
        (summary.unchanged, "unchanged"),
        (errors, if errors == 1 { "error" } else { "errors" }),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if parts.is_empty() {
        return style.bold("Plan: no jobs declared.");
    }
    format!("{} {}.", style.bold("Plan:"), parts.join(", "))
}

/// The plan as the `--output json` contract: exactly one object, `version` 1.
pub fn plan_json(plan: &Plan, errors: &[JobError]) -> Value {
    let summary = plan.summary();
    let changes: Vec<Value> = plan
        .changes
        .iter()
        .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
        .collect();
    let mut object = json!({
        "version": 1,
        "summary": summary,
        "changes": changes,
        "blocked": plan.blocked().count(),
        "notCompared": plan.not_compared,
        "orphans": plan.orphans,
        "notes": plan.notes,
    });
    if !errors.is_empty() {
        object["errors"] = errors
            .iter()
            .map(|e| {
                json!({
                    "jobId": e.job_id,
                    "source": e.source,
                    "message": e.message,
                    "operation": e.api.as_ref().map(|a| a.operation),
                    "code": e.api.as_ref().map(|a| a.code.clone()),
                })
            })
            .collect();
    }
    object
}

/// The apply report as text: failures spelled out with job, operation and AWS error.
pub fn apply_text(report: &ApplyReport, style: Style) -> String {
    let mut out = String::new();
    let mut done: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    let mut failed = 0;
    for result in &report.results {
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
            }
            Outcome::AlreadyExists => *done.entry("already existed").or_default() += 1,
            Outcome::Skipped { reason } => {
                *done.entry("skipped").or_default() += 1;
                out.push_str(&format!(
                    "  {} {}: skipped: {reason}\n",
                    style.yellow("!"),
                    result.job_id
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
                    style.red_bold("✗"),
                    result.job_id
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
    out.push_str(&format!("{} {}.\n", style.bold("Apply:"), parts.join(", ")));
    out
}

/// Diagnostics, each rendered, then a count line.
pub fn diagnostics_text(diagnostics: &[Diagnostic], color: bool) -> String {
    let mut out = String::new();
    for diag in diagnostics {
        out.push_str(&diag.render(color));
        out.push('\n');
    }
    out
}

pub fn diagnostics_json(diagnostics: &[Diagnostic]) -> Value {
    Value::Array(
        diagnostics
            .iter()
            .map(|d| {
                json!({
                    "severity": d.severity,
                    "code": d.code,
                    "file": d.file.display,
                    "line": d.location.map(|l| l.line),
                    "column": d.location.map(|l| l.col),
                    "message": d.message,
                    "help": d.help,
                })
            })
            .collect(),
    )
}

//! Saved plans (`plan --out`, `apply FILE`): the line that says where the plan was saved, and
//! the refusal that names what moved since, once per format.

use serde::Serialize;

use super::style::{self, Paint};
use crate::engine::saved::{Moved, Subject};
use crate::manifest::diagnostic::sanitize;
use crate::report::SavedPlanRefused;

/// After `plan --out FILE`: where it is and how to apply it.
pub fn saved_text(path: &str) -> String {
    format!(
        "Saved the plan to {p}. To carry out exactly this plan: jobctl apply {p}\n",
        p = sanitize(path)
    )
}

/// Before `apply FILE` carries the plan out: it was checked, and against what.
pub fn matches_text(path: &str, created_at: &str) -> String {
    format!(
        "The saved plan {} (made {}) matches the manifests and the account: carrying out exactly that plan.\n",
        sanitize(path),
        sanitize(created_at)
    )
}

fn subject(subject: Subject) -> &'static str {
    match subject {
        Subject::Scope => "where",
        Subject::Manifest => "file",
        Subject::Account => "account",
        Subject::Plan => "plan",
    }
}

/// The first line: what was refused and that nothing changed.
pub fn headline(report: &SavedPlanRefused) -> String {
    format!(
        "the saved plan {} no longer matches: {} thing(s) moved since it was made. Nothing was changed.",
        report.file,
        report.moved.len()
    )
}

/// For people: the headline, one aligned line per moved thing, then how to go on.
pub fn refusal_text(report: &SavedPlanRefused, paint: Paint) -> String {
    let mut out = format!(
        "{} {}\n\n",
        paint.paint(style::ERROR, "Error:"),
        sanitize(&headline(report))
    );
    let width = report
        .moved
        .iter()
        .map(|m| subject(m.subject).len())
        .max()
        .unwrap_or(0);
    for Moved {
        subject: s,
        name,
        change,
    } in &report.moved
    {
        out.push_str(&format!(
            "  {:<width$}  {}: {}\n",
            subject(*s),
            paint.paint(style::STRONG, &sanitize(name)),
            paint.paint(style::CHANGED, &sanitize(change)),
        ));
    }
    out.push_str(&format!(
        "\nA saved plan runs only against what it was made from. Plan again, review the new plan, and apply it:\n  {}\n",
        sanitize(&report.replan())
    ));
    out
}

#[derive(Debug, Serialize)]
struct RefusalJson<'a> {
    version: u32,
    error: ErrorJson,
    #[serde(rename = "savedPlan")]
    saved_plan: SavedJson<'a>,
}

#[derive(Debug, Serialize)]
struct ErrorJson {
    kind: crate::report::FailureKind,
    message: String,
}

#[derive(Debug, Serialize)]
struct SavedJson<'a> {
    file: &'a str,
    applied: bool,
    moved: &'a [Moved],
    replan: String,
}

/// For programs: one object, `error.kind` `savedPlan`, `savedPlan.moved` one entry per moved
/// thing (`subject`: scope, manifest, account or plan; `name`; `change`).
pub fn refusal_json(report: &SavedPlanRefused) -> String {
    super::json::line(&RefusalJson {
        version: super::json::VERSION,
        error: ErrorJson {
            kind: crate::report::FailureKind::SavedPlan,
            message: headline(report),
        },
        saved_plan: SavedJson {
            file: &report.file,
            applied: false,
            moved: &report.moved,
            replan: report.replan(),
        },
    })
}

/// For job summaries and comments: a heading, a table, and the command to plan again.
pub fn refusal_markdown(report: &SavedPlanRefused) -> String {
    use super::markdown::code;
    let mut out = format!(
        "### jobctl apply: saved plan refused\n\nThe saved plan {} no longer matches: {} thing(s) moved since it was made. **Nothing was changed.**\n\n| | name | change |\n|---|---|---|\n",
        code(&report.file),
        report.moved.len()
    );
    for moved in &report.moved {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            subject(moved.subject),
            code(&moved.name),
            code(&moved.change)
        ));
    }
    out.push_str(&format!("\nPlan again: {}\n", code(&report.replan())));
    out
}

/// A refused `apply FILE` still fills the report files (`--json-file`, the job summary), so a
/// workflow shows why nothing was applied.
impl super::files::Document for SavedPlanRefused {
    fn json(&self) -> String {
        refusal_json(self)
    }
    fn markdown(&self, _options: &super::markdown::MarkdownOptions) -> String {
        refusal_markdown(self)
    }
    fn title(&self) -> String {
        "jobctl apply: saved plan refused".to_string()
    }
    fn marker(&self) -> String {
        "<!-- jobctl saved plan -->".to_string()
    }
}

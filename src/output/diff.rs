//! How a changed field reads, for every renderer that shows diffs: the value's display form and
//! the line diff of structured values. Text and Markdown put their own marks around the same
//! lines.

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use crate::engine::plan::FieldChange;

/// A value as a reviewer reads it: strings quoted, small structures on one line, larger ones
/// as pretty JSON.
pub fn pretty(value: &Value) -> String {
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

/// How a field's change is best shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Both sides fit on a line: `before → after`.
    OneLine,
    /// A structured value that appears: shown whole.
    Appears,
    /// A structured value that disappears: shown whole.
    Disappears,
    /// Structured on both sides: a line diff of the pretty JSON.
    Structured,
}

pub fn shape(field: &FieldChange) -> Shape {
    let one_line = !pretty(&field.before).contains('\n') && !pretty(&field.after).contains('\n');
    if one_line {
        Shape::OneLine
    } else if field.before.is_null() {
        Shape::Appears
    } else if field.after.is_null() {
        Shape::Disappears
    } else {
        Shape::Structured
    }
}

/// The line diff of two structured values as pretty JSON, the way reviewers read them.
pub fn lines(before: &Value, after: &Value) -> Vec<(ChangeTag, String)> {
    let before = serde_json::to_string_pretty(before).unwrap_or_default();
    let after = serde_json::to_string_pretty(after).unwrap_or_default();
    TextDiff::from_lines(&before, &after)
        .iter_all_changes()
        .map(|line| (line.tag(), line.value().trim_end_matches('\n').to_string()))
        .collect()
}

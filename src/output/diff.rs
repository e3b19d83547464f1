//! How a changed field reads, for every renderer that shows diffs: the value's display form and
//! the line diff of structured values. Text and Markdown put their own marks around the same
//! lines.

use std::collections::BTreeSet;

use serde_json::{Map, Value};
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

/// One key of a map field that was added (`before` absent), removed (`after` absent) or changed.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyChange {
    pub key: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The keys of a `tags` change that differ, in key order, so a reviewer sees each added,
/// changed or removed tag rather than two whole maps. `None` for other fields, or when either
/// side is not a map (an absent side counts as an empty map).
pub fn key_changes(field: &FieldChange) -> Option<Vec<KeyChange>> {
    if field.field != "tags" {
        return None;
    }
    let map = |value: &Value| match value {
        Value::Null => Some(Map::new()),
        Value::Object(map) => Some(map.clone()),
        _ => None,
    };
    let (before, after) = (map(&field.before)?, map(&field.after)?);
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    Some(
        keys.into_iter()
            .filter(|key| before.get(*key) != after.get(*key))
            .map(|key| KeyChange {
                key: key.clone(),
                before: before.get(key).cloned(),
                after: after.get(key).cloned(),
            })
            .collect(),
    )
}

/// A map key as shown in a diff: bare when it reads unambiguously, quoted otherwise.
pub fn key(key: &str) -> String {
    let plain = !key.is_empty()
        && !key
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '=' || c == '"');
    if plain {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(before: Value, after: Value) -> FieldChange {
        FieldChange {
            field: "tags",
            before,
            after,
            forces_replacement: false,
        }
    }

    #[test]
    fn tag_changes_show_each_added_changed_and_removed_key() {
        let field = tags(
            serde_json::json!({"env": "dev", "team": "lighting", "same": "x"}),
            serde_json::json!({"env": "prod", "owner": "sre", "same": "x"}),
        );
        let keys = key_changes(&field).expect("tags are maps");
        let shown: Vec<(&str, Option<&Value>, Option<&Value>)> = keys
            .iter()
            .map(|k| (k.key.as_str(), k.before.as_ref(), k.after.as_ref()))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("env", Some(&"dev".into()), Some(&"prod".into())),
                ("owner", None, Some(&"sre".into())),
                ("team", Some(&"lighting".into()), None),
            ]
        );
    }

    #[test]
    fn absent_tags_count_as_an_empty_map_and_other_fields_are_left_whole() {
        let gone = key_changes(&tags(serde_json::json!({"team": "a"}), Value::Null))
            .expect("absent is empty");
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].after, None);
        let mut other = tags(serde_json::json!({"a": 1}), serde_json::json!({"a": 2}));
        other.field = "abortConfig";
        assert_eq!(key_changes(&other), None);
    }

    #[test]
    fn keys_that_would_read_ambiguously_are_quoted() {
        assert_eq!(key("team"), "team");
        assert_eq!(key("cost center"), "\"cost center\"");
        assert_eq!(key("a=b"), "\"a=b\"");
        assert_eq!(key(""), "\"\"");
    }
}

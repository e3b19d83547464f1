//! Writing JSON-like values as block YAML that jobctl's own loader reads back to the same value.
//!
//! Hand-written on purpose: serde_yaml is deprecated, saphyr-parser (what jobctl reads with) has
//! no emitter, and the `saphyr` crate's emitter would bring a second YAML stack whose idea of
//! which strings need quotes is its own, not the loader's. Manifests only hold JSON values
//! (maps, lists, strings, numbers, booleans, null), so the emitter is small, and its one hard
//! question, "may this string be written plain?", is answered conservatively: plain only when
//! [`super::yaml::resolve_plain`] reads it back as the same string, it uses a small set of
//! characters, and no YAML 1.1 tool would read it as a boolean, number or date either.
//! Everything else is double-quoted with escapes. The tests re-read random and hostile values
//! through the loader.

use serde_json::{Map, Value};

use super::yaml::{resolve_plain, Scalar};

/// `value` (normally a map) as a block YAML document, without `---`, ending in a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => block(&mut out, value, 0, false),
        Value::Array(items) if !items.is_empty() => block(&mut out, value, 0, false),
        other => {
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
    out
}

/// A non-empty map or list at `indent`. With `continues_line`, its first line goes on the
/// current line (after `- `), which gives the compact `- key: value` form of list items.
fn block(out: &mut String, value: &Value, indent: usize, continues_line: bool) {
    let mut first = continues_line;
    let mut pad = |out: &mut String| {
        if !first {
            out.push_str(&" ".repeat(indent));
        }
        first = false;
    };
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                pad(out);
                out.push_str(&string(key));
                out.push(':');
                entry(out, child, indent + 2, false);
            }
        }
        Value::Array(items) => {
            for item in items {
                pad(out);
                out.push('-');
                entry(out, item, indent + 2, true);
            }
        }
        _ => {}
    }
}

/// What follows `key:` or `-`.
fn entry(out: &mut String, value: &Value, indent: usize, list_item: bool) {
    let nested = match value {
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    };
    if !nested {
        out.push(' ');
        out.push_str(&inline(value));
        out.push('\n');
    } else if list_item {
        out.push(' ');
        block(out, value, indent, true);
    } else {
        out.push('\n');
        block(out, value, indent, false);
    }
}

/// A scalar, or an empty collection, on one line.
fn inline(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A string, plain when that is unambiguous, else double-quoted.
pub fn string(s: &str) -> String {
    if is_safe_plain(s) {
        s.to_string()
    } else {
        quoted(s)
    }
}

/// Words YAML 1.1 reads as booleans. jobctl's loader (YAML 1.2 core) reads them as strings, but
/// other tools a manifest meets (linters, older parsers, people) may not.
const YAML11_BOOLS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
    "OFF",
];

fn is_safe_plain(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    // A leading digit, sign or dot may read as a number, a date or a sexagesimal in YAML 1.1;
    // a leading indicator (`- ? : , [ ] { } # & * ! | > ' " % @ \``) changes the syntax.
    let first_ok = first.is_alphabetic() || first == '_' || first == '/';
    let rest_ok = s.chars().all(|c| {
        c.is_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.' | '/' | ':' | '@' | '+' | '=')
    });
    first_ok
        && rest_ok
        && !s.ends_with(' ')
        && !s.ends_with(':')
        && !s.contains(": ")
        && !s.contains(" #")
        && !YAML11_BOOLS.contains(&s)
        && resolve_plain(s) == Some(Scalar::Str(s.to_string()))
}

/// A double-quoted YAML scalar. Every character that is not printable, or that some YAML
/// reader treats as a line break or a byte-order mark, is escaped.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                ) =>
            {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A map of string keys to values, for building documents in order.
pub fn map(entries: impl IntoIterator<Item = (String, Value)>) -> Value {
    Value::Object(entries.into_iter().collect::<Map<String, Value>>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::yaml::parse_documents;
    use serde_json::json;

    fn reread(value: &Value) -> Value {
        let text = to_yaml(value);
        let docs = parse_documents(&text).unwrap_or_else(|e| panic!("{e:?} in:\n{text}"));
        assert_eq!(docs.len(), 1, "{text}");
        docs[0].root.to_json()
    }

    /// Strings that YAML would read as something else, or that break its syntax, unquoted.
    const HOSTILE: &[&str] = &[
        "",
        " ",
        "  lead",
        "trail ",
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        "Yes",
        "NO",
        "true",
        "False",
        "null",
        "Null",
        "~",
        "1",
        "-1",
        "+1",
        "1.10",
        "0755",
        "0o17",
        "0x1F",
        "1e3",
        ".5",
        "1_000",
        "1:20",
        ".inf",
        "-.inf",
        ".nan",
        "2026-01-01",
        "2026-01-01T10:00",
        "*alias",
        "&anchor",
        "!tag",
        "!!str",
        "%directive",
        "@at",
        "`tick",
        "|",
        ">",
        "'single",
        "\"double",
        "#comment",
        "a #b",
        "a# b",
        "key: value",
        "key:",
        ":",
        "::",
        "-",
        "- item",
        "--",
        "---",
        "...",
        "?",
        "? q",
        ",",
        "[",
        "]",
        "{",
        "}",
        "{a: 1}",
        "[1, 2]",
        "${aws:iot:s3-presigned-url-v2:https://b.s3.amazonaws.com/k}",
        "line\nbreak",
        "tab\there",
        "cr\rhere",
        "nul\u{0}x",
        "bell\u{7}",
        "del\u{7f}",
        "nel\u{85}x",
        "ls\u{2028}x",
        "ps\u{2029}x",
        "bom\u{feff}x",
        "\u{fffe}",
        "back\\slash",
        "quote\"d",
        "emoji 🚀",
        "ünïcödé",
        "日本語",
        "a\u{a0}b",
        "https://s3.us-west-2.amazonaws.com/b/k.json",
        "arn:aws:iot:us-east-1:123456789012:thing/Pi",
        "cron(0 2 ? * SAT *)",
        "=",
        "<<",
        "a\n",
        "\n",
        "\\n",
        "0",
        "00",
        "-0",
        "1.",
        "+.5",
        "1e",
        "e1",
        "TRUE",
        "NULL",
    ];

    #[test]
    fn hostile_strings_read_back_as_the_same_string() {
        for s in HOSTILE {
            let value = json!({ "v": s, "list": [s], *s: 1 });
            assert_eq!(
                reread(&value),
                value,
                "{s:?} written as {}",
                to_yaml(&value)
            );
        }
    }

    #[test]
    fn plain_is_used_only_where_it_is_unambiguous() {
        assert_eq!(string("operation"), "operation");
        assert_eq!(string("thingGroup"), "thingGroup");
        assert_eq!(
            string("arn:aws:iot:us-east-1:123456789012:thing/Pi"),
            "arn:aws:iot:us-east-1:123456789012:thing/Pi"
        );
        assert_eq!(string("Bulb firmware 4.2.0"), "Bulb firmware 4.2.0");
        for s in [
            "yes",
            "1.10",
            "0755",
            "null",
            "",
            "a: b",
            "a #b",
            "2026-01-01T10:00",
        ] {
            assert!(string(s).starts_with('"'), "{s:?} must be quoted");
        }
    }

    #[test]
    fn structure_reads_back() {
        let value = json!({
            "apiVersion": "jobctl/v1",
            "empty map": {},
            "empty list": [],
            "nested": [[1, [2, []]], [{"a": {}}], {"b": [{"c": null, "d": [true, false]}]}],
            "numbers": [0, -1, 9_223_372_036_854_775_807_i64, -9_223_372_036_854_775_808_i64,
                        1.5, -0.25, 1e300, 1e-300, 10.0, 2.5e-7],
        });
        assert_eq!(reread(&value), value, "{}", to_yaml(&value));
    }

    #[test]
    fn list_items_that_are_maps_are_compact() {
        let text = to_yaml(
            &json!({"targets": [{"thingGroup": "Bulbs"}, "arn:aws:iot:us-east-1:123456789012:thing/a"]}),
        );
        assert_eq!(
            text,
            "targets:\n  - thingGroup: Bulbs\n  - arn:aws:iot:us-east-1:123456789012:thing/a\n"
        );
    }

    /// A random JSON value; strings mix hostile fragments with random characters.
    fn random_value(rng: &mut fastrand::Rng, depth: usize) -> Value {
        let pick = if depth >= 4 {
            rng.usize(0..4)
        } else {
            rng.usize(0..6)
        };
        match pick {
            0 => Value::Null,
            1 => Value::Bool(rng.bool()),
            2 => {
                if rng.bool() {
                    Value::from(rng.i64(..))
                } else {
                    let f = f64::from_bits(rng.u64(..));
                    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
                }
            }
            3 => Value::String(random_string(rng)),
            4 => Value::Array(
                (0..rng.usize(0..4))
                    .map(|_| random_value(rng, depth + 1))
                    .collect(),
            ),
            _ => Value::Object(
                (0..rng.usize(0..4))
                    .map(|_| (random_string(rng), random_value(rng, depth + 1)))
                    .collect(),
            ),
        }
    }

    fn random_string(rng: &mut fastrand::Rng) -> String {
        const ALPHABET: &[char] = &[
            'a', 'Z', '0', '9', ' ', ':', '#', '-', '?', ',', '[', ']', '{', '}', '&', '*', '!',
            '|', '>', '\'', '"', '%', '@', '`', '.', '+', '~', '\\', '\n', '\t', '\u{0}', '\u{85}',
            '\u{2028}', 'é', '🚀', '=', '<', '/', '_', 'e', 'E', 'x', 'o',
        ];
        let mut s = String::new();
        for _ in 0..rng.usize(0..3) {
            if rng.bool() {
                s.push_str(HOSTILE[rng.usize(0..HOSTILE.len())]);
            } else {
                for _ in 0..rng.usize(0..6) {
                    s.push(ALPHABET[rng.usize(0..ALPHABET.len())]);
                }
            }
        }
        s
    }

    #[test]
    fn random_values_read_back_through_the_loader() {
        let mut rng = fastrand::Rng::with_seed(15);
        for _ in 0..5_000 {
            let value = Value::Object(
                (0..rng.usize(1..5))
                    .map(|_| (random_string(&mut rng), random_value(&mut rng, 0)))
                    .collect(),
            );
            assert_eq!(reread(&value), value, "written as:\n{}", to_yaml(&value));
        }
    }
}

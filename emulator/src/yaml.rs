//! YAML to a JSON value, for the `--fleet` file: the event parser of `saphyr-parser` (the
//! one the workspace already reads manifests with) plus YAML 1.2 core-schema scalars, with
//! bounds on nesting and on what aliases may expand to. Written here rather than taken from
//! serde-saphyr because that crate pins a second, older saphyr-parser and hashbrown into
//! the tree; the JSON value then goes through the same serde decoder as the JSON of
//! `PUT /_emulator/fleet`.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Number, Value};

const MAX_DEPTH: usize = 64;
/// Nodes one document may expand to, aliases included (the "billion laughs" bound).
const MAX_NODES: usize = 100_000;

enum Frame {
    Seq(Vec<Value>),
    Map(Map<String, Value>, Option<String>),
}

/// Parses the first document of `text`. Errors say where (`line L column C`).
pub fn to_json(text: &str) -> Result<Value, String> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<(Frame, usize)> = Vec::new();
    let mut anchors: HashMap<usize, (Value, usize)> = HashMap::new();
    let mut nodes = 0usize;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| {
            let m = e.marker();
            format!(
                "invalid YAML at line {} column {}: {}",
                m.line(),
                m.col() + 1,
                e.info()
            )
        })?;
        let at = || format!("line {} column {}", span.start.line(), span.start.col() + 1);
        let done: Option<(Value, usize, usize)> = match event {
            Event::StreamStart | Event::Nothing | Event::DocumentStart(_) => None,
            Event::StreamEnd | Event::DocumentEnd => break,
            Event::Alias(id) => {
                let (v, size) = anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| format!("{}: an alias with no anchor before it", at()))?;
                Some((v, 0, size))
            }
            Event::Scalar(text, style, anchor, _tag) => Some((scalar(&text, style), anchor, 1)),
            Event::SequenceStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("{}: nested deeper than {MAX_DEPTH} levels", at()));
                }
                stack.push((Frame::Seq(Vec::new()), anchor));
                None
            }
            Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("{}: nested deeper than {MAX_DEPTH} levels", at()));
                }
                stack.push((Frame::Map(Map::new(), None), anchor));
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some((Frame::Seq(items), anchor)) => Some((Value::Array(items), anchor, 1)),
                Some((Frame::Map(map, _), anchor)) => Some((Value::Object(map), anchor, 1)),
                None => return Err(format!("{}: unbalanced end of a collection", at())),
            },
        };
        let Some((value, anchor, size)) = done else {
            continue;
        };
        nodes = nodes.saturating_add(size);
        if nodes > MAX_NODES {
            return Err(format!(
                "{}: the document expands to more than {MAX_NODES} nodes (aliases included)",
                at()
            ));
        }
        if anchor != 0 {
            anchors.insert(anchor, (value.clone(), count(&value)));
        }
        match stack.last_mut() {
            None => return Ok(value),
            Some((Frame::Seq(items), _)) => items.push(value),
            Some((Frame::Map(map, key), _)) => match key.take() {
                None => {
                    let k = match value {
                        Value::String(s) => s,
                        Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    if map.contains_key(&k) {
                        return Err(format!("{}: duplicate key `{k}`", at()));
                    }
                    *key = Some(k);
                }
                Some(k) => {
                    map.insert(k, value);
                }
            },
        }
    }
    Ok(Value::Null)
}

fn count(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(count).sum::<usize>(),
        Value::Object(m) => 1 + m.values().map(count).sum::<usize>(),
        _ => 1,
    }
}

/// YAML 1.2 core schema: quoted scalars are strings; plain ones may be null, booleans,
/// integers (decimal, 0o, 0x) or floats (including .inf and .nan, kept as strings since
/// JSON has no such numbers).
fn scalar(text: &str, style: ScalarStyle) -> Value {
    if style != ScalarStyle::Plain {
        return Value::String(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let int = if let Some(o) = text.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(h) = text.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if text
        .trim_start_matches(['-', '+'])
        .bytes()
        .all(|b| b.is_ascii_digit())
    {
        text.parse::<i64>().ok()
    } else {
        None
    };
    if let Some(i) = int {
        return Value::Number(i.into());
    }
    let looks_float = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        && text.bytes().any(|b| b.is_ascii_digit());
    if looks_float {
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn core_schema_and_structure() {
        let v = to_json(
            "seed: 7\nscale: 0.5\nname: Bulbs\nq: \"7\"\nn: ~\nb: true\nlist:\n  - {a: 1, b: [x, y]}\nhex: 0x1f\n",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"seed": 7, "scale": 0.5, "name": "Bulbs", "q": "7", "n": null, "b": true,
                   "list": [{"a": 1, "b": ["x", "y"]}], "hex": 31})
        );
        assert_eq!(to_json("").unwrap(), Value::Null);
        assert_eq!(
            to_json("a: &x {k: 1}\nb: *x\n").unwrap(),
            json!({"a": {"k": 1}, "b": {"k": 1}})
        );
    }

    #[test]
    fn bad_input_is_refused_with_a_place() {
        let e = to_json("a: [1, 2\n").unwrap_err();
        assert!(e.contains("line"), "{e}");
        assert!(to_json("a: 1\na: 2\n")
            .unwrap_err()
            .contains("duplicate key `a`"));
        // Billion laughs: every level doubles the size.
        let mut doc = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            doc.push_str(&format!(
                "l{i}: &l{i} [*l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}]\n",
                p = i - 1
            ));
        }
        assert!(to_json(&doc).unwrap_err().contains("more than"));
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        assert!(to_json(&deep).is_err());
    }
}

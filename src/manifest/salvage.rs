//! What is left of a manifest once the fields that failed the schema are taken out, so that the
//! semantic checks still run on the rest and a file's problems come out in one run.
//!
//! The result is only ever checked, never applied: a manifest with a schema error declares no job.

use jsonschema::error::ValidationErrorKind;
use serde_json::{json, Map, Value};

/// Rules that fire on a field's absence: when that field was taken out here for failing the
/// schema, they would report a second, false problem, so they are not run on salvaged manifests.
pub fn absence_rule(code: super::rule::Rule) -> bool {
    use super::rule::Rule;
    matches!(
        code,
        Rule::SemanticDocumentMissing
            | Rule::SemanticDocumentParameters
            | Rule::SemanticPresignedRole
            | Rule::SemanticEndBehavior
    )
}

/// `instance` without the fields the schema refused, with placeholders where the envelope
/// requires a value (kind, apiVersion, metadata.name, spec.targets). `None` when nothing useful
/// is left (no spec map).
pub fn without_invalid_fields(instance: &Value) -> Option<Value> {
    let mut pruned = instance.clone();
    let mut cuts: Vec<String> = Vec::new();
    for error in super::schema::validator().iter_errors(instance) {
        let pointer = error.instance_path().as_str().to_string();
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => cuts.extend(
                unexpected
                    .iter()
                    .map(|name| format!("{pointer}/{}", escape(name))),
            ),
            // The object is missing a key; what it has may still be checked.
            ValidationErrorKind::Required { .. } => {}
            _ => cuts.push(pointer),
        }
    }
    for pointer in cuts {
        remove(&mut pruned, &pointer);
    }
    let root = pruned.as_object_mut()?;
    root.insert("apiVersion".into(), json!(super::model::API_VERSION));
    root.insert("kind".into(), json!(super::model::KIND));
    let metadata = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(metadata) = metadata.as_object_mut() {
        metadata.entry("name").or_insert_with(|| json!("-"));
    }
    let spec = root.get_mut("spec")?.as_object_mut()?;
    spec.entry("targets").or_insert_with(|| json!([]));
    Some(pruned)
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Removes what `pointer` names. An array element takes its whole array with it, so that the
/// indexes the semantic checks report still match the file.
fn remove(value: &mut Value, pointer: &str) {
    let tokens: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let mut node = value;
    for (i, token) in tokens.iter().enumerate() {
        let last = i + 1 == tokens.len();
        match node {
            Value::Object(map) if last => {
                map.remove(token);
                return;
            }
            Value::Object(map) => {
                if map.get(token).is_some_and(Value::is_array) {
                    map.remove(token);
                    return;
                }
                let Some(next) = map.get_mut(token) else {
                    return;
                };
                node = next;
            }
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_fields_go_and_the_rest_stays() {
        let instance = json!({
            "apiVersion": "jobctl/v1",
            "kind": "job",
            "metadata": {"name": "a b"},
            "spec": {
                "targets": [{"thingGroup": "G"}, {"bogus": 1}],
                "description": 7,
                "tags": {"aws:x": "y"},
                "unknown": true,
            }
        });
        let pruned = without_invalid_fields(&instance).expect("salvaged");
        assert_eq!(pruned["kind"], "Job");
        assert_eq!(pruned["metadata"]["name"], "-");
        assert_eq!(pruned["spec"]["targets"], json!([]));
        assert_eq!(pruned["spec"]["tags"], json!({"aws:x": "y"}));
        assert!(pruned["spec"].get("description").is_none());
        assert!(pruned["spec"].get("unknown").is_none());
    }
}

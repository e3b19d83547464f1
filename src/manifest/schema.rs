//! The published JSON Schema: generated from `manifest::model`, and the validator built from it.
//!
//! The schema is draft-07 because that is the draft yaml-language-server (and so VS Code, Neovim
//! and JetBrains through it) handles completely. The validator compiles the same schema with no
//! remote `$ref` resolution: validation must work offline and never fetch anything.

use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};

use super::model::{JobManifest, JobTemplateManifest, RolloutManifest};

/// Where the schema is published in the repository; manifests point at it with a modeline.
pub const SCHEMA_PATH: &str = "schemas/job.schema.json";
pub const SCHEMA_ID: &str = "https://jobctl.dev/schemas/job.schema.json";
/// The `kind: Rollout` schema, published next to the Job schema.
pub const ROLLOUT_SCHEMA_PATH: &str = "schemas/rollout.schema.json";
pub const ROLLOUT_SCHEMA_ID: &str = "https://jobctl.dev/schemas/rollout.schema.json";

/// The JobTemplate manifest's schema, published beside the Job one.
pub const TEMPLATE_SCHEMA_PATH: &str = "schemas/job-template.schema.json";
pub const TEMPLATE_SCHEMA_ID: &str = "https://jobctl.dev/schemas/job-template.schema.json";

/// Which manifest kind a schema describes: each kind has its own schema file, so an editor's
/// modeline names exactly the fields that kind accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKind {
    Job,
    JobTemplate,
    Rollout,
}

impl SchemaKind {
    /// The kind a manifest declares; anything unknown is checked as a Job (whose schema then
    /// reports the wrong `kind`).
    pub fn of(instance: &Value) -> Self {
        match instance.get("kind").and_then(Value::as_str) {
            Some(super::model::ROLLOUT_KIND) => Self::Rollout,
            Some(super::model::TEMPLATE_KIND) => Self::JobTemplate,
            _ => Self::Job,
        }
    }
}

/// The schema as JSON, with `null` removed from optional fields: an absent field and an explicit
/// `null` are different things to a reviewer, and manifests should not carry the latter.
pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let generator = SchemaSettings::draft07().into_generator();
        finish(generator.into_root_schema_for::<JobManifest>(), SCHEMA_ID)
    })
}

/// The JobTemplate manifest's schema, made like [`schema`].
pub fn template_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let generator = SchemaSettings::draft07().into_generator();
        finish(
            generator.into_root_schema_for::<JobTemplateManifest>(),
            TEMPLATE_SCHEMA_ID,
        )
    })
}

/// The Rollout manifest's schema, made like [`schema`].
pub fn rollout_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let generator = SchemaSettings::draft07().into_generator();
        finish(
            generator.into_root_schema_for::<RolloutManifest>(),
            ROLLOUT_SCHEMA_ID,
        )
    })
}

fn finish(schema: schemars::Schema, id: &str) -> Value {
    let mut value = schema.to_value();
    strip_null(&mut value);
    if let Value::Object(map) = &mut value {
        map.insert("$id".into(), json!(id));
    }
    value
}

/// The schema of `kind`.
pub fn schema_of(kind: SchemaKind) -> &'static Value {
    match kind {
        SchemaKind::Job => schema(),
        SchemaKind::JobTemplate => template_schema(),
        SchemaKind::Rollout => rollout_schema(),
    }
}

/// The schema as the pretty text committed under `schemas/`.
pub fn schema_text() -> String {
    text_of(SchemaKind::Job)
}

/// The schema of `kind` as the pretty text committed under `schemas/`.
pub fn text_of(kind: SchemaKind) -> String {
    let mut text = serde_json::to_string_pretty(schema_of(kind)).unwrap_or_default();
    text.push('\n');
    text
}

fn strip_null(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            for key in ["anyOf", "oneOf"] {
                collapse_nullable(map, key);
            }
            wrap_ref_with_siblings(map);
            for child in map.values_mut() {
                strip_null(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null),
        _ => {}
    }
}

/// `anyOf: [{$ref: X}, {type: null}]` becomes the `$ref` alone.
fn collapse_nullable(map: &mut Map<String, Value>, key: &str) {
    let Some(Value::Array(options)) = map.get_mut(key) else {
        return;
    };
    options.retain(|o| o.get("type") != Some(&json!("null")));
    if options.len() == 1 {
        if let Some(Value::Object(only)) = options.pop() {
            map.remove(key);
            for (k, v) in only {
                map.entry(k).or_insert(v);
            }
        }
    }
}

/// Draft-07 ignores keywords beside `$ref`, so a field's description next to its `$ref` would be
/// lost on strict tools; `allOf: [{$ref}]` keeps both.
fn wrap_ref_with_siblings(map: &mut Map<String, Value>) {
    if map.len() > 1 {
        if let Some(reference) = map.remove("$ref") {
            map.insert("allOf".into(), json!([{ "$ref": reference }]));
        }
    }
}

/// The subschema that describes the instance at `pointer` (`/spec/abortConfig`), following
/// `$ref`, `allOf` and array `items`. Used to list the fields allowed where an unknown one was
/// found.
pub fn subschema_at(pointer: &str) -> Option<&'static Value> {
    subschema_in(SchemaKind::Job, pointer)
}

/// [`subschema_at`] in the schema of `kind`.
pub fn subschema_in(kind: SchemaKind, pointer: &str) -> Option<&'static Value> {
    let root = schema_of(kind);
    let mut node = resolve(root, root);
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        let next = if let Some(props) = node.get("properties").and_then(Value::as_object) {
            props.get(&token)
        } else if token.parse::<usize>().is_ok() {
            node.get("items")
        } else {
            node.get("additionalProperties").filter(|v| v.is_object())
        }?;
        node = resolve(root, next);
    }
    Some(node)
}

fn resolve<'a>(root: &'a Value, mut node: &'a Value) -> &'a Value {
    for _ in 0..8 {
        if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            match reference
                .strip_prefix("#/definitions/")
                .and_then(|name| root.get("definitions")?.get(name))
            {
                Some(target) => node = target,
                None => return node,
            }
        } else if let Some(first) = node
            .get("allOf")
            .and_then(Value::as_array)
            .filter(|all| all.len() == 1)
            .and_then(|all| all.first())
        {
            node = first;
        } else {
            break;
        }
    }
    node
}

/// The compiled validator, built once per process.
pub fn validator() -> &'static jsonschema::Validator {
    validator_of(SchemaKind::Job)
}

/// The compiled validator of `kind`'s schema, built once per process.
pub fn validator_of(kind: SchemaKind) -> &'static jsonschema::Validator {
    static JOB: OnceLock<jsonschema::Validator> = OnceLock::new();
    static TEMPLATE: OnceLock<jsonschema::Validator> = OnceLock::new();
    static ROLLOUT: OnceLock<jsonschema::Validator> = OnceLock::new();
    let cell = match kind {
        SchemaKind::Job => &JOB,
        SchemaKind::JobTemplate => &TEMPLATE,
        SchemaKind::Rollout => &ROLLOUT,
    };
    cell.get_or_init(|| {
        match jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .build(schema_of(kind))
        {
            Ok(v) => v,
            // The schema is generated from our own types; failing to compile it is a jobctl bug
            // that the schema tests catch before release, never a user input problem.
            Err(err) => panic!("the generated JSON Schema does not compile: {err}"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_draft_07_with_descriptions() {
        let schema = schema();
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
        let spec = &schema["definitions"]["JobSpec"]["properties"];
        for (name, field) in spec.as_object().expect("properties") {
            assert!(
                field.get("description").is_some(),
                "spec.{name} has no description"
            );
        }
    }

    #[test]
    fn optional_fields_do_not_accept_null() {
        let text = schema_text();
        assert!(
            !text.contains("\"null\""),
            "schema still allows null somewhere"
        );
    }

    #[test]
    fn committed_schema_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/job.schema.json");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == schema_text(),
            "schemas/job.schema.json is stale: run `cargo run -- schema > schemas/job.schema.json`"
        );
    }

    #[test]
    fn committed_template_schema_is_current() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas/job-template.schema.json"
        );
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == text_of(SchemaKind::JobTemplate),
            "schemas/job-template.schema.json is stale: run `cargo run -- schema --kind JobTemplate > schemas/job-template.schema.json`"
        );
    }

    #[test]
    fn template_schema_describes_every_member_and_no_job_only_field() {
        let schema = template_schema();
        assert_eq!(schema["properties"]["kind"]["const"], "JobTemplate");
        let spec = &schema["definitions"]["JobTemplateSpec"];
        let props = spec["properties"].as_object().expect("properties");
        for member in [
            "description",
            "document",
            "documentFile",
            "documentSource",
            "presignedUrlConfig",
            "jobExecutionsRolloutConfig",
            "abortConfig",
            "timeoutConfig",
            "jobExecutionsRetryConfig",
            "maintenanceWindows",
            "destinationPackageVersions",
            "tags",
        ] {
            assert!(
                props[member].get("description").is_some(),
                "{member} missing or undocumented"
            );
        }
        for job_only in [
            "targets",
            "jobTemplateArn",
            "documentParameters",
            "schedulingConfig",
        ] {
            assert!(!props.contains_key(job_only), "{job_only}");
        }
        assert_eq!(spec["required"], json!(["description"]));
        assert!(!text_of(SchemaKind::JobTemplate).contains("\"null\""));
    }

    #[test]
    fn committed_rollout_schema_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/rollout.schema.json");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == text_of(SchemaKind::Rollout),
            "schemas/rollout.schema.json is stale: run `cargo run -- schema --kind Rollout > schemas/rollout.schema.json`"
        );
        let job = &rollout_schema()["properties"]["spec"];
        let text = serde_json::to_string(job).unwrap_or_default();
        assert!(!text.contains("\"targetSelection\""), "{text}");
    }
}

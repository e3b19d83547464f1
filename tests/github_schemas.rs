//! action.yml and the GitHub workflows (docs/examples/github/, .github/workflows/) checked against
//! SchemaStore's published schemas for GitHub actions and workflows, vendored in
//! tests/schemas/github/ (see the README there for their source and version). YAML is read with
//! jobctl's own YAML reader and converted to JSON.

use std::path::{Path, PathBuf};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn validator(schema: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo("tests/schemas/github").join(schema))
        .expect("vendored schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .build(&schema)
        .expect("schema compiles")
}

fn yaml_to_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("read YAML");
    let docs = jobctl::manifest::yaml::parse_documents(&text)
        .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    assert_eq!(docs.len(), 1, "{}: one YAML document", path.display());
    docs[0].root.to_json()
}

fn problems(validator: &jsonschema::Validator, path: &Path) -> Vec<String> {
    let instance = yaml_to_json(path);
    validator
        .iter_errors(&instance)
        .map(|e| format!("{}: {} at {}", path.display(), e, e.instance_path()))
        .collect()
}

fn workflows() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["docs/examples/github", ".github/workflows"] {
        for entry in std::fs::read_dir(repo(dir)).expect("workflow dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn action_yml_matches_the_github_action_schema() {
    let validator = validator("github-actions.json");
    let problems = problems(&validator, &repo("action.yml"));
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn workflows_match_the_github_workflow_schema() {
    let validator = validator("github-workflows.json");
    let files = workflows();
    assert!(files.len() >= 4, "{files:?}");
    let problems: Vec<String> = files.iter().flat_map(|f| problems(&validator, f)).collect();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_schemas_catch_mistakes() {
    // A schema that accepted anything would make the two tests above worthless.
    let workflow = validator("github-workflows.json");
    let bad =
        serde_json::json!({"on": "push", "jobs": {"x": {"runs-on": "ubuntu-latest", "stepz": []}}});
    assert!(!workflow.is_valid(&bad));
    let action = validator("github-actions.json");
    let bad = serde_json::json!({"name": "x", "description": "y", "runs": {"using": "composite", "steps": [{"run": "echo"}]}});
    assert!(
        !action.is_valid(&bad),
        "a composite run step without shell is invalid"
    );
}

#[test]
fn action_inputs_reach_the_script() {
    // Every input must be passed to scripts/github-action through the environment, and every
    // output the action declares must be one the script writes.
    let action = yaml_to_json(&repo("action.yml"));
    let script = std::fs::read_to_string(repo("scripts/github-action")).expect("script");
    let steps = action["runs"]["steps"].as_array().expect("steps");
    let env: String = steps
        .iter()
        .filter_map(|s| s["env"].as_object())
        .flat_map(|e| e.values().filter_map(|v| v.as_str().map(String::from)))
        .collect::<Vec<_>>()
        .join("\n");
    for input in action["inputs"].as_object().expect("inputs").keys() {
        assert!(
            env.contains(&format!("${{{{ inputs.{input} }}}}")),
            "input {input} is not passed to the script"
        );
    }
    for output in action["outputs"].as_object().expect("outputs").keys() {
        assert!(
            script.contains(&format!("set_output {output} ")),
            "output {output} is never set"
        );
    }
    // No input is spliced into a shell script's text.
    for step in steps {
        if let Some(run) = step["run"].as_str() {
            assert!(!run.contains("${{"), "expression in run: {run}");
        }
    }
}

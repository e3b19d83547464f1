//! The shipped manifests are part of the documentation: examples/ (one per feature) and jobs/
//! (the quickstart) must validate cleanly, and together the examples must use every spec field.

use std::path::PathBuf;

fn root(dir: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir)
}

/// The manifests of a directory: jobs/ whole; for examples/, its top-level files, since
/// examples/docs/ holds the document files they reference.
fn manifests(dir: &str) -> Vec<PathBuf> {
    if dir != "examples" {
        return vec![root(dir)];
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(root(dir))
        .expect("examples/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn examples_and_jobs_validate_without_warnings() {
    for dir in ["examples", "jobs"] {
        let set = jobctl::manifest::load(&manifests(dir));
        let problems: Vec<String> = set.diagnostics.iter().map(ToString::to_string).collect();
        assert!(problems.is_empty(), "{dir}: {problems:#?}");
        assert!(set.complete);
        assert!(!set.jobs.is_empty());
    }
}

/// What the README tells users to run: the whole folder through the real binary, so nothing
/// but manifests (and the document files they reference) may sit in examples/. GitHub
/// workflows live in docs/examples/github/, emulator fleets in fleets/.
#[test]
fn jobctl_validate_accepts_the_examples_folder() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jobctl"))
        .args(["validate", "--color", "never", "-f", "examples/"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("jobctl runs");
    assert!(
        out.status.success(),
        "jobctl validate -f examples/ exited {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn examples_cover_every_spec_field() {
    let schema = jobctl::manifest::schema::schema();
    let fields: Vec<String> = schema["definitions"]["JobSpec"]["properties"]
        .as_object()
        .expect("JobSpec properties")
        .keys()
        .cloned()
        .collect();
    let mut text = String::new();
    for entry in std::fs::read_dir(root("examples")).expect("examples/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            text.push_str(&std::fs::read_to_string(path).expect("read"));
        }
    }
    let missing: Vec<&String> = fields
        .iter()
        .filter(|f| !text.contains(&format!("  {f}:")))
        .collect();
    assert!(missing.is_empty(), "no example uses: {missing:?}");
}

#[test]
fn examples_declare_templates_using_every_template_field() {
    let set = jobctl::manifest::load(&manifests("examples"));
    assert!(
        set.templates
            .iter()
            .any(|t| t.name == "example-firmware-template"),
        "{:?}",
        set.templates.iter().map(|t| &t.name).collect::<Vec<_>>()
    );
    let schema = jobctl::manifest::schema::template_schema();
    let text = std::fs::read_to_string(root("examples/20-job-template.yaml")).expect("read");
    let missing: Vec<String> = schema["definitions"]["JobTemplateSpec"]["properties"]
        .as_object()
        .expect("JobTemplateSpec properties")
        .keys()
        .filter(|f| !text.contains(&format!("  {f}:")))
        .cloned()
        .collect();
    // `document` and `documentFile` are both shown (one template each); documentSource is
    // exercised by the corpus and the Job examples.
    assert_eq!(missing, ["documentSource"]);
}

//! Issue 26, through the real binary: each test is named after what it guards.

mod common;

fn valid_manifest(name: &str) -> String {
    format!(
        "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n  targets: [{{thingGroup: Fleet}}]\n  document: {{op: update}}\n"
    )
}

#[test]
fn a_bare_manifest_name_resolves_its_document_file_next_to_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("docs")).expect("mkdir");
    std::fs::write(dir.path().join("docs/a.json"), "{\"op\": \"update\"}").expect("write");
    let manifest = valid_manifest("m").replace(
        "  document: {op: update}\n",
        "  documentFile: docs/a.json\n",
    );
    std::fs::write(dir.path().join("m.yaml"), manifest).expect("write");
    for target in ["m.yaml", "./m.yaml"] {
        let run = common::run_jobctl(&["validate", "-f", target], dir.path(), &[]);
        assert_eq!(run.code, 0, "-f {target}: {run:?}");
    }
}

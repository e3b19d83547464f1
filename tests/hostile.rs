//! Hostile and broken inputs, through the real binary: each must end in a clear error, exit 1,
//! no panic, and bounded time. Timings here are generous ceilings against hangs, not speed
//! targets; speed is measured by bench/.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const CEILING: Duration = Duration::from_secs(20);

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn validate(dir: &Path, target: &str) -> Run {
    let start = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_jobctl"))
        .args(["validate", "--color", "never", "-f", target])
        .current_dir(dir)
        .output()
        .expect("jobctl runs");
    assert!(start.elapsed() < CEILING, "took {:?}", start.elapsed());
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "panic: {}", run.stderr);
    run
}

fn valid_manifest(name: &str) -> String {
    format!(
        "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n  targets: [{{thing: pi}}]\n  document: {{op: x}}\n"
    )
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("empty.yaml"), "").expect("write");
    let run = validate(dir.path(), "empty.yaml");
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("empty.yaml: error: the file holds no manifest"),
        "{}",
        run.stdout
    );
}

#[test]
fn binary_garbage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.path().join("garbage.yaml"), garbage).expect("write");
    let run = validate(dir.path(), "garbage.yaml");
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("garbage.yaml:1:2: error: not UTF-8 text"),
        "{}",
        run.stdout
    );
}

#[test]
fn ten_megabyte_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = valid_manifest("big");
    text.push_str(
        &"# padding padding padding padding padding padding padding padding\n".repeat(160_000),
    );
    assert!(text.len() > 10_000_000);
    std::fs::write(dir.path().join("big.yaml"), text).expect("write");
    let run = validate(dir.path(), "big.yaml");
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("big.yaml: error:")
            && run.stdout.contains("larger than the 1048576-byte limit"),
        "{}",
        run.stdout
    );
}

#[test]
fn billion_laughs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = i - 1;
        let refs = vec![format!("*a{p}"); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    std::fs::write(dir.path().join("lol.yaml"), text).expect("write");
    let run = validate(dir.path(), "lol.yaml");
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("expands to more than"),
        "{}",
        run.stdout
    );
}

#[test]
fn ten_thousand_levels_of_nesting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let block: String = (0..10_000)
        .map(|i| format!("{}k:\n", " ".repeat(i % 200)))
        .collect();
    let flow = format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    std::fs::write(dir.path().join("flow.yaml"), flow).expect("write");
    std::fs::write(dir.path().join("block.yaml"), block).expect("write");
    let run = validate(dir.path(), "flow.yaml");
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("nesting deeper than 64 levels"),
        "{}",
        run.stdout
    );
    let run = validate(dir.path(), "block.yaml");
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("block.yaml:"), "{}", run.stdout);
}

#[test]
fn symlink_pointing_outside_the_root() {
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("secret.yaml"), valid_manifest("secret")).expect("write");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("jobs")).expect("mkdir");
    std::fs::write(dir.path().join("jobs/ok.yaml"), valid_manifest("ok")).expect("write");
    std::os::unix::fs::symlink(
        outside.path().join("secret.yaml"),
        dir.path().join("jobs/link.yaml"),
    )
    .expect("symlink");
    let run = validate(dir.path(), "jobs");
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("jobs/link.yaml: error: is a symlink that points outside the manifest root"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("secret"),
        "the outside file was read: {}",
        run.stdout
    );
}

#[test]
fn document_file_escaping_with_dot_dot() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("jobs")).expect("mkdir");
    let manifest = valid_manifest("escape").replace(
        "  document: {op: x}\n",
        "  documentFile: ../../etc/passwd\n",
    );
    std::fs::write(dir.path().join("jobs/escape.yaml"), manifest).expect("write");
    let run = validate(dir.path(), "jobs");
    assert_eq!(run.code, 1);
    // `passwd` has no .json/.yaml extension, so the schema refuses it before any path is resolved;
    // with an extension, the root check refuses it.
    assert!(
        run.stdout.contains("jobs/escape.yaml:7:17: error:"),
        "{}",
        run.stdout
    );
    let manifest = valid_manifest("escape").replace(
        "  document: {op: x}\n",
        "  documentFile: ../../etc/passwd.json\n",
    );
    std::fs::write(dir.path().join("jobs/escape.yaml"), manifest).expect("write");
    let run = validate(dir.path(), "jobs");
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("points outside the manifest root"),
        "{}",
        run.stdout
    );
}

#[test]
fn symlinked_document_file_outside_the_root() {
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("doc.json"), "{\"leak\": true}").expect("write");
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest =
        valid_manifest("linked").replace("  document: {op: x}\n", "  documentFile: doc.json\n");
    std::fs::write(dir.path().join("job.yaml"), manifest).expect("write");
    std::os::unix::fs::symlink(outside.path().join("doc.json"), dir.path().join("doc.json"))
        .expect("symlink");
    let run = validate(dir.path(), ".");
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("is a symlink to a file outside the manifest root"),
        "{}",
        run.stdout
    );
}

#[test]
fn missing_path_and_usage_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = validate(dir.path(), "does-not-exist");
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("does-not-exist: error: no such file or directory"),
        "{}",
        run.stdout
    );
    let output = Command::new(env!("CARGO_BIN_EXE_jobctl"))
        .args(["plan", "--no-such-flag"])
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(64),
        "usage errors exit 64, never 2"
    );
}

#[test]
fn a_document_file_naming_a_manifest_never_hides_that_manifest() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("victim.yaml"), valid_manifest("victim")).expect("write");
    let pointer =
        valid_manifest("pointer").replace("  document: {op: x}\n", "  documentFile: victim.yaml\n");
    std::fs::write(dir.path().join("pointer.yaml"), pointer).expect("write");
    let set = jobctl::manifest::load(&[dir.path().to_path_buf()]);
    assert!(
        set.jobs.iter().any(|j| j.job_id == "victim"),
        "the referenced manifest must stay a manifest: {:?}",
        set.diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    );
    assert!(set
        .diagnostics
        .iter()
        .any(|d| d.code == jobctl::manifest::rule::Rule::DocumentFileIsAManifest));
    assert!(
        !set.jobs.iter().any(|j| j.job_id == "pointer"),
        "a job with an error is never applied"
    );
    assert!(!set.complete, "prune must be off");
}

#[test]
fn a_fifo_is_reported_at_its_path_and_never_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.yaml"), valid_manifest("a")).expect("write");
    let fifo = dir.path().join("x.yaml");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    // Both through a directory walk and named directly; `validate` bounds the time.
    for target in [".", "x.yaml"] {
        let run = validate(dir.path(), target);
        assert_eq!(run.code, 1, "{}", run.stdout);
        assert!(
            run.stdout
                .contains("x.yaml: error: is a FIFO (named pipe), not a regular file"),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn a_null_document_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!("{}---\nnull\n--- !!null \"\"\n", valid_manifest("a"));
    std::fs::write(dir.path().join("n.yaml"), text).expect("write");
    let run = validate(dir.path(), "n.yaml");
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(
        run.stdout
            .matches("a manifest must be a YAML map, found null")
            .count(),
        2,
        "{}",
        run.stdout
    );
}

#[test]
fn merge_keys_are_an_error_at_their_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: m\nspec:\n  targets: [{thing: pi}]\n  document:\n    base: &b {x: 1}\n    other: {<<: *b, z: 3}\n";
    std::fs::write(dir.path().join("m.yaml"), text).expect("write");
    let run = validate(dir.path(), "m.yaml");
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("m.yaml:9:13: error: YAML merge keys"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_float_in_an_integer_field_is_reported_at_the_value_in_schema_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "{}  timeoutConfig:\n    inProgressTimeoutInMinutes: 10.0\n",
        valid_manifest("f")
    );
    std::fs::write(dir.path().join("f.yaml"), text).expect("write");
    let run = validate(dir.path(), "f.yaml");
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("f.yaml:9:33: error:"), "{}", run.stdout);
    assert!(
        run.stdout.contains("must be a whole number"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("i64"), "{}", run.stdout);
}

#[test]
fn a_nul_byte_is_named_at_its_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("z.yaml"),
        "apiVersion: jobctl/v1\nkind: J\0ob\n",
    )
    .expect("write");
    let run = validate(dir.path(), "z.yaml");
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("z.yaml:2:8: error: a NUL character"),
        "{}",
        run.stdout
    );
}

#[test]
fn too_many_documents_name_the_node_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("d.yaml"), "---\n".repeat(250_000)).expect("write");
    let run = validate(dir.path(), "d.yaml");
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("more than 200000 YAML nodes"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("alias"), "{}", run.stdout);
}

#[test]
fn upper_case_extensions_are_read_and_hidden_manifests_are_noted() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("UP.YAML"), valid_manifest("up")).expect("write");
    std::fs::create_dir(dir.path().join(".hidden")).expect("mkdir");
    std::fs::write(dir.path().join(".hidden/h.yaml"), valid_manifest("h")).expect("write");
    let run = validate(dir.path(), ".");
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("1 valid"), "{}", run.stdout);
    assert!(
        run.stdout.contains("note: 1 YAML file(s) not read"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("h.yaml"), "{}", run.stdout);
}

#[test]
fn fifty_thousand_empty_documents_are_capped_per_file_in_every_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("many.yaml"), "---\n{}\n".repeat(50_000)).expect("write");
    let run = validate(dir.path(), "many.yaml");
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("and "),
        "{}",
        &run.stdout[run.stdout.len().saturating_sub(2000)..]
    );
    assert!(run.stdout.contains("only the first 100 are shown"));
    assert!(run.stdout.lines().count() < 2_000, "output is capped");
    let output = Command::new(env!("CARGO_BIN_EXE_jobctl"))
        .args(["validate", "-o", "json", "-f", "many.yaml"])
        .current_dir(dir.path())
        .output()
        .expect("jobctl runs");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    let diagnostics = json["diagnostics"].as_array().expect("diagnostics");
    assert_eq!(
        diagnostics.len(),
        101,
        "100 shown and one that counts the rest"
    );
    let omitted = &diagnostics[100]["omitted"];
    let errors = json["errors"].as_u64().expect("errors");
    assert!(errors >= 50_000, "every problem is counted: {errors}");
    assert_eq!(omitted["errors"].as_u64().expect("omitted") + 100, errors);
}

#[test]
fn symlink_loops_end_in_an_error_not_a_hang() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.yaml"), valid_manifest("a")).expect("write");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    // A directory that leads back to its parent, and files that point at each other.
    std::os::unix::fs::symlink("..", dir.path().join("sub/up")).expect("symlink");
    std::os::unix::fs::symlink("b.yaml", dir.path().join("c.yaml")).expect("symlink");
    std::os::unix::fs::symlink("c.yaml", dir.path().join("b.yaml")).expect("symlink");
    let run = validate(dir.path(), ".");
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("b.yaml"), "{}", run.stdout);
    assert!(run.stdout.contains("c.yaml"), "{}", run.stdout);
    // a.yaml is read once, not once per trip round the loop.
    assert!(!run.stdout.contains("duplicate"), "{}", run.stdout);
    let named = validate(dir.path(), "b.yaml");
    assert_eq!(named.code, 1, "{}{}", named.stdout, named.stderr);
    assert!(named.stdout.contains("b.yaml"), "{}", named.stdout);
}

#[test]
fn a_document_file_that_is_a_directory_or_dev_zero_is_an_error_at_its_manifest() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("docdir.json")).expect("mkdir");
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.json")).expect("symlink");
    for (name, file) in [
        ("d", "docdir.json"),
        ("z", "zero.json"),
        ("dz", "/dev/zero"),
    ] {
        let manifest = valid_manifest(name).replace(
            "  document: {op: x}\n",
            &format!("  documentFile: {file}\n"),
        );
        std::fs::write(dir.path().join(format!("{name}.yaml")), manifest).expect("write");
    }
    let run = validate(dir.path(), ".");
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    for (name, why) in [
        (
            "./d.yaml:7:17: error:",
            "is a directory, not a regular file",
        ),
        ("./z.yaml:7:17: error:", "outside the manifest root"),
        ("./dz.yaml:7:17: error:", "is not valid"),
    ] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.starts_with(name) && l.contains(why)),
            "{name} {why}: {}",
            run.stdout
        );
    }
}

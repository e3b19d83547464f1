//! docs/rollouts.md's tutorial, run for real: every `$ command` of its console blocks runs in
//! order against jobctl-emulator (the tutorial fleet, whose clock moves only when the tutorial
//! moves it), and the output printed under each command must be what the command prints. So
//! the tutorial cannot rot. After a deliberate change of jobctl's output,
//! `JOBCTL_BLESS_DOCS=1 cargo test -p jobctl --test tutorial` writes the real output into the
//! document (review the diff).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Endpoint;

const SECTION: &str = "## Try it against the emulator";
/// The endpoint the document's setup uses; the test's emulator listens on a free port instead.
const DOC_ENDPOINT: &str = "http://127.0.0.1:4566";
const MANIFEST: &str = "rollouts/bulb-fw-4-2-0.yaml";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One `$ command` of a console block and the lines shown under it.
#[derive(Debug)]
struct Step {
    command: String,
    shown: String,
}

/// A console block of the section: where its body is in the document, and its steps.
#[derive(Debug)]
struct Block {
    body: std::ops::Range<usize>,
    steps: Vec<Step>,
}

fn blocks(doc: &str) -> Vec<Block> {
    let start = doc.find(SECTION).expect("the tutorial section");
    let end = doc[start + SECTION.len()..]
        .find("\n## ")
        .map_or(doc.len(), |i| start + SECTION.len() + i);
    let mut out = Vec::new();
    let mut at = start;
    while let Some(open) = doc[at..end].find("```console\n") {
        let body_start = at + open + "```console\n".len();
        let close = doc[body_start..end]
            .find("```\n")
            .expect("a closed console block");
        let body = body_start..body_start + close;
        let mut steps: Vec<Step> = Vec::new();
        for line in doc[body.clone()].lines() {
            match line.strip_prefix("$ ") {
                Some(command) => steps.push(Step {
                    command: command.to_string(),
                    shown: String::new(),
                }),
                None => {
                    let step = steps.last_mut().expect("a console block starts with `$ `");
                    step.shown.push_str(line);
                    step.shown.push('\n');
                }
            }
        }
        at = body.end;
        out.push(Block { body, steps });
    }
    out
}

/// The first YAML block of the document: the tutorial's manifest.
fn manifest(doc: &str) -> &str {
    let start = doc.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
    let len = doc[start..].find("```\n").expect("closed");
    &doc[start..start + len]
}

/// What the document shows for one command: its stdout and stderr as they came, the real port
/// replaced by the document's, trailing spaces and blank lines dropped, and `[exit N]` when it
/// failed.
fn shown(output: &str, code: i32, url: &str) -> String {
    let text = output.replace(url, DOC_ENDPOINT);
    let mut lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let mut out: String = lines.iter().map(|l| format!("{l}\n")).collect();
    if code != 0 {
        out.push_str(&format!("[exit {code}]\n"));
    }
    out
}

fn run(command: &str, dir: &Path, url: &str) -> (String, i32) {
    let bin = common::jobctl_bin();
    let bin_dir = bin.parent().expect("bin dir");
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("exec 2>&1; {command}"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", path)
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .env("AWS_ENDPOINT_URL_IOT", url)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .expect("sh runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(!text.contains("panicked"), "`{command}` panicked:\n{text}");
    (text, output.status.code().unwrap_or(-1))
}

#[test]
fn the_rollout_tutorial_shows_what_jobctl_prints() {
    let path = repo().join("docs/rollouts.md");
    let doc = std::fs::read_to_string(&path).expect("docs/rollouts.md");
    let fleet = repo().join("fleets/rollout-tutorial.yaml");
    let endpoint = Endpoint::emulator(&["--fleet", fleet.to_str().expect("utf-8 path")]);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("rollouts")).expect("mkdir");
    std::fs::write(dir.path().join(MANIFEST), manifest(&doc)).expect("manifest");

    let blocks = blocks(&doc);
    assert!(blocks.len() >= 5, "the tutorial has its console blocks");
    let mut mismatches = Vec::new();
    let mut rewritten = String::new();
    let mut copied = 0;
    for block in &blocks {
        let mut body = String::new();
        for step in &block.steps {
            let (output, code) = run(&step.command, dir.path(), &endpoint.url);
            let real = shown(&output, code, &endpoint.url);
            if real != step.shown {
                mismatches.push(format!(
                    "$ {}\n--- the document shows:\n{}--- jobctl printed:\n{}",
                    step.command, step.shown, real
                ));
            }
            body.push_str(&format!("$ {}\n{real}", step.command));
        }
        rewritten.push_str(&doc[copied..block.body.start]);
        rewritten.push_str(&body);
        copied = block.body.end;
    }
    rewritten.push_str(&doc[copied..]);
    if std::env::var_os("JOBCTL_BLESS_DOCS").is_some() {
        std::fs::write(&path, rewritten).expect("write docs/rollouts.md");
        return;
    }
    assert!(
        mismatches.is_empty(),
        "docs/rollouts.md's tutorial differs from what jobctl prints ({} command(s)); after a deliberate change run `JOBCTL_BLESS_DOCS=1 cargo test -p jobctl --test tutorial`:\n\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

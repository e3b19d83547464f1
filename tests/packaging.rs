//! What packaging ships besides the binaries: shell completions and man pages generated from the
//! CLI definition, and the default output format inside GitHub Actions.

mod common;

use common::run_jobctl;

#[test]
fn completions_for_each_shell() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (shell, needle) in [
        ("bash", "_jobctl()"),
        ("zsh", "#compdef jobctl"),
        ("fish", "complete -c jobctl"),
    ] {
        let run = run_jobctl(&["completions", shell], dir.path(), &[]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stdout.contains(needle), "{shell}: {run:?}");
        assert!(run.stdout.contains("detailed-exitcode"), "{shell}");
    }
    let run = run_jobctl(&["completions", "tcsh"], dir.path(), &[]);
    assert_eq!(run.code, 64, "{run:?}");
}

#[test]
fn man_pages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = run_jobctl(&["man"], dir.path(), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(".TH jobctl 1"), "{run:?}");
    assert!(
        run.stdout.contains("jobctl\\-plan"),
        "subcommands are listed"
    );

    let run = run_jobctl(&["man", "--dir", "."], dir.path(), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    for page in [
        "jobctl.1",
        "jobctl-plan.1",
        "jobctl-apply.1",
        "jobctl-validate.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).expect(page);
        assert!(text.contains(".SH OPTIONS"), "{page}");
    }
    let plan = std::fs::read_to_string(dir.path().join("jobctl-plan.1")).expect("plan page");
    // The page documents the flag, and does not bake in the environment it was built in.
    assert!(plan.contains("github"), "output formats are listed");
    assert!(!plan.contains("[default: github]"));
}

#[test]
fn github_output_is_the_default_inside_github_actions() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("bad.yaml"),
        "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: x\nspec:\n  targets: [{thingGroup: G}]\n  document: {op: x}\n  timeoutConfig: {inProgressTimeoutInMinutes: 0}\n",
    )
    .expect("write");
    let run = run_jobctl(
        &["validate", "-f", "bad.yaml"],
        dir.path(),
        &[("GITHUB_ACTIONS", "true")],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .starts_with("::error file=bad.yaml,line=8,col=47,title=jobctl%3A schema/range::"),
        "{run:?}"
    );
    assert!(run.stdout.contains("\n::stop-commands::jobctl-"), "{run:?}");

    // --output wins over the environment; outside Actions the default stays text.
    let run = run_jobctl(
        &["validate", "-f", "bad.yaml", "--output", "text"],
        dir.path(),
        &[("GITHUB_ACTIONS", "true")],
    );
    assert!(run.stdout.starts_with("bad.yaml:8:47: error:"), "{run:?}");
    let run = run_jobctl(&["validate", "-f", "bad.yaml"], dir.path(), &[]);
    assert!(run.stdout.starts_with("bad.yaml:8:47: error:"), "{run:?}");
    let run = run_jobctl(
        &["validate", "-f", "bad.yaml", "--output", "markdown"],
        dir.path(),
        &[],
    );
    assert!(run.stdout.starts_with("### jobctl validate\n"), "{run:?}");
}

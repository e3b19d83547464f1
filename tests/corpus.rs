//! The bad-input corpus: every file under tests/corpus/invalid breaks one rule and says, in its
//! `# expect:` line, which diagnostic must come out and where. Nothing else may be reported as an
//! error, so a rule that fires on the wrong node or drags others along fails here.

use std::path::{Path, PathBuf};

struct Expectation {
    severity: String,
    /// `None` for whole-file problems (written `-`).
    line_col: Option<(usize, usize)>,
    code: String,
    message: String,
}

fn parse_expectations(text: &str, path: &Path) -> Vec<Expectation> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(|rest| {
            let mut parts = rest.splitn(3, ' ');
            let severity = parts.next().unwrap_or_default().to_string();
            let where_ = parts.next().unwrap_or_default();
            let tail = parts.next().unwrap_or_default();
            let (code, message) = tail
                .split_once(": ")
                .unwrap_or_else(|| panic!("{}: malformed expect line", path.display()));
            let line_col = (where_ != "-").then(|| {
                let (l, c) = where_.split_once(':').expect("LINE:COL");
                (l.parse().expect("line"), c.parse().expect("col"))
            });
            Expectation {
                severity,
                line_col,
                code: code.to_string(),
                message: message.to_string(),
            }
        })
        .collect()
}

fn corpus_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_is_large_enough() {
    let errors = corpus_files()
        .iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap_or_default()
                .contains("# expect: error")
        })
        .count();
    assert!(
        errors >= 40,
        "only {errors} invalid manifests in the corpus"
    );
}

#[test]
fn every_corpus_file_reports_exactly_its_rule() {
    let mut failures = Vec::new();
    for path in corpus_files() {
        let text = std::fs::read_to_string(&path).expect("readable");
        let expectations = parse_expectations(&text, &path);
        assert!(
            !expectations.is_empty(),
            "{} has no expect line",
            path.display()
        );
        let set = jobctl::manifest::load(std::slice::from_ref(&path));
        for exp in &expectations {
            let found = set.diagnostics.iter().any(|d| {
                let severity = match d.severity {
                    jobctl::manifest::diagnostic::Severity::Error => "error",
                    jobctl::manifest::diagnostic::Severity::Warning => "warning",
                };
                severity == exp.severity
                    && d.code.code() == exp.code
                    && d.location.map(|l| (l.line, l.col)) == exp.line_col
                    && d.message.contains(&exp.message)
            });
            if !found {
                failures.push(format!(
                    "{}: expected {} {:?} {}: {:?}\n  got: {:#?}",
                    path.display(),
                    exp.severity,
                    exp.line_col,
                    exp.code,
                    exp.message,
                    set.diagnostics
                        .iter()
                        .map(|d| format!("{} {} {}", d.position(), d.code, d.message))
                        .collect::<Vec<_>>()
                ));
            }
        }
        let expected_errors = expectations
            .iter()
            .filter(|e| e.severity == "error")
            .count();
        if set.error_count() != expected_errors {
            failures.push(format!(
                "{}: expected {expected_errors} error(s), got {}: {:?}",
                path.display(),
                set.error_count(),
                set.diagnostics
                    .iter()
                    .map(|d| format!("{} {} {}", d.position(), d.code, d.message))
                    .collect::<Vec<_>>()
            ));
        }
        // An invalid file must never look like a complete, valid set.
        if expected_errors > 0
            && (set.complete || !set.jobs.is_empty() || !set.templates.is_empty())
        {
            failures.push(format!(
                "{}: invalid, yet complete or with jobs",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

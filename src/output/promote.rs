//! `jobctl promote`'s report in each format: one line for people, one object for programs, an
//! annotation on GitHub, a line for job summaries.

use serde::Serialize;

use super::github::{self, Annotation, Level};
use super::json::VERSION;
use super::Screen;
use crate::manifest::diagnostic::sanitize;
use crate::report::PromoteReport;

/// For people: what was approved on stdout; why nothing was, on stderr.
pub fn text(report: &PromoteReport) -> Screen {
    let line = format!("{}\n", sanitize(&report.message));
    if report.result.is_success() {
        Screen::stdout(line)
    } else {
        Screen::stderr(format!("jobctl: promote: {line}"))
    }
}

/// `--output json`: `{version, rollout, stage, currentStage, result, message}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PromoteJson<'a> {
    pub version: u32,
    #[serde(flatten)]
    pub report: &'a PromoteReport,
}

pub fn json(report: &PromoteReport) -> PromoteJson<'_> {
    PromoteJson {
        version: VERSION,
        report,
    }
}

/// GitHub Actions: a notice when approved, an error otherwise; the message escaped.
pub fn github(report: &PromoteReport) -> Screen {
    let level = if report.result.is_success() {
        Level::Notice
    } else {
        Level::Error
    };
    let annotation = Annotation::new(level, report.message.clone())
        .with_title(format!("jobctl promote {}", report.rollout));
    Screen::stdout(github::annotations_text(&[annotation]))
}

/// For job summaries: a heading and the message.
pub fn markdown(report: &PromoteReport) -> Screen {
    let mark = if report.result.is_success() {
        "✅"
    } else {
        "❌"
    };
    Screen::stdout(format!(
        "### jobctl promote `{}`\n\n{mark} **{}**: {}\n",
        report.rollout.replace('`', "'"),
        report.result.as_str(),
        super::markdown::text(&report.message)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::PromoteResult;

    fn report(result: PromoteResult, message: &str) -> PromoteReport {
        PromoteReport {
            rollout: "bulb-fw-4-2-0".into(),
            stage: Some("wave1".into()),
            current_stage: Some("wave1".into()),
            result,
            message: message.into(),
        }
    }

    #[test]
    fn promote_text() {
        let approved = text(&report(
            PromoteResult::Approved,
            "Approved rollout bulb-fw-4-2-0 leaving stage wave1.",
        ));
        let halted = text(&report(
            PromoteResult::Halted,
            "rollout `bulb-fw-4-2-0` cannot be promoted: it is Halted",
        ));
        insta::assert_snapshot!(format!(
            "--- approved: stdout\n{}--- halted: stderr\n{}",
            approved.stdout, halted.stderr
        ));
        assert!(approved.stderr.is_empty() && halted.stdout.is_empty());
    }

    #[test]
    fn promote_json_names_the_rollout_the_stage_and_the_result() {
        let value =
            serde_json::to_value(json(&report(PromoteResult::AlreadyApproved, "m"))).expect("json");
        assert_eq!(
            value,
            serde_json::json!({
                "version": 1,
                "rollout": "bulb-fw-4-2-0",
                "stage": "wave1",
                "currentStage": "wave1",
                "result": "alreadyApproved",
                "message": "m"
            })
        );
    }

    #[test]
    fn promote_github_is_an_error_annotation_unless_approved() {
        let failed = github(&report(PromoteResult::NotFound, "no\nrollout"));
        assert!(
            failed
                .stdout
                .starts_with("::error title=jobctl promote bulb-fw-4-2-0::no%0Arollout"),
            "{}",
            failed.stdout
        );
        let approved = github(&report(PromoteResult::Approved, "ok"));
        assert!(
            approved.stdout.starts_with("::notice "),
            "{}",
            approved.stdout
        );
    }
}

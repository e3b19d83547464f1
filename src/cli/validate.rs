//! `jobctl validate`: every manifest problem, offline, with file:line:col and a hint.

use super::common::{report_failure, ManifestArgs, OutputFormat, ReportArgs};
use super::{exit, Colors};
use crate::manifest::{self, ManifestSet};
use crate::output::{self, github, markdown};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// Output format [default: github when GITHUB_ACTIONS=true, else text].
    #[arg(short, long, value_enum)]
    pub output: Option<OutputFormat>,
    #[command(flatten)]
    pub report: ReportArgs,
}

pub fn run(args: Args, colors: Colors) -> u8 {
    let format = OutputFormat::resolve(args.output);
    let set = manifest::load(&args.manifests.paths);
    let errors = set.error_count();
    let title = "jobctl validate";
    let markdown = |options: &markdown::MarkdownOptions| {
        markdown::diagnostics_markdown(&set.diagnostics, set.files_read, set.jobs.len(), options)
    };
    match format {
        OutputFormat::Json => println!("{}", report_json(&set)),
        OutputFormat::Text => {
            print!(
                "{}",
                output::diagnostics_text(&set.diagnostics, colors.stdout)
            );
            println!("{}", verdict(&set));
        }
        OutputFormat::Github => {
            let workspace = github::Workspace::from_env();
            print!(
                "{}",
                github::annotations_text(&github::diagnostics_annotations(
                    &set.diagnostics,
                    &workspace
                ))
            );
            let mut log = output::diagnostics_text(&set.diagnostics, false);
            log.push_str(&verdict(&set));
            print!("{}", github::quoted(&log, &github::stop_token()));
        }
        OutputFormat::Markdown => print!(
            "{}",
            markdown(&markdown::MarkdownOptions {
                title: title.to_string(),
                ..Default::default()
            })
        ),
    }
    if let Err(message) = args.report.write(
        || report_json(&set),
        markdown,
        title,
        &comment_marker(&args.manifests),
    ) {
        report_failure(format, &message);
        return exit::ERROR;
    }
    if errors > 0 {
        exit::ERROR
    } else {
        exit::OK
    }
}

/// The `--output json` object of validate.
fn report_json(set: &ManifestSet) -> serde_json::Value {
    serde_json::json!({
        "version": 1,
        "valid": set.error_count() == 0,
        "files": set.files_read,
        "jobs": set.jobs.len(),
        "errors": set.error_count(),
        "warnings": set.warning_count(),
        "diagnostics": output::diagnostics_json(&set.diagnostics),
    })
}

/// "3 valid jobs in 2 files" or "1 error, 0 warnings in 2 files".
fn verdict(set: &ManifestSet) -> String {
    let errors = set.error_count();
    let files = set.files_read;
    let noun = if files == 1 { "file" } else { "files" };
    if errors == 0 {
        format!(
            "{} valid job{} in {files} {noun}{}",
            set.jobs.len(),
            if set.jobs.len() == 1 { "" } else { "s" },
            match set.warning_count() {
                0 => String::new(),
                n => format!(", {n} warning{}", if n == 1 { "" } else { "s" }),
            }
        )
    } else {
        format!(
            "{errors} error{}, {} warning{} in {files} {noun}",
            if errors == 1 { "" } else { "s" },
            set.warning_count(),
            if set.warning_count() == 1 { "" } else { "s" }
        )
    }
}

/// Validate's comment marker names the manifest paths (plain characters only), as validate has
/// no instance.
fn comment_marker(manifests: &ManifestArgs) -> String {
    let paths: Vec<String> = manifests
        .paths
        .iter()
        .map(|p| {
            p.display()
                .to_string()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
                .collect()
        })
        .collect();
    format!("<!-- jobctl:validate paths={} -->", paths.join(","))
}

//! `jobctl plan`: read the account and show what apply would do.

use super::common::{
    load_and_report, report_failure, AwsArgs, ManifestArgs, OutputFormat, ReconcileArgs, ReportArgs,
};
use super::{exit, Colors};
use crate::output::{self, Style};
pub use crate::reconcile::Planned;
use crate::reconcile::{compute, Request};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub reconcile: ReconcileArgs,
    /// Output format [default: github when GITHUB_ACTIONS=true, else text].
    #[arg(short, long, value_enum)]
    pub output: Option<OutputFormat>,
    #[command(flatten)]
    pub report: ReportArgs,
    /// Exit 2 when the plan has changes, 0 when it has none, 1 on error (as Terraform does).
    #[arg(long)]
    pub detailed_exitcode: bool,
}

pub fn print_plan(planned: &Planned, format: OutputFormat, colors: Colors) {
    match format {
        OutputFormat::Json => println!("{}", output::plan_json(&planned.plan, &planned.errors)),
        OutputFormat::Text => print!(
            "{}",
            output::plan_text(
                &planned.plan,
                &planned.errors,
                Style {
                    color: colors.stdout
                }
            )
        ),
        OutputFormat::Github => {
            print!("{}", github_annotations(planned, &[]));
            print!("{}", github_log(planned));
        }
        OutputFormat::Markdown => print!(
            "{}",
            plan_markdown(
                planned,
                &output::markdown::MarkdownOptions {
                    title: title("plan", &planned.instance),
                    ..Default::default()
                }
            )
        ),
    }
}

/// The heading of a Markdown report; instance names are plain characters (validated).
pub fn title(command: &str, instance: &str) -> String {
    format!("jobctl {command} · instance `{instance}`")
}

/// The hidden first line of a pull-request comment: one comment per instance, edited in place.
pub fn comment_marker(instance: &str) -> String {
    format!("<!-- jobctl:plan instance={instance} -->")
}

pub fn plan_markdown(planned: &Planned, options: &output::markdown::MarkdownOptions) -> String {
    output::markdown::plan_markdown(
        &planned.plan,
        &planned.errors,
        &planned.set.diagnostics,
        options,
    )
}

/// Annotations for the manifest problems, the plan and any extra ones (apply failures), within
/// GitHub's per-step cap.
pub fn github_annotations(planned: &Planned, extra: &[output::github::Annotation]) -> String {
    use output::github;
    let workspace = github::Workspace::from_env();
    let mut all = github::diagnostics_annotations(&planned.set.diagnostics, &workspace);
    all.extend(github::plan_annotations(
        &planned.plan,
        &planned.errors,
        &workspace,
    ));
    all.extend_from_slice(extra);
    github::annotations_text(&all)
}

/// The diagnostics and the plan as text for the log, where manifest text cannot run commands.
pub fn github_log(planned: &Planned) -> String {
    let mut text = output::diagnostics_text(&planned.set.diagnostics, false);
    text.push_str(&output::plan_text(
        &planned.plan,
        &planned.errors,
        Style { color: false },
    ));
    output::github::quoted(&text, &output::github::stop_token())
}

/// Loads manifests, connects, and plans; the shared front half of plan and apply.
pub async fn prepare(
    manifests: &ManifestArgs,
    aws: &super::common::AwsArgs,
    reconcile: &ReconcileArgs,
    format: OutputFormat,
    colors: Colors,
) -> Result<(crate::aws::iot::IotJobs, Planned), u8> {
    let instance = reconcile.instance(&manifests.paths).map_err(|message| {
        report_failure(format, &message);
        exit::USAGE
    })?;
    let set = load_and_report(manifests, format, colors);
    let api = aws.connect().await.map_err(|message| {
        if format == OutputFormat::Github {
            let workspace = output::github::Workspace::from_env();
            print!(
                "{}",
                output::github::annotations_text(&output::github::diagnostics_annotations(
                    &set.diagnostics,
                    &workspace
                ))
            );
        }
        report_failure(format, &message);
        exit::ERROR
    })?;
    let request = Request::new(
        set,
        &reconcile.settings(instance, usize::from(aws.parallelism)),
    );
    let planned = compute(&api, request).await;
    Ok((api, planned))
}

pub async fn run(args: Args, colors: Colors) -> u8 {
    let format = OutputFormat::resolve(args.output);
    let (api, planned) =
        match prepare(&args.manifests, &args.aws, &args.reconcile, format, colors).await {
            Ok(pair) => pair,
            Err(code) => return code,
        };
    print_plan(&planned, format, colors);
    if let Err(message) = args.report.write(
        || output::plan_json(&planned.plan, &planned.errors),
        |options| plan_markdown(&planned, options),
        &title("plan", &planned.instance),
        &comment_marker(&planned.instance),
    ) {
        report_failure(format, &message);
        return exit::ERROR;
    }
    tracing::info!(attempts = ?api.stats().by_operation(), "AWS calls");
    if planned.had_errors() {
        exit::ERROR
    } else if args.detailed_exitcode && planned.plan.has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    }
}

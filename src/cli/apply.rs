//! `jobctl apply`: plan, then carry the plan out, all or nothing when anything is blocked.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::common::{
    report_failure, AwsArgs, ManifestArgs, OutputFormat, ReconcileArgs, ReportArgs,
};
use super::plan::{
    comment_marker, github_annotations, github_log, plan_markdown, prepare, print_plan, title,
    Planned,
};
use super::{exit, Colors};
use crate::apply::{self, ApplyOptions, ApplyReport, Outcome};
use crate::output::{self, github, markdown, Style};
use crate::plan::Action;

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
    /// Plan only: behave exactly like `jobctl plan`.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(args: Args, colors: Colors) -> u8 {
    let format = OutputFormat::resolve(args.output);
    let (api, planned) =
        match prepare(&args.manifests, &args.aws, &args.reconcile, format, colors).await {
            Ok(pair) => pair,
            Err(code) => return code,
        };
    let had_errors = planned.had_errors();
    if args.dry_run {
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
        return if had_errors { exit::ERROR } else { exit::OK };
    }
    match format {
        OutputFormat::Text => print_plan(&planned, format, colors),
        // The plan goes to the log before anything changes; annotations come at the end, so
        // that GitHub's per-step cap counts them all together.
        OutputFormat::Github => print!("{}", github_log(&planned)),
        OutputFormat::Json | OutputFormat::Markdown => {}
    }

    // A plan with a blocked change is refused as a whole: applying the rest would leave the
    // account in a state nobody reviewed.
    let blocked: Vec<_> = planned.plan.blocked().collect();
    if !blocked.is_empty() {
        let refused_json = || {
            let mut object = output::plan_json(&planned.plan, &planned.errors);
            object["results"] = serde_json::Value::Array(Vec::new());
            object["refused"] = true.into();
            object
        };
        match format {
            OutputFormat::Json => println!("{}", refused_json()),
            OutputFormat::Markdown => print!(
                "{}",
                apply_markdown(&planned, None, &title_options(&planned))
            ),
            OutputFormat::Github => {
                let refusal = github::Annotation::new(
                    github::Level::Error,
                    format!(
                        "apply refused: {} change(s) are blocked; nothing was changed",
                        blocked.len()
                    ),
                )
                .with_title("jobctl: apply refused");
                print!("{}", github_annotations(&planned, &[refusal]));
            }
            OutputFormat::Text => {}
        }
        let mut refusal = format!(
            "jobctl: apply refused: {} change(s) are blocked; nothing was changed:\n",
            blocked.len()
        );
        for change in blocked {
            refusal.push_str(&format!(
                "  {}: {}\n",
                change.job_id,
                change.blocked.as_deref().unwrap_or_default()
            ));
        }
        match format {
            OutputFormat::Text => eprint!("{refusal}"),
            // Reasons quote AWS tags (another instance's name): fenced like all untrusted text.
            OutputFormat::Github => print!("{}", github::quoted(&refusal, &github::stop_token())),
            OutputFormat::Json | OutputFormat::Markdown => {}
        }
        if let Err(message) = args.report.write(
            refused_json,
            |options| apply_markdown(&planned, None, options),
            &title("apply", &planned.instance),
            &comment_marker(&planned.instance),
        ) {
            report_failure(format, &message);
        }
        return exit::ERROR;
    }

    let total = planned
        .plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Unchanged || !c.steps.is_empty())
        .count();
    let done = AtomicUsize::new(0);
    let show_progress =
        format == OutputFormat::Text && std::io::stderr().is_terminal() && total > 1;
    let progress = |result: &apply::JobResult| {
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if show_progress {
            let what = match &result.outcome {
                Outcome::Done => result.action.as_str(),
                Outcome::AlreadyExists => "already exists",
                Outcome::Skipped { .. } => "skipped",
                Outcome::Failed { .. } => "failed",
            };
            eprintln!("[{n}/{total}] {} {what}", result.job_id);
        }
    };
    let options = ApplyOptions {
        parallelism: usize::from(args.aws.parallelism),
        instance: planned.instance.clone(),
        ..ApplyOptions::default()
    };
    let report = apply::apply(&api, &planned.plan, &options, &progress).await;
    tracing::info!(attempts = ?api.stats().by_operation(), "AWS calls");

    let applied_json = || {
        let mut object = output::plan_json(&planned.plan, &planned.errors);
        object["results"] = serde_json::to_value(&report.results).unwrap_or_default();
        object["calls"] = serde_json::to_value(api.stats().by_operation()).unwrap_or_default();
        object
    };
    match format {
        OutputFormat::Json => println!("{}", applied_json()),
        OutputFormat::Markdown => print!(
            "{}",
            apply_markdown(&planned, Some(&report), &title_options(&planned))
        ),
        OutputFormat::Github => {
            let failures =
                github::apply_annotations(&report, &planned.plan, &github::Workspace::from_env());
            print!("{}", github_annotations(&planned, &failures));
            print!(
                "{}",
                github::quoted(
                    &output::apply_text(&report, Style { color: false }),
                    &github::stop_token()
                )
            );
        }
        OutputFormat::Text => {
            println!();
            print!(
                "{}",
                output::apply_text(
                    &report,
                    Style {
                        color: colors.stdout
                    }
                )
            );
        }
    }
    if let Err(message) = args.report.write(
        applied_json,
        |options| apply_markdown(&planned, Some(&report), options),
        &title("apply", &planned.instance),
        &comment_marker(&planned.instance),
    ) {
        report_failure(format, &message);
        return exit::ERROR;
    }
    if report.failures().next().is_some() || had_errors {
        exit::ERROR
    } else {
        exit::OK
    }
}

fn title_options(planned: &Planned) -> markdown::MarkdownOptions {
    markdown::MarkdownOptions {
        title: title("apply", &planned.instance),
        ..Default::default()
    }
}

fn apply_markdown(
    planned: &Planned,
    report: Option<&ApplyReport>,
    options: &markdown::MarkdownOptions,
) -> String {
    markdown::apply_markdown(
        &planned.plan,
        &planned.errors,
        &planned.set.diagnostics,
        report,
        options,
    )
}

//! `jobctl apply`: plan, then carry the plan out, all or nothing: nothing is changed when the
//! plan has an error or a blocked change, or when the person at the terminal does not confirm a
//! destructive plan.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::common::{
    prepare, within, AwsArgs, Deadline, DeadlineArgs, ManifestArgs, Prepared, ReconcileArgs,
    ReportArgs, WaitArgs,
};
use super::exit;
use super::wait::Rollouts;
use crate::aws::IotJobs;
use crate::engine::advance;
use crate::engine::apply::JobResult;
use crate::engine::plan::{Action, Plan};
use crate::engine::reconcile::{self, Applied, Refusal};
use crate::engine::status::{self, Options, Subject, Tracker};
use crate::engine::Settings;
use crate::output::style::Colors;
use crate::output::{Format, Output};
use crate::report::{ApplyReport, PlanReport, StatusReport, WaitOutcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A manifest file or a directory of them (read recursively, *.yaml and *.yml). Repeatable.
    #[arg(
        short = 'f',
        long = "filename",
        value_name = "PATH",
        required_unless_present = "plan_file",
        conflicts_with = "plan_file"
    )]
    pub paths: Vec<std::path::PathBuf>,
    /// A plan saved by `jobctl plan --out FILE`: carry out exactly that plan, or change nothing
    /// and say what moved when the account or the manifests changed since. Its options come from
    /// the file (no -f, no flags that shape a plan).
    #[arg(value_name = "PLAN_FILE")]
    pub plan_file: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub deadline: DeadlineArgs,
    #[command(flatten)]
    pub reconcile: ReconcileArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Output format [default: github when GITHUB_ACTIONS=true, else text].
    #[arg(short, long, value_enum)]
    pub output: Option<Format>,
    #[command(flatten)]
    pub report: ReportArgs,
    /// Plan only: behave exactly like `jobctl plan`.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask before replacing, cancelling or deleting jobs. (jobctl asks only when stdin
    /// and stderr are terminals; elsewhere --allow-replace and --prune are the guard.)
    #[arg(short = 'y', long)]
    pub yes: bool,
}

pub async fn run(mut args: Args, colors: Colors) -> u8 {
    args.deadline.follows = args.wait.follow && !args.dry_run;
    let started = std::time::Instant::now();
    let out = Output::new(Format::resolve(args.output), colors);
    if let Some(file) = args.plan_file.clone() {
        return super::saved::apply(&args, &file, &out, started).await;
    }
    let manifests = ManifestArgs {
        paths: args.paths.clone(),
    };
    let prepared = match prepare(
        &manifests,
        &args.aws,
        &args.reconcile,
        &args.deadline,
        false,
        &out,
    )
    .await
    {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    carry_out(&args, prepared, &out, started, true).await
}

/// The back half of apply, once the account is read and planned: refuse, ask (when `ask` and a
/// person can answer), apply, advance the rollouts, wait, report.
pub(super) async fn carry_out(
    args: &Args,
    prepared: Prepared,
    out: &Output,
    started: std::time::Instant,
    ask: bool,
) -> u8 {
    let planned = prepared.report;
    if args.dry_run {
        out.plan(&planned);
        let written = out.write_files(&args.report.files(), &planned);
        return if planned.has_errors() || !written {
            exit::ERROR
        } else {
            exit::OK
        };
    }
    out.apply_started(&planned);
    let api = &prepared.api;
    let settings = &prepared.config.settings;
    let applied = if planned.has_errors() {
        Applied::Refused(Refusal::Errors)
    } else if planned.plan.blocked().next().is_some() {
        Applied::Refused(Refusal::Blocked)
    } else if ask
        && must_confirm(
            &planned.plan,
            args.yes,
            std::io::stdin().is_terminal(),
            std::io::stderr().is_terminal(),
        )
        && !confirmed(&planned).await
    {
        Applied::Refused(Refusal::Declined)
    } else {
        let total = planned.plan.changes_to_apply().count();
        let done = AtomicUsize::new(0);
        let progress = |result: &JobResult| {
            out.progress(done.fetch_add(1, Ordering::Relaxed) + 1, total, result)
        };
        let work = reconcile::apply(api, &planned.plan, settings, &progress);
        match within(prepared.deadline, api, "applying the plan", work).await {
            Ok(applied) => applied,
            Err(mut failure) => {
                failure.message.push_str(
                    "; the changes made before it stay, and `jobctl plan` shows what is left",
                );
                out.failure(&failure);
                return exit::TIMEOUT;
            }
        }
    };
    // Rollouts move as far as they can now; the next run (or the daemon) carries on.
    // With `--wait`, they keep moving while it waits, until each is Complete, Halted or waits
    // for approval.
    let advanced = if matches!(applied, Applied::Results(_)) {
        let work = advance::advance(api, &planned.plan);
        match within(prepared.deadline, api, "advancing the rollouts", work).await {
            Ok(advance) => advance,
            Err(failure) => {
                out.failure(&failure);
                return exit::TIMEOUT;
            }
        }
    } else {
        advance::Advance::default()
    };
    let mut report = ApplyReport {
        plan: planned,
        applied,
        calls: Default::default(),
        wait: None,
        rollouts: advanced.rollouts.clone(),
    };
    if args.wait.follow {
        let (status, rollouts) = wait(
            api,
            settings,
            prepared.deadline,
            &report,
            &args.wait,
            started,
            advanced,
        )
        .await;
        report.wait = status;
        if let Some(rollouts) = rollouts {
            report.rollouts = rollouts.rollouts;
        }
    }
    report.calls = api.stats().by_operation();
    tracing::info!(attempts = ?report.calls, "AWS calls");
    out.apply(&report);
    let written = out.write_files(&args.report.files(), &report);
    exit_code(&report, written)
}

/// `--wait`: follows the jobs the apply created or changed until each has ended, and advances
/// the staged rollouts until each is Complete, Halted or waits for approval, or until the run's
/// deadline passes or Ctrl-C. Nothing is waited for when the apply was refused or failed (the
/// run exits 1 anyway). Returns the followed jobs and where the rollouts stand at the end.
async fn wait(
    api: &IotJobs,
    settings: &Settings,
    deadline: Option<Deadline>,
    report: &ApplyReport,
    args: &WaitArgs,
    started: std::time::Instant,
    advanced: advance::Advance,
) -> (Option<StatusReport>, Option<advance::Advance>) {
    if report.has_errors() {
        eprintln!("jobctl: not waiting: the apply did not succeed");
        return (None, None);
    }
    let mut rollouts = Rollouts {
        plan: &report.plan.plan,
        last: advanced,
    };
    let mut subjects = status::applied(&report.plan.plan, report.results());
    // A rollout whose stage runs is followed too, whether or not this apply changed it.
    for id in rollouts.moving_ids() {
        if !subjects.iter().any(|s| s.job_id == id) {
            let change = report.plan.plan.changes.iter().find(|c| c.job_id == id);
            subjects
                .push(change.map_or_else(|| Subject::applied(&id, None, None), Subject::planned));
        }
    }
    let options = Options {
        max_failure_rate: settings.max_failure_rate,
        finished_within: std::time::Duration::ZERO,
        parallelism: settings.parallelism,
    };
    let mut tracker = Tracker::follow(options, subjects);
    let outcome = if tracker.rows().is_empty() && !rollouts.moving() {
        eprintln!("Nothing to wait for: the apply created or changed no job.");
        WaitOutcome::Finished
    } else {
        let following = Some(&mut rollouts);
        super::wait::follow(
            api,
            &mut tracker,
            args.interval,
            deadline,
            started,
            following,
        )
        .await
    };
    let (jobs, errors) = tracker.into_rows();
    let status = StatusReport {
        instance: Some(settings.instance.clone()),
        jobs,
        errors,
        diagnostics: Vec::new(),
        finished_within: std::time::Duration::ZERO,
        wait: Some(outcome),
        calls: Default::default(),
    };
    (Some(status), Some(rollouts.last))
}

/// 1 when the apply failed, a report file could not be written, a rollout halted, or a followed
/// job is Degraded,
/// Aborted or Missing; 3 when `--timeout` passed while waiting; 130 when Ctrl-C stopped the
/// waiting; else 0.
fn exit_code(report: &ApplyReport, written: bool) -> u8 {
    let halted = report
        .rollouts
        .iter()
        .any(|r| r.phase == crate::engine::rollout::Phase::Halted || r.error.is_some());
    if report.has_errors() || !written || halted {
        return exit::ERROR;
    }
    match &report.wait {
        Some(wait) => super::status::exit_code(wait, false),
        None => exit::OK,
    }
}

/// Whether apply must ask before it starts: the plan replaces, cancels or deletes a job, no
/// `--yes` was given, and a person can answer (stdin and stderr are terminals). Without a
/// terminal nothing is asked: `--allow-replace` and `--prune` are the guard there.
pub fn must_confirm(plan: &Plan, yes: bool, stdin_terminal: bool, stderr_terminal: bool) -> bool {
    let destructive = plan.changes.iter().any(|c| {
        c.blocked.is_none() && matches!(c.action, Action::Replace | Action::Cancel | Action::Delete)
    });
    destructive && !yes && stdin_terminal && stderr_terminal
}

/// Asks on the terminal, as Terraform does: only `yes` goes ahead.
async fn confirmed(report: &PlanReport) -> bool {
    let summary = report.plan.summary();
    let scope = &report.scope;
    let question = format!(
        "\njobctl will replace {}, cancel {} and delete {} job(s) in account {}, region {}, instance `{}`.\nOnly `yes` goes ahead. Apply these changes? ",
        summary.replace,
        summary.cancel,
        summary.delete,
        scope.account.as_deref().unwrap_or("(unknown)"),
        scope.region,
        scope.instance
    );
    let answer = tokio::task::spawn_blocking(move || {
        use std::io::{BufRead, Write};
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(question.as_bytes());
        let _ = stderr.flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    })
    .await;
    matches!(answer, Ok(Ok(line)) if line.trim() == "yes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::plan::Change;

    fn plan(action: Action, blocked: bool) -> Plan {
        let mut change = Change::new("job", action);
        change.blocked = blocked.then(|| "blocked".to_string());
        Plan {
            changes: vec![change],
            ..Plan::default()
        }
    }

    #[test]
    fn apply_asks_only_before_destruction_on_a_terminal() {
        for action in [Action::Replace, Action::Cancel, Action::Delete] {
            let destructive = plan(action, false);
            assert!(must_confirm(&destructive, false, true, true), "{action:?}");
            assert!(!must_confirm(&destructive, true, true, true), "--yes skips");
            assert!(
                !must_confirm(&destructive, false, false, true),
                "stdin not a terminal"
            );
            assert!(
                !must_confirm(&destructive, false, true, false),
                "stderr not a terminal"
            );
            assert!(
                !must_confirm(&plan(action, true), false, true, true),
                "a blocked change is refused anyway"
            );
        }
        for action in [Action::Create, Action::Update, Action::Unchanged] {
            assert!(
                !must_confirm(&plan(action, false), false, true, true),
                "{action:?}"
            );
        }
    }
}

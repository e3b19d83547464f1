//! The command line: argument parsing, global setup (colour, logging, signals) and the exit-code
//! contract. Each subcommand lives in its own file with an `Args` and a `run`.

// One file per subcommand (each an `Args` and a `run`); none imports another.
mod apply;
mod completions;
mod export;
mod plan;
mod promote;
mod schema;
mod status;
mod validate;
mod version;
mod watch;

// What the subcommands share: flags, their resolution, the pass around the engine, saved plans,
// following jobs, the spinner.
mod args;
mod config;
mod run;
mod saved;
mod spinner;
mod wait;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::output::style::Colors;
use crate::shutdown::{Shutdown, Signals};

/// Exit codes, shared by every subcommand (see README "Exit codes").
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    /// `plan --detailed-exitcode`: the plan has changes.
    pub const CHANGES: u8 = 2;
    /// `--timeout` passed before the waiting finished.
    pub const TIMEOUT: u8 = 3;
    /// `status --detailed-exitcode`: some job is still Progressing or Scheduled, none unhealthy.
    pub const PROGRESSING: u8 = 4;
    /// Bad flags or arguments (EX_USAGE); never 2, which means "changes" to CI scripts.
    pub const USAGE: u8 = 64;
    pub const SIGINT: u8 = crate::shutdown::SIGINT_EXIT;
    pub const SIGTERM: u8 = crate::shutdown::SIGTERM_EXIT;

    use crate::engine::rollout::Phase;
    use crate::report::{ApplyReport, StatusReport, WaitOutcome};
    use crate::shutdown::Shutdown;

    /// `status` and `apply --wait`: 1 for errors, unhealthy jobs and Halted rollouts, 3 when
    /// the wait timed out, 130 (Ctrl-C) or 143 (SIGTERM) when a signal stopped it, 4 (with
    /// `--detailed-exitcode`) while some job is still Progressing or Scheduled, else 0.
    pub fn of_status(report: &StatusReport, detailed: bool, shutdown: &Shutdown) -> u8 {
        if report.has_errors()
            || report.unhealthy().next().is_some()
            || report.halted_rollouts().next().is_some()
        {
            ERROR
        } else if report.wait == Some(WaitOutcome::TimedOut) {
            TIMEOUT
        } else if report.wait == Some(WaitOutcome::Interrupted) {
            shutdown.exit_code().unwrap_or(SIGINT)
        } else if detailed && report.in_progress().next().is_some() {
            PROGRESSING
        } else {
            OK
        }
    }

    /// `apply`: the stop's code when the run was stopped (3, 130, 143); 1 when the apply failed
    /// or was refused, a report file could not be written, or a rollout halted; else what
    /// `--wait` saw.
    pub fn of_apply(report: &ApplyReport, written: bool, shutdown: &Shutdown) -> u8 {
        if let Some(stopped) = &report.stopped {
            return stopped.exit_code();
        }
        let halted = report
            .rollouts
            .iter()
            .any(|r| r.phase == Phase::Halted || r.error.is_some());
        if report.has_errors() || !written || halted {
            return ERROR;
        }
        match &report.wait {
            Some(wait) => of_status(wait, false, shutdown),
            None => OK,
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "jobctl",
    version,
    long_version = version::LONG_VERSION,
    about = "Declarative GitOps reconciler for AWS IoT Jobs",
    long_about = "jobctl validates YAML job manifests, diffs them against the AWS IoT jobs in an account, and creates what is missing.",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// When to colour output. `auto` follows NO_COLOR, CLICOLOR, CLICOLOR_FORCE and TERM, and
    /// colours only terminals.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// More logging on stderr: -v info, -vv debug, -vvv trace.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, env = "JOBCTL_LOG_FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl From<ColorChoice> for anstream::ColorChoice {
    fn from(choice: ColorChoice) -> Self {
        match choice {
            ColorChoice::Auto => Self::Auto,
            ColorChoice::Always => Self::Always,
            ColorChoice::Never => Self::Never,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests offline: schema, semantics, references. Exit 1 on any error.
    Validate(validate::Args),
    /// Show what apply would change in the account.
    Plan(plan::Args),
    /// Make the account match the manifests: create, update in place, and, when the flags say
    /// so, replace (--allow-replace), cancel (--prune) and delete (--prune-delete) jobs.
    Apply(apply::Args),
    /// Show each job's status, health and progress; --watch follows them until they end.
    Status(status::Args),
    /// Approve a rollout leaving a stage whose gate asks for approval (`approval: true`).
    Promote(promote::Args),
    /// Print the JSON Schema of a Job manifest (or, with --kind Rollout, of a Rollout).
    Schema(schema::Args),
    /// Print shell completions: `jobctl completions bash > /etc/bash_completion.d/jobctl`.
    Completions(completions::Args),
    /// Print the man page (roff), or write one per subcommand with --dir.
    Man(completions::ManArgs),
    /// Reconcile continuously: on manifest changes, on a timer, with /healthz, /readyz, /metrics.
    Watch(watch::Args),
    /// Write manifests for jobs that already exist, to adopt them with `plan --adopt`.
    Export(export::Args),
    /// Print the version, git commit, build date and target (`-o json` for a program).
    Version(version::Args),
}

/// The entry point behind `main`: parse, set up, run, and map the outcome to an exit code.
pub fn main() -> ExitCode {
    // The signal handlers come first of all: a SIGHUP right after the daemon starts (a
    // `systemctl reload`) must find its handler, not kill the process. They need the runtime,
    // whose kind depends on the command, so the command is told from the raw arguments here
    // (clap parses them below, inside the runtime). A job id spelled `watch` elsewhere on the
    // line only gives that command a single-threaded runtime.
    let daemon = std::env::args_os().skip(1).any(|arg| arg == "watch");
    // The daemon is I/O-bound and long-lived: one runtime thread keeps its footprint small
    // (each extra thread also gets its own malloc arena). One-shot commands use every core.
    let mut builder = if daemon {
        crate::watch::limit_malloc_arenas();
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("jobctl: failed to start the async runtime: {err}");
            return ExitCode::from(exit::ERROR);
        }
    };
    let code = runtime.block_on(async move {
        let mut signals = match Signals::install(daemon) {
            Ok(signals) => signals,
            Err(err) => {
                eprintln!("jobctl: cannot install signal handlers: {err}");
                return exit::ERROR;
            }
        };
        let cli = match Cli::try_parse() {
            Ok(cli) => cli,
            Err(err) => {
                let code = match err.kind() {
                    clap::error::ErrorKind::DisplayHelp
                    | clap::error::ErrorKind::DisplayVersion
                    | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => exit::OK,
                    _ => exit::USAGE,
                };
                let _ = err.print();
                return code;
            }
        };
        let colors = Colors::resolve(cli.global.color.into());
        init_logging(cli.global.verbose, cli.global.log_format, colors.stderr);
        let shutdown = signals.shutdown.clone();
        let reload = signals.take_reload();
        // The first signal is the command's (it finishes what is under way and reports); the
        // second ends jobctl at once.
        tokio::select! {
            code = dispatch(cli.command, colors, shutdown, reload) => code,
            code = signals.second() => {
                eprintln!("jobctl: second signal, exiting now");
                code
            }
        }
    });
    // Calls still in flight after a signal are abandoned; a rerun converges because every
    // action is idempotent against the account's state.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    ExitCode::from(code)
}

async fn dispatch(
    command: Command,
    colors: Colors,
    shutdown: Shutdown,
    reload: tokio::sync::mpsc::Receiver<()>,
) -> u8 {
    match command {
        Command::Validate(args) => validate::run(args, colors),
        Command::Plan(args) => plan::run(args, colors, shutdown).await,
        Command::Apply(args) => apply::run(args, colors, shutdown).await,
        Command::Status(args) => status::run(args, colors, shutdown).await,
        Command::Promote(args) => until_signal(&shutdown, promote::run(args, colors)).await,
        Command::Schema(args) => schema::run(&args),
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => completions::run_man(&args),
        Command::Watch(args) => watch::run(args, shutdown, reload).await,
        Command::Export(args) => until_signal(&shutdown, export::run(args, colors)).await,
        Command::Version(args) => version::run(&args),
    }
}

/// Runs a command that has nothing to finish or report when stopped: the first signal ends it.
async fn until_signal(shutdown: &Shutdown, command: impl std::future::Future<Output = u8>) -> u8 {
    tokio::select! {
        code = command => code,
        () = shutdown.wait() => {
            eprintln!("jobctl: {}", shutdown.cause());
            shutdown.exit_code().unwrap_or(exit::SIGINT)
        }
    }
}

/// Logging goes to stderr. `JOBCTL_LOG` (or `RUST_LOG`) takes tracing filter directives such
/// as `jobctl=debug`; otherwise `-v` sets the level. The AWS SDK's own logs stay below `-v`
/// (a missing profile or IMDS is jobctl's to explain, in one line), and request signing is
/// never logged, whatever the directives say: at debug level those crates print canonical
/// requests and headers.
fn init_logging(verbose: u8, format: LogFormat, color: bool) {
    use tracing_subscriber::EnvFilter;
    let directives = log_directives(
        verbose,
        std::env::var("JOBCTL_LOG")
            .ok()
            .or_else(|| std::env::var("RUST_LOG").ok()),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(directives))
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.with_ansi(color).try_init(),
    };
}

/// Targets whose logs can carry signed headers or canonical requests: capped whatever the
/// user's directives say.
const GUARDED: &[&str] = &[
    "aws_sigv4",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "hyper",
    "hyper_util",
];

fn log_directives(verbose: u8, user: Option<String>) -> String {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    // The SDK's configuration crates warn about a missing profile or IMDS with debug dumps:
    // jobctl says the same in one line, so they are heard only from -v on.
    let sdk = if verbose == 0 { "error" } else { "warn" };
    let base = match user.filter(|u| !u.trim().is_empty()) {
        Some(user) => user
            .split(',')
            .filter(|d| !GUARDED.iter().any(|g| d.trim_start().starts_with(g)))
            .collect::<Vec<_>>()
            .join(","),
        None => format!("warn,jobctl={level},aws_config={sdk},aws_runtime={sdk}"),
    };
    format!(
        "{base},aws_sigv4=off,aws_smithy_runtime=warn,aws_smithy_runtime_api=warn,aws_smithy_http_client=warn,hyper=warn,hyper_util=warn"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn log_directives_never_let_signing_through() {
        let directives = log_directives(3, Some("trace,aws_sigv4=trace".into()));
        assert!(!directives.contains("aws_sigv4=trace"), "{directives}");
        assert!(directives.ends_with("hyper_util=warn"), "{directives}");
        assert!(directives.contains("aws_sigv4=off"), "{directives}");
        let quiet = log_directives(0, None);
        assert!(quiet.contains("aws_config=error"), "{quiet}");
        assert!(log_directives(1, None).contains("aws_config=warn"));
    }

    #[test]
    fn durations_read_like_go_and_kubernetes() {
        use super::args::parse_duration;
        use std::time::Duration;
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("8d").is_err());
    }

    #[test]
    fn finished_within_takes_windows_longer_than_a_week() {
        use super::args::parse_window;
        use std::time::Duration;
        assert_eq!(parse_window("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_window("24h"), Ok(Duration::from_secs(86_400)));
        assert!(parse_window("11y").is_err());
        assert!(parse_window("soon").is_err());
        let cli = Cli::try_parse_from(["jobctl", "status", "--finished-within", "30d", "fw"]);
        assert!(cli.is_ok(), "{cli:?}");
    }

    #[test]
    fn unknown_flags_are_usage_errors_not_changes() {
        let err = Cli::try_parse_from(["jobctl", "plan", "--nope"]).expect_err("unknown flag");
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
    }
}

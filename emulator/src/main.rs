//! `jobctl-emulator`: a local AWS IoT Jobs endpoint (rest-json) for end-to-end tests,
//! benchmarks and CI. This file owns the command line: flags are parsed and checked into
//! a `Config`, the state file is loaded, and the server is started. The first line on
//! stdout is always `listening on http://ADDR`, so callers can use `--listen 127.0.0.1:0`.

mod app;
mod config;
mod control;
mod cron;
mod engine;
mod error;
mod fleet;
mod limits;
mod managed;
mod model;
mod op;
mod ops;
mod persist;
mod request;
mod rng;
mod router;
mod server;
mod stats;
mod timers;
mod validate;
mod yaml;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use tokio::net::TcpListener;
use tracing::{error, info};

use crate::app::App;
use crate::config::Config;
use crate::error::ErrorCode;
use crate::fleet::Fleet;
use crate::limits::FailRule;
use crate::model::World;
use crate::op::Op;
use crate::persist::{PersistError, Persister};

/// A faithful local AWS IoT Jobs endpoint (AWS rest-json protocol).
#[derive(Debug, Parser)]
#[command(name = "jobctl-emulator", version, about)]
struct Cli {
    /// Address to listen on; port 0 picks a free port (see the first stdout line).
    #[arg(long, default_value = "127.0.0.1:5055")]
    listen: SocketAddr,

    /// Region for requests whose SigV4 credential scope names none.
    #[arg(long, default_value = "us-east-1")]
    region: String,

    /// Account id used in every ARN.
    #[arg(long, default_value = "123456789012")]
    account_id: String,

    /// Enforce AWS's default rate of 10 TPS on every job API (ThrottlingException past it).
    #[arg(long)]
    aws_limits: bool,

    /// Rate limit for one operation, e.g. `DescribeJob=5`; repeatable; applies even
    /// without --aws-limits.
    #[arg(long = "tps", value_name = "OP=N", value_parser = parse_tps)]
    tps: Vec<(Op, f64)>,

    /// Answer LimitExceededException to CreateJob once N jobs are IN_PROGRESS or SCHEDULED.
    #[arg(long, value_name = "N")]
    max_active_jobs: Option<usize>,

    /// Fraction of AWS API requests (0..=1) answered with ServiceUnavailableException (503)
    /// or InternalFailureException (500).
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    fault_rate: f64,

    /// Seed for --fault-rate; the same seed and request order give the same faults.
    #[arg(long, default_value_t = 0)]
    seed: u64,

    /// Delay added to every AWS API response, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency: u64,

    /// Answer a modeled error on an operation: `CreateJob=ThrottlingException:3` fails the
    /// next 3 calls, without `:N` every call; repeatable.
    #[arg(long = "fail", value_name = "OP=ERROR[:N]", value_parser = parse_fail)]
    fail: Vec<FailRule>,

    /// How long a deleted job stays DELETION_IN_PROGRESS, in milliseconds (emulated clock).
    #[arg(long, value_name = "N", default_value_t = 2000)]
    deletion_delay_ms: u64,

    /// How far the Resource Groups Tagging API's index (GetResources) trails the tags,
    /// e.g. `5s` or `500ms` of emulated time (at most 1h).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_lag)]
    tagging_lag: u64,

    /// Deny an IAM action, e.g. `tag:GetResources` or `iot:ListJobs`: its calls answer
    /// AccessDeniedException; repeatable. `PUT /_emulator/deny` changes the list at run time.
    #[arg(long = "deny", value_name = "ACTION", value_parser = parse_action)]
    deny: Vec<Op>,

    /// Load state from PATH at start (if it exists) and save it there after each change.
    #[arg(long, value_name = "PATH")]
    state_file: Option<PathBuf>,

    /// Simulate a fleet: thing groups, things and how their devices answer executions
    /// (YAML; see README). `PUT /_emulator/fleet` replaces it at run time.
    #[arg(long, value_name = "FILE", value_parser = parse_fleet)]
    fleet: Option<Arc<Fleet>>,
}

fn parse_fleet(path: &str) -> Result<Arc<Fleet>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    Fleet::from_yaml(&text)
        .map(Arc::new)
        .map_err(|e| format!("{path}: {e}"))
}

fn parse_op(s: &str) -> Result<Op, String> {
    Op::parse(s).ok_or_else(|| {
        let known: Vec<&str> = Op::ALL.iter().map(|o| o.as_str()).collect();
        format!("unknown operation `{s}` (known: {})", known.join(", "))
    })
}

fn parse_tps(s: &str) -> Result<(Op, f64), String> {
    let (op, n) = s.split_once('=').ok_or("expected OP=N")?;
    let rate: f64 = n.parse().map_err(|_| format!("`{n}` is not a number"))?;
    if !(rate.is_finite() && rate > 0.0) {
        return Err("the rate must be a positive number".into());
    }
    Ok((parse_op(op)?, rate))
}

fn parse_fail(s: &str) -> Result<FailRule, String> {
    let (op, rest) = s.split_once('=').ok_or("expected OP=ERROR[:N]")?;
    let (code, count) = match rest.split_once(':') {
        Some((c, n)) => (
            c,
            Some(
                n.parse::<u64>()
                    .map_err(|_| format!("`{n}` is not a count"))?,
            ),
        ),
        None => (rest, None),
    };
    Ok(FailRule {
        op: parse_op(op)?,
        code: code.parse::<ErrorCode>()?,
        remaining: count,
    })
}

/// The longest `--tagging-lag`: tag changes wait in a log until they are this old.
const MAX_TAGGING_LAG_MS: u64 = (fleet::MAX_TAGGING_LAG_SECONDS * 1000.0) as u64;

/// `5s`, `500ms`, `2m` or a bare number of seconds, in milliseconds.
fn parse_lag(s: &str) -> Result<u64, String> {
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration"))?;
    let ms = match unit {
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => return Err(format!("`{s}`: the unit must be ms, s or m")),
    };
    if !(0.0..=MAX_TAGGING_LAG_MS as f64).contains(&ms) {
        return Err("the lag must be between 0 and 1h".into());
    }
    Ok(ms as u64)
}

fn parse_action(s: &str) -> Result<Op, String> {
    app::op_of_action(s).ok_or_else(|| {
        format!("unknown action `{s}` (e.g. tag:GetResources, iot:ListJobs, iotjobsdata:UpdateJobExecution)")
    })
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let r: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&r) {
        Ok(r)
    } else {
        Err("the fault rate must be between 0 and 1".into())
    }
}

#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error(transparent)]
    State(#[from] PersistError),
    #[error("failed to listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to write to stdout")]
    Stdout(#[source] std::io::Error),
    #[error("the fleet does not fit the saved state: {0}")]
    Fleet(String),
}

async fn run(cli: Cli) -> Result<(), StartError> {
    let persist = cli.state_file.clone().map(Persister::new);
    let mut world = match &persist {
        Some(p) => match p.load()? {
            Some(w) => {
                info!(path = %p.path().display(), "loaded state");
                w
            }
            None => World::new(),
        },
        None => World::new(),
    };
    let cfg = Config {
        region: cli.region,
        account_id: cli.account_id,
        aws_limits: cli.aws_limits,
        tps: cli.tps,
        max_active_jobs: cli.max_active_jobs,
        fault_rate: cli.fault_rate,
        seed: cli.seed,
        latency_ms: cli.latency,
        fail: cli.fail,
        deletion_delay_ms: cli.deletion_delay_ms,
        tagging_lag_ms: cli.tagging_lag,
        deny: cli.deny,
        fleet: cli.fleet,
    };
    if let Some(fleet) = cfg.fleet.clone() {
        let created = control::install_fleet(&mut world, fleet, &cfg.account_id, &cfg.region)
            .map_err(StartError::Fleet)?;
        info!(things = created, "fleet loaded");
    }
    let listener = TcpListener::bind(cli.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: cli.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: cli.listen,
        source,
    })?;
    // Callers parse this exact line to find the port; it must come first and be flushed.
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}").map_err(StartError::Stdout)?;
        out.flush().map_err(StartError::Stdout)?;
    }
    info!(%addr, region = %cfg.region, account = %cfg.account_id, "jobctl-emulator ready");
    let app = Arc::new(App::new(cfg, world, persist));
    tokio::spawn(app::drive(Arc::clone(&app)));
    tokio::select! {
        () = server::serve(listener, app) => {}
        _ = shutdown_signal() => info!("shutting down"),
    }
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr so stdout carries only the `listening on` line.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("JOBCTL_EMULATOR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("jobctl-emulator: failed to start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            let mut msg = format!("jobctl-emulator: {e}");
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg.push_str(&format!(": {s}"));
                src = s.source();
            }
            eprintln!("{msg}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_parsers() {
        assert_eq!(
            parse_tps("DescribeJob=5").ok(),
            Some((Op::DescribeJob, 5.0))
        );
        assert!(parse_tps("Nope=5").is_err());
        assert!(parse_tps("DescribeJob=0").is_err());
        let r = parse_fail("CreateJob=ThrottlingException:3").ok();
        assert_eq!(
            r,
            Some(FailRule {
                op: Op::CreateJob,
                code: ErrorCode::Throttling,
                remaining: Some(3)
            })
        );
        assert_eq!(
            parse_fail("DeleteJob=LimitExceeded")
                .ok()
                .map(|r| r.remaining),
            Some(None)
        );
        assert!(parse_fail("CreateJob=Bogus").is_err());
        assert!(parse_rate("1.5").is_err());
        assert_eq!(parse_lag("5s"), Ok(5000));
        assert_eq!(parse_lag("250ms"), Ok(250));
        assert_eq!(parse_lag("2"), Ok(2000));
        assert!(parse_lag("2h").is_err());
        assert!(parse_lag("-1s").is_err());
        assert_eq!(
            parse_action("tag:GetResources"),
            Ok(Op::TaggingGetResources)
        );
        assert_eq!(parse_action("iot:ListJobs"), Ok(Op::ListJobs));
        assert!(parse_action("tag:Nope").is_err());
    }
}

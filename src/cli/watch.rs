//! `jobctl watch`: flags to a daemon config, and the exit-code contract of the daemon (0 after a
//! graceful stop; 1 for fatal start-up errors). Signals reach it as the one shutdown token and
//! the reload channel (`crate::shutdown`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::args::{parse_duration, AwsArgs, ManifestArgs, ReconcileArgs};
use super::{config, exit};
use crate::aws::IotJobs;
use crate::shutdown::Shutdown;
use crate::watch::{self, Config};

#[derive(Debug, clap::Args)]
#[command(mut_arg("paths", |a| a.required(true)))]
pub struct Args {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub reconcile: ReconcileArgs,
    /// How long file events must be quiet before reconciling (e.g. 500ms, 2s).
    #[arg(long, value_name = "DURATION", env = "JOBCTL_DEBOUNCE", default_value = "500ms", value_parser = parse_duration)]
    pub debounce: Duration,
    /// Reconcile this often even without file events, to catch changes made on the AWS side
    /// (e.g. 5m, 1h30m).
    #[arg(long, value_name = "DURATION", env = "JOBCTL_RESYNC_INTERVAL", default_value = "5m", value_parser = parse_duration)]
    pub resync_interval: Duration,
    /// On SIGTERM/SIGINT, how long calls in flight may take to finish.
    #[arg(long, value_name = "DURATION", env = "JOBCTL_SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
    /// Serve /healthz, /readyz and /metrics here (e.g. 0.0.0.0:9090; port 0 picks one and
    /// prints `listening on http://ADDR` as the first line on stdout).
    #[arg(long, value_name = "ADDR", env = "JOBCTL_LISTEN_ADDR")]
    pub listen_addr: Option<SocketAddr>,
    /// /healthz fails once one reconcile pass has run longer than this (a wedged daemon; a
    /// supervisor's liveness probe then restarts it).
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_duration)]
    pub max_pass_duration: Duration,
}

pub async fn run(args: Args, shutdown: Shutdown, reload: tokio::sync::mpsc::Receiver<()>) -> u8 {
    let run = match config::run_config(&args.manifests.paths, &args.aws, &args.reconcile, None) {
        Ok(run) => run,
        Err(err) => {
            eprintln!("jobctl: {err}");
            return exit::USAGE;
        }
    };
    if args.resync_interval.is_zero() {
        eprintln!("jobctl: --resync-interval must be more than 0");
        return exit::USAGE;
    }
    let api = match IotJobs::connect(&run.connection).await {
        Ok(api) => api,
        Err(err) => {
            eprintln!("jobctl: {err}");
            return exit::ERROR;
        }
    };
    let stats = api.stats();
    let config = Config {
        paths: run.paths,
        settings: run.settings,
        debounce: args.debounce,
        resync_interval: args.resync_interval,
        shutdown_timeout: args.shutdown_timeout,
        listen_addr: args.listen_addr,
        max_pass_duration: args.max_pass_duration,
        instance_flag: args.reconcile.instance.name.clone(),
    };
    match watch::run(config, Arc::new(api), stats, shutdown, reload).await {
        Ok(()) => exit::OK,
        Err(err) => {
            eprintln!("jobctl: {err}");
            exit::ERROR
        }
    }
}

//! `jobctl watch`: flags to a daemon config, signals to a shutdown channel, and the exit-code
//! contract of the daemon (0 after a graceful stop; 1 for fatal start-up errors).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::common::{parse_duration, resolve, AwsArgs, ManifestArgs, ReconcileArgs};
use super::exit;
use crate::aws::IotJobs;
use crate::watch::{self, Config};

#[derive(Debug, clap::Args)]
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

pub async fn run(args: Args) -> u8 {
    let run = match resolve(&args.manifests, &args.aws, &args.reconcile) {
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
        instance_flag: args.reconcile.instance.clone(),
    };
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    // One pending reload is enough: SIGHUPs during a pass start one pass after it.
    let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(signals(shutdown_tx, reload_tx));
    match watch::run(config, Arc::new(api), stats, shutdown_rx, reload_rx).await {
        Ok(()) => exit::OK,
        Err(err) => {
            eprintln!("jobctl: {err}");
            exit::ERROR
        }
    }
}

/// First SIGTERM/SIGINT: graceful stop. Second: exit at once. SIGHUP: reload (re-read
/// `jobctl.yaml`, then a full pass), never an exit.
async fn signals(
    shutdown: tokio::sync::watch::Sender<bool>,
    reload: tokio::sync::mpsc::Sender<()>,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    let mut received = 0;
    loop {
        let code = tokio::select! {
            _ = term.recv() => exit::SIGTERM,
            _ = int.recv() => exit::SIGINT,
            _ = hup.recv() => {
                // Warn, the default level: a reload must show in the log without -v.
                tracing::warn!("SIGHUP received: re-reading jobctl.yaml and starting a full pass");
                // Full: a reload is already pending and will do.
                let _ = reload.try_send(());
                continue;
            }
        };
        received += 1;
        if received == 1 {
            tracing::info!(
                "signal received: finishing calls in flight; a second signal exits at once"
            );
            let _ = shutdown.send(true);
        } else {
            eprintln!("jobctl: second signal, exiting now");
            std::process::exit(i32::from(code));
        }
    }
}

//! Resolving a command's flags, the environment and the roots' `jobctl.yaml` into the one
//! configuration the engine reads ([`RunConfig`], with [`Settings`]). Raw flags stop here.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use super::args::{AwsArgs, InstanceArgs, ReconcileArgs};
use crate::aws::Connection;
use crate::engine::Settings;
use crate::manifest::root_config::{self, ConfigError};

/// A reconcile run's configuration, resolved once: what to read, how to reconcile, how to
/// reach AWS, and the run's deadline.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub paths: Vec<PathBuf>,
    pub settings: Settings,
    pub connection: Connection,
    /// The deadline of the whole run (`--timeout`); `None` for no deadline.
    pub timeout: Option<Duration>,
}

/// The instance name: `--instance` (or `JOBCTL_INSTANCE`), else `instance:` in the roots'
/// `jobctl.yaml`, else `default`. Every command that has an instance resolves it here.
pub fn instance(flag: &InstanceArgs, paths: &[PathBuf]) -> Result<String, ConfigError> {
    root_config::instance(flag.name.as_deref(), paths)
}

/// The settings of a reconcile run (plan, apply, watch).
pub fn settings(
    paths: &[PathBuf],
    aws: &AwsArgs,
    reconcile: &ReconcileArgs,
) -> Result<Settings, ConfigError> {
    Ok(Settings {
        instance: instance(&reconcile.instance, paths)?,
        adopt: reconcile.adopt,
        allow_replace: reconcile.allow_replace,
        prune: reconcile.prune || reconcile.prune_force,
        prune_force: reconcile.prune_force,
        prune_delete: reconcile.prune_delete,
        allow_empty: reconcile.allow_empty,
        max_prune: reconcile.max_prune,
        compare_finished: reconcile.compare_finished,
        only: (!reconcile.targets.is_empty())
            .then(|| reconcile.targets.iter().cloned().collect::<BTreeSet<_>>()),
        parallelism: usize::from(aws.parallelism),
        max_failure_rate: reconcile.health.max_failure_rate,
        fingerprint_account: false,
    })
}

/// A reconcile run's whole configuration.
pub fn run_config(
    paths: &[PathBuf],
    aws: &AwsArgs,
    reconcile: &ReconcileArgs,
    timeout: Option<Duration>,
) -> Result<RunConfig, ConfigError> {
    Ok(RunConfig {
        paths: paths.to_vec(),
        settings: settings(paths, aws, reconcile)?,
        connection: aws.connection(),
        timeout,
    })
}

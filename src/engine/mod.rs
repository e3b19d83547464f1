//! The engine: reading the account ([`refresh`]), deciding ([`plan`], pure), carrying a plan out
//! ([`apply`]), and one reconcile pass built from them ([`reconcile`]) that `plan`, `apply` and
//! the daemon all run; judging rollouts ([`health`], pure) and following them ([`status`]).
//! Everything here takes the resolved [`Settings`], never raw flags, and talks to AWS only
//! through [`crate::aws::JobsApi`].

pub mod advance;
pub mod apply;
pub mod export;
pub mod health;
pub mod inherit;
pub mod plan;
pub mod promote;
pub mod reconcile;
pub mod refresh;
pub mod rollout;
pub mod saved;
pub mod stage_change;
pub mod status;
pub mod templates;

use std::collections::BTreeSet;

/// What the user asked for beyond the manifests, resolved once from flags, the environment and
/// `jobctl.yaml` (`cli::config`), and read by refresh, plan, apply and the daemon alike.
///
/// Its serialised form is the plan-shaping part (what a saved plan records as `options`): the
/// fields that only say how a run works (`parallelism`, `fingerprint_account`) are skipped.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// This instance's name, stored in the `jobctl:instance` tag of the jobs it owns.
    pub instance: String,
    /// Take over existing jobs that manifests name but jobctl does not manage.
    pub adopt: bool,
    /// Replace jobs whose immutable fields changed (cancel, delete, create again).
    pub allow_replace: bool,
    /// Cancel this instance's active jobs that no manifest declares.
    pub prune: bool,
    /// When pruning, also cancel executions in progress on devices.
    pub prune_force: bool,
    /// Delete this instance's finished jobs that no manifest declares.
    pub prune_delete: bool,
    /// Prune even when a root yields no manifest (`--allow-empty`); without it such a run never
    /// prunes, since an empty checkout would otherwise cancel everything.
    pub allow_empty: bool,
    /// Refuse a run that would prune more than this many jobs and job templates together
    /// (`--max-prune`).
    pub max_prune: Option<usize>,
    /// Also read and compare declared jobs that have finished.
    pub compare_finished: bool,
    /// `--target`: only these job ids, when given (`targets` in a saved plan, empty for all).
    #[serde(rename = "targets", with = "targets")]
    pub only: Option<BTreeSet<String>>,
    /// Concurrent AWS calls at most.
    #[serde(skip)]
    pub parallelism: usize,
    /// `--max-failure-rate`: the failure percentage a job without its own
    /// `metadata.maxFailureRate` tolerates before it is Degraded.
    pub max_failure_rate: f64,
    /// Keep every declared job's read until the plan is made, to fingerprint the account state
    /// (a saved plan: `plan --out`, `apply FILE`). Other runs, the daemon's above all, compare
    /// each read as it arrives and keep only the change (see docs/benchmarks.md, memory).
    #[serde(skip)]
    pub fingerprint_account: bool,
}

/// `--target` in a saved plan: a list, empty for every job.
mod targets {
    use std::collections::BTreeSet;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        only: &Option<BTreeSet<String>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        only.clone().unwrap_or_default().serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<BTreeSet<String>>, D::Error> {
        let targets = BTreeSet::<String>::deserialize(deserializer)?;
        Ok((!targets.is_empty()).then_some(targets))
    }
}

impl Settings {
    /// Whether `--target` leaves this job in the run.
    pub fn includes(&self, job_id: &str) -> bool {
        self.only.as_ref().is_none_or(|only| only.contains(job_id))
    }
}

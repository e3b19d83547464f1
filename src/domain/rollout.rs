//! A rollout as declared: one CONTINUOUS job widened stage by stage, and the tags that hold its
//! state in AWS (no local state). Plain data; the gate and stage machine is `engine::rollout`.

use std::time::Duration;

/// Tag keys of a rollout's state on its job. They match AWS's tag pattern
/// `[\p{L}\p{Z}\p{N}_.:/=+\-@]*` (no `,` or `;`); values stay under 256 characters.
pub const KIND_TAG: &str = "jobctl:kind";
pub const KIND_ROLLOUT: &str = "Rollout";
/// The decision "this stage has started", written before AssociateTargetsWithJob.
pub const STAGE_TAG: &str = "jobctl:stage";
/// `jobctl:stage/<name>`: the stage's baseline counts and the server time it started.
pub const STAGE_BASELINE_PREFIX: &str = "jobctl:stage/";
/// When the current stage's gate first held (soak start): `t=<epoch s>/stage=<name>`.
pub const GATE_HELD_TAG: &str = "jobctl:gate-held";
/// The stage a person approved leaving (`jobctl promote`).
pub const APPROVED_TAG: &str = "jobctl:approved";
/// The reasonCode of a CancelJob that halts a rollout.
pub const HALT_REASON_CODE: &str = "JOBCTL_ROLLOUT_HALTED";
/// The reasonCode of the CancelJob (not forced) that closes a rollout whose last stage has
/// completed: its CONTINUOUS job would otherwise reach every device that joins its groups later.
pub const COMPLETE_REASON_CODE: &str = "JOBCTL_ROLLOUT_COMPLETE";

/// The most stages a rollout may have (each costs a state tag; AWS allows 50 per job).
pub const MAX_STAGES: usize = 20;
/// AssociateTargetsWithJob allows 100 targets per job in total.
pub const MAX_TARGETS: usize = 100;
/// Tags jobctl writes on a rollout's job besides one baseline per stage: the two ownership tags,
/// kind, stage, gate-held and approved.
pub const FIXED_STATE_TAGS: usize = 6;

/// The stages of a rollout. The job's spec holds every stage's targets once, in stage order;
/// each stage names its own by index into that list.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutSpec {
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub name: String,
    /// Indexes into the job spec's `targets`.
    pub targets: Vec<usize>,
    pub gate: Option<Gate>,
    /// How long the stage may run before its gate is judged with the devices that never
    /// reported counted as not succeeded (the stage's own, or the rollout's default).
    pub deadline: Option<Duration>,
    /// Where the manifest declares the stage's `targets`, for errors about a started stage.
    pub origin: super::Origin,
}

/// The sample a gate's failure rate is judged on when the manifest gives none (or the stage's
/// population, when that is smaller): small enough to protect a stage.
pub const DEFAULT_SAMPLE: u64 = 10;

/// A number of things, or a percentage of the stage's population.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    Count(u64),
    Percent(f64),
}

impl Threshold {
    /// How many things it asks for in a stage of `population` (a percentage rounds up).
    pub fn of(self, population: u64) -> u64 {
        match self {
            Self::Count(n) => n,
            #[allow(
                clippy::cast_precision_loss,
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss
            )]
            // Populations are far below 2^52, and the percentage is within 0-100.
            Self::Percent(p) => (p / 100.0 * population as f64).ceil() as u64,
        }
    }
}

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Count(n) => write!(f, "{n}"),
            Self::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// What must hold before the rollout leaves a stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// At least this many of the stage's things (or this share of its population) succeeded.
    pub min_succeeded: Option<Threshold>,
    /// Percent of executed things (failed, rejected and timed out count as failures).
    pub max_failure_rate: Option<f64>,
    /// At most this many failures in the stage (as Argo Rollouts' `failureLimit`).
    pub max_failures: Option<u64>,
    /// How many executions the failure rate is judged on; [`DEFAULT_SAMPLE`] when `None`.
    pub sample: Option<u64>,
    pub soak: Duration,
    pub approval: bool,
}

impl RolloutSpec {
    pub fn stage_index(&self, name: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.name == name)
    }
}

/// The tag key of a stage's baseline.
pub fn baseline_key(stage: &str) -> String {
    format!("{STAGE_BASELINE_PREFIX}{stage}")
}

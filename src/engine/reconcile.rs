//! One reconcile pass, shared by `plan`, `apply` and `watch`: declared jobs and settings in, a
//! plan (and, when asked, its application) out. There is no second implementation anywhere.

use super::apply::{self, ApplyOptions, JobResult};
use super::plan::{self, Plan};
use super::refresh::{self, JobError};
use super::Settings;
use crate::aws::JobsApi;
use crate::domain::DesiredJob;

/// A computed plan and the jobs that could not be planned.
#[derive(Debug, Clone, Default)]
pub struct Planned {
    pub plan: Plan,
    pub errors: Vec<JobError>,
}

/// What an all-or-nothing apply did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// The plan had blocked changes, so nothing was attempted: applying the rest would leave the
    /// account in a state nobody reviewed.
    Refused,
    /// One result per job that had something to do.
    Results(Vec<JobResult>),
}

/// Reads the account and plans. `incomplete` says why the declared jobs may not be all of them
/// (a manifest could not be read or validated), which turns prune off.
pub async fn plan(
    api: &dyn JobsApi,
    jobs: Vec<DesiredJob>,
    incomplete: Option<String>,
    settings: &Settings,
) -> Planned {
    let mut refreshed = refresh::refresh(api, jobs, settings).await;
    refresh::describe_owned(api, &mut refreshed.observed, settings).await;
    let mut desired = refreshed.desired;
    desired.incomplete = incomplete;
    Planned {
        plan: plan::plan(&desired, &refreshed.observed, settings),
        errors: refreshed.errors,
    }
}

/// Carries out a plan all or nothing: refused as a whole when any change is blocked.
pub async fn apply(
    api: &dyn JobsApi,
    plan: &Plan,
    settings: &Settings,
    on_result: &(dyn Fn(&JobResult) + Sync),
) -> Applied {
    if plan.blocked().next().is_some() {
        return Applied::Refused;
    }
    let options = ApplyOptions::default();
    Applied::Results(apply::apply(api, plan, settings, &options, on_result).await)
}

//! One reconcile pass, shared by `plan`, `apply` and `watch`: validated manifests and options in,
//! a plan (and, when asked, its application) out. There is no second implementation anywhere.

use std::collections::BTreeSet;

use crate::aws::JobsApi;
use crate::manifest::ManifestSet;
use crate::plan::{self, Plan};
use crate::refresh::{self, JobError, Scope};

/// What the user asked for beyond the manifests, resolved from flags and jobctl.yaml.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub instance: String,
    pub adopt: bool,
    pub allow_replace: bool,
    pub prune: bool,
    pub prune_force: bool,
    pub prune_delete: bool,
    pub compare_finished: bool,
    /// `--target`: only these job ids.
    pub only: Option<BTreeSet<String>>,
    pub parallelism: usize,
}

/// Validated inputs to a plan: the manifests, the plan options, and how much to read.
pub struct Request {
    pub set: ManifestSet,
    pub options: plan::Options,
    pub scope: Scope,
}

impl Request {
    /// Prune is switched off, with the reason, when any manifest could not be read or validated:
    /// jobctl cannot know what a broken file declared.
    pub fn new(set: ManifestSet, settings: &Settings) -> Self {
        let prune_disabled = (!set.complete).then(|| {
            format!(
                "{} manifest problem(s) found; jobctl cannot know what a broken or unreadable file declared",
                set.error_count().max(1)
            )
        });
        let options = plan::Options {
            instance: settings.instance.clone(),
            adopt: settings.adopt,
            allow_replace: settings.allow_replace,
            prune: settings.prune || settings.prune_force,
            prune_force: settings.prune_force,
            prune_delete: settings.prune_delete,
            prune_disabled,
            only: settings.only.clone(),
        };
        let scope = Scope {
            parallelism: settings.parallelism.max(1),
            compare_finished: settings.compare_finished,
            finished_orphans: settings.prune_delete,
            only: settings.only.clone(),
        };
        Self {
            set,
            options,
            scope,
        }
    }
}

/// A computed plan with what it was computed from.
pub struct Planned {
    pub set: ManifestSet,
    pub plan: Plan,
    pub errors: Vec<JobError>,
    pub instance: String,
}

impl Planned {
    /// Manifest errors or jobs that could not be planned.
    pub fn had_errors(&self) -> bool {
        self.set.error_count() > 0 || !self.errors.is_empty()
    }
}

/// Reads the account and plans.
pub async fn compute(api: &dyn JobsApi, request: Request) -> Planned {
    let Request {
        mut set,
        options,
        scope,
    } = request;
    let jobs = std::mem::take(&mut set.jobs);
    let refreshed = refresh::refresh(api, jobs, &scope).await;
    let plan = plan::plan(&refreshed.desired, &refreshed.observed, &options);
    Planned {
        set,
        plan,
        errors: refreshed.errors,
        instance: options.instance,
    }
}

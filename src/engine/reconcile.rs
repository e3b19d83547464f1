//! The one reconcile pass, shared by `plan`, `apply` and `watch`: read everything, plan (pure),
//! carry the plan out, advance the rollouts. The commands differ only in what they do around it
//! (a [`Driver`]: ask, render, keep a retry schedule); there is no second implementation.
//!
//! Safety first: a rollout whose gate failed is halted in every pass that may change the account,
//! also when the apply itself is refused (plan errors, a blocked change, a declined prompt).
//! A [`Mode::Preview`] pass changes nothing and says what would happen.

use super::advance::{self, Advance, Drive};
use super::apply::{self, ApplyOptions, JobResult};
use super::plan::{self, Plan};
use super::refresh::{self, JobError, OwnerCache};
use super::{templates, Settings};
use crate::aws::{ApiError, JobsApi};
use crate::domain::{DesiredJob, ResourceId};
use crate::shutdown::Shutdown;

/// A computed plan and the jobs that could not be planned.
#[derive(Debug, Clone, Default)]
pub struct Planned {
    pub plan: Plan,
    pub errors: Vec<JobError>,
    /// The account the plan was made for, from the ARNs AWS returned; `None` when the account
    /// returned none (no jobs, no targets by name).
    pub account: Option<String>,
    /// The account state the plan was made from, fingerprinted (for `plan --out`).
    pub state: super::saved::AccountState,
}

impl Planned {
    /// The pass as it was before a run-level failure was reported once: every declared job
    /// carries the failure (the daemon retries each on its backoff schedule).
    pub fn unreadable(job_ids: impl IntoIterator<Item = String>, err: &ApiError) -> Self {
        Self {
            errors: job_ids
                .into_iter()
                .map(|job_id| JobError {
                    resource: ResourceId::job(job_id),
                    source: None,
                    message: err.to_string(),
                    operation: Some(err.operation),
                    code: Some(err.code.clone()),
                })
                .collect(),
            ..Self::default()
        }
    }
}

/// Why apply changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Refusal {
    /// The plan had blocked changes: applying the rest would leave the account in a state
    /// nobody reviewed.
    Blocked,
    /// The plan had errors (invalid manifests, jobs that could not be planned), as Terraform
    /// refuses a plan with errors.
    Errors,
    /// The person at the terminal did not confirm.
    Declined,
}

/// What an all-or-nothing apply did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// Nothing was attempted, and why.
    Refused(Refusal),
    /// One result per job that had something to do.
    Results(Vec<JobResult>),
}

/// What the manifests' load says about pruning from them.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    /// Why the declared jobs may not be all of them (a manifest could not be read or
    /// validated, or the daemon holds prune while a tree settles): prune is off.
    pub incomplete: Option<String>,
    /// Roots that yielded no manifest: prune needs `--allow-empty`.
    pub empty_roots: Vec<String>,
    /// The declared job templates (`kind: JobTemplate`).
    pub templates: Vec<crate::domain::DesiredTemplate>,
}

/// Reads the account and plans. `coverage` says how far the declared jobs can be trusted to be
/// all of them, which decides whether prune may run. `Err` when the account could not be read
/// at all: one failure for the run, not one per job.
pub async fn plan(
    api: &dyn JobsApi,
    jobs: Vec<DesiredJob>,
    coverage: Coverage,
    settings: &Settings,
) -> Result<Planned, ApiError> {
    plan_with_cache(api, jobs, coverage, settings, &mut OwnerCache::default()).await
}

/// [`plan`], with ownership remembered across passes (see [`OwnerCache`]).
pub async fn plan_with_cache(
    api: &dyn JobsApi,
    jobs: Vec<DesiredJob>,
    coverage: Coverage,
    settings: &Settings,
    cache: &mut OwnerCache,
) -> Result<Planned, ApiError> {
    let mut coverage = coverage;
    let (jobs, mut parameter_errors, listed_templates) =
        templates::check_named_templates(api, jobs, &coverage.templates).await?;
    let (jobs, managed_errors, managed_templates) =
        templates::check_managed_parameters(api, jobs).await?;
    parameter_errors.extend(managed_errors);
    if !parameter_errors.is_empty() {
        // A job left out for its parameters is still declared: nothing may be pruned for it.
        coverage.incomplete.get_or_insert_with(|| {
            "a job's template or its documentParameters could not be resolved".to_string()
        });
    }
    let mut refreshed = refresh::refresh_with_cache(api, jobs, settings, cache).await?;
    let arn_errors = templates::name_template_arns(
        &mut refreshed.desired.jobs,
        listed_templates.as_ref().unwrap_or(&Default::default()),
        refreshed.account.as_deref(),
        api.region().as_deref(),
    );
    if !arn_errors.is_empty() {
        coverage
            .incomplete
            .get_or_insert_with(|| "a job's template ARN could not be told".to_string());
    }
    parameter_errors.extend(arn_errors);
    // The health of the owned jobs no manifest declares, shown before they are pruned.
    refresh::describe_owned(api, &mut refreshed.observed, settings).await;
    let mut desired = refreshed.desired;
    desired.incomplete = coverage.incomplete;
    desired.empty_roots = coverage.empty_roots;
    // Planning consumes the reads; what is needed of them afterwards is taken first: the
    // account's fingerprint for a saved plan, the rollouts' reads, and the prune guards' inputs.
    let jobs_state = if settings.fingerprint_account {
        super::saved::jobs_state(&desired, &refreshed.observed, settings)
    } else {
        super::saved::AccountState::default()
    };
    let rollout_reads: std::collections::HashMap<_, _> = desired
        .jobs
        .iter()
        .filter(|job| job.rollout.is_some())
        .filter_map(|job| {
            let read = refreshed.observed.remote.get(&job.job_id)?;
            Some((job.job_id.clone(), read.clone()))
        })
        .collect();
    let prune_guard = plan::Desired {
        incomplete: desired.incomplete.clone(),
        empty_roots: desired.empty_roots.clone(),
        ..plan::Desired::default()
    };
    let mut plan = plan::plan_owned(desired, refreshed.observed, settings);
    let mut errors = refreshed.errors;
    errors.extend(parameter_errors);
    let region = api.region();
    let inherit_errors = templates::show_inherited(
        api,
        &mut plan,
        &templates::TemplateSources {
            declared: &coverage.templates,
            managed: &managed_templates,
            account: refreshed.account.as_deref(),
            region: region.as_deref(),
        },
    )
    .await?;
    errors.extend(inherit_errors);
    // A rollout whose manifest changes a stage that has started is an error, not a change.
    errors.extend(super::stage_change::refuse_started_stage_changes(
        &mut plan,
        &rollout_reads,
    ));
    // The prune guards (empty root, --max-prune) count templates with jobs, below. `--target`
    // limits prune to the jobs it names, so it prunes no template.
    let prune_templates =
        plan.prune.requested && prune_guard.incomplete.is_none() && settings.only.is_none();
    // Templates are read only when some are declared or pruning may delete some.
    let observed_templates = if !coverage.templates.is_empty() || prune_templates {
        let (observed, template_errors) =
            templates::refresh(api, &coverage.templates, listed_templates.as_ref()).await?;
        // A template whose read failed is reported once, as an error; it is neither created nor
        // compared (it may well exist).
        let unread: std::collections::BTreeSet<&str> = template_errors
            .iter()
            .filter_map(|e| e.resource.template_name())
            .collect();
        plan.changes.extend(templates::plan(
            &coverage.templates,
            &observed,
            &unread,
            settings,
            prune_templates,
        ));
        plan.changes.sort_by(|a, b| a.resource.cmp(&b.resource));
        errors.extend(template_errors);
        plan::count_pruned_templates(&mut plan, settings, &prune_guard);
        observed
    } else {
        std::collections::BTreeMap::new()
    };
    let state = if settings.fingerprint_account {
        let declared_templates = coverage.templates.iter().map(|t| t.name.clone()).collect();
        super::saved::with_templates(
            jobs_state,
            &declared_templates,
            &observed_templates,
            settings,
        )
    } else {
        jobs_state
    };
    Ok(Planned {
        plan,
        errors,
        account: refreshed.account,
        state,
    })
}

/// What the manifests declare, as a pass takes it.
#[derive(Debug, Default)]
pub struct Declared {
    pub jobs: Vec<DesiredJob>,
    pub coverage: Coverage,
    /// Manifest errors found while loading: an all-or-nothing apply is refused when there are
    /// any, since jobctl cannot know what a broken file declared.
    pub manifest_errors: usize,
}

/// How a pass may change the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `plan`, `apply --dry-run`: read and plan; nothing changes, and rollouts say what would
    /// happen ("would halt").
    Preview,
    /// `apply`: the whole plan or nothing. Refused when the plan has an error or a blocked
    /// change, or when the driver's review declines; due halts are carried out either way.
    AllOrNothing,
    /// The daemon: there is nobody to approve a plan, so what is safe is applied (blocked
    /// changes and changes the driver holds back are left out) and the rest is reported.
    WhatIsSafe,
}

impl Mode {
    /// `apply`'s mode: a preview with `--dry-run`, else all or nothing.
    pub fn of_apply(dry_run: bool) -> Self {
        if dry_run {
            Self::Preview
        } else {
            Self::AllOrNothing
        }
    }
}

/// Where a pass is, for a deadline's message and a spinner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Reading,
    Applying,
    Advancing,
}

impl Stage {
    /// What the pass is doing, in words ("while {doing}").
    pub fn doing(self) -> &'static str {
        match self {
            Self::Reading => "reading the account",
            Self::Applying => "applying the plan",
            Self::Advancing => "advancing the rollouts",
        }
    }
}

/// What a command does around the pass. Every method has a default that does nothing.
#[async_trait::async_trait]
pub trait Driver: Send + Sync {
    /// The pass has reached `stage`.
    async fn stage(&mut self, _stage: Stage) {}

    /// Sees the plan before anything changes (not in a preview). `refused` says why the pass
    /// will not apply it whatever the driver says (the driver shows it); otherwise the driver
    /// may leave changes out ([`Mode::WhatIsSafe`]) or decline the whole apply (`false`).
    async fn review(&mut self, _planned: &mut Planned, _refused: Option<Refusal>) -> bool {
        true
    }

    /// Each change's result, as it finishes.
    fn applied(&self, _result: &JobResult) {}
}

/// What one pass found and did.
#[derive(Debug, Default)]
pub struct Pass {
    pub planned: Planned,
    /// `None` for a preview.
    pub applied: Option<Applied>,
    /// Where each declared rollout stands after the pass, and what the pass did to it.
    pub rollouts: Advance,
}

/// The pass's options beyond [`Settings`].
#[derive(Debug, Clone)]
pub struct PassOptions {
    pub mode: Mode,
    /// The first Ctrl-C or SIGTERM: changes not yet started are skipped, changes under way
    /// finish, and rollouts only halt.
    pub stop: Shutdown,
}

/// One pass: read → plan → apply → advance, into `out` as it goes, so that a caller whose
/// deadline drops the pass half-way still has the plan (and, through
/// [`Driver::applied`], the results so far). `Err` when the account could not be read at all
/// (one failure for the run, not one per job).
pub async fn pass(
    api: &dyn JobsApi,
    declared: Declared,
    settings: &Settings,
    cache: &mut OwnerCache,
    options: &PassOptions,
    driver: &mut dyn Driver,
    out: &mut Pass,
) -> Result<(), ApiError> {
    driver.stage(Stage::Reading).await;
    out.planned = plan_with_cache(api, declared.jobs, declared.coverage, settings, cache).await?;
    if options.mode == Mode::Preview {
        plan::preview_rollouts(&mut out.planned.plan);
        return Ok(());
    }
    let refusal = match options.mode {
        Mode::AllOrNothing if declared.manifest_errors > 0 || !out.planned.errors.is_empty() => {
            Some(Refusal::Errors)
        }
        Mode::AllOrNothing if out.planned.plan.blocked().next().is_some() => Some(Refusal::Blocked),
        _ => None,
    };
    let go = driver.review(&mut out.planned, refusal).await;
    let refusal = match refusal {
        None if !go => Some(Refusal::Declined),
        other => other,
    };
    let applied = match refusal {
        Some(refusal) => Applied::Refused(refusal),
        None => {
            driver.stage(Stage::Applying).await;
            let apply_options = ApplyOptions {
                stop: options.stop.clone(),
                ..ApplyOptions::default()
            };
            let driver: &dyn Driver = driver;
            let on_result = |result: &JobResult| driver.applied(result);
            let plan = &out.planned.plan;
            Applied::Results(apply::apply(api, plan, settings, &apply_options, &on_result).await)
        }
    };
    // A refused apply widens nothing, but a due halt protects the fleet all the same.
    let drive = match (&applied, options.stop.requested()) {
        (Applied::Results(_), false) => Drive::Full,
        _ => Drive::SafetyOnly,
    };
    out.applied = Some(applied);
    driver.stage(Stage::Advancing).await;
    out.rollouts = advance::advance(api, &out.planned.plan, drive).await;
    Ok(())
}

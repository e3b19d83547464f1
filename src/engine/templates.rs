//! Job templates in a reconcile pass: reading the account's templates, planning the declared
//! ones against them (pure), and the order apply must keep.
//!
//! AWS has no UpdateJobTemplate: any difference in a template's spec is a replacement
//! (DeleteJobTemplate, then CreateJobTemplate under the same id), refused unless
//! `--allow-replace`. Tags are the exception: TagResource and UntagResource work on templates.
//! Jobs already created from a template keep running when it is deleted or replaced; they
//! copied its values at CreateJob (see docs/templates.md for what is documented and what inferred).
//!
//! Jobs that name an AWS-managed template have their `documentParameters` checked against
//! DescribeManagedJobTemplate at plan time (one call per distinct template per run).
//!
//! Cost per run: one ListJobTemplates per 250 templates in the account, then one
//! ListTagsForResource per template (ownership, as for jobs' orphans) and one
//! DescribeJobTemplate per declared template that exists.

use std::collections::BTreeMap;

use serde_json::Value;

use super::plan::{Action, Change, FieldChange, Step};
use super::refresh::JobError;
use super::Settings;
use crate::aws::{ApiError, JobsApi};
use crate::domain::ownership::{ownership, ownership_tags, Ownership, RESERVED_TAG_PREFIX};
use crate::domain::spec::{JobSpec, TagValue};
use crate::domain::{DesiredTemplate, Kind, ResourceId};

/// One of the account's own templates as jobctl compares it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedTemplate {
    pub arn: String,
    /// DescribeJobTemplate in job-spec terms; `None` when it was not read (not declared).
    pub spec: Option<JobSpec>,
    pub tags: BTreeMap<String, String>,
}

/// The template fields compared, in manifest order (tags apart).
const FIELDS: &[&str] = &[
    "description",
    "document",
    "documentSource",
    "presignedUrlConfig",
    "jobExecutionsRolloutConfig",
    "abortConfig",
    "timeoutConfig",
    "jobExecutionsRetryConfig",
    "schedulingConfig",
    "destinationPackageVersions",
];

pub(crate) fn fields_of(spec: &JobSpec) -> serde_json::Map<String, Value> {
    match serde_json::to_value(spec) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

/// Plans the declared templates against the account's. `prune` says whether this run may
/// delete this instance's templates that no manifest declares (the same decision as for jobs).
/// `unread` names the declared templates whose read failed: they are left out (their errors
/// say why), never planned as new.
pub fn plan(
    desired: &[DesiredTemplate],
    observed: &BTreeMap<String, ObservedTemplate>,
    unread: &std::collections::BTreeSet<&str>,
    settings: &Settings,
    prune: bool,
) -> Vec<Change> {
    let mut changes = Vec::new();
    for template in desired {
        if unread.contains(template.name.as_str()) {
            continue;
        }
        let id = ResourceId::template(&template.name);
        let mut want = template.spec.clone();
        want.tags.extend(
            ownership_tags(&settings.instance)
                .into_iter()
                .map(|(k, v)| (k, TagValue(v))),
        );
        let Some(remote) = observed.get(&template.name) else {
            let mut change = Change::new(id, Action::Create);
            change.source = Some(template.origin.to_string());
            change.steps = vec![Step::CreateJobTemplate {
                template: Box::new(want),
            }];
            changes.push(change);
            continue;
        };
        let mut change = Change::new(id, Action::Unchanged);
        change.source = Some(template.origin.to_string());
        change.arn = Some(remote.arn.clone());
        let owner = ownership(&remote.tags, &settings.instance);
        change.ownership = Some(owner.clone());
        let after = fields_of(&template.spec.as_job_spec());
        let before = remote.spec.as_ref().map(fields_of).unwrap_or_default();
        for &field in FIELDS {
            let (a, b) = (
                after.get(field).cloned().unwrap_or(Value::Null),
                before.get(field).cloned().unwrap_or(Value::Null),
            );
            if a != b {
                change.fields.push(FieldChange {
                    field,
                    before: b,
                    after: a,
                    forces_replacement: true,
                });
            }
        }
        let user_tags = |tags: &BTreeMap<String, String>| -> BTreeMap<String, String> {
            tags.iter()
                .filter(|(k, _)| !k.starts_with(RESERVED_TAG_PREFIX))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let want_tags: BTreeMap<String, String> = template
            .spec
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect();
        let have_tags = user_tags(&remote.tags);
        if !change.fields.is_empty() {
            change.action = Action::Replace;
            change.forced_by = change.fields.iter().map(|f| f.field).collect();
            change.steps = vec![
                Step::DeleteJobTemplate,
                Step::CreateJobTemplate {
                    template: Box::new(want),
                },
            ];
            if !settings.allow_replace {
                change.blocked = Some(
                    "AWS cannot update a job template, so this change deletes it and creates it again (jobs already created from it keep running); pass --allow-replace to do that".into(),
                );
            }
        } else if want_tags != have_tags {
            change.action = Action::Update;
            let add: BTreeMap<String, String> = want_tags
                .iter()
                .filter(|(k, v)| have_tags.get(*k) != Some(v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let remove: Vec<String> = have_tags
                .keys()
                .filter(|k| !want_tags.contains_key(*k))
                .cloned()
                .collect();
            if !add.is_empty() {
                change.steps.push(Step::TagResource { tags: add });
            }
            if !remove.is_empty() {
                change.steps.push(Step::UntagResource { keys: remove });
            }
            change.fields.push(FieldChange {
                field: "tags",
                before: serde_json::to_value(&have_tags).unwrap_or(Value::Null),
                after: serde_json::to_value(&want_tags).unwrap_or(Value::Null),
                forces_replacement: false,
            });
        }
        match owner {
            Ownership::Managed => {}
            Ownership::OtherInstance(other) => {
                change.blocked = Some(format!(
                    "the job template is managed by jobctl instance `{other}`, not `{}`; jobctl never touches another instance's templates",
                    settings.instance
                ));
            }
            Ownership::Unmanaged if settings.adopt => {
                change.steps.insert(0, Step::Adopt);
                if change.action == Action::Unchanged {
                    change.action = Action::Update;
                }
                change.note = Some("not created by jobctl; --adopt adds the ownership tags".into());
            }
            Ownership::Unmanaged => {
                change.blocked = Some(
                    "a job template with this id exists but jobctl does not manage it; pass --adopt to take it over".into(),
                );
            }
        }
        changes.push(change);
    }
    if prune {
        for (name, remote) in observed {
            if desired.iter().any(|t| &t.name == name)
                || ownership(&remote.tags, &settings.instance) != Ownership::Managed
            {
                continue;
            }
            let mut change = Change::new(ResourceId::template(name), Action::Delete);
            change.arn = Some(remote.arn.clone());
            change.ownership = Some(Ownership::Managed);
            change.steps = vec![Step::DeleteJobTemplate];
            change.note = Some(
                "no manifest declares this job template; jobs already created from it keep running"
                    .into(),
            );
            changes.push(change);
        }
    }
    changes
}

/// Reads the account's own templates: ListJobTemplates, the tags of each (ownership), and
/// DescribeJobTemplate of each declared one. Templates that could not be read become errors
/// and are left out, as jobs are.
///
/// `listed` is the run's ListJobTemplates when it already ran (see [`check_named_templates`]):
/// one listing per run.
pub async fn refresh(
    api: &dyn JobsApi,
    desired: &[DesiredTemplate],
    listed: Option<&BTreeMap<String, String>>,
) -> Result<(BTreeMap<String, ObservedTemplate>, Vec<JobError>), ApiError> {
    let listed: Vec<(String, String)> = match listed {
        Some(listed) => listed
            .iter()
            .map(|(id, arn)| (id.clone(), arn.clone()))
            .collect(),
        None => api.list_job_templates().await?,
    };
    let mut observed = BTreeMap::new();
    let mut errors = Vec::new();
    for (id, arn) in listed {
        let declared = desired.iter().find(|t| t.name == id);
        let read = async {
            let tags = api.list_tags(&arn).await?;
            let spec = match declared {
                Some(_) => api.describe_job_template(&arn).await?.map(|d| d.spec),
                None => None,
            };
            Ok::<_, ApiError>((tags, spec))
        };
        match read.await {
            Ok((tags, spec)) => {
                observed.insert(id, ObservedTemplate { arn, spec, tags });
            }
            Err(err) if err.ends_the_run() => return Err(err),
            Err(err) => errors.push(JobError {
                resource: ResourceId::template(&id),
                source: declared.map(|t| t.origin.to_string()),
                message: err.to_string(),
                operation: Some(err.operation),
                code: Some(err.code.clone()),
            }),
        }
    }
    Ok((observed, errors))
}

/// Where a change runs in apply: templates that jobs may use are created first, then jobs
/// change, then templates no manifest declares any more are deleted (after the jobs pruned
/// with them).
pub fn phase(change: &Change) -> u8 {
    match (change.resource.kind, change.action) {
        (Kind::Job | Kind::Rollout, _) => 1,
        (Kind::JobTemplate, Action::Delete) => 2,
        (Kind::JobTemplate, _) => 0,
    }
}

/// Whether `arn` names an AWS-managed template (`arn:aws:iot:REGION::jobtemplate/NAME:VERSION`:
/// no account).
pub fn is_managed(arn: &str) -> bool {
    arn.split(':').nth(4) == Some("") && arn.contains(":jobtemplate/")
}

/// What is wrong with a job's `documentParameters` for an AWS-managed template: the required
/// parameters it leaves out and the keys the template does not have. `None` when they fit.
pub fn parameter_problems(
    given: &BTreeMap<String, crate::domain::spec::DocumentParameterValue>,
    template: &crate::domain::JobTemplateDescription,
) -> Option<String> {
    let missing: Vec<String> = template
        .parameters
        .iter()
        .filter(|p| !p.optional && !given.contains_key(&p.key))
        .map(|p| format!("`{}` ({})", p.key, p.description.trim_end_matches('.')))
        .collect();
    let unknown: Vec<String> = given
        .keys()
        .filter(|k| !template.parameters.iter().any(|p| &p.key == *k))
        .map(|k| format!("`{k}`"))
        .collect();
    if missing.is_empty() && unknown.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing {}", missing.join(", ")));
    }
    if !unknown.is_empty() {
        let known: Vec<&str> = template.parameters.iter().map(|p| p.key.as_str()).collect();
        parts.push(format!(
            "unknown {} (its parameters: {})",
            unknown.join(", "),
            known.join(", ")
        ));
    }
    Some(format!(
        "spec.documentParameters does not fit {}: {}",
        template.template_arn,
        parts.join("; ")
    ))
}

/// The ARN of the template `name` in `account` and `region`, as CreateJobTemplate makes it.
pub fn own_template_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:iot:{region}:{account}:jobtemplate/{name}")
}

/// Checks that each `jobTemplate: NAME` names a template a `kind: JobTemplate` manifest
/// declares or the account holds; jobs naming neither come back as errors at the
/// `jobTemplate` line. Returns the account's templates (name to ARN) when they were listed:
/// ListJobTemplates runs only when some job names a template no manifest declares.
pub async fn check_named_templates(
    api: &dyn JobsApi,
    jobs: Vec<crate::domain::DesiredJob>,
    declared: &[DesiredTemplate],
) -> Result<
    (
        Vec<crate::domain::DesiredJob>,
        Vec<JobError>,
        Option<BTreeMap<String, String>>,
    ),
    ApiError,
> {
    let is_declared = |name: &str| declared.iter().any(|t| t.name == name);
    let needs_listing = jobs
        .iter()
        .filter_map(|j| j.spec.job_template.as_deref())
        .any(|name| !is_declared(name));
    let listing: Option<BTreeMap<String, String>> = if needs_listing {
        Some(api.list_job_templates().await?.into_iter().collect())
    } else {
        None
    };
    let empty = BTreeMap::new();
    let listed = listing.as_ref().unwrap_or(&empty);
    let mut kept = Vec::with_capacity(jobs.len());
    let mut errors = Vec::new();
    for job in jobs {
        match job.spec.job_template.as_deref() {
            Some(name) if !is_declared(name) && !listed.contains_key(name) => {
                let at = job.key_origins.get("jobTemplate").unwrap_or(&job.origin);
                errors.push(JobError {
                    resource: ResourceId::job(job.job_id.clone()),
                    source: Some(at.to_string()),
                    message: format!(
                        "spec.jobTemplate: no `kind: JobTemplate` manifest declares `{name}` and the account has no job template `{name}`; declare it (kind: JobTemplate, metadata.name: {name}), fix the name, or give the template's `jobTemplateArn`"
                    ),
                    operation: Some("ListJobTemplates"),
                    code: None,
                });
            }
            _ => kept.push(job),
        }
    }
    Ok((kept, errors, listing))
}

/// Gives each job's `jobTemplate: NAME` its ARN: the listed one, or the one CreateJobTemplate
/// makes in the run's account and region. A job whose account cannot be told is left out with
/// an error (its index is returned so the caller drops it).
pub fn name_template_arns(
    jobs: &mut Vec<crate::domain::ResolvedJob>,
    listed: &BTreeMap<String, String>,
    account: Option<&str>,
    region: Option<&str>,
) -> Vec<JobError> {
    let account = account.map(String::from).or_else(|| {
        listed
            .values()
            .find_map(|a| super::refresh::arn_account(a).map(String::from))
    });
    let mut errors = Vec::new();
    jobs.retain_mut(|job| {
        let Some(name) = job.spec.job_template.clone() else {
            return true;
        };
        let arn = listed.get(&name).cloned().or_else(|| {
            Some(own_template_arn(region?, account.as_deref()?, &name))
        });
        match arn {
            Some(arn) => {
                job.spec.set_job_template_arn(arn);
                true
            }
            None => {
                errors.push(JobError {
                    resource: ResourceId::job(job.job_id.clone()),
                    source: Some(job.origin.to_string()),
                    message: format!(
                        "spec.jobTemplate: cannot tell the account or region this run works on, so the ARN of template `{name}` is unknown; give `jobTemplateArn` instead, or set the region"
                    ),
                    operation: None,
                    code: None,
                });
                false
            }
        }
    });
    errors
}

/// Checks the `documentParameters` of jobs that name an AWS-managed template against
/// DescribeManagedJobTemplate: one call per distinct template per run. Jobs that do not fit
/// come back as errors naming their manifest (`file:line:col`); the rest are returned, with
/// the templates read (by ARN), which the plan reuses to show what jobs inherit.
pub async fn check_managed_parameters(
    api: &dyn JobsApi,
    jobs: Vec<crate::domain::DesiredJob>,
) -> Result<
    (
        Vec<crate::domain::DesiredJob>,
        Vec<JobError>,
        ManagedTemplates,
    ),
    ApiError,
> {
    let mut described: BTreeMap<String, Option<crate::domain::JobTemplateDescription>> =
        BTreeMap::new();
    let mut kept = Vec::with_capacity(jobs.len());
    let mut errors = Vec::new();
    for job in jobs {
        let Some(arn) = job.spec.job_template_arn.clone().filter(|a| is_managed(a)) else {
            kept.push(job);
            continue;
        };
        if !described.contains_key(&arn) {
            let read = match api.describe_job_template(&arn).await {
                Ok(t) => t,
                Err(err) if err.ends_the_run() => return Err(err),
                Err(err) => {
                    errors.push(JobError {
                        resource: ResourceId::job(job.job_id.clone()),
                        source: Some(job.origin.to_string()),
                        message: err.to_string(),
                        operation: Some(err.operation),
                        code: Some(err.code.clone()),
                    });
                    continue;
                }
            };
            described.insert(arn.clone(), read);
        }
        let problem = match described.get(&arn) {
            Some(Some(template)) => parameter_problems(&job.spec.document_parameters, template),
            _ => Some(format!(
                "spec.jobTemplateArn: there is no AWS-managed job template {arn} (see `aws iot list-managed-job-templates`)"
            )),
        };
        // The `documentParameters` line, or the template's when the job gives none.
        let at = ["documentParameters", "jobTemplateArn"]
            .iter()
            .find_map(|key| job.key_origins.get(key))
            .unwrap_or(&job.origin);
        match problem {
            Some(message) => errors.push(JobError {
                resource: ResourceId::job(job.job_id.clone()),
                source: Some(at.to_string()),
                message,
                operation: Some("DescribeManagedJobTemplate"),
                code: None,
            }),
            None => kept.push(job),
        }
    }
    let described = described
        .into_iter()
        .filter_map(|(arn, t)| Some((arn, t?)))
        .collect();
    Ok((kept, errors, described))
}

/// AWS-managed templates read in a run, by ARN.
pub type ManagedTemplates = BTreeMap<String, crate::domain::JobTemplateDescription>;

/// What the plan needs to find the template of a job it creates or replaces.
pub struct TemplateSources<'a> {
    /// The run's `kind: JobTemplate` manifests.
    pub declared: &'a [DesiredTemplate],
    /// AWS-managed templates already read (for the parameter check).
    pub managed: &'a ManagedTemplates,
    /// The run's account and region, to tell a declared template's ARN.
    pub account: Option<&'a str>,
    pub region: Option<&'a str>,
}

/// Sets, on each job the plan creates or replaces from a template, the values it inherits
/// (see [`super::inherit`]). A declared template's values come from its manifest and an
/// AWS-managed one's from the parameter check's reading (no call); any other template is read
/// with DescribeJobTemplate, once per distinct template per run, and only for templates such a
/// job uses. A job whose template does not exist, or cannot be read, is taken out of the plan
/// and comes back as an error (CreateJob would fail on it).
pub async fn show_inherited(
    api: &dyn JobsApi,
    plan: &mut super::plan::Plan,
    sources: &TemplateSources<'_>,
) -> Result<Vec<JobError>, ApiError> {
    use super::inherit::{with_parameters, Inherited, InheritedFrom};
    // Per run: each distinct template is read once, whatever the answer.
    type Answer = Result<Option<crate::domain::JobTemplateDescription>, ApiError>;
    let mut read: BTreeMap<String, Answer> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut failed = std::collections::BTreeSet::new();
    for change in &mut plan.changes {
        if !matches!(change.action, Action::Create | Action::Replace)
            || !change.resource.kind.is_job()
        {
            continue;
        }
        let Some(spec) = change.create_spec() else {
            continue;
        };
        let Some(arn) = spec.job_template_arn.clone() else {
            continue;
        };
        if is_managed(&arn) {
            if let Some(template) = sources.managed.get(&arn) {
                let values = with_parameters(template, &spec.document_parameters);
                change.inherited = Some(Box::new(Inherited::of(
                    &arn,
                    InheritedFrom::Managed,
                    spec,
                    &values,
                )));
            }
            continue;
        }
        let (name, _) = super::inherit::name_and_version(&arn);
        // A declared template's ARN is this run's account and region (either may be unknown
        // before anything was created: then the name decides).
        let part = |i: usize| arn.split(':').nth(i).unwrap_or_default();
        let ours = |want: Option<&str>, i: usize| want.is_none_or(|w| w == part(i));
        let declared = sources
            .declared
            .iter()
            .find(|t| t.name == name && ours(sources.region, 3) && ours(sources.account, 4));
        if let Some(template) = declared {
            let mut inherited = Inherited::of(
                &arn,
                InheritedFrom::Manifest,
                spec,
                &template.spec.as_job_spec(),
            );
            inherited.source = Some(template.origin.to_string());
            change.inherited = Some(Box::new(inherited));
            continue;
        }
        if !read.contains_key(&arn) {
            let answer = api.describe_job_template(&arn).await;
            if let Err(err) = &answer {
                if err.ends_the_run() {
                    return Err(err.clone());
                }
            }
            read.insert(arn.clone(), answer);
        }
        let problem = match read.get(&arn) {
            Some(Ok(Some(template))) => {
                change.inherited = Some(Box::new(Inherited::of(
                    &arn,
                    InheritedFrom::Account,
                    spec,
                    &template.spec,
                )));
                continue;
            }
            Some(Err(err)) => JobError {
                resource: change.resource.clone(),
                source: change.source.clone(),
                message: err.to_string(),
                operation: Some(err.operation),
                code: Some(err.code.clone()),
            },
            _ => JobError {
                resource: change.resource.clone(),
                source: change.source.clone(),
                message: format!(
                    "spec.jobTemplateArn: the account has no job template {arn}; declare it (kind: JobTemplate, metadata.name: {name}) or fix the ARN"
                ),
                operation: Some("DescribeJobTemplate"),
                code: None,
            },
        };
        errors.push(problem);
        failed.insert(change.resource.clone());
    }
    plan.changes.retain(|c| !failed.contains(&c.resource));
    Ok(errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::fake::{template_arn, FakeJobs};
    use crate::domain::{DesiredJob, JobTemplateSpec, Origin};
    use crate::engine::apply::{self, ApplyOptions};
    use crate::engine::reconcile::{self, Coverage};

    fn settings() -> Settings {
        Settings {
            instance: "prod".into(),
            parallelism: 4,
            ..Settings::default()
        }
    }

    fn template(name: &str, timeout: i64) -> DesiredTemplate {
        let spec: JobTemplateSpec = serde_json::from_value(serde_json::json!({
            "description": "OTA",
            "document": {"op": "update"},
            "timeoutConfig": {"inProgressTimeoutInMinutes": timeout},
            "tags": {"team": "lighting"},
        }))
        .expect("spec");
        DesiredTemplate {
            name: name.into(),
            spec,
            origin: Origin::default(),
        }
    }

    fn job(id: &str, template: &str) -> DesiredJob {
        DesiredJob {
            job_id: id.into(),
            spec: serde_json::from_value(serde_json::json!({
                "targets": [{"thing": "t1"}],
                "jobTemplateArn": template_arn(template),
            }))
            .expect("spec"),
            origin: Origin::default(),
            max_failure_rate: None,
            rollout: None,
            key_origins: Default::default(),
        }
    }

    async fn pass(
        api: &FakeJobs,
        jobs: Vec<DesiredJob>,
        templates: Vec<DesiredTemplate>,
        settings: &Settings,
    ) -> (reconcile::Planned, Vec<apply::JobResult>) {
        let coverage = Coverage {
            templates,
            ..Coverage::default()
        };
        let planned = reconcile::plan(api, jobs, coverage, settings)
            .await
            .expect("plan");
        let results = apply::apply(
            api,
            &planned.plan,
            settings,
            &ApplyOptions::default(),
            &|_| {},
        )
        .await;
        (planned, results)
    }

    fn position(calls: &[String], call: &str) -> usize {
        calls
            .iter()
            .position(|c| c == call)
            .unwrap_or_else(|| panic!("no {call} in {calls:?}"))
    }

    #[tokio::test]
    async fn templates_are_created_before_the_jobs_that_use_them_and_then_left_alone() {
        let api = FakeJobs::new().with_thing("t1");
        let s = settings();
        let (planned, results) =
            pass(&api, vec![job("fw", "ota")], vec![template("ota", 30)], &s).await;
        let actions: Vec<(String, Action)> = planned
            .plan
            .changes
            .iter()
            .map(|c| (c.resource.to_string(), c.action))
            .collect();
        assert_eq!(
            actions,
            [
                ("fw".to_string(), Action::Create),
                ("job template ota".to_string(), Action::Create)
            ]
        );
        assert!(results.iter().all(|r| !r.failed()), "{results:?}");
        let calls = api.calls();
        assert!(
            position(&calls, "CreateJobTemplate ota") < position(&calls, "CreateJob fw"),
            "{calls:?}"
        );
        let tags = api
            .list_tags(&template_arn("ota"))
            .await
            .expect("template tags");
        assert_eq!(tags.get("team").map(String::as_str), Some("lighting"));
        assert_eq!(
            ownership(&tags, "prod"),
            Ownership::Managed,
            "ownership tags missing: {tags:?}"
        );

        let (again, _) = pass(&api, vec![job("fw", "ota")], vec![template("ota", 30)], &s).await;
        assert!(!again.plan.has_changes(), "{:#?}", again.plan.changes);
    }

    #[tokio::test]
    async fn a_changed_template_is_replaced_only_with_allow_replace() {
        let api = FakeJobs::new().with_thing("t1");
        let s = settings();
        pass(&api, vec![], vec![template("ota", 30)], &s).await;

        let (planned, results) = pass(&api, vec![], vec![template("ota", 45)], &s).await;
        let change = &planned.plan.changes[0];
        assert_eq!(change.action, Action::Replace);
        assert_eq!(change.forced_by, ["timeoutConfig"]);
        assert!(change
            .blocked
            .as_deref()
            .unwrap_or_default()
            .contains("--allow-replace"));
        assert!(matches!(results[0].outcome, apply::Outcome::Skipped { .. }));
        let before = api
            .describe_job_template(&template_arn("ota"))
            .await
            .expect("read");
        assert_eq!(
            before
                .and_then(|t| t.spec.timeout_config)
                .and_then(|t| t.in_progress_timeout_in_minutes),
            Some(30)
        );

        let allowed = Settings {
            allow_replace: true,
            ..settings()
        };
        let (_, results) = pass(&api, vec![], vec![template("ota", 45)], &allowed).await;
        assert!(results.iter().all(|r| !r.failed()), "{results:?}");
        let calls = api.calls();
        assert!(
            calls.ends_with(&[
                "DeleteJobTemplate ota".into(),
                "CreateJobTemplate ota".into()
            ]),
            "{calls:?}"
        );
        let after = api
            .describe_job_template(&template_arn("ota"))
            .await
            .expect("read");
        assert_eq!(
            after
                .and_then(|t| t.spec.timeout_config)
                .and_then(|t| t.in_progress_timeout_in_minutes),
            Some(45)
        );
    }

    #[tokio::test]
    async fn pruning_cancels_jobs_before_deleting_their_templates_and_spares_others() {
        let api = FakeJobs::new().with_thing("t1");
        let s = settings();
        pass(&api, vec![job("fw", "ota")], vec![template("ota", 30)], &s).await;
        // Someone else's template, made by hand.
        let mut hand: JobTemplateSpec = template("hand", 30).spec;
        hand.tags.clear();
        api.create_job_template("hand", &hand)
            .await
            .expect("create");

        let pruning = Settings {
            prune: true,
            ..settings()
        };
        let (planned, results) = pass(&api, vec![], vec![], &pruning).await;
        let actions: Vec<(String, Action)> = planned
            .plan
            .changes
            .iter()
            .map(|c| (c.resource.to_string(), c.action))
            .collect();
        assert_eq!(
            actions,
            [
                ("fw".to_string(), Action::Cancel),
                ("job template ota".to_string(), Action::Delete)
            ]
        );
        assert!(results.iter().all(|r| !r.failed()), "{results:?}");
        let calls = api.calls();
        assert!(
            position(&calls, "CancelJob fw") < position(&calls, "DeleteJobTemplate ota"),
            "{calls:?}"
        );
        assert!(!calls.contains(&"DeleteJobTemplate hand".to_string()));
    }

    fn job_with(id: &str, spec: serde_json::Value) -> DesiredJob {
        DesiredJob {
            spec: serde_json::from_value(spec).expect("spec"),
            ..job(id, "unused")
        }
    }

    fn count(calls: &[String], operation: &str) -> usize {
        calls
            .iter()
            .filter(|c| c.split(' ').next() == Some(operation))
            .count()
    }

    #[tokio::test]
    async fn jobs_show_what_they_inherit_and_each_template_is_read_once_per_run() {
        let api = FakeJobs::new().with_thing("t1");
        // An account template no manifest declares, used by three jobs.
        api.create_job_template("base", &template("base", 15).spec)
            .await
            .expect("create");
        let jobs = vec![
            job("a", "base"),
            job_with(
                "b",
                serde_json::json!({
                    "targets": [{"thing": "t1"}],
                    "jobTemplateArn": template_arn("base"),
                    "timeoutConfig": {"inProgressTimeoutInMinutes": 5},
                }),
            ),
            job_with(
                "c",
                serde_json::json!({"targets": [{"thing": "t1"}], "jobTemplate": "base"}),
            ),
            job("fw", "ota"),
        ];
        let coverage = Coverage {
            templates: vec![template("ota", 30)],
            ..Coverage::default()
        };
        let planned = reconcile::plan(&api, jobs, coverage, &settings())
            .await
            .expect("plan");
        assert!(planned.errors.is_empty(), "{:?}", planned.errors);
        let change = |id: &str| {
            planned
                .plan
                .changes
                .iter()
                .find(|c| c.resource.name == id)
                .and_then(|c| c.inherited.clone())
                .unwrap_or_else(|| panic!("nothing inherited shown for {id}"))
        };
        let timeout = |id: &str| change(id).fields.get("timeoutConfig").cloned();
        assert_eq!(
            change("a").from,
            crate::engine::inherit::InheritedFrom::Account
        );
        assert_eq!(change("a").template_arn, template_arn("base"));
        assert_eq!(
            timeout("a"),
            Some(serde_json::json!({"inProgressTimeoutInMinutes": 15}))
        );
        assert_eq!(
            change("a").fields["document"],
            serde_json::json!({"op": "update"})
        );
        // What the job sets itself is not inherited.
        assert_eq!(timeout("b"), None);
        assert!(change("b").fields.contains_key("document"));
        assert_eq!(change("c").template_name, "base");
        assert_eq!(
            change("fw").from,
            crate::engine::inherit::InheritedFrom::Manifest
        );
        assert_eq!(
            timeout("fw"),
            Some(serde_json::json!({"inProgressTimeoutInMinutes": 30}))
        );

        let calls = api.calls();
        assert_eq!(count(&calls, "DescribeJobTemplate"), 1, "{calls:?}");
        assert_eq!(count(&calls, "ListJobTemplates"), 1, "{calls:?}");
    }

    #[tokio::test]
    async fn a_replaced_job_shows_the_templates_values_an_updated_one_its_own() {
        let api = FakeJobs::new().with_thing("t1").with_thing("t2");
        let s = settings();
        pass(&api, vec![job("fw", "ota")], vec![template("ota", 30)], &s).await;
        // The template changes, and so does the job: a new target replaces it (SNAPSHOT).
        let moved = job_with(
            "fw",
            serde_json::json!({"targets": [{"thing": "t2"}], "jobTemplateArn": template_arn("ota")}),
        );
        let coverage = Coverage {
            templates: vec![template("ota", 45)],
            ..Coverage::default()
        };
        let planned = reconcile::plan(&api, vec![moved], coverage, &s)
            .await
            .expect("plan");
        let fw = planned
            .plan
            .changes
            .iter()
            .find(|c| c.job_id() == Some("fw"));
        let fw = fw.expect("fw planned");
        assert_eq!(fw.action, Action::Replace);
        let inherited = fw.inherited.as_ref().expect("inherited shown");
        assert_eq!(
            inherited.from,
            crate::engine::inherit::InheritedFrom::Manifest
        );
        assert_eq!(
            inherited.fields["timeoutConfig"],
            serde_json::json!({"inProgressTimeoutInMinutes": 45})
        );

        // As AWS holds a job created from the 30-minute template (the fake does not merge).
        let api = FakeJobs::new().with_thing("t1");
        let mut held: JobSpec = serde_json::from_value(serde_json::json!({
            "targets": ["arn:aws:iot:us-east-1:123456789012:thing/t1"],
            "jobTemplateArn": template_arn("ota"),
            "description": "OTA",
            "document": {"op": "update"},
            "timeoutConfig": {"inProgressTimeoutInMinutes": 30},
        }))
        .expect("spec");
        held.tags.extend(
            ownership_tags("prod")
                .into_iter()
                .map(|(k, v)| (k, TagValue(v))),
        );
        api.insert_job("fw", crate::domain::JobStatus::InProgress, held);
        let described = job_with(
            "fw",
            serde_json::json!({"targets": [{"thing": "t1"}], "jobTemplateArn": template_arn("ota"), "description": "wave 2"}),
        );
        let coverage = Coverage {
            templates: vec![template("ota", 45)],
            ..Coverage::default()
        };
        let planned = reconcile::plan(&api, vec![described], coverage, &s)
            .await
            .expect("plan");
        let fw = planned
            .plan
            .changes
            .iter()
            .find(|c| c.job_id() == Some("fw"));
        let fw = fw.expect("fw planned");
        assert_eq!(fw.action, Action::Update);
        let inherited = fw.inherited.as_ref().expect("inherited shown");
        // The job keeps what it took at CreateJob, whatever the template says now.
        assert_eq!(inherited.from, crate::engine::inherit::InheritedFrom::Job);
        assert_eq!(
            inherited.fields["timeoutConfig"],
            serde_json::json!({"inProgressTimeoutInMinutes": 30})
        );
        assert!(!inherited.fields.contains_key("description"));
    }

    #[tokio::test]
    async fn a_job_whose_template_does_not_exist_is_an_error_not_a_create() {
        let api = FakeJobs::new().with_thing("t1");
        let planned = reconcile::plan(
            &api,
            vec![job("a", "nope")],
            Coverage::default(),
            &settings(),
        )
        .await
        .expect("plan");
        assert!(
            planned.plan.changes.is_empty(),
            "{:?}",
            planned.plan.changes
        );
        assert_eq!(planned.errors.len(), 1);
        assert!(
            planned.errors[0].message.contains("no job template"),
            "{:?}",
            planned.errors
        );
    }

    #[tokio::test]
    async fn max_prune_counts_the_templates_pruned_with_the_jobs() {
        let api = FakeJobs::new().with_thing("t1");
        pass(
            &api,
            vec![job("fw", "ota")],
            vec![template("ota", 30)],
            &settings(),
        )
        .await;

        let strict = Settings {
            prune: true,
            max_prune: Some(1),
            ..settings()
        };
        let (planned, results) = pass(&api, vec![], vec![], &strict).await;
        let prune = &planned.plan.prune;
        assert_eq!((prune.would_prune, prune.would_prune_templates), (2, 1));
        let refused = prune.refused.as_deref().unwrap_or_default();
        assert!(
            refused
                .contains("would prune 2 (1 job(s), 1 job template(s)), more than --max-prune 1"),
            "{refused}"
        );
        assert!(planned.plan.changes.iter().all(|c| c.blocked.is_some()));
        assert!(results
            .iter()
            .all(|r| !matches!(r.outcome, apply::Outcome::Done)));
        let calls = api.calls();
        assert!(
            !calls
                .iter()
                .any(|c| c.starts_with("CancelJob") || c.starts_with("DeleteJobTemplate")),
            "{calls:?}"
        );

        let enough = Settings {
            max_prune: Some(2),
            ..strict
        };
        // `--target` limits prune to the jobs it names: no template goes.
        let targeted = Settings {
            only: Some(["fw".to_string()].into()),
            ..enough.clone()
        };
        let (planned, _) = pass(&api, vec![], vec![], &targeted).await;
        assert_eq!(planned.plan.prune.would_prune_templates, 0);
        let calls = api.calls();
        assert!(
            !calls.contains(&"DeleteJobTemplate ota".to_string()),
            "{calls:?} {:#?}",
            planned.plan.changes
        );

        let (planned, results) = pass(&api, vec![], vec![], &enough).await;
        assert_eq!(planned.plan.prune.refused, None);
        assert!(results.iter().all(|r| !r.failed()), "{results:?}");
        assert!(api.calls().contains(&"DeleteJobTemplate ota".to_string()));
    }

    #[tokio::test]
    async fn an_empty_root_never_prunes_templates() {
        let api = FakeJobs::new();
        pass(&api, vec![], vec![template("ota", 30)], &settings()).await;
        let pruning = Settings {
            prune: true,
            ..settings()
        };
        let coverage = Coverage {
            empty_roots: vec!["jobs/".into()],
            ..Coverage::default()
        };
        let planned = reconcile::plan(&api, vec![], coverage, &pruning)
            .await
            .expect("plan");
        let change = &planned.plan.changes[0];
        assert_eq!(change.resource, crate::domain::ResourceId::template("ota"));
        assert!(
            change
                .blocked
                .as_deref()
                .unwrap_or_default()
                .contains("--allow-empty"),
            "{change:?}"
        );
        assert_eq!(planned.plan.prune.would_prune, 1);
    }

    #[test]
    fn unmanaged_templates_need_adopt_and_tags_change_in_place() {
        let t = template("ota", 30);
        let mut remote = ObservedTemplate {
            arn: template_arn("ota"),
            spec: Some(t.spec.as_job_spec()),
            tags: BTreeMap::from([("team".to_string(), "lighting".to_string())]),
        };
        if let Some(spec) = remote.spec.as_mut() {
            spec.tags.clear();
        }
        let observed = BTreeMap::from([("ota".to_string(), remote.clone())]);
        let change = &plan(
            std::slice::from_ref(&t),
            &observed,
            &Default::default(),
            &settings(),
            false,
        )[0];
        assert!(change
            .blocked
            .as_deref()
            .unwrap_or_default()
            .contains("--adopt"));

        remote.tags.extend(ownership_tags("prod"));
        remote.tags.insert("team".into(), "heating".into());
        let observed = BTreeMap::from([("ota".to_string(), remote)]);
        let change = &plan(&[t], &observed, &Default::default(), &settings(), false)[0];
        assert_eq!(change.action, Action::Update);
        assert!(change.blocked.is_none());
        assert_eq!(change.steps.len(), 1);
        assert!(
            matches!(&change.steps[0], Step::TagResource { tags } if tags["team"] == "lighting")
        );
    }

    #[test]
    fn managed_parameters_name_what_is_missing_and_what_is_unknown() {
        use crate::domain::spec::DocumentParameterValue;
        use crate::domain::{JobTemplateDescription, TemplateParameter};
        let arn = "arn:aws:iot:us-east-1::jobtemplate/AWS-Download-File:1.0";
        assert!(is_managed(arn));
        assert!(!is_managed(&template_arn("ota")));
        let param = |key: &str, optional| TemplateParameter {
            key: key.into(),
            description: format!("The {key}."),
            optional,
        };
        let t = JobTemplateDescription {
            template_arn: arn.into(),
            managed: true,
            spec: template("x", 1).spec.as_job_spec(),
            document_text: None,
            parameters: vec![
                param("downloadUrl", false),
                param("filePath", false),
                param("runAsUser", true),
            ],
        };
        let given = |keys: &[&str]| -> BTreeMap<String, DocumentParameterValue> {
            keys.iter()
                .map(|k| (k.to_string(), DocumentParameterValue("v".into())))
                .collect()
        };
        assert_eq!(
            parameter_problems(&given(&["downloadUrl", "filePath"]), &t),
            None
        );
        let message =
            parameter_problems(&given(&["downloadUrl", "fielPath"]), &t).expect("problems");
        assert!(
            message.contains("missing `filePath` (The filePath)"),
            "{message}"
        );
        assert!(message.contains("unknown `fielPath`"), "{message}");
        assert!(
            message.contains("downloadUrl, filePath, runAsUser"),
            "{message}"
        );
        assert!(
            !message.contains("runAsUser` ("),
            "optional ones are never missing: {message}"
        );
    }
}

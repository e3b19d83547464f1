//! An in-memory [`JobsApi`] for tests of resolving, planning and applying: same contract as the
//! SDK implementation, with scripted failures and a call log. Built only for tests (jobctl's own
//! and, through the `test-support` feature, its integration tests); never in a release.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;

use super::{ApiError, ErrorKind, JobsApi};
use crate::domain::spec::{JobSpec, TagValue, Target};
use crate::domain::{
    ExecutionDetail, ExecutionStatus, ExecutionSummary, JobDescription, JobProgress, JobStatus,
    JobSummary, JobTemplateDescription, JobTemplateSpec, JobUpdate, ResolvedSpec,
};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

#[derive(Debug, Default)]
pub struct FakeJobs {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    jobs: BTreeMap<String, (JobStatus, JobSpec)>,
    things: Vec<String>,
    groups: Vec<String>,
    templates: BTreeMap<String, JobTemplateDescription>,
    /// Tags of templates, by template ARN.
    template_tags: BTreeMap<String, BTreeMap<String, String>>,
    /// DescribeJob's counts, reason and times, by job (default: zero counts).
    progress: BTreeMap<String, JobProgress>,
    /// Executions by job: each thing's latest attempt and its status details.
    executions: BTreeMap<String, Vec<(ExecutionSummary, ExecutionDetail)>>,
    server_time: Option<SystemTime>,
    /// Operation → error code, returned once per entry.
    failures: HashMap<(String, String), Vec<String>>,
    calls: Vec<String>,
}

impl FakeJobs {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub fn with_thing(self, name: &str) -> Self {
        self.lock().things.push(name.to_string());
        self
    }

    pub fn with_group(self, name: &str) -> Self {
        self.lock().groups.push(name.to_string());
        self
    }

    pub fn insert_template(&self, template: JobTemplateDescription) {
        self.lock()
            .templates
            .insert(template.template_arn.clone(), template);
    }

    pub fn insert_job(&self, job_id: &str, status: JobStatus, spec: JobSpec) {
        self.lock().jobs.insert(job_id.to_string(), (status, spec));
    }

    /// Sets what DescribeJob reports about a job's progress (and ListJobs about its times).
    pub fn set_progress(&self, job_id: &str, progress: JobProgress) {
        self.lock().progress.insert(job_id.to_string(), progress);
    }

    /// Sets a job's status, as the service would as it runs.
    pub fn set_status(&self, job_id: &str, status: JobStatus) {
        if let Some((s, _)) = self.lock().jobs.get_mut(job_id) {
            *s = status;
        }
    }

    /// Adds a thing's execution of a job, with the status details its device reported.
    pub fn add_execution(
        &self,
        job_id: &str,
        thing: &str,
        status: ExecutionStatus,
        details: &[(&str, &str)],
    ) {
        let summary = ExecutionSummary {
            thing_arn: format!("arn:aws:iot:{REGION}:{ACCOUNT}:thing/{thing}"),
            status,
            execution_number: Some(1),
            retry_attempt: Some(0),
        };
        let detail = ExecutionDetail {
            status_details: details
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
        };
        self.lock()
            .executions
            .entry(job_id.to_string())
            .or_default()
            .push((summary, detail));
    }

    /// The service time its answers carry (`Date`).
    pub fn set_server_time(&self, now: SystemTime) {
        self.lock().server_time = Some(now);
    }

    /// The next call of `operation` for `job_id` fails with `code`.
    pub fn fail_once(&self, operation: &str, job_id: &str, code: &str) {
        self.lock()
            .failures
            .entry((operation.to_string(), job_id.to_string()))
            .or_default()
            .push(code.to_string());
    }

    pub fn job(&self, job_id: &str) -> Option<JobSpec> {
        self.lock().jobs.get(job_id).map(|(_, s)| s.clone())
    }

    pub fn status(&self, job_id: &str) -> Option<JobStatus> {
        self.lock().jobs.get(job_id).map(|(s, _)| s.clone())
    }

    /// Calls that change something, in order (reads left out).
    pub fn writes(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| {
                !(c.starts_with("Describe") || c.starts_with("Get") || c.starts_with("List"))
            })
            .collect()
    }

    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    fn enter(&self, operation: &'static str, id: &str) -> Result<(), ApiError> {
        let mut state = self.lock();
        state.calls.push(format!("{operation} {id}"));
        let key = (operation.to_string(), id.to_string());
        if let Some(codes) = state.failures.get_mut(&key) {
            if !codes.is_empty() {
                let code = codes.remove(0);
                let kind = match code.as_str() {
                    "ThrottlingException" => ErrorKind::Throttled,
                    "InvalidRequestException" => ErrorKind::InvalidRequest,
                    "ResourceAlreadyExistsException" => ErrorKind::AlreadyExists,
                    "ServiceUnavailableException" => ErrorKind::Transient,
                    _ => ErrorKind::Other,
                };
                return Err(ApiError {
                    operation,
                    kind,
                    code,
                    message: format!("scripted failure for {id}"),
                    request_id: None,
                    endpoint: None,
                });
            }
        }
        Ok(())
    }
}

pub fn template_arn(template_id: &str) -> String {
    format!("arn:aws:iot:{REGION}:{ACCOUNT}:jobtemplate/{template_id}")
}

pub fn job_arn(job_id: &str) -> String {
    format!("arn:aws:iot:{REGION}:{ACCOUNT}:job/{job_id}")
}

#[async_trait]
impl JobsApi for FakeJobs {
    fn region(&self) -> Option<String> {
        Some(REGION.to_string())
    }

    async fn describe_job(&self, job_id: &str) -> Result<Option<JobDescription>, ApiError> {
        self.enter("DescribeJob", job_id)?;
        let state = self.lock();
        Ok(state.jobs.get(job_id).map(|(status, spec)| {
            let mut spec = spec.clone();
            spec.document = None;
            spec.tags.clear();
            JobDescription {
                job_arn: job_arn(job_id),
                status: status.clone(),
                spec,
                progress: state.progress.get(job_id).cloned().unwrap_or_default(),
            }
        }))
    }

    async fn get_job_document(&self, job_id: &str) -> Result<String, ApiError> {
        self.enter("GetJobDocument", job_id)?;
        self.lock()
            .jobs
            .get(job_id)
            .map(|(_, s)| s.sent_document().unwrap_or_default())
            .ok_or_else(|| not_found("GetJobDocument", job_id))
    }

    async fn list_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, ApiError> {
        if arn.contains(":jobtemplate/") {
            self.enter("ListTagsForResource", arn)?;
            let state = self.lock();
            return match state.templates.contains_key(arn) {
                true => Ok(state.template_tags.get(arn).cloned().unwrap_or_default()),
                false => Err(not_found("ListTagsForResource", arn)),
            };
        }
        let job_id = arn.rsplit('/').next().unwrap_or_default();
        self.enter("ListTagsForResource", job_id)?;
        self.lock()
            .jobs
            .get(job_id)
            .map(|(_, s)| {
                s.tags
                    .iter()
                    .map(|(k, v)| (k.clone(), v.0.clone()))
                    .collect()
            })
            .ok_or_else(|| not_found("ListTagsForResource", job_id))
    }

    async fn create_job(&self, job_id: &str, spec: &ResolvedSpec) -> Result<String, ApiError> {
        self.enter("CreateJob", job_id)?;
        let mut state = self.lock();
        if state.jobs.contains_key(job_id) {
            return Err(ApiError {
                operation: "CreateJob",
                kind: ErrorKind::AlreadyExists,
                code: "ResourceAlreadyExistsException".into(),
                message: format!("Job {job_id} already exists"),
                request_id: None,
                endpoint: None,
            });
        }
        state.jobs.insert(
            job_id.to_string(),
            (JobStatus::InProgress, JobSpec::clone(spec)),
        );
        Ok(job_arn(job_id))
    }

    async fn list_jobs(&self) -> Result<Vec<JobSummary>, ApiError> {
        self.enter("ListJobs", "")?;
        let state = self.lock();
        Ok(state
            .jobs
            .iter()
            .map(|(id, (status, _))| {
                let progress = state.progress.get(id);
                JobSummary {
                    job_id: id.clone(),
                    job_arn: job_arn(id),
                    status: status.clone(),
                    completed_at: progress.and_then(|p| p.completed_at),
                    last_updated_at: progress.and_then(|p| p.last_updated_at),
                }
            })
            .collect())
    }

    async fn update_job(&self, job_id: &str, update: &JobUpdate) -> Result<(), ApiError> {
        self.enter("UpdateJob", job_id)?;
        let mut state = self.lock();
        let (status, spec) = state
            .jobs
            .get_mut(job_id)
            .ok_or_else(|| not_found("UpdateJob", job_id))?;
        if !matches!(status, JobStatus::InProgress | JobStatus::Scheduled) {
            return Err(invalid(
                "UpdateJob",
                "only IN_PROGRESS or SCHEDULED jobs can be updated",
            ));
        }
        update.apply_to(spec);
        Ok(())
    }

    async fn cancel_job(&self, job_id: &str, _force: bool, _comment: &str) -> Result<(), ApiError> {
        self.enter("CancelJob", job_id)?;
        let mut state = self.lock();
        let (status, _) = state
            .jobs
            .get_mut(job_id)
            .ok_or_else(|| not_found("CancelJob", job_id))?;
        if matches!(
            status,
            JobStatus::Completed | JobStatus::Canceled | JobStatus::DeletionInProgress
        ) {
            return Err(invalid("CancelJob", "the job is not active"));
        }
        *status = JobStatus::Canceled;
        Ok(())
    }

    async fn cancel_job_with_reason(
        &self,
        job_id: &str,
        reason_code: &str,
        comment: &str,
    ) -> Result<(), ApiError> {
        self.cancel_job(job_id, false, comment).await?;
        let mut state = self.lock();
        let progress = state.progress.entry(job_id.to_string()).or_default();
        progress.reason_code = Some(reason_code.to_string());
        progress.comment = Some(comment.to_string());
        Ok(())
    }

    async fn delete_job(&self, job_id: &str, force: bool) -> Result<(), ApiError> {
        self.enter("DeleteJob", job_id)?;
        let mut state = self.lock();
        let (status, _) = state
            .jobs
            .get(job_id)
            .ok_or_else(|| not_found("DeleteJob", job_id))?;
        if !force && !matches!(status, JobStatus::Completed | JobStatus::Canceled) {
            return Err(invalid(
                "DeleteJob",
                "force is needed to delete an active job",
            ));
        }
        // The fake completes deletions at once; the emulator tests the asynchronous phase.
        state.jobs.remove(job_id);
        Ok(())
    }

    async fn associate_targets(&self, job_id: &str, targets: &[String]) -> Result<(), ApiError> {
        self.enter("AssociateTargetsWithJob", job_id)?;
        let mut state = self.lock();
        let (_, spec) = state
            .jobs
            .get_mut(job_id)
            .ok_or_else(|| not_found("AssociateTargetsWithJob", job_id))?;
        spec.targets
            .extend(targets.iter().map(|t| Target::Arn(t.clone())));
        Ok(())
    }

    async fn tag_resource(
        &self,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), ApiError> {
        let job_id = arn.rsplit('/').next().unwrap_or_default().to_string();
        self.enter("TagResource", &job_id)?;
        let mut state = self.lock();
        let (_, spec) = state
            .jobs
            .get_mut(&job_id)
            .ok_or_else(|| not_found("TagResource", &job_id))?;
        for (k, v) in tags {
            spec.tags.insert(k.clone(), TagValue(v.clone()));
        }
        Ok(())
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), ApiError> {
        let job_id = arn.rsplit('/').next().unwrap_or_default().to_string();
        self.enter("UntagResource", &job_id)?;
        let mut state = self.lock();
        let (_, spec) = state
            .jobs
            .get_mut(&job_id)
            .ok_or_else(|| not_found("UntagResource", &job_id))?;
        for k in keys {
            spec.tags.remove(k);
        }
        Ok(())
    }

    async fn list_job_executions(
        &self,
        job_id: &str,
        status: &ExecutionStatus,
        max: usize,
    ) -> Result<Vec<ExecutionSummary>, ApiError> {
        self.enter("ListJobExecutionsForJob", job_id)?;
        Ok(self
            .rows(job_id)
            .into_iter()
            .map(|(summary, _)| summary)
            .filter(|s| &s.status == status)
            .take(max)
            .collect())
    }

    async fn describe_job_execution(
        &self,
        job_id: &str,
        thing_name: &str,
    ) -> Result<Option<ExecutionDetail>, ApiError> {
        self.enter("DescribeJobExecution", &format!("{job_id} {thing_name}"))?;
        Ok(self
            .rows(job_id)
            .into_iter()
            .find(|(s, _)| s.thing_name() == thing_name)
            .map(|(_, detail)| detail))
    }

    fn server_time(&self) -> Option<SystemTime> {
        self.lock().server_time
    }

    async fn describe_thing(&self, name: &str) -> Result<Option<String>, ApiError> {
        self.enter("DescribeThing", name)?;
        let state = self.lock();
        Ok(state
            .things
            .iter()
            .any(|t| t == name)
            .then(|| format!("arn:aws:iot:{REGION}:{ACCOUNT}:thing/{name}")))
    }

    async fn describe_thing_group(&self, name: &str) -> Result<Option<String>, ApiError> {
        self.enter("DescribeThingGroup", name)?;
        let state = self.lock();
        Ok(state
            .groups
            .iter()
            .any(|t| t == name)
            .then(|| format!("arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/{name}")))
    }

    async fn create_job_template(
        &self,
        template_id: &str,
        spec: &JobTemplateSpec,
    ) -> Result<String, ApiError> {
        self.enter("CreateJobTemplate", template_id)?;
        let arn = template_arn(template_id);
        let mut state = self.lock();
        if state.templates.contains_key(&arn) {
            return Err(ApiError {
                operation: "CreateJobTemplate",
                kind: ErrorKind::AlreadyExists,
                code: "ConflictException".into(),
                message: format!("Job template {template_id} already exists."),
                request_id: None,
                endpoint: None,
            });
        }
        let mut job_spec = spec.as_job_spec();
        job_spec.tags.clear();
        state.templates.insert(
            arn.clone(),
            JobTemplateDescription {
                template_arn: arn.clone(),
                managed: false,
                document_text: spec.document.as_ref().map(ToString::to_string),
                spec: job_spec,
                parameters: Vec::new(),
            },
        );
        state.template_tags.insert(
            arn.clone(),
            spec.tags
                .iter()
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect(),
        );
        Ok(arn)
    }

    async fn delete_job_template(&self, template_id: &str) -> Result<(), ApiError> {
        self.enter("DeleteJobTemplate", template_id)?;
        let arn = template_arn(template_id);
        let mut state = self.lock();
        state.template_tags.remove(&arn);
        state
            .templates
            .remove(&arn)
            .map(|_| ())
            .ok_or_else(|| not_found("DeleteJobTemplate", template_id))
    }

    async fn list_job_templates(&self) -> Result<Vec<(String, String)>, ApiError> {
        self.enter("ListJobTemplates", "")?;
        Ok(self
            .lock()
            .templates
            .values()
            .filter(|t| !t.managed)
            .filter_map(|t| {
                let id = t.template_arn.rsplit_once(":jobtemplate/")?.1;
                Some((id.to_string(), t.template_arn.clone()))
            })
            .collect())
    }

    async fn describe_job_template(
        &self,
        template_arn: &str,
    ) -> Result<Option<JobTemplateDescription>, ApiError> {
        self.enter("DescribeJobTemplate", template_arn)?;
        Ok(self.lock().templates.get(template_arn).cloned())
    }
}

impl FakeJobs {
    fn rows(&self, job_id: &str) -> Vec<(ExecutionSummary, ExecutionDetail)> {
        self.lock()
            .executions
            .get(job_id)
            .cloned()
            .unwrap_or_default()
    }
}

fn invalid(operation: &'static str, message: &str) -> ApiError {
    ApiError {
        operation,
        kind: ErrorKind::InvalidRequest,
        code: "InvalidRequestException".into(),
        message: message.into(),
        request_id: None,
        endpoint: None,
    }
}

fn not_found(operation: &'static str, id: &str) -> ApiError {
    ApiError {
        operation,
        kind: ErrorKind::NotFound,
        code: "ResourceNotFoundException".into(),
        message: format!("{id} does not exist"),
        request_id: None,
        endpoint: None,
    }
}

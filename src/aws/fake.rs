//! An in-memory [`JobsApi`] for unit tests of resolving, planning and applying: same contract as
//! the SDK implementation, with scripted failures and a call log.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{ApiError, ErrorKind, JobDescription, JobStatus, JobsApi};
use crate::manifest::model::JobSpec;

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

    pub fn insert_job(&self, job_id: &str, status: JobStatus, spec: JobSpec) {
        self.lock().jobs.insert(job_id.to_string(), (status, spec));
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
                });
            }
        }
        Ok(())
    }
}

pub fn job_arn(job_id: &str) -> String {
    format!("arn:aws:iot:{REGION}:{ACCOUNT}:job/{job_id}")
}

#[async_trait]
impl JobsApi for FakeJobs {
    async fn describe_job(&self, job_id: &str) -> Result<Option<JobDescription>, ApiError> {
        self.enter("DescribeJob", job_id)?;
        Ok(self.lock().jobs.get(job_id).map(|(status, spec)| {
            let mut spec = spec.clone();
            spec.document = None;
            spec.tags.clear();
            JobDescription {
                job_arn: job_arn(job_id),
                status: status.clone(),
                spec,
            }
        }))
    }

    async fn get_job_document(&self, job_id: &str) -> Result<String, ApiError> {
        self.enter("GetJobDocument", job_id)?;
        self.lock()
            .jobs
            .get(job_id)
            .map(|(_, s)| {
                s.document
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            })
            .ok_or_else(|| not_found("GetJobDocument", job_id))
    }

    async fn list_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, ApiError> {
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

    async fn create_job(&self, job_id: &str, spec: &JobSpec) -> Result<String, ApiError> {
        self.enter("CreateJob", job_id)?;
        let mut state = self.lock();
        if state.jobs.contains_key(job_id) {
            return Err(ApiError {
                operation: "CreateJob",
                kind: ErrorKind::AlreadyExists,
                code: "ResourceAlreadyExistsException".into(),
                message: format!("Job {job_id} already exists"),
            });
        }
        state
            .jobs
            .insert(job_id.to_string(), (JobStatus::InProgress, spec.clone()));
        Ok(job_arn(job_id))
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
}

fn not_found(operation: &'static str, id: &str) -> ApiError {
    ApiError {
        operation,
        kind: ErrorKind::NotFound,
        code: "ResourceNotFoundException".into(),
        message: format!("{id} does not exist"),
    }
}

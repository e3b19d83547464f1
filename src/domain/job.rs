//! Jobs as the manifests declare them and as the account holds them.

use std::fmt;
use std::time::SystemTime;

use serde::Serialize;

use super::spec::JobSpec;

/// Where a job was declared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// A job as the manifests declare it. The document is resolved: `documentFile` has been read into
/// `spec.document`, so downstream code sees one inline document or a `documentSource`. Targets
/// may still be names; see [`super::ResolvedJob`].
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredJob {
    pub job_id: String,
    /// Boxed: the loader moves 10,000 of these from one vector to the next, and an inline spec
    /// is most of their size.
    pub spec: Box<JobSpec>,
    pub origin: Origin,
    /// `metadata.maxFailureRate`: the share of failed executions (percent) this job tolerates
    /// before jobctl calls it Degraded. jobctl's own; never sent to AWS.
    pub max_failure_rate: Option<f64>,
    /// Set for a `kind: Rollout`: its stages. The spec then holds every stage's targets.
    pub rollout: Option<super::rollout::RolloutSpec>,
    /// Where some spec keys are written (`jobTemplate`, `jobTemplateArn`, `documentParameters`),
    /// for errors found after loading that belong on that line rather than on `metadata.name`.
    pub key_origins: std::collections::BTreeMap<&'static str, Origin>,
}

/// A job's status as AWS reports it; unknown values are kept, not guessed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    InProgress,
    Scheduled,
    Completed,
    Canceled,
    DeletionInProgress,
    #[serde(untagged)]
    Other(String),
}

impl JobStatus {
    pub fn parse(text: &str) -> Self {
        match text {
            "IN_PROGRESS" => Self::InProgress,
            "SCHEDULED" => Self::Scheduled,
            "COMPLETED" => Self::Completed,
            "CANCELED" => Self::Canceled,
            "DELETION_IN_PROGRESS" => Self::DeletionInProgress,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::InProgress => "IN_PROGRESS",
            Self::Scheduled => "SCHEDULED",
            Self::Completed => "COMPLETED",
            Self::Canceled => "CANCELED",
            Self::DeletionInProgress => "DELETION_IN_PROGRESS",
            Self::Other(s) => s,
        }
    }

    /// Running or waiting to run: the states in which a job can still be changed or cancelled.
    pub fn is_active(&self) -> bool {
        matches!(self, Self::InProgress | Self::Scheduled)
    }

    /// Finished, so that running it again would repeat a rollout.
    pub fn is_finished(&self) -> bool {
        matches!(self, Self::Completed | Self::Canceled)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of ListJobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSummary {
    pub job_id: String,
    pub job_arn: String,
    pub status: JobStatus,
    /// When the job completed (COMPLETED jobs).
    pub completed_at: Option<SystemTime>,
    /// When the job last changed (a cancellation, for CANCELED jobs, which have no
    /// `completedAt`).
    pub last_updated_at: Option<SystemTime>,
}

impl JobSummary {
    /// When a finished job finished: `completedAt`, else the last update (a cancellation).
    pub fn finished_at(&self) -> Option<SystemTime> {
        self.completed_at.or(self.last_updated_at)
    }
}

/// DescribeJob's `jobProcessDetails`, named as AWS names them: how many things are in each
/// execution state (the latest attempt of each thing), and the targets still being rolled out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobProcessDetails {
    /// The targets executions are still being rolled out to; absent once the rollout is done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_targets: Option<Vec<String>>,
    pub number_of_canceled_things: u64,
    pub number_of_succeeded_things: u64,
    pub number_of_failed_things: u64,
    pub number_of_rejected_things: u64,
    pub number_of_queued_things: u64,
    pub number_of_in_progress_things: u64,
    pub number_of_removed_things: u64,
    pub number_of_timed_out_things: u64,
}

impl JobProcessDetails {
    /// Things that ran the job to an end that counts for the success rate: succeeded, failed,
    /// rejected or timed out (canceled and removed things did not run it).
    pub fn executed(&self) -> u64 {
        self.number_of_succeeded_things + self.failures()
    }

    /// Failed, rejected and timed out: the executions that count against the tolerance.
    pub fn failures(&self) -> u64 {
        self.number_of_failed_things
            + self.number_of_rejected_things
            + self.number_of_timed_out_things
    }

    /// Executions not yet at an end: queued or in progress.
    pub fn pending(&self) -> u64 {
        self.number_of_queued_things + self.number_of_in_progress_things
    }

    /// Every thing notified so far, whatever its state.
    pub fn notified(&self) -> u64 {
        self.pending()
            + self.executed()
            + self.number_of_canceled_things
            + self.number_of_removed_things
    }

    /// Whether executions are still being rolled out to targets.
    pub fn rolling_out(&self) -> bool {
        self.processing_targets.is_some()
    }
}

/// How a job is running, from DescribeJob: the counts, and why it was canceled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobProgress {
    pub details: JobProcessDetails,
    /// Why the job was canceled (e.g. `ABORT_CRITERIA_MET` from an abortConfig, as AWS and the
    /// emulator set it, or the code given to CancelJob).
    pub reason_code: Option<String>,
    pub comment: Option<String>,
    pub force_canceled: Option<bool>,
    pub created_at: Option<SystemTime>,
    pub last_updated_at: Option<SystemTime>,
    pub completed_at: Option<SystemTime>,
}

/// What DescribeJob says about a job, in manifest terms. `spec.document` and `spec.tags` are
/// empty here: they come from other calls.
#[derive(Debug, Clone, PartialEq)]
pub struct JobDescription {
    pub job_arn: String,
    pub status: JobStatus,
    pub spec: JobSpec,
    pub progress: JobProgress,
}

/// A job as it exists in the account: description, document and tags together.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteJob {
    pub job_id: String,
    pub job_arn: String,
    pub status: JobStatus,
    /// The job in manifest form; targets are ARNs and the document is parsed JSON when it is
    /// JSON (AWS stores it as text).
    pub spec: JobSpec,
    /// Its counts, as DescribeJob gave them with the spec.
    pub progress: JobProgress,
}

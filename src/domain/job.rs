//! Jobs as the manifests declare them and as the account holds them.

use std::fmt;

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
    pub spec: JobSpec,
    pub origin: Origin,
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
}

/// What DescribeJob says about a job, in manifest terms. `spec.document` and `spec.tags` are
/// empty here: they come from other calls.
#[derive(Debug, Clone, PartialEq)]
pub struct JobDescription {
    pub job_arn: String,
    pub status: JobStatus,
    pub spec: JobSpec,
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
}

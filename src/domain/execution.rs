//! Job executions: one thing's run of one job, as ListJobExecutionsForJob and
//! DescribeJobExecution report them.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// An execution's state (AWS's `JobExecutionStatus`); unknown values are kept, not guessed at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Queued,
    InProgress,
    Succeeded,
    Failed,
    TimedOut,
    Rejected,
    Removed,
    Canceled,
    #[serde(untagged)]
    Other(String),
}

impl ExecutionStatus {
    /// The states whose executions count against a job's failure tolerance.
    pub const FAILING: [Self; 3] = [Self::Failed, Self::Rejected, Self::TimedOut];

    pub fn parse(text: &str) -> Self {
        match text {
            "QUEUED" => Self::Queued,
            "IN_PROGRESS" => Self::InProgress,
            "SUCCEEDED" => Self::Succeeded,
            "FAILED" => Self::Failed,
            "TIMED_OUT" => Self::TimedOut,
            "REJECTED" => Self::Rejected,
            "REMOVED" => Self::Removed,
            "CANCELED" => Self::Canceled,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Queued => "QUEUED",
            Self::InProgress => "IN_PROGRESS",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::TimedOut => "TIMED_OUT",
            Self::Rejected => "REJECTED",
            Self::Removed => "REMOVED",
            Self::Canceled => "CANCELED",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of ListJobExecutionsForJob: a thing's latest attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionSummary {
    pub thing_arn: String,
    pub status: ExecutionStatus,
    pub execution_number: Option<i64>,
    pub retry_attempt: Option<i32>,
}

impl ExecutionSummary {
    /// The thing's name: the last segment of its ARN.
    pub fn thing_name(&self) -> &str {
        self.thing_arn
            .rsplit_once("thing/")
            .map_or(self.thing_arn.as_str(), |(_, name)| name)
    }
}

/// What DescribeJobExecution adds: the device's own account of what happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutionDetail {
    /// `statusDetails.detailsMap`, as the device reported it.
    pub status_details: BTreeMap<String, String>,
}

//! The vocabulary the rest of jobctl shares: the job spec, jobs as declared and as they exist,
//! their status and progress, executions, ownership, resolved targets and what UpdateJob may
//! change.
//!
//! A leaf on purpose: nothing here imports another jobctl module, so the planning core
//! (`engine::plan`) and the AWS boundary (`aws`) can both depend on it without depending on each
//! other. Plain data with no I/O.

pub mod execution;
pub mod job;
pub mod ownership;
pub mod resource;
pub mod rollout;
pub mod spec;
pub mod targets;
pub mod template;
pub mod update;

pub use execution::{ExecutionDetail, ExecutionStatus, ExecutionSummary};
pub use job::{
    DesiredJob, JobDescription, JobProcessDetails, JobProgress, JobStatus, JobSummary, Origin,
    RemoteJob,
};
pub use resource::{Kind, ResourceId};
pub use targets::{ResolvedJob, ResolvedSpec};
pub use template::{DesiredTemplate, JobTemplateDescription, JobTemplateSpec, TemplateParameter};
pub use update::JobUpdate;

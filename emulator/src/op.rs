//! The list of AWS operations the emulator answers, named as in the service models, with
//! the facts other modules key on (which ones AWS rate-limits, which ones change state).
//! A leaf: it knows nothing about routing or handlers.

/// Every operation the emulator answers, named as in the service model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    CreateJob,
    DescribeJob,
    GetJobDocument,
    ListJobs,
    UpdateJob,
    CancelJob,
    DeleteJob,
    AssociateTargetsWithJob,
    ListJobExecutionsForJob,
    ListJobExecutionsForThing,
    DescribeJobExecution,
    TagResource,
    UntagResource,
    ListTagsForResource,
    CreateThing,
    DescribeThing,
    CreateThingGroup,
    DescribeThingGroup,
    AddThingToThingGroup,
    DeleteThing,
    RemoveThingFromThingGroup,
    UpdateThingGroupsForThing,
    ListThingGroups,
    ListThingGroupsForThing,
    ListThingsInThingGroup,
    CancelJobExecution,
    DeleteJobExecution,
    CreateJobTemplate,
    DescribeJobTemplate,
    ListJobTemplates,
    DeleteJobTemplate,
    ListManagedJobTemplates,
    DescribeManagedJobTemplate,
    // iot-jobs-data (the device data plane), told apart by the SigV4 service name.
    DataGetPendingJobExecutions,
    DataStartNextPendingJobExecution,
    DataDescribeJobExecution,
    DataUpdateJobExecution,
    // The Resource Groups Tagging API, told apart by the SigV4 service name `tagging`.
    TaggingGetResources,
}

/// Which service model an operation belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plane {
    /// `iot` (2015-05-28).
    Control,
    /// `iot-jobs-data` (2017-09-29).
    Data,
    /// `tagging` (Resource Groups Tagging API 2017-01-26, JSON 1.1).
    Tagging,
}

impl Op {
    pub const ALL: [Op; 38] = [
        Op::CreateJob,
        Op::DescribeJob,
        Op::GetJobDocument,
        Op::ListJobs,
        Op::UpdateJob,
        Op::CancelJob,
        Op::DeleteJob,
        Op::AssociateTargetsWithJob,
        Op::ListJobExecutionsForJob,
        Op::ListJobExecutionsForThing,
        Op::DescribeJobExecution,
        Op::TagResource,
        Op::UntagResource,
        Op::ListTagsForResource,
        Op::CreateThing,
        Op::DescribeThing,
        Op::CreateThingGroup,
        Op::DescribeThingGroup,
        Op::AddThingToThingGroup,
        Op::DeleteThing,
        Op::RemoveThingFromThingGroup,
        Op::UpdateThingGroupsForThing,
        Op::ListThingGroups,
        Op::ListThingGroupsForThing,
        Op::ListThingsInThingGroup,
        Op::CancelJobExecution,
        Op::DeleteJobExecution,
        Op::CreateJobTemplate,
        Op::DescribeJobTemplate,
        Op::ListJobTemplates,
        Op::DeleteJobTemplate,
        Op::ListManagedJobTemplates,
        Op::DescribeManagedJobTemplate,
        Op::DataGetPendingJobExecutions,
        Op::DataStartNextPendingJobExecution,
        Op::DataDescribeJobExecution,
        Op::DataUpdateJobExecution,
        Op::TaggingGetResources,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Op::CreateJob => "CreateJob",
            Op::DescribeJob => "DescribeJob",
            Op::GetJobDocument => "GetJobDocument",
            Op::ListJobs => "ListJobs",
            Op::UpdateJob => "UpdateJob",
            Op::CancelJob => "CancelJob",
            Op::DeleteJob => "DeleteJob",
            Op::AssociateTargetsWithJob => "AssociateTargetsWithJob",
            Op::ListJobExecutionsForJob => "ListJobExecutionsForJob",
            Op::ListJobExecutionsForThing => "ListJobExecutionsForThing",
            Op::DescribeJobExecution => "DescribeJobExecution",
            Op::TagResource => "TagResource",
            Op::UntagResource => "UntagResource",
            Op::ListTagsForResource => "ListTagsForResource",
            Op::CreateThing => "CreateThing",
            Op::DescribeThing => "DescribeThing",
            Op::CreateThingGroup => "CreateThingGroup",
            Op::DescribeThingGroup => "DescribeThingGroup",
            Op::AddThingToThingGroup => "AddThingToThingGroup",
            Op::DeleteThing => "DeleteThing",
            Op::RemoveThingFromThingGroup => "RemoveThingFromThingGroup",
            Op::UpdateThingGroupsForThing => "UpdateThingGroupsForThing",
            Op::ListThingGroups => "ListThingGroups",
            Op::ListThingGroupsForThing => "ListThingGroupsForThing",
            Op::ListThingsInThingGroup => "ListThingsInThingGroup",
            Op::CancelJobExecution => "CancelJobExecution",
            Op::DeleteJobExecution => "DeleteJobExecution",
            Op::CreateJobTemplate => "CreateJobTemplate",
            Op::DescribeJobTemplate => "DescribeJobTemplate",
            Op::ListJobTemplates => "ListJobTemplates",
            Op::DeleteJobTemplate => "DeleteJobTemplate",
            Op::ListManagedJobTemplates => "ListManagedJobTemplates",
            Op::DescribeManagedJobTemplate => "DescribeManagedJobTemplate",
            // Prefixed so --tps, --fail and the stats tell them from the control plane's
            // DescribeJobExecution.
            Op::DataGetPendingJobExecutions => "iot-jobs-data:GetPendingJobExecutions",
            Op::DataStartNextPendingJobExecution => "iot-jobs-data:StartNextPendingJobExecution",
            Op::DataDescribeJobExecution => "iot-jobs-data:DescribeJobExecution",
            Op::DataUpdateJobExecution => "iot-jobs-data:UpdateJobExecution",
            Op::TaggingGetResources => "tagging:GetResources",
        }
    }

    pub fn parse(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// The job control-plane APIs that AWS limits to 10 TPS each (`--aws-limits`).
    pub fn is_job_api(self) -> bool {
        matches!(
            self,
            Op::CreateJob
                | Op::DescribeJob
                | Op::GetJobDocument
                | Op::ListJobs
                | Op::UpdateJob
                | Op::CancelJob
                | Op::DeleteJob
                | Op::AssociateTargetsWithJob
                | Op::ListJobExecutionsForJob
                | Op::ListJobExecutionsForThing
                | Op::DescribeJobExecution
                | Op::CancelJobExecution
                | Op::DeleteJobExecution
        )
    }

    /// Operations that change state and so are followed by a state-file save.
    pub fn mutates(self) -> bool {
        matches!(
            self,
            Op::CreateJob
                | Op::UpdateJob
                | Op::CancelJob
                | Op::DeleteJob
                | Op::AssociateTargetsWithJob
                | Op::TagResource
                | Op::UntagResource
                | Op::CreateThing
                | Op::CreateThingGroup
                | Op::AddThingToThingGroup
                | Op::DeleteThing
                | Op::RemoveThingFromThingGroup
                | Op::UpdateThingGroupsForThing
                | Op::CancelJobExecution
                | Op::DeleteJobExecution
                | Op::CreateJobTemplate
                | Op::DeleteJobTemplate
                | Op::DataStartNextPendingJobExecution
                | Op::DataUpdateJobExecution
        )
    }
}

//! The rest-json routing table: maps a method and decoded path to an operation and its
//! URI labels (as `http.requestUri` in the service model), and dispatches an operation to
//! its handler in `ops`. The router depends on the handlers, never the other way round.

use serde_json::Value;

use crate::error::ApiError;
use crate::model::Scope;
use crate::op::{Op, Plane};
use crate::ops::{data, executions, jobs, tagging, tags, templates, things};
use crate::request::Req;

/// Maps method and decoded path segments to an operation and its URI labels. Paths and
/// methods are the `http.requestUri`/`method` of the models; `AddThingToThingGroup` is
/// `PUT /thing-groups/addThingToThingGroup` (and `removeThingFromThingGroup`,
/// `updateThingGroupsForThing`), which the router checks before the
/// `/thing-groups/{thingGroupName}` label. The two planes share paths
/// (`GET /things/{thingName}/jobs`), so the plane comes from the request's signature.
pub fn route(
    plane: Plane,
    method: &str,
    segs: &[String],
    target: Option<&str>,
) -> Option<(Op, Vec<String>)> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    if plane == Plane::Tagging {
        // JSON 1.1: every operation is `POST /`, named by the X-Amz-Target header.
        return match (method, s.as_slice(), target) {
            ("POST", [], Some("ResourceGroupsTaggingAPI_20170126.GetResources")) => {
                Some((Op::TaggingGetResources, Vec::new()))
            }
            _ => None,
        };
    }
    if plane == Plane::Data {
        let op = match (method, s.as_slice()) {
            ("GET", ["things", _, "jobs"]) => Op::DataGetPendingJobExecutions,
            ("PUT", ["things", _, "jobs", "$next"]) => Op::DataStartNextPendingJobExecution,
            ("GET", ["things", _, "jobs", _]) => Op::DataDescribeJobExecution,
            ("POST", ["things", _, "jobs", _]) => Op::DataUpdateJobExecution,
            _ => return None,
        };
        return Some((op, segs[1..].iter().step_by(2).cloned().collect()));
    }
    let op = match (method, s.as_slice()) {
        ("GET", ["jobs"]) => Op::ListJobs,
        ("PUT", ["jobs", _]) => Op::CreateJob,
        ("GET", ["jobs", _]) => Op::DescribeJob,
        ("PATCH", ["jobs", _]) => Op::UpdateJob,
        ("DELETE", ["jobs", _]) => Op::DeleteJob,
        ("PUT", ["jobs", _, "cancel"]) => Op::CancelJob,
        ("GET", ["jobs", _, "job-document"]) => Op::GetJobDocument,
        ("POST", ["jobs", _, "targets"]) => Op::AssociateTargetsWithJob,
        ("GET", ["jobs", _, "things"]) => Op::ListJobExecutionsForJob,
        ("GET", ["tags"]) => Op::ListTagsForResource,
        ("POST", ["tags"]) => Op::TagResource,
        ("POST", ["untag"]) => Op::UntagResource,
        // The model says POST; PUT is accepted too because older docs and scripts use it.
        ("POST" | "PUT", ["things", _]) => Op::CreateThing,
        ("GET", ["things", _]) => Op::DescribeThing,
        ("DELETE", ["things", _]) => Op::DeleteThing,
        ("GET", ["things", _, "thing-groups"]) => Op::ListThingGroupsForThing,
        ("GET", ["things", _, "jobs"]) => Op::ListJobExecutionsForThing,
        ("GET", ["things", _, "jobs", _]) => Op::DescribeJobExecution,
        ("PUT", ["things", _, "jobs", _, "cancel"]) => Op::CancelJobExecution,
        ("DELETE", ["things", _, "jobs", _, "executionNumber", _]) => Op::DeleteJobExecution,
        ("GET", ["job-templates"]) => Op::ListJobTemplates,
        ("PUT", ["job-templates", _]) => Op::CreateJobTemplate,
        ("GET", ["job-templates", _]) => Op::DescribeJobTemplate,
        ("DELETE", ["job-templates", _]) => Op::DeleteJobTemplate,
        ("GET", ["managed-job-templates"]) => Op::ListManagedJobTemplates,
        ("GET", ["managed-job-templates", _]) => Op::DescribeManagedJobTemplate,
        ("PUT", ["thing-groups", "addThingToThingGroup"]) => Op::AddThingToThingGroup,
        ("PUT", ["thing-groups", "removeThingFromThingGroup"]) => Op::RemoveThingFromThingGroup,
        ("PUT", ["thing-groups", "updateThingGroupsForThing"]) => Op::UpdateThingGroupsForThing,
        ("GET", ["thing-groups"]) => Op::ListThingGroups,
        ("GET", ["thing-groups", _, "things"]) => Op::ListThingsInThingGroup,
        ("POST" | "PUT", ["thing-groups", _]) => Op::CreateThingGroup,
        ("GET", ["thing-groups", _]) => Op::DescribeThingGroup,
        _ => return None,
    };
    let labels = match op {
        Op::ListJobs
        | Op::ListTagsForResource
        | Op::TagResource
        | Op::UntagResource
        | Op::AddThingToThingGroup
        | Op::RemoveThingFromThingGroup
        | Op::UpdateThingGroupsForThing
        | Op::ListThingGroups
        | Op::TaggingGetResources
        | Op::ListJobTemplates
        | Op::ListManagedJobTemplates => Vec::new(),
        // /things/{thingName}/jobs/{jobId}[/cancel | /executionNumber/{executionNumber}]
        Op::DescribeJobExecution | Op::CancelJobExecution => {
            vec![segs[1].clone(), segs[3].clone()]
        }
        Op::DeleteJobExecution => vec![segs[1].clone(), segs[3].clone(), segs[5].clone()],
        _ => vec![segs[1].clone()],
    };
    Some((op, labels))
}

/// `{}`: the answer of operations whose output structure has no members.
fn empty() -> Option<Value> {
    Some(Value::Object(Default::default()))
}

/// Runs one operation against a scope. Returns the JSON response body (`None` for the
/// operations whose model has no output, which answer an empty body).
pub fn dispatch(scope: &mut Scope, req: &Req<'_>) -> Result<Option<Value>, ApiError> {
    match req.op {
        Op::CreateJob => jobs::create(scope, req).map(Some),
        Op::DescribeJob => jobs::describe(scope, req).map(Some),
        Op::GetJobDocument => jobs::get_document(scope, req).map(Some),
        Op::ListJobs => jobs::list(scope, req).map(Some),
        Op::UpdateJob => jobs::update(scope, req).map(|()| None),
        Op::CancelJob => jobs::cancel(scope, req).map(Some),
        Op::DeleteJob => jobs::delete(scope, req).map(|()| None),
        Op::AssociateTargetsWithJob => jobs::associate_targets(scope, req).map(Some),
        Op::ListJobExecutionsForJob => jobs::list_executions_for_job(scope, req).map(Some),
        Op::ListJobExecutionsForThing => jobs::list_executions_for_thing(scope, req).map(Some),
        Op::DescribeJobExecution => jobs::describe_execution(scope, req).map(Some),
        Op::TagResource => tags::tag(scope, req).map(|()| empty()),
        Op::UntagResource => tags::untag(scope, req).map(|()| empty()),
        Op::ListTagsForResource => tags::list(scope, req).map(Some),
        Op::CreateThing => things::create_thing(scope, req).map(Some),
        Op::DescribeThing => things::describe_thing(scope, req).map(Some),
        Op::CreateThingGroup => things::create_group(scope, req).map(Some),
        Op::DescribeThingGroup => things::describe_group(scope, req).map(Some),
        Op::AddThingToThingGroup => things::add_thing_to_group(scope, req).map(|()| empty()),
        Op::RemoveThingFromThingGroup => {
            things::remove_thing_from_group(scope, req).map(|()| empty())
        }
        Op::UpdateThingGroupsForThing => {
            things::update_groups_for_thing(scope, req).map(|()| empty())
        }
        Op::DeleteThing => things::delete_thing(scope, req).map(|()| empty()),
        Op::ListThingGroups => things::list_groups(scope, req).map(Some),
        Op::ListThingGroupsForThing => things::list_groups_for_thing(scope, req).map(Some),
        Op::ListThingsInThingGroup => things::list_things_in_group(scope, req).map(Some),
        Op::TaggingGetResources => tagging::get_resources(scope, req).map(Some),
        Op::CancelJobExecution => executions::cancel(scope, req).map(|()| None),
        Op::CreateJobTemplate => templates::create(scope, req).map(Some),
        Op::DescribeJobTemplate => templates::describe(scope, req).map(Some),
        Op::ListJobTemplates => templates::list(scope, req).map(Some),
        Op::DeleteJobTemplate => templates::delete(scope, req).map(|()| None),
        Op::ListManagedJobTemplates => templates::list_managed(scope, req).map(Some),
        Op::DescribeManagedJobTemplate => templates::describe_managed(scope, req).map(Some),
        Op::DeleteJobExecution => executions::delete(scope, req).map(|()| None),
        Op::DataGetPendingJobExecutions => data::get_pending(scope, req).map(Some),
        Op::DataStartNextPendingJobExecution => data::start_next(scope, req).map(Some),
        Op::DataDescribeJobExecution => data::describe(scope, req).map(Some),
        Op::DataUpdateJobExecution => data::update(scope, req).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &str) -> Vec<String> {
        p.split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    }

    #[test]
    fn routes_follow_the_model() {
        assert_eq!(
            route(Plane::Control, "PUT", &segs("/jobs/j1"), None).map(|r| r.0),
            Some(Op::CreateJob)
        );
        assert_eq!(
            route(Plane::Control, "PUT", &segs("/jobs/j1/cancel"), None).map(|r| r.0),
            Some(Op::CancelJob)
        );
        assert_eq!(
            route(
                Plane::Control,
                "PUT",
                &segs("/thing-groups/addThingToThingGroup"),
                None
            )
            .map(|r| r.0),
            Some(Op::AddThingToThingGroup)
        );
        assert_eq!(
            route(Plane::Control, "GET", &segs("/things/t/jobs/j"), None),
            Some((Op::DescribeJobExecution, vec!["t".into(), "j".into()]))
        );
        assert!(route(Plane::Control, "POST", &segs("/jobs/j1"), None).is_none());
        assert_eq!(
            route(
                Plane::Control,
                "DELETE",
                &segs("/things/t/jobs/j/executionNumber/3"),
                None
            ),
            Some((
                Op::DeleteJobExecution,
                vec!["t".into(), "j".into(), "3".into()]
            ))
        );
    }

    #[test]
    fn fixed_thing_group_paths_win_over_the_name_label() {
        for (path, op) in [
            (
                "/thing-groups/addThingToThingGroup",
                Op::AddThingToThingGroup,
            ),
            (
                "/thing-groups/removeThingFromThingGroup",
                Op::RemoveThingFromThingGroup,
            ),
            (
                "/thing-groups/updateThingGroupsForThing",
                Op::UpdateThingGroupsForThing,
            ),
            ("/thing-groups/Lamps", Op::CreateThingGroup),
        ] {
            assert_eq!(
                route(Plane::Control, "PUT", &segs(path), None).map(|r| r.0),
                Some(op),
                "{path}"
            );
        }
        assert_eq!(
            route(Plane::Control, "GET", &segs("/thing-groups/G/things"), None),
            Some((Op::ListThingsInThingGroup, vec!["G".into()]))
        );
        assert_eq!(
            route(Plane::Control, "GET", &segs("/things/t/thing-groups"), None),
            Some((Op::ListThingGroupsForThing, vec!["t".into()]))
        );
        assert_eq!(
            route(Plane::Control, "DELETE", &segs("/things/t"), None).map(|r| r.0),
            Some(Op::DeleteThing)
        );
    }

    #[test]
    fn tagging_is_routed_by_its_target_header() {
        let target = Some("ResourceGroupsTaggingAPI_20170126.GetResources");
        assert_eq!(
            route(Plane::Tagging, "POST", &segs("/"), target).map(|r| r.0),
            Some(Op::TaggingGetResources)
        );
        assert!(route(Plane::Tagging, "POST", &segs("/"), None).is_none());
        assert!(route(
            Plane::Tagging,
            "POST",
            &segs("/"),
            Some("ResourceGroupsTaggingAPI_20170126.TagResources")
        )
        .is_none());
        assert!(route(Plane::Tagging, "GET", &segs("/jobs"), target).is_none());
    }

    #[test]
    fn the_signing_service_picks_the_plane() {
        assert_eq!(
            route(Plane::Data, "GET", &segs("/things/t/jobs"), None).map(|r| r.0),
            Some(Op::DataGetPendingJobExecutions)
        );
        assert_eq!(
            route(Plane::Control, "GET", &segs("/things/t/jobs"), None).map(|r| r.0),
            Some(Op::ListJobExecutionsForThing)
        );
        assert_eq!(
            route(Plane::Data, "PUT", &segs("/things/t/jobs/$next"), None),
            Some((
                Op::DataStartNextPendingJobExecution,
                vec!["t".into(), "$next".into()]
            ))
        );
        assert_eq!(
            route(Plane::Data, "POST", &segs("/things/t/jobs/j"), None),
            Some((Op::DataUpdateJobExecution, vec!["t".into(), "j".into()]))
        );
        assert!(route(Plane::Data, "GET", &segs("/jobs"), None).is_none());
    }
}

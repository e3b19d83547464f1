//! The AWS operations: the `Op` list, the rest-json routing table (method + path from the
//! service model), request context and query helpers, and dispatch to the per-area
//! handlers in `jobs`, `things` and `tags`.

pub mod jobs;
pub mod tags;
pub mod things;

use serde_json::Value;

use crate::error::ApiError;
use crate::model::Scope;
use crate::validate::{self, Rule};

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
}

impl Op {
    pub const ALL: [Op; 19] = [
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
        )
    }
}

/// Maps method and decoded path segments to an operation and its URI labels. Paths and
/// methods are the `http.requestUri`/`method` of the model; `AddThingToThingGroup` is
/// `PUT /thing-groups/addThingToThingGroup`, which the router checks before the
/// `/thing-groups/{thingGroupName}` label.
pub fn route(method: &str, segs: &[String]) -> Option<(Op, Vec<String>)> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
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
        ("GET", ["things", _, "jobs"]) => Op::ListJobExecutionsForThing,
        ("GET", ["things", _, "jobs", _]) => Op::DescribeJobExecution,
        ("PUT", ["thing-groups", "addThingToThingGroup"]) => Op::AddThingToThingGroup,
        ("POST" | "PUT", ["thing-groups", _]) => Op::CreateThingGroup,
        ("GET", ["thing-groups", _]) => Op::DescribeThingGroup,
        _ => return None,
    };
    let labels = match op {
        Op::ListJobs
        | Op::ListTagsForResource
        | Op::TagResource
        | Op::UntagResource
        | Op::AddThingToThingGroup => Vec::new(),
        Op::DescribeJobExecution => vec![segs[1].clone(), segs[3].clone()],
        _ => vec![segs[1].clone()],
    };
    Some((op, labels))
}

/// Decoded query string parameters (first value wins for a repeated name).
#[derive(Debug, Default)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let Some(raw) = raw else {
            return Query::default();
        };
        Query(
            raw.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (percent_decode(k), percent_decode(v))
                })
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn str(&self, name: &str, rule: &Rule) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => {
                validate::check_str(name, v, rule)?;
                Ok(Some(v.to_owned()))
            }
        }
    }

    pub fn bool(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(false),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(ApiError::invalid(format!(
                "Invalid value '{other}' for query parameter {name}: expected true or false"
            ))),
        }
    }

    pub fn int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        let n: i64 = v.parse().map_err(|_| {
            ApiError::invalid(format!(
                "Invalid value '{v}' for query parameter {name}: expected an integer"
            ))
        })?;
        if n < min || n > max {
            return Err(ApiError::invalid(format!(
                "1 validation error detected: Value '{n}' at '{name}' failed to satisfy constraint: Member must have value between {min} and {max}"
            )));
        }
        Ok(Some(n))
    }
}

/// Percent-decodes a URI label or query component. `+` is kept literally: AWS SDKs encode
/// spaces as `%20`, and a literal `+` can appear in values.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Pagination tokens: opaque hex of `v1|<scope-of-the-listing>|<position>`, so a token from
/// another listing or a hand-made one is rejected instead of silently restarting.
pub fn encode_token(listing: &str, position: &str) -> String {
    format!("v1|{listing}|{position}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn decode_token(listing: &str, token: &str) -> Result<String, ApiError> {
    let bad = || ApiError::invalid("The nextToken is not valid for this request");
    if !token.len().is_multiple_of(2) {
        return Err(bad());
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect();
    let text = String::from_utf8(bytes.ok_or_else(bad)?).map_err(|_| bad())?;
    let rest = text.strip_prefix("v1|").ok_or_else(bad)?;
    let (l, pos) = rest.rsplit_once('|').ok_or_else(bad)?;
    if l != listing {
        return Err(bad());
    }
    Ok(pos.to_owned())
}

/// Everything a handler needs about the request besides the state.
pub struct Req<'a> {
    pub op: Op,
    pub labels: &'a [String],
    pub query: &'a Query,
    pub body: &'a [u8],
    pub now: i64,
    pub deletion_delay_ms: i64,
    pub max_active_jobs: Option<usize>,
}

impl Req<'_> {
    pub fn label(&self, i: usize) -> &str {
        self.labels.get(i).map_or("", String::as_str)
    }

    pub fn json(&self) -> Result<Value, ApiError> {
        validate::parse_body(self.body)
    }
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
        Op::TagResource => tags::tag(scope, req).map(|()| Some(Value::Object(Default::default()))),
        Op::UntagResource => {
            tags::untag(scope, req).map(|()| Some(Value::Object(Default::default())))
        }
        Op::ListTagsForResource => tags::list(scope, req).map(Some),
        Op::CreateThing => things::create_thing(scope, req).map(Some),
        Op::DescribeThing => things::describe_thing(scope, req).map(Some),
        Op::CreateThingGroup => things::create_group(scope, req).map(Some),
        Op::DescribeThingGroup => things::describe_group(scope, req).map(Some),
        Op::AddThingToThingGroup => {
            things::add_thing_to_group(scope, req).map(|()| Some(Value::Object(Default::default())))
        }
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
            route("PUT", &segs("/jobs/j1")).map(|r| r.0),
            Some(Op::CreateJob)
        );
        assert_eq!(
            route("PUT", &segs("/jobs/j1/cancel")).map(|r| r.0),
            Some(Op::CancelJob)
        );
        assert_eq!(
            route("PUT", &segs("/thing-groups/addThingToThingGroup")).map(|r| r.0),
            Some(Op::AddThingToThingGroup)
        );
        assert_eq!(
            route("GET", &segs("/things/t/jobs/j")),
            Some((Op::DescribeJobExecution, vec!["t".into(), "j".into()]))
        );
        assert!(route("POST", &segs("/jobs/j1")).is_none());
    }

    #[test]
    fn query_and_percent_decoding() {
        let q = Query::parse(Some("resourceArn=arn%3Aaws%3Aiot%3Ax%2Fy&force=true&x"));
        assert_eq!(q.get("resourceArn"), Some("arn:aws:iot:x/y"));
        assert_eq!(q.bool("force").ok(), Some(true));
        assert_eq!(q.get("x"), Some(""));
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%41%"), "A%");
    }

    #[test]
    fn tokens_round_trip_and_reject_foreign_ones() {
        let t = encode_token("jobs:status=", "42");
        assert_eq!(decode_token("jobs:status=", &t).ok(), Some("42".into()));
        assert!(decode_token("jobs:status=CANCELED", &t).is_err());
        assert!(decode_token("jobs:status=", "zz").is_err());
    }
}

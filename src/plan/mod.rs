//! The planning core: desired jobs and the account's jobs in, a [`Plan`] out.
//!
//! Pure and synchronous on purpose: no I/O, no async, no SDK types. Everything AWS-specific it
//! knows is the table of which fields UpdateJob may change; everything else is comparison.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::aws::{JobStatus, RemoteJob};
use crate::manifest::model::{JobSpec, Target, TargetSelection};
use crate::manifest::semantic::RESERVED_TAG_PREFIX;
use crate::manifest::DesiredJob;

/// What apply would do with one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Replace,
    Cancel,
    Delete,
    Unchanged,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Replace => "replace",
            Self::Cancel => "cancel",
            Self::Delete => "delete",
            Self::Unchanged => "unchanged",
        }
    }
}

/// One field that differs between the manifest and the account.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    /// The manifest field name, e.g. `description` or `abortConfig`.
    pub field: &'static str,
    /// The value in the account; `null` when absent.
    pub before: Value,
    /// The value the manifest declares; `null` when absent.
    pub after: Value,
    /// True when AWS cannot change this field in place.
    pub forces_replacement: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub job_id: String,
    pub action: Action,
    /// Where the manifest declares the job (`file:line:col`), when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The job's status in the account, when it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// The fields that force a replacement, in manifest order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forced_by: Vec<&'static str>,
    /// The spec a create would send (targets resolved, document inline).
    #[serde(skip)]
    pub desired: Option<JobSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub cancel: usize,
    pub delete: usize,
    pub unchanged: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    pub changes: Vec<Change>,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for change in &self.changes {
            match change.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Replace => s.replace += 1,
                Action::Cancel => s.cancel += 1,
                Action::Delete => s.delete += 1,
                Action::Unchanged => s.unchanged += 1,
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::Unchanged)
    }
}

/// Fields UpdateJob or the tag APIs can change in place (API reference, UpdateJob).
const MUTABLE: &[&str] = &[
    "description",
    "presignedUrlConfig",
    "jobExecutionsRolloutConfig",
    "abortConfig",
    "timeoutConfig",
    "jobExecutionsRetryConfig",
    "tags",
];

/// Every compared field, in manifest order, so diffs read like the manifest.
const FIELDS: &[&str] = &[
    "description",
    "targets",
    "targetSelection",
    "document",
    "documentSource",
    "presignedUrlConfig",
    "jobExecutionsRolloutConfig",
    "abortConfig",
    "timeoutConfig",
    "tags",
    "namespaceId",
    "jobTemplateArn",
    "jobExecutionsRetryConfig",
    "documentParameters",
    "schedulingConfig",
    "destinationPackageVersions",
];

/// Plans every desired job against the account's jobs (`actual` holds only jobs that exist).
/// Desired jobs must have resolved targets (ARNs only).
pub fn plan(desired: &[DesiredJob], actual: &HashMap<String, RemoteJob>) -> Plan {
    let mut changes: Vec<Change> = desired
        .iter()
        .map(|job| match actual.get(&job.job_id) {
            None => Change {
                job_id: job.job_id.clone(),
                action: Action::Create,
                source: Some(job.origin.to_string()),
                status: None,
                fields: Vec::new(),
                forced_by: Vec::new(),
                desired: Some(job.spec.clone()),
            },
            Some(remote) => compare(job, remote),
        })
        .collect();
    changes.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    Plan { changes }
}

fn compare(job: &DesiredJob, remote: &RemoteJob) -> Change {
    let want = normalized(&job.spec);
    let have = normalized(&remote.spec);
    let mut fields = Vec::new();
    for &field in FIELDS {
        let after = want.get(field).cloned().unwrap_or(Value::Null);
        let before = have.get(field).cloned().unwrap_or(Value::Null);
        if after != before {
            fields.push(FieldChange {
                field,
                before,
                after,
                forces_replacement: !MUTABLE.contains(&field),
            });
        }
    }
    let forced_by: Vec<&'static str> = fields
        .iter()
        .filter(|f| f.forces_replacement)
        .map(|f| f.field)
        .collect();
    let action = if !forced_by.is_empty() {
        Action::Replace
    } else if !fields.is_empty() {
        Action::Update
    } else {
        Action::Unchanged
    };
    Change {
        job_id: job.job_id.clone(),
        action,
        source: Some(job.origin.to_string()),
        status: Some(remote.status.to_string()),
        fields,
        forced_by,
        desired: Some(job.spec.clone()),
    }
}

/// The spec as comparable JSON: AWS defaults made explicit, targets as a sorted set, jobctl's own
/// tags removed, empty collections dropped.
fn normalized(spec: &JobSpec) -> Map<String, Value> {
    let mut spec = spec.clone();
    spec.target_selection = Some(spec.target_selection.unwrap_or(TargetSelection::Snapshot));
    spec.targets.sort();
    spec.targets.dedup();
    if let Some(presigned) = &mut spec.presigned_url_config {
        presigned.expires_in_sec.get_or_insert(3600);
    }
    spec.tags.retain(|k, _| !k.starts_with(RESERVED_TAG_PREFIX));
    let value = serde_json::to_value(&spec).unwrap_or(Value::Null);
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// True when every target is an ARN, which [`plan`] requires.
pub fn targets_resolved(spec: &JobSpec) -> bool {
    spec.targets.iter().all(|t| matches!(t, Target::Arn(_)))
}

/// Whether a job in this status is finished, so re-running it would repeat a rollout.
pub fn is_finished(status: &JobStatus) -> bool {
    matches!(status, JobStatus::Completed | JobStatus::Canceled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::model::TagValue;
    use crate::manifest::Origin;
    use serde_json::json;

    fn spec() -> JobSpec {
        serde_json::from_value(json!({
            "description": "Bulb firmware",
            "targets": ["arn:aws:iot:us-east-1:123456789012:thinggroup/Bulbs"],
            "document": {"operation": "update", "version": "4.2.0"},
            "timeoutConfig": {"inProgressTimeoutInMinutes": 60}
        }))
        .expect("valid spec")
    }

    fn desired(id: &str, spec: JobSpec) -> DesiredJob {
        DesiredJob {
            job_id: id.into(),
            spec,
            origin: Origin {
                file: "jobs/a.yaml".into(),
                line: 4,
                col: 9,
            },
        }
    }

    fn remote(id: &str, spec: JobSpec) -> RemoteJob {
        RemoteJob {
            job_id: id.into(),
            job_arn: format!("arn:aws:iot:us-east-1:123456789012:job/{id}"),
            status: JobStatus::InProgress,
            spec,
        }
    }

    #[test]
    fn missing_job_is_created() {
        let plan = plan(&[desired("a", spec())], &HashMap::new());
        assert_eq!(plan.changes[0].action, Action::Create);
        assert_eq!(plan.summary().create, 1);
        assert!(plan.has_changes());
    }

    #[test]
    fn defaults_and_order_do_not_count_as_changes() {
        let mut want = spec();
        want.targets.push(Target::Arn(
            "arn:aws:iot:us-east-1:123456789012:thing/A".into(),
        ));
        let mut have = want.clone();
        have.targets.reverse();
        have.target_selection = Some(TargetSelection::Snapshot);
        have.tags
            .insert("jobctl:managed-by".into(), TagValue("jobctl".into()));
        let actual = HashMap::from([("a".to_string(), remote("a", have))]);
        let plan = plan(&[desired("a", want)], &actual);
        assert_eq!(
            plan.changes[0].action,
            Action::Unchanged,
            "{:?}",
            plan.changes[0].fields
        );
        assert!(!plan.has_changes());
    }

    #[test]
    fn mutable_field_is_an_update() {
        let have = spec();
        let mut want = spec();
        want.description = Some("Bulb firmware, take two".into());
        let actual = HashMap::from([("a".to_string(), remote("a", have))]);
        let plan = plan(&[desired("a", want)], &actual);
        let change = &plan.changes[0];
        assert_eq!(change.action, Action::Update);
        assert_eq!(change.fields.len(), 1);
        assert_eq!(change.fields[0].field, "description");
        assert_eq!(change.fields[0].before, json!("Bulb firmware"));
        assert!(change.forced_by.is_empty());
    }

    #[test]
    fn document_change_forces_replacement() {
        let have = spec();
        let mut want = spec();
        want.document = Some(json!({"operation": "update", "version": "4.2.1"}));
        want.description = Some("new".into());
        let actual = HashMap::from([("a".to_string(), remote("a", have))]);
        let plan = plan(&[desired("a", want)], &actual);
        assert_eq!(plan.changes[0].action, Action::Replace);
        assert_eq!(plan.changes[0].forced_by, vec!["document"]);
        assert_eq!(plan.changes[0].fields.len(), 2);
    }

    #[test]
    fn changes_are_sorted_by_job_id() {
        let plan = plan(
            &[desired("b", spec()), desired("a", spec())],
            &HashMap::new(),
        );
        let ids: Vec<_> = plan.changes.iter().map(|c| c.job_id.as_str()).collect();
        assert_eq!(ids, vec!["a", "b"]);
    }
}

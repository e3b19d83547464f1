//! "Every target is an ARN" as a type. Manifests may name things and thing groups; CreateJob
//! and the comparison with the account need ARNs. A [`ResolvedSpec`] can only be made by
//! resolving every name (or by checking that there is none), so nothing downstream can send or
//! compare a bare name.

use std::collections::BTreeMap;
use std::ops::Deref;

use super::job::Origin;
use super::spec::{JobSpec, TagValue, Target};

/// A job spec whose targets are all ARNs. Boxed: a plan holds one per job, in every change and
/// every declared job, and an inline spec is most of their size (at 10,000 jobs, tens of MiB of
/// vectors that grow by doubling).
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedSpec(Box<JobSpec>);

impl ResolvedSpec {
    /// Sets the ARN of the template a `jobTemplate: NAME` names, once the account is known.
    pub fn set_job_template_arn(&mut self, arn: String) {
        self.0.job_template_arn = Some(arn);
    }

    /// Resolves every target that is a name with `arn_of`; ARNs pass through. Fails with every
    /// reason `arn_of` gave, so one run reports all unresolvable targets of a job.
    pub fn resolve<E>(
        spec: impl Into<Box<JobSpec>>,
        mut arn_of: impl FnMut(&Target) -> Result<String, E>,
    ) -> Result<Self, Vec<E>> {
        let mut spec = spec.into();
        let mut problems = Vec::new();
        for target in &mut spec.targets {
            if matches!(target, Target::Arn(_)) {
                continue;
            }
            match arn_of(target) {
                Ok(arn) => *target = Target::Arn(arn),
                Err(problem) => problems.push(problem),
            }
        }
        if problems.is_empty() {
            Ok(Self(spec))
        } else {
            Err(problems)
        }
    }

    /// The spec, when its targets are already ARNs (as DescribeJob reports them).
    pub fn from_arns(spec: JobSpec) -> Option<Self> {
        spec.targets
            .iter()
            .all(|t| matches!(t, Target::Arn(_)))
            .then(|| Self(Box::new(spec)))
    }

    /// The target ARNs, in manifest order.
    pub fn target_arns(&self) -> Vec<String> {
        self.0
            .targets
            .iter()
            .filter_map(|t| match t {
                Target::Arn(arn) => Some(arn.clone()),
                Target::Thing(_) | Target::ThingGroup(_) => None,
            })
            .collect()
    }

    /// The same spec with `tags` added (tags never touch targets).
    #[must_use]
    pub fn with_tags(mut self, tags: &BTreeMap<String, String>) -> Self {
        for (key, value) in tags {
            self.0.tags.insert(key.clone(), TagValue(value.clone()));
        }
        self
    }

    /// The same spec with only the targets at `keep` (a rollout's stages), in that order.
    #[must_use]
    pub fn with_targets_at(mut self, keep: &[usize]) -> Self {
        let all = std::mem::take(&mut self.0.targets);
        self.0.targets = keep.iter().filter_map(|&i| all.get(i).cloned()).collect();
        self
    }

    pub fn into_spec(self) -> JobSpec {
        *self.0
    }
}

impl Deref for ResolvedSpec {
    type Target = JobSpec;

    fn deref(&self) -> &JobSpec {
        &self.0
    }
}

/// A declared job whose targets are resolved: what plan creates or compares.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedJob {
    pub job_id: String,
    pub spec: ResolvedSpec,
    pub origin: Origin,
    /// `metadata.maxFailureRate`, carried for health (see [`super::DesiredJob`]).
    pub max_failure_rate: Option<f64>,
    /// The stages, for a `kind: Rollout` (see [`super::DesiredJob`]).
    pub rollout: Option<super::rollout::RolloutSpec>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::spec::ThingGroupRef;

    fn spec(targets: Vec<Target>) -> JobSpec {
        let mut spec: JobSpec = serde_json::from_value(serde_json::json!({
            "targets": ["arn:aws:iot:us-east-1:123456789012:thing/a"],
            "document": {}
        }))
        .expect("spec");
        spec.targets = targets;
        spec
    }

    #[test]
    fn every_name_is_resolved_or_every_failure_reported() {
        let group = |name: &str| {
            Target::ThingGroup(ThingGroupRef {
                thing_group: name.into(),
            })
        };
        let arn = Target::Arn("arn:aws:iot:us-east-1:123456789012:thing/a".into());
        let resolved = ResolvedSpec::resolve(spec(vec![arn.clone(), group("G")]), |_| {
            Ok::<_, String>("arn:g".to_string())
        })
        .expect("resolves");
        assert_eq!(
            resolved.target_arns(),
            vec!["arn:aws:iot:us-east-1:123456789012:thing/a", "arn:g"]
        );
        let failed = ResolvedSpec::resolve(spec(vec![group("A"), arn, group("B")]), |t| match t {
            Target::ThingGroup(g) => Err(g.thing_group.clone()),
            _ => Ok(String::new()),
        });
        assert_eq!(failed, Err(vec!["A".to_string(), "B".to_string()]));
        assert!(ResolvedSpec::from_arns(spec(vec![group("A")])).is_none());
    }
}

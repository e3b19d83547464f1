//! What a plan changes and a pass reports on: a resource of one of jobctl's kinds, by name.
//!
//! Every change, result and per-resource error carries a [`ResourceId`], so code that acts on
//! jobs asks [`ResourceId::job_id`] and gets `None` for anything that is not a job: no string
//! prefixes to parse back, no template ever sent to a job API.

use serde::ser::{Serialize, SerializeStruct, Serializer};

/// The kinds of resource jobctl manages. A new kind (an AWS IoT software package, say) adds a
/// variant here and its module under `engine/kinds/` (docs/architecture.md, "Adding a kind").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Kind {
    /// `kind: Job`: one AWS IoT job.
    Job,
    /// `kind: Rollout`: one AWS IoT job, widened stage by stage behind gates.
    Rollout,
    /// `kind: JobTemplate`: one AWS IoT job template.
    JobTemplate,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Job => "Job",
            Self::Rollout => "Rollout",
            Self::JobTemplate => "JobTemplate",
        }
    }

    /// Whether a resource of this kind is an AWS IoT job (its name is a job id).
    pub fn is_job(self) -> bool {
        matches!(self, Self::Job | Self::Rollout)
    }

    /// How people read it in prose: "job", "rollout", "job template".
    pub fn noun(self) -> &'static str {
        match self {
            Self::Job => "job",
            Self::Rollout => "rollout",
            Self::JobTemplate => "job template",
        }
    }
}

/// One resource: its kind and its name (a job id for jobs and rollouts, a template id for
/// templates). Ordered by name, then kind, so a plan reads alphabetically.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceId {
    pub kind: Kind,
    pub name: String,
}

impl ResourceId {
    pub fn job(job_id: impl Into<String>) -> Self {
        Self {
            kind: Kind::Job,
            name: job_id.into(),
        }
    }

    pub fn rollout(job_id: impl Into<String>) -> Self {
        Self {
            kind: Kind::Rollout,
            name: job_id.into(),
        }
    }

    pub fn template(name: impl Into<String>) -> Self {
        Self {
            kind: Kind::JobTemplate,
            name: name.into(),
        }
    }

    /// The job id, for the kinds that are jobs; `None` for a template.
    pub fn job_id(&self) -> Option<&str> {
        self.kind.is_job().then_some(self.name.as_str())
    }

    /// The template id, for a template; `None` otherwise.
    pub fn template_name(&self) -> Option<&str> {
        (self.kind == Kind::JobTemplate).then_some(self.name.as_str())
    }
}

impl Ord for ResourceId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.name, self.kind).cmp(&(&other.name, other.kind))
    }
}

impl PartialOrd for ResourceId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Jobs and rollouts are named by their job id; templates as "job template NAME".
impl std::fmt::Display for ResourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            Kind::Job | Kind::Rollout => f.write_str(&self.name),
            Kind::JobTemplate => write!(f, "job template {}", self.name),
        }
    }
}

/// In JSON: `"kind": "Job", "jobId": "…"` (or `"Rollout"`), or `"kind": "JobTemplate",
/// "templateName": "…"`; flattened into the object that carries it.
impl Serialize for ResourceId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("ResourceId", 2)?;
        out.serialize_field("kind", self.kind.as_str())?;
        match self.kind {
            Kind::Job | Kind::Rollout => out.serialize_field("jobId", &self.name)?,
            Kind::JobTemplate => out.serialize_field("templateName", &self.name)?,
        }
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_jobs_and_rollouts_have_a_job_id() {
        assert_eq!(ResourceId::job("fw").job_id(), Some("fw"));
        assert_eq!(ResourceId::rollout("fw").job_id(), Some("fw"));
        assert_eq!(ResourceId::template("ota").job_id(), None);
        assert_eq!(ResourceId::template("ota").template_name(), Some("ota"));
    }

    #[test]
    fn serialises_by_kind() {
        let json = |r: &ResourceId| serde_json::to_string(r).expect("json");
        assert_eq!(
            json(&ResourceId::job("fw")),
            r#"{"kind":"Job","jobId":"fw"}"#
        );
        assert_eq!(
            json(&ResourceId::template("ota")),
            r#"{"kind":"JobTemplate","templateName":"ota"}"#
        );
    }

    #[test]
    fn sorts_by_name_then_kind() {
        let mut ids = vec![
            ResourceId::template("b"),
            ResourceId::job("c"),
            ResourceId::job("b"),
        ];
        ids.sort();
        assert_eq!(
            ids,
            vec![
                ResourceId::job("b"),
                ResourceId::template("b"),
                ResourceId::job("c")
            ]
        );
    }
}

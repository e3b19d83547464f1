//! What UpdateJob can change in place, stated once: [`JobUpdate`]'s fields, their manifest names
//! ([`JobUpdate::FIELDS`]) and the copies to and from a spec all come from the one list below.
//! Everything else about a job is fixed at creation (API reference, UpdateJob), tags aside: they
//! have their own calls.

use super::spec::{
    AbortConfig, JobExecutionsRetryConfig, JobExecutionsRolloutConfig, JobSpec, PresignedUrlConfig,
    TimeoutConfig,
};

macro_rules! updatable_fields {
    ($($field:ident: $ty:ty => $name:literal,)*) => {
        /// The fields UpdateJob can change; `None` leaves a field as it is. Each field has the
        /// name and type of its [`JobSpec`] counterpart.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct JobUpdate {
            $(pub $field: Option<$ty>,)*
        }

        impl JobUpdate {
            /// The manifest names of the fields UpdateJob can change, in manifest order.
            pub const FIELDS: &'static [&'static str] = &[$($name),*];

            /// The update that sets `fields` (manifest names) to their values in `spec`.
            pub fn from_spec(spec: &JobSpec, fields: &[&str]) -> Self {
                let mut update = Self::default();
                $(
                    if fields.contains(&$name) {
                        update.$field.clone_from(&spec.$field);
                    }
                )*
                update
            }

            /// What AWS does with the update: each field it sets replaces the spec's.
            pub fn apply_to(&self, spec: &mut JobSpec) {
                $(
                    if let Some(value) = &self.$field {
                        spec.$field = Some(value.clone());
                    }
                )*
            }
        }
    };
}

updatable_fields! {
    description: String => "description",
    presigned_url_config: PresignedUrlConfig => "presignedUrlConfig",
    job_executions_rollout_config: JobExecutionsRolloutConfig => "jobExecutionsRolloutConfig",
    abort_config: AbortConfig => "abortConfig",
    timeout_config: TimeoutConfig => "timeoutConfig",
    job_executions_retry_config: JobExecutionsRetryConfig => "jobExecutionsRetryConfig",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_manifest_field_names() {
        let spec: JobSpec = serde_json::from_value(serde_json::json!({
            "description": "d",
            "targets": ["arn:aws:iot:us-east-1:123456789012:thing/a"],
            "presignedUrlConfig": {"expiresInSec": 60},
            "jobExecutionsRolloutConfig": {"maximumPerMinute": 5},
            "abortConfig": {"criteriaList": []},
            "timeoutConfig": {"inProgressTimeoutInMinutes": 5},
            "jobExecutionsRetryConfig": {"criteriaList": []}
        }))
        .expect("spec");
        let json = serde_json::to_value(&spec).expect("json");
        for name in JobUpdate::FIELDS {
            assert!(json.get(name).is_some(), "{name} is not a JobSpec field");
        }
        let mut copy = spec.clone();
        copy.description = None;
        copy.timeout_config = None;
        JobUpdate::from_spec(&spec, JobUpdate::FIELDS).apply_to(&mut copy);
        assert_eq!(copy, spec);
        let partial = JobUpdate::from_spec(&spec, &["description"]);
        assert_eq!(partial.description.as_deref(), Some("d"));
        assert_eq!(partial.timeout_config, None);
    }
}

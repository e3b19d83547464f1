//! Which jobs belong to which jobctl instance: two tags on every job jobctl creates or adopts.

use std::collections::BTreeMap;

use serde::Serialize;

/// Tag keys with this prefix belong to jobctl; manifests may not set them.
pub const RESERVED_TAG_PREFIX: &str = "jobctl:";
pub const MANAGED_BY_TAG: &str = "jobctl:managed-by";
pub const MANAGED_BY_VALUE: &str = "jobctl";
pub const INSTANCE_TAG: &str = "jobctl:instance";

/// Who owns an existing job, judged by its tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "owner", content = "instance")]
pub enum Ownership {
    /// Tagged by this jobctl instance.
    Managed,
    /// Tagged by another jobctl instance.
    OtherInstance(String),
    /// Not tagged by jobctl: created by hand, by a script, or by another tool.
    Unmanaged,
}

pub fn ownership(tags: &BTreeMap<String, String>, instance: &str) -> Ownership {
    if tags.get(MANAGED_BY_TAG).map(String::as_str) != Some(MANAGED_BY_VALUE) {
        return Ownership::Unmanaged;
    }
    match tags.get(INSTANCE_TAG) {
        Some(owner) if owner == instance => Ownership::Managed,
        Some(owner) => Ownership::OtherInstance(owner.clone()),
        None => Ownership::OtherInstance(String::new()),
    }
}

/// The tags jobctl puts on every job it creates or adopts.
pub fn ownership_tags(instance: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string()),
        (INSTANCE_TAG.to_string(), instance.to_string()),
    ])
}

//! Saved plans (`jobctl plan --out FILE`, `jobctl apply FILE`): the file's format, the
//! fingerprints of the manifests and of the account state a plan was made from, and what moved
//! between a saved plan and now. Pure: no I/O, no clock, no SDK types. The commands read the
//! files and the account and hand the bytes and the observed state in here.
//!
//! `apply FILE` re-reads the same manifests and the account with the same reads `plan` makes, and
//! carries the plan out only when nothing moved: the same scope, the same manifest bytes, the
//! same account state, and (the final proof) the same requests, byte for byte, as the file holds.
//! Executing a plan rebuilt from identical inputs and checked request for request against the
//! file is the same as executing the file, without a second, deserialising path to the API.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::plan::{Action, Change, Desired, Observed, Plan};
use super::templates::ObservedTemplate;
use super::Settings;
use crate::domain::ownership::{ownership, Ownership};
use crate::domain::spec::JobSpec;
use crate::domain::JobUpdate;

/// The `format` marker of a saved plan. A new major format gets a new marker; this jobctl refuses
/// any other.
pub const FORMAT: &str = "jobctl-plan/v1";

/// The largest plan file `apply FILE` reads (a plan holds every job document, each at most
/// 32 KiB: this is room for thousands of them).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A saved plan, as `plan --out` writes it (JSON). It holds no credentials: only the roots, the
/// options, where the plan was made, the fingerprints and the plan (with its job documents).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedPlan {
    /// Always [`FORMAT`].
    pub format: String,
    /// The jobctl that wrote it.
    pub jobctl_version: String,
    /// When it was written (RFC 3339, UTC), for people.
    #[serde(default)]
    pub created_at: String,
    /// The `-f` roots, as given.
    pub roots: Vec<String>,
    /// The options that shaped the plan; `apply FILE` uses these and takes none from its flags.
    /// The options that shape the plan: the serialised part of [`Settings`].
    pub options: Settings,
    /// Where the plan was made.
    pub scope: SavedScope,
    /// Every file the plan read, with its sha256.
    pub manifests: Fingerprint,
    /// Every resource of the account the plan read and depends on, with its sha256.
    pub account_state: AccountState,
    /// The plan as `--output json` shows it, for people and programs reading the file.
    pub plan: Value,
    /// What each change sends (steps, the full spec and document of a create or update, the
    /// template, the ARN): `apply FILE` carries the plan out only when a plan made now sends
    /// exactly this.
    pub requests: Vec<Value>,
}

/// Where a plan was made: the "say where" header's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedScope {
    pub account: Option<String>,
    pub region: String,
    /// `None` for AWS's own endpoint of the region.
    pub endpoint: Option<String>,
    pub instance: String,
}

/// The files a plan read, each with the sha256 of its bytes, and one sha256 over all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub total: String,
    /// File path (relative to the working directory when under it) to sha256.
    pub files: BTreeMap<String, String>,
}

/// The fingerprint of the given files' bytes.
pub fn fingerprint<'a>(files: impl IntoIterator<Item = (String, &'a [u8])>) -> Fingerprint {
    let files: BTreeMap<String, String> = files
        .into_iter()
        .map(|(path, bytes)| (path, sha256(bytes)))
        .collect();
    Fingerprint {
        total: total(files.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        files,
    }
}

/// One resource of the account as a plan read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceState {
    /// The job's status (`IN_PROGRESS`, …); `EXISTS` for a template.
    pub status: String,
    /// sha256 of its tags (ownership included).
    pub tags: String,
    /// sha256 of everything the comparison used: ARN, status, spec, document, tags.
    pub sha256: String,
}

/// The account state a plan depends on: the declared jobs and templates as read (a declared job
/// the account lacks has no entry, so one created since shows), and, when pruning, this
/// instance's undeclared jobs and templates. Jobs of others are not in it: they never change the
/// plan, and a busy shared account must not make every saved plan stale.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    pub total: String,
    /// `job/ID` or `job template NAME` to its state.
    pub resources: BTreeMap<String, ResourceState>,
}

/// The account state of a plan from what refresh observed. `declared_templates` are the names
/// of the declared templates; `templates` is what was read of the account's (empty when they
/// were not read).
pub fn account_state(
    desired: &Desired,
    observed: &Observed,
    declared_templates: &BTreeSet<String>,
    templates: &BTreeMap<String, ObservedTemplate>,
    settings: &Settings,
) -> AccountState {
    with_templates(
        jobs_state(desired, observed, settings),
        declared_templates,
        templates,
        settings,
    )
}

/// The jobs' part of [`account_state`]: taken before planning, which consumes the reads.
pub fn jobs_state(desired: &Desired, observed: &Observed, settings: &Settings) -> AccountState {
    let mut resources = BTreeMap::new();
    let declared = desired
        .jobs
        .iter()
        .map(|j| j.job_id.as_str())
        .chain(desired.unread.iter().map(String::as_str));
    for job_id in declared {
        if let Some(remote) = observed.remote.get(job_id) {
            let everything = json!({
                "arn": remote.job_arn,
                "status": remote.status.as_str(),
                "spec": serde_json::to_value(&remote.spec).unwrap_or(Value::Null),
            });
            resources.insert(
                format!("job/{job_id}"),
                ResourceState::of(remote.status.as_str(), &remote.spec.tags, &everything),
            );
        } else if let Some(listed) = observed.listed.get(job_id) {
            let everything = json!({"arn": listed.job_arn, "status": listed.status.as_str()});
            resources.insert(
                format!("job/{job_id}"),
                ResourceState {
                    status: listed.status.as_str().to_string(),
                    tags: String::new(),
                    sha256: sha256(everything.to_string().as_bytes()),
                },
            );
        }
    }
    let pruning = settings.prune || settings.prune_delete;
    if pruning {
        for (job_id, tags) in &observed.undeclared_tags {
            if ownership(tags, &settings.instance) != Ownership::Managed {
                continue;
            }
            let status = observed
                .listed
                .get(job_id)
                .map(|l| l.status.as_str().to_string())
                .unwrap_or_default();
            let everything = json!({"status": status, "tags": tags});
            resources.insert(
                format!("job/{job_id}"),
                ResourceState::of(&status, tags, &everything),
            );
        }
    }
    AccountState {
        total: String::new(),
        resources,
    }
    .totalled()
}

/// [`jobs_state`] with the templates the run read (empty when it read none).
pub fn with_templates(
    state: AccountState,
    declared_templates: &BTreeSet<String>,
    templates: &BTreeMap<String, ObservedTemplate>,
    settings: &Settings,
) -> AccountState {
    let pruning = settings.prune || settings.prune_delete;
    let mut resources = state.resources;
    for (name, template) in templates {
        let ours = ownership(&template.tags, &settings.instance) == Ownership::Managed;
        let wanted = declared_templates.contains(name) || (pruning && ours);
        if !wanted {
            continue;
        }
        let everything = json!({
            "arn": template.arn,
            "tags": template.tags,
            "spec": template.spec.as_ref().and_then(|s| serde_json::to_value(s).ok()),
        });
        resources.insert(
            crate::domain::ResourceId::template(name.clone()).to_string(),
            ResourceState::of("EXISTS", &template.tags, &everything),
        );
    }
    AccountState {
        total: String::new(),
        resources,
    }
    .totalled()
}

impl ResourceState {
    /// A resource's state: its status, the hash of its tags alone (so a tag change can be
    /// named), and the hash of everything the plan read of it.
    fn of(status: &str, tags: &impl Serialize, everything: &Value) -> Self {
        let tags = serde_json::to_value(tags)
            .unwrap_or(Value::Null)
            .to_string();
        ResourceState {
            status: status.to_string(),
            tags: sha256(tags.as_bytes()),
            sha256: sha256(everything.to_string().as_bytes()),
        }
    }
}

impl AccountState {
    fn totalled(mut self) -> Self {
        self.total = total(
            self.resources
                .iter()
                .map(|(k, v)| (k.as_str(), v.sha256.as_str())),
        );
        self
    }
}

/// What each change of `plan` sends, in plan order: what `apply FILE` compares, request for
/// request, with the file. Unchanged jobs with nothing to do send nothing and are left out.
pub fn requests(plan: &Plan) -> Vec<Value> {
    plan.changes
        .iter()
        .filter(|c| c.action != Action::Unchanged || !c.steps.is_empty() || c.blocked.is_some())
        .map(request)
        .collect()
}

fn request(change: &Change) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("id".into(), json!(change.resource.to_string()));
    out.insert("action".into(), json!(change.action.as_str()));
    if let Some(blocked) = &change.blocked {
        out.insert("blocked".into(), json!(blocked));
    }
    if let Some(arn) = &change.arn {
        out.insert("arn".into(), json!(arn));
    }
    let steps: Vec<Value> = change
        .steps
        .iter()
        .map(|step| {
            let mut value = serde_json::to_value(step).unwrap_or(Value::Null);
            // The update itself is skipped by the plan's JSON; here it is what UpdateJob sends.
            if let (super::plan::Step::UpdateJob { update, .. }, Value::Object(map)) =
                (step, &mut value)
            {
                map.insert("update".into(), update_json(update));
            }
            value
        })
        .collect();
    out.insert("steps".into(), Value::Array(steps));
    if let Some(desired) = change.create_spec() {
        let spec: &JobSpec = desired;
        out.insert(
            "spec".into(),
            serde_json::to_value(spec).unwrap_or(Value::Null),
        );
        if let Some(document) = spec.sent_document() {
            out.insert("document".into(), json!(document));
        }
    }
    if let Some(template) = change.create_template() {
        out.insert(
            "template".into(),
            serde_json::to_value(template).unwrap_or(Value::Null),
        );
    }
    if let Some(rollout) = &change.rollout {
        out.insert(
            "rollout".into(),
            json!({"phase": rollout.phase, "stage": rollout.stage}),
        );
    }
    Value::Object(out)
}

/// The fields an UpdateJob sets, as JSON in manifest names.
fn update_json(update: &JobUpdate) -> Value {
    let blank: Result<JobSpec, _> = serde_json::from_value(json!({"targets": []}));
    let Ok(mut spec) = blank else {
        return Value::Null;
    };
    update.apply_to(&mut spec);
    let mut value = serde_json::to_value(&spec).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.remove("targets");
    }
    value
}

/// What a plan made now is checked against: the same fields as the file's.
#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    pub roots: Vec<String>,
    pub scope: SavedScope,
    pub manifests: Fingerprint,
    pub account_state: AccountState,
    pub requests: Vec<Value>,
}

/// What a moved thing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Subject {
    /// Where the plan runs: account, region, endpoint, instance, roots.
    Scope,
    /// A file the plan read.
    Manifest,
    /// A job or template in the account.
    Account,
    /// A change of the plan, when inputs that look the same plan differently now (the clock:
    /// a schedule that is now too close, a rollout soak that ended).
    Plan,
}

/// One thing that moved since the plan was saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Moved {
    pub subject: Subject,
    /// `region`, `jobs/fw.yaml`, `job fw-1`, `job template ota`.
    pub name: String,
    /// What happened to it, e.g. `status IN_PROGRESS -> COMPLETED`.
    pub change: String,
}

impl Moved {
    fn new(subject: Subject, name: impl Into<String>, change: impl Into<String>) -> Self {
        Self {
            subject,
            name: name.into(),
            change: change.into(),
        }
    }
}

/// Everything that moved between the saved plan and now; empty when the plan may be applied.
/// The account is compared only in the same scope (elsewhere every job would differ), and the
/// requests only when nothing else moved (otherwise they differ as a consequence).
pub fn moved(saved: &SavedPlan, now: &Current) -> Vec<Moved> {
    let mut out = scope_moved(saved, now);
    out.extend(manifests_moved(&saved.manifests, &now.manifests));
    if out.iter().any(|m| m.subject == Subject::Scope) {
        return out;
    }
    out.extend(account_moved(
        &saved.account_state,
        &now.account_state,
        &saved.options,
    ));
    if out.is_empty() {
        out.extend(requests_moved(&saved.requests, &now.requests));
    }
    out
}

fn scope_moved(saved: &SavedPlan, now: &Current) -> Vec<Moved> {
    let shown = |v: &Option<String>, none: &str| v.clone().unwrap_or_else(|| none.to_string());
    let mut out = Vec::new();
    let (a, b) = (&saved.scope, &now.scope);
    // An account the plan could not tell (no ARN read) is not a difference by itself.
    if a.account.is_some() && b.account.is_some() && a.account != b.account {
        out.push(Moved::new(
            Subject::Scope,
            "account",
            format!("{} -> {}", shown(&a.account, "?"), shown(&b.account, "?")),
        ));
    }
    if a.region != b.region {
        out.push(Moved::new(
            Subject::Scope,
            "region",
            format!("{} -> {}", a.region, b.region),
        ));
    }
    if a.endpoint != b.endpoint {
        out.push(Moved::new(
            Subject::Scope,
            "endpoint",
            format!(
                "{} -> {}",
                shown(&a.endpoint, "AWS's own"),
                shown(&b.endpoint, "AWS's own")
            ),
        ));
    }
    if a.instance != b.instance {
        out.push(Moved::new(
            Subject::Scope,
            "instance",
            format!("{} -> {}", a.instance, b.instance),
        ));
    }
    if saved.roots != now.roots {
        out.push(Moved::new(
            Subject::Scope,
            "roots",
            format!("{} -> {}", saved.roots.join(" "), now.roots.join(" ")),
        ));
    }
    out
}

/// Files added, removed or changed since the plan.
pub fn manifests_moved(saved: &Fingerprint, now: &Fingerprint) -> Vec<Moved> {
    if saved.total == now.total && saved.files == now.files {
        return Vec::new();
    }
    let names: BTreeSet<&String> = saved.files.keys().chain(now.files.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let change = match (saved.files.get(name), now.files.get(name)) {
                (Some(_), None) => "removed since the plan",
                (None, Some(_)) => "added since the plan",
                (Some(a), Some(b)) if a != b => "changed since the plan",
                _ => return None,
            };
            Some(Moved::new(Subject::Manifest, name.clone(), change))
        })
        .collect()
}

/// Jobs and templates created, deleted or changed in the account since the plan. A job the
/// plan read but that its options' `targets` now leave out was not read again: it is named as
/// left out by the options (a file edited by hand), not as gone.
pub fn account_moved(saved: &AccountState, now: &AccountState, options: &Settings) -> Vec<Moved> {
    if saved.total == now.total && saved.resources == now.resources {
        return Vec::new();
    }
    let keys: BTreeSet<&String> = saved.resources.keys().chain(now.resources.keys()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let change = match (saved.resources.get(key), now.resources.get(key)) {
                (None, Some(now)) => format!("created outside this plan ({})", now.status),
                (Some(_), None)
                    if key
                        .strip_prefix("job/")
                        .is_some_and(|id| !options.includes(id)) =>
                {
                    "not read again: the plan file's options.targets no longer name it (the file was edited)".to_string()
                }
                (Some(before), None) => {
                    format!("gone from the account since the plan (was {})", before.status)
                }
                (Some(a), Some(b)) if a == b => return None,
                (Some(a), Some(b)) => {
                    let mut what = Vec::new();
                    if a.status != b.status {
                        what.push(format!("status {} -> {}", a.status, b.status));
                    }
                    // A job read only by ListJobs (finished) has no tags read: not a change.
                    if !a.tags.is_empty() && !b.tags.is_empty() && a.tags != b.tags {
                        what.push("tags changed".to_string());
                    }
                    if what.is_empty() {
                        what.push(
                            "changed since the plan (description, document, targets or configuration)"
                                .to_string(),
                        );
                    }
                    what.join(", ")
                }
                (None, None) => return None,
            };
            Some(Moved::new(Subject::Account, resource_name(key), change))
        })
        .collect()
}

/// `job/fw-1` reads `job fw-1`; `job template ota` stays as it is.
fn resource_name(key: &str) -> String {
    match key.strip_prefix("job/") {
        Some(id) => format!("job {id}"),
        None => key.to_string(),
    }
}

/// Changes a plan made now would send differently from the saved plan.
pub fn requests_moved(saved: &[Value], now: &[Value]) -> Vec<Moved> {
    if saved == now {
        return Vec::new();
    }
    let id = |v: &Value| {
        v.get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let action = |v: &Value| {
        v.get("action")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let before: BTreeMap<String, &Value> = saved.iter().map(|v| (id(v), v)).collect();
    let after: BTreeMap<String, &Value> = now.iter().map(|v| (id(v), v)).collect();
    let ids: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let mut out: Vec<Moved> = ids
        .into_iter()
        .filter_map(|job| {
            let change = match (before.get(job), after.get(job)) {
                (Some(a), None) => format!("planned to {}, now nothing to do", action(a)),
                (None, Some(b)) => format!("not in the plan, now would {}", action(b)),
                (Some(a), Some(b)) if a == b => return None,
                (Some(a), Some(b)) if action(a) != action(b) => {
                    format!("planned to {}, now would {}", action(a), action(b))
                }
                (Some(a), Some(_)) => format!("{} would send different requests now", action(a)),
                (None, None) => return None,
            };
            Some(Moved::new(
                Subject::Plan,
                resource_name(&format!("job/{job}")),
                change,
            ))
        })
        .collect();
    if out.is_empty() {
        // Same ids, same content, different order: still not the reviewed plan.
        out.push(Moved::new(
            Subject::Plan,
            "plan",
            "the changes come in another order",
        ));
    }
    out
}

fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// One sha256 over `name sha` lines, in name order.
fn total<'a>(entries: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut hasher = Sha256::new();
    for (name, sha) in entries {
        hasher.update(name.as_bytes());
        hasher.update(b"\0");
        hasher.update(sha.as_bytes());
        hasher.update(b"\n");
    }
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Why a file is not a plan `apply FILE` can use.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: cannot read the saved plan: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path}: the saved plan is {size} bytes, more than the {MAX_FILE_BYTES} a plan may be"
    )]
    TooLarge { path: String, size: u64 },
    #[error("{path}: not a jobctl saved plan (not JSON: {detail}); make one with `jobctl plan -f ROOT --out FILE`")]
    NotJson { path: String, detail: String },
    #[error("{path}: not a jobctl saved plan (format `{found}`, expected `{FORMAT}`); make one with `jobctl plan -f ROOT --out FILE`")]
    Format { path: String, found: String },
    #[error("{path}: the saved plan was written by a newer jobctl ({version}, format `{found}`); this jobctl reads `{FORMAT}`: apply it with that jobctl, or plan again")]
    Newer {
        path: String,
        found: String,
        version: String,
    },
    #[error("{path}: the saved plan is damaged ({detail}); run `jobctl plan --out` again")]
    Damaged { path: String, detail: String },
}

/// Parses a plan file's text: the format marker first (a clear error for another format or a
/// newer jobctl's), then the fields.
pub fn parse(path: &str, text: &str) -> Result<SavedPlan, ReadError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ReadError::NotJson {
        path: path.to_string(),
        detail: e.to_string(),
    })?;
    let found = value
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or("(none)")
        .to_string();
    if found != FORMAT && found.starts_with("jobctl-plan/") {
        return Err(ReadError::Newer {
            path: path.to_string(),
            found,
            version: value
                .get("jobctlVersion")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
        });
    }
    if found != FORMAT {
        return Err(ReadError::Format {
            path: path.to_string(),
            found,
        });
    }
    serde_json::from_value(value).map_err(|e| ReadError::Damaged {
        path: path.to_string(),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests;

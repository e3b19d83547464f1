//! Job templates: CreateJobTemplate, DescribeJobTemplate, ListJobTemplates and
//! DeleteJobTemplate for the account's own templates, ListManagedJobTemplates and
//! DescribeManagedJobTemplate for AWS's, and what CreateJob takes from either.

use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::managed::{self, Managed};
use crate::model::{epoch_secs, JobTemplate, Scope};
use crate::ops::jobs::opt;
use crate::request::{decode_token, encode_token, Req};
use crate::validate::{self, check_str, Rule};

const DEFAULT_PAGE: i64 = 50;

fn template_id<'a>(req: &'a Req<'_>) -> Result<&'a str, ApiError> {
    let id = req.label(0);
    check_str("jobTemplateId", id, &validate::JOB_ID)?;
    Ok(id)
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Job template {id} cannot be found."))
}

pub fn create(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let id = template_id(req)?;
    let body = req.json()?;
    let input = validate::create_job_template(&body)?;
    if scope.templates.contains_key(id) {
        return Err(ApiError::conflict(
            format!("Job template {id} already exists."),
            id,
        ));
    }
    // `jobArn` clones an existing job: its document and configs fill what the request
    // leaves out.
    let base = match &input.job_arn {
        Some(arn) => {
            let job_id = arn
                .strip_prefix(&scope.arn("job/"))
                .filter(|j| !j.is_empty())
                .ok_or_else(|| {
                    ApiError::invalid(format!(
                        "jobArn {arn} is not a job ARN of account {} in {}",
                        scope.account, scope.region
                    ))
                })?;
            Some(
                scope
                    .jobs
                    .get(job_id)
                    .ok_or_else(|| ApiError::not_found(format!("Job {job_id} cannot be found.")))?
                    .clone(),
            )
        }
        None => None,
    };
    let (document, document_source) = match (&input.document, &input.document_source, &base) {
        (None, None, Some(j)) => (j.document.clone(), j.document_source.clone()),
        (d, s, _) => (d.clone(), s.clone()),
    };
    let arn = scope.arn(&format!("jobtemplate/{id}"));
    scope.next_seq += 1;
    let b = base.as_ref();
    let t = JobTemplate {
        job_template_id: id.to_owned(),
        job_template_arn: arn.clone(),
        seq: scope.next_seq,
        description: input.description,
        document,
        document_source,
        presigned_url_config: input
            .presigned_url_config
            .or_else(|| b.and_then(|j| j.presigned_url_config.clone())),
        job_executions_rollout_config: input
            .rollout
            .or_else(|| b.and_then(|j| j.job_executions_rollout_config.clone())),
        abort_config: input
            .abort
            .or_else(|| b.and_then(|j| j.abort_config.clone())),
        timeout_config: input
            .timeout
            .or_else(|| b.and_then(|j| j.timeout_config.clone())),
        job_executions_retry_config: input
            .retry
            .or_else(|| b.and_then(|j| j.job_executions_retry_config.clone())),
        maintenance_windows: input.maintenance_windows.or_else(|| {
            b.and_then(|j| {
                j.scheduling_config
                    .as_ref()
                    .and_then(|s| s.maintenance_windows.clone())
            })
        }),
        destination_package_versions: input
            .destination_package_versions
            .or_else(|| b.and_then(|j| j.destination_package_versions.clone())),
        created_at_ms: req.now,
    };
    if t.document.is_none() && t.document_source.is_none() {
        return Err(ApiError::invalid(
            "One of document, documentSource or jobArn is required",
        ));
    }
    scope.templates.insert(id.to_owned(), t);
    if !input.tags.is_empty() {
        scope.set_tags(&arn, input.tags, req.now);
    }
    Ok(json!({"jobTemplateArn": arn, "jobTemplateId": id}))
}

pub fn describe(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let id = template_id(req)?;
    let t = scope.templates.get(id).ok_or_else(|| not_found(id))?;
    let mut m = Map::new();
    m.insert("jobTemplateArn".into(), t.job_template_arn.clone().into());
    m.insert("jobTemplateId".into(), t.job_template_id.clone().into());
    m.insert("description".into(), t.description.clone().into());
    opt(&mut m, "documentSource", &t.document_source);
    opt(&mut m, "document", &t.document);
    m.insert("createdAt".into(), epoch_secs(t.created_at_ms).into());
    opt(&mut m, "presignedUrlConfig", &t.presigned_url_config);
    opt(
        &mut m,
        "jobExecutionsRolloutConfig",
        &t.job_executions_rollout_config,
    );
    opt(&mut m, "abortConfig", &t.abort_config);
    opt(&mut m, "timeoutConfig", &t.timeout_config);
    opt(
        &mut m,
        "jobExecutionsRetryConfig",
        &t.job_executions_retry_config,
    );
    opt(&mut m, "maintenanceWindows", &t.maintenance_windows);
    opt(
        &mut m,
        "destinationPackageVersions",
        &t.destination_package_versions,
    );
    Ok(Value::Object(m))
}

pub fn list(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let max = req.query.int("maxResults", 1, 250)?.unwrap_or(DEFAULT_PAGE) as usize;
    let listing = "jobtemplates";
    let after: u64 = match req.query.get("nextToken") {
        Some(t) => decode_token(listing, t)?
            .parse()
            .map_err(|_| ApiError::invalid("The nextToken is not valid for this request"))?,
        None => 0,
    };
    let mut rows: Vec<&JobTemplate> = scope.templates.values().filter(|t| t.seq > after).collect();
    rows.sort_by_key(|t| t.seq);
    let more = rows.len() > max;
    rows.truncate(max);
    let mut m = Map::new();
    m.insert(
        "jobTemplates".into(),
        rows.iter()
            .map(|t| {
                json!({
                    "jobTemplateArn": t.job_template_arn,
                    "jobTemplateId": t.job_template_id,
                    "description": t.description,
                    "createdAt": epoch_secs(t.created_at_ms),
                })
            })
            .collect(),
    );
    if let (true, Some(last)) = (more, rows.last()) {
        m.insert(
            "nextToken".into(),
            encode_token(listing, &last.seq.to_string()).into(),
        );
    }
    Ok(Value::Object(m))
}

pub fn delete(scope: &mut Scope, req: &Req<'_>) -> Result<(), ApiError> {
    let id = template_id(req)?;
    let t = scope.templates.remove(id).ok_or_else(|| not_found(id))?;
    // Jobs created from it keep what they took (AWS: a template in use still works for
    // the jobs already created).
    scope.drop_tags(&t.job_template_arn, req.now);
    Ok(())
}

/// `ManagedJobTemplateName`: 1-64 characters, no pattern.
const MANAGED_NAME: Rule = Rule {
    min: 1,
    max: 64,
    ..validate::ANY
};

fn managed_arn(scope: &Scope, t: &Managed) -> String {
    format!(
        "arn:{}:iot:{}::jobtemplate/{}:{}",
        crate::model::partition(&scope.region),
        scope.region,
        t.name,
        t.version
    )
}

fn check_version(req: &Req<'_>) -> Result<Option<String>, ApiError> {
    let v = req.query.get("templateVersion");
    if let Some(v) = v {
        let ok = v.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && a.bytes().all(|c| (b'1'..=b'9').contains(&c))
                && b.bytes().next().is_some_and(|c| c.is_ascii_digit())
        });
        if !ok {
            return Err(ApiError::invalid(format!(
                "1 validation error detected: Value '{v}' at 'templateVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[1-9]+.[0-9]+"
            )));
        }
    }
    Ok(v.map(str::to_owned))
}

pub fn list_managed(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let name = req.query.str("templateName", &MANAGED_NAME)?;
    let max = req.query.int("maxResults", 1, 250)?.unwrap_or(DEFAULT_PAGE) as usize;
    let listing = format!("managed;{}", name.as_deref().unwrap_or(""));
    let start: usize = match req.query.get("nextToken") {
        Some(t) => decode_token(&listing, t)?
            .parse()
            .map_err(|_| ApiError::invalid("The nextToken is not valid for this request"))?,
        None => 0,
    };
    let all: Vec<&Managed> = managed::TEMPLATES
        .iter()
        .filter(|t| name.as_deref().is_none_or(|n| n == t.name))
        .collect();
    if let (Some(n), true) = (&name, all.is_empty()) {
        return Err(ApiError::not_found(format!(
            "Managed job template {n} cannot be found."
        )));
    }
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(max)
        .map(|t| {
            json!({
                "templateArn": managed_arn(scope, t),
                "templateName": t.name,
                "description": t.description,
                "environments": t.environments,
                "templateVersion": t.version,
            })
        })
        .collect();
    let mut m = Map::new();
    m.insert("managedJobTemplates".into(), Value::Array(page));
    if all.len() > start + max {
        m.insert(
            "nextToken".into(),
            encode_token(&listing, &(start + max).to_string()).into(),
        );
    }
    Ok(Value::Object(m))
}

pub fn describe_managed(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let name = req.label(0);
    check_str("templateName", name, &MANAGED_NAME)?;
    let version = check_version(req)?;
    let t = managed::find(name, version.as_deref()).ok_or_else(|| {
        ApiError::not_found(format!(
            "Managed job template {name}{} cannot be found.",
            version.map(|v| format!(" version {v}")).unwrap_or_default()
        ))
    })?;
    Ok(json!({
        "templateName": t.name,
        "templateArn": managed_arn(scope, t),
        "description": t.description,
        "templateVersion": t.version,
        "environments": t.environments,
        "documentParameters": t.params.iter().map(|p| json!({
            "key": p.key,
            "description": p.description,
            "regex": p.regex,
            "example": p.example,
            "optional": p.optional,
        })).collect::<Vec<_>>(),
        "document": t.document,
    }))
}

//! Rules JSON Schema cannot express: one document source, decimal places, schedule arithmetic,
//! presigned-URL placeholders, reserved tags, and the document's size and faithfulness.
//!
//! These run only on documents that passed the schema, so they can rely on types and shapes.

use std::sync::Arc;

use serde_json::Value;
use time::PrimitiveDateTime;

use super::diagnostic::{Diagnostic, SourceFile};
use super::rule::Rule;
use super::yaml::{Location, Node, NodeKind};
use crate::domain::ownership::RESERVED_TAG_PREFIX;
use crate::domain::spec::JobSpec;

/// AWS's limit on a job document, in bytes of the JSON sent.
pub const MAX_DOCUMENT_BYTES: usize = 32_768;
/// AWS substitutes at most this many placeholders (presigned URLs included) per document.
pub const MAX_SUBSTITUTIONS: usize = 10;
/// AWS allows at most 50 user tags per resource; jobctl's own two come on top in practice, so
/// manifests get 48.
pub const MAX_USER_TAGS: usize = 48;
/// The tag prefix AWS keeps for itself (any case).
const AWS_TAG_PREFIX: &str = "aws:";

pub struct Context<'a> {
    pub root: &'a Node,
    pub file: &'a Arc<SourceFile>,
    pub out: &'a mut Vec<Diagnostic>,
}

impl Context<'_> {
    fn at(&self, pointer: &str) -> Option<Location> {
        self.root
            .pointer(pointer)
            .map(|n| n.location)
            .or(Some(self.root.location))
    }

    fn key(&self, pointer: &str) -> Option<Location> {
        self.root
            .key_at(pointer)
            .map(|k| k.location)
            .or_else(|| self.at(pointer))
    }

    fn error(&mut self, code: Rule, pointer: &str, message: impl Into<String>) -> &mut Diagnostic {
        let location = self.at(pointer);
        self.out
            .push(Diagnostic::error(code, self.file, location, message));
        let last = self.out.len() - 1;
        &mut self.out[last]
    }
}

/// Checks the spec. The document has already been resolved (inline or from `documentFile`).
pub fn check(spec: &JobSpec, ctx: &mut Context<'_>) {
    check_document_source(spec, ctx);
    check_decimals(spec, ctx);
    check_scheduling(spec, ctx);
    check_tags(spec, ctx);
    check_targets(spec, ctx);
    check_template(spec, ctx);
}

pub(super) fn check_document_source(spec: &JobSpec, ctx: &mut Context<'_>) {
    let given: Vec<&str> = [
        ("document", spec.document.is_some()),
        ("documentFile", spec.document_file.is_some()),
        ("documentSource", spec.document_source.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, present)| present.then_some(name))
    .collect();
    match given.len() {
        0 if spec.job_template_arn.is_none() && spec.job_template.is_none() => {
            let location = ctx.key("/spec");
            ctx.out.push(
                Diagnostic::error(
                    Rule::SemanticDocumentMissing,
                    ctx.file,
                    location,
                    "the job has no document",
                )
                .with_help("add one of `document` (inline), `documentFile` or `documentSource`, or a `jobTemplate` or `jobTemplateArn`"),
            );
        }
        0 | 1 => {}
        _ => {
            let second = format!("/spec/{}", given[1]);
            let location = ctx.key(&second);
            ctx.out.push(
                Diagnostic::error(
                    Rule::SemanticDocumentConflict,
                    ctx.file,
                    location,
                    format!("the job has both `{}` and `{}`", given[0], given[1]),
                )
                .with_label("second document source")
                .with_help("keep exactly one of `document`, `documentFile` and `documentSource`"),
            );
        }
    }
}

/// Digits after the decimal point as the value is written in JSON (shortest round-trip form).
fn decimals(value: f64) -> usize {
    let text = serde_json::Number::from_f64(value).map_or_else(String::new, |n| n.to_string());
    match text.split_once('.') {
        Some((_, frac)) if !frac.contains(['e', 'E']) => frac.trim_end_matches('0').len(),
        _ => 0,
    }
}

pub(super) fn check_decimals(spec: &JobSpec, ctx: &mut Context<'_>) {
    if let Some(rate) = spec
        .job_executions_rollout_config
        .as_ref()
        .and_then(|r| r.exponential_rate.as_ref())
    {
        if decimals(rate.increment_factor) > 1 {
            ctx.error(
                Rule::SemanticDecimalPlaces,
                "/spec/jobExecutionsRolloutConfig/exponentialRate/incrementFactor",
                format!(
                    "incrementFactor {} has more than one digit after the decimal point",
                    rate.increment_factor
                ),
            )
            .help = Some("AWS accepts one decimal place, e.g. 1.5 but not 1.55".into());
        }
    }
    if let Some(abort) = &spec.abort_config {
        for (i, criteria) in abort.criteria_list.iter().enumerate() {
            if decimals(criteria.threshold_percentage) > 2 {
                ctx.error(
                    Rule::SemanticDecimalPlaces,
                    &format!("/spec/abortConfig/criteriaList/{i}/thresholdPercentage"),
                    format!(
                        "thresholdPercentage {} has more than two digits after the decimal point",
                        criteria.threshold_percentage
                    ),
                )
                .help = Some("AWS accepts two decimal places, e.g. 10.99 but not 10.999".into());
            }
        }
    }
}

/// Parses the `YYYY-MM-DDTHH:MM` form scheduling times use.
pub fn parse_schedule_time(text: &str) -> Option<PrimitiveDateTime> {
    crate::domain::spec::SchedulingConfig::parse_time(text)
}

fn check_scheduling(spec: &JobSpec, ctx: &mut Context<'_>) {
    let Some(schedule) = &spec.scheduling_config else {
        return;
    };
    let mut parsed = [None, None];
    for (i, (name, value)) in [
        ("startTime", &schedule.start_time),
        ("endTime", &schedule.end_time),
    ]
    .into_iter()
    .enumerate()
    {
        let Some(text) = value else { continue };
        match parse_schedule_time(text) {
            Some(t) => parsed[i] = Some(t),
            None => {
                ctx.error(
                    Rule::SemanticScheduleTime,
                    &format!("/spec/schedulingConfig/{name}"),
                    format!("{name} `{text}` is not a real date and time"),
                )
                .help = Some(
                    "write UTC time as YYYY-MM-DDTHH:MM with a valid month, day, hour and minute"
                        .into(),
                );
            }
        }
    }
    if let [Some(start), Some(end)] = parsed {
        let gap = end - start;
        if gap < time::Duration::minutes(30) {
            ctx.error(
                Rule::SemanticScheduleWindow,
                "/spec/schedulingConfig/endTime",
                "endTime must be at least 30 minutes after startTime",
            )
            .help =
                Some("move endTime later, or drop it to let the rollout run to completion".into());
        } else if gap > time::Duration::days(731) {
            ctx.error(
                Rule::SemanticScheduleWindow,
                "/spec/schedulingConfig/endTime",
                "endTime must be at most two years after startTime",
            );
        }
    }
    if schedule.end_behavior.is_some() && schedule.end_time.is_none() {
        // AWS accepts it (and ignores it), so it is a warning, not an error.
        let location = ctx.at("/spec/schedulingConfig/endBehavior");
        ctx.out.push(
            Diagnostic::warning(
                Rule::SemanticEndBehavior,
                ctx.file,
                location,
                "endBehavior has no effect without endTime",
            )
            .with_help("add `endTime`, or remove `endBehavior`"),
        );
    }
    for (i, window) in schedule.maintenance_windows.iter().enumerate() {
        if !is_cron_expression(&window.start_time) {
            ctx.error(
                Rule::SemanticCron,
                &format!("/spec/schedulingConfig/maintenanceWindows/{i}/startTime"),
                format!("`{}` is not a cron expression", window.start_time),
            )
            .help = Some("use the six-field AWS form, e.g. `cron(0 2 ? * SAT *)`".into());
        }
    }
}

/// AWS cron: `cron(minutes hours day-of-month month day-of-week year)`.
pub(super) fn is_cron_expression(text: &str) -> bool {
    text.strip_prefix("cron(")
        .and_then(|rest| rest.strip_suffix(')'))
        .is_some_and(|fields| {
            let parts: Vec<&str> = fields.split_whitespace().collect();
            parts.len() == 6
                && parts.iter().all(|p| {
                    p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ",-*?/#L".contains(c))
                })
        })
}

pub(super) fn check_tags(spec: &JobSpec, ctx: &mut Context<'_>) {
    for key in spec.tags.keys() {
        let (code, message, help) = if key.starts_with(RESERVED_TAG_PREFIX) {
            (
                Rule::SemanticReservedTag,
                format!("tag `{key}` uses the reserved `{RESERVED_TAG_PREFIX}` prefix"),
                "jobctl sets its own ownership tags; choose another key",
            )
        } else if key
            .get(..AWS_TAG_PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(AWS_TAG_PREFIX))
        {
            // AWS reserves the prefix in any case and refuses the create or tag call.
            (
                Rule::SemanticAwsTag,
                format!("tag `{key}` uses the `aws:` prefix, which AWS reserves for its own tags"),
                "AWS refuses user tags starting with `aws:`; choose another key",
            )
        } else {
            continue;
        };
        let location = ctx.key(&format!(
            "/spec/tags/{}",
            key.replace('~', "~0").replace('/', "~1")
        ));
        ctx.out
            .push(Diagnostic::error(code, ctx.file, location, message).with_help(help));
    }
    if spec.tags.len() > MAX_USER_TAGS {
        ctx.error(
            Rule::SemanticTooManyTags,
            "/spec/tags",
            format!(
                "the job has {} tags; the limit is {MAX_USER_TAGS}",
                spec.tags.len()
            ),
        )
        .help = Some("AWS allows 50 tags per resource and jobctl keeps two for ownership".into());
    }
}

fn check_targets(spec: &JobSpec, ctx: &mut Context<'_>) {
    for (i, target) in spec.targets.iter().enumerate() {
        if let Some(first) = spec.targets[..i].iter().position(|t| t == target) {
            let first_location = ctx.at(&format!("/spec/targets/{first}"));
            let pointer = format!("/spec/targets/{i}");
            let diag = ctx.error(
                Rule::SemanticDuplicateTarget,
                &pointer,
                "this target is listed twice",
            );
            diag.help = Some("remove the repeated entry".into());
            if let Some(loc) = first_location {
                let file = Arc::clone(&diag.file);
                diag.related.push(super::diagnostic::Related {
                    message: "first listed".into(),
                    file,
                    location: loc,
                });
            }
        }
    }
}

fn check_template(spec: &JobSpec, ctx: &mut Context<'_>) {
    if spec.job_template.is_some() && spec.job_template_arn.is_some() {
        let location = ctx.key("/spec/jobTemplateArn");
        ctx.out.push(
            Diagnostic::error(
                Rule::SemanticJobTemplateConflict,
                ctx.file,
                location,
                "the job has both `jobTemplate` and `jobTemplateArn`",
            )
            .with_help("keep one: `jobTemplate: NAME` for a template declared or in this account, `jobTemplateArn` for any other"),
        );
    }
    if !spec.document_parameters.is_empty() {
        if spec.job_template_arn.is_none() {
            ctx.error(
                Rule::SemanticDocumentParameters,
                "/spec/documentParameters",
                "documentParameters needs a jobTemplateArn",
            )
            .help = Some(
                "documentParameters fill in an AWS-managed job template; add its `jobTemplateArn`"
                    .into(),
            );
        } else if spec.document.is_some()
            || spec.document_file.is_some()
            || spec.document_source.is_some()
        {
            ctx.error(
                Rule::SemanticDocumentParameters,
                "/spec/documentParameters",
                "documentParameters cannot be combined with a document",
            )
            .help =
                Some("the AWS-managed template provides the document; remove `document`".into());
        }
    }
}

/// Checks a resolved document: size once serialized, presigned placeholders, and plain scalars
/// whose JSON differs from what the user wrote. `node` is where the document is written (inline
/// in the manifest, or the root of a YAML document file). `sent` is the text sent when it is not
/// the compact serialization (a JSON document file, sent as written).
pub fn check_document(
    spec: &JobSpec,
    document: &Value,
    node: Option<&Node>,
    doc_file: &Arc<SourceFile>,
    doc_pointer: &str,
    sent: Option<&str>,
    ctx: &mut Context<'_>,
) {
    let compact = sent.map_or_else(|| document.to_string(), str::to_string);
    let anchor = ctx.key(doc_pointer);
    if compact.len() > MAX_DOCUMENT_BYTES {
        ctx.out.push(
            Diagnostic::error(
                Rule::SemanticDocumentSize,
                ctx.file,
                anchor,
                format!(
                    "the job document is {} bytes as JSON; the limit is {MAX_DOCUMENT_BYTES}",
                    compact.len()
                ),
            )
            .with_help(
                "move large payloads to S3 and reference them with a presigned-URL placeholder",
            ),
        );
    }
    let substitutions = compact.matches("${aws:iot:").count();
    if substitutions > MAX_SUBSTITUTIONS {
        ctx.out.push(
            Diagnostic::error(
                Rule::SemanticSubstitutions,
                ctx.file,
                anchor,
                format!("the job document has {substitutions} `${{aws:iot:…}}` placeholders; AWS substitutes at most {MAX_SUBSTITUTIONS}"),
            )
            .with_help("split the job, or fetch the extra files from one manifest on the device"),
        );
    }
    let presigned = compact.contains("${aws:iot:s3-presigned-url");
    let has_role = spec
        .presigned_url_config
        .as_ref()
        .is_some_and(|c| c.role_arn.is_some());
    if presigned && !has_role {
        ctx.out.push(
            Diagnostic::error(
                Rule::SemanticPresignedRole,
                ctx.file,
                anchor,
                "the document uses a presigned-URL placeholder but `presignedUrlConfig.roleArn` is not set",
            )
            .with_help("add `presignedUrlConfig: {roleArn: arn:aws:iam::ACCOUNT:role/NAME}` with s3:GetObject on the files"),
        );
    }
    if let Some(node) = node {
        faithfulness_warnings(node, doc_file, ctx.out);
    }
}

/// Warns about every plain scalar under `node` whose JSON differs from its text.
pub fn faithfulness_warnings(node: &Node, file: &Arc<SourceFile>, out: &mut Vec<Diagnostic>) {
    let mut path = String::new();
    node.walk_scalars(&mut path, &mut |_, scalar| {
        if let Some(diag) = faithfulness(scalar, file) {
            out.push(diag);
        }
    });
}

/// YAML 1.1 booleans that YAML 1.2 (and so jobctl) reads as strings; other tools disagree.
const YAML11_BOOLEANS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
    "OFF",
];

/// A warning when a plain scalar's JSON form differs from its text, so devices receive exactly
/// what the reviewer read.
fn faithfulness(node: &Node, file: &Arc<SourceFile>) -> Option<Diagnostic> {
    let NodeKind::Scalar {
        plain: Some(text), ..
    } = &node.kind
    else {
        return None;
    };
    let json = node.to_json();
    let sent = json.to_string();
    let message = match &json {
        Value::String(_) if YAML11_BOOLEANS.contains(&text.as_str()) => format!(
            "`{text}` is sent as the string \"{text}\", but many YAML tools read it as a boolean"
        ),
        Value::String(_) => return None,
        _ if sent == *text => return None,
        Value::Null => format!("`{text}` is sent as null"),
        _ => format!("`{text}` is sent as {sent}"),
    };
    Some(
        Diagnostic::warning(
            Rule::DocumentUnquotedScalar,
            file,
            Some(node.location),
            message,
        )
        .with_label("the device receives this value")
        .with_help(format!(
            "quote it (\"{text}\") if the text is what devices should see"
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_places() {
        assert_eq!(decimals(1.5), 1);
        assert_eq!(decimals(1.55), 2);
        assert_eq!(decimals(2.0), 0);
        assert_eq!(decimals(10.99), 2);
        assert_eq!(decimals(10.999), 3);
        assert_eq!(decimals(1.1), 1);
    }

    #[test]
    fn cron_expressions() {
        assert!(is_cron_expression("cron(0 2 ? * SAT *)"));
        assert!(is_cron_expression("cron(0/15 1-3 ? * MON-FRI 2027)"));
        assert!(!is_cron_expression("0 2 * * *"));
        assert!(!is_cron_expression("cron(0 2 * *)"));
    }

    #[test]
    fn schedule_times() {
        assert!(parse_schedule_time("2027-01-10T02:00").is_some());
        assert!(parse_schedule_time("2027-13-10T02:00").is_none());
        assert!(parse_schedule_time("2027-02-30T02:00").is_none());
        assert!(parse_schedule_time("2027-01-10T24:00").is_none());
    }
}

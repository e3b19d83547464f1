//! Turns JSON Schema validation errors into manifest diagnostics at the right YAML node.
//!
//! The validator reports JSON pointers and terse keyword names; users need a line and column,
//! words they recognise, and a way out ("did you mean `targetSelection`?"). Each keyword gets a
//! message here; pointers are mapped back through the YAML node tree.

use std::sync::Arc;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::ValidationError;
use serde_json::Value;

use super::diagnostic::{Diagnostic, SourceFile};
use super::rule::Rule;
use super::schema::SchemaKind;
use super::yaml::{Location, Node, NodeKind, Scalar};

/// Validates one document's JSON against the manifest schema and returns every problem.
pub fn check(root: &Node, instance: &Value, file: &Arc<SourceFile>) -> Vec<Diagnostic> {
    check_kind(root, instance, file, SchemaKind::of(instance))
}

/// [`check`] against the schema of `kind`.
pub fn check_kind(
    root: &Node,
    instance: &Value,
    file: &Arc<SourceFile>,
    kind: SchemaKind,
) -> Vec<Diagnostic> {
    let validator = super::schema::validator_of(kind);
    let mut out = Vec::new();
    for error in validator.iter_errors(instance) {
        push_error(&error, root, file, kind, &mut out);
    }
    floats_in_integer_fields(root, file, kind, &mut out);
    // Reading order: a file's problems top to bottom. The validator may report a node both
    // through a branch and directly; one report is enough.
    out.sort_by_key(|d| d.location.map(|l| (l.offset, l.len)));
    out.dedup_by(|a, b| a.location == b.location && a.message == b.message);
    out
}

/// Where one validation error points: the YAML node behind its JSON pointer, and the words
/// that name it for a person.
struct Site<'a> {
    root: &'a Node,
    kind: SchemaKind,
    file: &'a Arc<SourceFile>,
    pointer: String,
    location: Option<Location>,
    /// `spec.abortConfig.criteriaList[0].action`, in backticks.
    field: String,
}

impl Site<'_> {
    fn error(&self, code: Rule, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(code, self.file, self.location, message)
    }

    /// The location of the key `name` in the map this site points at (for errors about keys).
    fn key_location(&self, name: &str) -> Option<Location> {
        let key_pointer = format!(
            "{}/{}",
            self.pointer,
            name.replace('~', "~0").replace('/', "~1")
        );
        self.root
            .key_at(&key_pointer)
            .map(|k| k.location)
            .or(self.location)
    }
}

/// One diagnostic (or several) per validation error, chosen by the error's keyword. Each keyword
/// has its own small function below; `anyOf`/`oneOf` recurse into the branch that matters.
fn push_error(
    error: &ValidationError<'_>,
    root: &Node,
    file: &Arc<SourceFile>,
    kind: SchemaKind,
    out: &mut Vec<Diagnostic>,
) {
    let pointer = error.instance_path().as_str().to_string();
    let site = Site {
        root,
        kind,
        file,
        location: root
            .pointer(&pointer)
            .map(|n| n.location)
            .or(Some(root.location)),
        field: describe_pointer(&pointer),
        pointer,
    };
    let instance = error.instance();
    let instance = instance.as_ref();
    let diagnostic = match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            out.extend(unexpected.iter().map(|name| unknown_field(&site, name)));
            return;
        }
        ValidationErrorKind::Required { property } => missing_field(&site, property),
        ValidationErrorKind::Type { kind } => wrong_type(&site, kind, instance),
        ValidationErrorKind::Enum { options } => {
            let choices: Vec<String> = options
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            enum_diagnostic(&site.field, instance, &choices, file, site.location)
        }
        ValidationErrorKind::Constant { expected_value } => {
            constant(&site, expected_value, instance)
        }
        // An empty string already has its min-length report; a pattern report would repeat it.
        ValidationErrorKind::Pattern { .. } if instance.as_str() == Some("") => return,
        ValidationErrorKind::Pattern { pattern } => site
            .error(
                Rule::SchemaPattern,
                format!("{} {} is not valid", site.field, short(instance)),
            )
            .with_help(pattern_help(&site.pointer, pattern)),
        ValidationErrorKind::MinLength { limit } => min_length(&site, *limit),
        ValidationErrorKind::MaxLength { limit } => {
            let len = instance.as_str().map_or(0, |s| s.chars().count());
            site.error(
                Rule::SchemaMaxLength,
                format!(
                    "{} is {len} characters long; the limit is {limit}",
                    site.field
                ),
            )
            .with_help("shorten it")
        }
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => {
            out_of_range(&site, instance, "minimum", limit)
        }
        ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => {
            out_of_range(&site, instance, "maximum", limit)
        }
        ValidationErrorKind::MinItems { limit } => site.error(
            Rule::SchemaMinItems,
            format!(
                "{} needs at least {limit} {}",
                site.field,
                plural(*limit, "entry", "entries")
            ),
        ),
        ValidationErrorKind::MaxItems { limit } => {
            let len = instance.as_array().map_or(0, Vec::len);
            site.error(
                Rule::SchemaMaxItems,
                format!("{} has {len} entries; the limit is {limit}", site.field),
            )
            .with_help(max_items_help(&site.pointer))
        }
        ValidationErrorKind::MinProperties { limit } => site
            .error(
                Rule::SchemaMinProperties,
                format!(
                    "{} needs at least {limit} {}",
                    site.field,
                    plural(*limit, "field", "fields")
                ),
            )
            .with_help(min_properties_help(&site.pointer)),
        ValidationErrorKind::PropertyNames { error: inner } => bad_key(&site, inner),
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            return branches(error, &site, context, instance, out);
        }
        other => site.error(
            Rule::SchemaInvalid,
            format!(
                "{} is not valid: {} ({})",
                site.field,
                error,
                other.keyword()
            ),
        ),
    };
    out.push(diagnostic);
}

/// JSON Schema counts `10.0` as an integer, but AWS's integer fields (and jobctl's types) do not:
/// left alone, the value would fail later with no position and a message about Rust types. So a
/// written float where the schema wants an integer is reported here, at the value, as the
/// schema's own type errors are. Job documents are free-form and left out.
fn floats_in_integer_fields(
    root: &Node,
    file: &Arc<SourceFile>,
    kind: SchemaKind,
    out: &mut Vec<Diagnostic>,
) {
    let mut path = String::new();
    root.walk_scalars(&mut path, &mut |pointer, node| {
        let NodeKind::Scalar {
            value: Scalar::Float(number),
            plain,
        } = &node.kind
        else {
            return;
        };
        let document = match kind {
            SchemaKind::Job | SchemaKind::JobTemplate => "/spec/document",
            SchemaKind::Rollout => "/spec/job/document",
        };
        if pointer == document || pointer.starts_with(&format!("{document}/")) {
            return;
        }
        let wants_integer = super::schema::subschema_in(kind, pointer)
            .and_then(|s| s.get("type"))
            .is_some_and(|t| t == "integer");
        if !wants_integer || number.fract() != 0.0 {
            return;
        }
        let written = plain.clone().unwrap_or_else(|| number.to_string());
        out.push(
            Diagnostic::error(
                Rule::SchemaType,
                file,
                Some(node.location),
                format!(
                    "{} must be a whole number, found number `{written}`",
                    describe_pointer(pointer)
                ),
            )
            .with_help(format!("write it without a decimal point: `{number:.0}`")),
        );
    });
}

fn unknown_field(site: &Site<'_>, name: &str) -> Diagnostic {
    if site.kind == SchemaKind::Rollout
        && site.pointer == "/spec/job"
        && (name == "targets" || name == "targetSelection")
    {
        return Diagnostic::error(
            Rule::RolloutJobTargets,
            site.file,
            site.key_location(name),
            format!("a rollout's job may not set `{name}`"),
        )
        .with_help(
            "a rollout's targets are its stages' targets, and its job is always CONTINUOUS (each stage widens it); move the targets into `spec.stages`",
        );
    }
    let allowed = allowed_properties(site.kind, &site.pointer);
    let diag = Diagnostic::error(
        Rule::SchemaUnknownField,
        site.file,
        site.key_location(name),
        format!("unknown field `{name}` in {}", site.field),
    )
    .with_label("not a field here");
    match closest(name, &allowed) {
        Some(best) => diag.with_help(format!("did you mean `{best}`?")),
        None if !allowed.is_empty() => {
            diag.with_help(format!("expected one of: {}", allowed.join(", ")))
        }
        None => diag,
    }
}

fn missing_field(site: &Site<'_>, property: &Value) -> Diagnostic {
    let name = property.as_str().unwrap_or_default();
    site.error(
        Rule::SchemaMissingField,
        format!("missing required field `{name}` in {}", site.field),
    )
    .with_help(required_help(&site.pointer, name))
}

fn wrong_type(site: &Site<'_>, kind: &TypeKind, instance: &Value) -> Diagnostic {
    let expected = match kind {
        TypeKind::Single(t) => article(&t.to_string()),
        TypeKind::Multiple(set) => set
            .iter()
            .map(|t| article(&t.to_string()))
            .collect::<Vec<_>>()
            .join(" or "),
    };
    let field = &site.field;
    let help = if matches!(instance, Value::Number(_) | Value::Bool(_) | Value::Null)
        && expected.contains("string")
    {
        "quote the value so YAML reads it as text".to_string()
    } else {
        format!("{field} must be {expected}")
    };
    site.error(
        Rule::SchemaType,
        format!("{field} must be {expected}, found {}", json_kind(instance)),
    )
    .with_help(help)
}

fn constant(site: &Site<'_>, expected_value: &Value, instance: &Value) -> Diagnostic {
    let expected = expected_value.as_str().unwrap_or_default();
    let (code, hint) = match site.pointer.as_str() {
        "/apiVersion" => (
            Rule::ManifestApiVersion,
            format!("set `apiVersion: {expected}`"),
        ),
        "/kind" => (
            Rule::ManifestKind,
            format!(
                "set `kind: {expected}`; jobctl manages `Job`, `JobTemplate` and `Rollout` objects"
            ),
        ),
        _ => (Rule::SchemaConst, format!("set it to `{expected}`")),
    };
    site.error(
        code,
        format!(
            "{} must be `{expected}`, found {}",
            site.field,
            short(instance)
        ),
    )
    .with_help(hint)
}

fn min_length(site: &Site<'_>, limit: u64) -> Diagnostic {
    let message = if limit == 1 {
        format!("{} must not be empty", site.field)
    } else {
        format!("{} must be at least {limit} characters long", site.field)
    };
    site.error(Rule::SchemaMinLength, message)
}

fn out_of_range(site: &Site<'_>, instance: &Value, bound: &str, limit: &Value) -> Diagnostic {
    site.error(
        Rule::SchemaRange,
        format!(
            "{} is {}; the {bound} is {limit}",
            site.field,
            short(instance)
        ),
    )
    .with_help(range_help(&site.pointer))
}

/// A map key that breaks `propertyNames`: the offending name is the inner error's instance.
fn bad_key(site: &Site<'_>, inner: &ValidationError<'_>) -> Diagnostic {
    let name = inner
        .instance()
        .as_ref()
        .as_str()
        .unwrap_or_default()
        .to_string();
    let detail = match inner.kind() {
        ValidationErrorKind::MinLength { .. } => "must not be empty".to_string(),
        ValidationErrorKind::MaxLength { limit } => format!("is longer than {limit} characters"),
        ValidationErrorKind::Pattern { .. } => {
            "contains characters that are not allowed".to_string()
        }
        other => format!("is not valid ({})", other.keyword()),
    };
    Diagnostic::error(
        Rule::SchemaKey,
        site.file,
        site.key_location(&name),
        format!("key `{name}` in {} {detail}", site.field),
    )
    .with_help(key_help(&site.pointer))
}

/// `anyOf`/`oneOf`: documented enums (schemars writes them as `oneOf` of consts), targets (their
/// own messages), or else the errors of the branch that got furthest.
fn branches(
    error: &ValidationError<'_>,
    site: &Site<'_>,
    context: &[Vec<ValidationError<'static>>],
    instance: &Value,
    out: &mut Vec<Diagnostic>,
) {
    if let Some(choices) = const_choices(context) {
        out.push(enum_diagnostic(
            &site.field,
            instance,
            &choices,
            site.file,
            site.location,
        ));
        return;
    }
    let stage_target = site.pointer.starts_with("/spec/stages/")
        && site
            .pointer
            .rsplit('/')
            .nth(1)
            .is_some_and(|parent| parent == "targets");
    if site.pointer.starts_with("/spec/targets/") || stage_target {
        push_target_error(instance, context, site, out);
        return;
    }
    // The branch that got furthest is the one whose type matched.
    let best = context
        .iter()
        .filter(|branch| {
            !branch.iter().any(|e| {
                matches!(e.kind(), ValidationErrorKind::Type { .. })
                    && e.instance_path() == error.instance_path()
            })
        })
        .min_by_key(|branch| branch.len());
    match best {
        Some(branch) => {
            for inner in branch {
                push_error(inner, site.root, site.file, site.kind, out);
            }
        }
        None => out.push(site.error(Rule::SchemaInvalid, format!("{} is not valid", site.field))),
    }
}

/// "must be one of A, B, found `X`", with a "did you mean" when one is close.
fn enum_diagnostic(
    field: &str,
    instance: &Value,
    choices: &[String],
    file: &Arc<SourceFile>,
    location: Option<Location>,
) -> Diagnostic {
    let found = instance
        .as_str()
        .map_or_else(|| instance.to_string(), String::from);
    let diag = Diagnostic::error(
        Rule::SchemaEnum,
        file,
        location,
        format!(
            "{field} must be one of {}, found `{found}`",
            choices.join(", ")
        ),
    );
    match closest(&found, choices) {
        Some(best) => diag.with_help(format!("did you mean `{best}`?")),
        None => diag,
    }
}

/// The allowed values when every branch failed only on a `const`.
fn const_choices(context: &[Vec<ValidationError<'static>>]) -> Option<Vec<String>> {
    context
        .iter()
        .map(|branch| match branch.as_slice() {
            [only] => match only.kind() {
                ValidationErrorKind::Constant { expected_value } => {
                    expected_value.as_str().map(String::from)
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn push_target_error(
    instance: &Value,
    context: &[Vec<ValidationError<'static>>],
    site: &Site<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let (root, file, location) = (site.root, site.file, site.location);
    const SHAPES: &str = "a target is a thing or thing group ARN (`arn:aws:iot:REGION:ACCOUNT:thing/NAME`, `…:thinggroup/NAME`), `{thing: NAME}` or `{thingGroup: NAME}`";
    match instance {
        Value::String(s) => {
            let mut diag = Diagnostic::error(
                Rule::SchemaTarget,
                file,
                location,
                format!("target `{s}` is not a thing or thing group ARN"),
            );
            diag = if s.starts_with("arn:") {
                diag.with_help(
                    "IoT target ARNs look like arn:aws:iot:us-west-2:123456789012:thinggroup/NAME",
                )
            } else {
                diag.with_help(format!(
                    "to target by name write `thing: {s}` or `thingGroup: {s}`"
                ))
            };
            if s.chars().count() > 2048 {
                diag.message = "target ARN is longer than 2048 characters".into();
            }
            out.push(diag);
        }
        Value::Object(map)
            if map.len() == 1 && (map.contains_key("thing") || map.contains_key("thingGroup")) =>
        {
            // The object branch matched in shape; its own errors (pattern, length) are precise.
            let key = if map.contains_key("thing") {
                "thing"
            } else {
                "thingGroup"
            };
            for branch in context {
                let relevant = branch
                    .iter()
                    .all(|e| e.instance_path().as_str().ends_with(key));
                if relevant && !branch.is_empty() {
                    for inner in branch {
                        push_error(inner, root, file, site.kind, out);
                    }
                    return;
                }
            }
            out.push(
                Diagnostic::error(Rule::SchemaTarget, file, location, "target is not valid")
                    .with_help(SHAPES),
            );
        }
        Value::Object(map) => {
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            let mut diag = Diagnostic::error(
                Rule::SchemaTarget,
                file,
                location,
                format!(
                    "target has fields {}; expected exactly one of `thing` or `thingGroup`",
                    keys.iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            diag = match keys
                .iter()
                .find_map(|k| closest(k, &["thing".into(), "thingGroup".into()]))
            {
                Some(best) => diag.with_help(format!("did you mean `{best}`?")),
                None => diag.with_help(SHAPES),
            };
            out.push(diag);
        }
        other => out.push(
            Diagnostic::error(
                Rule::SchemaTarget,
                file,
                location,
                format!(
                    "target must be a string or a map, found {}",
                    json_kind(other)
                ),
            )
            .with_help(SHAPES),
        ),
    }
}

/// The property names the schema allows on the object at `pointer`.
fn allowed_properties(kind: SchemaKind, pointer: &str) -> Vec<String> {
    super::schema::subschema_in(kind, pointer)
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// The closest candidate by edit distance, if it is close enough to be a plausible typo.
pub fn closest(word: &str, candidates: &[String]) -> Option<String> {
    candidates
        .iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&word.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.clone())
}

/// A human name for a pointer: `spec.abortConfig.criteriaList[0].action`.
pub fn describe_pointer(pointer: &str) -> String {
    if pointer.is_empty() {
        return "the manifest".to_string();
    }
    let mut out = String::new();
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if token.parse::<usize>().is_ok() {
            out.push_str(&format!("[{token}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&token);
        }
    }
    format!("`{out}`")
}

fn article(kind: &str) -> String {
    match kind {
        "object" => "a map".to_string(),
        "array" => "a list".to_string(),
        "integer" => "a whole number".to_string(),
        "number" => "a number".to_string(),
        "string" => "a string".to_string(),
        "boolean" => "true or false".to_string(),
        other => format!("a {other}"),
    }
}

fn json_kind(value: &Value) -> String {
    match value {
        Value::Null => "nothing (null)".into(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) if n.is_f64() => format!("number `{n}`"),
        Value::Number(n) => format!("whole number `{n}`"),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a map".into(),
    }
}

fn short(value: &Value) -> String {
    let text = match value {
        Value::String(s) if s.chars().any(char::is_control) => format!("`{}`", s.escape_debug()),
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    };
    if text.chars().count() > 80 {
        format!("{}…`", text.chars().take(77).collect::<String>())
    } else {
        text
    }
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

fn last_token(pointer: &str) -> &str {
    pointer.rsplit('/').next().unwrap_or("")
}

fn required_help(pointer: &str, name: &str) -> String {
    match (pointer, name) {
        ("", "apiVersion") => "every manifest starts with `apiVersion: jobctl/v1`".into(),
        ("", "kind") => "add `kind: Job`".into(),
        ("", "metadata") => "add `metadata:` with `name:`, the jobId".into(),
        ("", "spec") => "add `spec:` with at least `targets` and a document".into(),
        ("/spec", "targets") => "list the things or thing groups that should run the job".into(),
        (_, "rateIncreaseCriteria") => {
            "give `rateIncreaseCriteria` with numberOfNotifiedThings or numberOfSucceededThings"
                .into()
        }
        _ => format!("add `{name}`"),
    }
}

fn pattern_help(pointer: &str, pattern: &str) -> String {
    match last_token(pointer) {
        "name" => "a jobId is 1-64 characters of letters, digits, `-` and `_`".into(),
        "description" | "comment" => {
            "remove newlines, tabs and other control characters; use a single line".into()
        }
        "documentSource" => {
            "use an https:// S3 object URL, e.g. https://s3.us-west-2.amazonaws.com/bucket/job.json"
                .into()
        }
        "documentFile" => "documentFile must name a .json, .yaml or .yml file".into(),
        "namespaceId" => "a namespaceId is letters, digits, `-` and `_`".into(),
        "thing" | "thingGroup" => {
            "names are 1-128 characters of letters, digits, `:`, `-` and `_`".into()
        }
        "startTime" | "endTime"
            if pointer.contains("schedulingConfig") && !pointer.contains("maintenanceWindows") =>
        {
            "write UTC time as YYYY-MM-DDTHH:MM, e.g. 2027-01-10T02:00".into()
        }
        "roleArn" | "jobTemplateArn" => "give a full ARN starting with `arn:`".into(),
        _ if pointer.contains("destinationPackageVersions") => {
            "give a full package version ARN starting with `arn:`".into()
        }
        _ => format!("it must match the pattern {pattern}"),
    }
}

fn range_help(pointer: &str) -> String {
    match last_token(pointer) {
        "expiresInSec" => "presigned URLs live 60-3600 seconds".into(),
        "maximumPerMinute" | "baseRatePerMinute" => {
            "rollout rates are 1-1000 things per minute".into()
        }
        "incrementFactor" => "the increment factor is 1.1-5".into(),
        "thresholdPercentage" | "maxFailureRate" => "a percentage is 0-100".into(),
        "inProgressTimeoutInMinutes" => "the timeout is 1-10080 minutes (7 days)".into(),
        "numberOfRetries" => "retries are 0-10".into(),
        "durationInMinutes" => "a maintenance window lasts 1-1430 minutes".into(),
        _ => "see docs/manifest.md for the allowed range".into(),
    }
}

fn max_items_help(pointer: &str) -> String {
    match last_token(pointer) {
        "targets" => {
            "a job has at most 100 targets; target a thing group instead of many things".into()
        }
        "criteriaList" => "give at most one retry criterion per failure type (two in all)".into(),
        "destinationPackageVersions" => "a job installs at most 25 package versions".into(),
        _ => "remove entries".into(),
    }
}

fn min_properties_help(pointer: &str) -> String {
    if last_token(pointer) == "rateIncreaseCriteria" {
        "give numberOfNotifiedThings or numberOfSucceededThings".into()
    } else {
        "add the missing fields".into()
    }
}

fn key_help(pointer: &str) -> String {
    match last_token(pointer) {
        "tags" => {
            "tag keys are 1-128 characters of letters, digits, spaces and _ . : / = + - @".into()
        }
        "documentParameters" => {
            "parameter names are 1-128 characters of letters, digits, `-` and `_`".into()
        }
        _ => "rename the key".into(),
    }
}

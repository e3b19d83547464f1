//! Input decoding and validation: turns request JSON, URI labels and query strings into
//! typed values, enforcing every constraint of the IoT service model (lengths, patterns,
//! ranges, enums, list sizes, required members) plus the documented limits the model
//! leaves out. Every failure is an InvalidRequestException naming the offending member.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};
use time::macros::format_description;
use time::PrimitiveDateTime;

use crate::error::ApiError;
use crate::model::{
    AbortConfig, AbortCriteria, ExponentialRate, MaintenanceWindow, PresignedUrlConfig,
    RateIncreaseCriteria, RetryConfig, RetryCriteria, RolloutConfig, SchedulingConfig, Tag,
    TargetSelection, TimeoutConfig,
};

macro_rules! pattern {
    ($name:ident, $re:expr) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| {
            // The patterns are constants checked by the unit tests below.
            #[allow(clippy::expect_used)]
            Regex::new(concat!("^(?:", $re, ")$")).expect("static pattern compiles")
        });
    };
}

pattern!(RE_ID, r"[a-zA-Z0-9_-]+");
// Java's \p{C} is Unicode "Other" (control, format, unassigned, private use, surrogate).
pattern!(RE_NO_CONTROL, r"[^\p{C}]+");
// Java's \p{Upper} and \p{Digit} are ASCII-only classes.
pattern!(RE_REASON, r"[A-Z0-9_]+");
pattern!(RE_TAG_KEY, r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*");
pattern!(RE_ARN, r"arn:[!-~]+");
pattern!(RE_THING_NAME, r"[a-zA-Z0-9:_-]+");
pattern!(RE_THING_GROUP_ID, r"[a-zA-Z0-9\-]+");
pattern!(RE_ATTR_NAME, r"[a-zA-Z0-9_.,@/:#-]+");
pattern!(RE_ATTR_VALUE, r"[a-zA-Z0-9_.,@/:#=\[\]-]*");
// Java's \p{Graph} is ASCII printable without space.
pattern!(RE_GROUP_DESC, r"[!-~ ]*");

/// A string member's constraints, as the model states them.
#[derive(Clone, Copy)]
pub struct Rule {
    pub min: usize,
    pub max: usize,
    /// The compiled pattern and the model's spelling of it (for messages).
    pub pattern: Option<(&'static LazyLock<Regex>, &'static str)>,
    pub one_of: Option<&'static [&'static str]>,
}

impl Rule {
    pub const fn len(min: usize, max: usize) -> Self {
        Rule {
            min,
            max,
            pattern: None,
            one_of: None,
        }
    }

    const fn pat(
        min: usize,
        max: usize,
        re: &'static LazyLock<Regex>,
        shown: &'static str,
    ) -> Self {
        Rule {
            min,
            max,
            pattern: Some((re, shown)),
            one_of: None,
        }
    }

    const fn one_of(values: &'static [&'static str]) -> Self {
        Rule {
            min: 0,
            max: usize::MAX,
            pattern: None,
            one_of: Some(values),
        }
    }
}

pub const JOB_ID: Rule = Rule::pat(1, 64, &RE_ID, "[a-zA-Z0-9_-]+");
pub const DESCRIPTION: Rule = Rule::pat(0, 2028, &RE_NO_CONTROL, r"[^\p{C}]+");
pub const COMMENT: Rule = DESCRIPTION;
pub const REASON_CODE: Rule = Rule::pat(0, 128, &RE_REASON, r"[\p{Upper}\p{Digit}_]+");
pub const DOCUMENT_SOURCE: Rule = Rule::len(1, 1350);
pub const TARGET_ARN: Rule = Rule::len(0, 2048);
pub const ROLE_ARN: Rule = Rule::len(20, 2048);
pub const NAMESPACE_ID: Rule = Rule::pat(0, usize::MAX, &RE_ID, "[a-zA-Z0-9_-]+");
pub const TEMPLATE_ARN: Rule = Rule::pat(1, 1600, &RE_ARN, "^arn:[!-~]+$");
pub const PACKAGE_ARN: Rule = TEMPLATE_ARN;
pub const PARAM_KEY: Rule = Rule::pat(1, 128, &RE_ID, "[a-zA-Z0-9_-]+");
pub const PARAM_VALUE: Rule = Rule::pat(1, 30720, &RE_NO_CONTROL, r"[^\p{C}]+");
pub const STRING_DATE_TIME: Rule = Rule::len(1, 64);
pub const CRON: Rule = Rule::len(1, 256);
pub const TAG_VALUE_FILTER: Rule = Rule::len(0, 256);
pub const TAG_KEY: Rule = Rule::pat(1, 128, &RE_TAG_KEY, r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$");
pub const TAG_VALUE: Rule = Rule::len(0, 256);
/// Any string (e.g. ResourceArn, which has no length or pattern in the model).
pub const ANY: Rule = Rule::len(0, usize::MAX);
pub const THING_NAME: Rule = Rule::pat(1, 128, &RE_THING_NAME, "[a-zA-Z0-9:_-]+");
pub const THING_GROUP_NAME: Rule = THING_NAME;
pub const THING_GROUP_ID: Rule = Rule::pat(1, 128, &RE_THING_GROUP_ID, r"[a-zA-Z0-9\-]+");
pub const ATTR_NAME: Rule = Rule::pat(0, 128, &RE_ATTR_NAME, "[a-zA-Z0-9_.,@/:#-]+");
pub const ATTR_VALUE: Rule = Rule::pat(0, 800, &RE_ATTR_VALUE, r"[a-zA-Z0-9_.,@/:#=\[\]-]*");
pub const GROUP_DESCRIPTION: Rule = Rule::pat(0, 2028, &RE_GROUP_DESC, r"[\p{Graph}\x20]*");
pub const DETAILS_KEY: Rule = Rule::pat(1, 128, &RE_THING_NAME, "[a-zA-Z0-9:_-]+");
/// The model gives no maximum; its doc string says 1024 characters.
pub const DETAILS_VALUE: Rule = Rule::pat(1, 1024, &RE_NO_CONTROL, r"[^\p{C}]+");
/// "At most 10 name/value pairs" (CancelJobExecution's doc).
pub const MAX_DETAILS: usize = 10;
pub const TARGET_SELECTION: Rule = Rule::one_of(&["CONTINUOUS", "SNAPSHOT"]);
pub const JOB_STATUS: Rule = Rule::one_of(&[
    "IN_PROGRESS",
    "CANCELED",
    "COMPLETED",
    "DELETION_IN_PROGRESS",
    "SCHEDULED",
]);
pub const EXEC_STATUS: Rule = Rule::one_of(&[
    "QUEUED",
    "IN_PROGRESS",
    "SUCCEEDED",
    "FAILED",
    "TIMED_OUT",
    "REJECTED",
    "REMOVED",
    "CANCELED",
]);
const ABORT_FAILURE_TYPE: Rule = Rule::one_of(&["FAILED", "REJECTED", "TIMED_OUT", "ALL"]);
const ABORT_ACTION: Rule = Rule::one_of(&["CANCEL"]);
const RETRY_FAILURE_TYPE: Rule = Rule::one_of(&["FAILED", "TIMED_OUT", "ALL"]);
const END_BEHAVIOR: Rule = Rule::one_of(&["STOP_ROLLOUT", "CANCEL", "FORCE_CANCEL"]);

/// Documented limits the model does not carry (AWS IoT quotas page, 2019 revision).
pub const MAX_TARGETS: usize = 100;
pub const MAX_DOCUMENT_BYTES: usize = 32768;
pub const MAX_PACKAGE_VERSIONS: usize = 25;
pub const MAX_TAGS_PER_RESOURCE: usize = 50;
const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// The AWS validation message shape, so errors read like the real service's.
fn violation(path: &str, value: &str, constraint: &str) -> ApiError {
    let shown: String = if value.chars().count() > 64 {
        let head: String = value.chars().take(61).collect();
        format!("{head}...")
    } else {
        value.to_owned()
    };
    ApiError::invalid(format!(
        "1 validation error detected: Value '{shown}' at '{path}' failed to satisfy constraint: {constraint}"
    ))
}

fn missing(path: &str) -> ApiError {
    ApiError::invalid(format!(
        "1 validation error detected: Value null at '{path}' failed to satisfy constraint: Member must not be null"
    ))
}

fn wrong_type(path: &str, expected: &str) -> ApiError {
    ApiError::invalid(format!("Invalid type for '{path}': expected {expected}"))
}

/// Checks one string against a rule; `path` names the member in the message.
pub fn check_str(path: &str, v: &str, rule: &Rule) -> Result<(), ApiError> {
    let n = v.chars().count();
    if n < rule.min {
        return Err(violation(
            path,
            v,
            &format!(
                "Member must have length greater than or equal to {}",
                rule.min
            ),
        ));
    }
    if n > rule.max {
        return Err(violation(
            path,
            v,
            &format!("Member must have length less than or equal to {}", rule.max),
        ));
    }
    if let Some((re, shown)) = rule.pattern {
        if !re.is_match(v) {
            return Err(violation(
                path,
                v,
                &format!("Member must satisfy regular expression pattern: {shown}"),
            ));
        }
    }
    if let Some(values) = rule.one_of {
        if !values.contains(&v) {
            return Err(violation(
                path,
                v,
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    values.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn check_range<T: PartialOrd + std::fmt::Display>(
    path: &str,
    v: T,
    min: Option<T>,
    max: Option<T>,
) -> Result<(), ApiError> {
    if let Some(min) = min {
        if v < min {
            return Err(violation(
                path,
                &v.to_string(),
                &format!("Member must have value greater than or equal to {min}"),
            ));
        }
    }
    if let Some(max) = max {
        if v > max {
            return Err(violation(
                path,
                &v.to_string(),
                &format!("Member must have value less than or equal to {max}"),
            ));
        }
    }
    Ok(())
}

/// A JSON object being decoded, with the dotted path used in messages.
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    at: String,
}

impl<'a> Obj<'a> {
    /// The request body. An empty body decodes as `{}` because rest-json clients send
    /// nothing when no body member is set.
    pub fn root(body: &'a Value) -> Result<Self, ApiError> {
        match body {
            Value::Object(map) => Ok(Obj {
                map,
                at: String::new(),
            }),
            _ => Err(ApiError::invalid("Request body must be a JSON object")),
        }
    }

    fn path(&self, key: &str) -> String {
        if self.at.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.at)
        }
    }

    /// JSON null is treated as absent, as AWS's deserializers do.
    fn raw(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn str(&self, key: &str, rule: &Rule) -> Result<Option<String>, ApiError> {
        match self.raw(key) {
            None => Ok(None),
            Some(v) => as_str(&self.path(key), v, rule).map(Some),
        }
    }

    pub fn req_str(&self, key: &str, rule: &Rule) -> Result<String, ApiError> {
        self.str(key, rule)?.ok_or_else(|| missing(&self.path(key)))
    }

    /// Integers; `min`/`max` are the model's range (integer shapes also fit in i32).
    pub fn int(
        &self,
        key: &str,
        min: Option<i64>,
        max: Option<i64>,
    ) -> Result<Option<i64>, ApiError> {
        let Some(v) = self.raw(key) else {
            return Ok(None);
        };
        let path = self.path(key);
        let n = v.as_i64().ok_or_else(|| wrong_type(&path, "an integer"))?;
        check_range(&path, n, min, max)?;
        Ok(Some(n))
    }

    pub fn req_int(&self, key: &str, min: Option<i64>, max: Option<i64>) -> Result<i64, ApiError> {
        self.int(key, min, max)?
            .ok_or_else(|| missing(&self.path(key)))
    }

    pub fn num(
        &self,
        key: &str,
        min: Option<f64>,
        max: Option<f64>,
    ) -> Result<Option<f64>, ApiError> {
        let Some(v) = self.raw(key) else {
            return Ok(None);
        };
        let path = self.path(key);
        let n = v.as_f64().ok_or_else(|| wrong_type(&path, "a number"))?;
        check_range(&path, n, min, max)?;
        Ok(Some(n))
    }

    pub fn req_num(&self, key: &str, min: Option<f64>, max: Option<f64>) -> Result<f64, ApiError> {
        self.num(key, min, max)?
            .ok_or_else(|| missing(&self.path(key)))
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.raw(key) {
            None => Ok(None),
            Some(v) => v
                .as_bool()
                .map(Some)
                .ok_or_else(|| wrong_type(&self.path(key), "a boolean")),
        }
    }

    pub fn obj(&self, key: &str) -> Result<Option<Obj<'a>>, ApiError> {
        match self.raw(key) {
            None => Ok(None),
            Some(v) => as_obj(self.path(key), v).map(Some),
        }
    }

    pub fn req_obj(&self, key: &str) -> Result<Obj<'a>, ApiError> {
        self.obj(key)?.ok_or_else(|| missing(&self.path(key)))
    }

    /// A list with its item count bounds; items come back with their paths.
    pub fn list(
        &self,
        key: &str,
        min: usize,
        max: usize,
    ) -> Result<Option<Vec<(String, &'a Value)>>, ApiError> {
        let Some(v) = self.raw(key) else {
            return Ok(None);
        };
        let path = self.path(key);
        let items = v.as_array().ok_or_else(|| wrong_type(&path, "a list"))?;
        if items.len() < min {
            return Err(violation(
                &path,
                "[]",
                &format!("Member must have length greater than or equal to {min}"),
            ));
        }
        if items.len() > max {
            return Err(violation(
                &path,
                &format!("[{} items]", items.len()),
                &format!("Member must have length less than or equal to {max}"),
            ));
        }
        Ok(Some(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{path}.{}", i + 1), v))
                .collect(),
        ))
    }

    pub fn req_list(
        &self,
        key: &str,
        min: usize,
        max: usize,
    ) -> Result<Vec<(String, &'a Value)>, ApiError> {
        self.list(key, min, max)?
            .ok_or_else(|| missing(&self.path(key)))
    }

    pub fn str_list(
        &self,
        key: &str,
        min: usize,
        max: usize,
        rule: &Rule,
    ) -> Result<Option<Vec<String>>, ApiError> {
        match self.list(key, min, max)? {
            None => Ok(None),
            Some(items) => items
                .iter()
                .map(|(p, v)| as_str(p, v, rule))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
        }
    }

    pub fn str_map(
        &self,
        key: &str,
        key_rule: &Rule,
        value_rule: &Rule,
    ) -> Result<Option<BTreeMap<String, String>>, ApiError> {
        let Some(v) = self.raw(key) else {
            return Ok(None);
        };
        let path = self.path(key);
        let map = v.as_object().ok_or_else(|| wrong_type(&path, "a map"))?;
        let mut out = BTreeMap::new();
        for (k, v) in map {
            check_str(&format!("{path}.key"), k, key_rule)?;
            out.insert(k.clone(), as_str(&format!("{path}.{k}"), v, value_rule)?);
        }
        Ok(Some(out))
    }
}

pub fn as_obj(path: String, v: &Value) -> Result<Obj<'_>, ApiError> {
    match v {
        Value::Object(map) => Ok(Obj { map, at: path }),
        _ => Err(wrong_type(&path, "a structure")),
    }
}

pub fn as_str(path: &str, v: &Value, rule: &Rule) -> Result<String, ApiError> {
    let s = v.as_str().ok_or_else(|| wrong_type(path, "a string"))?;
    check_str(path, s, rule)?;
    Ok(s.to_owned())
}

/// Parses a body, mapping malformed JSON to InvalidRequestException (AWS answers some
/// malformed bodies with SerializationException, which no SDK models for IoT).
pub fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("Request body is not valid JSON: {e}")))
}

/// True when `x` has at most `digits` digits after the decimal point. Doubles such as
/// 1.1 are not exact, so the check allows a rounding error far below the next digit.
fn has_decimals(x: f64, digits: i32) -> bool {
    let scaled = x * 10f64.powi(digits);
    (scaled - scaled.round()).abs() < 1e-6
}

pub fn presigned(o: Obj<'_>) -> Result<PresignedUrlConfig, ApiError> {
    Ok(PresignedUrlConfig {
        role_arn: o.str("roleArn", &ROLE_ARN)?,
        expires_in_sec: o.int("expiresInSec", Some(60), Some(3600))?,
    })
}

pub fn rollout(o: Obj<'_>) -> Result<RolloutConfig, ApiError> {
    // The model only has min=1; the quotas page gives 1-1000 executions per minute.
    let maximum_per_minute = o.int("maximumPerMinute", Some(1), Some(1000))?;
    let exponential_rate = match o.obj("exponentialRate")? {
        None => None,
        Some(e) => {
            let base = e.req_int("baseRatePerMinute", Some(1), Some(1000))?;
            let factor = e.req_num("incrementFactor", Some(1.1), Some(5.0))?;
            if !has_decimals(factor, 1) {
                return Err(violation(
                    &e.path("incrementFactor"),
                    &factor.to_string(),
                    "Member must have at most one digit after the decimal point",
                ));
            }
            let c = e.req_obj("rateIncreaseCriteria")?;
            let notified = c.int("numberOfNotifiedThings", Some(1), Some(i32::MAX as i64))?;
            let succeeded = c.int("numberOfSucceededThings", Some(1), Some(i32::MAX as i64))?;
            // Both members are optional in the model, but the criteria mean nothing
            // without one of them and the docs ask for one.
            if notified.is_none() && succeeded.is_none() {
                return Err(ApiError::invalid(format!(
                    "{} must set numberOfNotifiedThings or numberOfSucceededThings",
                    e.path("rateIncreaseCriteria")
                )));
            }
            Some(ExponentialRate {
                base_rate_per_minute: base,
                increment_factor: factor,
                rate_increase_criteria: RateIncreaseCriteria {
                    number_of_notified_things: notified,
                    number_of_succeeded_things: succeeded,
                },
            })
        }
    };
    Ok(RolloutConfig {
        maximum_per_minute,
        exponential_rate,
    })
}

pub fn abort(o: Obj<'_>) -> Result<AbortConfig, ApiError> {
    let mut criteria_list = Vec::new();
    for (path, v) in o.req_list("criteriaList", 1, usize::MAX)? {
        let c = as_obj(path, v)?;
        // The model gives only max=100; a negative percentage has no meaning.
        let pct = c.req_num("thresholdPercentage", Some(0.0), Some(100.0))?;
        if !has_decimals(pct, 2) {
            return Err(violation(
                &c.path("thresholdPercentage"),
                &pct.to_string(),
                "Member must have at most two digits after the decimal point",
            ));
        }
        criteria_list.push(AbortCriteria {
            failure_type: c.req_str("failureType", &ABORT_FAILURE_TYPE)?,
            action: c.req_str("action", &ABORT_ACTION)?,
            threshold_percentage: pct,
            min_number_of_executed_things: c.req_int(
                "minNumberOfExecutedThings",
                Some(1),
                Some(i32::MAX as i64),
            )?,
        });
    }
    Ok(AbortConfig { criteria_list })
}

pub fn timeout(o: Obj<'_>) -> Result<TimeoutConfig, ApiError> {
    // The model has no range; the API reference gives 1 minute to 7 days.
    Ok(TimeoutConfig {
        in_progress_timeout_in_minutes: o.int(
            "inProgressTimeoutInMinutes",
            Some(1),
            Some(10080),
        )?,
    })
}

pub fn retry(o: Obj<'_>) -> Result<RetryConfig, ApiError> {
    let mut criteria_list = Vec::new();
    for (path, v) in o.req_list("criteriaList", 1, 2)? {
        let c = as_obj(path, v)?;
        criteria_list.push(RetryCriteria {
            failure_type: c.req_str("failureType", &RETRY_FAILURE_TYPE)?,
            number_of_retries: c.req_int("numberOfRetries", Some(0), Some(10))?,
        });
    }
    Ok(RetryConfig { criteria_list })
}

/// Parses `YYYY-MM-DDTHH:MM` (UTC) into epoch milliseconds.
pub fn parse_date_time(path: &str, s: &str) -> Result<i64, ApiError> {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let t = PrimitiveDateTime::parse(s, &fmt).map_err(|_| {
        violation(
            path,
            s,
            "Member must be a date and time in the format YYYY-MM-DDTHH:MM",
        )
    })?;
    Ok((t.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64)
}

/// `document` or `documentSource`: never both, and one of them unless `other` (a template
/// or a job to take it from) is given; `required` names what is missing in the message.
fn document_or_source(
    o: &Obj<'_>,
    other: bool,
    required: &str,
) -> Result<(Option<String>, Option<String>), ApiError> {
    let document = o.str("document", &Rule::len(0, usize::MAX))?;
    let document_source = o.str("documentSource", &DOCUMENT_SOURCE)?;
    match (&document, &document_source) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "Specify either document or documentSource, not both",
            ))
        }
        (None, None) if !other => {
            return Err(ApiError::invalid(format!("One of {required} is required")))
        }
        _ => {}
    }
    if let Some(doc) = &document {
        check_document(doc)?;
    }
    Ok((document, document_source))
}

/// `tags` of a create call: the model's Tag shape, at most 50 per resource.
fn resource_tags(o: &Obj<'_>) -> Result<Vec<Tag>, ApiError> {
    let tags = match o.list("tags", 0, usize::MAX)? {
        Some(items) => tags(items)?,
        None => Vec::new(),
    };
    if tags.len() > MAX_TAGS_PER_RESOURCE {
        return Err(ApiError::invalid(format!(
            "A resource can have at most {MAX_TAGS_PER_RESOURCE} tags"
        )));
    }
    Ok(tags)
}

/// `document`: at most 32768 bytes of JSON.
fn check_document(doc: &str) -> Result<(), ApiError> {
    if doc.len() > MAX_DOCUMENT_BYTES {
        return Err(violation(
            "document",
            &doc[..doc.char_indices().nth(61).map_or(doc.len(), |(i, _)| i)],
            &format!("Member must have length less than or equal to {MAX_DOCUMENT_BYTES} bytes"),
        ));
    }
    // IoT job documents are UTF-8 JSON; the service rejects anything else.
    if serde_json::from_str::<serde::de::IgnoredAny>(doc).is_err() {
        return Err(ApiError::invalid("document must be a valid JSON document"));
    }
    Ok(())
}

/// `maintenanceWindows` (of schedulingConfig or of a job template): each start a cron
/// expression the emulator can evaluate, each duration 1-1430 minutes.
fn maintenance_windows(o: &Obj<'_>) -> Result<Option<Vec<MaintenanceWindow>>, ApiError> {
    let Some(items) = o.list("maintenanceWindows", 0, usize::MAX)? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for (path, v) in items {
        let w = as_obj(path, v)?;
        let start_time = w.req_str("startTime", &CRON)?;
        if let Err(why) = crate::cron::Cron::parse(&start_time) {
            return Err(violation(
                &w.path("startTime"),
                &start_time,
                &format!("Member must be a cron expression: {why}"),
            ));
        }
        out.push(MaintenanceWindow {
            start_time,
            duration_in_minutes: w.req_int("durationInMinutes", Some(1), Some(1430))?,
        });
    }
    Ok(Some(out))
}

/// A decoded schedulingConfig with its times resolved against the emulator clock.
pub struct Schedule {
    pub config: SchedulingConfig,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
}

/// Applies the scheduling rules from the CreateJob docs: start 30 minutes to 1 year
/// ahead, end at most 2 years ahead and 30 minutes to 2 years after the start
/// (a year is taken as 365 days).
pub fn scheduling(o: Obj<'_>, now_ms: i64) -> Result<Schedule, ApiError> {
    let start_time = o.str("startTime", &STRING_DATE_TIME)?;
    let end_time = o.str("endTime", &STRING_DATE_TIME)?;
    let end_behavior = o.str("endBehavior", &END_BEHAVIOR)?;
    let mut start_ms = None;
    let mut end_ms = None;
    if let Some(s) = &start_time {
        let path = o.path("startTime");
        let t = parse_date_time(&path, s)?;
        if t < now_ms + 30 * MINUTE_MS {
            return Err(violation(
                &path,
                s,
                "startTime must be at least 30 minutes in the future",
            ));
        }
        if t > now_ms + 365 * DAY_MS {
            return Err(violation(
                &path,
                s,
                "startTime must be at most 1 year in the future",
            ));
        }
        start_ms = Some(t);
    }
    if let Some(s) = &end_time {
        let path = o.path("endTime");
        let t = parse_date_time(&path, s)?;
        if t < now_ms + 30 * MINUTE_MS {
            return Err(violation(
                &path,
                s,
                "endTime must be at least 30 minutes in the future",
            ));
        }
        if t > now_ms + 2 * 365 * DAY_MS {
            return Err(violation(
                &path,
                s,
                "endTime must be at most 2 years in the future",
            ));
        }
        if let Some(start) = start_ms {
            if t - start < 30 * MINUTE_MS {
                return Err(violation(
                    &path,
                    s,
                    "endTime must be at least 30 minutes after startTime",
                ));
            }
            if t - start > 2 * 365 * DAY_MS {
                return Err(violation(
                    &path,
                    s,
                    "endTime must be at most 2 years after startTime",
                ));
            }
        }
        end_ms = Some(t);
    }
    let maintenance_windows = maintenance_windows(&o)?;
    Ok(Schedule {
        config: SchedulingConfig {
            start_time,
            end_time,
            end_behavior,
            maintenance_windows,
        },
        start_ms,
        end_ms,
    })
}

pub fn tags(items: Vec<(String, &Value)>) -> Result<Vec<Tag>, ApiError> {
    let mut out: Vec<Tag> = Vec::new();
    for (path, v) in items {
        let t = as_obj(path, v)?;
        let key = t.req_str("Key", &TAG_KEY)?;
        let value = t.str("Value", &TAG_VALUE)?;
        // A repeated key keeps the last value, as a map would.
        out.retain(|x| x.key != key);
        out.push(Tag { key, value });
    }
    Ok(out)
}

/// Everything CreateJob accepts, decoded and checked except what needs state (target
/// existence, duplicates, limits).
pub struct CreateJob {
    pub targets: Vec<String>,
    pub document: Option<String>,
    pub document_source: Option<String>,
    pub description: Option<String>,
    pub presigned_url_config: Option<PresignedUrlConfig>,
    pub target_selection: TargetSelection,
    pub rollout: Option<RolloutConfig>,
    pub abort: Option<AbortConfig>,
    pub timeout: Option<TimeoutConfig>,
    pub tags: Vec<Tag>,
    pub namespace_id: Option<String>,
    pub job_template_arn: Option<String>,
    pub retry: Option<RetryConfig>,
    pub document_parameters: Option<BTreeMap<String, String>>,
    pub schedule: Option<Schedule>,
    pub destination_package_versions: Option<Vec<String>>,
}

pub fn create_job(body: &Value, now_ms: i64) -> Result<CreateJob, ApiError> {
    let o = Obj::root(body)?;
    let targets = o
        .str_list("targets", 1, usize::MAX, &TARGET_ARN)?
        .ok_or_else(|| missing("targets"))?;
    if targets.len() > MAX_TARGETS {
        return Err(violation(
            "targets",
            &format!("[{} items]", targets.len()),
            &format!("Member must have length less than or equal to {MAX_TARGETS}"),
        ));
    }
    let job_template_arn = o.str("jobTemplateArn", &TEMPLATE_ARN)?;
    // A job template can supply the document.
    let (document, document_source) =
        document_or_source(&o, job_template_arn.is_some(), "document or documentSource")?;
    let description = o.str("description", &DESCRIPTION)?;
    let target_selection = match o.str("targetSelection", &TARGET_SELECTION)? {
        Some(s) => TargetSelection::parse(&s).unwrap_or(TargetSelection::Snapshot),
        None => TargetSelection::Snapshot,
    };
    let document_parameters = o.str_map("documentParameters", &PARAM_KEY, &PARAM_VALUE)?;
    if document_parameters.is_some()
        && !job_template_arn.as_deref().is_some_and(is_managed_template)
    {
        return Err(ApiError::invalid(
            "documentParameters can only be used with an AWS managed job template (jobTemplateArn arn:aws:iot:<region>::jobtemplate/AWS-...)",
        ));
    }
    let tags = resource_tags(&o)?;
    Ok(CreateJob {
        targets,
        document,
        document_source,
        description,
        presigned_url_config: o.obj("presignedUrlConfig")?.map(presigned).transpose()?,
        target_selection,
        rollout: o
            .obj("jobExecutionsRolloutConfig")?
            .map(rollout)
            .transpose()?,
        abort: o.obj("abortConfig")?.map(abort).transpose()?,
        timeout: o.obj("timeoutConfig")?.map(timeout).transpose()?,
        tags,
        namespace_id: o.str("namespaceId", &NAMESPACE_ID)?,
        job_template_arn,
        retry: o.obj("jobExecutionsRetryConfig")?.map(retry).transpose()?,
        document_parameters,
        schedule: o
            .obj("schedulingConfig")?
            .map(|s| scheduling(s, now_ms))
            .transpose()?,
        destination_package_versions: o.str_list(
            "destinationPackageVersions",
            0,
            MAX_PACKAGE_VERSIONS,
            &PACKAGE_ARN,
        )?,
    })
}

/// Everything CreateJobTemplate accepts, decoded and checked except what needs state.
pub struct CreateJobTemplate {
    pub job_arn: Option<String>,
    pub document: Option<String>,
    pub document_source: Option<String>,
    pub description: String,
    pub presigned_url_config: Option<PresignedUrlConfig>,
    pub rollout: Option<RolloutConfig>,
    pub abort: Option<AbortConfig>,
    pub timeout: Option<TimeoutConfig>,
    pub tags: Vec<Tag>,
    pub retry: Option<RetryConfig>,
    pub maintenance_windows: Option<Vec<MaintenanceWindow>>,
    pub destination_package_versions: Option<Vec<String>>,
}

pub fn create_job_template(body: &Value) -> Result<CreateJobTemplate, ApiError> {
    let o = Obj::root(body)?;
    let job_arn = o.str("jobArn", &ANY)?;
    let (document, document_source) =
        document_or_source(&o, job_arn.is_some(), "document, documentSource or jobArn")?;
    let tags = resource_tags(&o)?;
    Ok(CreateJobTemplate {
        job_arn,
        document,
        document_source,
        description: o.req_str("description", &DESCRIPTION)?,
        presigned_url_config: o.obj("presignedUrlConfig")?.map(presigned).transpose()?,
        rollout: o
            .obj("jobExecutionsRolloutConfig")?
            .map(rollout)
            .transpose()?,
        abort: o.obj("abortConfig")?.map(abort).transpose()?,
        timeout: o.obj("timeoutConfig")?.map(timeout).transpose()?,
        tags,
        retry: o.obj("jobExecutionsRetryConfig")?.map(retry).transpose()?,
        maintenance_windows: maintenance_windows(&o)?,
        destination_package_versions: o.str_list(
            "destinationPackageVersions",
            0,
            MAX_PACKAGE_VERSIONS,
            &PACKAGE_ARN,
        )?,
    })
}

/// The six fields of an ARN: `arn`, partition, service, region, account, resource.
pub fn arn_parts(arn: &str) -> Option<[&str; 6]> {
    let mut parts = arn.splitn(6, ':');
    let mut out = [""; 6];
    for slot in &mut out {
        *slot = parts.next()?;
    }
    Some(out)
}

/// AWS managed templates live in the account-less ARN space: `arn:aws:iot:REGION::jobtemplate/AWS-...`.
pub fn is_managed_template(arn: &str) -> bool {
    matches!(arn_parts(arn), Some(["arn", _, "iot", _, "", res]) if res.starts_with("jobtemplate/AWS-"))
}

/// The members UpdateJob may change; each one given replaces the stored value.
pub struct UpdateJob {
    pub description: Option<String>,
    pub presigned_url_config: Option<PresignedUrlConfig>,
    pub rollout: Option<RolloutConfig>,
    pub abort: Option<AbortConfig>,
    pub timeout: Option<TimeoutConfig>,
    pub retry: Option<RetryConfig>,
}

/// A TIMED_OUT retry criterion needs an in-progress timer to time anything out (the
/// developer guide: "TIMED_OUT retry needs a timeout configuration").
pub fn retry_needs_timeout(
    retry: Option<&RetryConfig>,
    timeout: Option<&TimeoutConfig>,
) -> Result<(), ApiError> {
    let timed_out = retry.is_some_and(|r| {
        r.criteria_list
            .iter()
            .any(|c| c.failure_type == "TIMED_OUT")
    });
    let timer = timeout.is_some_and(|t| t.in_progress_timeout_in_minutes.is_some());
    if timed_out && !timer {
        return Err(ApiError::invalid(
            "A jobExecutionsRetryConfig criterion for TIMED_OUT requires a timeoutConfig with inProgressTimeoutInMinutes.",
        ));
    }
    Ok(())
}

/// UpdateJob's retry rule: "the number of retries can't be updated. You can only set the
/// number of retries to 0" (developer guide). A criterion the job did not have counts as 0
/// retries before.
pub fn retry_update(old: Option<&RetryConfig>, new: &RetryConfig) -> Result<(), ApiError> {
    for c in &new.criteria_list {
        let before = old
            .and_then(|o| {
                o.criteria_list
                    .iter()
                    .find(|k| k.failure_type == c.failure_type)
            })
            .map_or(0, |k| k.number_of_retries);
        if c.number_of_retries != 0 && c.number_of_retries != before {
            return Err(ApiError::invalid(format!(
                "numberOfRetries for {} cannot be changed from {before} to {}: UpdateJob can only set it to 0.",
                c.failure_type, c.number_of_retries
            )));
        }
    }
    Ok(())
}

pub fn update_job(body: &Value) -> Result<UpdateJob, ApiError> {
    let o = Obj::root(body)?;
    Ok(UpdateJob {
        description: o.str("description", &DESCRIPTION)?,
        presigned_url_config: o.obj("presignedUrlConfig")?.map(presigned).transpose()?,
        rollout: o
            .obj("jobExecutionsRolloutConfig")?
            .map(rollout)
            .transpose()?,
        abort: o.obj("abortConfig")?.map(abort).transpose()?,
        timeout: o.obj("timeoutConfig")?.map(timeout).transpose()?,
        retry: o.obj("jobExecutionsRetryConfig")?.map(retry).transpose()?,
    })
}

/// What a job target ARN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Thing(String),
    Group(String),
}

/// Checks a target is a thing or thing-group ARN of this account and region.
pub fn target(path: &str, arn: &str, account: &str, region: &str) -> Result<Target, ApiError> {
    let bad = |why: &str| {
        violation(
            path,
            arn,
            &format!(
                "Member must be a thing or thing group ARN of account {account} in {region}: {why}"
            ),
        )
    };
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(r), Some(a), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(bad("not an ARN"));
    };
    if partition != crate::model::partition(region) || service != "iot" {
        return Err(bad("not an AWS IoT ARN"));
    }
    if r != region || a != account {
        return Err(bad("wrong account or region"));
    }
    let (kind, name) = resource
        .split_once('/')
        .ok_or_else(|| bad("missing resource type"))?;
    if check_str(path, name, &THING_NAME).is_err() {
        return Err(bad("invalid thing or group name"));
    }
    match kind {
        "thing" => Ok(Target::Thing(name.to_owned())),
        "thinggroup" => Ok(Target::Group(name.to_owned())),
        _ => Err(bad("resource must be thing/NAME or thinggroup/NAME")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patterns_compile_and_anchor() {
        assert!(check_str("jobId", "a-b_C9", &JOB_ID).is_ok());
        assert!(check_str("jobId", "a!b", &JOB_ID).is_err());
        assert!(check_str("jobId", "a b", &JOB_ID).is_err());
        assert!(check_str("description", "tab\there", &DESCRIPTION).is_err());
        assert!(check_str("description", "", &DESCRIPTION).is_err());
        assert!(check_str("description", "héllo wörld", &DESCRIPTION).is_ok());
        assert!(check_str("reasonCode", "ROLLBACK_2", &REASON_CODE).is_ok());
        assert!(check_str("reasonCode", "rollback", &REASON_CODE).is_err());
        assert!(check_str("Key", "env:prod/x=y+z@a", &TAG_KEY).is_ok());
        assert!(check_str("Key", "bad#key", &TAG_KEY).is_err());
        assert!(check_str("a", "arn:aws:iot:x", &TEMPLATE_ARN).is_ok());
        assert!(check_str("a", "arn:has space", &TEMPLATE_ARN).is_err());
        assert!(check_str("g", "abc-DEF", &THING_GROUP_ID).is_ok());
        assert!(check_str("v", "a=b[1]", &ATTR_VALUE).is_ok());
        assert!(check_str("n", "a.b", &ATTR_NAME).is_ok());
        assert!(check_str("d", "Hello world!", &GROUP_DESCRIPTION).is_ok());
        assert!(check_str("d", "tab\t", &GROUP_DESCRIPTION).is_err());
    }

    #[test]
    fn decimals() {
        assert!(has_decimals(1.1, 1));
        assert!(has_decimals(4.9, 1));
        assert!(!has_decimals(1.55, 1));
        assert!(has_decimals(99.99, 2));
        assert!(!has_decimals(99.999, 2));
    }

    #[test]
    fn targets_must_match_account_and_region() {
        let ok = target(
            "t",
            "arn:aws:iot:us-east-1:123456789012:thing/dev1",
            "123456789012",
            "us-east-1",
        );
        assert_eq!(ok.ok(), Some(Target::Thing("dev1".into())));
        let g = target(
            "t",
            "arn:aws:iot:us-east-1:123456789012:thinggroup/fleet",
            "123456789012",
            "us-east-1",
        );
        assert_eq!(g.ok(), Some(Target::Group("fleet".into())));
        for bad in [
            "dev1",
            "arn:aws:iot:eu-west-1:123456789012:thing/dev1",
            "arn:aws:iot:us-east-1:999999999999:thing/dev1",
            "arn:aws:s3:us-east-1:123456789012:thing/dev1",
            "arn:aws:iot:us-east-1:123456789012:job/j",
            "arn:aws:iot:us-east-1:123456789012:thing/bad name",
        ] {
            assert!(
                target("t", bad, "123456789012", "us-east-1").is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn managed_templates() {
        assert!(is_managed_template(
            "arn:aws:iot:us-east-1::jobtemplate/AWS-Reboot:1.0"
        ));
        assert!(!is_managed_template(
            "arn:aws:iot:us-east-1:123456789012:jobtemplate/mine"
        ));
    }

    #[test]
    fn create_job_messages_name_the_field() {
        let body = json!({"targets": ["x"], "document": "{}", "abortConfig": {"criteriaList": [
            {"failureType": "FAILED", "action": "CANCEL", "thresholdPercentage": 150, "minNumberOfExecutedThings": 1}
        ]}});
        let err = create_job(&body, 0)
            .err()
            .map(|e| e.message)
            .unwrap_or_default();
        assert!(
            err.contains("abortConfig.criteriaList.1.thresholdPercentage"),
            "{err}"
        );
    }

    #[test]
    fn date_times() {
        assert_eq!(parse_date_time("s", "1970-01-01T00:01").ok(), Some(60_000));
        assert!(parse_date_time("s", "1970-01-01 00:01").is_err());
        assert!(parse_date_time("s", "1970-01-01T00:01:00").is_err());
    }
}

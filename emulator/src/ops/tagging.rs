//! The Resource Groups Tagging API's GetResources (JSON 1.1, SigV4 service `tagging`) over
//! the scope's tagging index: the IoT resources that are or were tagged, filtered by tag
//! and resource type, paged. The index trails the real tags by `--tagging-lag` (AWS's tag
//! index is eventually consistent), so a fresh tag may be missing and a removed one still
//! match.

use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::model::{Scope, Tag};
use crate::request::{decode_token, encode_token, Req};
use crate::validate::{self, Obj, Rule};

/// `ResourcesPerPage` is 1–100; the model gives no default, the emulator answers 100.
const MAX_PER_PAGE: i64 = 100;
/// The model's limits: 50 tag filters, 20 values each, 100 resource-type filters.
const MAX_TAG_FILTERS: usize = 50;
const MAX_FILTER_VALUES: usize = 20;
const MAX_TYPE_FILTERS: usize = 100;
/// `ResourceARNList`: 1–100 ARNs.
const MAX_ARNS: usize = 100;

/// One `TagFilters` entry: a key, and the values any of which it accepts (none: any value).
struct TagFilter {
    key: String,
    values: Vec<String>,
}

impl TagFilter {
    fn matches(&self, tags: &[Tag]) -> bool {
        tags.iter().any(|t| {
            t.key == self.key
                && (self.values.is_empty()
                    || self
                        .values
                        .iter()
                        .any(|v| v == t.value.as_deref().unwrap_or("")))
        })
    }
}

/// `service` or `service:type`, matched against the ARN's service and resource type
/// (`arn:aws:iot:REGION:ACCOUNT:job/ID` is `iot` and `iot:job`).
fn type_matches(filter: &str, arn: &str) -> bool {
    let Some([_, _, service, _, _, resource]) = validate::arn_parts(arn) else {
        return false;
    };
    let kind = resource.split(['/', ':']).next().unwrap_or("");
    match filter.split_once(':') {
        Some((s, t)) => s == service && t == kind,
        None => filter == service,
    }
}

fn tag_filters(o: &Obj<'_>) -> Result<Vec<TagFilter>, ApiError> {
    let Some(items) = o.list("TagFilters", 0, MAX_TAG_FILTERS)? else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .map(|(path, v)| {
            let f = validate::as_obj(path.clone(), v)?;
            let key = f.req_str("Key", &validate::TAG_KEY)?;
            let values = f
                .str_list("Values", 0, MAX_FILTER_VALUES, &validate::TAG_VALUE_FILTER)?
                .unwrap_or_default();
            Ok(TagFilter { key, values })
        })
        .collect()
}

pub fn get_resources(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let body = req.json()?;
    let o = Obj::root(&body)?;
    let filters = tag_filters(&o)?;
    let types = o
        .str_list(
            "ResourceTypeFilters",
            0,
            MAX_TYPE_FILTERS,
            &Rule::len(0, 256),
        )?
        .unwrap_or_default();
    let arns = o.str_list("ResourceARNList", 1, MAX_ARNS, &Rule::len(1, 1011))?;
    if arns.is_some() && !types.is_empty() {
        return Err(ApiError::invalid(
            "ResourceARNList and ResourceTypeFilters cannot be used together.",
        ));
    }
    let per_page = o
        .int("ResourcesPerPage", Some(1), Some(MAX_PER_PAGE))?
        .unwrap_or(MAX_PER_PAGE) as usize;
    o.int("TagsPerPage", Some(100), Some(500))?;
    o.bool("IncludeComplianceDetails")?;
    o.bool("ExcludeCompliantResources")?;
    // A token is only good for the filters it was issued for.
    let listing = format!(
        "getresources;{}",
        serde_json::to_string(&json!([body.get("TagFilters"), types, arns])).unwrap_or_default()
    );
    let after = match o.str("PaginationToken", &Rule::len(0, 2048))? {
        Some(t) if !t.is_empty() => Some(decode_token(&listing, &t)?),
        _ => None,
    };
    scope.index_tags(req.now - req.tagging_lag_ms);
    let mut rows: Vec<Value> = Vec::new();
    let mut last = None;
    let mut more = false;
    let candidates = scope
        .tag_index
        .range::<String, _>((
            after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded),
            std::ops::Bound::Unbounded,
        ))
        .filter(|(arn, _)| arns.as_ref().is_none_or(|l| l.contains(arn)))
        .filter(|(arn, _)| types.is_empty() || types.iter().any(|t| type_matches(t, arn)))
        .filter(|(_, tags)| filters.iter().all(|f| f.matches(tags)));
    for (arn, tags) in candidates {
        if rows.len() == per_page {
            more = true;
            break;
        }
        rows.push(json!({
            "ResourceARN": arn,
            "Tags": tags
                .iter()
                .map(|t| json!({"Key": t.key, "Value": t.value.as_deref().unwrap_or("")}))
                .collect::<Vec<_>>(),
        }));
        last = Some(arn.clone());
    }
    let mut m = Map::new();
    m.insert("ResourceTagMappingList".into(), Value::Array(rows));
    // An empty token tells the paginators the listing is done.
    let token = match (more, last) {
        (true, Some(arn)) => encode_token(&listing, &arn),
        _ => String::new(),
    };
    m.insert("PaginationToken".into(), token.into());
    Ok(Value::Object(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_types_follow_the_arn() {
        let job = "arn:aws:iot:us-east-1:123456789012:job/fw-1";
        assert!(type_matches("iot", job));
        assert!(type_matches("iot:job", job));
        assert!(!type_matches("iot:jobtemplate", job));
        assert!(type_matches(
            "iot:jobtemplate",
            "arn:aws:iot:us-east-1:123456789012:jobtemplate/t"
        ));
        assert!(!type_matches("s3", job));
        assert!(!type_matches("iot", "not-an-arn"));
    }

    #[test]
    fn tag_filters_or_values_and_match_any_value_without_them() {
        let tags = vec![Tag {
            key: "env".into(),
            value: Some("prod".into()),
        }];
        let f = |key: &str, values: &[&str]| TagFilter {
            key: key.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        };
        assert!(f("env", &[]).matches(&tags));
        assert!(f("env", &["dev", "prod"]).matches(&tags));
        assert!(!f("env", &["dev"]).matches(&tags));
        assert!(!f("team", &[]).matches(&tags));
    }
}

//! TagResource, UntagResource and ListTagsForResource over jobs, things and thing groups.
//! Tags live in `Scope::tags` by ARN, so they go away with the resource they belong to.

use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::model::Scope;
use crate::request::{decode_token, encode_token, Req};
use crate::validate::{self, Obj, MAX_TAGS_PER_RESOURCE};

const PAGE: usize = 50;

/// Checks `arn` names a job, thing or thing group that exists in this scope.
fn resource(scope: &Scope, arn: &str) -> Result<(), ApiError> {
    if !arn.starts_with("arn:") {
        return Err(ApiError::invalid(format!(
            "1 validation error detected: Value '{arn}' at 'resourceArn' failed to satisfy constraint: Member must be an ARN"
        )));
    }
    let prefix = scope.arn("");
    let exists = arn
        .strip_prefix(&prefix)
        .is_some_and(|res| match res.split_once('/') {
            Some(("job", id)) => scope.jobs.contains_key(id),
            Some(("thing", name)) => scope.things.contains_key(name),
            Some(("thinggroup", name)) => scope.groups.contains_key(name),
            Some(("jobtemplate", id)) => scope.templates.contains_key(id),
            _ => false,
        });
    if exists {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "Resource {arn} cannot be found."
        )))
    }
}

pub fn tag(scope: &mut Scope, req: &Req<'_>) -> Result<(), ApiError> {
    let body = req.json()?;
    let o = Obj::root(&body)?;
    let arn = o.req_str(
        "resourceArn",
        &validate::Rule {
            min: 1,
            ..validate::ANY
        },
    )?;
    let new = validate::tags(o.req_list("tags", 0, usize::MAX)?)?;
    resource(scope, &arn)?;
    let mut merged = scope.tags.get(&arn).cloned().unwrap_or_default();
    for t in new {
        merged.retain(|x| x.key != t.key);
        merged.push(t);
    }
    if merged.len() > MAX_TAGS_PER_RESOURCE {
        return Err(ApiError::limit(format!(
            "A resource can have at most {MAX_TAGS_PER_RESOURCE} tags."
        )));
    }
    scope.set_tags(&arn, merged, req.now);
    Ok(())
}

pub fn untag(scope: &mut Scope, req: &Req<'_>) -> Result<(), ApiError> {
    let body = req.json()?;
    let o = Obj::root(&body)?;
    let arn = o.req_str(
        "resourceArn",
        &validate::Rule {
            min: 1,
            ..validate::ANY
        },
    )?;
    let keys = o
        .str_list("tagKeys", 0, usize::MAX, &validate::TAG_KEY)?
        .ok_or_else(|| ApiError::invalid("tagKeys is required"))?;
    resource(scope, &arn)?;
    if let Some(mut tags) = scope.tags.get(&arn).cloned() {
        tags.retain(|t| !keys.contains(&t.key));
        scope.set_tags(&arn, tags, req.now);
    }
    Ok(())
}

pub fn list(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let arn = req
        .query
        .get("resourceArn")
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ApiError::invalid("resourceArn is required"))?
        .to_owned();
    let listing = format!("tags;{arn}");
    let start: usize = match req.query.get("nextToken") {
        Some(t) => decode_token(&listing, t)?
            .parse()
            .map_err(|_| ApiError::invalid("The nextToken is not valid for this request"))?,
        None => 0,
    };
    resource(scope, &arn)?;
    let tags = scope.tags.get(&arn).map(Vec::as_slice).unwrap_or_default();
    let page: Vec<Value> = tags
        .iter()
        .skip(start)
        .take(PAGE)
        .map(|t| json!(t))
        .collect();
    let mut m = Map::new();
    m.insert("tags".into(), Value::Array(page));
    let next = start.saturating_add(PAGE);
    if tags.len() > next {
        m.insert(
            "nextToken".into(),
            encode_token(&listing, &next.to_string()).into(),
        );
    }
    Ok(Value::Object(m))
}

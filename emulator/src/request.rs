//! What a handler receives about a request besides the state: decoded URI labels and query
//! string, the body, the emulated time and the settings that shape a reply, plus the
//! opaque pagination tokens that listings hand out and take back.

use serde_json::Value;

use crate::error::ApiError;
use crate::fleet::Fleet;
use crate::op::Op;
use crate::validate::{self, Rule};

/// Decoded query string parameters (first value wins for a repeated name).
#[derive(Debug, Default)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let Some(raw) = raw else {
            return Query::default();
        };
        Query(
            raw.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (percent_decode(k), percent_decode(v))
                })
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn str(&self, name: &str, rule: &Rule) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => {
                validate::check_str(name, v, rule)?;
                Ok(Some(v.to_owned()))
            }
        }
    }

    pub fn bool(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(false),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(ApiError::invalid(format!(
                "Invalid value '{other}' for query parameter {name}: expected true or false"
            ))),
        }
    }

    pub fn int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        let n: i64 = v.parse().map_err(|_| {
            ApiError::invalid(format!(
                "Invalid value '{v}' for query parameter {name}: expected an integer"
            ))
        })?;
        if n < min || n > max {
            return Err(ApiError::invalid(format!(
                "1 validation error detected: Value '{n}' at '{name}' failed to satisfy constraint: Member must have value between {min} and {max}"
            )));
        }
        Ok(Some(n))
    }
}

/// Percent-decodes a URI label or query component. `+` is kept literally: AWS SDKs encode
/// spaces as `%20`, and a literal `+` can appear in values.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Pagination tokens: opaque hex of `v1|<scope-of-the-listing>|<position>`, so a token from
/// another listing or a hand-made one is rejected instead of silently restarting.
pub fn encode_token(listing: &str, position: &str) -> String {
    format!("v1|{listing}|{position}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn decode_token(listing: &str, token: &str) -> Result<String, ApiError> {
    let bad = || ApiError::invalid("The nextToken is not valid for this request");
    if !token.len().is_multiple_of(2) {
        return Err(bad());
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect();
    let text = String::from_utf8(bytes.ok_or_else(bad)?).map_err(|_| bad())?;
    let rest = text.strip_prefix("v1|").ok_or_else(bad)?;
    let (l, pos) = rest.rsplit_once('|').ok_or_else(bad)?;
    if l != listing {
        return Err(bad());
    }
    Ok(pos.to_owned())
}

/// Everything a handler needs about the request besides the state.
pub struct Req<'a> {
    pub op: Op,
    pub labels: &'a [String],
    pub query: &'a Query,
    pub body: &'a [u8],
    pub now: i64,
    pub deletion_delay_ms: i64,
    /// How far GetResources' tag index trails the tags (`--tagging-lag`).
    pub tagging_lag_ms: i64,
    pub max_active_jobs: Option<usize>,
    /// The simulated fleet, whose devices answer executions of the things it created.
    pub fleet: Option<&'a Fleet>,
}

impl Req<'_> {
    pub fn label(&self, i: usize) -> &str {
        self.labels.get(i).map_or("", String::as_str)
    }

    pub fn json(&self) -> Result<Value, ApiError> {
        validate::parse_body(self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_percent_decoding() {
        let q = Query::parse(Some("resourceArn=arn%3Aaws%3Aiot%3Ax%2Fy&force=true&x"));
        assert_eq!(q.get("resourceArn"), Some("arn:aws:iot:x/y"));
        assert_eq!(q.bool("force").ok(), Some(true));
        assert_eq!(q.get("x"), Some(""));
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%41%"), "A%");
    }

    #[test]
    fn tokens_round_trip_and_reject_foreign_ones() {
        let t = encode_token("jobs:status=", "42");
        assert_eq!(decode_token("jobs:status=", &t).ok(), Some("42".into()));
        assert!(decode_token("jobs:status=CANCELED", &t).is_err());
        assert!(decode_token("jobs:status=", "zz").is_err());
    }
}

//! The simulated fleet document (`--fleet FILE` in YAML, `PUT /_emulator/fleet` in JSON):
//! its types, parsing with errors that name the offending field, and the checks serde
//! cannot express (shares adding up to 1, size limits, group references). Also answers
//! which device behaviour applies to an execution. Knows nothing about the world it is
//! applied to; `engine` does that.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// AWS's own ceiling would be far higher; this bounds memory (a thing and its execution
/// cost a few hundred bytes each).
pub const MAX_GROUP_SIZE: u64 = 1_000_000;
pub const MAX_THINGS: u64 = 1_000_000;
pub const MAX_TIME_SCALE: f64 = 1_000_000.0;
/// The largest fleet file read, so a mistaken path cannot load gigabytes.
pub const MAX_FILE_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Fleet {
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "one")]
    pub time_scale: f64,
    #[serde(default)]
    pub groups: Vec<GroupSpec>,
    #[serde(default)]
    pub devices: Behaviour,
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// What `jobProcessDetails` and the abort criteria count.
    #[serde(default)]
    pub counting: Counting,
    /// How far GetResources' tag index trails the tags, in emulated seconds; overrides
    /// `--tagging-lag` while this fleet is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tagging_lag_seconds: Option<f64>,
}

/// The longest tagging lag (`--tagging-lag`, `taggingLagSeconds`): one hour.
pub const MAX_TAGGING_LAG_SECONDS: f64 = 3600.0;

/// What a job's counts (`jobProcessDetails`, and so the abort criteria) count. AWS has been
/// observed to count attempts (a thing that failed three times shows
/// `numberOfFailedThings: 3`), which is the default; `perThing` counts each thing's latest
/// attempt once, the model the emulator had before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Counting {
    #[default]
    PerAttempt,
    PerThing,
}

impl Counting {
    /// The setting in force: the fleet's, or the default without a fleet.
    pub fn of(fleet: Option<&Fleet>) -> Counting {
        fleet.map_or_else(Counting::default, |f| f.counting)
    }
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GroupSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default)]
    pub size: u64,
}

/// Seconds, drawn uniformly in `min..=max`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Span {
    pub min: f64,
    pub max: f64,
}

/// Shares of each outcome; absent ones are 0. TIMED_OUT means the device starts and
/// never reports, so the execution stays IN_PROGRESS until a timer expires.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcomes {
    #[serde(rename = "SUCCEEDED", default, skip_serializing_if = "Option::is_none")]
    pub succeeded: Option<f64>,
    #[serde(rename = "FAILED", default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<f64>,
    #[serde(rename = "REJECTED", default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<f64>,
    #[serde(rename = "TIMED_OUT", default, skip_serializing_if = "Option::is_none")]
    pub timed_out: Option<f64>,
}

/// How a simulated device answers an execution it is notified of.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Behaviour {
    #[serde(default = "default_pickup")]
    pub pickup_seconds: Span,
    #[serde(default = "default_duration")]
    pub duration_seconds: Span,
    #[serde(default = "default_outcomes")]
    pub outcomes: Outcomes,
    #[serde(default)]
    pub offline: f64,
}

fn default_pickup() -> Span {
    Span {
        min: 1.0,
        max: 30.0,
    }
}

fn default_duration() -> Span {
    Span {
        min: 20.0,
        max: 120.0,
    }
}

fn default_outcomes() -> Outcomes {
    Outcomes {
        succeeded: Some(1.0),
        ..Outcomes::default()
    }
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            pickup_seconds: default_pickup(),
            duration_seconds: default_duration(),
            outcomes: default_outcomes(),
            offline: 0.0,
        }
    }
}

/// A rule overrides `devices` for the executions its `match` selects; first match wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Rule {
    #[serde(rename = "match")]
    pub matcher: Match,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_seconds: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcomes: Option<Outcomes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<f64>,
}

/// Everything a match names must hold: `document` is a subset of the job document's
/// JSON, `group` contains the thing (directly or through a descendant group), `jobId` is
/// the job's id.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Match {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

/// What a device does with one execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
    Rejected,
    TimedOut,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "SUCCEEDED",
            Outcome::Failed => "FAILED",
            Outcome::Rejected => "REJECTED",
            Outcome::TimedOut => "TIMED_OUT",
        }
    }
}

impl Outcomes {
    fn shares(&self) -> [(Outcome, f64); 4] {
        [
            (Outcome::Succeeded, self.succeeded.unwrap_or(0.0)),
            (Outcome::Failed, self.failed.unwrap_or(0.0)),
            (Outcome::Rejected, self.rejected.unwrap_or(0.0)),
            (Outcome::TimedOut, self.timed_out.unwrap_or(0.0)),
        ]
    }

    /// The outcome a uniform draw `u` in [0, 1) lands on.
    pub fn pick(&self, u: f64) -> Outcome {
        let mut acc = 0.0;
        let mut last = Outcome::Succeeded;
        for (o, share) in self.shares() {
            if share > 0.0 {
                acc += share;
                last = o;
                if u < acc {
                    return o;
                }
            }
        }
        last
    }
}

impl Span {
    pub fn draw(&self, u: f64) -> f64 {
        self.min + (self.max - self.min) * u
    }
}

impl Fleet {
    /// Parses the YAML of `--fleet`. Errors name the field (`groups[1].size: ...`).
    pub fn from_yaml(text: &str) -> Result<Fleet, String> {
        if text.len() > MAX_FILE_BYTES {
            return Err(format!(
                "the fleet file is {} bytes, over the limit of {MAX_FILE_BYTES}",
                text.len()
            ));
        }
        // Through a JSON value, so YAML and the JSON of `PUT /_emulator/fleet` share one
        // decoder and give the same messages.
        let value: Value = crate::yaml::to_json(text)?;
        Self::from_value(value)
    }

    /// Parses the JSON body of `PUT /_emulator/fleet`.
    pub fn from_json(bytes: &[u8]) -> Result<Fleet, String> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
        Self::from_value(value)
    }

    fn from_value(value: Value) -> Result<Fleet, String> {
        if value.is_null() {
            return Err("the fleet document is empty".into());
        }
        let fleet: Fleet = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            if path == "." {
                e.inner().to_string()
            } else {
                format!("{path}: {}", e.inner())
            }
        })?;
        fleet.check()?;
        Ok(fleet)
    }

    fn check(&self) -> Result<(), String> {
        if !(self.time_scale.is_finite() && (0.0..=MAX_TIME_SCALE).contains(&self.time_scale)) {
            return Err(format!(
                "timeScale: {} must be between 0 (the clock moves only by /_emulator/clock/advance) and {MAX_TIME_SCALE}",
                self.time_scale
            ));
        }
        if let Some(lag) = self.tagging_lag_seconds {
            if !(lag.is_finite() && (0.0..=MAX_TAGGING_LAG_SECONDS).contains(&lag)) {
                return Err(format!(
                    "taggingLagSeconds: {lag} must be between 0 and {MAX_TAGGING_LAG_SECONDS}"
                ));
            }
        }
        let mut total = 0u64;
        for (i, g) in self.groups.iter().enumerate() {
            let at = format!("groups[{i}]");
            check_name(&format!("{at}.name"), &g.name)?;
            if self.groups[..i].iter().any(|o| o.name == g.name) {
                return Err(format!("{at}.name: group {} is listed twice", g.name));
            }
            if let Some(p) = &g.parent {
                if !self.groups[..i].iter().any(|o| &o.name == p) {
                    return Err(format!(
                        "{at}.parent: {p} must be a group listed before {}",
                        g.name
                    ));
                }
            }
            if g.size > MAX_GROUP_SIZE {
                return Err(format!(
                    "{at}.size: {} is over the limit of {MAX_GROUP_SIZE} things per group",
                    g.size
                ));
            }
            total += g.size;
        }
        if total > MAX_THINGS {
            return Err(format!(
                "groups: the sizes add up to {total} things, over the limit of {MAX_THINGS}"
            ));
        }
        check_behaviour("devices", &self.devices)?;
        for (i, r) in self.rules.iter().enumerate() {
            let at = format!("rules[{i}]");
            if let Some(g) = &r.matcher.group {
                check_name(&format!("{at}.match.group"), g)?;
            }
            if let Some(s) = &r.pickup_seconds {
                check_span(&format!("{at}.pickupSeconds"), s)?;
            }
            if let Some(s) = &r.duration_seconds {
                check_span(&format!("{at}.durationSeconds"), s)?;
            }
            if let Some(o) = &r.outcomes {
                check_outcomes(&format!("{at}.outcomes"), o)?;
            }
            if let Some(s) = r.offline {
                check_share(&format!("{at}.offline"), s)?;
            }
        }
        Ok(())
    }

    /// `devices` with the overrides of rule `rule` (if any) applied.
    pub fn behaviour(&self, rule: Option<usize>) -> Behaviour {
        let mut b = self.devices;
        if let Some(r) = rule.and_then(|i| self.rules.get(i)) {
            b.pickup_seconds = r.pickup_seconds.unwrap_or(b.pickup_seconds);
            b.duration_seconds = r.duration_seconds.unwrap_or(b.duration_seconds);
            b.outcomes = r.outcomes.unwrap_or(b.outcomes);
            b.offline = r.offline.unwrap_or(b.offline);
        }
        b
    }

    /// Thing names a group of the document creates: GROUP-0001 upwards, zero-padded to at
    /// least four digits.
    pub fn thing_name(group: &str, n: u64, size: u64) -> String {
        let width = size.to_string().len().max(4);
        format!("{group}-{n:0width$}")
    }
}

/// Whether `sub` is contained in `doc`: objects key by key, everything else by equality.
pub fn is_subset(sub: &Value, doc: &Value) -> bool {
    match (sub, doc) {
        (Value::Object(s), Value::Object(d)) => s
            .iter()
            .all(|(k, v)| d.get(k).is_some_and(|dv| is_subset(v, dv))),
        _ => sub == doc,
    }
}

fn check_name(at: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b':' || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{at}: `{name}` must be 1-100 characters of [a-zA-Z0-9:_-] (a thing-group name, leaving room for the thing number)"
        ))
    }
}

fn check_share(at: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(format!("{at}: {v} must be a share between 0 and 1"))
    }
}

fn check_span(at: &str, s: &Span) -> Result<(), String> {
    if s.min.is_finite() && s.max.is_finite() && s.min >= 0.0 && s.min <= s.max {
        Ok(())
    } else {
        Err(format!(
            "{at}: min {} and max {} must be seconds with 0 <= min <= max",
            s.min, s.max
        ))
    }
}

fn check_outcomes(at: &str, o: &Outcomes) -> Result<(), String> {
    let mut sum = 0.0;
    for (outcome, share) in o.shares() {
        check_share(&format!("{at}.{}", outcome.as_str()), share)?;
        sum += share;
    }
    if (sum - 1.0).abs() > 1e-9 {
        return Err(format!("{at}: the shares add up to {sum}, not 1"));
    }
    Ok(())
}

fn check_behaviour(at: &str, b: &Behaviour) -> Result<(), String> {
    check_span(&format!("{at}.pickupSeconds"), &b.pickup_seconds)?;
    check_span(&format!("{at}.durationSeconds"), &b.duration_seconds)?;
    check_outcomes(&format!("{at}.outcomes"), &b.outcomes)?;
    check_share(&format!("{at}.offline"), b.offline)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BULBS: &str = r#"
seed: 7
timeScale: 60
groups:
  - {name: Bulbs}
  - {name: BulbsCanary, parent: Bulbs, size: 20}
  - {name: BulbsRest, parent: Bulbs, size: 980}
devices:
  pickupSeconds: {min: 1, max: 30}
  durationSeconds: {min: 20, max: 120}
  outcomes: {SUCCEEDED: 0.98, FAILED: 0.02}
  offline: 0.0
rules:
  - match: {document: {firmware: {version: "4.2.1"}}}
    outcomes: {FAILED: 0.6, SUCCEEDED: 0.4}
  - match: {group: BulbsCanary}
    durationSeconds: {min: 5, max: 10}
"#;

    #[test]
    fn counting_defaults_to_attempts_and_can_be_per_thing() {
        assert_eq!(
            Fleet::from_yaml("seed: 1").unwrap().counting,
            Counting::PerAttempt
        );
        let f = Fleet::from_yaml("counting: perThing").unwrap();
        assert_eq!(f.counting, Counting::PerThing);
        assert_eq!(Counting::of(Some(&f)), Counting::PerThing);
        assert_eq!(Counting::of(None), Counting::PerAttempt);
        assert!(Fleet::from_yaml("counting: perJob").is_err());
        let f = Fleet::from_yaml("taggingLagSeconds: 2.5").unwrap();
        assert_eq!(f.tagging_lag_seconds, Some(2.5));
        assert!(Fleet::from_yaml("taggingLagSeconds: 3601").is_err());
    }

    #[test]
    fn the_issue_example_parses() {
        let f = Fleet::from_yaml(BULBS).unwrap();
        assert_eq!(f.seed, 7);
        assert_eq!(f.time_scale, 60.0);
        assert_eq!(f.groups[1].parent.as_deref(), Some("Bulbs"));
        assert_eq!(f.groups[2].size, 980);
        assert_eq!(f.rules[0].outcomes.unwrap().failed, Some(0.6));
        assert_eq!(
            f.behaviour(Some(1)).duration_seconds,
            Span {
                min: 5.0,
                max: 10.0
            }
        );
        assert_eq!(f.behaviour(None).outcomes.failed, Some(0.02));
        // The same document as JSON gives the same fleet.
        let j = serde_json::to_vec(&f).unwrap();
        assert_eq!(Fleet::from_json(&j).unwrap(), f);
    }

    #[test]
    fn the_shipped_example_parses() {
        let f = Fleet::from_yaml(include_str!("../../fleets/bulbs.yaml")).unwrap();
        let names: Vec<&str> = f.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["Bulbs", "BulbsCanary", "BulbsWave1", "BulbsRest"]);
        assert_eq!(f.groups.iter().map(|g| g.size).sum::<u64>(), 300);
    }

    #[test]
    fn errors_name_the_field() {
        for (doc, want) in [
            ("seed: 1\ncolour: red\n", "unknown field `colour`"),
            ("groups:\n  - {name: A, sise: 3}\n", "groups[0]"),
            ("groups:\n  - {name: A, size: 1000001}\n", "groups[0].size"),
            (
                "groups:\n  - {name: A, size: 600000}\n  - {name: B, size: 600000}\n",
                "add up to 1200000",
            ),
            (
                "devices:\n  outcomes: {SUCCEEDED: 0.5, FAILED: 0.4}\n",
                "devices.outcomes: the shares add up to 0.9",
            ),
            (
                "devices:\n  outcomes: {SUCCESS: 1}\n",
                "unknown field `SUCCESS`",
            ),
            (
                "rules:\n  - match: {group: A}\n    outcomes: {FAILED: 2}\n",
                "rules[0].outcomes.FAILED",
            ),
            ("groups:\n  - {name: B, parent: A}\n", "groups[0].parent"),
            (
                "devices:\n  pickupSeconds: {min: 5, max: 1}\n",
                "devices.pickupSeconds",
            ),
            ("timeScale: -1\n", "timeScale"),
            ("groups:\n  - {name: 'bad name'}\n", "groups[0].name"),
            ("", "empty"),
        ] {
            let err = Fleet::from_yaml(doc).unwrap_err();
            assert!(err.contains(want), "{doc:?}: {err}");
        }
    }

    #[test]
    fn outcomes_pick_by_share() {
        let o = Outcomes {
            succeeded: Some(0.4),
            failed: Some(0.6),
            ..Outcomes::default()
        };
        assert_eq!(o.pick(0.0), Outcome::Succeeded);
        assert_eq!(o.pick(0.39), Outcome::Succeeded);
        assert_eq!(o.pick(0.41), Outcome::Failed);
        assert_eq!(o.pick(0.999_999), Outcome::Failed);
    }

    #[test]
    fn subset_match_and_names() {
        let doc = json!({"firmware": {"version": "4.2.1", "url": "x"}, "op": "ota"});
        assert!(is_subset(&json!({"firmware": {"version": "4.2.1"}}), &doc));
        assert!(!is_subset(&json!({"firmware": {"version": "4.2.2"}}), &doc));
        assert!(is_subset(&json!({}), &doc));
        assert_eq!(Fleet::thing_name("Bulbs", 7, 20), "Bulbs-0007");
        assert_eq!(Fleet::thing_name("Big", 7, 100_000), "Big-000007");
    }
}

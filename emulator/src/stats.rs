//! Request counters by operation and outcome, served by `GET /_emulator/stats` so
//! benchmarks and tests can count the API calls a client made.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{json, Map, Value};

#[derive(Debug, Default)]
pub struct Stats {
    /// (operation, outcome) → count; outcome is `OK` or the error code.
    counts: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

impl Stats {
    pub fn record(&self, op: &'static str, outcome: &'static str) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *c.entry((op, outcome)).or_insert(0) += 1;
    }

    pub fn reset(&self) {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// `{"total": N, "operations": {"DescribeJob": {"total": n, "OK": a, "ResourceNotFoundException": b}}}`
    pub fn to_json(&self) -> Value {
        let c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let mut ops: Map<String, Value> = Map::new();
        let mut total = 0u64;
        for ((op, outcome), n) in c.iter() {
            total += n;
            let entry = ops
                .entry(op.to_string())
                .or_insert_with(|| json!({"total": 0}));
            if let Some(m) = entry.as_object_mut() {
                let t = m.get("total").and_then(Value::as_u64).unwrap_or(0);
                m.insert("total".into(), (t + n).into());
                m.insert(outcome.to_string(), (*n).into());
            }
        }
        json!({"total": total, "operations": ops})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_op_and_outcome() {
        let s = Stats::default();
        s.record("DescribeJob", "OK");
        s.record("DescribeJob", "OK");
        s.record("DescribeJob", "ResourceNotFoundException");
        let v = s.to_json();
        assert_eq!(v["total"], 3);
        assert_eq!(v["operations"]["DescribeJob"]["OK"], 2);
        assert_eq!(v["operations"]["DescribeJob"]["total"], 3);
        s.reset();
        assert_eq!(s.to_json()["total"], 0);
    }
}

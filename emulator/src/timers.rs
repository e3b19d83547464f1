//! The timer queue that drives everything the emulated clock does by itself: rollout
//! steps, cancellations in progress, scheduled starts and ends, maintenance windows,
//! finished deletions, timeouts and the simulated devices' next moves. A min-heap keyed
//! by (emulated time, insertion order), so events due at the same millisecond run in the
//! order they were scheduled and a replay is deterministic. A leaf: events name jobs and
//! things by id, and whoever pops them checks they still apply.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

/// Something that falls due. `job` is the job id and `gen` its creation number
/// (`Job::seq`), so an event of a deleted job never touches a new job with the same id;
/// `exec` is the execution number an event was scheduled for, so a stale event (the
/// execution was retried, canceled or updated since) is recognised and dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Event {
    /// Notify the next batch of a job's targets (a rollout minute starts, or the rate rose).
    Rollout { job: String, gen: u64 },
    /// Cancel the next batch of a canceled job's executions.
    CancelStep { job: String, gen: u64 },
    /// `schedulingConfig.startTime` is reached.
    Start { job: String, gen: u64 },
    /// `schedulingConfig.endTime` is reached.
    End { job: String, gen: u64 },
    /// A maintenance window opens (`open`) or closes.
    Window { job: String, gen: u64, open: bool },
    /// DELETION_IN_PROGRESS is over.
    Delete { job: String, gen: u64 },
    /// An in-progress or step timer may have expired.
    Timeout {
        job: String,
        gen: u64,
        thing: String,
        exec: i64,
    },
    /// A simulated device picks up the execution it was notified of.
    Pickup {
        job: String,
        gen: u64,
        thing: String,
        exec: i64,
    },
    /// A simulated device reports the end of an execution.
    Finish {
        job: String,
        gen: u64,
        thing: String,
        exec: i64,
        outcome: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    pub at: i64,
    pub seq: u64,
    pub event: Event,
}

impl Ord for Timer {
    /// Reversed, so `BinaryHeap` (a max-heap) pops the earliest timer first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The queue of one (account, region) scope. Serialised as a plain list so the state file
/// keeps pending events across a restart.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(from = "Saved", into = "Saved")]
pub struct Timers {
    heap: BinaryHeap<Timer>,
    next_seq: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Saved {
    next_seq: u64,
    timers: Vec<Timer>,
}

impl From<Saved> for Timers {
    fn from(s: Saved) -> Self {
        Timers {
            heap: s.timers.into(),
            next_seq: s.next_seq,
        }
    }
}

impl From<Timers> for Saved {
    fn from(t: Timers) -> Self {
        let mut timers = t.heap.into_vec();
        timers.sort_by(|a, b| b.cmp(a));
        Saved {
            next_seq: t.next_seq,
            timers,
        }
    }
}

impl Timers {
    pub fn push(&mut self, at: i64, event: Event) {
        self.next_seq += 1;
        self.heap.push(Timer {
            at,
            seq: self.next_seq,
            event,
        });
    }

    /// When the earliest timer falls due.
    pub fn next_due(&self) -> Option<i64> {
        self.heap.peek().map(|t| t.at)
    }

    /// Takes the earliest timer if it is due at `now`.
    pub fn pop_due(&mut self, now: i64) -> Option<Timer> {
        if self.heap.peek().is_some_and(|t| t.at <= now) {
            self.heap.pop()
        } else {
            None
        }
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(job: &str) -> Event {
        Event::Rollout {
            job: job.into(),
            gen: 1,
        }
    }

    #[test]
    fn pops_by_time_then_insertion_order() {
        let mut t = Timers::default();
        t.push(20, ev("b"));
        t.push(10, ev("a"));
        t.push(20, ev("c"));
        assert_eq!(t.next_due(), Some(10));
        assert!(t.pop_due(5).is_none());
        let order: Vec<Event> = std::iter::from_fn(|| t.pop_due(100))
            .map(|x| x.event)
            .collect();
        assert_eq!(order, vec![ev("a"), ev("b"), ev("c")]);
        assert!(t.is_empty());
    }

    #[test]
    fn survives_serialisation() {
        let mut t = Timers::default();
        t.push(30, ev("x"));
        t.push(10, ev("y"));
        let back: Timers = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        let mut back = back;
        assert_eq!(back.pop_due(100).map(|x| x.event), Some(ev("y")));
        back.push(1, ev("z"));
        assert_eq!(back.pop_due(100).map(|x| x.seq), Some(3));
    }
}

//! The validated settings a running emulator works with, built from the command line by
//! `main` and read by the request pipeline.

use std::sync::Arc;

use crate::fleet::Fleet;
use crate::limits::FailRule;
use crate::op::Op;

/// Validated settings the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub region: String,
    pub account_id: String,
    pub aws_limits: bool,
    pub tps: Vec<(Op, f64)>,
    pub max_active_jobs: Option<usize>,
    pub fault_rate: f64,
    pub seed: u64,
    pub latency_ms: u64,
    pub fail: Vec<FailRule>,
    pub deletion_delay_ms: u64,
    /// How far the tagging index trails the tags, in emulated milliseconds.
    pub tagging_lag_ms: u64,
    /// Operations denied at startup (`--deny`), answered AccessDeniedException.
    pub deny: Vec<Op>,
    /// The `--fleet` document, applied at startup and again by `/_emulator/reset`.
    pub fleet: Option<Arc<Fleet>>,
}

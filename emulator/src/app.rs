//! The shared state of a running emulator: settings, the world behind its lock, rate
//! limits, scripted faults, counters and the state file, with the helpers that lock the
//! world and save it. Both the AWS handlers and the control API work through it.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::error;

use crate::config::Config;
use crate::engine;
use crate::error::{ApiError, ErrorCode};
use crate::limits::{Faults, RateLimits};
use crate::model::World;
use crate::op::Op;
use crate::persist::Persister;
use crate::rng::splitmix64;
use crate::stats::Stats;

/// Shared state of a running emulator.
pub struct App {
    pub cfg: Config,
    pub world: Mutex<World>,
    pub limits: RateLimits,
    pub faults: Faults,
    pub stats: Stats,
    pub persist: Option<Persister>,
    /// Operations answered AccessDeniedException (`--deny`, `PUT /_emulator/deny`).
    denied: Mutex<BTreeSet<Op>>,
    requests: AtomicU64,
    /// The clock changed the world since the last save.
    dirty: AtomicBool,
}

impl App {
    pub fn new(cfg: Config, world: World, persist: Option<Persister>) -> Self {
        App {
            limits: RateLimits::new(cfg.aws_limits, &cfg.tps),
            faults: Faults::new(cfg.fail.clone(), cfg.fault_rate, cfg.seed),
            stats: Stats::default(),
            world: Mutex::new(world),
            persist,
            denied: Mutex::new(cfg.deny.iter().copied().collect()),
            requests: AtomicU64::new(0),
            dirty: AtomicBool::new(false),
            cfg,
        }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, World> {
        // A panic while holding the lock cannot leave the world half-updated in a way that
        // matters more than stopping service would, so keep serving.
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What IAM would say: AccessDeniedException for a denied operation.
    pub fn check_allowed(&self, op: Op) -> Result<(), ApiError> {
        if self.denied().contains(&op) {
            return Err(ApiError::new(
                ErrorCode::AccessDenied,
                format!(
                    "User: arn:aws:iam::{}:user/emulator is not authorized to perform: {}",
                    self.cfg.account_id,
                    iam_action(op)
                ),
            ));
        }
        Ok(())
    }

    pub fn denied(&self) -> BTreeSet<Op> {
        self.denied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_denied(&self, ops: BTreeSet<Op>) {
        *self.denied.lock().unwrap_or_else(|p| p.into_inner()) = ops;
    }

    pub fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// Serialises the world for the state file; call with the lock held.
    pub fn snapshot(&self, world: &World) -> Option<(u64, Vec<u8>)> {
        let p = self.persist.as_ref()?;
        self.dirty.store(false, Ordering::Relaxed);
        match serde_json::to_vec(world) {
            Ok(bytes) => Some((p.take_gen(), bytes)),
            Err(e) => {
                error!(error = %e, "failed to serialise state");
                None
            }
        }
    }

    /// Writes a snapshot off the async workers (fsync can take milliseconds).
    pub async fn save(self: &Arc<Self>, snap: Option<(u64, Vec<u8>)>) -> Result<(), ApiError> {
        let Some((gen, bytes)) = snap else {
            return Ok(());
        };
        let app = Arc::clone(self);
        let res = tokio::task::spawn_blocking(move || match &app.persist {
            Some(p) => p.write(gen, &bytes),
            None => Ok(()),
        })
        .await;
        match res {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                error!(error = %e, "failed to save state");
                Err(ApiError::new(
                    ErrorCode::InternalFailure,
                    "The change was applied but could not be saved to the state file",
                ))
            }
            Err(e) => {
                error!(error = %e, "state save task failed");
                Err(ApiError::new(
                    ErrorCode::InternalFailure,
                    "State save failed",
                ))
            }
        }
    }

    pub fn request_id(&self) -> String {
        let n = splitmix64(self.requests.fetch_add(1, Ordering::Relaxed));
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            n >> 32,
            (n >> 16) & 0xffff,
            n & 0xffff,
            (n >> 48) & 0xffff,
            splitmix64(n) & 0xffff_ffff_ffff
        )
    }
}

/// The IAM action of an operation: `tag:GetResources`, `iot:DescribeJob`,
/// `iotjobsdata:UpdateJobExecution`.
pub fn iam_action(op: Op) -> String {
    let name = op.as_str();
    match name.split_once(':') {
        Some(("tagging", n)) => format!("tag:{n}"),
        Some((_, n)) => format!("iotjobsdata:{n}"),
        None => format!("iot:{name}"),
    }
}

/// The operation an IAM action names (the inverse of `iam_action`).
pub fn op_of_action(action: &str) -> Option<Op> {
    Op::ALL.into_iter().find(|o| iam_action(*o) == action)
}

/// Timers run per batch; batches go on under one lock hold until `DRIVE_SLICE` is used.
const DRIVE_BATCH: usize = 256;
/// The longest the driver holds the lock at a time, so a request waits at most this long
/// even when a large rollout has a backlog.
const DRIVE_SLICE: Duration = Duration::from_millis(1);
/// The pause after a full slice: std's mutex is not fair, and without it the driver could
/// take the lock back before a waiting request wakes up.
const DRIVE_PAUSE: Duration = Duration::from_millis(1);
/// The longest the driver sleeps; requests tick the clock themselves, so this only bounds
/// how far a backlog can grow and how stale the state file can get.
const DRIVE_IDLE: Duration = Duration::from_millis(20);
/// Changes made by the clock alone are saved at most this often.
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// Runs the timers as the emulated clock reaches them, in the background.
pub async fn drive(app: Arc<App>) {
    let mut last_save = Instant::now();
    loop {
        let (more, wait, snap) = {
            let mut guard = app.lock();
            let world = &mut *guard;
            let slice = Instant::now();
            let (mut changed, mut more) = (false, true);
            while more && slice.elapsed() < DRIVE_SLICE {
                let (c, m, _) = engine::catch_up(world, DRIVE_BATCH);
                changed |= c;
                more = m;
            }
            if changed {
                app.mark_dirty();
            }
            let now = world.running_ms();
            let scale = world.time_scale();
            let wait = match engine::next_due(world) {
                Some(due) if scale > 0.0 => {
                    Duration::from_millis(((due - now).max(0) as f64 / scale) as u64)
                }
                _ => DRIVE_IDLE,
            };
            let snap = if app.dirty.load(Ordering::Relaxed) && last_save.elapsed() >= SAVE_EVERY {
                app.snapshot(world)
            } else {
                None
            };
            (more, wait.min(DRIVE_IDLE), snap)
        };
        if snap.is_some() {
            last_save = Instant::now();
            // A failed save is logged inside; the next change tries again.
            let _ = app.save(snap).await;
        }
        tokio::time::sleep(if more { DRIVE_PAUSE } else { wait }).await;
    }
}

//! Following jobs until their rollouts end, for `status --watch` and `apply --wait`: the run's
//! deadline, Ctrl-C (stops waiting, never cancels a job), and live progress on stderr. The loop
//! itself is the engine's ([`Tracker::follow_until_done`]); a step that acts while jobctl waits
//! (advancing staged rollouts) is a [`Follower::before_poll`], and [`Waiting`] is where it goes.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::common::Deadline;
use crate::aws::{IotJobs, JobsApi};
use crate::engine::advance::{self, Advance, RolloutEvent};
use crate::engine::health::Health;
use crate::engine::plan::Plan;
use crate::engine::rollout::Phase;
use crate::engine::status::{Follower, JobHealth, Tracker};
use crate::output::status::{eta, progress_line};
use crate::report::WaitOutcome;

/// Set once a command follows jobs: from then on the first Ctrl-C is the command's (it stops
/// waiting and reports), and only a second one ends jobctl at once (see `cli::shutdown_signal`).
static CTRL_C_CLAIMED: AtomicBool = AtomicBool::new(false);

/// Whether a command that follows jobs handles Ctrl-C itself.
pub fn ctrl_c_claimed() -> bool {
    CTRL_C_CLAIMED.load(Ordering::SeqCst)
}

/// Follows the tracker's jobs every `interval` until each has ended, the run's `deadline`
/// passes, or Ctrl-C; progress goes to stderr: live bars on a terminal, otherwise one plain
/// line per job that changed, at most once per interval. Jobs are only ever read.
/// `rollouts`: with `apply --wait`, the staged rollouts of the applied plan, advanced before each
/// poll and followed until each is Complete, Halted or waiting for approval.
pub async fn follow(
    api: &IotJobs,
    tracker: &mut Tracker,
    interval: Duration,
    deadline: Option<Deadline>,
    started: Instant,
    rollouts: Option<&mut Rollouts<'_>>,
) -> WaitOutcome {
    let moving = rollouts.as_ref().is_some_and(|r| r.moving());
    if tracker.done() && !moving {
        return WaitOutcome::Finished;
    }
    let ids: Vec<String> = tracker.waiting().map(|j| j.job_id.clone()).collect();
    let staged: Vec<String> = rollouts
        .as_ref()
        .map(|r| r.moving_ids())
        .unwrap_or_default();
    eprintln!(
        "Waiting for {} job(s){}{}{}. Ctrl-C stops waiting and never cancels a job.",
        ids.len(),
        if ids.is_empty() { "" } else { ": " },
        ids.join(", "),
        if staged.is_empty() {
            String::new()
        } else {
            format!(" and rollout(s) {}", staged.join(", "))
        }
    );
    // Listen before claiming, so that no Ctrl-C falls between the two.
    let mut interrupt = Interrupt::listen();
    CTRL_C_CLAIMED.store(true, Ordering::SeqCst);
    let mut waiting = Waiting {
        progress: Progress::new(std::io::stderr().is_terminal(), started),
        rollouts,
    };
    waiting.progress.show(&tracker.rows());
    let outcome = {
        let following = tracker.follow_until_done(api, interval, &mut waiting);
        let until = async {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline.at()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = following => WaitOutcome::Finished,
            () = until => WaitOutcome::TimedOut,
            () = interrupt.recv() => WaitOutcome::Interrupted,
        }
    };
    waiting.progress.finish();
    let mut left: Vec<String> = tracker.waiting().map(|j| j.job_id.clone()).collect();
    if let Some(rollouts) = waiting.rollouts.as_deref() {
        left.extend(
            rollouts
                .moving_ids()
                .into_iter()
                .map(|id| format!("rollout {id}")),
        );
    }
    match outcome {
        WaitOutcome::TimedOut => eprintln!(
            "jobctl: --timeout {} passed while waiting for {} (DescribeJob at {}); no job was cancelled, they keep running",
            humantime::format_duration(deadline.map(|d| d.limit()).unwrap_or_default()),
            left.join(", "),
            api.endpoint().unwrap_or_else(|| "the endpoint".into())
        ),
        WaitOutcome::Interrupted => eprintln!(
            "jobctl: Ctrl-C: stopped waiting for {}; no job was cancelled, they keep running",
            left.join(", ")
        ),
        WaitOutcome::Finished => {}
    }
    outcome
}

/// The staged rollouts `apply --wait` drives while it waits: the plan they came from and what
/// the latest advance left.
pub struct Rollouts<'a> {
    pub plan: &'a Plan,
    pub last: Advance,
}

impl Rollouts<'_> {
    /// Some rollout still has a stage running or soaking (one that waits for approval, halted
    /// or complete needs nothing more from this run).
    pub fn moving(&self) -> bool {
        self.last.moving
    }

    pub fn moving_ids(&self) -> Vec<String> {
        self.last
            .rollouts
            .iter()
            .filter(|r| r.phase == Phase::Progressing)
            .map(|r| r.job_id.clone())
            .collect()
    }
}

/// The follower of `status --watch` and `apply --wait`: it shows progress, and with `apply
/// --wait` advances the plan's staged rollouts before each poll.
struct Waiting<'r, 'p> {
    progress: Progress,
    rollouts: Option<&'r mut Rollouts<'p>>,
}

#[async_trait::async_trait]
impl Follower for Waiting<'_, '_> {
    async fn before_poll(&mut self, api: &dyn JobsApi, tracker: &mut Tracker) {
        let Some(rollouts) = self.rollouts.as_deref_mut() else {
            return;
        };
        if !rollouts.moving() {
            return;
        }
        let advance = advance::advance(api, rollouts.plan).await;
        for run in &advance.rollouts {
            for event in &run.events {
                match event {
                    RolloutEvent::Promoted { from, to } => {
                        self.progress
                            .note(&format!("rollout {}: {from} → {to}", run.job_id));
                    }
                    RolloutEvent::Halted { stage, comment } => {
                        self.progress.note(&format!(
                            "rollout {} halted in {stage}: {comment}",
                            run.job_id
                        ));
                    }
                    RolloutEvent::AwaitingApproval { stage } => self.progress.note(&format!(
                        "rollout {} waits for approval to leave {stage}: jobctl promote {}",
                        run.job_id, run.job_id
                    )),
                    RolloutEvent::GateHeld { .. } | RolloutEvent::Resumed { .. } => {}
                }
            }
        }
        // A rollout's job can look done (every execution so far succeeded) while its next
        // stage starts: read it again, so the rows (and the closing table) show where the
        // advance left it.
        let ids: Vec<String> = advance.rollouts.iter().map(|r| r.job_id.clone()).collect();
        tracker.read_now(api, &ids).await;
        rollouts.last = advance;
    }

    fn after_poll(&mut self, rows: &[&JobHealth]) {
        self.progress.show(rows);
    }

    fn keep_going(&self) -> bool {
        self.rollouts.as_ref().is_some_and(|r| r.moving())
    }
}

/// Progress on stderr while following.
struct Progress {
    started: Instant,
    bars: Option<(
        indicatif::MultiProgress,
        BTreeMap<String, indicatif::ProgressBar>,
    )>,
    /// Plain mode: what each job's last line said.
    last: BTreeMap<String, String>,
}

impl Progress {
    fn new(terminal: bool, started: Instant) -> Self {
        let bars = terminal.then(|| {
            (
                indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr()),
                BTreeMap::new(),
            )
        });
        Self {
            started,
            bars,
            last: BTreeMap::new(),
        }
    }

    fn show(&mut self, rows: &[&JobHealth]) {
        let elapsed = self.started.elapsed();
        if let Some((multi, bars)) = &mut self.bars {
            for job in rows {
                let bar = bars.entry(job.job_id.clone()).or_insert_with(|| {
                    let style = indicatif::ProgressStyle::with_template(
                        "{prefix:24} [{bar:30}] {pos}/{len} {msg}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("#>-");
                    let bar = multi.add(indicatif::ProgressBar::new(0));
                    bar.set_style(style);
                    bar.set_prefix(job.job_id.clone());
                    bar
                });
                if let Some(progress) = &job.progress {
                    let d = &progress.details;
                    bar.set_length(d.notified());
                    bar.set_position(d.notified() - d.pending());
                }
                let health = job.health.map_or("", Health::as_str);
                bar.set_message(format!("{health} eta {}", eta(job.eta_seconds)));
            }
            return;
        }
        let mut stderr = std::io::stderr().lock();
        for job in rows {
            let line = progress_line(job, elapsed);
            let key = line
                .split_once("] ")
                .map_or(line.as_str(), |(_, rest)| rest);
            if self.last.get(&job.job_id).map(String::as_str) != Some(key) {
                let _ = writeln!(stderr, "{line}");
                self.last.insert(job.job_id.clone(), key.to_string());
            }
        }
    }

    /// One line that stays above the bars (a rollout promoted or halted).
    fn note(&self, line: &str) {
        match &self.bars {
            Some((multi, _)) => {
                if multi.println(line).is_err() {
                    eprintln!("{line}");
                }
            }
            None => eprintln!("{line}"),
        }
    }

    fn finish(&mut self) {
        if let Some((_, bars)) = &self.bars {
            for bar in bars.values() {
                bar.finish();
            }
        }
    }
}

/// Ctrl-C, listened for from the moment it is created.
struct Interrupt {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Interrupt {
    fn listen() -> Self {
        Self {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok(),
        }
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        {
            match self.signal.as_mut() {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

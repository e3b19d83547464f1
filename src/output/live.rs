//! What `status --watch` and `apply --wait` show while they follow jobs: live bars on a terminal,
//! otherwise one plain line per job that changed; the line that says what is awaited, notes
//! about rollouts, and the line that says why the waiting stopped.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use super::status::{eta, progress_line};
use crate::engine::advance::{RolloutEvent, RolloutRun};
use crate::engine::health::Health;
use crate::engine::status::JobHealth;
use crate::report::WaitOutcome;

/// The line before the waiting starts.
pub fn waiting_for(ids: &[String], staged: &[String]) {
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
}

/// There was nothing to follow after an apply.
pub fn nothing_to_wait_for(applied: bool) {
    if applied {
        eprintln!("Nothing to wait for: the apply created or changed no job.");
    } else {
        eprintln!("jobctl: not waiting: the apply did not succeed");
    }
}

/// Why the waiting stopped before every job ended; `left` names what was still awaited.
pub fn stopped(outcome: WaitOutcome, left: &[String], timeout: &str, endpoint: &str, cause: &str) {
    match outcome {
        WaitOutcome::TimedOut => eprintln!(
            "jobctl: --timeout {timeout} passed while waiting for {} (DescribeJob at {endpoint}); no job was cancelled, they keep running",
            left.join(", "),
        ),
        WaitOutcome::Interrupted => eprintln!(
            "jobctl: {cause}: stopped waiting for {}; no job was cancelled, they keep running",
            left.join(", ")
        ),
        WaitOutcome::Finished => {}
    }
}

/// A note per rollout event worth a line while waiting (promoted, halted, awaiting approval).
pub fn rollout_notes(runs: &[RolloutRun]) -> Vec<String> {
    let mut notes = Vec::new();
    for run in runs {
        for event in &run.events {
            match event {
                RolloutEvent::Promoted { from, to } => {
                    notes.push(format!("rollout {}: {from} → {to}", run.job_id));
                }
                RolloutEvent::Halted { stage, comment } => {
                    notes.push(format!(
                        "rollout {} halted in {stage}: {comment}",
                        run.job_id
                    ));
                }
                RolloutEvent::AwaitingApproval { stage } => notes.push(format!(
                    "rollout {} waits for approval to leave {stage}: jobctl promote {}",
                    run.job_id, run.job_id
                )),
                RolloutEvent::Completed { stage } => notes.push(format!(
                    "rollout {} complete after {stage}; its job is closed",
                    run.job_id
                )),
                RolloutEvent::GateHeld { .. } | RolloutEvent::Resumed { .. } => {}
            }
        }
    }
    notes
}

/// Progress on stderr while following.
pub struct Progress {
    started: Instant,
    bars: Option<(
        indicatif::MultiProgress,
        BTreeMap<String, indicatif::ProgressBar>,
    )>,
    /// Plain mode: what each job's last line said.
    last: BTreeMap<String, String>,
}

impl Progress {
    pub fn new(terminal: bool, started: Instant) -> Self {
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

    pub fn show(&mut self, rows: &[&JobHealth]) {
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
    pub fn note(&self, line: &str) {
        match &self.bars {
            Some((multi, _)) => {
                if multi.println(line).is_err() {
                    eprintln!("{line}");
                }
            }
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(&mut self) {
        if let Some((_, bars)) = &self.bars {
            for bar in bars.values() {
                bar.finish();
            }
        }
    }
}

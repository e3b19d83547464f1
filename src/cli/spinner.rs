//! The spinner of a long read: while plan or apply reads the account for more than a second, a
//! spinner on stderr counts the jobs read so far. Only on a terminal; logs and pipes get nothing.

use std::sync::Arc;
use std::time::Duration;

use crate::aws::ApiStats;

/// How long a read runs before the spinner shows.
const DELAY: Duration = Duration::from_secs(1);

/// A running spinner; [`Spinner::stop`] clears it.
pub struct Spinner {
    task: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )>,
}

impl Spinner {
    /// Starts one for a read that is counted by `stats`; nothing when stderr is not a terminal.
    pub fn start(stats: Arc<ApiStats>, what: &'static str, terminal: bool) -> Self {
        if !terminal {
            return Self { task: None };
        }
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            tokio::select! {
                _ = &mut stopped => return,
                () = tokio::time::sleep(DELAY) => {}
            }
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            loop {
                bar.set_message(message(what, &stats));
                tokio::select! {
                    _ = &mut stopped => break,
                    () = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
            }
            bar.finish_and_clear();
        });
        Self {
            task: Some((stop, task)),
        }
    }

    /// Stops and clears the spinner, if one runs.
    pub async fn stop(self) {
        if let Some((stop, task)) = self.task {
            let _ = stop.send(());
            let _ = task.await;
        }
    }

    /// Whether a spinner task runs (stderr is a terminal).
    #[cfg(test)]
    fn running(&self) -> bool {
        self.task.is_some()
    }
}

/// `reading the account: 120 jobs read`: jobs described so far, and listing pages.
fn message(what: &str, stats: &ApiStats) -> String {
    let calls = stats.by_operation();
    let described = calls.get("DescribeJob").copied().unwrap_or(0);
    let pages = calls.get("ListJobs").copied().unwrap_or(0);
    format!("{what}: {described} job(s) read, {pages} ListJobs page(s)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_jobs_read_so_far() {
        let stats = ApiStats::default();
        stats.record("ListJobs", "ok");
        for _ in 0..3 {
            stats.record("DescribeJob", "ok");
        }
        assert_eq!(
            message("reading the account", &stats),
            "reading the account: 3 job(s) read, 1 ListJobs page(s)"
        );
    }

    #[tokio::test]
    async fn only_on_a_terminal() {
        let stats = Arc::new(ApiStats::default());
        let off = Spinner::start(Arc::clone(&stats), "reading", false);
        assert!(!off.running());
        off.stop().await;
        let on = Spinner::start(stats, "reading", true);
        assert!(on.running());
        // Stopped before its delay: it never draws, and stopping returns at once.
        tokio::time::timeout(Duration::from_secs(1), on.stop())
            .await
            .expect("stops at once");
    }
}

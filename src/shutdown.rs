//! The one cancellation path: signals become one token that every command, wait, prompt and pass
//! watches. The first SIGINT or SIGTERM cancels it (work under way finishes, nothing new starts,
//! and the command reports what it did); the second ends the process through `main`. SIGHUP asks
//! the daemon to reload.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

/// Exit codes for a run ended by a signal (128 + the signal's number, as shells report them).
pub const SIGINT_EXIT: u8 = 130;
pub const SIGTERM_EXIT: u8 = 143;

/// A cheap handle on "stop now": clone it into anything that waits.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    /// The exit code of the first signal; 0 until one arrives.
    code: Arc<AtomicU8>,
}

impl Shutdown {
    /// A handle no signal reaches (tests, and tools that drive the engine themselves).
    pub fn never() -> Self {
        Self::default()
    }

    /// Whether the first signal has arrived.
    pub fn requested(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves when the first signal arrives.
    pub async fn wait(&self) {
        self.token.cancelled().await;
    }

    /// The exit code the first signal asks for (130 for SIGINT, 143 for SIGTERM).
    pub fn exit_code(&self) -> Option<u8> {
        match self.code.load(Ordering::SeqCst) {
            0 => None,
            code => Some(code),
        }
    }

    /// What stopped the run, for messages: "interrupted (Ctrl-C)" or "terminated (SIGTERM)".
    pub fn cause(&self) -> &'static str {
        match self.exit_code() {
            Some(SIGTERM_EXIT) => "terminated (SIGTERM)",
            _ => "interrupted (Ctrl-C)",
        }
    }

    /// Cancels as the first signal would (`code` is its exit code).
    pub fn request(&self, code: u8) {
        let _ = self
            .code
            .compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst);
        self.token.cancel();
    }
}

/// The signal handlers of a process, installed once, first thing in `main`'s runtime.
pub struct Signals {
    pub shutdown: Shutdown,
    /// One message per SIGHUP (at most one pending): the daemon reloads.
    pub reload: tokio::sync::mpsc::Receiver<()>,
    second: tokio::sync::oneshot::Receiver<u8>,
}

impl Signals {
    /// Installs the handlers for SIGINT, SIGTERM and SIGHUP and starts listening. With
    /// `hangup_reloads` false, SIGHUP ends the run like SIGTERM (a closed terminal).
    pub fn install(hangup_reloads: bool) -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        let mut hup = signal(SignalKind::hangup())?;
        let shutdown = Shutdown::default();
        let (reload_tx, reload) = tokio::sync::mpsc::channel(1);
        let (second_tx, second) = tokio::sync::oneshot::channel();
        let first = shutdown.clone();
        tokio::spawn(async move {
            loop {
                let code = tokio::select! {
                    _ = int.recv() => SIGINT_EXIT,
                    _ = term.recv() => SIGTERM_EXIT,
                    _ = hup.recv() => {
                        if !hangup_reloads {
                            SIGTERM_EXIT
                        } else {
                            // Warn, the default level: a reload must show in the log without -v.
                            tracing::warn!("SIGHUP received: re-reading jobctl.yaml and starting a full pass");
                            // Full: a reload is already pending and will do.
                            let _ = reload_tx.try_send(());
                            continue;
                        }
                    }
                };
                if first.requested() {
                    let _ = second_tx.send(code);
                    return;
                }
                tracing::info!(
                    "signal received: finishing what is under way; a second signal exits at once"
                );
                first.request(code);
            }
        });
        Ok(Self {
            shutdown,
            reload,
            second,
        })
    }

    /// Resolves with the exit code when a second signal arrives: the run ends at once.
    pub async fn second(self) -> u8 {
        self.second.await.unwrap_or(SIGINT_EXIT)
    }

    /// Splits off the reload channel (the daemon's), leaving the rest to wait for the second
    /// signal.
    pub fn take_reload(&mut self) -> tokio::sync::mpsc::Receiver<()> {
        let (_, empty) = tokio::sync::mpsc::channel(1);
        std::mem::replace(&mut self.reload, empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_request_sets_the_exit_code_and_cancels() {
        let shutdown = Shutdown::never();
        assert!(!shutdown.requested());
        assert_eq!(shutdown.exit_code(), None);
        shutdown.request(SIGTERM_EXIT);
        shutdown.request(SIGINT_EXIT);
        assert!(shutdown.requested());
        assert_eq!(shutdown.exit_code(), Some(SIGTERM_EXIT));
        assert_eq!(shutdown.cause(), "terminated (SIGTERM)");
        shutdown.wait().await;
    }
}

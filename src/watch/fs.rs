//! File-system hints for the daemon. Events are only hints: the daemon rescans and fingerprints
//! the tree before deciding anything, so this module may over-report but must not miss a change.
//!
//! Each root is watched recursively through its resolved path, and its parent directory is
//! watched too: git-sync publishes a new checkout by atomically swapping a symlink, and a root
//! can be deleted and recreated; neither shows up inside the old tree.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

pub struct TreeWatcher {
    watcher: RecommendedWatcher,
    /// Root as given → the directory currently watched for it.
    watched: HashMap<PathBuf, PathBuf>,
    /// Paths whose events matter: each root as given (absolute) and its current target. Events
    /// about siblings in a root's parent (a log file next to the checkout) are not hints.
    relevant: Arc<RwLock<Vec<PathBuf>>>,
}

fn is_relevant(event: &Event, relevant: &RwLock<Vec<PathBuf>>) -> bool {
    if event.paths.is_empty() {
        return true;
    }
    let prefixes = match relevant.read() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    event
        .paths
        .iter()
        .any(|path| prefixes.iter().any(|prefix| path.starts_with(prefix)))
}

impl TreeWatcher {
    pub fn new(roots: &[PathBuf], hints: mpsc::Sender<()>) -> Result<Self, notify::Error> {
        let relevant = Arc::new(RwLock::new(Vec::new()));
        let filter = Arc::clone(&relevant);
        let handler = move |event: notify::Result<Event>| match event {
            // Reads (ours included) change nothing.
            Ok(event) if matches!(event.kind, EventKind::Access(_)) => {}
            Ok(event) if !is_relevant(&event, &filter) => {}
            // A full channel already holds a pending hint; one is enough.
            Ok(_) => {
                let _ = hints.try_send(());
            }
            Err(err) => {
                tracing::warn!(error = %err, "file watcher error; the next resync will catch up");
                let _ = hints.try_send(());
            }
        };
        let mut watcher = notify::recommended_watcher(handler)?;
        let mut watched = HashMap::new();
        for root in roots {
            if let Some(parent) = parent_of(root) {
                watcher.watch(&parent, RecursiveMode::NonRecursive)?;
            }
            let real = std::fs::canonicalize(root).unwrap_or_else(|_| root.clone());
            watcher.watch(&real, RecursiveMode::Recursive)?;
            watched.insert(root.clone(), real);
        }
        let mut this = Self {
            watcher,
            watched,
            relevant,
        };
        this.refresh_relevant(roots);
        Ok(this)
    }

    fn refresh_relevant(&mut self, roots: &[PathBuf]) {
        let mut prefixes: Vec<PathBuf> = roots
            .iter()
            .filter_map(|r| std::path::absolute(r).ok())
            .collect();
        prefixes.extend(self.watched.values().cloned());
        match self.relevant.write() {
            Ok(mut g) => *g = prefixes,
            Err(p) => *p.into_inner() = prefixes,
        }
    }

    /// Follows roots whose real directory changed (symlink swap, delete and recreate).
    pub fn rewatch_if_moved(&mut self, roots: &[PathBuf]) {
        for root in roots {
            let Ok(real) = std::fs::canonicalize(root) else {
                continue;
            };
            if self.watched.get(root) == Some(&real) {
                continue;
            }
            if let Some(old) = self.watched.get(root) {
                let _ = self.watcher.unwatch(old);
            }
            match self.watcher.watch(&real, RecursiveMode::Recursive) {
                Ok(()) => {
                    tracing::info!(root = %root.display(), now = %real.display(), "manifest root moved; watching its new target");
                    self.watched.insert(root.clone(), real);
                }
                Err(err) => {
                    tracing::warn!(root = %root.display(), error = %err, "cannot watch the manifest root")
                }
            }
        }
        self.refresh_relevant(roots);
    }
}

fn parent_of(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    absolute.parent().map(Path::to_path_buf)
}

//! File-system hints for the daemon. Events are only hints: the daemon rescans and fingerprints
//! the tree before deciding anything, so this module may over-report but must not miss a change.
//!
//! Each root is watched recursively through its resolved path, and its parent directory is
//! watched too: git-sync publishes a new checkout by atomically swapping a symlink, and a root
//! can be deleted and recreated; neither shows up inside the old tree. inotify watches follow
//! inodes, so a recreated root (same path, new directory) must be watched again: a root is
//! re-armed when its resolved path or its (device, inode) changed, or when an event said it was
//! removed (a file system may give the new directory the inode number of the old one).

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

pub struct TreeWatcher {
    watcher: RecommendedWatcher,
    /// Root as given → the directory currently watched for it.
    watched: HashMap<PathBuf, Watched>,
    /// Paths whose events matter: each root as given (absolute) and its current target. Events
    /// about siblings in a root's parent (a log file next to the checkout) are not hints.
    relevant: Arc<RwLock<Vec<PathBuf>>>,
    /// Roots (as watched, or as given) that an event reported removed since the last re-arm.
    removed: Arc<Mutex<HashSet<PathBuf>>>,
}

/// A directory under watch, and which one it was: a directory deleted and made again at the
/// same path is a different one, whose events the old watch never sees.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Watched {
    real: PathBuf,
    identity: Option<(u64, u64)>,
}

impl Watched {
    fn of(real: PathBuf) -> Self {
        let identity = std::fs::metadata(&real).ok().map(|m| (m.dev(), m.ino()));
        Self { real, identity }
    }
}

/// Notes the roots this event says were removed: their watch died with them.
fn note_removed_roots(
    event: &Event,
    relevant: &RwLock<Vec<PathBuf>>,
    removed: &Mutex<HashSet<PathBuf>>,
) {
    if !matches!(event.kind, EventKind::Remove(_)) {
        return;
    }
    let roots = match relevant.read() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    let mut removed = match removed.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    for path in &event.paths {
        if roots.iter().any(|root| root == path) {
            removed.insert(path.clone());
        }
    }
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
        let removed = Arc::new(Mutex::new(HashSet::new()));
        let filter = Arc::clone(&relevant);
        let lost = Arc::clone(&removed);
        let handler = move |event: notify::Result<Event>| match event {
            // Reads (ours included) change nothing.
            Ok(event) if matches!(event.kind, EventKind::Access(_)) => {}
            Ok(event) if !is_relevant(&event, &filter) => {}
            // A full channel already holds a pending hint; one is enough.
            Ok(event) => {
                note_removed_roots(&event, &filter, &lost);
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
            watched.insert(root.clone(), Watched::of(real));
        }
        let mut this = Self {
            watcher,
            watched,
            relevant,
            removed,
        };
        this.refresh_relevant(roots);
        Ok(this)
    }

    fn refresh_relevant(&mut self, roots: &[PathBuf]) {
        let mut prefixes: Vec<PathBuf> = roots
            .iter()
            .filter_map(|r| std::path::absolute(r).ok())
            .collect();
        prefixes.extend(self.watched.values().map(|w| w.real.clone()));
        match self.relevant.write() {
            Ok(mut g) => *g = prefixes,
            Err(p) => *p.into_inner() = prefixes,
        }
    }

    /// Follows roots whose real directory changed (symlink swap, delete and recreate). Called on
    /// every hint and before every pass, so a pass always reads a tree whose later changes are
    /// watched: whatever changed before the re-arm, the pass reads.
    pub fn rewatch_if_moved(&mut self, roots: &[PathBuf]) {
        let removed: HashSet<PathBuf> = match self.removed.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        for root in roots {
            let Ok(real) = std::fs::canonicalize(root) else {
                continue;
            };
            let now = Watched::of(real);
            let Some(old) = self.watched.get(root) else {
                continue;
            };
            let was_removed = removed.contains(&old.real)
                || std::path::absolute(root).is_ok_and(|a| removed.contains(&a));
            if *old == now && !was_removed {
                continue;
            }
            let recreated = old.real == now.real;
            // The old watch may be gone already (inotify drops it with its directory).
            let _ = self.watcher.unwatch(&old.real);
            match self.watcher.watch(&now.real, RecursiveMode::Recursive) {
                Ok(()) => {
                    if recreated {
                        tracing::info!(root = %root.display(), "manifest root was deleted and recreated; watching the new directory");
                    } else {
                        tracing::info!(root = %root.display(), now = %now.real.display(), "manifest root moved; watching its new target");
                    }
                    let mut removed = match self.removed.lock() {
                        Ok(g) => g,
                        Err(p) => p.into_inner(),
                    };
                    removed.remove(&old.real);
                    if let Ok(absolute) = std::path::absolute(root) {
                        removed.remove(&absolute);
                    }
                    drop(removed);
                    self.watched.insert(root.clone(), now);
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

//! The `--state-file`: loading it at startup and saving the world after each mutation,
//! crash-safely (temp file in the same directory, fsync, rename, fsync the directory), so
//! a reader or a restart never sees a half-written file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::model::{World, STATE_FORMAT};

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("failed to read state file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("state file {path} is not valid emulator state")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("state file {path} has format {found}, this emulator reads format {STATE_FORMAT}")]
    Format { path: PathBuf, found: u32 },
    #[error("failed to write state file {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Saves snapshots in generation order. Snapshots are taken under the world lock (so a
/// later generation always holds later state) but written outside it, so a slow disk
/// does not stall read-only requests; a stale generation is simply skipped.
#[derive(Debug)]
pub struct Persister {
    path: PathBuf,
    next_gen: AtomicU64,
    written: Mutex<u64>,
}

impl Persister {
    pub fn new(path: PathBuf) -> Self {
        Persister {
            path,
            next_gen: AtomicU64::new(1),
            written: Mutex::new(0),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Loads the state file if there is one; a missing file means a fresh world.
    pub fn load(&self) -> Result<Option<World>, PersistError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(PersistError::Read {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        let mut world: World =
            serde_json::from_slice(&bytes).map_err(|source| PersistError::Parse {
                path: self.path.clone(),
                source,
            })?;
        if world.format != STATE_FORMAT {
            return Err(PersistError::Format {
                path: self.path.clone(),
                found: world.format,
            });
        }
        for scope in world.scopes.values_mut() {
            crate::engine::Engine::new(scope, None).restore();
        }
        Ok(Some(world))
    }

    /// Call with the world locked, right after serialising it.
    pub fn take_gen(&self) -> u64 {
        self.next_gen.fetch_add(1, Ordering::SeqCst)
    }

    pub fn write(&self, gen: u64, bytes: &[u8]) -> Result<(), PersistError> {
        let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        if gen <= *written {
            return Ok(());
        }
        self.write_atomic(bytes)
            .map_err(|source| PersistError::Write {
                path: self.path.clone(),
                source,
            })?;
        *written = gen;
        Ok(())
    }

    fn write_atomic(&self, bytes: &[u8]) -> io::Result<()> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "state.json".into());
        // Same directory, so the rename stays on one filesystem and is atomic.
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &self.path)?;
        // Make the rename itself durable.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_generation_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = Persister::new(dir.path().join("state.json"));
        assert!(p.load().unwrap().is_none());
        let mut w = World::new();
        w.clock_offset_ms = 42;
        let g1 = p.take_gen();
        let g2 = p.take_gen();
        p.write(g2, &serde_json::to_vec(&w).unwrap()).unwrap();
        // An older snapshot arriving late must not overwrite a newer one.
        p.write(g1, b"{}").unwrap();
        let back = p.load().unwrap().unwrap();
        assert_eq!(back.clock_offset_ms, 42);
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temp file left behind");
    }

    #[test]
    fn rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(&path, "not json").unwrap();
        assert!(matches!(
            Persister::new(path).load(),
            Err(PersistError::Parse { .. })
        ));
    }
}

//! Finding and reading manifest files: `-f` paths, directory walks, the root boundary and size bounds.
//!
//! Every `-f` path is a root. A directory root is walked recursively in sorted order for
//! `*.yaml`/`*.yml` (any case); a file root is its own directory's root. Nothing outside a root
//! is ever read: symlinks are resolved and checked, because a manifest repository is untrusted
//! input in CI. Only regular files are read, opened so that a FIFO or a device cannot block, and
//! each read is bounded in size and in time: a daemon must never wedge on a file.

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use super::yaml::Location;

/// The largest manifest or document file jobctl reads. A job document is at most 32 KiB; a
/// manifest file holding many jobs stays far below this.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The most manifest files one `-f` directory may hold.
pub const MAX_FILES: usize = 100_000;

/// The most directory entries one `-f` walk visits; past that jobctl refuses (with an error,
/// which turns prune off) rather than crawl a mistaken `-f /`.
pub const MAX_ENTRIES: usize = 1_000_000;

/// How long reading one file may take. A local file of at most [`MAX_FILE_BYTES`] is read in
/// milliseconds; a network or FUSE file system that trickles its bytes is refused instead of
/// holding up a run (or the daemon) for ever.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A manifest file found under a root.
#[derive(Debug, Clone)]
pub struct FoundFile {
    /// The path as given or joined from the root, for display.
    pub path: PathBuf,
    /// The canonical root it belongs to; document files must stay inside it.
    pub root: PathBuf,
}

/// One `-f` path and, when it could be resolved, its canonical root.
#[derive(Debug, Clone)]
pub struct Root {
    pub given: PathBuf,
    pub canonical: Option<PathBuf>,
}

/// What a walk of the `-f` paths found.
#[derive(Debug, Default)]
pub struct Discovery {
    pub files: Vec<FoundFile>,
    /// What could not be walked or is not a file jobctl reads: the caller must know which parts
    /// of the tree it did not see.
    pub errors: Vec<LoadError>,
    pub roots: Vec<Root>,
    /// YAML files that were not read because they are hidden or under a hidden directory
    /// (`.git` itself is not searched).
    pub skipped: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: no such file or directory")]
    Missing { path: PathBuf },
    #[error("{path}: failed to read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: is a symlink that points outside the manifest root {root}")]
    SymlinkEscape { path: PathBuf, root: PathBuf },
    #[error(
        "{path}: more than {MAX_FILES} manifests or {MAX_ENTRIES} entries under this directory"
    )]
    TooManyFiles { path: PathBuf },
    #[error("{path}: {size} bytes is larger than the {MAX_FILE_BYTES}-byte limit")]
    TooLarge { path: PathBuf, size: u64 },
    #[error("{path}: not UTF-8 text (invalid byte at line {line}, column {col})")]
    NotText {
        path: PathBuf,
        line: usize,
        col: usize,
        offset: usize,
    },
    #[error("{path}: a NUL character (byte 0) at line {line}, column {col}; YAML text cannot contain NUL")]
    Nul {
        path: PathBuf,
        line: usize,
        col: usize,
        offset: usize,
    },
    #[error("{path}: not a .yaml or .yml file")]
    NotYaml { path: PathBuf },
    #[error("{path}: is {kind}, not a regular file")]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("{path}: reading took longer than {} s", READ_TIMEOUT.as_secs())]
    SlowRead { path: PathBuf },
    #[error("{path}: starts with a UTF-8 byte order mark (bytes EF BB BF), which a JSON job document may not carry")]
    ByteOrderMark { path: PathBuf },
}

impl LoadError {
    pub fn path(&self) -> &Path {
        match self {
            Self::Missing { path }
            | Self::Io { path, .. }
            | Self::SymlinkEscape { path, .. }
            | Self::TooManyFiles { path }
            | Self::TooLarge { path, .. }
            | Self::NotText { path, .. }
            | Self::Nul { path, .. }
            | Self::NotYaml { path }
            | Self::NotRegular { path, .. }
            | Self::SlowRead { path }
            | Self::ByteOrderMark { path } => path,
        }
    }

    /// Where in the file the problem is, for problems inside the text.
    pub fn location(&self) -> Option<Location> {
        match self {
            Self::NotText {
                line, col, offset, ..
            }
            | Self::Nul {
                line, col, offset, ..
            } => Some(Location {
                offset: *offset,
                len: 1,
                line: *line,
                col: *col,
            }),
            _ => None,
        }
    }

    pub fn help(&self) -> Option<&'static str> {
        match self {
            Self::SymlinkEscape { .. } => Some(
                "manifests and the files they reference must live inside the directory given to -f",
            ),
            Self::TooLarge { .. } => {
                Some("split the file, or move large documents to S3 and use documentSource")
            }
            Self::NotText { .. } => Some("manifests must be UTF-8 YAML text"),
            Self::Nul { .. } => Some(
                "remove the NUL; a file full of them is usually binary, or saved as UTF-16 instead of UTF-8",
            ),
            Self::NotYaml { .. } => Some("give a .yaml/.yml file or a directory to -f"),
            Self::TooManyFiles { .. } => Some("point -f at the directory that holds the manifests"),
            Self::NotRegular { .. } => Some(
                "jobctl reads only regular files; move it out of the manifest tree or rename it",
            ),
            Self::SlowRead { .. } => Some("check the file system the manifests live on"),
            Self::ByteOrderMark { .. } => Some(
                "save the file as UTF-8 without a BOM: JSON sent over a network must not start with one (RFC 8259), and devices' parsers refuse it",
            ),
            _ => None,
        }
    }
}

/// Expands the `-f` paths into manifest files, reporting what could not be walked. Errors do not
/// stop the walk: the caller must know which parts of the tree it did not see.
pub fn discover(paths: &[PathBuf]) -> Discovery {
    let mut out = Discovery::default();
    for path in paths {
        let mut root = Root {
            given: path.clone(),
            canonical: None,
        };
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                out.errors.push(LoadError::Missing { path: path.clone() });
                out.roots.push(root);
                continue;
            }
            Err(source) => {
                out.errors.push(LoadError::Io {
                    path: path.clone(),
                    source,
                });
                out.roots.push(root);
                continue;
            }
        };
        if meta.is_dir() {
            let canonical = match fs::canonicalize(path) {
                Ok(r) => r,
                Err(source) => {
                    out.errors.push(LoadError::Io {
                        path: path.clone(),
                        source,
                    });
                    out.roots.push(root);
                    continue;
                }
            };
            root.canonical = Some(canonical.clone());
            let mut walk = Walk {
                root: &canonical,
                files: Vec::new(),
                errors: &mut out.errors,
                skipped: &mut out.skipped,
                visited: HashSet::from([canonical.clone()]),
                budget: MAX_ENTRIES,
            };
            walk.dir(path, false);
            let (found, budget) = (walk.files, walk.budget);
            if found.len() > MAX_FILES || budget == 0 {
                out.errors
                    .push(LoadError::TooManyFiles { path: path.clone() });
            } else {
                out.files.extend(found);
            }
        } else if !is_yaml_name(path) {
            out.errors.push(LoadError::NotYaml { path: path.clone() });
        } else if !meta.is_file() {
            out.errors.push(LoadError::NotRegular {
                path: path.clone(),
                kind: kind_of(&meta.file_type()),
            });
        } else {
            match fs::canonicalize(directory_of(path)) {
                Ok(canonical) => {
                    root.canonical = Some(canonical.clone());
                    // A file given directly may itself be a symlink; it still may not leave its
                    // own directory, or `-f link.yaml` would read anything on the machine.
                    match fs::canonicalize(path) {
                        Ok(real) if real.starts_with(&canonical) => out.files.push(FoundFile {
                            path: path.clone(),
                            root: canonical,
                        }),
                        Ok(_) => out.errors.push(LoadError::SymlinkEscape {
                            path: path.clone(),
                            root: canonical,
                        }),
                        Err(source) => out.errors.push(LoadError::Io {
                            path: path.clone(),
                            source,
                        }),
                    }
                }
                Err(source) => out.errors.push(LoadError::Io {
                    path: path.clone(),
                    source,
                }),
            }
        }
        out.roots.push(root);
    }
    out
}

/// The directory a file is in: `.` for a bare name (`m.yaml`), whose `parent()` is the empty path
/// that `canonicalize` refuses.
fn directory_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// `.yaml` and `.yml` in any case: `JOB.YAML` is a manifest too (Windows and some editors write
/// upper-case extensions), so it is read rather than skipped without a word.
pub fn is_yaml_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// A file type in words, for "is a FIFO, not a regular file".
fn kind_of(file_type: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// One directory root's walk.
struct Walk<'a> {
    root: &'a Path,
    files: Vec<FoundFile>,
    errors: &'a mut Vec<LoadError>,
    skipped: &'a mut Vec<PathBuf>,
    /// Real directories entered, so that a symlink to an ancestor cannot loop.
    visited: HashSet<PathBuf>,
    budget: usize,
}

impl Walk<'_> {
    /// Walks `dir`. Under a hidden directory (`hidden`), YAML files are only noted as skipped.
    fn dir(&mut self, dir: &Path, hidden: bool) {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(source) => {
                if !hidden {
                    self.errors.push(LoadError::Io {
                        path: dir.to_path_buf(),
                        source,
                    });
                }
                return;
            }
        };
        let mut names: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        names.sort();
        for path in names {
            if self.files.len() > MAX_FILES || self.budget == 0 {
                return;
            }
            self.budget -= 1;
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            // `.git`, editor swap files and git-sync's `.worktrees` are never manifests; YAML
            // files in hidden places are listed as skipped (`.git` is not searched: it is large
            // and holds none).
            let in_hidden = hidden || name.starts_with('.');
            if in_hidden && (name == ".git" || name == ".worktrees") {
                continue;
            }
            self.entry(path, in_hidden);
        }
    }

    fn entry(&mut self, path: PathBuf, hidden: bool) {
        let link = fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
        let real = match fs::canonicalize(&path) {
            Ok(r) => r,
            Err(source) => {
                // A dangling symlink that does not look like a manifest is not our business.
                let dangling_other = link && !is_yaml_name(&path);
                if !hidden && !dangling_other {
                    self.errors.push(LoadError::Io { path, source });
                }
                return;
            }
        };
        if !real.starts_with(self.root) {
            if !hidden && link && (real.is_dir() || is_yaml_name(&path)) {
                self.errors.push(LoadError::SymlinkEscape {
                    path,
                    root: self.root.to_path_buf(),
                });
            }
            return;
        }
        let Ok(meta) = fs::metadata(&real) else {
            return;
        };
        if meta.is_dir() {
            // Symlinked directories inside the root are followed once; the visited set stops
            // a link to an ancestor from looping.
            if self.visited.insert(real) {
                self.dir(&path, hidden);
            }
        } else if is_yaml_name(&path) {
            if hidden {
                self.skipped.push(path);
            } else if meta.is_file() {
                self.files.push(FoundFile {
                    path,
                    root: self.root.to_path_buf(),
                });
            } else {
                // A FIFO named like a manifest would block whoever opens it: report it, never
                // read it.
                self.errors.push(LoadError::NotRegular {
                    path,
                    kind: kind_of(&meta.file_type()),
                });
            }
        }
    }
}

/// A file that is not a regular file, as [`open_regular`] reports it inside an `io::Error`.
#[derive(Debug, thiserror::Error)]
#[error("is {kind}, not a regular file")]
pub struct NotRegularFile {
    pub kind: &'static str,
}

/// Opens `path` for reading only if it is a regular file. The open does not block (a FIFO
/// without a writer would otherwise block open(2) for ever, and no deadline of the caller's can
/// interrupt it), and the type is checked on the open handle (fstat), so a swap between a check
/// and the open cannot get past it. Anything else fails with an `io::Error` of kind
/// `InvalidInput` carrying a [`NotRegularFile`]. `O_NONBLOCK` stays set: it has no effect on
/// reads of a regular file.
pub fn open_regular(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let file_type = file.metadata()?.file_type();
    if file_type.is_file() {
        Ok(file)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            NotRegularFile {
                kind: kind_of(&file_type),
            },
        ))
    }
}

/// Reads a file as UTF-8 text within the size and time bounds; a byte order mark is dropped
/// (editors on Windows write one; YAML allows it). Only regular files are read
/// ([`open_regular`]). The size bound is enforced on what is read, not on what metadata claims.
pub fn read_text(path: &Path) -> Result<String, LoadError> {
    let mut bytes = read_bounded(path)?;
    if bytes.starts_with(BOM) {
        bytes.drain(..BOM.len());
    }
    decode(path, bytes)
}

/// [`read_text`] for a JSON job document, which is sent byte for byte: a byte order mark is
/// refused, not dropped (JSON sent over a network must not start with one, RFC 8259 §8.1, and
/// many device parsers fail on it), so what is validated is what is sent.
pub fn read_json_text(path: &Path) -> Result<String, LoadError> {
    let bytes = read_bounded(path)?;
    if bytes.starts_with(BOM) {
        return Err(LoadError::ByteOrderMark {
            path: path.to_path_buf(),
        });
    }
    decode(path, bytes)
}

/// UTF-8's byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The bytes of a regular file, at most [`MAX_FILE_BYTES`], read within [`READ_TIMEOUT`].
fn read_bounded(path: &Path) -> Result<Vec<u8>, LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = open_regular(path).map_err(|err| {
        match err
            .get_ref()
            .and_then(|e| e.downcast_ref::<NotRegularFile>())
        {
            Some(not_regular) => LoadError::NotRegular {
                path: path.to_path_buf(),
                kind: not_regular.kind,
            },
            None => io(err),
        }
    })?;
    let meta = file.metadata().map_err(io)?;
    let deadline = Instant::now() + READ_TIMEOUT;
    let capacity = usize::try_from(meta.len().min(MAX_FILE_BYTES + 1)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(capacity);
    let mut reader = file.take(MAX_FILE_BYTES + 1);
    let mut chunk = [0u8; 64 * 1024];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
        if Instant::now() > deadline {
            return Err(LoadError::SlowRead {
                path: path.to_path_buf(),
            });
        }
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(LoadError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len().max(bytes.len() as u64),
        });
    }
    Ok(bytes)
}

/// `body` as text, or where it stops being UTF-8 or holds a NUL. The bytes become the text in
/// place: a manifest tree of 10,000 files is read with no second copy of each (the daemon's peak
/// memory counts them).
fn decode(path: &Path, body: Vec<u8>) -> Result<String, LoadError> {
    let text = match String::from_utf8(body) {
        Ok(text) => text,
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let (line, col) = line_col(e.as_bytes(), offset);
            return Err(LoadError::NotText {
                path: path.to_path_buf(),
                line,
                col,
                offset,
            });
        }
    };
    match text.find('\0') {
        None => Ok(text),
        Some(offset) => {
            let (line, col) = line_col(text.as_bytes(), offset);
            Err(LoadError::Nul {
                path: path.to_path_buf(),
                line,
                col,
                offset,
            })
        }
    }
}

/// The 1-based line and column of `offset` in `body`; columns count characters, as the YAML
/// positions do.
fn line_col(body: &[u8], offset: usize) -> (usize, usize) {
    let before = &body[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, col)
}

#[derive(Debug, PartialEq, Eq)]
pub enum ReferenceError {
    /// The path climbs out of the root with `..`, or is absolute.
    Escapes,
    /// The path resolves (through a symlink) to somewhere outside the root.
    SymlinkEscapes,
    Missing,
}

/// Resolves a file referenced from a manifest (`documentFile`), relative to the manifest and
/// confined to its root.
pub fn resolve_reference(
    manifest: &Path,
    root: &Path,
    reference: &str,
) -> Result<PathBuf, ReferenceError> {
    let relative = Path::new(reference);
    if relative.is_absolute() || relative.has_root() {
        return Err(ReferenceError::Escapes);
    }
    let base = fs::canonicalize(directory_of(manifest)).map_err(|_| ReferenceError::Missing)?;
    // Lexical check first, so `../../etc/passwd` is refused even when it does not exist.
    let mut lexical = base.clone();
    for component in relative.components() {
        match component {
            Component::ParentDir => {
                if !lexical.pop() || !lexical.starts_with(root) {
                    return Err(ReferenceError::Escapes);
                }
            }
            Component::Normal(part) => lexical.push(part),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return Err(ReferenceError::Escapes),
        }
    }
    if !lexical.starts_with(root) {
        return Err(ReferenceError::Escapes);
    }
    match fs::canonicalize(&lexical) {
        Ok(real) if real.starts_with(root) => Ok(real),
        Ok(_) => Err(ReferenceError::SymlinkEscapes),
        Err(_) => Err(ReferenceError::Missing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_cannot_leave_the_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = fs::canonicalize(dir.path()).expect("canonical");
        fs::create_dir(root.join("jobs")).expect("mkdir");
        fs::write(root.join("jobs/a.yaml"), "").expect("write");
        fs::write(root.join("jobs/doc.json"), "{}").expect("write");
        let manifest = root.join("jobs/a.yaml");
        let jobs_root = root.join("jobs");
        assert!(resolve_reference(&manifest, &jobs_root, "doc.json").is_ok());
        assert_eq!(
            resolve_reference(&manifest, &jobs_root, "../../etc/passwd"),
            Err(ReferenceError::Escapes)
        );
        assert_eq!(
            resolve_reference(&manifest, &jobs_root, "/etc/passwd"),
            Err(ReferenceError::Escapes)
        );
        assert_eq!(
            resolve_reference(&manifest, &jobs_root, "nope.json"),
            Err(ReferenceError::Missing)
        );
        std::os::unix::fs::symlink("/etc/hostname", root.join("jobs/link.json")).expect("symlink");
        assert_eq!(
            resolve_reference(&manifest, &jobs_root, "link.json"),
            Err(ReferenceError::SymlinkEscapes)
        );
    }

    #[test]
    fn walk_is_sorted_and_skips_hidden() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        fs::create_dir_all(root.join("b/.git")).expect("mkdir");
        fs::write(root.join("b/z.yaml"), "").expect("write");
        fs::write(root.join("b/.git/x.yaml"), "").expect("write");
        fs::write(root.join("a.yml"), "").expect("write");
        fs::write(root.join("notes.txt"), "").expect("write");
        let Discovery { files, errors, .. } = discover(&[root.to_path_buf()]);
        assert!(errors.is_empty(), "{errors:?}");
        let names: Vec<_> = files
            .iter()
            .map(|f| f.path.strip_prefix(root).expect("under root").to_path_buf())
            .collect();
        assert_eq!(
            names,
            vec![PathBuf::from("a.yml"), PathBuf::from("b/z.yaml")]
        );
    }
}

//! Finding and reading manifest files: `-f` paths, directory walks, the root boundary and size bounds.
//!
//! Every `-f` path is a root. A directory root is walked recursively in sorted order for
//! `*.yaml`/`*.yml`; a file root is its own directory's root. Nothing outside a root is ever read:
//! symlinks are resolved and checked, because a manifest repository is untrusted input in CI.

use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// The largest manifest or document file jobctl reads. A job document is at most 32 KiB; a
/// manifest file holding many jobs stays far below this.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The most manifest files one `-f` directory may hold.
pub const MAX_FILES: usize = 100_000;

/// The most directory entries one `-f` walk visits; past that jobctl refuses (with an error,
/// which turns prune off) rather than crawl a mistaken `-f /`.
pub const MAX_ENTRIES: usize = 1_000_000;

/// A manifest file found under a root.
#[derive(Debug, Clone)]
pub struct FoundFile {
    /// The path as given or joined from the root, for display.
    pub path: PathBuf,
    /// The canonical root it belongs to; document files must stay inside it.
    pub root: PathBuf,
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
    #[error("{path}: not UTF-8 text (invalid byte at offset {offset})")]
    NotText { path: PathBuf, offset: usize },
    #[error("{path}: not a .yaml or .yml file")]
    NotYaml { path: PathBuf },
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
            | Self::NotYaml { path } => path,
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
            Self::NotYaml { .. } => Some("give a .yaml/.yml file or a directory to -f"),
            Self::TooManyFiles { .. } => Some("point -f at the directory that holds the manifests"),
            _ => None,
        }
    }
}

/// Expands the `-f` paths into manifest files, reporting what could not be walked. Errors do not
/// stop the walk: the caller must know which parts of the tree it did not see.
pub fn discover(paths: &[PathBuf]) -> (Vec<FoundFile>, Vec<LoadError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                errors.push(LoadError::Missing { path: path.clone() });
                continue;
            }
            Err(source) => {
                errors.push(LoadError::Io {
                    path: path.clone(),
                    source,
                });
                continue;
            }
        };
        if meta.is_dir() {
            let root = match fs::canonicalize(path) {
                Ok(r) => r,
                Err(source) => {
                    errors.push(LoadError::Io {
                        path: path.clone(),
                        source,
                    });
                    continue;
                }
            };
            let mut found = Vec::new();
            let mut budget = MAX_ENTRIES;
            walk(
                path,
                &root,
                &mut found,
                &mut errors,
                &mut vec![root.clone()],
                &mut budget,
            );
            if found.len() > MAX_FILES || budget == 0 {
                errors.push(LoadError::TooManyFiles { path: path.clone() });
            } else {
                files.extend(found);
            }
        } else {
            if !is_yaml_name(path) {
                errors.push(LoadError::NotYaml { path: path.clone() });
                continue;
            }
            let parent = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            match fs::canonicalize(parent) {
                Ok(root) => {
                    // A file given directly may itself be a symlink; it still may not leave its
                    // own directory, or `-f link.yaml` would read anything on the machine.
                    match fs::canonicalize(path) {
                        Ok(real) if real.starts_with(&root) => files.push(FoundFile {
                            path: path.clone(),
                            root,
                        }),
                        Ok(_) => errors.push(LoadError::SymlinkEscape {
                            path: path.clone(),
                            root,
                        }),
                        Err(source) => errors.push(LoadError::Io {
                            path: path.clone(),
                            source,
                        }),
                    }
                }
                Err(source) => errors.push(LoadError::Io {
                    path: path.clone(),
                    source,
                }),
            }
        }
    }
    (files, errors)
}

fn is_yaml_name(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

fn walk(
    dir: &Path,
    root: &Path,
    files: &mut Vec<FoundFile>,
    errors: &mut Vec<LoadError>,
    visited: &mut Vec<PathBuf>,
    budget: &mut usize,
) {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(source) => {
            errors.push(LoadError::Io {
                path: dir.to_path_buf(),
                source,
            });
            return;
        }
    };
    let mut names: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    names.sort();
    for path in names {
        if files.len() > MAX_FILES || *budget == 0 {
            return;
        }
        *budget -= 1;
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        // `.git`, editor swap files and git-sync's `.worktrees` are never manifests.
        if hidden {
            continue;
        }
        let link = fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
        let real = match fs::canonicalize(&path) {
            Ok(r) => r,
            Err(source) => {
                // A dangling symlink that does not look like a manifest is not our business.
                if link && !is_yaml_name(&path) {
                    continue;
                }
                errors.push(LoadError::Io { path, source });
                continue;
            }
        };
        if !real.starts_with(root) {
            if link && (real.is_dir() || is_yaml_name(&path)) {
                errors.push(LoadError::SymlinkEscape {
                    path,
                    root: root.to_path_buf(),
                });
            }
            continue;
        }
        if real.is_dir() {
            // Symlinked directories inside the root are followed once; the visited list stops
            // a link to an ancestor from looping.
            if visited.contains(&real) {
                continue;
            }
            visited.push(real);
            walk(&path, root, files, errors, visited, budget);
        } else if is_yaml_name(&path) {
            files.push(FoundFile {
                path,
                root: root.to_path_buf(),
            });
        }
    }
}

/// Reads a file as UTF-8 text within the size bound. The bound is enforced on what is read, not
/// on what metadata claims, so a growing file or a FIFO cannot get past it.
pub fn read_text(path: &Path) -> Result<String, LoadError> {
    let file = fs::File::open(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        let size = fs::metadata(path).map_or(bytes.len() as u64, |m| m.len());
        return Err(LoadError::TooLarge {
            path: path.to_path_buf(),
            size,
        });
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    match std::str::from_utf8(body) {
        Ok(text) if !text.contains('\0') => Ok(text.to_string()),
        Ok(text) => Err(LoadError::NotText {
            path: path.to_path_buf(),
            offset: text.find('\0').unwrap_or(0),
        }),
        Err(e) => Err(LoadError::NotText {
            path: path.to_path_buf(),
            offset: e.valid_up_to(),
        }),
    }
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
    let base = fs::canonicalize(manifest.parent().unwrap_or(Path::new(".")))
        .map_err(|_| ReferenceError::Missing)?;
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
        let (files, errors) = discover(&[root.to_path_buf()]);
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

//! `jobctl.yaml` at a manifest root: settings that belong to the tree rather than to one run
//! (today only `instance: NAME`). Read with the same bounds and root confinement as manifests.

use std::path::{Path, PathBuf};

use super::{load, yaml, CONFIG_FILE_NAME};

/// Why the instance name could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{} is a symlink that points outside the manifest root", .0.display())]
    SymlinkEscape(PathBuf),
    #[error(transparent)]
    Read(#[from] load::LoadError),
    #[error("{}:{line}:{col}: {message}", .path.display())]
    Yaml {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("{}: {source} (jobctl.yaml holds `instance: NAME`)", .path.display())]
    Format {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{} says instance `{first}` but {} says `{other}`; pass --instance", .first_file.display(), .other_file.display())]
    Disagree {
        first_file: PathBuf,
        first: String,
        other_file: PathBuf,
        other: String,
    },
    #[error("instance name `{0}` must be 1-63 characters of letters, digits, `-`, `_` and `.`")]
    InvalidInstance(String),
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RootConfig {
    instance: Option<String>,
}

/// The instance name: `flag` when given, else the roots' `jobctl.yaml` (which must agree), else
/// `default`. Every root's file is read, so a broken one is reported even when a flag wins.
pub fn instance(flag: Option<&str>, paths: &[PathBuf]) -> Result<String, ConfigError> {
    let mut from_files: Vec<(PathBuf, String)> = Vec::new();
    for path in paths {
        let dir = if path.is_dir() {
            path.clone()
        } else {
            path.parent().map(PathBuf::from).unwrap_or_default()
        };
        if let Some(name) = read(&dir)? {
            from_files.push((dir.join(CONFIG_FILE_NAME), name));
        }
    }
    let name = match (flag, from_files.first()) {
        (Some(flag), _) => flag.to_string(),
        (None, Some((first_file, first))) => {
            if let Some((other_file, other)) = from_files.iter().find(|(_, n)| n != first) {
                return Err(ConfigError::Disagree {
                    first_file: first_file.clone(),
                    first: first.clone(),
                    other_file: other_file.clone(),
                    other: other.clone(),
                });
            }
            first.clone()
        }
        (None, None) => "default".to_string(),
    };
    if !valid_instance(&name) {
        return Err(ConfigError::InvalidInstance(name));
    }
    Ok(name)
}

/// The `instance:` of `dir/jobctl.yaml`, when the file exists and names one.
fn read(dir: &Path) -> Result<Option<String>, ConfigError> {
    let file = dir.join(CONFIG_FILE_NAME);
    if !file.exists() {
        return Ok(None);
    }
    // Like manifests, the config may not lead outside its root through a symlink.
    let inside = match (std::fs::canonicalize(dir), std::fs::canonicalize(&file)) {
        (Ok(root), Ok(real)) => real.starts_with(root),
        _ => false,
    };
    if !inside {
        return Err(ConfigError::SymlinkEscape(file));
    }
    let text = load::read_text(&file)?;
    let docs = yaml::parse_documents(&text).map_err(|e| ConfigError::Yaml {
        path: file.clone(),
        line: e.location.line,
        col: e.location.col,
        message: e.message,
    })?;
    let value = docs.first().map(|d| d.root.to_json()).unwrap_or_default();
    let config: RootConfig = serde_json::from_value(value)
        .map_err(|source| ConfigError::Format { path: file, source })?;
    Ok(config.instance)
}

fn valid_instance(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

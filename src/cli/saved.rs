//! Saved plans on disk: `plan --out FILE` writes one, `apply FILE` reads it, plans again from the
//! file's roots and options with the same reads, and carries the plan out only when nothing
//! moved (the comparison itself is `engine::saved`, pure). Used by `plan` and `apply`; imports
//! neither.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::args::{AwsArgs, ReconcileArgs};
use super::config::RunConfig;
use super::run::{Loaded, Review};
use crate::engine::saved::{self, AccountState, Current, Moved, SavedPlan, SavedScope, Subject};
use crate::report::{Failure, FailureKind, PlanReport, SavedPlanRefused, Scope};

/// The saved plan of a run: roots, options, scope, fingerprints and requests.
pub fn build(
    config: &RunConfig,
    read: &[PathBuf],
    report: &PlanReport,
    state: &AccountState,
) -> SavedPlan {
    SavedPlan {
        format: saved::FORMAT.to_string(),
        jobctl_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: now_rfc3339(),
        roots: roots(&config.paths),
        options: config.settings.clone(),
        scope: scope(&report.scope),
        manifests: fingerprint_files(read),
        account_state: state.clone(),
        plan: serde_json::to_value(&report.plan).unwrap_or(serde_json::Value::Null),
        requests: saved::requests(&report.plan),
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn roots(paths: &[PathBuf]) -> Vec<String> {
    paths.iter().map(|p| p.display().to_string()).collect()
}

fn scope(scope: &Scope) -> SavedScope {
    SavedScope {
        account: scope.account.clone(),
        region: scope.region.clone(),
        endpoint: scope.endpoint.clone(),
        instance: scope.instance.clone(),
    }
}

/// Reads each file the load read and fingerprints it, keyed by its path relative to the working
/// directory (absolute when outside it), so that a plan made in one checkout applies in another
/// at the same place. A file that cannot be read now is fingerprinted as such (it differs).
pub fn fingerprint_files(read: &[PathBuf]) -> saved::Fingerprint {
    let cwd = std::env::current_dir().and_then(std::fs::canonicalize).ok();
    let mut files: std::collections::BTreeMap<String, Vec<u8>> = Default::default();
    for path in read {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        let key = match cwd.as_ref().and_then(|c| canonical.strip_prefix(c).ok()) {
            Some(relative) => relative.display().to_string(),
            None => canonical.display().to_string(),
        };
        let bytes = std::fs::read(&canonical)
            .unwrap_or_else(|err| format!("unreadable: {}", err.kind()).into_bytes());
        files.insert(key, bytes);
    }
    saved::fingerprint(files.iter().map(|(k, v)| (k.clone(), v.as_slice())))
}

/// Writes the plan atomically (a temporary file in the same directory, then a rename), readable
/// by its owner only: it holds job documents, as the manifests do.
pub fn write(path: &Path, plan: &SavedPlan) -> Result<(), String> {
    let text =
        serde_json::to_string_pretty(plan).map_err(|e| format!("cannot encode the plan: {e}"))?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .ok_or_else(|| format!("{}: not a file name", path.display()))?;
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temp)?;
        file.write_all(text.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    result.map_err(|err| {
        let _ = std::fs::remove_file(&temp);
        format!("cannot write the plan to {}: {err}", path.display())
    })
}

/// Reads a plan file, at most [`saved::MAX_FILE_BYTES`].
pub fn read(path: &Path) -> Result<SavedPlan, saved::ReadError> {
    let shown = path.display().to_string();
    let io = |source| saved::ReadError::Io {
        path: shown.clone(),
        source,
    };
    let file = crate::manifest::load::open_regular(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > saved::MAX_FILE_BYTES {
        return Err(saved::ReadError::TooLarge { path: shown, size });
    }
    let mut text = String::new();
    file.take(saved::MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    saved::parse(&shown, &text)
}

/// `apply FILE` before anything is read: the file, checked against the flags given. `Err` is
/// the failure to render (a usage error, or a file that cannot be a saved plan) or, for a plan
/// made for another instance, the refusal.
pub fn open(
    file: &Path,
    reconcile: &ReconcileArgs,
    aws: &AwsArgs,
    timeout: Option<std::time::Duration>,
) -> Result<(SavedPlan, RunConfig), Opened> {
    if file.is_dir() {
        return Err(Opened::Failed(Failure::new(FailureKind::Config, format!(
            "{} is a directory; to apply manifests use `jobctl apply -f {}` (a path without -f is a plan saved by `jobctl plan --out`)",
            file.display(),
            file.display()
        ))));
    }
    let shaping = reconcile.plan_shaping_given();
    if !shaping.is_empty() {
        return Err(Opened::Failed(Failure::new(FailureKind::Config, format!(
            "{} cannot be used with a saved plan: its options are the ones it was planned with; plan again with them (`jobctl plan --out`)",
            shaping.join(", ")
        ))));
    }
    let saved = read(file)
        .map_err(|err| Opened::Failed(Failure::new(FailureKind::SavedPlan, err.to_string())))?;
    // Another instance is another set of jobs: refused before a single read. (`--instance` is
    // where the plan runs: compared, not refused as a flag, since JOBCTL_INSTANCE may set it.)
    if let Some(given) = reconcile
        .instance
        .name
        .as_ref()
        .filter(|i| **i != saved.options.instance)
    {
        let moved = vec![Moved {
            subject: Subject::Scope,
            name: "instance".into(),
            change: format!("{} -> {given}", saved.options.instance),
        }];
        return Err(Opened::Refused(refusal(file, &saved, moved)));
    }
    let mut settings = saved.options.clone();
    settings.parallelism = usize::from(aws.parallelism);
    settings.fingerprint_account = true;
    let config = RunConfig {
        paths: saved.roots.iter().map(PathBuf::from).collect(),
        settings,
        connection: aws.connection(),
        timeout,
    };
    Ok((saved, config))
}

/// Why `apply FILE` stopped before reading the account.
pub enum Opened {
    Failed(Failure),
    Refused(SavedPlanRefused),
}

fn refusal(file: &Path, saved: &SavedPlan, moved: Vec<Moved>) -> SavedPlanRefused {
    SavedPlanRefused {
        file: file.display().to_string(),
        roots: saved.roots.clone(),
        moved,
    }
}

/// The review of `apply FILE`: the plan made now must be the saved one, request for request, or
/// nothing is applied and the refusal (what moved) is kept for the report. It is carried out
/// without asking (it was reviewed), as `terraform apply PLANFILE` does.
pub struct Check {
    refused: Arc<Mutex<Option<SavedPlanRefused>>>,
}

impl Check {
    pub fn review(file: &Path, saved: SavedPlan, loaded: &Loaded) -> (Self, Review) {
        let created_at = saved.created_at.clone();
        let refused = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&refused);
        let file = file.to_path_buf();
        let roots = roots(&loaded.config.paths);
        let manifests = fingerprint_files(&loaded.read);
        let shown = file.display().to_string();
        let check = Box::new(move |report: &PlanReport, state: &AccountState| {
            let current = Current {
                roots: roots.clone(),
                scope: scope(&report.scope),
                manifests: manifests.clone(),
                account_state: state.clone(),
                requests: saved::requests(&report.plan),
            };
            let moved = saved::moved(&saved, &current);
            if moved.is_empty() {
                return true;
            }
            let mut slot = slot
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *slot = Some(refusal(&file, &saved, moved));
            false
        });
        let review = Review::Saved {
            check,
            file: shown,
            created_at,
        };
        (Self { refused }, review)
    }

    /// What moved, when the check refused the plan.
    pub fn refused(&self) -> Option<SavedPlanRefused> {
        self.refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

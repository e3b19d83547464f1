//! Saved plans on disk: `plan --out FILE` writes one, `apply FILE` reads it, plans again from the
//! file's roots and options with the same reads, and carries the plan out only when nothing
//! moved (the comparison itself is `engine::saved`, pure).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::apply::{self, carry_out};
use super::common::{prepare_config, Prepared, ReconcileArgs, RunConfig};
use super::exit;
use crate::engine::saved::{self, Current, Moved, PlanOptions, SavedPlan, SavedScope, Subject};
use crate::output::Output;
use crate::report::{Failure, FailureKind, SavedPlanRefused, Scope};

/// The saved plan of a prepared run: roots, options, scope, fingerprints and requests.
pub fn build(prepared: &Prepared) -> SavedPlan {
    let report = &prepared.report;
    SavedPlan {
        format: saved::FORMAT.to_string(),
        jobctl_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: now_rfc3339(),
        roots: roots(&prepared.config.paths),
        options: PlanOptions::of(&prepared.config.settings),
        scope: scope(&report.scope),
        manifests: fingerprint_files(&prepared.read),
        account_state: prepared.state.clone(),
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

/// Flags that would make `apply FILE` plan differently from the file: usage errors, as
/// Terraform refuses `-var` with a plan file. (`--instance` is where the plan runs: compared,
/// not refused, since JOBCTL_INSTANCE may set it in CI.)
fn plan_shaping_flags(flags: &ReconcileArgs) -> Vec<&'static str> {
    let given = [
        (flags.adopt, "--adopt"),
        (flags.allow_replace, "--allow-replace"),
        (flags.prune, "--prune"),
        (flags.prune_force, "--prune-force"),
        (flags.prune_delete, "--prune-delete"),
        (flags.allow_empty, "--allow-empty"),
        (flags.max_prune.is_some(), "--max-prune"),
        (!flags.targets.is_empty(), "--target"),
        (flags.compare_finished, "--compare-finished"),
        (flags.health.max_failure_rate != 0.0, "--max-failure-rate"),
    ];
    given
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
}

/// `jobctl apply FILE`.
pub async fn apply(
    args: &apply::Args,
    file: &Path,
    out: &Output,
    started: std::time::Instant,
) -> u8 {
    let usage = |message: String| {
        out.failure(&Failure {
            kind: FailureKind::Config,
            message,
            diagnostics: Vec::new(),
        });
        exit::USAGE
    };
    if file.is_dir() {
        return usage(format!(
            "{} is a directory; to apply manifests use `jobctl apply -f {}` (a path without -f is a plan saved by `jobctl plan --out`)",
            file.display(),
            file.display()
        ));
    }
    let shaping = plan_shaping_flags(&args.reconcile);
    if !shaping.is_empty() {
        return usage(format!(
            "{} cannot be used with a saved plan: its options are the ones it was planned with; plan again with them (`jobctl plan --out`)",
            shaping.join(", ")
        ));
    }
    let saved = match read(file) {
        Ok(saved) => saved,
        Err(err) => {
            out.failure(&Failure {
                kind: FailureKind::SavedPlan,
                message: err.to_string(),
                diagnostics: Vec::new(),
            });
            return exit::ERROR;
        }
    };
    let shown = file.display().to_string();
    let refuse = |moved: Vec<Moved>| {
        let report = SavedPlanRefused {
            file: shown.clone(),
            roots: saved.roots.clone(),
            moved,
        };
        out.saved_plan_refused(&report);
        out.write_files(&args.report.files(), &report);
        exit::ERROR
    };
    // Another instance is another set of jobs: refused before a single read.
    if let Some(instance) = args
        .reconcile
        .instance
        .as_ref()
        .filter(|i| **i != saved.options.instance)
    {
        return refuse(vec![Moved {
            subject: Subject::Scope,
            name: "instance".into(),
            change: format!("{} -> {instance}", saved.options.instance),
        }]);
    }
    let config = RunConfig {
        paths: saved.roots.iter().map(PathBuf::from).collect(),
        settings: saved.options.settings(usize::from(args.aws.parallelism)),
        connection: args.aws.connection(),
        timeout: args.deadline.limit(),
    };
    let prepared = match prepare_config(config, out).await {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let current = Current {
        roots: roots(&prepared.config.paths),
        scope: scope(&prepared.report.scope),
        manifests: fingerprint_files(&prepared.read),
        account_state: prepared.state.clone(),
        requests: saved::requests(&prepared.report.plan),
    };
    let moved = saved::moved(&saved, &current);
    if !moved.is_empty() {
        return refuse(moved);
    }
    // The plan made now is the saved one, request for request: carry it out without asking
    // (it was reviewed), as `terraform apply PLANFILE` does.
    out.saved_plan_matches(&shown, &saved.created_at);
    carry_out(args, prepared, out, started, false).await
}

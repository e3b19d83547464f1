//! Manifests: from `-f` paths to validated desired jobs plus every diagnostic found on the way.
//!
//! Parse, then validate, then hand over: nothing downstream sees a manifest that failed a check,
//! and [`ManifestSet::complete`] tells downstream whether the set it got is the whole truth.

pub mod diagnostic;
pub mod emit;
pub mod export;
pub mod json_document;
pub mod load;
pub mod model;
mod rollout;
pub mod root_config;
pub mod rule;
pub mod salvage;
pub mod schema;
pub mod schema_errors;
pub mod semantic;
pub mod template;
pub mod yaml;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::domain::spec::JobSpec;
use crate::domain::{DesiredJob, DesiredTemplate, Origin};
use diagnostic::{Diagnostic, Omitted, SourceFile};
use load::{FoundFile, ReferenceError};
use model::JobManifest;
use rule::Rule;
use yaml::{Location, Node, YamlErrorKind};

/// The configuration file that may sit at a manifest root; it is not a manifest.
pub const CONFIG_FILE_NAME: &str = "jobctl.yaml";

#[derive(Debug, Default)]
pub struct ManifestSet {
    pub jobs: Vec<DesiredJob>,
    /// The `kind: JobTemplate` manifests, each valid.
    pub templates: Vec<DesiredTemplate>,
    pub diagnostics: Vec<Diagnostic>,
    pub files_read: usize,
    /// False when a file could not be read or any manifest was invalid: the set may then be
    /// missing jobs, and nothing may be concluded from a job's absence (no prune).
    pub complete: bool,
    /// Each `-f` root, and how many manifest files it yielded.
    pub roots: Vec<RootSummary>,
    /// YAML files that were not read because they are hidden or under a hidden directory.
    pub skipped: Vec<PathBuf>,
    /// Every file the load read: manifests, `jobctl.yaml` and document files (a saved plan
    /// fingerprints them).
    pub read: Vec<PathBuf>,
}

/// One `-f` root as the load saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootSummary {
    /// The path as given.
    pub path: PathBuf,
    /// False when the root does not exist or could not be resolved.
    pub exists: bool,
    /// Manifest files read under it (`jobctl.yaml` and document files are not manifests).
    pub manifests: usize,
    /// Of those, the files that hold only `kind: JobTemplate` documents: they declare no job,
    /// so a root of nothing else never prunes jobs (see [`ManifestSet::prune_empty_roots`]).
    pub template_only: usize,
}

impl ManifestSet {
    pub fn error_count(&self) -> usize {
        diagnostic::tally(&self.diagnostics).errors
    }

    pub fn warning_count(&self) -> usize {
        diagnostic::tally(&self.diagnostics).warnings
    }

    /// The roots that exist and yielded no manifest at all. Pruning from such a root would cancel
    /// every job it used to declare, so the engine refuses unless `--allow-empty` is given.
    pub fn empty_roots(&self) -> Vec<String> {
        self.roots
            .iter()
            .filter(|r| r.exists && r.manifests == 0)
            .map(|r| r.path.display().to_string())
            .collect()
    }

    /// The roots prune must not act from without `--allow-empty`: those that yielded no
    /// manifest, and those whose manifests declare only job templates (pruning jobs from them
    /// would cancel every job of the instance).
    pub fn prune_empty_roots(&self) -> Vec<String> {
        self.roots
            .iter()
            .filter(|r| r.exists && r.manifests == r.template_only)
            .map(|r| {
                if r.manifests == 0 {
                    r.path.display().to_string()
                } else {
                    format!("{} (only JobTemplate manifests)", r.path.display())
                }
            })
            .collect()
    }

    /// A note naming the YAML files that were not read, so nobody wonders why a job is missing.
    pub fn skipped_note(&self) -> Option<String> {
        const SHOWN: usize = 5;
        if self.skipped.is_empty() {
            return None;
        }
        let mut names: Vec<String> = self
            .skipped
            .iter()
            .take(SHOWN)
            .map(|p| p.display().to_string())
            .collect();
        if self.skipped.len() > SHOWN {
            names.push(format!("and {} more", self.skipped.len() - SHOWN));
        }
        Some(format!(
            "{} YAML file(s) not read because they are hidden or under a hidden directory: {}",
            self.skipped.len(),
            names.join(", ")
        ))
    }

    /// Why the set may be missing jobs, when it may: then nothing may be concluded from a job's
    /// absence, and prune is off.
    pub fn incomplete_reason(&self) -> Option<String> {
        (!self.complete).then(|| {
            format!(
                "{} manifest problem(s) found; jobctl cannot know what a broken or unreadable file declared",
                self.error_count().max(1)
            )
        })
    }
}

/// Loads, parses and validates every manifest under `paths`.
pub fn load(paths: &[PathBuf]) -> ManifestSet {
    let discovery = load::discover(paths);
    let mut read: Vec<PathBuf> = discovery.files.iter().map(|f| f.path.clone()).collect();
    let found: Vec<FoundFile> = discovery
        .files
        .into_iter()
        .filter(|f| !is_root_config(f))
        .collect();
    let mut set = ManifestSet {
        complete: discovery.errors.is_empty(),
        skipped: discovery.skipped,
        ..ManifestSet::default()
    };
    for error in discovery.errors {
        set.diagnostics.push(load_diagnostic(&error));
    }

    let mut results = process_parallel(&found);
    // A YAML file that a manifest names as its `documentFile` is a job document, not a manifest,
    // even though the directory walk found it too. A file that declares jobs stays a manifest
    // (and the reference is an error): dropping it would make its jobs look removed.
    let manifests: std::collections::HashSet<PathBuf> = results
        .iter()
        .filter(|r| r.declares_jobs)
        .filter_map(|r| r.canonical.clone())
        .collect();
    let mut referenced = std::collections::HashSet::new();
    for result in &mut results {
        for reference in std::mem::take(&mut result.references) {
            if manifests.contains(&reference.target) {
                result.diagnostics.push(
                    Diagnostic::error(
                        Rule::DocumentFileIsAManifest,
                        &reference.file,
                        Some(reference.location),
                        "documentFile names a jobctl manifest, not a job document",
                    )
                    .with_help("point documentFile at the JSON or YAML document the devices should receive"),
                );
                result
                    .jobs
                    .retain(|(job, _, _)| Some(&job.job_id) != reference.job_id.as_ref());
                result
                    .templates
                    .retain(|(t, _, _)| Some(&t.name) != reference.job_id.as_ref());
            } else {
                referenced.insert(reference.target);
            }
        }
    }
    results.retain(|r| r.canonical.as_ref().is_none_or(|p| !referenced.contains(p)));
    read.extend(referenced.iter().cloned());
    set.read = read;
    set.files_read = results.len();
    set.roots = discovery
        .roots
        .into_iter()
        .map(|root| RootSummary {
            exists: root.canonical.is_some(),
            manifests: results
                .iter()
                .filter(|r| Some(&r.root) == root.canonical.as_ref())
                .count(),
            template_only: results
                .iter()
                .filter(|r| Some(&r.root) == root.canonical.as_ref())
                .filter(|r| r.jobs.is_empty() && !r.templates.is_empty())
                .count(),
            path: root.given,
        })
        .collect();
    let mut first_seen: HashMap<String, (Arc<SourceFile>, Location)> = HashMap::new();
    let mut duplicates: HashSet<String> = HashSet::new();
    let mut first_template: HashMap<String, (Arc<SourceFile>, Location)> = HashMap::new();
    let mut duplicate_templates: HashSet<String> = HashSet::new();
    // Sized once: doubling a vector of 10,000 jobs would briefly hold half as much again.
    set.jobs
        .reserve_exact(results.iter().map(|r| r.jobs.len()).sum());
    for result in results {
        for (template, file, location) in result.templates {
            match first_template.get(&template.name) {
                Some((first_file, first_location)) => {
                    set.complete = false;
                    duplicate_templates.insert(template.name.clone());
                    set.diagnostics.push(
                        Diagnostic::error(
                            Rule::SemanticDuplicateTemplate,
                            &with_text(&file),
                            Some(location),
                            format!("job template `{}` is declared twice", template.name),
                        )
                        .with_related("first declared", &with_text(first_file), *first_location)
                        .with_help(
                            "a jobTemplateId names one template per account and region; rename one of them",
                        ),
                    );
                }
                None => {
                    first_template.insert(template.name.clone(), (file, location));
                    set.templates.push(template);
                }
            }
        }
        if result.diagnostics.iter().any(Diagnostic::is_error) {
            set.complete = false;
        }
        set.diagnostics.extend(result.diagnostics);
        for (job, file, location) in result.jobs {
            match first_seen.get(&job.job_id) {
                Some((first_file, first_location)) => {
                    set.complete = false;
                    duplicates.insert(job.job_id.clone());
                    set.diagnostics.push(
                        Diagnostic::error(
                            Rule::SemanticDuplicateJob,
                            &with_text(&file),
                            Some(location),
                            format!("job `{}` is declared twice", job.job_id),
                        )
                        .with_related("first declared", &with_text(first_file), *first_location)
                        .with_help(
                            "a jobId names one job per account and region; rename one of them",
                        ),
                    );
                }
                None => {
                    first_seen.insert(job.job_id.clone(), (file, location));
                    set.jobs.push(job);
                }
            }
        }
    }
    // A duplicate makes both declarations suspect; neither may be applied.
    set.jobs.retain(|j| !duplicates.contains(&j.job_id));
    set.templates
        .retain(|t| !duplicate_templates.contains(&t.name));
    set
}

fn is_root_config(file: &FoundFile) -> bool {
    file.path.file_name().and_then(|n| n.to_str()) == Some(CONFIG_FILE_NAME)
        && std::fs::canonicalize(file.path.parent().unwrap_or(Path::new(".")))
            .is_ok_and(|dir| dir == file.root)
}

fn load_diagnostic(error: &load::LoadError) -> Diagnostic {
    let file = Arc::new(SourceFile {
        display: error.path().display().to_string(),
        text: String::new(),
    });
    let message = error.to_string();
    let message = message
        .strip_prefix(&format!("{}: ", file.display))
        .unwrap_or(&message)
        .to_string();
    let code = match error {
        load::LoadError::SymlinkEscape { .. } => Rule::FileSymlinkEscape,
        load::LoadError::TooLarge { .. } => Rule::FileTooLarge,
        load::LoadError::NotText { .. }
        | load::LoadError::Nul { .. }
        | load::LoadError::ByteOrderMark { .. } => Rule::FileNotText,
        load::LoadError::NotRegular { .. } => Rule::FileNotRegular,
        load::LoadError::Missing { .. }
        | load::LoadError::Io { .. }
        | load::LoadError::TooManyFiles { .. }
        | load::LoadError::NotYaml { .. }
        | load::LoadError::SlowRead { .. } => Rule::FileUnreadable,
    };
    let diag = Diagnostic::error(code, &file, error.location(), message);
    match error.help() {
        Some(help) => diag.with_help(help),
        None => diag,
    }
}

struct Reference {
    /// The job whose `documentFile` this is.
    job_id: Option<String>,
    target: PathBuf,
    file: Arc<SourceFile>,
    location: Location,
}

struct FileResult {
    canonical: Option<PathBuf>,
    /// The canonical root the file was found under.
    root: PathBuf,
    /// True when any YAML document in the file has `apiVersion` or `kind`: it is meant as a
    /// manifest, whatever else is wrong with it.
    declares_jobs: bool,
    /// The document files this file's manifests reference.
    references: Vec<Reference>,
    diagnostics: Vec<Diagnostic>,
    jobs: Vec<(DesiredJob, Arc<SourceFile>, Location)>,
    templates: Vec<(DesiredTemplate, Arc<SourceFile>, Location)>,
}

/// Files are independent until the duplicate check, so they are checked on every core.
fn process_parallel(files: &[FoundFile]) -> Vec<FileResult> {
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(files.len().max(1));
    if workers <= 1 {
        return files.iter().map(process_file).collect();
    }
    let chunk = files.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                (
                    part,
                    scope.spawn(move || part.iter().map(process_file).collect::<Vec<_>>()),
                )
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|(part, handle)| match handle.join() {
                Ok(results) => results,
                // A bug while checking must not make these files' jobs look removed: each file
                // gets an error, which also turns prune off.
                Err(_) => part.iter().map(internal_error).collect(),
            })
            .collect()
    })
}

fn internal_error(found: &FoundFile) -> FileResult {
    let file = Arc::new(SourceFile {
        display: found.path.display().to_string(),
        text: String::new(),
    });
    FileResult {
        canonical: None,
        root: found.root.clone(),
        declares_jobs: true,
        references: Vec::new(),
        diagnostics: vec![Diagnostic::error(
            Rule::FileInternalError,
            &file,
            None,
            "jobctl failed internally while checking this file",
        )
        .with_help("please report this with the file attached")],
        jobs: Vec::new(),
        templates: Vec::new(),
    }
}

fn process_file(found: &FoundFile) -> FileResult {
    let mut result = FileResult {
        canonical: std::fs::canonicalize(&found.path).ok(),
        root: found.root.clone(),
        declares_jobs: false,
        references: Vec::new(),
        diagnostics: Vec::new(),
        jobs: Vec::new(),
        templates: Vec::new(),
    };
    let text = match load::read_text(&found.path) {
        Ok(t) => t,
        Err(error) => {
            result.diagnostics.push(load_diagnostic(&error));
            return result;
        }
    };
    let file = Arc::new(SourceFile {
        display: found.path.display().to_string(),
        text,
    });
    let documents = match yaml::parse_documents(&file.text) {
        Ok(d) => d,
        Err(error) => {
            result.diagnostics.push(yaml_diagnostic(&file, &error));
            return result;
        }
    };
    // A document with nothing in it (a trailing `---`) is no manifest; an explicit `null` is a
    // manifest that is not a map, and an error below.
    let documents: Vec<_> = documents.into_iter().filter(|d| !d.is_empty()).collect();
    if documents.is_empty() {
        result.diagnostics.push(
            Diagnostic::error(
                Rule::ManifestEmpty,
                &file,
                None,
                "the file holds no manifest",
            )
            .with_help("add a Job manifest (see examples/), or delete the file"),
        );
        return result;
    }
    // Top to bottom within the file; diagnostics in referenced document files follow.
    let order = |d: &Diagnostic| {
        (
            !Arc::ptr_eq(&d.file, &file),
            d.location.map_or(0, |l| l.offset),
        )
    };
    let mut omitted = Omitted::default();
    for document in &documents {
        if result.diagnostics.len() >= 2 * diagnostic::MAX_PER_FILE {
            diagnostic::cap(&mut result.diagnostics, &mut omitted, order);
        }
        if document.root.pointer("/apiVersion").is_some()
            || document.root.pointer("/kind").is_some()
        {
            result.declares_jobs = true;
        }
        let reference = document
            .root
            .pointer("/spec/documentFile")
            .or_else(|| document.root.pointer("/spec/job/documentFile"));
        if let Some(node) = reference {
            if let Some(reference) = node.to_json().as_str() {
                if let Ok(target) = load::resolve_reference(&found.path, &found.root, reference) {
                    result.references.push(Reference {
                        job_id: document
                            .root
                            .pointer("/metadata/name")
                            .and_then(|n| n.to_json().as_str().map(String::from)),
                        target,
                        file: Arc::clone(&file),
                        location: node.location,
                    });
                }
            }
        }
        let location = document
            .root
            .pointer("/metadata/name")
            .map_or(document.root.location, |n| n.location);
        if is_template(&document.root) {
            if let Some(t) =
                template::check_document(&document.root, &file, found, &mut result.diagnostics)
            {
                result.templates.push((t, Arc::clone(&file), location));
            }
        } else if let Some(job) =
            check_document(&document.root, &file, found, &mut result.diagnostics)
        {
            result.jobs.push((job, Arc::clone(&file), location));
        }
    }
    // A file usually declares one job, and `push` reserves room for four: at 10,000 files the
    // spare slots of these per-file vectors were the loader's largest allocation (~20 MiB).
    result.jobs.shrink_to_fit();
    result.templates.shrink_to_fit();
    result.diagnostics.sort_by_key(order);
    diagnostic::cap(&mut result.diagnostics, &mut omitted, order);
    if omitted != Omitted::default() {
        result
            .diagnostics
            .push(diagnostic::omitted_notice(&file, omitted));
    }
    // Only a duplicate declaration, which the whole set must be seen to tell, would quote a file
    // without diagnostics or references. Its text (7 MiB at 10,000 files, held until that check)
    // goes now; a duplicate's diagnostic reads it again (`with_text`).
    if result.diagnostics.is_empty() && result.references.is_empty() {
        let slim = Arc::new(SourceFile {
            display: file.display.clone(),
            text: String::new(),
        });
        for (_, source, _) in &mut result.jobs {
            *source = Arc::clone(&slim);
        }
        for (_, source, _) in &mut result.templates {
            *source = Arc::clone(&slim);
        }
    }
    result
}

/// A file whose text was let go after checking (see `process_file`), read again to be quoted.
/// A file that can no longer be read keeps its positions without the quote.
fn with_text(file: &Arc<SourceFile>) -> Arc<SourceFile> {
    if !file.text.is_empty() {
        return Arc::clone(file);
    }
    match load::read_text(Path::new(&file.display)) {
        Ok(text) => Arc::new(SourceFile {
            display: file.display.clone(),
            text,
        }),
        Err(_) => Arc::clone(file),
    }
}

/// The manifest of `kind` from a document that passed its schema; a mismatch the schema let
/// through is reported at the document (`None`).
fn parse_manifest<T: serde::de::DeserializeOwned>(
    instance: Value,
    kind: &str,
    root: &Node,
    file: &Arc<SourceFile>,
    out: &mut Vec<Diagnostic>,
) -> Option<T> {
    match serde_json::from_value(instance) {
        Ok(m) => Some(m),
        Err(err) => {
            out.push(Diagnostic::error(
                Rule::ManifestInvalid,
                file,
                Some(root.location),
                format!("the manifest does not match the {kind} format: {err}"),
            ));
            None
        }
    }
}

/// A `kind: JobTemplate` document, checked against the template schema instead of the Job one.
fn is_template(root: &Node) -> bool {
    root.pointer("/kind")
        .is_some_and(|k| k.to_json().as_str() == Some(model::TEMPLATE_KIND))
}

fn yaml_diagnostic(file: &Arc<SourceFile>, error: &yaml::YamlError) -> Diagnostic {
    let code = match error.kind {
        YamlErrorKind::Syntax => Rule::YamlSyntax,
        YamlErrorKind::DuplicateKey => Rule::YamlDuplicateKey,
        YamlErrorKind::AliasExpansion => Rule::YamlAliasExpansion,
        YamlErrorKind::Depth => Rule::YamlDepth,
        YamlErrorKind::Tag => Rule::YamlTag,
        YamlErrorKind::TooManyNodes => Rule::YamlTooManyNodes,
        YamlErrorKind::MergeKey => Rule::YamlMergeKey,
    };
    let mut diag = Diagnostic::error(code, file, Some(error.location), &error.message);
    if let Some(help) = &error.help {
        diag = diag.with_help(help.clone());
    }
    if let Some(related) = &error.related {
        diag = diag.with_related(related.0.clone(), file, related.1);
    }
    diag
}

/// Validates one YAML document; returns the job when it has no errors.
fn check_document(
    root: &Node,
    file: &Arc<SourceFile>,
    found: &FoundFile,
    out: &mut Vec<Diagnostic>,
) -> Option<DesiredJob> {
    let instance = root.to_json();
    if !instance.is_object() {
        let found = match &instance {
            Value::Null => "null",
            Value::Array(_) => "a list",
            Value::String(_) => "a string",
            Value::Number(_) => "a number",
            Value::Bool(_) => "a boolean",
            Value::Object(_) => "a map",
        };
        out.push(
            Diagnostic::error(
                Rule::ManifestNotAMap,
                file,
                Some(root.location),
                format!("a manifest must be a YAML map, found {found}"),
            )
            .with_help("start with `apiVersion: jobctl/v1` and `kind: Job`"),
        );
        return None;
    }
    let kind = schema::SchemaKind::of(&instance);
    let schema_errors = schema_errors::check(root, &instance, file);
    let wrong_kind = schema_errors
        .iter()
        .any(|d| matches!(d.code, Rule::ManifestKind | Rule::ManifestApiVersion));
    let has_errors = !schema_errors.is_empty();
    // `kind: job` is still meant as a jobctl/v1 Job: all its problems are worth reporting.
    // Another kind, or another format version, would make its field errors noise.
    let meant_as_job = instance
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.eq_ignore_ascii_case(model::KIND))
        && !schema_errors
            .iter()
            .any(|d| d.code == Rule::ManifestApiVersion);
    if wrong_kind && !meant_as_job {
        out.extend(schema_errors.into_iter().filter(|d| {
            d.code.is_envelope()
                || d.code == Rule::SchemaMissingField && d.location == Some(root.location)
        }));
        return None;
    }
    out.extend(schema_errors);
    if kind == schema::SchemaKind::Rollout {
        if has_errors {
            // The document's own warnings do not depend on the rest of the manifest being valid.
            if let Some(document) = root.pointer("/spec/job/document") {
                semantic::faithfulness_warnings(document, file, out);
            }
            return None;
        }
        return rollout::check(root, instance, file, found, out);
    }
    // With schema errors, the semantic checks still run on the fields that passed, as far as
    // what is left deserializes; the job is never returned.
    let checked = if has_errors {
        salvage::without_invalid_fields(&instance)
    } else {
        Some(instance)
    };
    let parsed = checked.map(serde_json::from_value::<JobManifest>);
    let manifest: JobManifest = match parsed {
        Some(Ok(m)) => m,
        Some(Err(_)) | None if has_errors => {
            // The document's own warnings do not depend on the rest of the manifest.
            if let Some(document) = root.pointer("/spec/document") {
                semantic::faithfulness_warnings(document, file, out);
            }
            return None;
        }
        Some(Err(err)) => {
            out.push(Diagnostic::error(
                Rule::ManifestInvalid,
                file,
                Some(root.location),
                format!("the manifest does not match the Job format: {err}"),
            ));
            return None;
        }
        None => return None,
    };
    let spec = check_spec(manifest.spec, root, file, found, has_errors, out)?;
    let name_location = root
        .pointer("/metadata/name")
        .map_or(root.location, |n| n.location);
    Some(DesiredJob {
        job_id: manifest.metadata.name,
        max_failure_rate: manifest.metadata.max_failure_rate,
        spec: Box::new(spec),
        rollout: None,
        origin: Origin {
            file: file.display.clone(),
            line: name_location.line,
            col: name_location.col,
        },
        key_origins: key_origins(root, file),
    })
}

/// Where the spec keys that errors found after loading point at are written.
pub(crate) fn key_origins(
    root: &Node,
    file: &SourceFile,
) -> std::collections::BTreeMap<&'static str, Origin> {
    ["jobTemplate", "jobTemplateArn", "documentParameters"]
        .into_iter()
        .filter_map(|key| {
            let at = root.key_at(&format!("/spec/{key}"))?.location;
            Some((
                key,
                Origin {
                    file: file.display.clone(),
                    line: at.line,
                    col: at.col,
                },
            ))
        })
        .collect()
}

/// The semantic checks and the document of a spec: the spec with its document resolved, or
/// `None` when this added an error. `root` is the manifest (or, for a Rollout, a view of it in
/// which `/spec` is the rollout's job). `salvaged`: the spec is what was left of one with schema
/// errors; its checks still report, except those a missing field sets off, and it is never
/// returned.
fn check_spec(
    spec: JobSpec,
    root: &Node,
    file: &Arc<SourceFile>,
    found: &FoundFile,
    salvaged: bool,
    out: &mut Vec<Diagnostic>,
) -> Option<JobSpec> {
    let salvaged_from = out.len();
    let before = out.iter().filter(|d| d.is_error()).count();
    let mut spec = spec;
    let mut ctx = semantic::Context {
        root,
        file,
        out: &mut *out,
    };
    semantic::check(&spec, &mut ctx);
    if let Some((document, sent)) = resolve_document(&spec, found, &mut ctx) {
        spec.document = Some(document);
        spec.document_text = sent;
        spec.document_file = None;
    }
    if salvaged {
        let mut index = 0;
        out.retain(|d| {
            index += 1;
            index <= salvaged_from || !salvage::absence_rule(d.code)
        });
        return None;
    }
    let after = out.iter().filter(|d| d.is_error()).count();
    if after > before {
        return None;
    }
    Some(spec)
}

/// Checks the document a spec declares (inline, or read from `documentFile`). For a
/// `documentFile`, returns the document read, which replaces the reference, and the text to send:
/// a JSON file is sent as written (its bytes, as `aws iot create-job --document file://` does); a
/// YAML one has no JSON text of its own and is sent compact (`None`).
fn resolve_document(
    spec: &crate::domain::spec::JobSpec,
    found: &FoundFile,
    ctx: &mut semantic::Context<'_>,
) -> Option<(Value, Option<String>)> {
    if let Some(reference) = &spec.document_file {
        let (document, doc_file, doc_node) = read_document_file(reference, found, ctx)?;
        let sent = doc_node.is_none().then(|| doc_file.text.clone());
        semantic::check_document(
            spec,
            &document,
            doc_node.as_ref(),
            &doc_file,
            "/spec/documentFile",
            sent.as_deref(),
            ctx,
        );
        return Some((document, sent));
    }
    if let Some(document) = &spec.document {
        let node = ctx.root.pointer("/spec/document");
        semantic::check_document(spec, document, node, ctx.file, "/spec/document", None, ctx);
    }
    None
}

/// Reads and parses a `documentFile`. Returns the document, the file it came from (for
/// diagnostics inside it) and, for YAML, its node tree (for the faithfulness warnings).
fn read_document_file(
    reference: &str,
    found: &FoundFile,
    ctx: &mut semantic::Context<'_>,
) -> Option<(Value, Arc<SourceFile>, Option<Node>)> {
    let pointer = "/spec/documentFile";
    let location = ctx.root.pointer(pointer).map(|n| n.location);
    let fail = |ctx: &mut semantic::Context<'_>, code: Rule, message: String, help: &str| {
        ctx.out
            .push(Diagnostic::error(code, ctx.file, location, message).with_help(help.to_string()));
        None
    };
    let path = match load::resolve_reference(&found.path, &found.root, reference) {
        Ok(p) => p,
        Err(ReferenceError::Escapes) => {
            return fail(
                ctx,
                Rule::DocumentFileEscapesRoot,
                format!("documentFile `{reference}` points outside the manifest root"),
                "document files must live inside the directory given to -f; `..` and absolute paths may not leave it",
            )
        }
        Err(ReferenceError::SymlinkEscapes) => {
            return fail(
                ctx,
                Rule::DocumentFileSymlinkEscape,
                format!("documentFile `{reference}` is a symlink to a file outside the manifest root"),
                "copy the document into the repository instead of linking to it",
            )
        }
        Err(ReferenceError::Missing) => {
            return fail(
                ctx,
                Rule::DocumentFileMissing,
                format!("documentFile `{reference}` does not exist"),
                "the path is relative to the manifest file",
            )
        }
    };
    let is_json = path.extension().and_then(|e| e.to_str()) == Some("json");
    // A JSON file's bytes are what is sent, so it is read as it is (a BOM is refused, not
    // dropped); a YAML one is sent as compact JSON.
    let read = if is_json {
        load::read_json_text(&path)
    } else {
        load::read_text(&path)
    };
    let text = match read {
        Ok(t) => t,
        Err(err) => {
            let message = format!("documentFile `{reference}` cannot be used: {err}");
            return fail(
                ctx,
                Rule::DocumentFileUnreadable,
                message,
                err.help().unwrap_or("check the file"),
            );
        }
    };
    let display = Path::new(&ctx.file.display)
        .parent()
        .map_or_else(|| PathBuf::from(reference), |p| p.join(reference))
        .display()
        .to_string();
    let doc_file = Arc::new(SourceFile { display, text });
    let (value, node) = if is_json {
        match serde_json::from_str::<Value>(&doc_file.text) {
            Ok(v) => {
                json_document_diagnostics(&doc_file, ctx, location);
                (v, None)
            }
            Err(err) => {
                let loc = line_col_location(&doc_file.text, err.line(), err.column());
                ctx.out.push(
                    Diagnostic::error(
                        Rule::DocumentFileInvalidJson,
                        &doc_file,
                        Some(loc),
                        format!("the job document is not valid JSON: {err}"),
                    )
                    .with_related(
                        "referenced",
                        ctx.file,
                        location.unwrap_or_default(),
                    ),
                );
                return None;
            }
        }
    } else {
        match yaml::parse_documents(&doc_file.text) {
            Ok(mut docs) if docs.len() == 1 => {
                let root = docs.remove(0).root;
                (root.to_json(), Some(root))
            }
            Ok(docs) => {
                return fail(
                    ctx,
                    Rule::DocumentFileNotOneDocument,
                    format!(
                        "documentFile `{reference}` holds {} YAML documents; it must hold one",
                        docs.len()
                    ),
                    "remove the extra `---` sections",
                )
            }
            Err(error) => {
                ctx.out
                    .push(yaml_diagnostic(&doc_file, &error).with_related(
                        "referenced",
                        ctx.file,
                        location.unwrap_or_default(),
                    ));
                return None;
            }
        }
    };
    if !value.is_object() {
        return fail(
            ctx,
            Rule::DocumentFileNotAMap,
            format!("the job document in `{reference}` must be a JSON object"),
            "devices expect a JSON object such as {\"operation\": \"update\"}",
        );
    }
    Some((value, doc_file, node))
}

/// Duplicate keys and numbers parsers disagree on, in a JSON document file that parsed.
fn json_document_diagnostics(
    doc_file: &Arc<SourceFile>,
    ctx: &mut semantic::Context<'_>,
    referenced: Option<Location>,
) {
    use json_document::Finding;
    for finding in json_document::scan(&doc_file.text) {
        let integer = matches!(finding, Finding::UnsafeInteger { .. });
        let diag = match finding {
            Finding::DuplicateKey { key, at, first } => Diagnostic::error(
                Rule::DocumentFileDuplicateKey,
                doc_file,
                Some(at),
                format!("key `{key}` appears twice in this object"),
            )
            .with_related("first here", doc_file, first)
            .with_help("JSON parsers keep the first, keep the last or refuse; remove one of them"),
            Finding::UnsafeInteger {
                text,
                as_double,
                at,
            }
            | Finding::Imprecise {
                text,
                as_double,
                at,
            } => {
                let (message, help) = if integer {
                    (
                        format!(
                            "integer {text} is beyond ±{}: parsers that read numbers as doubles (JavaScript, many device SDKs) get {as_double}",
                            json_document::MAX_SAFE_INTEGER
                        ),
                        format!("write it as a string (\"{text}\") if devices need every digit"),
                    )
                } else {
                    (
                        format!("{text} has more digits than a double keeps: most parsers get {as_double}, others keep every digit"),
                        format!("write {as_double}, or a string (\"{text}\") if devices need every digit"),
                    )
                };
                Diagnostic::error(
                    Rule::DocumentFileAmbiguousNumber,
                    doc_file,
                    Some(at),
                    message,
                )
                .with_help(help)
            }
            Finding::TrailingZeros { text, read_as, at } => Diagnostic::warning(
                Rule::DocumentFileTrailingZeros,
                doc_file,
                Some(at),
                format!("`{text}` is a number: devices' JSON parsers read it as {read_as}"),
            )
            .with_label("the device's code sees this value")
            .with_help(format!(
                "write \"{text}\" (a string) if the text is what devices should see"
            )),
        };
        ctx.out
            .push(diag.with_related("referenced", ctx.file, referenced.unwrap_or_default()));
    }
}

fn line_col_location(text: &str, line: usize, col: usize) -> Location {
    let offset: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum::<usize>()
        + col.saturating_sub(1);
    Location {
        offset: offset.min(text.len()),
        len: 1,
        line: line.max(1),
        col: col.max(1),
    }
}

//! `jobctl export`: which jobs, reading them (and their templates) through [`JobsApi`], and
//! writing the manifests. Turning one job into a manifest is `manifest::export`, pure.
//!
//! Calls per run: one ListJobs per 250 jobs in the account (none when job ids are given), then
//! per exported job one DescribeJob, one GetJobDocument (none for a `documentSource` job) and
//! one ListTagsForResource, plus one DescribeJobTemplate or DescribeManagedJobTemplate per
//! distinct template. They run `parallelism` at a time, paced per operation by the client's
//! rate limiter, as plan's reads are.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use futures::stream::{self, StreamExt};
use serde::Serialize;

use super::refresh::JobError;
use crate::aws::{self, ApiError, JobsApi};
use crate::domain::{JobTemplateDescription, RemoteJob, ResourceId};
use crate::manifest::export::{self as convert, Exported, Options, Source, Template};

/// Which jobs to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// These ids, whatever their status; an id that does not exist is an error.
    Ids(Vec<String>),
    /// Every listed job in one of these statuses.
    Statuses(BTreeSet<String>),
}

/// The statuses `--all` exports: jobs that are still running or waiting to. Finished ones need
/// `--status` or their ids, since applying them never runs them again.
pub const ACTIVE: [&str; 2] = ["IN_PROGRESS", "SCHEDULED"];

#[derive(Debug, Clone)]
pub struct ExportSettings {
    pub selection: Selection,
    pub options: Options,
    /// Concurrent AWS calls at most.
    pub parallelism: usize,
}

/// What was read and converted.
#[derive(Debug, Clone, Default)]
pub struct Exports {
    pub jobs: Vec<Exported>,
    pub errors: Vec<JobError>,
    /// Finished jobs that `--all` left out, by status.
    pub finished_left_out: BTreeMap<String, usize>,
}

/// Reads and converts the selected jobs. A failure belongs to its job; the others go on.
pub async fn export(api: &dyn JobsApi, settings: &ExportSettings) -> Exports {
    let parallelism = settings.parallelism.max(1);
    let mut out = Exports::default();
    let (ids, explicit) = match &settings.selection {
        Selection::Ids(ids) => {
            let mut seen = BTreeSet::new();
            let ids: Vec<String> = ids
                .iter()
                .filter(|id| seen.insert(id.as_str()))
                .cloned()
                .collect();
            (ids, true)
        }
        Selection::Statuses(statuses) => match api.list_jobs().await {
            Ok(listed) => {
                let mut ids = Vec::new();
                for job in listed {
                    if statuses.contains(job.status.as_str()) {
                        ids.push(job.job_id);
                    } else if job.status.is_finished() {
                        *out.finished_left_out
                            .entry(job.status.to_string())
                            .or_default() += 1;
                    }
                }
                ids.sort();
                (ids, false)
            }
            Err(err) => {
                out.errors
                    .push(api_error("*", "could not list the account's jobs", &err));
                return out;
            }
        },
    };

    type Read = Result<Option<(RemoteJob, Option<String>)>, ApiError>;
    let reads: Vec<(String, Read)> = stream::iter(ids)
        .map(|id| async move {
            let read = aws::read_job_verbatim(api, &id).await;
            (id, read)
        })
        .buffer_unordered(parallelism)
        .collect()
        .await;
    let mut read = Vec::new();
    for (id, result) in reads {
        match result {
            Ok(Some(job)) => read.push(job),
            Ok(None) if explicit => out.errors.push(JobError {
                message: format!("job `{id}` does not exist in this account and region"),
                resource: ResourceId::job(id),
                source: None,
                operation: Some("DescribeJob"),
                code: Some("ResourceNotFoundException".into()),
            }),
            // Deleted between ListJobs and DescribeJob: nothing to export.
            Ok(None) => {}
            Err(err) => out
                .errors
                .push(api_error(&id, "could not read the job", &err)),
        }
    }

    let arns: BTreeSet<String> = read
        .iter()
        .filter_map(|(job, _)| job.spec.job_template_arn.clone())
        .collect();
    type TemplateRead = Result<Option<JobTemplateDescription>, ApiError>;
    let templates: HashMap<String, TemplateRead> = stream::iter(arns)
        .map(|arn| async move {
            let result = api.describe_job_template(&arn).await;
            (arn, result)
        })
        .buffer_unordered(parallelism)
        .collect()
        .await;

    for (job, text) in &read {
        let unavailable;
        let template = match job.spec.job_template_arn.as_ref().map(|a| templates.get(a)) {
            None => Template::None,
            Some(Some(Ok(Some(t)))) => Template::Read(t),
            Some(Some(Ok(None))) => {
                unavailable = "the template no longer exists".to_string();
                Template::Unavailable(&unavailable)
            }
            Some(Some(Err(err))) => {
                unavailable = err.to_string();
                Template::Unavailable(&unavailable)
            }
            Some(None) => Template::Unavailable("the template was not read"),
        };
        let source = Source {
            job,
            document_text: text.as_deref(),
            template,
        };
        match convert::export(source, &settings.options) {
            Ok(exported) => out.jobs.push(exported),
            Err(err) => out.errors.push(JobError {
                resource: ResourceId::job(job.job_id.clone()),
                source: None,
                message: err.to_string(),
                operation: None,
                code: None,
            }),
        }
    }
    out.jobs.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    out.errors.sort_by(|a, b| a.resource.cmp(&b.resource));
    out
}

fn api_error(job_id: &str, what: &str, err: &ApiError) -> JobError {
    JobError {
        resource: ResourceId::job(job_id.to_string()),
        source: None,
        message: format!("{what}: {err}"),
        operation: Some(err.operation),
        code: Some(err.code.clone()),
    }
}

/// The manifests as one multi-document YAML stream, documents inline.
pub fn stream(jobs: &[Exported]) -> String {
    let mut text = String::new();
    for (i, job) in jobs.iter().enumerate() {
        if i > 0 {
            text.push_str("---\n");
        }
        text.push_str(&job.manifest);
    }
    text
}

/// A file export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WrittenFile {
    pub job_id: String,
    pub path: PathBuf,
    pub kind: FileKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Manifest,
    Document,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Files that exist already; nothing was written.
    #[error("{} file(s) exist already; nothing was written (pass --force to overwrite them)", .0.len())]
    Conflicts(Vec<PathBuf>),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Writes each job's manifest and document file into `dir` (created if missing). Without
/// `force`, any file that exists already stops the whole write before anything is written, and
/// every such file is named.
pub fn write(dir: &Path, jobs: &[Exported], force: bool) -> Result<Vec<WrittenFile>, WriteError> {
    let mut files = Vec::new();
    for job in jobs {
        files.push((
            WrittenFile {
                job_id: job.job_id.clone(),
                path: dir.join(&job.file_name),
                kind: FileKind::Manifest,
            },
            job.manifest.as_str(),
        ));
        if let Some(document) = &job.document {
            files.push((
                WrittenFile {
                    job_id: job.job_id.clone(),
                    path: dir.join(&document.file_name),
                    kind: FileKind::Document,
                },
                document.text.as_str(),
            ));
        }
    }
    if !force {
        let conflicts: Vec<PathBuf> = files
            .iter()
            .filter(|(f, _)| f.path.symlink_metadata().is_ok())
            .map(|(f, _)| f.path.clone())
            .collect();
        if !conflicts.is_empty() {
            return Err(WriteError::Conflicts(conflicts));
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| WriteError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for (file, text) in &files {
        write_file(&file.path, text).map_err(|source| WriteError::Io {
            path: file.path.clone(),
            source,
        })?;
    }
    Ok(files.into_iter().map(|(f, _)| f).collect())
}

/// Writes through a temporary file and a rename, so a file is never left half written, and an
/// existing symlink is replaced rather than followed out of the directory.
fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = path.with_file_name(format!(".{name}.jobctl-tmp"));
    let result = std::fs::File::create(&temp)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&temp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::fake::FakeJobs;
    use crate::domain::spec::{JobSpec, TagValue};
    use crate::domain::JobStatus;
    use crate::manifest::export::Documents;
    use serde_json::json;

    fn spec(value: serde_json::Value) -> JobSpec {
        serde_json::from_value(value).expect("spec")
    }

    fn settings(selection: Selection) -> ExportSettings {
        ExportSettings {
            selection,
            options: Options {
                schema: "schemas/job.schema.json".into(),
                documents: Documents::Files,
            },
            parallelism: 4,
        }
    }

    fn account() -> FakeJobs {
        let api = FakeJobs::new();
        let target = json!(["arn:aws:iot:us-east-1:123456789012:thinggroup/Fleet"]);
        for (id, status) in [
            ("a", JobStatus::InProgress),
            ("b", JobStatus::Scheduled),
            ("c", JobStatus::Completed),
            ("d", JobStatus::Canceled),
            ("e", JobStatus::DeletionInProgress),
        ] {
            let mut s = spec(json!({"targets": target, "document": {"id": id}}));
            s.tags
                .insert("jobctl:managed-by".into(), TagValue("jobctl".into()));
            api.insert_job(id, status, s);
        }
        api
    }

    fn ids(exports: &Exports) -> Vec<&str> {
        exports.jobs.iter().map(|j| j.job_id.as_str()).collect()
    }

    #[tokio::test]
    async fn all_exports_active_jobs_and_counts_the_finished_it_left_out() {
        let api = account();
        let active = ACTIVE.iter().map(|s| (*s).to_string()).collect();
        let exports = export(&api, &settings(Selection::Statuses(active))).await;
        assert_eq!(ids(&exports), vec!["a", "b"]);
        assert!(exports.errors.is_empty(), "{:?}", exports.errors);
        assert_eq!(
            exports.finished_left_out,
            BTreeMap::from([("CANCELED".to_string(), 1), ("COMPLETED".to_string(), 1)])
        );
        let calls = api.calls();
        let count = |op: &str| calls.iter().filter(|c| c.starts_with(op)).count();
        assert_eq!(count("ListJobs"), 1);
        assert_eq!(count("DescribeJob "), 2, "{calls:?}");
        assert_eq!(count("GetJobDocument"), 2);
        assert_eq!(count("ListTagsForResource"), 2);
        assert_eq!(
            calls.len(),
            7,
            "nothing is read for jobs left out: {calls:?}"
        );
    }

    #[tokio::test]
    async fn status_and_ids_select_finished_jobs_and_unknown_ids_are_named() {
        let api = account();
        let completed = BTreeSet::from(["COMPLETED".to_string()]);
        let exports = export(&api, &settings(Selection::Statuses(completed))).await;
        assert_eq!(ids(&exports), vec!["c"]);

        let wanted = vec!["d".to_string(), "nope".to_string(), "d".to_string()];
        let exports = export(&api, &settings(Selection::Ids(wanted))).await;
        assert_eq!(ids(&exports), vec!["d"]);
        assert_eq!(exports.errors.len(), 1);
        assert_eq!(exports.errors[0].resource.name, "nope");
        assert!(exports.errors[0]
            .message
            .contains("job `nope` does not exist"));
        let listings = api
            .calls()
            .iter()
            .filter(|c| c.starts_with("ListJobs"))
            .count();
        assert_eq!(listings, 1, "ids need no listing");
    }

    #[tokio::test]
    async fn a_read_failure_fails_only_its_job() {
        let api = account();
        api.fail_once("GetJobDocument", "a", "InvalidRequestException");
        let wanted = vec!["a".to_string(), "b".to_string()];
        let exports = export(&api, &settings(Selection::Ids(wanted))).await;
        assert_eq!(ids(&exports), vec!["b"]);
        assert_eq!(exports.errors[0].resource.name, "a");
        assert_eq!(exports.errors[0].operation, Some("GetJobDocument"));
    }

    #[tokio::test]
    async fn each_template_is_read_once() {
        let api = FakeJobs::new();
        let arn = "arn:aws:iot:us-east-1:123456789012:jobtemplate/fw";
        for id in ["x", "y"] {
            let mut s = spec(json!({
                "targets": ["arn:aws:iot:us-east-1:123456789012:thing/a"],
                "document": {"op": "fw"},
                "description": "from template",
            }));
            s.job_template_arn = Some(arn.into());
            api.insert_job(id, JobStatus::InProgress, s);
        }
        api.insert_template(JobTemplateDescription {
            template_arn: arn.into(),
            managed: false,
            spec: spec(
                json!({"targets": [], "description": "from template", "document": {"op": "fw"}}),
            ),
            document_text: Some(json!({"op": "fw"}).to_string()),
            parameters: Vec::new(),
        });
        let all = ACTIVE.iter().map(|s| (*s).to_string()).collect();
        let exports = export(&api, &settings(Selection::Statuses(all))).await;
        assert_eq!(ids(&exports), vec!["x", "y"]);
        for job in &exports.jobs {
            assert_eq!(job.inherited, vec!["description", "document"]);
        }
        let reads = api
            .calls()
            .iter()
            .filter(|c| c.starts_with("DescribeJobTemplate"))
            .count();
        assert_eq!(reads, 1);
    }

    fn exported(id: &str) -> Exported {
        let job = RemoteJob {
            job_id: id.into(),
            job_arn: format!("arn:aws:iot:us-east-1:123456789012:job/{id}"),
            status: JobStatus::InProgress,
            spec: spec(json!({"targets": ["arn:aws:iot:us-east-1:123456789012:thing/a"]})),
            progress: Default::default(),
        };
        convert::export(
            Source {
                job: &job,
                document_text: Some("{\"a\": 1}"),
                template: Template::None,
            },
            &settings(Selection::Ids(vec![])).options,
        )
        .expect("export")
    }

    #[test]
    fn existing_files_stop_the_whole_write_unless_forced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("exported");
        let jobs = vec![exported("a"), exported("b")];
        let written = write(&out, &jobs, false).expect("first write");
        assert_eq!(written.len(), 4);
        assert_eq!(
            std::fs::read_to_string(out.join("a.json")).expect("doc"),
            "{\"a\": 1}"
        );

        std::fs::remove_file(out.join("a.yaml")).expect("rm");
        std::fs::write(out.join("b.json"), "mine").expect("edit");
        match write(&out, &jobs, false) {
            Err(WriteError::Conflicts(paths)) => assert_eq!(
                paths,
                vec![out.join("a.json"), out.join("b.yaml"), out.join("b.json")]
            ),
            other => panic!("expected conflicts, got {other:?}"),
        }
        assert!(!out.join("a.yaml").exists(), "nothing was written");
        assert_eq!(
            std::fs::read_to_string(out.join("b.json")).expect("b"),
            "mine"
        );

        write(&out, &jobs, true).expect("forced");
        assert_eq!(
            std::fs::read_to_string(out.join("b.json")).expect("b"),
            "{\"a\": 1}"
        );
        let leftovers: Vec<_> = std::fs::read_dir(&out)
            .expect("dir")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains("jobctl-tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn the_stream_separates_documents() {
        let text = stream(&[exported("a"), exported("b")]);
        let docs = crate::manifest::yaml::parse_documents(&text).expect("yaml");
        assert_eq!(docs.len(), 2);
    }
}

//! `kind: JobTemplate` manifests: the schema check, the rules JSON Schema cannot say, and the
//! resolved template handed downstream. Jobs and templates share the document and config rules.

use std::sync::Arc;

use super::diagnostic::{Diagnostic, SourceFile};
use super::load::FoundFile;
use super::model::JobTemplateManifest;
use super::rule::Rule;
use super::schema::SchemaKind;
use super::yaml::Node;
use super::{schema_errors, semantic};
use crate::domain::{DesiredTemplate, JobTemplateSpec, Origin};

/// Validates one `kind: JobTemplate` document; returns the template when it has no errors.
pub(super) fn check_document(
    root: &Node,
    file: &Arc<SourceFile>,
    found: &FoundFile,
    out: &mut Vec<Diagnostic>,
) -> Option<DesiredTemplate> {
    let instance = root.to_json();
    let schema_errors = schema_errors::check_kind(root, &instance, file, SchemaKind::JobTemplate);
    if !schema_errors.is_empty() {
        out.extend(schema_errors);
        if let Some(document) = root.pointer("/spec/document") {
            semantic::faithfulness_warnings(document, file, out);
        }
        return None;
    }
    let manifest: JobTemplateManifest = match serde_json::from_value(instance) {
        Ok(m) => m,
        Err(err) => {
            out.push(Diagnostic::error(
                Rule::ManifestInvalid,
                file,
                Some(root.location),
                format!("the manifest does not match the JobTemplate format: {err}"),
            ));
            return None;
        }
    };
    let before = out.iter().filter(|d| d.is_error()).count();
    let mut spec = manifest.spec;
    let mut ctx = semantic::Context {
        root,
        file,
        out: &mut *out,
    };
    check_spec(&spec, &mut ctx);
    if let Some((document, sent)) = super::resolve_document(&spec.as_job_spec(), found, &mut ctx) {
        spec.document = Some(document);
        spec.document_text = sent;
        spec.document_file = None;
    }
    let after = out.iter().filter(|d| d.is_error()).count();
    if after > before {
        return None;
    }
    let name_location = root
        .pointer("/metadata/name")
        .map_or(root.location, |n| n.location);
    Some(DesiredTemplate {
        name: manifest.metadata.name,
        spec,
        origin: Origin {
            file: file.display.clone(),
            line: name_location.line,
            col: name_location.col,
        },
    })
}

fn check_spec(spec: &JobTemplateSpec, ctx: &mut semantic::Context<'_>) {
    let given: Vec<&str> = [
        ("document", spec.document.is_some()),
        ("documentFile", spec.document_file.is_some()),
        ("documentSource", spec.document_source.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, present)| present.then_some(name))
    .collect();
    match given.as_slice() {
        [] => {
            let location = ctx.root.key_at("/spec").map(|k| k.location);
            ctx.out.push(
                Diagnostic::error(
                    Rule::SemanticDocumentMissing,
                    ctx.file,
                    location.or(Some(ctx.root.location)),
                    "the job template has no document",
                )
                .with_help("add one of `document` (inline), `documentFile` or `documentSource`"),
            );
        }
        [_] => {}
        [first, second, ..] => {
            let location = ctx
                .root
                .key_at(&format!("/spec/{second}"))
                .map(|k| k.location);
            ctx.out.push(
                Diagnostic::error(
                    Rule::SemanticDocumentConflict,
                    ctx.file,
                    location,
                    format!("the job template has both `{first}` and `{second}`"),
                )
                .with_label("second document source")
                .with_help("keep exactly one of `document`, `documentFile` and `documentSource`"),
            );
        }
    }
    // Rollout, abort and tags sit at the same pointers in a Job and a JobTemplate.
    let job_spec = spec.as_job_spec();
    semantic::check_decimals(&job_spec, ctx);
    semantic::check_tags(&job_spec, ctx);
    for (i, window) in spec.maintenance_windows.iter().enumerate() {
        if !semantic::is_cron_expression(&window.start_time) {
            let pointer = format!("/spec/maintenanceWindows/{i}/startTime");
            let location = ctx.root.pointer(&pointer).map(|n| n.location);
            ctx.out.push(
                Diagnostic::error(
                    Rule::SemanticCron,
                    ctx.file,
                    location,
                    format!("`{}` is not a cron expression", window.start_time),
                )
                .with_help("use the six-field AWS form, e.g. `cron(0 2 ? * SAT *)`"),
            );
        }
    }
}

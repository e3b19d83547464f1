//! What a job template hands down to the jobs created from it, in job-spec terms.

use super::spec::JobSpec;

/// A job template as DescribeJobTemplate (the account's own) or DescribeManagedJobTemplate
/// (AWS-managed) reports it. A job created from it inherits every value here that its own
/// CreateJob left out.
#[derive(Debug, Clone, PartialEq)]
pub struct JobTemplateDescription {
    pub template_arn: String,
    /// True for an AWS-managed template (`arn:aws:iot:REGION::jobtemplate/NAME:VERSION`).
    pub managed: bool,
    /// The template's values: `targets` is empty, maintenance windows sit in
    /// `schedulingConfig`, and the document is parsed as a job's is (JSON when it is JSON).
    pub spec: JobSpec,
    /// The document text exactly as the template stores it.
    pub document_text: Option<String>,
}

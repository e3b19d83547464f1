//! `jobctl schema`: print a manifest JSON Schema (the same text as schemas/job.schema.json, or
//! schemas/job-template.schema.json with `--kind JobTemplate`, or schemas/rollout.schema.json with
//! `--kind Rollout`).

use super::exit;
use crate::manifest::schema::{text_of, SchemaKind};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The manifest kind whose schema to print.
    #[arg(long, value_enum, default_value = "Job")]
    pub kind: KindArg,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum KindArg {
    #[value(name = "Job", alias = "job")]
    Job,
    #[value(name = "JobTemplate", alias = "jobtemplate")]
    JobTemplate,
    #[value(name = "Rollout", alias = "rollout")]
    Rollout,
}

pub fn run(args: &Args) -> u8 {
    let kind = match args.kind {
        KindArg::Job => SchemaKind::Job,
        KindArg::JobTemplate => SchemaKind::JobTemplate,
        KindArg::Rollout => SchemaKind::Rollout,
    };
    print!("{}", text_of(kind));
    exit::OK
}

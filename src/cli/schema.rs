//! `jobctl schema`: print a manifest JSON Schema (the same text as schemas/job.schema.json, or
//! schemas/rollout.schema.json with `--kind Rollout`).

use super::exit;
use crate::manifest::schema::{schema_text_of, Kind};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum KindArg {
    #[value(name = "Job", alias = "job")]
    Job,
    #[value(name = "Rollout", alias = "rollout")]
    Rollout,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which kind of manifest's schema to print.
    #[arg(long, value_enum, default_value = "Job")]
    pub kind: KindArg,
}

pub fn run(args: &Args) -> u8 {
    let kind = match args.kind {
        KindArg::Job => Kind::Job,
        KindArg::Rollout => Kind::Rollout,
    };
    print!("{}", schema_text_of(kind));
    exit::OK
}

//! `jobctl schema`: print the manifest JSON Schema (the same text as schemas/job.schema.json).

use super::exit;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: &Args) -> u8 {
    print!("{}", crate::manifest::schema::schema_text());
    exit::OK
}

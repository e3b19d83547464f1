//! `jobctl validate`: every manifest problem, offline, with file:line:col and a hint.

use super::args::{ManifestArgs, OutputArgs, ReportArgs};
use super::exit;
use crate::manifest;
use crate::output::style::Colors;
use crate::output::Output;
use crate::report::ValidateReport;

#[derive(Debug, clap::Args)]
#[command(mut_arg("paths", |a| a.required(true)))]
pub struct Args {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

pub fn run(args: Args, colors: Colors) -> u8 {
    let out = Output::new(args.output.format(), colors);
    let set = manifest::load(&args.manifests.paths);
    let report = ValidateReport::new(args.manifests.paths, set);
    out.validate(&report);
    if !out.write_files(&args.report.files(), &report) {
        return exit::ERROR;
    }
    if report.errors() > 0 {
        exit::ERROR
    } else {
        exit::OK
    }
}

//! `jobctl validate`: every manifest problem, offline, with file:line:col and a hint.

use super::common::{ManifestArgs, ReportArgs};
use super::exit;
use crate::manifest;
use crate::output::style::Colors;
use crate::output::{Format, Output};
use crate::report::ValidateReport;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// Output format [default: github when GITHUB_ACTIONS=true, else text].
    #[arg(short, long, value_enum)]
    pub output: Option<Format>,
    #[command(flatten)]
    pub report: ReportArgs,
}

pub fn run(args: Args, colors: Colors) -> u8 {
    let out = Output::new(Format::resolve(args.output), colors);
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

//! `jobctl validate`: every manifest problem, offline, with file:line:col and a hint.

use super::common::{ManifestArgs, OutputFormat};
use super::{exit, Colors};
use crate::manifest;
use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

pub fn run(args: Args, colors: Colors) -> u8 {
    let set = manifest::load(&args.manifests.paths);
    let errors = set.error_count();
    match args.output {
        OutputFormat::Json => {
            let report = serde_json::json!({
                "version": 1,
                "valid": errors == 0,
                "files": set.files_read,
                "jobs": set.jobs.len(),
                "errors": errors,
                "warnings": set.warning_count(),
                "diagnostics": output::diagnostics_json(&set.diagnostics),
            });
            println!("{report}");
        }
        OutputFormat::Text => {
            print!(
                "{}",
                output::diagnostics_text(&set.diagnostics, colors.stdout)
            );
            let files = set.files_read;
            let noun = if files == 1 { "file" } else { "files" };
            if errors == 0 {
                println!(
                    "{} valid job{} in {files} {noun}{}",
                    set.jobs.len(),
                    if set.jobs.len() == 1 { "" } else { "s" },
                    match set.warning_count() {
                        0 => String::new(),
                        n => format!(", {n} warning{}", if n == 1 { "" } else { "s" }),
                    }
                );
            } else {
                println!(
                    "{errors} error{}, {} warning{} in {files} {noun}",
                    if errors == 1 { "" } else { "s" },
                    set.warning_count(),
                    if set.warning_count() == 1 { "" } else { "s" }
                );
            }
        }
    }
    if errors > 0 {
        exit::ERROR
    } else {
        exit::OK
    }
}

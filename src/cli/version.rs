//! `jobctl version`: the version, git commit, build date and target, as text or JSON (like
//! `terraform version`). `jobctl --version` prints the same text.

use super::exit;

/// The version text, also `jobctl --version`'s.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ncommit  ",
    env!("JOBCTL_GIT_COMMIT"),
    "\nbuilt   ",
    env!("JOBCTL_BUILD_DATE"),
    "\ntarget  ",
    env!("JOBCTL_TARGET")
);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = VersionFormat::Text)]
    pub output: VersionFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VersionFormat {
    Text,
    Json,
}

/// `jobctl version -o json`.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionJson {
    pub version: &'static str,
    pub commit: &'static str,
    pub build_date: &'static str,
    pub target: &'static str,
}

pub const VERSION: VersionJson = VersionJson {
    version: env!("CARGO_PKG_VERSION"),
    commit: env!("JOBCTL_GIT_COMMIT"),
    build_date: env!("JOBCTL_BUILD_DATE"),
    target: env!("JOBCTL_TARGET"),
};

pub fn run(args: &Args) -> u8 {
    match args.output {
        VersionFormat::Text => println!("jobctl {LONG_VERSION}"),
        VersionFormat::Json => print!("{}", crate::output::json::line(&VERSION)),
    }
    exit::OK
}

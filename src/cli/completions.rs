//! `jobctl completions SHELL` and `jobctl man`: shell completions (clap_complete) and man pages
//! (clap_mangen), generated at run time from the same clap definition the parser uses, so they
//! cannot drift from the flags, and a binary installed with `cargo install` has them too.

use std::io::Write;
use std::path::PathBuf;

use clap::CommandFactory;

use super::{exit, Cli};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to write completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn run(args: &Args) -> u8 {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "jobctl", &mut out);
    write_stdout(&out)
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write jobctl.1 and one page per subcommand (jobctl-plan.1, …) into this directory,
    /// instead of printing jobctl.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn run_man(args: &ManArgs) -> u8 {
    let command = Cli::command();
    match &args.dir {
        Some(dir) => match clap_mangen::generate_to(command, dir) {
            Ok(()) => exit::OK,
            Err(err) => {
                eprintln!("jobctl: cannot write man pages to {}: {err}", dir.display());
                exit::ERROR
            }
        },
        None => {
            let mut out = Vec::new();
            match clap_mangen::Man::new(command).render(&mut out) {
                Ok(()) => write_stdout(&out),
                Err(err) => {
                    eprintln!("jobctl: cannot render the man page: {err}");
                    exit::ERROR
                }
            }
        }
    }
}

/// Writes generated text; a closed pipe (`jobctl man | head`) is not an error worth a panic.
fn write_stdout(bytes: &[u8]) -> u8 {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => exit::OK,
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
        Err(err) => {
            eprintln!("jobctl: {err}");
            exit::ERROR
        }
    }
}

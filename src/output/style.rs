//! The one styling layer. Whether a stream gets colour is decided once, by anstream, from
//! `--color`, `NO_COLOR`, `CLICOLOR`, `CLICOLOR_FORCE`, `TERM` and whether the stream is a
//! terminal; every renderer paints with the anstyle palette below, through [`Paint`].

use anstream::ColorChoice;
use anstyle::{AnsiColor, Style};

/// Something added: `+`, created jobs.
pub const ADDED: Style = AnsiColor::Green.on_default();
/// Something removed in a diff.
pub const REMOVED: Style = AnsiColor::Red.on_default();
/// Something changed in place, or worth a second look.
pub const CHANGED: Style = AnsiColor::Yellow.on_default();
/// Destructive or blocked: replacements, cancellations, errors.
pub const DANGER: Style = AnsiColor::Red.on_default().bold();
pub const STRONG: Style = Style::new().bold();
pub const FAINT: Style = Style::new().dimmed();
/// Diagnostics, compiler style.
pub const ERROR: Style = AnsiColor::Red.on_default().bold();
pub const WARNING: Style = AnsiColor::Yellow.on_default().bold();
pub const HELP: Style = AnsiColor::Cyan.on_default().bold();
pub const GUTTER: Style = AnsiColor::Blue.on_default().bold();

/// Which standard streams get colour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Colors {
    pub stdout: bool,
    pub stderr: bool,
}

impl Colors {
    /// Decides for both streams. `Auto` follows the environment (`NO_COLOR`, `CLICOLOR`,
    /// `CLICOLOR_FORCE`, `TERM=dumb`) and the terminal; `Always` and `Never` override it.
    pub fn resolve(choice: ColorChoice) -> Self {
        choice.write_global();
        let on = |choice: ColorChoice| choice != ColorChoice::Never;
        Self {
            stdout: on(anstream::AutoStream::choice(&std::io::stdout())),
            stderr: on(anstream::AutoStream::choice(&std::io::stderr())),
        }
    }
}

/// Paints text with a style when colour is on for the stream it goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paint {
    on: bool,
}

impl Paint {
    /// No colour, whatever the terminal: for logs, files and GitHub.
    pub const PLAIN: Self = Self { on: false };

    pub fn new(on: bool) -> Self {
        Self { on }
    }

    pub fn paint(self, style: Style, text: &str) -> String {
        if self.on {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }
}

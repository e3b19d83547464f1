//! Manifest diagnostics: one problem in one file, with its span, a hint, and the [`Rule`] it
//! breaks. Plain data; `output` renders them (compiler style on a terminal, annotations on
//! GitHub, rows in Markdown, objects in JSON).

use std::fmt;
use std::sync::Arc;

use super::rule::Rule;
use super::yaml::Location;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A file that diagnostics point into, shared by all of its diagnostics.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user should see it (relative to where jobctl was run when possible).
    pub display: String,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Related {
    pub message: String,
    pub file: Arc<SourceFile>,
    pub location: Location,
}

/// The most diagnostics reported for one file. Past it, one more diagnostic says how many were
/// left out: a file of 50,000 broken documents must not produce 200,000 messages (and hundreds
/// of megabytes of output), and the first hundred always show the pattern.
pub const MAX_PER_FILE: usize = 100;

/// Problems left out of a report, counted so that totals stay true.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Omitted {
    pub errors: usize,
    pub warnings: usize,
}

#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The rule broken; its code (`schema/unknown-field`) is stable, for docs and tests.
    pub code: Rule,
    pub message: String,
    pub file: Arc<SourceFile>,
    /// `None` when the problem concerns the file as a whole (unreadable, too large).
    pub location: Option<Location>,
    pub label: Option<String>,
    pub help: Option<String>,
    pub related: Vec<Related>,
    /// Set only on the diagnostic that stands for problems left out past [`MAX_PER_FILE`].
    pub omitted: Option<Omitted>,
}

impl Diagnostic {
    pub fn error(
        code: Rule,
        file: &Arc<SourceFile>,
        location: Option<Location>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            file: Arc::clone(file),
            location,
            label: None,
            help: None,
            related: Vec::new(),
            omitted: None,
        }
    }

    pub fn warning(
        code: Rule,
        file: &Arc<SourceFile>,
        location: Option<Location>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, file, location, message)
        }
    }

    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    #[must_use]
    pub fn with_related(
        mut self,
        message: impl Into<String>,
        file: &Arc<SourceFile>,
        location: Location,
    ) -> Self {
        self.related.push(Related {
            message: message.into(),
            file: Arc::clone(file),
            location,
        });
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The errors and warnings this diagnostic stands for: itself, or the problems it says were
    /// left out.
    pub fn counts(&self) -> Omitted {
        match self.omitted {
            Some(omitted) => omitted,
            None if self.is_error() => Omitted {
                errors: 1,
                warnings: 0,
            },
            None => Omitted {
                errors: 0,
                warnings: 1,
            },
        }
    }

    /// `path:line:col`, or just the path for whole-file problems.
    pub fn position(&self) -> String {
        match self.location {
            Some(loc) => format!("{}:{}:{}", self.file.display, loc.line, loc.col),
            None => self.file.display.clone(),
        }
    }
}

/// Errors and warnings in `diagnostics`, those left out past the per-file cap included.
pub fn tally(diagnostics: &[Diagnostic]) -> Omitted {
    diagnostics.iter().fold(Omitted::default(), |sum, d| {
        let c = d.counts();
        Omitted {
            errors: sum.errors + c.errors,
            warnings: sum.warnings + c.warnings,
        }
    })
}

/// Keeps the first [`MAX_PER_FILE`] of one file's diagnostics, in the order `key` gives, and
/// folds the rest into `omitted`. Applied as diagnostics accumulate, so memory stays bounded
/// however many a file produces; keeping the first N of the first N plus more is the same as
/// keeping the first N of all, so the result does not depend on when it runs.
pub fn cap<K: Ord>(
    diagnostics: &mut Vec<Diagnostic>,
    omitted: &mut Omitted,
    key: impl Fn(&Diagnostic) -> K,
) {
    if diagnostics.len() <= MAX_PER_FILE {
        return;
    }
    diagnostics.sort_by_key(|d| key(d));
    for dropped in diagnostics.drain(MAX_PER_FILE..) {
        let c = dropped.counts();
        omitted.errors += c.errors;
        omitted.warnings += c.warnings;
    }
}

/// The diagnostic that says how many problems of `file` were left out.
pub fn omitted_notice(file: &Arc<SourceFile>, omitted: Omitted) -> Diagnostic {
    let total = omitted.errors + omitted.warnings;
    let mut diag = Diagnostic::error(
        Rule::FileTooManyProblems,
        file,
        None,
        format!(
            "and {total} more problem{} in this file ({} error{}, {} warning{}); only the first {MAX_PER_FILE} are shown",
            if total == 1 { "" } else { "s" },
            omitted.errors,
            if omitted.errors == 1 { "" } else { "s" },
            omitted.warnings,
            if omitted.warnings == 1 { "" } else { "s" },
        ),
    )
    .with_help("fix the problems shown and run again; problems that many usually share one cause");
    if omitted.errors == 0 {
        diag.severity = Severity::Warning;
    }
    diag.omitted = Some(omitted);
    diag
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            sanitize(&self.position()),
            sanitize(&self.message)
        )
    }
}

/// Messages quote manifest text (keys, values, paths); control characters in it must not reach
/// a terminal, where escape sequences could rewrite what a reviewer sees.
pub fn sanitize(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(char::is_control) {
        std::borrow::Cow::Owned(
            text.chars()
                .map(|c| {
                    if c.is_control() {
                        c.escape_default().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
        )
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

impl std::error::Error for Diagnostic {}

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

    /// `path:line:col`, or just the path for whole-file problems.
    pub fn position(&self) -> String {
        match self.location {
            Some(loc) => format!("{}:{}:{}", self.file.display, loc.line, loc.col),
            None => self.file.display.clone(),
        }
    }
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

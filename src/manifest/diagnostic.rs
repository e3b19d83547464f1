//! Manifest diagnostics: one problem in one file, with its span, a hint, and a stable rule code.
//!
//! jobctl renders them itself in the compiler style users know (`path:line:col: error: …`
//! followed by a snippet): the output must be stable for snapshots and CI logs, whatever the
//! terminal width.

use std::fmt;
use std::sync::Arc;

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
    /// A stable identifier of the rule, such as `schema/unknown-field`, for docs and tests.
    pub code: &'static str,
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
        code: &'static str,
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
        code: &'static str,
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

    /// Renders the diagnostic: a header line, a source snippet with a caret line, then notes.
    pub fn render(&self, color: bool) -> String {
        let paint = Paint { color };
        let mut out = String::new();
        let (kind, kind_color) = match self.severity {
            Severity::Error => ("error", RED),
            Severity::Warning => ("warning", YELLOW),
        };
        out.push_str(&format!(
            "{}: {}: {}\n",
            paint.bold(&sanitize(&self.position())),
            paint.wrap(kind, kind_color),
            sanitize(&self.message)
        ));
        if let Some(loc) = self.location {
            render_snippet(
                &mut out,
                &self.file.text,
                loc,
                self.label.as_deref(),
                &paint,
                kind_color,
            );
        }
        for related in &self.related {
            out.push_str(&format!(
                "  = note: {} at {}:{}:{}\n",
                related.message,
                sanitize(&related.file.display),
                related.location.line,
                related.location.col
            ));
        }
        if let Some(help) = &self.help {
            out.push_str(&format!(
                "  = {}: {}\n",
                paint.wrap("help", CYAN),
                sanitize(help)
            ));
        }
        out
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

const RED: &str = "31";
const YELLOW: &str = "33";
const CYAN: &str = "36";
const BLUE: &str = "34";

struct Paint {
    color: bool,
}

impl Paint {
    fn wrap(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[1;{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn bold(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Width of the longest line shown; longer lines are cut so that a minified file cannot flood
/// the terminal.
const MAX_SNIPPET_WIDTH: usize = 160;

fn render_snippet(
    out: &mut String,
    text: &str,
    loc: Location,
    label: Option<&str>,
    paint: &Paint,
    caret_color: &str,
) {
    let Some(line_text) = text.lines().nth(loc.line.saturating_sub(1)) else {
        return;
    };
    let line_no = loc.line.to_string();
    let gutter = " ".repeat(line_no.len());
    let shown: String = line_text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_SNIPPET_WIDTH)
        .collect();
    let truncated = line_text.chars().count() > MAX_SNIPPET_WIDTH;
    let bar = paint.wrap("|", BLUE);
    out.push_str(&format!(" {gutter} {bar}\n"));
    out.push_str(&format!(
        " {} {bar} {}{}\n",
        paint.wrap(&line_no, BLUE),
        shown,
        if truncated { " …" } else { "" }
    ));
    let start_col = loc.col.saturating_sub(1).min(MAX_SNIPPET_WIDTH);
    // The caret covers the span on its first line only; multi-line spans (maps, lists) are
    // marked by their first line, which is where the user has to look.
    let span_text = text.get(loc.offset..loc.offset + loc.len).unwrap_or("");
    let first_line_len = span_text.lines().next().map_or(0, |l| l.chars().count());
    let width = first_line_len
        .max(1)
        .min(MAX_SNIPPET_WIDTH.saturating_sub(start_col).max(1));
    let carets = paint.wrap(&"^".repeat(width), caret_color);
    let label = label.map(|l| format!(" {l}")).unwrap_or_default();
    out.push_str(&format!(
        " {gutter} {bar} {}{carets}{label}\n",
        " ".repeat(start_col)
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let file = Arc::new(SourceFile {
            display: "a.yaml".into(),
            text: "k: v\n".into(),
        });
        let diag = Diagnostic::error("t", &file, None, "unknown field `\u{1b}]0;pwned\u{7}`");
        let rendered = diag.render(false);
        assert!(
            !rendered.contains('\u{1b}') && !rendered.contains('\u{7}'),
            "{rendered:?}"
        );
        assert!(rendered.contains("\\u{1b}"), "{rendered}");
        assert!(!diag.to_string().contains('\u{1b}'));
    }
}

//! A JSON `documentFile` as the devices' parsers will read it: duplicate keys, and numbers that
//! JSON parsers disagree on, each at its line:col in the file.
//!
//! Hand-written because serde_json (which has already checked the syntax by the time this runs)
//! keeps neither positions, nor repeated keys, nor a number's text, and the YAML parser stops at
//! the first problem where a user wants them all.

use super::yaml::Location;

/// The largest integer every JSON parser reads exactly: JavaScript's `Number.MAX_SAFE_INTEGER`,
/// 2^53 - 1. Beyond it, parsers that read numbers as doubles round and others do not.
pub const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// A key repeated in one object: parsers keep the first, the last, or refuse.
    DuplicateKey {
        key: String,
        at: Location,
        first: Location,
    },
    /// An integer beyond ±(2^53 - 1); `as_double` is what a double-based parser reads.
    UnsafeInteger {
        text: String,
        as_double: String,
        at: Location,
    },
    /// A number with more significant digits than a double keeps.
    Imprecise {
        text: String,
        as_double: String,
        at: Location,
    },
    /// A decimal with trailing zeros (`1.10`): every parser reads the shorter number, so a
    /// version written this way reaches the device's code as `1.1` (a warning).
    TrailingZeros {
        text: String,
        read_as: String,
        at: Location,
    },
}

/// Scans a text serde_json accepted. On text it did not accept, the result is meaningless but
/// the scan still ends without panicking.
pub fn scan(text: &str) -> Vec<Finding> {
    let mut scanner = Scanner {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        out: Vec::new(),
    };
    scanner.value(0);
    scanner.out
}

/// serde_json refuses nesting deeper than 128; this bound only keeps the scan's stack safe.
const MAX_DEPTH: usize = 256;

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    out: Vec<Finding>,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) {
        self.skip_ws();
        if depth > MAX_DEPTH {
            self.pos = self.bytes.len();
            return;
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => {
                self.string();
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => {
                while self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
                    self.pos += 1;
                }
            }
            None => {}
        }
    }

    fn object(&mut self, depth: usize) {
        self.pos += 1;
        let mut seen: Vec<(String, Location)> = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    return;
                }
                Some(b',') => {
                    self.pos += 1;
                    continue;
                }
                Some(b'"') => {}
                _ => {
                    self.pos = self.bytes.len();
                    return;
                }
            }
            let (start, end) = self.string();
            let raw = &self.text[start..end];
            // Keys are compared as parsers see them: `"a"` and `"\u0061"` are the same key.
            let key = serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_string());
            let at = location(self.text, start, end - start);
            match seen.iter().find(|(k, _)| *k == key) {
                Some((_, first)) => self.out.push(Finding::DuplicateKey {
                    key,
                    at,
                    first: *first,
                }),
                None => seen.push((key, at)),
            }
            self.skip_ws();
            if self.peek() == Some(b':') {
                self.pos += 1;
            }
            self.value(depth + 1);
        }
    }

    fn array(&mut self, depth: usize) {
        self.pos += 1;
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b']') => {
                    self.pos += 1;
                    return;
                }
                Some(b',') => self.pos += 1,
                None => return,
                Some(_) => {
                    let before = self.pos;
                    self.value(depth + 1);
                    if self.pos == before {
                        self.pos = self.bytes.len();
                    }
                }
            }
        }
    }

    /// Skips a string; returns its byte range, quotes included.
    fn string(&mut self) -> (usize, usize) {
        let start = self.pos;
        self.pos += 1;
        while let Some(b) = self.peek() {
            match b {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    break;
                }
                _ => self.pos += 1,
            }
        }
        self.pos = self.pos.min(self.bytes.len());
        (start, self.pos)
    }

    fn number(&mut self) {
        let start = self.pos;
        while matches!(
            self.peek(),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.pos += 1;
        }
        let text = &self.text[start..self.pos];
        let at = location(self.text, start, self.pos - start);
        if let Some(finding) = judge_number(text, at) {
            self.out.push(finding);
        }
    }
}

/// What a double-based parser makes of `text`, in the form serde_json (and so jobctl) prints.
fn as_double(value: f64) -> String {
    serde_json::Number::from_f64(value).map_or_else(|| value.to_string(), |n| n.to_string())
}

fn judge_number(text: &str, at: Location) -> Option<Finding> {
    let value: f64 = text.parse().ok().filter(|v: &f64| v.is_finite())?;
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    if !text.contains(['.', 'e', 'E']) {
        let safe = unsigned.parse::<u64>().is_ok_and(|n| n <= MAX_SAFE_INTEGER);
        return (!safe).then(|| Finding::UnsafeInteger {
            text: text.to_string(),
            as_double: as_double(value),
            at,
        });
    }
    // Rust prints a double's shortest round-trip digits: if they differ from the text's
    // significant digits, the double lost some.
    if significant(text) != significant(&format!("{value:e}")) {
        return Some(Finding::Imprecise {
            text: text.to_string(),
            as_double: as_double(value),
            at,
        });
    }
    let read_as = as_double(value);
    let trailing_zero = !text.contains(['e', 'E']) && text.ends_with('0');
    (trailing_zero && read_as != text).then(|| Finding::TrailingZeros {
        text: text.to_string(),
        read_as,
        at,
    })
}

/// A decimal's significant digits and the position of its point: `0.0120` and `1.2e-2` both
/// give ("12", -1). `None` when the exponent does not fit.
fn significant(text: &str) -> Option<(bool, String, i64)> {
    let negative = text.starts_with('-');
    let unsigned = text.trim_start_matches(['-', '+']);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], unsigned[i + 1..].parse::<i64>().ok()?),
        None => (unsigned, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    let leading = digits.len() - digits.trim_start_matches('0').len();
    let digits = digits
        .trim_start_matches('0')
        .trim_end_matches('0')
        .to_string();
    if digits.is_empty() {
        return Some((false, String::new(), 0));
    }
    let point = i64::try_from(int.len()).ok()? + exponent - i64::try_from(leading).ok()?;
    Some((negative, digits, point))
}

/// Line and column (characters, as the YAML positions count them) of a byte offset.
pub fn location(text: &str, offset: usize, len: usize) -> Location {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Location {
        offset,
        len,
        line: before.matches('\n').count() + 1,
        col: before[line_start..].chars().count() + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<String> {
        scan(text)
            .into_iter()
            .map(|f| match f {
                Finding::DuplicateKey { key, at, first } => {
                    format!(
                        "dup {key} {}:{} first {}:{}",
                        at.line, at.col, first.line, first.col
                    )
                }
                Finding::UnsafeInteger {
                    text,
                    as_double,
                    at,
                } => {
                    format!("int {text}->{as_double} {}:{}", at.line, at.col)
                }
                Finding::Imprecise {
                    text,
                    as_double,
                    at,
                } => {
                    format!("imprecise {text}->{as_double} {}:{}", at.line, at.col)
                }
                Finding::TrailingZeros { text, read_as, at } => {
                    format!("zeros {text}->{read_as} {}:{}", at.line, at.col)
                }
            })
            .collect()
    }

    #[test]
    fn the_issue_example_gives_every_problem_at_its_place() {
        let text = "{\"serial\": 123456789012345678901234567890,\n \"pi\": 3.14159265358979323846,\n \"dup\": 1, \"dup\": 2, \"ratio\": 1.10}";
        assert_eq!(
            kinds(text),
            [
                "int 123456789012345678901234567890->1.2345678901234568e+29 1:12",
                "imprecise 3.14159265358979323846->3.141592653589793 2:8",
                "dup dup 3:12 first 3:2",
                "zeros 1.10->1.1 3:31",
            ]
        );
    }

    #[test]
    fn numbers_every_parser_reads_alike_pass() {
        for ok in [
            "0",
            "-0",
            "9007199254740991",
            "-9007199254740991",
            "0.1",
            "1.0",
            "1.5e3",
            "1E-7",
            "3.141592653589793",
            "100",
            "0.0",
            "2.5",
        ] {
            assert_eq!(kinds(&format!("[{ok}]")), Vec::<String>::new(), "{ok}");
        }
        assert_eq!(kinds("[9007199254740992]").len(), 1);
        assert_eq!(kinds("[-9007199254740992]").len(), 1);
        assert_eq!(kinds("[0.10000000000000000001]").len(), 1);
    }

    #[test]
    fn keys_compare_as_parsed_and_per_object() {
        assert_eq!(
            kinds(r#"{"a": {"b": 1}, "c": {"b": 2}}"#),
            Vec::<String>::new()
        );
        assert_eq!(kinds(r#"{"a": 1, "\u0061": 2}"#).len(), 1);
        assert_eq!(kinds(r#"[{"k": "\"}", "k": 1}]"#).len(), 1);
    }

    #[test]
    fn columns_count_characters() {
        let found = kinds("{\"é\": 1, \"é\": 2}");
        assert_eq!(found, ["dup é 1:10 first 1:2"]);
    }
}

//! Bounded YAML reading: turns manifest text into a tree of nodes that remember where they came from.
//!
//! jobctl does not use a serde YAML deserializer directly, because every later check (JSON Schema,
//! semantic rules) needs the line and column of any node, including nodes inside `document`. The
//! event parser of `saphyr-parser` gives spans for every event, so the tree is built here, with the
//! limits that keep hostile input cheap: input size, nesting depth, and the number of nodes that
//! anchors and aliases may expand to (the "billion laughs" bound). Scalars resolve with the
//! YAML 1.2 core schema, the same one the JSON Schema describes.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// The deepest nesting a manifest may use. Real manifests stay under 12 levels; the bound only
/// exists so that a hostile file cannot make later recursive passes expensive.
pub const MAX_DEPTH: usize = 64;

/// The most nodes one file may hold, the copies aliases make included. Every scalar, list and map
/// is a node; so is every `---` document, even an empty one.
pub const MAX_NODES: usize = 200_000;

/// The most bytes of scalar text aliases may copy in one file. Counting nodes alone would let
/// one large anchored string, aliased many times, expand to gigabytes.
pub const MAX_ALIAS_BYTES: usize = 4 * 1024 * 1024;

/// Where a node sits in its file: a byte range plus the 1-based line and column of its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    pub offset: usize,
    pub len: usize,
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Scalar {
        value: Scalar,
        /// The source text when the scalar was written plain (unquoted), so that a surprising
        /// resolution such as `1.10` → `1.1` can be pointed out.
        plain: Option<String>,
    },
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub location: Location,
}

/// One `---` document of a file.
#[derive(Debug, Clone)]
pub struct Document {
    pub root: Node,
    pub location: Location,
}

impl Document {
    /// True when nothing at all is written in the document (a trailing `---`, or `---` twice).
    /// An explicit `null`, `~` or `!!null ""` is written, so it is not empty.
    pub fn is_empty(&self) -> bool {
        matches!(
            &self.root.kind,
            NodeKind::Scalar { value: Scalar::Null, plain: Some(text) } if text.is_empty()
        )
    }
}

/// What went wrong, as far as the rule a diagnostic reports goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YamlErrorKind {
    /// The text is not YAML, or uses YAML that has no JSON meaning (complex keys, numbers JSON
    /// cannot carry, aliases to nothing).
    Syntax,
    DuplicateKey,
    /// Anchors and aliases expand past [`MAX_NODES`] or [`MAX_ALIAS_BYTES`].
    AliasExpansion,
    /// The text itself holds more than [`MAX_NODES`] nodes, no alias involved.
    TooManyNodes,
    /// A YAML 1.1 merge key (`<<`), which YAML 1.2 and JSON do not have.
    MergeKey,
    /// Nesting deeper than [`MAX_DEPTH`].
    Depth,
    /// A tag outside the core schema, or a malformed one.
    Tag,
}

#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub kind: YamlErrorKind,
    pub message: String,
    pub location: Location,
    pub help: Option<String>,
    /// A second place worth showing, such as the first occurrence of a duplicate key.
    pub related: Option<Box<(String, Location)>>,
}

impl YamlError {
    fn new(kind: YamlErrorKind, message: impl Into<String>, location: Location) -> Self {
        Self {
            kind,
            message: message.into(),
            location,
            help: None,
            related: None,
        }
    }

    fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Maps the parser's character indices to byte offsets, which is what diagnostics need.
struct Offsets<'a> {
    text: &'a str,
    ascii: bool,
    char_starts: Vec<usize>,
}

impl<'a> Offsets<'a> {
    fn new(text: &'a str) -> Self {
        let ascii = text.is_ascii();
        let char_starts = if ascii {
            Vec::new()
        } else {
            text.char_indices().map(|(i, _)| i).collect()
        };
        Self {
            text,
            ascii,
            char_starts,
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        if self.ascii {
            char_index.min(self.text.len())
        } else {
            self.char_starts
                .get(char_index)
                .copied()
                .unwrap_or(self.text.len())
        }
    }

    fn location(&self, span: Span) -> Location {
        let start = self.byte(span.start.index());
        let end = self.byte(span.end.index()).max(start);
        Location {
            offset: start,
            len: end - start,
            line: span.start.line(),
            col: span.start.col() + 1,
        }
    }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        start: Location,
        anchor: usize,
    },
    Map {
        entries: Vec<(Key, Node)>,
        /// Key name → where it was first written, for O(1) duplicate detection.
        seen: HashMap<String, Location>,
        pending_key: Option<Key>,
        start: Location,
        anchor: usize,
    },
}

/// Parses every document of `text`. Errors stop the file: after a syntax error the rest of the
/// stream cannot be trusted, and a partial file must never look like a complete one.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, YamlError> {
    let offsets = Offsets::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut documents = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, (Node, usize, usize)> = HashMap::new();
    let mut node_count: usize = 0;
    // Nodes that aliases copied: when the count overflows, whether aliases are to blame.
    let mut copied_nodes: usize = 0;
    let mut alias_bytes: usize = 0;
    let mut doc_start = Location::default();
    let mut root: Option<Node> = None;

    while let Some(next) = parser.next_event() {
        let (event, span) = match next {
            Ok(pair) => pair,
            Err(err) => {
                let marker = err.marker();
                let location = offsets.location(Span::empty(*marker));
                // The scanner has its own, higher, depth limit for flow collections and can hit
                // it before our event-level bound sees the nesting; it is the same problem.
                // saphyr's errors carry only text, so its two kinds that matter here are told
                // apart by it; everything jobctl itself reports has its kind set where it arises.
                if err.info().contains("recursion limit") {
                    return Err(too_deep(location));
                }
                let kind = if err.info().contains("tag") {
                    YamlErrorKind::Tag
                } else {
                    YamlErrorKind::Syntax
                };
                return Err(YamlError::new(
                    kind,
                    format!("invalid YAML: {}", err.info()),
                    location,
                )
                .with_help("check the indentation and quoting on and just above this line"));
            }
        };
        let location = offsets.location(span);
        let completed: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::Nothing => None,
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                doc_start = location;
                anchors.clear();
                None
            }
            Event::DocumentEnd => {
                // A document with nothing in it reads as an empty plain scalar, as the parser
                // reports one (see [`Document::is_empty`]).
                let root_node = root.take().unwrap_or(Node {
                    kind: NodeKind::Scalar {
                        value: Scalar::Null,
                        plain: Some(String::new()),
                    },
                    location: doc_start,
                });
                documents.push(Document {
                    root: root_node,
                    location: doc_start,
                });
                None
            }
            Event::Alias(id) => {
                let Some((node, nodes, bytes)) = anchors.get(&id) else {
                    return Err(YamlError::new(
                        YamlErrorKind::Syntax,
                        "this alias refers to no anchor defined before it in this YAML document",
                        location,
                    )
                    .with_help("anchors do not carry across `---`; define the `&anchor` earlier in the same document"));
                };
                node_count = node_count.saturating_add(*nodes);
                copied_nodes = copied_nodes.saturating_add(*nodes);
                alias_bytes = alias_bytes.saturating_add(*bytes);
                if node_count > MAX_NODES || alias_bytes > MAX_ALIAS_BYTES {
                    return Err(alias_expansion(location));
                }
                let mut copy = node.clone();
                // The alias stands where it is written; its inner nodes keep the anchor's spans
                // so that an error inside still points at the value that is wrong.
                copy.location = location;
                Some((copy, 0))
            }
            Event::Scalar(value, style, anchor, tag) => {
                node_count += 1;
                if node_count > MAX_NODES {
                    return Err(too_many_nodes(location, copied_nodes));
                }
                let tag = tag.map(|t| core_tag(&t, location)).transpose()?;
                let node = scalar_node(value, style, tag.as_deref(), location)?;
                Some((node, anchor))
            }
            Event::SequenceStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), "seq", location)?;
                if stack.len() >= MAX_DEPTH {
                    return Err(too_deep(location));
                }
                stack.push(Frame::Seq {
                    items: Vec::new(),
                    start: location,
                    anchor,
                });
                None
            }
            Event::MappingStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), "map", location)?;
                if stack.len() >= MAX_DEPTH {
                    return Err(too_deep(location));
                }
                stack.push(Frame::Map {
                    entries: Vec::new(),
                    seen: HashMap::new(),
                    pending_key: None,
                    start: location,
                    anchor,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    items,
                    start,
                    anchor,
                }) => {
                    node_count += 1;
                    let loc = extend(start, location);
                    Some((
                        Node {
                            kind: NodeKind::Seq(items),
                            location: loc,
                        },
                        anchor,
                    ))
                }
                _ => {
                    return Err(YamlError::new(
                        YamlErrorKind::Syntax,
                        "unbalanced sequence end",
                        location,
                    ))
                }
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    entries,
                    start,
                    anchor,
                    ..
                }) => {
                    node_count += 1;
                    let loc = extend(start, location);
                    Some((
                        Node {
                            kind: NodeKind::Map(entries),
                            location: loc,
                        },
                        anchor,
                    ))
                }
                _ => {
                    return Err(YamlError::new(
                        YamlErrorKind::Syntax,
                        "unbalanced mapping end",
                        location,
                    ))
                }
            },
        };

        if let Some((node, anchor)) = completed {
            if anchor != 0 {
                // Only anchored nodes are ever copied, so only they need their cost.
                let (nodes, bytes) = cost(&node);
                anchors.insert(anchor, (node.clone(), nodes, bytes));
            }
            match stack.last_mut() {
                None => root = Some(node),
                Some(Frame::Seq { items, .. }) => items.push(node),
                Some(Frame::Map {
                    entries,
                    seen,
                    pending_key,
                    ..
                }) => match pending_key.take() {
                    None => {
                        let key = key_from_node(node)?;
                        if let Some(first) = seen.get(&key.name) {
                            let mut err = YamlError::new(
                                YamlErrorKind::DuplicateKey,
                                format!("duplicate key `{}`", key.name),
                                key.location,
                            )
                            .with_help("YAML mappings must not repeat a key; keep one of them");
                            err.related = Some(Box::new(("first defined here".into(), *first)));
                            return Err(err);
                        }
                        seen.insert(key.name.clone(), key.location);
                        *pending_key = Some(key);
                    }
                    Some(key) => entries.push((key, node)),
                },
            }
        }
    }
    Ok(documents)
}

fn alias_expansion(location: Location) -> YamlError {
    YamlError::new(
        YamlErrorKind::AliasExpansion,
        format!(
            "the file expands to more than {MAX_NODES} YAML nodes or {MAX_ALIAS_BYTES} bytes through aliases"
        ),
        location,
    )
    .with_help("anchors and aliases that expand exponentially are refused; write the values out")
}

/// The node limit, blamed on aliases only when they copied nodes.
fn too_many_nodes(location: Location, copied_nodes: usize) -> YamlError {
    if copied_nodes > 0 {
        return alias_expansion(location);
    }
    YamlError::new(
        YamlErrorKind::TooManyNodes,
        format!(
            "the file holds more than {MAX_NODES} YAML nodes (values, lists, maps and `---` documents)"
        ),
        location,
    )
    .with_help("split the manifests over several files; one file is read as a whole")
}

fn too_deep(location: Location) -> YamlError {
    YamlError::new(
        YamlErrorKind::Depth,
        format!("nesting deeper than {MAX_DEPTH} levels"),
        location,
    )
    .with_help("job manifests never need this depth; check for a runaway structure")
}

fn extend(start: Location, end: Location) -> Location {
    let stop = (end.offset + end.len).max(start.offset);
    Location {
        len: stop - start.offset,
        ..start
    }
}

/// Nodes and bytes of scalar text in a subtree: what copying it for an alias costs.
fn cost(node: &Node) -> (usize, usize) {
    match &node.kind {
        NodeKind::Scalar { value, .. } => (1, scalar_len(value)),
        NodeKind::Seq(items) => items
            .iter()
            .map(cost)
            .fold((1, 0), |(n, b), (n2, b2)| (n + n2, b + b2)),
        NodeKind::Map(entries) => entries.iter().fold((1, 0), |(n, b), (key, value)| {
            let (n2, b2) = cost(value);
            (n + 1 + n2, b + key.name.len() + b2)
        }),
    }
}

fn scalar_len(value: &Scalar) -> usize {
    match value {
        Scalar::Str(s) => s.len(),
        _ => 8,
    }
}

fn key_from_node(node: Node) -> Result<Key, YamlError> {
    match node.kind {
        // Only a plain `<<` is a merge key; `"<<"` is an ordinary key.
        NodeKind::Scalar {
            plain: Some(text), ..
        } if text == "<<" => Err(YamlError::new(
            YamlErrorKind::MergeKey,
            "YAML merge keys (`<<`) are not supported",
            node.location,
        )
        .with_help(
            "write the fields out, or alias the whole value (`key: *anchor`); \
             jobctl reads YAML 1.2, where `<<` would be sent to devices as an ordinary key",
        )),
        NodeKind::Scalar { value, plain } => {
            let name = match (value, plain) {
                (_, Some(text)) => text,
                (Scalar::Str(s), None) => s,
                (Scalar::Null, None) => String::new(),
                (other, None) => scalar_text(&other),
            };
            Ok(Key {
                name,
                location: node.location,
            })
        }
        _ => Err(YamlError::new(
            YamlErrorKind::Syntax,
            "a mapping key must be a plain string",
            node.location,
        )
        .with_help("complex keys (`? ` keys, or a list or map used as a key) are not supported")),
    }
}

fn scalar_text(value: &Scalar) -> String {
    match value {
        Scalar::Null => "null".into(),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => f.to_string(),
        Scalar::Str(s) => s.clone(),
    }
}

/// The suffix of a core-schema tag (`!!str` gives `str`); any other tag is refused, because
/// custom tags have no JSON meaning.
fn core_tag(tag: &saphyr_parser::Tag, location: Location) -> Result<String, YamlError> {
    if tag.is_yaml_core_schema() {
        Ok(tag.suffix.clone())
    } else {
        Err(unsupported_tag(&tag.to_string(), location))
    }
}

fn check_collection_tag(
    tag: Option<&saphyr_parser::Tag>,
    expected: &str,
    location: Location,
) -> Result<(), YamlError> {
    match tag {
        None => Ok(()),
        Some(t) if core_tag(t, location)? == expected => Ok(()),
        Some(t) => Err(unsupported_tag(&t.to_string(), location)),
    }
}

fn unsupported_tag(tag: &str, location: Location) -> YamlError {
    YamlError::new(
        YamlErrorKind::Tag,
        format!("unsupported YAML tag `{tag}`"),
        location,
    )
    .with_help(
        "only the core tags !!str, !!int, !!float, !!bool, !!null, !!seq and !!map are accepted",
    )
}

fn scalar_node(
    value: Cow<'_, str>,
    style: ScalarStyle,
    tag: Option<&str>,
    location: Location,
) -> Result<Node, YamlError> {
    let text = value.into_owned();
    let resolved = match tag {
        Some(suffix) => {
            let forced = match suffix {
                "str" => Some(Scalar::Str(text.clone())),
                "null" => Some(Scalar::Null),
                "bool" => resolve_plain(&text).filter(|v| matches!(v, Scalar::Bool(_))),
                "int" => resolve_plain(&text).filter(|v| matches!(v, Scalar::Int(_))),
                "float" => resolve_plain(&text).and_then(|v| match v {
                    Scalar::Float(f) => Some(Scalar::Float(f)),
                    Scalar::Int(i) => Some(Scalar::Float(i as f64)),
                    _ => None,
                }),
                _ => return Err(unsupported_tag(&format!("!!{suffix}"), location)),
            };
            match forced {
                Some(v) => v,
                None => {
                    return Err(YamlError::new(
                        YamlErrorKind::Syntax,
                        format!("`{text}` is not a valid !!{suffix}"),
                        location,
                    ))
                }
            }
        }
        None if style == ScalarStyle::Plain => match resolve_plain(&text) {
            Some(v) => v,
            None => {
                return Err(YamlError::new(
                    YamlErrorKind::Syntax,
                    format!("`{text}` is not a number JSON can carry"),
                    location,
                )
                .with_help("quote it if it is meant as text"))
            }
        },
        None => Scalar::Str(text.clone()),
    };
    let plain = (style == ScalarStyle::Plain && tag.is_none()).then_some(text);
    Ok(Node {
        kind: NodeKind::Scalar {
            value: resolved,
            plain,
        },
        location,
    })
}

/// Resolves a plain scalar with the YAML 1.2 core schema. `None` means the text looks like a
/// number JSON cannot represent (infinity, NaN, out of range).
pub fn resolve_plain(text: &str) -> Option<Scalar> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Scalar::Null),
        "true" | "True" | "TRUE" => return Some(Scalar::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Scalar::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => return None,
        _ => {}
    }
    if let Some(octal) = text.strip_prefix("0o") {
        if !octal.is_empty() && octal.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            return i64::from_str_radix(octal, 8).ok().map(Scalar::Int);
        }
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return i64::from_str_radix(hex, 16).ok().map(Scalar::Int);
        }
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<i64>().ok().map(Scalar::Int);
    }
    if is_core_float(unsigned) {
        return text
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Scalar::Float);
    }
    Some(Scalar::Str(text.to_string()))
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` from the core schema, sign already removed.
fn is_core_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (int.bytes().all(|b| b.is_ascii_digit()) && frac.bytes().all(|b| b.is_ascii_digit()))
                && (!int.is_empty() || !frac.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['-', '+']).unwrap_or(e);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

impl Node {
    /// The JSON value of this node. Maps keep their order so that documents round-trip as written.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Scalar { value, .. } => match value {
                Scalar::Null => Value::Null,
                Scalar::Bool(b) => Value::Bool(*b),
                Scalar::Int(i) => Value::from(*i),
                Scalar::Float(f) => {
                    serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
                }
                Scalar::Str(s) => Value::String(s.clone()),
            },
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// The node a JSON pointer (`/spec/targets/0`) names, if it exists.
    pub fn pointer(&self, pointer: &str) -> Option<&Node> {
        let mut node = self;
        for raw in pointer.split('/').skip(1) {
            let token = raw.replace("~1", "/").replace("~0", "~");
            node = match &node.kind {
                NodeKind::Map(entries) => &entries.iter().find(|(k, _)| k.name == token)?.1,
                NodeKind::Seq(items) => items.get(token.parse::<usize>().ok()?)?,
                NodeKind::Scalar { .. } => return None,
            };
        }
        Some(node)
    }

    /// The key node for the last token of `pointer`, when it names a map entry.
    pub fn key_at(&self, pointer: &str) -> Option<&Key> {
        let (parent, last) = pointer.rsplit_once('/')?;
        let token = last.replace("~1", "/").replace("~0", "~");
        match &self.pointer(parent)?.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.name == token)
                .map(|(k, _)| k),
            _ => None,
        }
    }

    /// Visits every scalar below this node with its JSON pointer.
    pub fn walk_scalars<'a>(&'a self, path: &mut String, visit: &mut dyn FnMut(&str, &'a Node)) {
        match &self.kind {
            NodeKind::Scalar { .. } => visit(path, self),
            NodeKind::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push('/');
                    path.push_str(&i.to_string());
                    item.walk_scalars(path, visit);
                    path.truncate(len);
                }
            }
            NodeKind::Map(entries) => {
                for (key, value) in entries {
                    let len = path.len();
                    path.push('/');
                    path.push_str(&key.name.replace('~', "~0").replace('/', "~1"));
                    value.walk_scalars(path, visit);
                    path.truncate(len);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let mut docs = parse_documents(text).expect("parses");
        assert_eq!(docs.len(), 1);
        docs.remove(0).root
    }

    #[test]
    fn core_schema_resolution() {
        assert_eq!(resolve_plain("1.10"), Some(Scalar::Float(1.1)));
        assert_eq!(resolve_plain("0755"), Some(Scalar::Int(755)));
        assert_eq!(resolve_plain("0o755"), Some(Scalar::Int(493)));
        assert_eq!(resolve_plain("yes"), Some(Scalar::Str("yes".into())));
        assert_eq!(resolve_plain("~"), Some(Scalar::Null));
        assert_eq!(resolve_plain("1e3"), Some(Scalar::Float(1000.0)));
        assert_eq!(resolve_plain("1.2.3"), Some(Scalar::Str("1.2.3".into())));
        assert_eq!(resolve_plain(".inf"), None);
        assert_eq!(resolve_plain("99999999999999999999"), None);
        assert_eq!(resolve_plain("-"), Some(Scalar::Str("-".into())));
        assert_eq!(resolve_plain("."), Some(Scalar::Str(".".into())));
    }

    #[test]
    fn locations_are_one_based() {
        let root = one("a:\n  b: [1, two]\n");
        let two = root.pointer("/a/b/1").expect("exists");
        assert_eq!((two.location.line, two.location.col), (2, 10));
        assert_eq!(two.to_json(), serde_json::json!("two"));
        let key = root.key_at("/a/b").expect("key");
        assert_eq!((key.location.line, key.location.col), (2, 3));
    }

    #[test]
    fn multibyte_text_maps_to_byte_offsets() {
        let text = "é: ü\nx: 1\n";
        let root = one(text);
        let x = root.pointer("/x").expect("x");
        assert_eq!(
            &text[x.location.offset..x.location.offset + x.location.len],
            "1"
        );
    }

    #[test]
    fn duplicate_keys_are_rejected_with_both_places() {
        let err = parse_documents("a: 1\nb: 2\na: 3\n").expect_err("duplicate");
        assert_eq!(err.kind, YamlErrorKind::DuplicateKey);
        assert_eq!(err.message, "duplicate key `a`");
        assert_eq!((err.location.line, err.location.col), (3, 1));
        assert_eq!(err.related.map(|r| r.1.line), Some(1));
    }

    #[test]
    fn alias_bomb_is_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = parse_documents(&text).expect_err("bomb");
        assert_eq!(err.kind, YamlErrorKind::AliasExpansion, "{}", err.message);
    }

    #[test]
    fn aliases_of_one_large_string_are_bounded_by_bytes() {
        let mut text = format!("big: &a \"{}\"\nrefs: [", "x".repeat(100_000));
        text.push_str(&vec!["*a"; 60].join(", "));
        text.push_str("]\n");
        let err = parse_documents(&text).expect_err("byte bomb");
        assert!(err.message.contains("more than"), "{}", err.message);
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let text = "[".repeat(10_000) + &"]".repeat(10_000);
        let err = parse_documents(&text).expect_err("deep");
        assert_eq!(err.kind, YamlErrorKind::Depth, "{}", err.message);
    }

    #[test]
    fn aliases_expand_within_budget() {
        let root = one("base: &b {x: 1}\ncopy: *b\n");
        assert_eq!(
            root.to_json(),
            serde_json::json!({"base": {"x": 1}, "copy": {"x": 1}})
        );
    }

    #[test]
    fn several_documents() {
        let docs = parse_documents("a: 1\n---\nb: 2\n").expect("parses");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].root.location.line, 3);
    }

    #[test]
    fn syntax_errors_have_a_location() {
        let err = parse_documents("a: [1, 2\nb: 3\n").expect_err("unclosed");
        assert!(err.message.starts_with("invalid YAML"), "{}", err.message);
        assert!(err.location.line >= 1);
    }

    #[test]
    fn merge_keys_are_refused_at_their_position() {
        let err =
            parse_documents("spec:\n  document:\n    base: &b {x: 1}\n    other: {<<: *b, z: 3}\n")
                .expect_err("merge key");
        assert_eq!(err.kind, YamlErrorKind::MergeKey);
        assert_eq!((err.location.line, err.location.col), (4, 13));
        assert!(err.message.contains("merge keys"), "{}", err.message);
        let err = parse_documents("a: 1\n<<: {b: 2}\n").expect_err("block merge key");
        assert_eq!(
            (err.kind, err.location.line, err.location.col),
            (YamlErrorKind::MergeKey, 2, 1)
        );
        // Quoted, it is an ordinary key.
        let root = one("\"<<\": 1\n");
        assert_eq!(root.to_json(), serde_json::json!({"<<": 1}));
    }

    #[test]
    fn too_many_documents_name_the_node_limit_not_aliases() {
        let text = "---\n".repeat(MAX_NODES + 10);
        let err = parse_documents(&text).expect_err("too many nodes");
        assert_eq!(err.kind, YamlErrorKind::TooManyNodes, "{}", err.message);
        assert!(!err.message.contains("alias"), "{}", err.message);
        assert!(err.message.contains("200000"), "{}", err.message);
    }

    #[test]
    fn empty_documents_differ_from_null_documents() {
        let docs = parse_documents("a: 1\n---\n").expect("parses");
        assert!(docs.iter().skip(1).all(Document::is_empty), "{docs:?}");
        assert!(!docs[0].is_empty());
        for text in ["---\nnull\n", "---\n~\n", "--- !!null \"\"\n"] {
            let docs = parse_documents(text).expect("parses");
            assert_eq!(docs.len(), 1, "{text:?}");
            assert!(!docs[0].is_empty(), "{text:?} is written, not empty");
            assert_eq!(docs[0].root.to_json(), serde_json::Value::Null);
        }
    }
}

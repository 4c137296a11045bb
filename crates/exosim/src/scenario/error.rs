//! Errors in study files, located by file, line, column and key.
//!
//! A user who mistypes a key or a unit must learn where, what was expected and
//! how to fix it, without reading our code. Every error therefore carries the
//! byte span in the source (for renderers that underline it), the line and
//! column, the dotted key, and an optional hint such as "did you mean …".

use std::cell::{OnceCell, RefCell};
use std::fmt;
use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// A key of a table.
    Key(String),
    /// A position in an array of tables (`[[doses]]`).
    Index(usize),
}

/// A dotted key such as `doses[1].route`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<PathSegment>);

impl KeyPath {
    /// The empty path (the whole file).
    pub fn root() -> Self {
        KeyPath(Vec::new())
    }

    /// This path extended by a key.
    pub fn key(&self, key: &str) -> Self {
        let mut p = self.0.clone();
        p.push(PathSegment::Key(key.to_string()));
        KeyPath(p)
    }

    /// This path extended by an array index.
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.0.clone();
        p.push(PathSegment::Index(i));
        KeyPath(p)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return write!(f, "(file)");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                PathSegment::Key(k) if i == 0 => write!(f, "{k}")?,
                PathSegment::Key(k) => write!(f, ".{k}")?,
                PathSegment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// An invalid study file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: `{key}`: {message}{}", self.location(), hint_suffix(.hint))]
pub struct StudyError {
    /// File name as given by the user (or `<embedded>`), or the override
    /// (`--set PATH=VALUE`) that holds the offending value.
    pub file: String,
    /// 1-based line of the offending text; 0 when it is not in a file (an
    /// override), and then `column` is 0 too.
    pub line: usize,
    /// 1-based column (in characters) of the offending text.
    pub column: usize,
    /// Dotted key of the offending value.
    pub key: String,
    /// What is wrong and what was expected.
    pub message: String,
    /// How to fix it, when we can tell.
    pub hint: Option<String>,
    /// Byte range in the source, for renderers that underline it.
    pub span: Option<Range<usize>>,
}

/// Source lines longer than this (in characters) are not quoted: the
/// one-line form already names the line and column.
pub const MAX_QUOTED_LINE: usize = 200;

impl StudyError {
    /// `file:line:column`, or `file` alone for a value that is in no file.
    pub fn location(&self) -> String {
        match self.line {
            0 => self.file.clone(),
            line => format!("{}:{line}:{}", self.file, self.column),
        }
    }

    /// The error as printed for people, once: the one-line form (file,
    /// line, column, key, message), then, when `source` (the text of the
    /// study file) holds the span, the line quoted with the value
    /// underlined, then the hint if there is one. A line too long to quote
    /// (over [`MAX_QUOTED_LINE`] characters) or a span outside `source`
    /// gives the one-line form alone. Never panics.
    pub fn render(&self, source: &str) -> String {
        self.render_as(source, "error")
    }

    /// As [`StudyError::render`], headed `label` (`error`, or `note` for
    /// a study's notices).
    pub fn render_as(&self, source: &str, label: &str) -> String {
        let mut out = format!(
            "{label}: {}: `{}`: {}",
            self.location(),
            self.key,
            self.message
        );
        if let Some(quote) = self.span.clone().and_then(|s| quote(source, s)) {
            out.push('\n');
            out.push_str(&quote);
        }
        if let Some(h) = self.hint.as_deref().filter(|h| !h.trim().is_empty()) {
            out.push_str("\n  hint: ");
            out.push_str(h);
        }
        out
    }
}

/// The line of `source` holding the start of `span`, numbered, with the
/// span's part on that line underlined; `None` when the span is not in
/// `source` or the line is too long to show.
fn quote(source: &str, span: Range<usize>) -> Option<String> {
    if span.start > span.end || span.end > source.len() || !source.is_char_boundary(span.start) {
        return None;
    }
    let line_start = source[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[span.start..]
        .find('\n')
        .map_or(source.len(), |i| span.start + i);
    let line = source[line_start..line_end].trim_end_matches('\r');
    if line.chars().count() > MAX_QUOTED_LINE || line.contains('\t') {
        return None;
    }
    let number = source[..line_start].matches('\n').count() + 1;
    let lead = source[line_start..span.start].chars().count();
    let end = span.end.min(line_start + line.len());
    let width = source
        .get(span.start..end)
        .map_or(1, |s| s.chars().count())
        .max(1);
    let gutter = " ".repeat(number.to_string().len());
    Some(format!(
        "{gutter} |\n{number} | {line}\n{gutter} | {}{}",
        " ".repeat(lead),
        "^".repeat(width)
    ))
}

fn hint_suffix(hint: &Option<String>) -> String {
    match hint {
        Some(h) => format!("\n  hint: {h}"),
        None => String::new(),
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The closest of `candidates` to `word`, if close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

/// Locates keys in the source text, for errors found after deserialisation.
pub struct Locator<'t> {
    file: String,
    text: &'t str,
    /// The file's spans, parsed at the first error: a study that resolves
    /// (every point of a campaign) never pays for them.
    table: OnceCell<Option<toml::Spanned<DeTable<'t>>>>,
    /// Values set over the file (`--set`): the key path each one replaced,
    /// and how the user wrote it.
    overrides: Vec<(KeyPath, String)>,
    /// What a valid study should still be told (see [`Locator::notice`]).
    notices: RefCell<Vec<StudyError>>,
}

impl<'t> Locator<'t> {
    /// A locator of `text`, parsed for its spans when first asked; a file
    /// that does not parse locates everything at its start.
    pub fn new(file: &str, text: &'t str) -> Self {
        Locator {
            file: file.to_string(),
            text,
            table: OnceCell::new(),
            overrides: Vec::new(),
            notices: RefCell::new(Vec::new()),
        }
    }

    /// Records a notice at `path`: something a valid study is told at
    /// validation without being refused (a run estimated to take hours).
    /// Located as an error is.
    pub fn notice(&self, path: &KeyPath, message: impl Into<String>, hint: Option<String>) {
        let n = self.error(path, message, hint);
        self.notices.borrow_mut().push(n);
    }

    /// The notices recorded so far, in order; the locator forgets them.
    pub fn take_notices(&self) -> Vec<StudyError> {
        self.notices.take()
    }

    /// This locator, with values set over the file at `overrides` (key path,
    /// and the `PATH=VALUE` the user wrote): an error at or under one of them,
    /// or above it (a table the override changed), names the override, not
    /// the file's line.
    pub fn with_overrides(mut self, overrides: Vec<(KeyPath, String)>) -> Self {
        self.overrides = overrides;
        self
    }

    /// The override that set the value at `path`, or a table holding it.
    fn override_at(&self, path: &KeyPath) -> Option<&str> {
        let related = |o: &KeyPath| o.0.starts_with(&path.0) || path.0.starts_with(&o.0);
        self.overrides
            .iter()
            .rev()
            .find(|(o, _)| !path.0.is_empty() && related(o))
            .map(|(_, text)| text.as_str())
    }

    fn table(&self) -> Option<&toml::Spanned<DeTable<'t>>> {
        self.table
            .get_or_init(|| DeTable::parse(self.text).ok())
            .as_ref()
    }

    /// The file name given at construction (for paths relative to the study).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Byte span of the value at `path`, or of its deepest existing parent.
    pub fn span_of(&self, path: &KeyPath) -> Option<Range<usize>> {
        let table = self.table()?;
        let mut span = None;
        let mut current: Option<&DeValue<'t>> = None;
        for seg in &path.0 {
            let next = match (seg, current) {
                (PathSegment::Key(k), None) => table.get_ref().get(k.as_str()),
                (PathSegment::Key(k), Some(DeValue::Table(t))) => t.get(k.as_str()),
                (PathSegment::Index(i), Some(DeValue::Array(a))) => a.get(*i),
                _ => None,
            };
            match next {
                Some(v) => {
                    span = Some(v.span());
                    current = Some(v.get_ref());
                }
                None => break,
            }
        }
        span
    }

    /// Whether the file writes a value at exactly `path`.
    pub fn has(&self, path: &KeyPath) -> bool {
        let Some(table) = self.table() else {
            return false;
        };
        let mut current: Option<&DeValue<'t>> = None;
        for seg in &path.0 {
            let next = match (seg, current) {
                (PathSegment::Key(k), None) => table.get_ref().get(k.as_str()),
                (PathSegment::Key(k), Some(DeValue::Table(t))) => t.get(k.as_str()),
                (PathSegment::Index(i), Some(DeValue::Array(a))) => a.get(*i),
                _ => None,
            };
            match next {
                Some(v) => current = Some(v.get_ref()),
                None => return false,
            }
        }
        !path.0.is_empty()
    }

    /// The dotted key whose value contains byte `offset`, the deepest one.
    pub fn path_at(&self, offset: usize) -> KeyPath {
        match self.table() {
            Some(table) => search(table.get_ref(), &KeyPath::root(), offset).unwrap_or_default(),
            None => KeyPath::root(),
        }
    }

    /// An error at `path` with a message and an optional hint.
    pub fn error(
        &self,
        path: &KeyPath,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> StudyError {
        if let Some(set) = self.override_at(path) {
            return StudyError {
                file: format!("--set {set}"),
                line: 0,
                column: 0,
                key: path.to_string(),
                message: message.into(),
                hint,
                span: None,
            };
        }
        let span = self.span_of(path);
        let (line, column) = line_column(self.text, span.as_ref().map(|s| s.start).unwrap_or(0));
        StudyError {
            file: self.file.clone(),
            line,
            column,
            key: path.to_string(),
            message: message.into(),
            hint,
            span,
        }
    }

    /// Converts a deserialisation error of the toml crate: its span gives the
    /// line and the key; "unknown field"/"unknown variant" messages get a
    /// "did you mean" hint from the expected names they list.
    pub fn from_toml(&self, err: &toml::de::Error) -> StudyError {
        let span = err.span();
        let offset = span.as_ref().map(|s| s.start).unwrap_or(0);
        let (line, column) = line_column(self.text, offset);
        let message = err.message().trim().to_string();
        let key = match &span {
            Some(_) => self.path_at(offset).to_string(),
            None => KeyPath::root().to_string(),
        };
        StudyError {
            file: self.file.clone(),
            line,
            column,
            key,
            hint: unknown_name_hint(&message),
            message,
            span,
        }
    }
}

/// The deepest key at `offset` under `table`. Spans of tables declared with
/// headers (`[study]`, `[[doses]]`) need not cover their keys, so every
/// branch is searched, not only the ones whose span contains the offset.
fn search(table: &DeTable<'_>, path: &KeyPath, offset: usize) -> Option<KeyPath> {
    let within = |r: Range<usize>| r.start <= offset && offset < r.end.max(r.start + 1);
    for (k, v) in table.iter() {
        let here = path.key(k.get_ref());
        match v.get_ref() {
            DeValue::Table(t) => {
                if let Some(found) = search(t, &here, offset) {
                    return Some(found);
                }
            }
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let DeValue::Table(t) = item.get_ref()
                        && let Some(found) = search(t, &here.index(i), offset)
                    {
                        return Some(found);
                    }
                    if within(item.span()) {
                        return Some(here.index(i));
                    }
                }
            }
            _ => {}
        }
        if within(k.span()) || within(v.span()) {
            return Some(here);
        }
    }
    None
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" and "unknown
/// variant" messages: the closest expected name.
fn unknown_name_hint(message: &str) -> Option<String> {
    let ticked: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let (unknown, expected) = ticked.split_first()?;
    if !(message.starts_with("unknown field") || message.starts_with("unknown variant")) {
        return None;
    }
    match did_you_mean(unknown, expected.iter().copied()) {
        Some(best) => Some(format!("did you mean `{best}`?")),
        None if expected.is_empty() => Some("this table takes no keys".to_string()),
        None => Some(format!("expected one of: {}", expected.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_at(text: &str, needle: &str, hint: Option<&str>) -> StudyError {
        let start = text.find(needle).unwrap();
        let (line, column) = line_column(text, start);
        StudyError {
            file: "s.toml".into(),
            line,
            column,
            key: "body.blood_volume".into(),
            message: "must be positive".into(),
            hint: hint.map(str::to_string),
            span: Some(start..start + needle.len()),
        }
    }

    #[test]
    fn render_prints_the_message_once_and_no_empty_hint() {
        let text = "[study]\nname = \"x\"\n[body]\nblood_volume = \"-5 L\"\n";
        let e = error_at(text, "\"-5 L\"", None);
        assert_eq!(
            e.render(text),
            "error: s.toml:4:16: `body.blood_volume`: must be positive\n  |\n4 | blood_volume = \"-5 L\"\n  |                ^^^^^^"
        );
        let e = error_at(text, "\"-5 L\"", Some("a volume such as \"2 mL\""));
        assert!(
            e.render(text)
                .ends_with("^^^^^^\n  hint: a volume such as \"2 mL\"")
        );
        assert_eq!(e.render(text).matches("must be positive").count(), 1);
        let e = error_at(text, "\"-5 L\"", Some(""));
        assert!(!e.render(text).contains("hint"));
    }

    #[test]
    fn render_gives_the_one_line_form_for_a_very_long_line() {
        // 350 000 output times on one line.
        let times = vec!["\"1 s\""; 350_000].join(", ");
        let text = format!("[study]\noutput_times = [{times}, \"-1 s\"]\n");
        let e = error_at(&text, "\"-1 s\"", Some("times are not negative"));
        assert_eq!(
            e.render(&text),
            "error: s.toml:2:2450017: `body.blood_volume`: must be positive\n  hint: times are not negative"
        );
        // A span past the end of the text, or inside a character, is not quoted.
        let mut e = error_at("x = \"é\"", "é", None);
        e.span = Some(6..7);
        assert!(!e.render("x = \"é\"").contains('|'));
        e.span = Some(0..99);
        assert!(!e.render("x = \"é\"").contains('|'));
    }

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let text = "a = 1\nµb = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        let offset = text.find("b =").unwrap();
        assert_eq!(line_column(text, offset), (2, 2));
    }

    #[test]
    fn typo_hint_finds_the_closest_name() {
        let msg = "unknown field `duraton`, expected one of `name`, `duration`, `seed`";
        assert_eq!(unknown_name_hint(msg).unwrap(), "did you mean `duration`?");
    }

    #[test]
    fn locator_finds_nested_array_keys() {
        let text =
            "[study]\nname = \"x\"\n[[doses]]\nroute = \"iv\"\n[[doses]]\nroute = \"iv_bolus\"\n";
        let loc = Locator::new("s.toml", text);
        let path = KeyPath::root().key("doses").index(1).key("route");
        let span = loc.span_of(&path).unwrap();
        assert_eq!(&text[span.clone()], "\"iv_bolus\"");
        assert_eq!(loc.path_at(span.start).to_string(), "doses[1].route");
        let err = loc.error(&path, "bad", None);
        assert_eq!((err.line, err.column), (6, 9));
    }
}

//! TOML read with the place of every value, for files people write by hand (scenarios,
//! lessons): every problem points at the key or value it is about, unknown keys get a
//! did-you-mean, and every problem of a file is reported at once, not the first one only.
//!
//! The file is walked over toml's span-preserving tree rather than deserialized with serde.
//! [`Reader`] collects problems and reads values (strings, integers in a range, choices,
//! durations); [`Section`] is a table being read, whose keys left unread are reported as
//! unknown. The scenario reader and the lesson reader are both built on these.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use miette::{
    Diagnostic, LabeledSpan, MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};
use toml::de::{DeInteger, DeTable, DeValue};
use toml::Spanned;

use crate::ids::Millis;

/// A value of the tree with its place in the text.
pub type Val<'i> = Spanned<DeValue<'i>>;

pub const DURATION_EXAMPLES: &str = "expected a duration such as \"500ms\", \"5s\" or \"2m\"";

/// One thing wrong with a file: where, what, and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Byte range in the file of the key or value at fault.
    pub span: Range<usize>,
    pub message: String,
    /// What would fix it, when something specific can be said.
    pub help: Option<String>,
}

/// Everything wrong with a file (a scenario, a lesson). Keeps the file's name and text so the problems can be
/// shown with line numbers (`Display`) or as annotated source (`miette`).
#[derive(Debug)]
pub struct ScenarioError {
    pub file: String,
    pub text: String,
    pub problems: Vec<Problem>,
}

impl ScenarioError {
    /// 1-based line and column (in characters) where a problem starts.
    pub fn line_col(&self, p: &Problem) -> (usize, usize) {
        line_col(&self.text, p.span.start)
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.problems.is_empty() {
            return write!(f, "{}: invalid scenario", self.file);
        }
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let (line, col) = self.line_col(p);
            write!(f, "{}:{line}:{col}: {}", self.file, p.message)?;
            if let Some(help) = &p.help {
                write!(f, "\n  help: {help}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// Each problem is a related diagnostic so miette shows it with its own snippet and help; they
/// all read their source from the parent.
impl Diagnostic for ScenarioError {
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(self)
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(self.problems.iter().map(|p| p as &dyn Diagnostic)))
    }
}

/// The file's text under the file's name: what `miette::NamedSource::new(file, text)` gives,
/// without keeping a second copy of the text in the error.
impl SourceCode for ScenarioError {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.file.clone(),
            inner.data(),
            *inner.span(),
            inner.line(),
            inner.column(),
            inner.line_count(),
        )))
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = LabeledSpan::new_with_span(None, self.span.clone());
        Some(Box::new(std::iter::once(span)))
    }
}

/// A key of a table, with dotted names flattened (`min.insync.replicas = 2` is three nested
/// tables to TOML, one Kafka setting to us).
#[derive(Clone)]
pub struct Entry<'a, 'i> {
    pub name: String,
    /// The whole dotted key where it is on one line, else its last part.
    pub key: Range<usize>,
    pub value: &'a Val<'i>,
}

/// A table being read: keys are taken as they are understood, and whatever is left at the end
/// is reported as unknown.
pub struct Section<'a, 'i> {
    /// The table's header (or inline table), where "missing key" problems point.
    pub span: Range<usize>,
    pub entries: Vec<Entry<'a, 'i>>,
    pub used: Vec<bool>,
}

impl<'a, 'i> Section<'a, 'i> {
    /// `whole` names keys whose table values are read as such rather than flattened.
    pub fn new(
        p: &mut Reader<'_>,
        table: &'a DeTable<'i>,
        span: Range<usize>,
        whole: &[&str],
    ) -> Self {
        let mut entries = Vec::new();
        flatten(p.text, table, None, whole, &mut entries);
        entries.sort_by_key(|e| e.key.start);
        // `"a.b" = 1` and `a.b = 2` are different keys to TOML but the same setting here.
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        entries.retain(|e| match seen.get(&e.name) {
            Some(&first) => {
                let (line, _) = line_col(p.text, first);
                p.error_help(
                    e.key.clone(),
                    format!("`{}` is set twice", e.name),
                    format!("it is first set on line {line}"),
                );
                false
            }
            None => {
                seen.insert(e.name.clone(), e.key.start);
                true
            }
        });
        let used = vec![false; entries.len()];
        Section {
            span,
            entries,
            used,
        }
    }

    pub fn take(&mut self, name: &str) -> Option<Entry<'a, 'i>> {
        let i = self.entries.iter().position(|e| e.name == name)?;
        self.used[i] = true;
        Some(self.entries[i].clone())
    }

    pub fn require(
        &mut self,
        p: &mut Reader<'_>,
        name: &str,
        what: &str,
        example: &str,
    ) -> Option<Entry<'a, 'i>> {
        let e = self.take(name);
        if e.is_none() {
            p.error_help(
                self.span.clone(),
                format!("missing `{name}` in {what}"),
                format!("add `{name} = {example}`"),
            );
        }
        e
    }

    /// The entries not taken yet (taking them).
    pub fn rest(&mut self) -> Vec<Entry<'a, 'i>> {
        let rest = self
            .entries
            .iter()
            .zip(&self.used)
            .filter(|(_, u)| !**u)
            .map(|(e, _)| e.clone())
            .collect();
        self.used.iter_mut().for_each(|u| *u = true);
        rest
    }

    /// Reports every key not taken. `list` adds the allowed keys to the help even when there is
    /// a suggestion (for tables whose keys depend on another key, like a fault's action).
    pub fn finish(mut self, p: &mut Reader<'_>, what: &str, allowed: &[&str], list: bool) {
        // Allowed keys left over were understood but not needed (a fault whose action is
        // invalid): not worth a second problem.
        for e in self
            .rest()
            .into_iter()
            .filter(|e| !allowed.contains(&e.name.as_str()))
        {
            let takes = format!("{what} takes {}", allowed.join(", "));
            let help = match closest(&e.name, allowed.iter().copied()) {
                Some(s) if list => format!("did you mean `{s}`? ({takes})"),
                Some(s) => format!("did you mean `{s}`?"),
                None => takes,
            };
            p.error_help(
                e.key.clone(),
                format!("unknown key `{}` in {what}", e.name),
                help,
            );
        }
    }
}

pub fn flatten<'a, 'i>(
    text: &str,
    table: &'a DeTable<'i>,
    prefix: Option<(&str, usize)>,
    whole: &[&str],
    out: &mut Vec<Entry<'a, 'i>>,
) {
    for (k, v) in table.iter() {
        let (name, start) = match prefix {
            Some((pre, start)) => (format!("{pre}.{}", k.get_ref()), start),
            None => (k.get_ref().to_string(), k.span().start),
        };
        if let DeValue::Table(t) = v.get_ref() {
            // An empty table stays an entry so that it is reported rather than ignored.
            if !t.is_empty() && !whole.contains(&name.as_str()) {
                flatten(text, t, Some((&name, start)), whole, out);
                continue;
            }
        }
        let end = k.span().end;
        let one_line = start <= end && text.get(start..end).is_some_and(|s| !s.contains('\n'));
        let key = if one_line { start..end } else { k.span() };
        out.push(Entry {
            name,
            key,
            value: v,
        });
    }
}

/// Collects the problems of one file and reads its values, each problem at the value's place.
pub struct Reader<'t> {
    pub text: &'t str,
    pub problems: Vec<Problem>,
}

impl<'t> Reader<'t> {
    pub fn new(text: &'t str) -> Self {
        Reader {
            text,
            problems: Vec::new(),
        }
    }

    /// `Ok` when nothing was wrong, else every problem in file order (the order a reader
    /// fixes them in).
    pub fn finish(self, file: &str) -> Result<(), ScenarioError> {
        if self.problems.is_empty() {
            return Ok(());
        }
        let mut problems = self.problems;
        problems.sort_by_key(|p| p.span.start);
        problems.dedup();
        Err(ScenarioError {
            file: file.to_string(),
            text: self.text.to_string(),
            problems,
        })
    }

    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.push(span, message.into(), None);
    }

    pub fn error_help(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(span, message.into(), Some(help.into()));
    }

    pub fn push(&mut self, span: Range<usize>, message: String, help: Option<String>) {
        // Spans are made to fit the text so that nothing downstream (miette) slices off it.
        let start = floor_char_boundary(self.text, span.start);
        let end = floor_char_boundary(self.text, span.end.max(start));
        self.problems.push(Problem {
            span: start..end,
            message,
            help,
        });
    }

    pub fn line(&self, offset: usize) -> usize {
        line_col(self.text, offset).0
    }

    /// A value as a message shows it: scalars as written, containers by kind.
    pub fn found(&self, v: &Val<'_>) -> String {
        match v.get_ref() {
            DeValue::String(s) => quote(s),
            DeValue::Array(_) => "an array".into(),
            DeValue::Table(_) => "a table".into(),
            other => match self.text.get(v.span()).map(str::trim) {
                Some(src) if !src.is_empty() && src.len() <= 40 && !src.contains('\n') => {
                    src.to_string()
                }
                _ if other.is_integer() => "an integer".into(),
                _ => format!("a {}", other.type_str()),
            },
        }
    }

    pub fn invalid(&mut self, name: &str, v: &Val<'_>, expected: &str, help: Option<String>) {
        let message = format!("`{name}`: {expected}, found {}", self.found(v));
        self.push(v.span(), message, help);
    }

    // ---- values ----

    pub fn string<'a>(&mut self, name: &str, v: &'a Val<'_>) -> Option<&'a str> {
        match v.get_ref() {
            DeValue::String(s) => Some(s),
            other => {
                let help = match other {
                    DeValue::Array(_) | DeValue::Table(_) => None,
                    _ => Some(format!("put it in quotes: \"{}\"", self.found(v))),
                };
                self.invalid(name, v, "expected a string", help);
                None
            }
        }
    }

    pub fn nonempty_string<'a>(&mut self, name: &str, v: &'a Val<'_>) -> Option<&'a str> {
        let s = self.string(name, v)?;
        if s.trim().is_empty() {
            self.error(v.span(), format!("`{name}` must not be empty"));
            return None;
        }
        Some(s)
    }

    pub fn int(&mut self, name: &str, v: &Val<'_>, min: i64, max: i64) -> Option<i64> {
        let range = if max == i64::MAX {
            format!("at least {min}")
        } else {
            format!("between {min} and {max}")
        };
        match v.get_ref() {
            DeValue::Integer(i) => match int_value(i) {
                Some(i) if (min..=max).contains(&i) => Some(i),
                _ => {
                    self.invalid(name, v, &format!("must be {range}"), None);
                    None
                }
            },
            other => {
                let help = match other {
                    DeValue::String(s) if s.trim().parse::<i64>().is_ok() => {
                        Some(format!("remove the quotes: {}", s.trim()))
                    }
                    _ => None,
                };
                self.invalid(name, v, &format!("expected an integer {range}"), help);
                None
            }
        }
    }

    pub fn bool(&mut self, name: &str, v: &Val<'_>) -> Option<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                let help = match other {
                    DeValue::String(s) if s == "true" || s == "false" => {
                        Some(format!("remove the quotes: {s}"))
                    }
                    _ => None,
                };
                self.invalid(name, v, "expected true or false", help);
                None
            }
        }
    }

    /// A number that may be written as a TOML integer or float.
    pub fn number(
        &mut self,
        name: &str,
        v: &Val<'_>,
        min: f64,
        max: f64,
        expected: &str,
    ) -> Option<f64> {
        let n = match v.get_ref() {
            DeValue::Integer(i) => int_value(i).map(|i| i as f64),
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if n.is_finite() && n >= min && n <= max => Some(n),
            _ => {
                self.invalid(name, v, expected, None);
                None
            }
        }
    }

    pub fn choice<'c>(&mut self, name: &str, v: &Val<'_>, options: &[&'c str]) -> Option<&'c str> {
        let expected = format!(
            "expected one of {}",
            options
                .iter()
                .map(|o| quote(o))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let DeValue::String(s) = v.get_ref() else {
            self.invalid(name, v, &expected, None);
            return None;
        };
        if let Some(o) = options.iter().find(|o| **o == s.as_ref()) {
            return Some(o);
        }
        let help = closest(s, options.iter().copied()).map(|o| format!("did you mean \"{o}\"?"));
        self.invalid(name, v, &expected, help);
        None
    }

    pub fn duration(&mut self, name: &str, v: &Val<'_>) -> Option<Millis> {
        let result = match v.get_ref() {
            DeValue::Integer(i) => match int_value(i) {
                Some(ms) if ms >= 0 => Ok(ms as Millis),
                Some(_) => Err(Some("durations cannot be negative".to_string())),
                None => Err(Some("that is far too long".to_string())),
            },
            DeValue::String(s) => parse_duration(s).map_err(|h| h.map(str::to_string)),
            DeValue::Float(_) => Err(Some(
                "a bare number is whole milliseconds; write \"1.5s\" for fractions".into(),
            )),
            _ => Err(None),
        };
        match result {
            Ok(ms) => Some(ms),
            Err(help) => {
                self.invalid(name, v, DURATION_EXAMPLES, help);
                None
            }
        }
    }

    pub fn table<'a, 'i>(
        &mut self,
        name: &str,
        v: &'a Val<'i>,
        help: &str,
    ) -> Option<&'a DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.invalid(name, v, "expected a table", Some(help.to_string()));
                None
            }
        }
    }

    /// An array of tables: `[[topics]]` sections or an inline `[{...}, {...}]`.
    pub fn tables<'a, 'i>(
        &mut self,
        name: &str,
        v: &'a Val<'i>,
        header: &str,
    ) -> Vec<(&'a DeTable<'i>, Range<usize>)> {
        let DeValue::Array(items) = v.get_ref() else {
            self.invalid(
                name,
                v,
                "expected an array of tables",
                Some(format!(
                    "write {header} (double brackets) before each entry"
                )),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::Table(t) => out.push((t, item.span())),
                _ => self.invalid(name, item, "expected a table", None),
            }
        }
        out
    }
}

/// Byte offset to 1-based line and character column.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

pub fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut i = offset.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

pub fn int_value(i: &DeInteger<'_>) -> Option<i64> {
    i64::from_str_radix(i.as_str(), i.radix()).ok()
}

pub fn quote(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() > MAX {
        let cut: String = s.chars().take(MAX - 3).collect();
        format!("{:?}", cut + "...")
    } else {
        format!("{s:?}")
    }
}

pub fn plural(n: u32, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Renders milliseconds the way a scenario would write them.
pub fn fmt_ms(ms: Millis) -> String {
    if ms > 0 && ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms > 0 && ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// `"500ms"`, `"5s"`, `"1.5s"`, `"2m"`, `"1h"` to milliseconds. The error is a help text when
/// something more specific than the expected forms can be said.
pub fn parse_duration(s: &str) -> Result<Millis, Option<&'static str>> {
    let s = s.trim();
    if s.starts_with('-') {
        return Err(Some("durations cannot be negative"));
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let factor = match unit.trim() {
        "ms" => 1.0,
        "s" => 1000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        "" if !number.is_empty() => {
            return Err(Some(
                "add a unit, as in \"500ms\"; an integer without quotes is milliseconds",
            ))
        }
        _ if !number.is_empty() => return Err(Some("the units are ms, s, m and h")),
        _ => return Err(None),
    };
    if !number.bytes().any(|b| b.is_ascii_digit()) {
        return Err(None);
    }
    let n: f64 = number.parse().map_err(|_| None)?;
    let ms = n * factor;
    if !ms.is_finite() || ms > 1e15 {
        return Err(Some("that is far too long"));
    }
    if (ms - ms.round()).abs() > 1e-6 {
        return Err(Some("durations are whole milliseconds"));
    }
    Ok(ms.round() as Millis)
}

/// The candidate closest to `word`, if close enough to be what was meant. Separators and case
/// are ignored first, so `min_insync_replicas` finds `min.insync.replicas`.
pub fn closest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['_', '-', ' '], ".");
    let w = norm(word);
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let n = norm(c);
        let score = if n == w {
            2.0
        } else {
            strsim::jaro_winkler(&w, &n)
        };
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.filter(|(score, _)| *score >= 0.85).map(|(_, c)| c)
}

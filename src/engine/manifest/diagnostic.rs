//! Located problems in manifests, rendered by miette with a source snippet.

use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity, SourceCode, SourceSpan};

/// One manifest file's text, shared by every diagnostic that points into it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user should see it.
    pub name: String,
    pub text: Arc<str>,
    /// Byte offset where each line starts (so positions are found in O(log n)).
    line_starts: Arc<[usize]>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        let text: Arc<str> = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        (line, self.text[start..offset].chars().count() + 1)
    }

    /// Byte offset of a 1-based line and column (columns counted in characters).
    pub fn offset_of(&self, line: usize, col: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        let within: usize = self.text[start..end]
            .chars()
            .take(col.saturating_sub(1))
            .map(char::len_utf8)
            .sum();
        start + within
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A problem found in the manifests: an error (validation fails) or a warning.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Problem {
    pub message: String,
    pub src: Option<NamedSource<Arc<str>>>,
    pub span: Option<SourceSpan>,
    pub label: String,
    pub help: Option<String>,
    pub severity: Severity,
    /// `file:line:col`, for machine-readable listings and tests.
    pub location: Option<String>,
    /// The same, structured (with where the span ends), for `-o json` and
    /// CI annotations.
    pub position: Option<Position>,
}

/// Where a problem is: a file, and a range in it when one is known.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_column: Option<usize>,
}

impl Diagnostic for Problem {
    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.src.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span?;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(self.label.clone()),
            span,
        ))))
    }
}

impl Problem {
    /// An error at a byte range of a file. Messages quote manifest values,
    /// which may hold control characters (YAML's `"\e"`): they are
    /// neutralized here, once, for every output.
    pub fn at(file: &SourceFile, offset: usize, len: usize, message: impl Into<String>) -> Self {
        let (line, col) = file.line_col(offset);
        let (end_line, end_column) = file.line_col(offset + len);
        Problem {
            message: clean(message.into()),
            src: Some(NamedSource::new(file.name.clone(), file.text.clone())),
            span: Some(SourceSpan::new(offset.into(), len)),
            label: "here".into(),
            help: None,
            severity: Severity::Error,
            location: Some(format!("{}:{line}:{col}", file.name)),
            position: Some(Position {
                file: file.name.clone(),
                line: Some(line),
                column: Some(col),
                end_line: Some(end_line),
                end_column: Some(end_column),
            }),
        }
    }

    /// An error about a whole file (or no file at all): the message starts
    /// with the path, since there is no snippet to show it.
    pub fn file(name: &str, message: impl Into<String>) -> Self {
        Problem {
            message: clean(format!("{name}: {}", message.into())),
            src: None,
            span: None,
            label: String::new(),
            help: None,
            severity: Severity::Error,
            location: Some(name.to_string()),
            position: Some(Position {
                file: name.to_string(),
                line: None,
                column: None,
                end_line: None,
                end_column: None,
            }),
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = clean(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(clean(help.into()));
        self
    }

    /// Set the help of a recorded problem (neutralized like the message).
    pub fn set_help(&mut self, help: impl Into<String>) {
        self.help = Some(clean(help.into()));
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    fn severity_name(&self) -> &'static str {
        match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Advice => "notice",
        }
    }

    /// The problem as one JSON object (`-o json`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "severity": self.severity_name(),
            "message": self.message,
        });
        if let Some(p) = &self.position {
            v["position"] = serde_json::to_value(p).unwrap_or_default();
        }
        if let Some(h) = &self.help {
            v["help"] = h.clone().into();
        }
        v
    }

    /// The problem as a GitHub Actions workflow command, so it shows on the
    /// pull request's diff at its line. Values are escaped as the runner
    /// requires (`%`, CR, LF everywhere; `:` and `,` in properties too), so
    /// no message can end the command early or inject another.
    pub fn github_annotation(&self) -> String {
        let mut props = Vec::new();
        if let Some(p) = &self.position {
            props.push(format!("file={}", gh_property(&p.file)));
            let pairs = [
                ("line", p.line),
                ("col", p.column),
                ("endLine", p.end_line),
                ("endColumn", p.end_column),
            ];
            for (k, v) in pairs {
                if let Some(v) = v {
                    props.push(format!("{k}={v}"));
                }
            }
        }
        props.push(format!("title={}", gh_property("twinform")));
        let mut message = self.message.clone();
        if let Some(h) = &self.help {
            message.push_str("\nhelp: ");
            message.push_str(h);
        }
        format!(
            "::{} {}::{}",
            self.severity_name(),
            props.join(","),
            gh_data(&message)
        )
    }
}

/// A warning that belongs to no file position (a plan's warning, such as a
/// schedule the platform paused) as a GitHub workflow command, escaped like
/// [`Problem::github_annotation`].
pub fn github_warning(message: &str) -> String {
    format!(
        "::warning title={}::{}",
        gh_property("twinform"),
        gh_data(message)
    )
}

/// Every problem of a run as one versioned JSON document.
pub fn problems_json(problems: &[Problem]) -> serde_json::Value {
    let errors = problems.iter().filter(|p| p.is_error()).count();
    serde_json::json!({
        "format_version": "1",
        "twinform_version": env!("CARGO_PKG_VERSION"),
        "valid": errors == 0,
        "errors": errors,
        "warnings": problems.len() - errors,
        "problems": problems.iter().map(Problem::to_json).collect::<Vec<_>>(),
    })
}

fn gh_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn gh_property(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn clean(s: String) -> String {
    crate::engine::output::neutralize(&s).into_owned()
}

/// The closest candidate to `word` by edit distance, if it is close enough.
/// Problems as one report: by file, then position (a problem about a
/// whole file first), keeping the order found among equals.
pub fn sorted(mut problems: Vec<Problem>) -> Vec<Problem> {
    problems.sort_by(|a, b| {
        let key = |p: &Problem| {
            p.position.as_ref().map(|pos| {
                (
                    pos.file.clone(),
                    pos.line.unwrap_or(0),
                    pos.column.unwrap_or(0),
                )
            })
        };
        key(a).cmp(&key(b))
    });
    problems
}

pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (levenshtein(word, c), *c))
        // Never the word itself: `model` is not a suggestion for `model`
        // (the word is right; the place is wrong).
        .filter(|(d, c)| *d > 0 && *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_sorted_by_file_and_position() {
        let b = SourceFile::new("b.yaml", "x: 1\ny: 2\n");
        let a = SourceFile::new("a.yaml", "x: 1\ny: 2\n");
        let report = sorted(vec![
            Problem::at(&b, 5, 1, "b2"),
            Problem::at(&a, 5, 1, "a2"),
            Problem::at(&b, 0, 1, "b1"),
            Problem::file("a.yaml", "a0"),
            Problem::at(&a, 0, 1, "a1"),
        ]);
        let order: Vec<&str> = report.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(order, ["a.yaml: a0", "a1", "a2", "b1", "b2"]);
    }

    #[test]
    fn the_word_itself_is_never_suggested() {
        assert_eq!(did_you_mean("model", &["model", "modle"]), Some("modle"));
        assert_eq!(did_you_mean("vars", &["vars"]), None);
    }

    #[test]
    fn suggestions_are_close_words_only() {
        assert_eq!(
            did_you_mean("schedul", &["schedule", "webhooks"]),
            Some("schedule")
        );
        assert_eq!(did_you_mean("zzz", &["schedule", "webhooks"]), None);
    }

    #[test]
    fn github_annotations_cannot_be_broken_out_of() {
        let f = SourceFile::new("dir,x/a:b.yaml", "name: x\nid: y\n");
        let p = Problem::at(&f, 8, 5, "bad\n::error::forged 100%").help("fix, it");
        assert_eq!(
            p.github_annotation(),
            "::error file=dir%2Cx/a%3Ab.yaml,line=2,col=1,endLine=2,endColumn=6,title=twinform::bad%0A::error::forged 100%25%0Ahelp: fix, it"
        );
        let mut w = Problem::file("x.yaml", "cannot read");
        w.severity = Severity::Warning;
        assert_eq!(
            w.github_annotation(),
            "::warning file=x.yaml,title=twinform::x.yaml: cannot read"
        );
    }

    #[test]
    fn line_and_column_round_trip() {
        let f = SourceFile::new("a.yaml", "ab\ncdé\nx");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(4), (2, 2));
        assert_eq!(f.offset_of(2, 2), 4);
        assert_eq!(f.offset_of(3, 1), 8);
    }
}

//! [`TextSource`]: long text (a prompt, instructions, a memory entry) given
//! inline, as a file next to the manifest, or as a template.
//!
//! Templates are Jinja-compatible (minijinja): `{template: prompts/x.md.j2,
//! vars: {tone: friendly}}`. The template path is relative to the manifest;
//! `{% include "fragments/rules.md" %}` names are relative to the manifest
//! root, and every file a template reads must resolve inside the root (as
//! for `{file: …}`). An undefined variable is an error, and every error is
//! reported at the template's file:line:col.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Location;

use super::diagnostic::{Problem, SourceFile};
use super::load::{read_text, Content, MAX_FILE_BYTES};
use super::text::Rendered;
use super::{Document, LoadContext, Text};

/// Text inline, or read from a file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TextSource {
    /// The text itself (`${VAR}` interpolation applies).
    Inline(String),
    /// A file holding the text, relative to the manifest that names it
    /// (taken as written: no interpolation).
    File(FileRef),
    /// A template rendered with `vars`.
    Template(TemplateRef),
}

/// `{template: prompts/x.md.j2, vars: {…}}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRef {
    /// Path relative to this manifest; must stay inside the manifest root.
    pub template: String,
    /// Variables the template uses (`{{ tone }}`).
    #[serde(default)]
    pub vars: BTreeMap<String, serde_json::Value>,
}

/// `{file: prompts/x.md}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    /// Path relative to this manifest; must stay inside the manifest root.
    pub file: String,
}

/// `v` with `${var.NAME}` substituted in every string in it.
fn with_vars(
    v: &serde_json::Value,
    vars: &super::interpolate::Vars,
) -> Result<serde_json::Value, super::interpolate::InterpolateError> {
    use serde_json::Value as J;
    Ok(match v {
        J::String(s) => J::String(super::interpolate::substitute_vars(s, vars)?),
        J::Array(a) => J::Array(
            a.iter()
                .map(|x| with_vars(x, vars))
                .collect::<Result<_, _>>()?,
        ),
        J::Object(m) => J::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), with_vars(x, vars)?)))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

/// How much work one template may do (minijinja's fuel: roughly one unit
/// per instruction). Real prompts use a few thousand.
const TEMPLATE_FUEL: u64 = 5_000_000;

impl LoadContext<'_> {
    /// The text of a [`TextSource`] of `doc` at `at`: interpolated when
    /// inline, read (confined to the manifest root) when a file; CRLF line
    /// endings become LF. `what` names it in messages ("instruction file").
    pub fn text_source(
        &mut self,
        doc: &Document,
        at: &Location,
        source: &TextSource,
        what: &str,
    ) -> Option<Text> {
        let text = match source {
            TextSource::Inline(s) => {
                let spanned = serde_saphyr::Spanned::new(s.clone(), *at, *at);
                self.text(doc, &spanned)?
            }
            TextSource::File(f) => Text::plain(&self.read_file(doc, at, what, &f.file)?),
            TextSource::Template(t) => self.render(doc, at, t)?,
        };
        Some(if text.expose().contains('\r') {
            text.map(|s| s.replace("\r\n", "\n"))
        } else {
            text
        })
    }
}

/// What a template read while rendering: every file by its name (relative
/// to the root), in the order first read.
#[derive(Default)]
struct Reads {
    order: Vec<String>,
    text: HashMap<String, String>,
    problems: Vec<Problem>,
}

/// A manifest value as a template value.
fn jinja(v: &serde_json::Value) -> minijinja::Value {
    use serde_json::Value as J;
    match v {
        J::Null => minijinja::Value::from(()),
        J::Bool(b) => minijinja::Value::from(*b),
        J::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => minijinja::Value::from(i),
            (None, Some(f)) => minijinja::Value::from(f),
            _ => minijinja::Value::from(n.to_string()),
        },
        J::String(s) => minijinja::Value::from(s.as_str()),
        J::Array(a) => a.iter().map(jinja).collect(),
        J::Object(m) => minijinja::Value::from_pairs(m.iter().map(|(k, v)| (k.as_str(), jinja(v)))),
    }
}

/// A path as people see it: relative to the working directory when inside it.
fn shown(path: &Path) -> String {
    let cwd = std::env::current_dir().and_then(std::fs::canonicalize).ok();
    match cwd.as_deref().and_then(|c| path.strip_prefix(c).ok()) {
        Some(rel) => rel.display().to_string(),
        None => path.display().to_string(),
    }
}

impl LoadContext<'_> {
    /// Render a template of `doc`; problems are recorded at the template's
    /// own file:line:col (or at `at` when the template cannot be found).
    fn render(&mut self, doc: &Document, at: &Location, t: &TemplateRef) -> Option<Text> {
        let dir = self.paths[doc.file]
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let resolved = match std::fs::canonicalize(dir.join(&t.template)) {
            Ok(p) => p,
            Err(e) => {
                self.error(
                    doc,
                    at,
                    format!("template `{}` cannot be read: {e}", t.template),
                );
                return None;
            }
        };
        if let Err(why) = super::load::readable(&self.root, &self.allowed_hidden, &resolved) {
            self.error(doc, at, format!("template `{}` {why}", t.template))
                .set_help("templates must resolve (symlinks included) inside the manifest root, outside hidden folders");
            return None;
        }
        let Ok(name) = resolved
            .strip_prefix(&self.root)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
        else {
            return None;
        };
        let root: PathBuf = self.root.clone();
        let allowed = self.allowed_hidden.clone();
        let reads: Arc<Mutex<Reads>> = Arc::default();
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        // A hostile template (nested loops) stops with an error, not a hang.
        env.set_fuel(Some(TEMPLATE_FUEL));
        if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
        {
            env.set_syntax(syntax);
        }
        let loader_reads = reads.clone();
        env.set_loader(move |name: &str| {
            let refused =
                |why: String| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, why);
            let path = std::fs::canonicalize(root.join(name))
                .map_err(|e| refused(format!("`{name}` cannot be read: {e}")))?;
            if let Err(why) = super::load::readable(&root, &allowed, &path) {
                return Err(refused(format!("`{name}` {why}")));
            }
            let mut problems = Vec::new();
            let text = read_text(&path, Content::Text, &mut problems);
            let mut r = loader_reads
                .lock()
                .map_err(|_| refused("internal error".into()))?;
            r.problems.extend(problems);
            let Some(text) = text else {
                return Ok(None);
            };
            let text = text
                .strip_prefix('\u{feff}')
                .unwrap_or(&text)
                .replace("\r\n", "\n");
            if !r.text.contains_key(name) {
                r.order.push(name.to_string());
                r.text.insert(name.to_string(), text.clone());
            }
            Ok(Some(text))
        });
        // The tree's variables are `var` in every template; `vars` values may
        // name them as `${var.NAME}` too.
        env.add_global("var", jinja(&self.vars.to_json()));
        let mut given = Vec::with_capacity(t.vars.len());
        for (k, v) in &t.vars {
            match with_vars(v, &self.vars) {
                Ok(v) => given.push((k.as_str(), jinja(&v))),
                Err(e) => {
                    self.error(doc, at, format!("template variable `{k}`: {e}"));
                    return None;
                }
            }
        }
        let vars = minijinja::Value::from_pairs(given);
        let result = env.get_template(&name).and_then(|tpl| tpl.render(vars));
        let mut r = match reads.lock() {
            Ok(mut r) => std::mem::take(&mut *r),
            Err(_) => Reads::default(),
        };
        self.mark_template_vars(&env, std::iter::once(&name).chain(&r.order));
        self.problems.append(&mut r.problems);
        match result {
            Ok(text) if text.len() as u64 > MAX_FILE_BYTES => {
                self.error(
                    doc,
                    at,
                    format!(
                        "template `{}` renders {} bytes, over the {MAX_FILE_BYTES}-byte limit of a text",
                        t.template,
                        text.len()
                    ),
                );
                None
            }
            Ok(text) => {
                let fragments = r
                    .order
                    .iter()
                    .filter(|n| **n != name)
                    .map(|n| (n.clone(), r.text.get(n).cloned().unwrap_or_default()))
                    .collect();
                Some(Text::rendered(
                    text,
                    Rendered {
                        template: name,
                        fragments,
                    },
                ))
            }
            Err(e) => {
                self.template_error(doc, at, &e, &r);
                None
            }
        }
    }

    /// Count the tree's variables that the templates `names` (a template
    /// and what it included) name as used: `var.NAME` anywhere in them, in
    /// branches not taken too; `var` taken whole (`var[key]`, `{% for … in
    /// var %}`) counts every variable.
    fn mark_template_vars<'n>(
        &self,
        env: &minijinja::Environment,
        names: impl Iterator<Item = &'n String>,
    ) {
        for name in names {
            let Ok(tpl) = env.get_template(name) else {
                continue;
            };
            for used in tpl.undeclared_variables(true) {
                if used == "var" {
                    // `var["name"]` names one; anything else takes it whole.
                    match literal_subscripts(tpl.source()) {
                        Some(names) => names.iter().for_each(|n| self.vars.mark_used(n)),
                        None => self.vars.mark_all_used(),
                    }
                } else if let Some(rest) = used.strip_prefix("var.") {
                    self.vars
                        .mark_used(rest.split('.').next().unwrap_or_default());
                }
            }
        }
    }

    /// A template error at the line (and span) minijinja names, in the
    /// template it names; at the manifest when it names none.
    fn template_error(&mut self, doc: &Document, at: &Location, e: &minijinja::Error, r: &Reads) {
        let detail = e
            .detail()
            .map_or_else(|| e.kind().to_string(), str::to_string);
        let message = format!("template error: {detail}");
        let source = e.name().and_then(|n| Some((n, r.text.get(n)?)));
        match (source, e.line()) {
            (Some((name, text)), Some(line)) => {
                let file = SourceFile::new(shown(&self.root.join(name)), text.as_str());
                let (offset, len) = match e.range() {
                    Some(range) if range.end <= text.len() => {
                        (range.start, range.end - range.start)
                    }
                    _ => (file.offset_of(line, 1), 0),
                };
                self.problems.push(Problem::at(&file, offset, len, message));
            }
            _ => {
                self.error(doc, at, message);
            }
        }
    }
}

/// The names of `var["name"]` / `var['name']` in a template's expressions
/// and statements; `None` when `var` is used any other way there (taken
/// whole: a loop over it, a computed subscript), which uses every variable.
fn literal_subscripts(source: &str) -> Option<Vec<String>> {
    let mut names = Vec::new();
    let mut rest = source;
    while let Some(open) = rest.find(['{']) {
        let after = &rest[open + 1..];
        let close = match after.chars().next() {
            Some('{') => "}}",
            Some('%') => "%}",
            _ => {
                rest = after;
                continue;
            }
        };
        let body_start = &after[1..];
        let end = body_start.find(close).unwrap_or(body_start.len());
        let body = &body_start[..end];
        let ident = |c: char| c.is_alphanumeric() || c == '_';
        let mut i = 0;
        while let Some(pos) = body[i..].find("var") {
            let at = i + pos;
            let before_ok = body[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !ident(c) && c != '.');
            let tail = &body[at + 3..];
            let after_ok = tail.chars().next().is_none_or(|c| !ident(c));
            i = at + 3;
            if !(before_ok && after_ok) {
                continue;
            }
            let tail = tail.trim_start();
            if tail.starts_with('.') {
                continue;
            }
            let sub = tail.strip_prefix('[')?.trim_start();
            let quote = sub.chars().next().filter(|q| *q == '"' || *q == '\'')?;
            let inner = &sub[1..];
            let name_end = inner.find(quote)?;
            let (name, closing) = inner.split_at(name_end);
            if !closing[1..].trim_start().starts_with(']') {
                return None;
            }
            names.push(name.to_string());
        }
        rest = &body_start[(end + close.len()).min(body_start.len())..];
    }
    Some(names)
}

#[cfg(test)]
mod subscript_tests {
    use super::literal_subscripts;

    #[test]
    fn literal_subscripts_name_their_variable_and_anything_else_takes_all() {
        assert_eq!(
            literal_subscripts("Hi {{ var[\"a\"] }} and {{ var['b'] }} {{ var.c }} var[x]"),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(
            literal_subscripts("{% for k in var %}{{ k }}{% endfor %}"),
            None
        );
        assert_eq!(literal_subscripts("{{ var[key] }}"), None);
        assert_eq!(
            literal_subscripts("{{ invar }} {{ variable }}"),
            Some(vec![])
        );
    }
}

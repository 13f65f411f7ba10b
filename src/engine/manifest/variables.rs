//! Variables of a tree, for environments: `kind: Variables` documents give
//! defaults, `--var-file`s (plain YAML maps kept outside the tree, later
//! wins) override them. They are referenced as `${var.NAME}` in interpolated
//! fields and identities, and as `var.NAME` in templates. Unlike environment
//! variables they are configuration, shown in plans as they are.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::diagnostic::{did_you_mean, Problem, SourceFile};
use super::interpolate::{is_var_name, Vars};
use super::load::{options, read_text, span_in, Content, Document, LoadContext};
use super::node::Node;
use super::schema::{schema_of, KindSchema};

/// The kind names of variables documents.
pub const KINDS: &[&str] = &["Variables"];

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub enum VariablesKind {
    Variables,
}

/// Defaults of the tree's variables, overridden by `--var-file`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VariablesDoc {
    pub kind: VariablesKind,
    /// Names (`[A-Za-z_][A-Za-z0-9_]*`) to values: strings, numbers, booleans,
    /// or lists and maps (usable in templates only).
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub vars: Spanned<BTreeMap<String, serde_json::Value>>,
}

impl super::load::Identities for VariablesDoc {}

/// The schema of the engine's own kind.
pub fn kinds() -> Vec<KindSchema> {
    vec![KindSchema {
        names: KINDS,
        definition: "VariablesDoc",
        schema: schema_of::<VariablesDoc>(),
    }]
}

pub use super::load::Setting;

/// Collect the tree's variables: every `Variables` document (a name set
/// twice is an error), then every var file in order (later wins).
pub fn collect(ctx: &mut LoadContext, docs: &[Document], var_files: &[PathBuf]) {
    let mut vars = Vars::default();
    for d in docs
        .iter()
        .filter(|d| KINDS.contains(&d.kind.value.as_str()))
    {
        let Some(doc) = ctx.parse::<VariablesDoc>(d) else {
            continue;
        };
        let file = ctx.files[d.file].clone();
        let keys = key_spans(&file, d.base, &d.text, Some("vars"));
        for name in doc.vars.value.keys() {
            let (offset, len) = keys
                .get(name)
                .copied()
                .unwrap_or_else(|| ctx.span(d.file, d.base, &doc.vars.referenced));
            ctx.var_settings.push(Setting {
                name: name.clone(),
                var_file: None,
                file: file.clone(),
                offset,
                len,
            });
        }
        let here = ctx.location(d, &doc.vars.referenced);
        for (name, value) in doc.vars.value {
            if !is_var_name(&name) {
                ctx.error(
                    d,
                    &doc.vars.referenced,
                    format!("`{name}` is not a variable name"),
                )
                .set_help("variable names match [A-Za-z_][A-Za-z0-9_]*");
            } else if let Some(first) = vars.origin(&name) {
                let first = first.to_string();
                ctx.error(
                    d,
                    &doc.vars.referenced,
                    format!("variable `{name}` is set twice"),
                )
                .set_help(format!(
                    "first set at {first}; a tree sets each default once"
                ));
            } else {
                vars.set(&name, value, &here);
            }
        }
    }
    for file in var_files {
        let name = file.display().to_string();
        let (values, source) = read_var_file(file, &mut ctx.problems);
        let keys = source
            .as_ref()
            .map(|f| key_spans(f, 0, &f.text, None))
            .unwrap_or_default();
        for (key, value) in values {
            if let (Some(f), Some(&(offset, len))) = (&source, keys.get(&key)) {
                ctx.var_settings.push(Setting {
                    name: key.clone(),
                    var_file: Some(name.clone()),
                    file: f.clone(),
                    offset,
                    len,
                });
            }
            vars.set(&key, value, &name);
        }
    }
    ctx.vars = vars;
}

/// Byte spans of the keys of the mapping `under` (or of the document itself),
/// by name: where a variable is set.
fn key_spans(
    file: &SourceFile,
    base: usize,
    text: &str,
    under: Option<&str>,
) -> BTreeMap<String, (usize, usize)> {
    let Ok(node) = serde_saphyr::from_str_with_options::<Spanned<Node>>(text, options()) else {
        return BTreeMap::new();
    };
    let map = match under {
        Some(key) => node.value.get(key),
        None => Some(&node),
    };
    map.map(|m| {
        m.value
            .keys()
            .map(|k| (k.value.clone(), span_in(file, base, &k.referenced)))
            .collect()
    })
    .unwrap_or_default()
}

/// Report every variable that is set (by a var file, or as a `Variables`
/// default) but that no manifest uses, at the key that sets it, with the
/// closest name the manifests do use: a misspelt var-file key would
/// otherwise leave production with the default, silently. A warning, or an
/// error with `strict` (`--strict-vars`). Only a tree without errors is
/// checked: a document that could not be read uses nothing.
pub fn check_unused(ctx: &mut LoadContext, strict: bool) {
    if ctx.has_errors() {
        return;
    }
    let used = ctx.vars.used();
    let candidates: Vec<&str> = used
        .iter()
        .map(String::as_str)
        .chain(ctx.var_settings.iter().map(|s| s.name.as_str()))
        .collect();
    let mut problems = Vec::new();
    for s in ctx.var_settings.iter().filter(|s| !used.contains(&s.name)) {
        let others: Vec<&str> = candidates
            .iter()
            .copied()
            .filter(|c| *c != s.name)
            .collect();
        let message = match &s.var_file {
            Some(_) => format!(
                "variable `{}` is set by this var file, but no manifest uses it",
                s.name
            ),
            None => format!(
                "variable `{}` has a default, but no manifest uses it",
                s.name
            ),
        };
        let mut help = match &s.var_file {
            Some(_) => "a misspelt name leaves the manifests with their default".to_string(),
            None => format!("remove it, or use it as ${{var.{}}}", s.name),
        };
        if !strict {
            help.push_str("; --strict-vars makes this an error");
        }
        if let Some(m) = did_you_mean(&s.name, &others) {
            help = format!("did you mean `{m}`? ({help})");
        }
        let mut p = Problem::at(&s.file, s.offset, s.len, message).help(help);
        if !strict {
            p.severity = miette::Severity::Warning;
        }
        problems.push(p);
    }
    ctx.problems.extend(problems);
}

/// A var file: a YAML map of names to values, and its text (for positions).
/// Problems name the file.
fn read_var_file(
    file: &Path,
    problems: &mut Vec<Problem>,
) -> (Vec<(String, serde_json::Value)>, Option<SourceFile>) {
    let name = file.display().to_string();
    let Some(text) = read_text(file, Content::Yaml, problems) else {
        return (Vec::new(), None);
    };
    let map: BTreeMap<String, serde_json::Value> = if text.trim().is_empty() {
        BTreeMap::new()
    } else {
        match serde_saphyr::from_str(&text) {
            Ok(m) => m,
            Err(e) => {
                problems.push(
                    Problem::file(
                        &name,
                        format!("not a var file: {}", first_line(&e.to_string())),
                    )
                    .help(
                        "a var file is a YAML map of variable names to values, e.g. `env: staging`",
                    ),
                );
                return (Vec::new(), None);
            }
        }
    };
    let mut out = Vec::new();
    for (k, v) in map {
        if is_var_name(&k) {
            out.push((k, v));
        } else {
            problems.push(
                Problem::file(&name, format!("`{k}` is not a variable name"))
                    .help("variable names match [A-Za-z_][A-Za-z0-9_]*"),
            );
        }
    }
    (out, Some(SourceFile::new(name, text)))
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

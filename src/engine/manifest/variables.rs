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

use super::diagnostic::Problem;
use super::interpolate::{is_var_name, Vars};
use super::load::{read_text, Content, Document, LoadContext};
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
        for (name, value) in read_var_file(file, &mut ctx.problems) {
            vars.set(&name, value, &file.display().to_string());
        }
    }
    ctx.vars = vars;
}

/// A var file: a YAML map of names to values. Problems name the file.
fn read_var_file(file: &Path, problems: &mut Vec<Problem>) -> Vec<(String, serde_json::Value)> {
    let name = file.display().to_string();
    let Some(text) = read_text(file, Content::Yaml, problems) else {
        return Vec::new();
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
                return Vec::new();
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
    out
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

//! Policy as code: Rego v1 rules over what the manifests declare and what a
//! plan changes, evaluated in process by regorus (no OPA binary), with
//! conftest's conventions, so policies people already write run here:
//!
//! - rules named `deny`, `violation` or `warn` (or starting with `deny_`,
//!   `violation_`, `warn_`) in package `main`, or in the packages given as
//!   namespaces, each yielding a message string or an object `{msg,
//!   address, field}`;
//! - `exception contains ["name"]` exempts the rule `deny_name` (or
//!   `violation_name`, `warn_name`) as conftest does;
//! - `test_*` rules are tests, as `opa test` runs them ([`test`]).
//!
//! The input is the plan document plus what each document declares
//! ([`input`]). Findings become located [`Problem`]s ([`verdict`]): at the
//! named field of the named resource, else at the resource, else at the
//! rule. Evaluation is bounded ([`run`]): regorus checks a deadline as it
//! works, and the whole evaluation runs on a thread the caller stops
//! waiting for at the same deadline, so no policy can hang a command.

pub mod input;
mod run;
pub mod test;
mod verdict;

use std::path::PathBuf;
use std::time::Duration;

use regorus::unstable::{Expr, Rule as RegoRule, RuleHead};

use crate::engine::manifest::diagnostic::{did_you_mean, Problem, SourceFile};
use crate::engine::manifest::load::{read_text, Content};

pub use verdict::{FieldRef, Finding, Severity, Verdict};

/// The package evaluated when no namespace is given (conftest's default).
pub const DEFAULT_NAMESPACE: &str = "main";

/// Rule name prefixes that yield findings, and how severe each is.
const PREFIXES: &[(&str, Severity)] = &[
    ("deny", Severity::Deny),
    ("violation", Severity::Deny),
    ("warn", Severity::Warn),
];

/// A rule of a loaded policy: its package, name and where it is first defined.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `main`, `twinform.rules`: the package as written.
    pub package: String,
    pub name: String,
    /// Index into [`PolicySet::files`].
    pub file: usize,
    pub line: usize,
    pub column: usize,
}

impl Rule {
    /// `data.main.deny_x`: the path regorus evaluates.
    fn path(&self) -> String {
        format!("data.{}.{}", self.package, self.name)
    }

    /// `main.deny_x`, as messages name it.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.package, self.name)
    }

    /// The severity of a finding rule (`None`: not a finding rule).
    fn severity(&self) -> Option<Severity> {
        PREFIXES.iter().find_map(|(p, s)| {
            (self.name == *p || self.name.strip_prefix(p)?.starts_with('_')).then_some(*s)
        })
    }

    /// What an exception names to exempt it: `x` for `deny_x` (bare
    /// `deny` cannot be excepted, as in conftest).
    fn exception_name(&self) -> Option<&str> {
        PREFIXES
            .iter()
            .find_map(|(p, _)| self.name.strip_prefix(p)?.strip_prefix('_'))
    }
}

/// Policies loaded from `--policy` directories, ready to evaluate.
#[derive(Clone)]
pub struct PolicySet {
    engine: regorus::Engine,
    /// Every policy file, as problems show it.
    pub files: Vec<SourceFile>,
    /// Every rule of every package (first definition of each name).
    pub rules: Vec<Rule>,
    /// The packages whose finding rules are evaluated.
    pub namespaces: Vec<String>,
    /// How long an evaluation may take, in all.
    pub timeout: Duration,
    /// The `--policy` paths, for messages about no file in particular.
    shown: String,
}

impl std::fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySet")
            .field("files", &self.files.len())
            .field("rules", &self.rules.len())
            .field("namespaces", &self.namespaces)
            .finish()
    }
}

/// The `*.rego` files below each of `paths` (a file is taken as it is),
/// sorted; hidden files and folders are skipped.
fn discover(paths: &[PathBuf], problems: &mut Vec<Problem>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        match std::fs::metadata(path) {
            Err(e) => problems.push(Problem::file(&name, format!("cannot read policies: {e}"))),
            Ok(m) if !m.is_dir() => out.push(path.clone()),
            Ok(_) => {
                let before = out.len();
                let walker = ignore::WalkBuilder::new(path)
                    .standard_filters(false)
                    .hidden(true)
                    .follow_links(true)
                    .build();
                let mut found: Vec<PathBuf> = walker
                    .filter_map(Result::ok)
                    .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
                    .map(|e| e.into_path())
                    .filter(|p| p.extension().is_some_and(|x| x == "rego"))
                    .collect();
                found.sort();
                out.extend(found);
                if out.len() == before {
                    problems.push(Problem::file(&name, "no policies found (*.rego)"));
                }
            }
        }
    }
    out.dedup();
    out
}

/// A regorus error (`--> file:line:col` and `error: …` in its text) as a
/// problem at that place of the policy file it names, else about `fallback`.
pub(crate) fn rego_problem(files: &[SourceFile], fallback: &str, error: &str) -> Problem {
    let message = error
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .unwrap_or_else(|| error.trim())
        .to_string();
    let place = error
        .lines()
        .find_map(|l| l.trim().strip_prefix("--> "))
        .and_then(|at| {
            let mut parts = at.rsplitn(3, ':');
            let col: usize = parts.next()?.trim().parse().ok()?;
            let line: usize = parts.next()?.trim().parse().ok()?;
            let file = parts.next()?;
            Some((file.to_string(), line, col))
        });
    match place.and_then(|(f, l, c)| Some((files.iter().find(|s| s.name == f)?, l, c))) {
        Some((file, line, col)) => {
            let offset = file.offset_of(line, col);
            Problem::at(file, offset, 1, format!("policy error: {message}"))
        }
        None => Problem::file(fallback, format!("policy error: {message}")),
    }
}

/// The leading name of a rule head (`deny` of `deny contains msg`,
/// `deny["x"]`).
fn head_name(refr: &Expr) -> String {
    refr.span()
        .text()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Every rule (first definition of each package and name) of the loaded modules.
fn rules_of(engine: &mut regorus::Engine, files: &[SourceFile]) -> Vec<Rule> {
    let mut out: Vec<Rule> = Vec::new();
    for module in engine.get_modules() {
        let package = module.package.refr.span().text().to_string();
        let file_name = module.package.span.source.get_path();
        let file = files.iter().position(|f| &f.name == file_name).unwrap_or(0);
        for rule in &module.policy {
            let refr = match rule.as_ref() {
                RegoRule::Spec { head, .. } => match head {
                    RuleHead::Compr { refr, .. } | RuleHead::Set { refr, .. } => refr,
                    // Functions are called, never evaluated on their own.
                    RuleHead::Func { .. } => continue,
                },
                RegoRule::Default { refr, .. } => refr,
            };
            let name = head_name(refr);
            if name.is_empty() || out.iter().any(|r| r.package == package && r.name == name) {
                continue;
            }
            let span = rule.span();
            out.push(Rule {
                package: package.clone(),
                name,
                file,
                line: span.line as usize,
                column: span.col as usize,
            });
        }
    }
    out
}

/// Read and parse every policy under `paths`. Every problem is returned: a
/// file that does not parse is an error at its line and column.
pub fn load(paths: &[PathBuf], timeout: Duration) -> Result<PolicySet, Vec<Problem>> {
    let mut problems = Vec::new();
    let found = discover(paths, &mut problems);
    let mut engine = regorus::Engine::new();
    engine.set_rego_v0(false);
    let mut files = Vec::new();
    for path in found {
        let Some(text) = read_text(&path, Content::Text, &mut problems) else {
            continue;
        };
        let file = SourceFile::new(path.display().to_string(), text.as_str());
        files.push(file.clone());
        if let Err(e) = engine.add_policy(file.name.clone(), text) {
            problems.push(rego_problem(&files, &file.name, &e.to_string()));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let rules = rules_of(&mut engine, &files);
    Ok(PolicySet {
        engine,
        files,
        rules,
        namespaces: Vec::new(),
        timeout,
        shown: paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

impl PolicySet {
    /// Evaluate the finding rules of `namespaces` (default
    /// [`DEFAULT_NAMESPACE`]); each must have some (a typo must not pass
    /// every check by evaluating nothing).
    pub fn with_namespaces(mut self, namespaces: &[String]) -> Result<Self, Vec<Problem>> {
        self.namespaces = if namespaces.is_empty() {
            vec![DEFAULT_NAMESPACE.to_string()]
        } else {
            namespaces.to_vec()
        };
        let mut known: Vec<&str> = self.rules.iter().map(|r| r.package.as_str()).collect();
        known.sort();
        known.dedup();
        let mut problems = Vec::new();
        for ns in &self.namespaces {
            let has_rules = self
                .rules
                .iter()
                .any(|r| &r.package == ns && r.severity().is_some());
            if has_rules {
                continue;
            }
            let p = Problem::file(
                &self.shown,
                format!("no deny, violation or warn rules in package `{ns}`"),
            );
            problems.push(match did_you_mean(ns, &known) {
                Some(s) if s != ns => p.help(format!("did you mean `--namespace {s}`?")),
                _ if known.is_empty() => p.help("the policies declare no rules"),
                _ => p.help(format!(
                    "packages here: {}; choose one with --namespace",
                    known.join(", ")
                )),
            });
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(problems)
        }
    }

    /// The finding rules of the namespaces, and their exception rules.
    fn targets(&self) -> (Vec<usize>, Vec<usize>) {
        let in_ns = |r: &Rule| self.namespaces.contains(&r.package);
        let findings = (0..self.rules.len())
            .filter(|&i| in_ns(&self.rules[i]) && self.rules[i].severity().is_some())
            .collect();
        let exceptions = (0..self.rules.len())
            .filter(|&i| in_ns(&self.rules[i]) && self.rules[i].name == "exception")
            .collect();
        (findings, exceptions)
    }

    /// Evaluate the namespaces' rules against `input` (a JSON document):
    /// every finding, and what exceptions exempted. An error (a rule that
    /// fails to evaluate, the deadline) is a problem naming the rule's file
    /// and line.
    pub fn evaluate(&self, input: &str) -> Result<Verdict, Problem> {
        let (findings, exceptions) = self.targets();
        let all: Vec<usize> = findings.iter().chain(&exceptions).copied().collect();
        let values = run::rules(self, Some(input), all, true).map_err(|e| e.problem(self))?;
        let values: Vec<Option<serde_json::Value>> = values
            .into_iter()
            .map(|v| v.ok().and_then(|e| e.value))
            .collect();
        let (found, excepted) = values.split_at(findings.len());
        verdict::decide(self, &findings, found, &exceptions, excepted)
    }

    /// A problem at a rule (its file, line and column; about the policies
    /// as a whole if its file is unknown).
    fn problem_at(&self, rule: &Rule, message: impl Into<String>) -> Problem {
        match self.files.get(rule.file) {
            Some(file) => Problem::at(
                file,
                file.offset_of(rule.line, rule.column),
                rule.name.len(),
                message,
            ),
            None => Problem::file(&self.shown, message),
        }
    }

    /// `policies/main.rego:12`.
    pub fn location(&self, rule: &Rule) -> String {
        let name = self.files.get(rule.file).map_or("?", |f| f.name.as_str());
        format!("{name}:{}", rule.line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(files: &[(&str, &str)]) -> Result<PolicySet, Vec<Problem>> {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let set = load(&[dir.path().to_path_buf()], Duration::from_secs(5));
        drop(dir);
        set
    }

    #[test]
    fn rules_are_found_with_their_package_line_and_kind() {
        let s = set(&[
            (
                "a.rego",
                "package main\n\ndeny contains \"a\" if false\n\nwarn_x contains \"b\" if false\n",
            ),
            (
                "b.rego",
                "package main\n\ndeny contains \"c\" if false\n\ndenyish := 1\n\nf(x) := x\n",
            ),
            (
                "c.rego",
                "package org.rules\n\nviolation_y contains \"d\" if false\n",
            ),
        ])
        .unwrap();
        let names: Vec<(String, usize, Option<Severity>)> = s
            .rules
            .iter()
            .map(|r| (r.qualified(), r.line, r.severity()))
            .collect();
        assert_eq!(
            names,
            [
                ("main.deny".to_string(), 3, Some(Severity::Deny)),
                ("main.warn_x".to_string(), 5, Some(Severity::Warn)),
                ("main.denyish".to_string(), 5, None),
                ("org.rules.violation_y".to_string(), 3, Some(Severity::Deny)),
            ]
        );
        assert_eq!(s.rules[1].exception_name(), Some("x"));
        assert_eq!(s.rules[0].exception_name(), None, "a bare deny has no name");
        assert!(s.clone().with_namespaces(&["org.rules".into()]).is_ok());
        let typo = s.with_namespaces(&["org.rule".into()]).unwrap_err();
        assert_eq!(
            typo[0].help.as_deref(),
            Some("did you mean `--namespace org.rules`?")
        );
    }

    #[test]
    fn findings_are_strings_objects_or_true_and_exceptions_drop_them() {
        let s = set(&[(
            "a.rego",
            r#"package main

deny_a contains "plain" if true

deny_b contains {"msg": "located", "address": "agent[\"x\"]", "field": ["webhooks", 0, "url"]} if true

warn_c := true

exception contains ["b"] if input.except
"#,
        )])
        .unwrap()
        .with_namespaces(&[])
        .unwrap();
        let v = s.evaluate(r#"{"except": false}"#).unwrap();
        let found: Vec<(&str, Option<&str>, Option<&FieldRef>, Severity)> = v
            .findings
            .iter()
            .map(|f| {
                (
                    f.message.as_str(),
                    f.address.as_deref(),
                    f.field.as_ref(),
                    f.severity,
                )
            })
            .collect();
        let path = FieldRef::Path(vec!["webhooks".into(), "0".into(), "url".into()]);
        assert_eq!(
            found,
            [
                ("plain", None, None, Severity::Deny),
                ("located", Some("agent[\"x\"]"), Some(&path), Severity::Deny),
                ("main.warn_c holds", None, None, Severity::Warn),
            ]
        );
        assert!(v.denies());
        let v = s.evaluate(r#"{"except": true}"#).unwrap();
        assert_eq!(v.findings.len(), 2);
        assert_eq!(v.excepted_lines(&s), ["main.deny_b (1 finding excepted)"]);
        // Findings without a resource point at their rule.
        let problems = v.problems(&s, &[]);
        assert!(
            problems[0]
                .location
                .as_deref()
                .unwrap()
                .ends_with("a.rego:3:1"),
            "{problems:?}"
        );
        assert!(!problems[1].is_error(), "a warn is a warning");
    }

    #[test]
    fn parse_errors_point_into_the_policy() {
        let problems = set(&[("a.rego", "package main\n\ndeny contains if {\n")]).unwrap_err();
        assert_eq!(problems.len(), 1);
        let at = problems[0].location.as_deref().unwrap();
        assert!(at.ends_with("a.rego:3:15"), "{at}");
        assert!(
            problems[0].message.starts_with("policy error: "),
            "{}",
            problems[0].message
        );
    }
}

//! What the rules found, and where each finding points: a deny or violation
//! is an error, a warn a warning, each located at the field of the resource
//! it names (`{msg, address, field}`), else at the resource, else at the
//! rule that said it.

use serde_json::Value;

use super::{PolicySet, Rule};
use crate::engine::manifest::declared::Declared;
use crate::engine::manifest::Problem;

/// How severe a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// `deny` and `violation`: the command fails (apply writes nothing).
    Deny,
    /// `warn`: reported, and nothing stops.
    Warn,
}

/// A field a finding names: dotted (`webhooks.0.url`) or as a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldRef {
    Dotted(String),
    Path(Vec<String>),
}

/// One message of one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    /// Index into the set's rules.
    pub rule: usize,
    pub message: String,
    /// The resource (or change) it is about, as plans address it.
    pub address: Option<String>,
    pub field: Option<FieldRef>,
}

/// Everything an evaluation found.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    pub findings: Vec<Finding>,
    /// Rules an exception exempted, with how many findings they had.
    pub excepted: Vec<(usize, usize)>,
}

/// The names `exception` rules give (`exception contains ["x"]`, or sets
/// of names, or single names).
fn exception_names(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| exception_names(i, out)),
        _ => {}
    }
}

/// A field's path from a finding's `field` (a string, or a list of keys
/// and indices).
fn field_ref(v: &Value) -> Option<FieldRef> {
    match v {
        Value::String(s) if !s.is_empty() => Some(FieldRef::Dotted(s.clone())),
        Value::Array(parts) => Some(FieldRef::Path(
            parts
                .iter()
                .map(|p| match p {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
        )),
        _ => None,
    }
}

/// One value a finding rule yielded, as a finding (`None`: says nothing).
fn finding(
    rule: &Rule,
    index: usize,
    severity: Severity,
    v: &Value,
) -> Result<Option<Finding>, String> {
    let plain = |message: String| {
        Ok(Some(Finding {
            severity,
            rule: index,
            message,
            address: None,
            field: None,
        }))
    };
    match v {
        Value::Null | Value::Bool(false) => Ok(None),
        Value::Bool(true) => plain(format!("{} holds", rule.qualified())),
        Value::String(s) => plain(s.clone()),
        Value::Object(m) => {
            let Some(msg) = m.get("msg").and_then(Value::as_str) else {
                return Err(format!(
                    "{} yielded an object without a `msg` string: {}",
                    rule.qualified(),
                    crate::engine::output::neutralize(&v.to_string())
                ));
            };
            Ok(Some(Finding {
                severity,
                rule: index,
                message: msg.to_string(),
                address: m.get("address").and_then(Value::as_str).map(str::to_string),
                field: m.get("field").and_then(field_ref),
            }))
        }
        other => plain(other.to_string()),
    }
}

/// The verdict from the values of the finding rules (`findings`, indices
/// into the set's rules) and of the exception rules.
pub(super) fn decide(
    set: &PolicySet,
    findings: &[usize],
    found: &[Option<Value>],
    exceptions: &[usize],
    excepted: &[Option<Value>],
) -> Result<Verdict, Problem> {
    let mut verdict = Verdict::default();
    for (&i, value) in findings.iter().zip(found) {
        let rule = &set.rules[i];
        let Some(severity) = rule.severity() else {
            continue;
        };
        let values: Vec<&Value> = match value {
            None => Vec::new(),
            Some(Value::Array(items)) => items.iter().collect(),
            Some(v) => vec![v],
        };
        let mut mine = Vec::new();
        for v in values {
            match finding(rule, i, severity, v) {
                Ok(Some(f)) => mine.push(f),
                Ok(None) => {}
                Err(message) => return Err(set.problem_at(rule, message)),
            }
        }
        // An exception in the rule's own package exempts it by its name.
        let exempt = rule.exception_name().is_some_and(|name| {
            exceptions.iter().zip(excepted).any(|(&e, v)| {
                let mut names = Vec::new();
                if let Some(v) = v {
                    exception_names(v, &mut names);
                }
                set.rules[e].package == rule.package && names.iter().any(|n| n == name)
            })
        });
        if exempt {
            if !mine.is_empty() {
                verdict.excepted.push((i, mine.len()));
            }
        } else {
            verdict.findings.extend(mine);
        }
    }
    Ok(verdict)
}

/// The declared resource an address names: itself, or the resource a
/// change inside it belongs to (`agent["x"].schedule`), the longest match.
fn resource<'d>(declared: &'d [Declared], address: &str) -> Option<&'d Declared> {
    declared
        .iter()
        .filter(|d| {
            d.address.as_deref().is_some_and(|a| {
                address == a
                    || address
                        .strip_prefix(a)
                        .is_some_and(|rest| rest.starts_with(['.', '[']))
            })
        })
        .max_by_key(|d| d.address.as_ref().map_or(0, String::len))
}

impl Verdict {
    /// Whether any finding is a deny.
    pub fn denies(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Deny)
    }

    /// Every finding as a located problem (errors for denies, warnings for
    /// warns), in the order of the places they point at.
    pub fn problems(&self, set: &PolicySet, declared: &[Declared]) -> Vec<Problem> {
        let mut out: Vec<((String, usize), Problem)> = self
            .findings
            .iter()
            .map(|f| {
                let p = problem(set, declared, f);
                let key = (
                    p.position
                        .as_ref()
                        .map(|x| x.file.clone())
                        .unwrap_or_default(),
                    p.span.map_or(0, |s| s.offset()),
                );
                (key, p)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.into_iter().map(|(_, p)| p).collect()
    }

    /// `main.deny_x (2 findings)` for each rule an exception exempted.
    pub fn excepted_lines(&self, set: &PolicySet) -> Vec<String> {
        self.excepted
            .iter()
            .map(|(i, n)| {
                format!(
                    "{} ({} excepted)",
                    set.rules[*i].qualified(),
                    crate::engine::plan::render::count(*n, "finding")
                )
            })
            .collect()
    }
}

fn problem(set: &PolicySet, declared: &[Declared], f: &Finding) -> Problem {
    let rule = &set.rules[f.rule];
    let mut help = format!("policy {} ({})", rule.qualified(), set.location(rule));
    let target = f.address.as_deref().and_then(|a| resource(declared, a));
    let mut p = match target {
        Some(d) => {
            let path = match &f.field {
                Some(FieldRef::Dotted(s)) => d.path_of(s),
                Some(FieldRef::Path(p)) => Some(p.clone()),
                None => None,
            };
            let place = path.as_deref().and_then(|p| d.place(p));
            if let (Some(field), None) = (&f.field, place) {
                let name = match field {
                    FieldRef::Dotted(s) => s.clone(),
                    FieldRef::Path(p) => p.join("."),
                };
                help.push_str(&format!(
                    "; it names field `{name}`, which the resource does not have"
                ));
            }
            let (offset, len) = place.unwrap_or(d.span);
            Problem::at(&d.source, offset, len, &f.message)
        }
        None => {
            if let Some(a) = &f.address {
                help.push_str(&format!("; `{a}` is no declared resource"));
            }
            set.problem_at(rule, &f.message)
        }
    };
    let verb = match f.severity {
        Severity::Deny => "denied",
        Severity::Warn => "warned",
    };
    p = p
        .label(format!("{verb} by {}", rule.qualified()))
        .help(help);
    if f.severity == Severity::Warn {
        p.severity = miette::Severity::Warning;
    }
    p
}

//! `${VAR}` interpolation of manifest strings from the environment, and
//! `${var.NAME}` from manifest variables.
//!
//! `${VAR}` takes the variable, `${VAR:-default}` falls back to a default,
//! `$${` writes a literal `${`. Every value that came from the environment is
//! sensitive: the result keeps a `shown` form with `(sensitive)` in its place.
//! `${var.NAME}` takes a variable of the tree (`kind: Variables` documents,
//! overridden by `--var-file`s): those are configuration, not secrets, and
//! are shown as they are.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use super::Text;

/// The variables of a tree: name to value and where the value was set, and
/// every name the manifests asked for (set or not), so a variable that no
/// manifest uses can be reported (a misspelt var-file key).
#[derive(Debug, Clone, Default)]
pub struct Vars {
    values: BTreeMap<String, (serde_json::Value, String)>,
    /// Shared by clones: every lookup through any copy counts.
    used: Arc<Mutex<BTreeSet<String>>>,
}

impl Vars {
    /// Set `name` (a later set wins); `origin` names the file for messages.
    pub fn set(&mut self, name: &str, value: serde_json::Value, origin: &str) {
        self.values
            .insert(name.to_string(), (value, origin.to_string()));
    }

    /// The value of `name`; the name counts as used.
    pub fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.mark_used(name);
        self.values.get(name).map(|(v, _)| v)
    }

    /// Count `name` as used by a manifest (a template naming `var.NAME`).
    pub fn mark_used(&self, name: &str) {
        self.used
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_string());
    }

    /// Count every variable as used (a template that takes `var` whole).
    pub fn mark_all_used(&self) {
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        used.extend(self.values.keys().cloned());
    }

    /// Every name the manifests asked for so far, set or not.
    pub fn used(&self) -> BTreeSet<String> {
        self.used
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The names set.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Where `name` was set.
    pub fn origin(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|(_, o)| o.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Every variable as one JSON object (templates see it as `var`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.values
                .iter()
                .map(|(k, (v, _))| (k.clone(), v.clone()))
                .collect(),
        )
    }

    /// The value of `name` as it is written into a string: scalars only.
    fn scalar(&self, name: &str) -> Result<Option<String>, InterpolateError> {
        use serde_json::Value as J;
        match self.get(name) {
            None => Ok(None),
            Some(J::String(s)) => Ok(Some(s.clone())),
            Some(J::Null) => Ok(Some(String::new())),
            Some(v @ (J::Bool(_) | J::Number(_))) => Ok(Some(v.to_string())),
            Some(_) => Err(InterpolateError::Malformed(format!(
                "variable `{name}` is a list or a map; only a template can use it"
            ))),
        }
    }
}

/// Substitute only `${var.NAME}` (and `${var.NAME:-default}`) in `input`,
/// leaving everything else as written: for identities (names, ids), which
/// never take the environment.
pub fn substitute_vars(input: &str, vars: &Vars) -> Result<String, InterpolateError> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find("${var.") {
        if let Some(before) = rest[..pos].strip_suffix('$') {
            // `$${var.x}` is the escape for a literal `${var.x}`.
            out.push_str(before);
            out.push_str("${");
            rest = &rest[pos + 2..];
            continue;
        }
        out.push_str(&rest[..pos]);
        let tail = &rest[pos + 2..];
        let end = tail
            .find('}')
            .ok_or_else(|| InterpolateError::Malformed("`${` without a closing `}`".into()))?;
        out.push_str(&var_value(&tail[..end], vars)?);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The value of `var.NAME` or `var.NAME:-default`.
fn var_value(expr: &str, vars: &Vars) -> Result<String, InterpolateError> {
    let expr = expr.strip_prefix("var.").unwrap_or(expr);
    let (name, default) = match expr.split_once(":-") {
        Some((n, d)) => (n, Some(d)),
        None => (expr, None),
    };
    if !is_var_name(name) {
        return Err(InterpolateError::Malformed(format!(
            "`var.{name}` is not a variable name"
        )));
    }
    match (vars.scalar(name)?, default) {
        (Some(v), Some(d)) if v.is_empty() => Ok(d.to_string()),
        (Some(v), _) => Ok(v),
        (None, Some(d)) => Ok(d.to_string()),
        (None, None) => Err(InterpolateError::Undefined(name.to_string())),
    }
}

/// The marker shown in place of interpolated values.
pub use super::text::SENSITIVE;

/// Why a string could not be interpolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolateError {
    /// `${NAME}` with NAME unset and no default.
    Unset(String),
    /// `${var.NAME}` with NAME set by no `Variables` document or var file.
    Undefined(String),
    /// `${` without a closing `}` or with a name that is not `[A-Za-z_][A-Za-z0-9_]*`.
    Malformed(String),
}

impl std::fmt::Display for InterpolateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unset(name) => write!(f, "environment variable `{name}` is not set"),
            Self::Undefined(name) => write!(
                f,
                "variable `{name}` is not defined (no `kind: Variables` document or --var-file sets it)"
            ),
            Self::Malformed(why) => write!(f, "malformed interpolation: {why}"),
        }
    }
}

/// Interpolate `input`, looking variables up with `lookup`.
/// `text` as a manifest writes it so that interpolation gives it back
/// unchanged: every `${` escaped as `$${` (exports and pulls write live
/// text this way).
pub fn escape(text: &str) -> String {
    text.replace("${", "$${")
}

/// Whether `text` holds a placeholder (`${…}`) read as one: a `$${`
/// (a literal `${`, as pull and export write live text) is none.
pub fn interpolates(text: &str) -> bool {
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            rest = tail;
        } else if after.starts_with("${") {
            return true;
        } else {
            rest = &after[1..];
        }
    }
    false
}

pub fn interpolate(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Text, InterpolateError> {
    interpolate_with(input, lookup, &Vars::default())
}

/// Interpolate `input`: environment variables through `lookup` (sensitive),
/// `${var.NAME}` from `vars` (shown).
pub fn interpolate_with(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    vars: &Vars,
) -> Result<Text, InterpolateError> {
    if !input.contains('$') {
        return Ok(Text::plain(input));
    }
    let mut value = String::with_capacity(input.len());
    let mut shown = String::with_capacity(input.len());
    let mut secrets = Vec::new();
    let mut from_env = false;
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        value.push_str(&rest[..pos]);
        shown.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            value.push_str("${");
            shown.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let end = tail
                .find('}')
                .ok_or_else(|| InterpolateError::Malformed("`${` without a closing `}`".into()))?;
            let expr = &tail[..end];
            if expr.starts_with("var.") {
                let v = var_value(expr, vars)?;
                value.push_str(&v);
                shown.push_str(&v);
                rest = &tail[end + 1..];
                continue;
            }
            from_env = true;
            let (name, default) = match expr.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (expr, None),
            };
            if !is_var_name(name) {
                return Err(InterpolateError::Malformed(format!(
                    "`{name}` is not a variable name"
                )));
            }
            // As in the shell, `:-` means "unset or empty": CI passes a missing
            // secret as an empty string.
            let resolved = match (lookup(name), default) {
                (Some(v), Some(d)) if v.is_empty() => d.to_string(),
                (Some(v), _) => v,
                (None, Some(d)) => d.to_string(),
                (None, None) => return Err(InterpolateError::Unset(name.to_string())),
            };
            value.push_str(&resolved);
            shown.push_str(SENSITIVE);
            if !resolved.is_empty() {
                secrets.push(resolved);
            }
            rest = &tail[end + 1..];
        } else {
            value.push('$');
            shown.push('$');
            rest = &after[1..];
        }
    }
    value.push_str(rest);
    shown.push_str(rest);
    if !from_env {
        return Ok(Text::plain(&value));
    }
    Ok(Text::interpolated(value, shown, secrets))
}

pub(crate) fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_text_interpolates_back_to_itself() {
        assert_eq!(escape("https://h/${X}/$${Y}"), "https://h/$${X}/$$${Y}");
        for text in ["a${B}c$${d}", "$", "$$", "${", "x$${y}$", ""] {
            let back = interpolate(&escape(text), &|_| None).unwrap();
            assert_eq!(back.expose(), text);
        }
    }

    #[test]
    fn only_an_unescaped_placeholder_interpolates() {
        for (text, placeholder) in [
            ("a ${X}", true),
            ("a $${X}", false),
            ("a $$${X}", false),
            ("a $$$${X}", false),
            ("$$ $ {", false),
            ("$${var.x} ${var.y}", true),
        ] {
            assert_eq!(interpolates(text), placeholder, "{text}");
        }
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cr3t".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn plain_strings_are_not_sensitive() {
        let t = interpolate("https://a.example/x", &env).unwrap();
        assert_eq!(t.expose(), "https://a.example/x");
        assert!(!t.is_sensitive());
    }

    #[test]
    fn variables_are_replaced_and_redacted() {
        let t = interpolate("https://a.example/${TOKEN}/x", &env).unwrap();
        assert_eq!(t.expose(), "https://a.example/s3cr3t/x");
        assert_eq!(t.shown(), "https://a.example/(sensitive)/x");
        assert!(t.is_sensitive());
        assert_eq!(t.secrets(), ["s3cr3t".to_string()]);
    }

    #[test]
    fn defaults_escapes_and_lone_dollars() {
        assert_eq!(
            interpolate("${NOPE:-fallback}", &env).unwrap().expose(),
            "fallback"
        );
        assert_eq!(
            interpolate("cost $5 $${X}", &env).unwrap().expose(),
            "cost $5 ${X}"
        );
        assert_eq!(interpolate("${EMPTY}", &env).unwrap().expose(), "");
    }

    #[test]
    fn a_set_but_empty_variable_takes_the_default_like_the_shell() {
        assert_eq!(
            interpolate("${EMPTY:-fallback}", &env).unwrap().expose(),
            "fallback"
        );
        assert_eq!(
            interpolate("${TOKEN:-fallback}", &env).unwrap().expose(),
            "s3cr3t"
        );
    }

    #[test]
    fn manifest_variables_are_shown_and_environment_values_are_not() {
        let mut vars = Vars::default();
        vars.set("env", serde_json::json!("staging"), "staging.yaml");
        vars.set("replicas", serde_json::json!(3), "staging.yaml");
        vars.set("teams", serde_json::json!(["a"]), "staging.yaml");
        let t =
            interpolate_with("https://${var.env}.example/${var.replicas}", &env, &vars).unwrap();
        assert_eq!(t.expose(), "https://staging.example/3");
        assert!(!t.is_sensitive(), "configuration, not a secret");
        let t = interpolate_with("https://${var.env}.example/${TOKEN}", &env, &vars).unwrap();
        assert_eq!(t.shown(), "https://staging.example/(sensitive)");
        assert_eq!(t.secrets(), ["s3cr3t".to_string()]);
        assert_eq!(
            interpolate_with("${var.region:-eu}", &env, &vars)
                .unwrap()
                .expose(),
            "eu"
        );
        assert_eq!(
            interpolate_with("${var.region}", &env, &vars),
            Err(InterpolateError::Undefined("region".into()))
        );
        assert!(matches!(
            interpolate_with("${var.teams}", &env, &vars),
            Err(InterpolateError::Malformed(_))
        ));
        // Identities take variables and nothing else.
        assert_eq!(
            substitute_vars("Support ${var.env} ${HOME}", &vars).unwrap(),
            "Support staging ${HOME}"
        );
        assert_eq!(
            substitute_vars("a $${var.env} b", &vars).unwrap(),
            "a ${var.env} b",
            "the escape, as in interpolated fields"
        );
    }

    #[test]
    fn unset_and_malformed_are_errors() {
        assert_eq!(
            interpolate("${NOPE}", &env),
            Err(InterpolateError::Unset("NOPE".into()))
        );
        assert!(matches!(
            interpolate("${TOKEN", &env),
            Err(InterpolateError::Malformed(_))
        ));
        assert!(matches!(
            interpolate("${1X}", &env),
            Err(InterpolateError::Malformed(_))
        ));
    }
}

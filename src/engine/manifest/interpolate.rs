//! `${VAR}` interpolation of manifest strings from the environment.
//!
//! `${VAR}` takes the variable, `${VAR:-default}` falls back to a default,
//! `$${` writes a literal `${`. Every value that came from the environment is
//! sensitive: the result keeps a `shown` form with `(sensitive)` in its place.

use super::Text;

/// The marker shown in place of interpolated values.
pub const SENSITIVE: &str = "(sensitive)";

/// Why a string could not be interpolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolateError {
    /// `${NAME}` with NAME unset and no default.
    Unset(String),
    /// `${` without a closing `}` or with a name that is not `[A-Za-z_][A-Za-z0-9_]*`.
    Malformed(String),
}

impl std::fmt::Display for InterpolateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unset(name) => write!(f, "environment variable `{name}` is not set"),
            Self::Malformed(why) => write!(f, "malformed interpolation: {why}"),
        }
    }
}

/// Interpolate `input`, looking variables up with `lookup`.
pub fn interpolate(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Text, InterpolateError> {
    if !input.contains('$') {
        return Ok(Text::plain(input));
    }
    let mut value = String::with_capacity(input.len());
    let mut shown = String::with_capacity(input.len());
    let mut secrets = Vec::new();
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
    Ok(Text::interpolated(value, shown, secrets))
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

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

//! The one redaction function every output goes through.
//!
//! A [`Redactor`] knows every secret of the run (the API key, interpolated
//! values, signing secrets as they arrive) and replaces each occurrence with
//! `(sensitive)`. Renderers and loggers call [`Redactor::scrub`] last, so a
//! secret that slipped into a message, a URL or an error body is still caught.

use std::sync::{Arc, RwLock};

use super::manifest::interpolate::SENSITIVE;

/// Secrets shorter than this are not scrubbed (they would mangle ordinary text);
/// interpolated values that short are still never shown, because the renderers
/// print the `shown` form of sensitive values.
pub const MIN_SECRET_LEN: usize = 4;

/// Shared, growable set of secrets.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Arc<RwLock<Vec<String>>>,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a secret; it is scrubbed from everything printed from now on,
    /// also as it appears inside a JSON string (machine outputs are scrubbed
    /// after serialization, where `"`, `\` and control characters are escaped).
    pub fn add(&self, secret: &str) {
        if secret.len() < MIN_SECRET_LEN {
            return;
        }
        let escaped = serde_json::to_string(secret)
            .ok()
            .and_then(|q| Some(q.strip_prefix('"')?.strip_suffix('"')?.to_string()))
            .filter(|e| e != secret);
        if let Ok(mut s) = self.secrets.write() {
            for form in std::iter::once(secret.to_string()).chain(escaped) {
                if !s.contains(&form) {
                    s.push(form);
                }
            }
            // Longest first, so a secret containing another is replaced whole.
            s.sort_by_key(|x| std::cmp::Reverse(x.len()));
        }
    }

    pub fn add_all<'a>(&self, secrets: impl IntoIterator<Item = &'a String>) {
        for s in secrets {
            self.add(s);
        }
    }

    /// Whether `new` holds some known secret more often than `old` does:
    /// writing `new` over `old` would put a secret where there was none
    /// (a file may already hold a value on purpose, such as the default of
    /// an interpolation).
    pub fn adds_secret(&self, old: &str, new: &str) -> bool {
        let Ok(secrets) = self.secrets.read() else {
            return true;
        };
        secrets
            .iter()
            .any(|s| new.matches(s.as_str()).count() > old.matches(s.as_str()).count())
    }

    /// `text` with every known secret replaced by `(sensitive)`.
    pub fn scrub(&self, text: &str) -> String {
        let Ok(secrets) = self.secrets.read() else {
            return text.to_string();
        };
        let mut out = text.to_string();
        for s in secrets.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), SENSITIVE);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_scrubbed_from_json_too() {
        let r = Redactor::new();
        let secret = "pa\"ss\\wo\nrd";
        r.add(secret);
        let json = serde_json::json!({"message": format!("refused: {secret}!")}).to_string();
        let scrubbed = r.scrub(&json);
        assert_eq!(scrubbed, r#"{"message":"refused: (sensitive)!"}"#);
        assert_eq!(r.scrub(&format!("raw {secret}")), "raw (sensitive)");
    }

    #[test]
    fn scrubs_every_occurrence_longest_first() {
        let r = Redactor::new();
        r.add("abcd");
        r.add("abcdefgh");
        r.add("xy");
        assert_eq!(
            r.scrub("k=abcdefgh j=abcd xy"),
            "k=(sensitive) j=(sensitive) xy"
        );
    }
}

//! Typed field changes: the only way a plan shows a value.
//!
//! A [`Shown`] is built from a plain value that cannot be secret ([`Literal`],
//! numbers, booleans) or from a manifest [`Text`] together with the live
//! value it is compared with. When the text is sensitive, both sides are
//! masked: the previous value of a rotated token is as secret as the new one.

use serde::Serialize;
use serde_json::Value;

use crate::engine::credentials;
use crate::engine::manifest::interpolate::SENSITIVE;
use crate::engine::manifest::Text;

/// A string known not to be secret: an id, a name, an enum value, an event.
/// Never build one from a manifest value that may be interpolated: that is
/// what [`Shown::text`] is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Literal(pub String);

impl From<&str> for Literal {
    fn from(s: &str) -> Self {
        Literal(s.to_string())
    }
}

impl From<&String> for Literal {
    fn from(s: &String) -> Self {
        Literal(s.clone())
    }
}

/// Values that may be shown as they are.
pub trait Plain: Serialize {}
impl Plain for bool {}
impl Plain for i64 {}
impl Plain for u64 {}
impl Plain for u32 {}
impl Plain for usize {}
impl Plain for f64 {}
impl Plain for Literal {}
impl<T: Plain> Plain for Vec<T> {}
impl<T: Plain> Plain for Option<T> {}
impl<T: Plain + ?Sized> Plain for &T {}
impl<T: Plain> Plain for [T] {}

/// A value as a plan may show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown(Inner);

#[derive(Debug, Clone, PartialEq)]
enum Inner {
    /// Not part of this side: not compared here, or the object does not exist.
    Absent,
    /// A value safe to show (JSON `null` is "none").
    Plain(Value),
    /// A sensitive value in its masked form.
    Masked(String),
    /// A long text: a hash (none when sensitive) and a line count; its lines
    /// appear only in the change's diff.
    Text {
        sha256: Option<String>,
        lines: usize,
    },
}

impl Shown {
    /// Not part of this side.
    pub fn absent() -> Self {
        Shown(Inner::Absent)
    }

    /// "None": the field is managed and has no value.
    pub fn none() -> Self {
        Shown(Inner::Plain(Value::Null))
    }

    /// A value that cannot be secret.
    pub fn plain<T: Plain + ?Sized>(v: &T) -> Self {
        Shown(Inner::Plain(serde_json::to_value(v).unwrap_or_default()))
    }

    /// A manifest string: masked where it is sensitive.
    pub fn text(t: &Text) -> Self {
        if t.is_sensitive() {
            Shown(Inner::Masked(t.shown().to_string()))
        } else {
            Shown(Inner::Plain(Value::String(t.expose().to_string())))
        }
    }

    /// A live string compared with manifest text `desired`: masked as
    /// `desired` is (see [`Text::mask_live`]).
    pub fn live(live: &str, desired: &Text) -> Self {
        if desired.is_sensitive() {
            Shown(Inner::Masked(desired.mask_live(live)))
        } else {
            Shown::live_string(live)
        }
    }

    /// A live string: its credential parts masked (a URL with a token, a
    /// DSN's password; see [`credentials`]).
    fn live_string(live: &str) -> Self {
        match credentials::in_string(live) {
            Some(found) => Shown(Inner::Masked(found.shown)),
            None => Shown(Inner::Plain(Value::String(live.to_string()))),
        }
    }

    /// A live string whose field carries no manifest text to compare with
    /// (a webhook about to be deleted): masked when `sensitive` says the
    /// manifest treats such values as secrets.
    pub fn live_maybe_masked(live: &str, like: Option<&Text>) -> Self {
        match like {
            Some(t) if t.is_sensitive() => Shown::live(live, t),
            _ => Shown::live_string(live),
        }
    }

    /// A structured value (a number, a list, a map) written literally in a
    /// manifest or read live: `${…}` is never interpolated inside one, but a
    /// credential may still sit in it at any depth (a live data source's
    /// `auth.api_token`, a tool's `X-Api-Key`), so those parts are masked.
    pub fn manifest_literal(v: &Value) -> Self {
        Shown(Inner::Plain(credentials::mask(v)))
    }

    /// An object of shown values (a settings map whose values are each
    /// masked as they need); absent entries are left out, and a plain value
    /// under a credential-like key is masked.
    pub fn object(entries: impl IntoIterator<Item = (String, Shown)>) -> Self {
        let map = entries
            .into_iter()
            .filter(|(_, v)| !v.is_absent())
            .map(|(k, v)| {
                let json = match &v.0 {
                    Inner::Plain(p) => credentials::mask(&serde_json::json!({ &k: p }))
                        .get(&k)
                        .cloned()
                        .unwrap_or_default(),
                    _ => v.to_json(),
                };
                (k, json)
            })
            .collect();
        Shown(Inner::Plain(Value::Object(map)))
    }

    /// A value already in shown form (an entry of a shown map).
    fn plain_json(v: &Value) -> Self {
        Shown(Inner::Plain(v.clone()))
    }

    /// A secret that is never shown, in any form.
    pub fn secret() -> Self {
        Shown(Inner::Masked(SENSITIVE.into()))
    }

    /// A long text (instructions, a prompt): hash and line count. The hash is
    /// left out when the text is sensitive (an unsalted hash of a secret is
    /// not safe to publish).
    pub fn long_text(content: &str, sensitive: bool) -> Self {
        Shown(Inner::Text {
            sha256: (!sensitive).then(|| crate::engine::sha256_hex(content.as_bytes())),
            lines: content.lines().count(),
        })
    }

    pub fn is_absent(&self) -> bool {
        self.0 == Inner::Absent
    }

    /// Whether the value is shown masked (so it cannot name an address).
    pub fn is_masked(&self) -> bool {
        matches!(self.0, Inner::Masked(_))
    }

    pub fn is_none(&self) -> bool {
        self.0 == Inner::Plain(Value::Null)
    }

    /// `Some(b)` for a boolean value.
    pub fn as_bool(&self) -> Option<bool> {
        match &self.0 {
            Inner::Plain(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// The value as a cron or a name for annotations: plain strings only.
    pub fn as_plain_str(&self) -> Option<&str> {
        match &self.0 {
            Inner::Plain(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// The JSON a plan document shows.
    pub fn to_json(&self) -> Value {
        match &self.0 {
            Inner::Absent | Inner::Plain(Value::Null) => Value::Null,
            Inner::Plain(v) => v.clone(),
            Inner::Masked(m) => Value::String(m.clone()),
            Inner::Text { sha256, lines } => {
                let mut m = serde_json::Map::new();
                if let Some(h) = sha256 {
                    m.insert("content_sha256".into(), h.clone().into());
                } else {
                    m.insert("sensitive".into(), true.into());
                }
                m.insert("lines".into(), (*lines).into());
                Value::Object(m)
            }
        }
    }

    /// As people read it: strings quoted, lists bracketed, `none` for null.
    pub fn display(&self) -> String {
        match &self.0 {
            Inner::Absent | Inner::Plain(Value::Null) => "none".into(),
            Inner::Plain(Value::String(s)) => format!("{s:?}"),
            Inner::Plain(Value::Array(items)) => format!(
                "[{}]",
                items
                    .iter()
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Inner::Plain(v) => v.to_string(),
            Inner::Masked(m) => format!("{m:?}"),
            Inner::Text { lines: 1, .. } => "1 line".into(),
            Inner::Text { lines, .. } => format!("{lines} lines"),
        }
    }

    /// Like [`Shown::display`] but strings unquoted (a label, a URL).
    pub fn bare(&self) -> String {
        match &self.0 {
            Inner::Plain(Value::String(s)) | Inner::Masked(s) => s.clone(),
            _ => self.display(),
        }
    }
}

/// How a field is written in a one-line summary of its change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// `name value` (`cron "0 0 9 * * * *"`).
    Named,
    /// `value` alone (`[run.failed]`).
    Bare,
    /// A boolean as a word: `on` when true, `off` when false (either may be empty).
    Flag { on: &'static str, off: &'static str },
    /// Shown in JSON for context (a webhook's URL beside its events), never
    /// as a change.
    Context,
}

/// One field of a change: before and after as they may be shown.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub name: &'static str,
    pub before: Shown,
    pub after: Shown,
    pub show: Show,
}

impl FieldChange {
    pub fn new(name: &'static str, before: Shown, after: Shown) -> Self {
        FieldChange {
            name,
            before,
            after,
            show: Show::Named,
        }
    }

    /// A plain field (not secret by nature: a flag, a number, an enum).
    pub fn plain<B: Plain + ?Sized, A: Plain + ?Sized>(
        name: &'static str,
        before: &B,
        after: &A,
    ) -> Self {
        Self::new(name, Shown::plain(before), Shown::plain(after))
    }

    /// A manifest text field: `live` (if any) is masked exactly as the
    /// manifest value is, by construction.
    pub fn text(name: &'static str, live: Option<&str>, desired: &Text) -> Self {
        let before = match live {
            Some(l) => Shown::live(l, desired),
            None => Shown::none(),
        };
        Self::new(name, before, Shown::text(desired))
    }

    /// Only the after side (a create).
    pub fn after(name: &'static str, after: Shown) -> Self {
        Self::new(name, Shown::absent(), after)
    }

    /// Only the before side (a delete).
    pub fn before(name: &'static str, before: Shown) -> Self {
        Self::new(name, before, Shown::absent())
    }

    pub fn shown_as(mut self, show: Show) -> Self {
        self.show = show;
        self
    }

    /// Whether this field changes: both sides known and different (context
    /// fields never change; a side not compared is not a change).
    pub fn is_change(&self) -> bool {
        self.show != Show::Context
            && !self.before.is_absent()
            && !self.after.is_absent()
            && self.before != self.after
    }

    /// `name: before → after`; a map whose entries changed, one entry at a
    /// time (`config.max_pages: 1000 → 500`), so a long settings map does
    /// not hide which value differs.
    pub fn transition(&self) -> String {
        if let (Inner::Plain(Value::Object(b)), Inner::Plain(Value::Object(a))) =
            (&self.before.0, &self.after.0)
        {
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            let entry = |m: &serde_json::Map<String, Value>, k: &str| {
                m.get(k)
                    .map_or_else(|| "none".to_string(), |v| Shown::plain_json(v).display())
            };
            let parts: Vec<String> = keys
                .iter()
                .filter(|k| b.get(k.as_str()) != a.get(k.as_str()))
                .map(|k| format!("{}.{k}: {} → {}", self.name, entry(b, k), entry(a, k)))
                .collect();
            if !parts.is_empty() {
                return parts.join("; ");
            }
        }
        format!(
            "{}: {} → {}",
            self.name,
            self.before.display(),
            self.after.display()
        )
    }

    /// The one-line form of one side, per [`Show`]; `None` when it says nothing.
    pub fn summary(&self, side: &Shown) -> Option<String> {
        if side.is_absent() {
            return None;
        }
        match self.show {
            Show::Context => None,
            Show::Named => Some(format!("{} {}", self.name, side.display())),
            Show::Bare => Some(side.display()),
            Show::Flag { on, off } => {
                let word = if side.as_bool()? { on } else { off };
                (!word.is_empty()).then(|| word.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sensitive_field_is_masked_on_both_sides() {
        let desired =
            crate::engine::manifest::interpolate::interpolate("https://h.example/${T}", &|_| {
                Some("new-token".into())
            })
            .unwrap();
        let f = FieldChange::text("url", Some("https://h.example/old-token"), &desired);
        let both = format!("{} {}", f.before.to_json(), f.after.to_json());
        assert!(!both.contains("token"), "{both}");
        assert_eq!(
            f.transition(),
            "url: \"https://h.example/(sensitive)\" → \"https://h.example/(sensitive)\""
        );
        assert!(Shown::long_text("secret", true)
            .to_json()
            .get("content_sha256")
            .is_none());
    }
}

//! [`Text`]: a manifest string with its sensitivity.

/// The marker shown in place of interpolated values.
pub const SENSITIVE: &str = "(sensitive)";

/// A string from a manifest, with what may be shown of it.
///
/// Invariant: when `sensitive` is false, `shown == value`; when it is true,
/// `shown` has `(sensitive)` where secret parts are, and `secrets` holds those
/// parts so every output can scrub them. The value itself is reachable only
/// through [`Text::expose`], meant for API requests and comparisons; every
/// display goes through [`Text::shown`] or [`Text::mask_live`].
#[derive(Clone, PartialEq, Eq)]
pub struct Text {
    value: String,
    shown: String,
    sensitive: bool,
    secrets: Vec<String>,
    /// The template it was rendered from, if any.
    template: Option<std::sync::Arc<Rendered>>,
}

/// Where a rendered text came from: its template and the fragments it
/// included, with their text (to say which one a change comes from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub template: String,
    pub fragments: Vec<(String, String)>,
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the value: Debug output ends up in logs and test failures.
        write!(f, "Text({:?})", self.shown)
    }
}

impl Text {
    /// A literal, not sensitive.
    pub fn plain(s: &str) -> Self {
        Text {
            value: s.to_string(),
            shown: s.to_string(),
            sensitive: false,
            secrets: Vec::new(),
            template: None,
        }
    }

    /// An interpolated string: `shown` marks the secret parts.
    pub(crate) fn interpolated(value: String, shown: String, secrets: Vec<String>) -> Self {
        Text {
            value,
            shown,
            sensitive: true,
            secrets,
            template: None,
        }
    }

    /// A literal that is a secret as a whole (`sensitive: true` on a webhook
    /// whose URL is the credential): shown only up to its host.
    pub fn secret_url(url: &str) -> Self {
        Text {
            value: url.to_string(),
            shown: host_only(url),
            sensitive: true,
            secrets: vec![url.to_string()],
            template: None,
        }
    }

    /// A literal that is a secret as a whole and is never shown at all.
    pub fn secret(value: &str) -> Self {
        Text {
            value: value.to_string(),
            shown: SENSITIVE.into(),
            sensitive: true,
            secrets: vec![value.to_string()],
            template: None,
        }
    }

    /// A text rendered from a template (not sensitive: templates and their
    /// variables are written in the tree, never interpolated).
    pub fn rendered(value: String, from: Rendered) -> Self {
        Text {
            shown: value.clone(),
            value,
            sensitive: false,
            secrets: Vec::new(),
            template: Some(std::sync::Arc::new(from)),
        }
    }

    /// Where a change of this text comes from, said for a plan: its
    /// template, and the fragments whose text is not in `live` (those that
    /// changed, or were added).
    pub fn template_note(&self, live: Option<&str>) -> Option<String> {
        let r = self.template.as_ref()?;
        let live = live.unwrap_or_default();
        let changed: Vec<&str> = r
            .fragments
            .iter()
            .filter(|(_, text)| {
                // A fragment's literal lines (no template syntax) all in the live text.
                let mut literal = text
                    .lines()
                    .map(str::trim_end)
                    .filter(|l| !l.trim().is_empty() && !l.contains("{{") && !l.contains("{%"));
                !literal.all(|l| live.lines().any(|x| x.trim_end() == l))
            })
            .map(|(name, _)| name.as_str())
            .collect();
        Some(if changed.is_empty() {
            format!("rendered from {}", r.template)
        } else {
            format!(
                "rendered from {}; from fragment{} {}",
                r.template,
                if changed.len() == 1 { "" } else { "s" },
                changed.join(", ")
            )
        })
    }

    /// The template it was rendered from, with the fragments it included.
    pub(crate) fn rendered_from(&self) -> Option<&Rendered> {
        self.template.as_deref()
    }

    /// The real value: for requests and comparisons, never for display.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// What may be shown.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    pub fn is_sensitive(&self) -> bool {
        self.sensitive
    }

    /// The secret parts, for the redactor.
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// This text with its value changed by `f` (both forms, e.g. line endings).
    pub fn map(mut self, f: impl Fn(&str) -> String) -> Self {
        self.value = f(&self.value);
        self.shown = f(&self.shown);
        self
    }

    /// How `live`, the live value of a field whose manifest value is this
    /// text, may be shown. A field whose manifest value is sensitive is
    /// sensitive on both sides: the previous value of a rotated token must not
    /// reach a pull-request comment. In order of preference:
    /// - live matches this text's template (the literal parts in order): the
    ///   parts between them are masked, as in `shown`;
    /// - a URL: shown up to the template's literal prefix, else up to its host;
    /// - several lines: lines that are literal lines of this text are shown,
    ///   lines matching a templated line are masked where the template has
    ///   holes, any other line is masked whole;
    /// - otherwise `(sensitive)`.
    pub fn mask_live(&self, live: &str) -> String {
        if !self.sensitive {
            return live.to_string();
        }
        let parts: Vec<&str> = self.shown.split(SENSITIVE).collect();
        if let Some(m) = match_template(live, &parts) {
            return m;
        }
        if url::Url::parse(live).is_ok() {
            let prefix = parts.first().copied().unwrap_or_default();
            if !prefix.is_empty() && live.starts_with(prefix) && prefix.contains("://") {
                return format!("{prefix}{SENSITIVE}");
            }
            return host_only(live);
        }
        if live.contains('\n') {
            let lines: Vec<&str> = self.shown.lines().collect();
            return live
                .split_inclusive('\n')
                .map(|l| {
                    let (body, end) = match l.strip_suffix('\n') {
                        Some(b) => (b, "\n"),
                        None => (l, ""),
                    };
                    let masked = lines
                        .iter()
                        .filter(|t| !t.contains(SENSITIVE))
                        .find(|t| **t == body)
                        .map(|t| t.to_string())
                        .or_else(|| {
                            lines
                                .iter()
                                .filter(|t| t.contains(SENSITIVE))
                                .find_map(|t| {
                                    let parts: Vec<&str> = t.split(SENSITIVE).collect();
                                    match_template(body, &parts)
                                })
                        })
                        .unwrap_or_else(|| SENSITIVE.to_string());
                    format!("{masked}{end}")
                })
                .collect();
        }
        SENSITIVE.into()
    }
}

/// `live` with the holes between the literal `parts` masked, if it has the
/// template's shape (starts with the first part, ends with the last, holds the
/// others in order).
fn match_template(live: &str, parts: &[&str]) -> Option<String> {
    let (first, rest) = parts.split_first()?;
    let (last, middle) = match rest.split_last() {
        Some(x) => x,
        None => return (live == *first).then(|| live.to_string()),
    };
    let mut body = live.strip_prefix(first)?;
    body = body.strip_suffix(last)?;
    let mut out = format!("{first}{SENSITIVE}");
    for part in middle {
        let at = body.find(part)?;
        body = &body[at + part.len()..];
        out.push_str(part);
        out.push_str(SENSITIVE);
    }
    out.push_str(last);
    Some(out)
}

/// `https://host/(sensitive)`: a URL shown up to its host.
pub fn host_only(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match u.host_str() {
            Some(h) => {
                let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
                format!("{}://{h}{port}/{SENSITIVE}", u.scheme())
            }
            None => SENSITIVE.into(),
        },
        Err(_) => SENSITIVE.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interpolated(template: &str, secret: &str) -> Text {
        Text::interpolated(
            template.replace(SENSITIVE, secret),
            template.to_string(),
            vec![secret.to_string()],
        )
    }

    #[test]
    fn the_previous_value_of_a_template_is_masked_like_the_current_one() {
        let t = interpolated("https://hooks.example.com/svc/(sensitive)?v=1", "new");
        assert_eq!(
            t.mask_live("https://hooks.example.com/svc/old-token?v=1"),
            "https://hooks.example.com/svc/(sensitive)?v=1"
        );
        // Another path: up to the template's literal prefix, never the rest.
        assert_eq!(
            t.mask_live("https://hooks.example.com/svc/old-token/x"),
            "https://hooks.example.com/svc/(sensitive)"
        );
        assert_eq!(
            t.mask_live("https://other.example.org/hook/old-token"),
            "https://other.example.org/(sensitive)"
        );
    }

    #[test]
    fn multi_line_text_shows_only_lines_the_manifest_has() {
        let t = interpolated("Use token (sensitive) for X.\nBe nice.\nNever leak.", "new");
        let live = "Use token OLD for X.\nBe nice.\nOld line with OLD\nNever leak.";
        assert_eq!(
            t.mask_live(live),
            "Use token (sensitive) for X.\nBe nice.\n(sensitive)\nNever leak."
        );
        assert!(!t.mask_live(live).contains("OLD"));
    }

    #[test]
    fn plain_text_is_shown_and_secrets_never() {
        assert_eq!(Text::plain("x").mask_live("y"), "y");
        assert_eq!(Text::secret("v").mask_live("old"), SENSITIVE);
        let url = Text::secret_url("https://hooks.slack.com/services/T0/B0/xyz");
        assert_eq!(url.shown(), "https://hooks.slack.com/(sensitive)");
        assert_eq!(
            url.mask_live("https://hooks.slack.com/services/T0/B0/old"),
            "https://hooks.slack.com/(sensitive)"
        );
        assert!(!format!("{url:?}").contains("xyz"));
    }
}

//! What counts as a credential in data twinform did not write itself: live
//! values read from a platform, and literal values in manifests. One
//! definition, used by the HTTP client (every credential in every answer is
//! registered with the run's redactor), by [`crate::engine::plan::Shown`]
//! (a value under a credential-like key, or a credential-bearing URL, is
//! masked on both sides of a change) and by exports (never written).
//!
//! A credential is:
//! - any string under a key that names one, at any depth: `token`, `secret`,
//!   `password`, `pwd`, `passphrase`, `bearer`, `api_key`, `X-Api-Key`,
//!   `authorization`, `cookie`, `private_key`, `credentials` (every string
//!   below such a key), and `auth` as a whole key holding a string;
//! - in any string, a URL's userinfo (`postgres://app:pw@db/x`, also in a
//!   DSN that is not a URL), the path of a URL on a known webhook host
//!   (`hooks.slack.com/services/…`), a query value whose name is a
//!   credential (`?token=…`, `sig=`, `key=`), and a token-like path segment
//!   (20 or more letters and digits mixed, not a UUID).

use serde_json::Value;

use crate::engine::manifest::interpolate::SENSITIVE;

/// Whole words that make a key a credential's.
const WORDS: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "bearer",
    "credential",
    "credentials",
    "apikey",
    "authorization",
    "cookie",
    "privatekey",
    "accesskey",
    "secretkey",
    "signature",
];

/// Adjacent word pairs that do (`api key`, `X-Api-Key`, `private_key`).
const PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("access", "key"),
    ("private", "key"),
    ("signing", "key"),
    ("client", "key"),
    ("session", "id"),
];

/// Keys that are credentials only as a whole and only when they hold a
/// string (`auth: user:pw`). Not `key`: a memory entry's `key` is a name.
const WHOLE: &[&str] = &["auth"];

/// Hosts whose URL path is itself the credential (incoming webhooks).
const WEBHOOK_HOSTS: &[&str] = &[
    "hooks.slack.com",
    "hooks.zapier.com",
    "hooks.glip.com",
    "maker.ifttt.com",
    "discord.com",
    "discordapp.com",
    "outlook.office.com",
    "outlook.office365.com",
    "chat.googleapis.com",
    "api.telegram.org",
    "webhook.office.com",
];

/// The words of a key: split at non-alphanumerics and camelCase humps.
fn words(key: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether a key (a config key, a header name, a query parameter) names a
/// credential.
pub fn is_credential_key(key: &str) -> bool {
    let w = words(key);
    if w.len() == 1 && WHOLE.contains(&w[0].as_str()) {
        return true;
    }
    names_credential(&w)
}

/// Whether the value under `key` is a credential as a whole: keys such as
/// `auth` or `key` only when they hold a string (`auth: {kind: token, …}`
/// is a structure whose own keys say which parts are secret).
fn covers(key: &str, value: &Value) -> bool {
    let w = words(key);
    if w.len() == 1 && WHOLE.contains(&w[0].as_str()) {
        return value.is_string();
    }
    names_credential(&w)
}

/// Last words that make a key about a credential rather than the
/// credential itself (`secret_name`, `token_url`, `password_expires_at`).
const ABOUT: &[&str] = &[
    "name",
    "names",
    "id",
    "ids",
    "ref",
    "refs",
    "type",
    "kind",
    "count",
    "limit",
    "limits",
    "length",
    "expires",
    "expiry",
    "at",
    "ttl",
    "header",
    "field",
    "param",
    "env",
    "var",
    "label",
    "fingerprint",
    "hint",
    "prefix",
    "format",
    "version",
    "rotation",
    "url",
    "uri",
    "endpoint",
    "path",
    "file",
    "required",
    "set",
    "enabled",
    "policy",
    "source",
    "mode",
];

fn names_credential(w: &[String]) -> bool {
    let about = w.last().is_some_and(|l| ABOUT.contains(&l.as_str()));
    let pair_at_end = w.len() >= 2
        && PAIRS
            .iter()
            .any(|(a, b)| w[w.len() - 2] == *a && w[w.len() - 1] == *b);
    if about && !pair_at_end {
        return false;
    }
    let joined = w.concat();
    w.iter().any(|x| WORDS.contains(&x.as_str()))
        || WORDS.iter().any(|x| joined == *x)
        || w.windows(2)
            .any(|p| PAIRS.iter().any(|(a, b)| p[0] == *a && p[1] == *b))
}

/// A string that carries a credential: how it may be shown, and the parts
/// that are secret (for the redactor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub shown: String,
    pub secrets: Vec<String>,
}

/// The credential a string carries, if any (see the module documentation).
pub fn in_string(s: &str) -> Option<Found> {
    let s_trim = s.trim();
    if let Some(found) = in_url(s_trim) {
        return Some(found);
    }
    userinfo_in_dsn(s_trim)
}

fn in_url(s: &str) -> Option<Found> {
    if !s.contains("://") || s.contains(char::is_whitespace) {
        return None;
    }
    let mut url = url::Url::parse(s).ok()?;
    let mut secrets = Vec::new();
    if !url.username().is_empty() || url.password().is_some() {
        secrets.extend(url.password().map(str::to_string));
        secrets.push(url.username().to_string());
        let _ = url.set_username(SENSITIVE);
        let _ = url.set_password(None);
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let webhook = WEBHOOK_HOSTS
        .iter()
        .any(|h| host == *h || host.ends_with(&format!(".{h}")));
    if webhook && url.path().len() > 1 {
        secrets.push(url.path().to_string());
        secrets.extend(url.query().map(str::to_string));
        url.set_path(SENSITIVE);
        url.set_query(None);
    } else {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let secret_query = pairs.iter().any(|(k, v)| {
            !v.is_empty() && (is_credential_key(k) || k.eq_ignore_ascii_case("code"))
        });
        if secret_query {
            let mut shown = url.clone();
            shown.query_pairs_mut().clear();
            for (k, v) in &pairs {
                if !v.is_empty() && (is_credential_key(k) || k.eq_ignore_ascii_case("code")) {
                    secrets.push(v.clone());
                    // The raw (percent-encoded) form may be what is printed.
                    secrets.extend(raw_query_value(s, k).filter(|r| r != v));
                    shown.query_pairs_mut().append_pair(k, SENSITIVE);
                } else {
                    shown.query_pairs_mut().append_pair(k, v);
                }
            }
            url = shown;
        }
        let segments: Vec<String> = url
            .path_segments()
            .map(|p| p.map(str::to_string).collect())
            .unwrap_or_default();
        if segments.iter().any(|p| token_like(p)) {
            let masked: Vec<&str> = segments
                .iter()
                .map(|p| {
                    if token_like(p) {
                        secrets.push(p.clone());
                        SENSITIVE
                    } else {
                        p.as_str()
                    }
                })
                .collect();
            url.set_path(&masked.join("/"));
        }
    }
    if secrets.is_empty() {
        return None;
    }
    secrets.push(s.to_string());
    secrets.retain(|x| !x.is_empty());
    let shown = url
        .as_str()
        .replace("%28sensitive%29", SENSITIVE)
        .replace("(sensitive)@", &format!("{SENSITIVE}@"));
    Some(Found { shown, secrets })
}

fn raw_query_value(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?')?.1.split('#').next()?;
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| v.to_string())
    })
}

/// `user:password@host` in a DSN that is not a URL (`app:pw@tcp(db)/x`).
fn userinfo_in_dsn(s: &str) -> Option<Found> {
    if s.contains(char::is_whitespace) || s.len() > 2048 {
        return None;
    }
    let rest = s.split_once("://").map_or(s, |(_, r)| r);
    let (userinfo, host) = rest.split_once('@')?;
    let (user, password) = userinfo.split_once(':')?;
    // An address (`mailto:a@b.example`) is not a DSN: a DSN's host part
    // names a port, a protocol or a database.
    let dsn_host = host.contains(['/', '(', ':']);
    if user.is_empty() || password.is_empty() || userinfo.contains('/') || !dsn_host {
        return None;
    }
    Some(Found {
        shown: s.replacen(userinfo, SENSITIVE, 1),
        secrets: vec![password.to_string(), s.to_string()],
    })
}

/// A path segment that looks like a token: 20 or more characters of
/// letters, digits, `-`, `_`, `.` and `~`, with both letters and digits,
/// and not a UUID (ids are not secrets).
fn token_like(seg: &str) -> bool {
    seg.len() >= 20
        && seg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
        && seg.chars().any(|c| c.is_ascii_digit())
        && seg.chars().any(|c| c.is_ascii_alphabetic())
        && !is_uuid(seg)
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Every credential in a JSON value, at any depth (for the redactor).
pub fn find(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(value, false, &mut |s, under_key| {
        if under_key {
            out.push(s.to_string());
        } else if let Some(f) = in_string(s) {
            out.extend(f.secrets);
        }
    });
    out
}

/// `value` with every credential masked: strings under a credential key
/// become `(sensitive)`, credential-bearing strings their shown form.
pub fn mask(value: &Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = if covers(k, v) {
                        mask_all_strings(v)
                    } else {
                        mask(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(mask).collect()),
        Value::String(s) => Value::String(mask_str(s)),
        other => other.clone(),
    }
}

/// A string as it may be shown: its credential parts masked.
pub fn mask_str(s: &str) -> String {
    in_string(s).map_or_else(|| s.to_string(), |f| f.shown)
}

/// Whether a JSON value holds any credential (so it must not be written to
/// a file or shown as it is).
pub fn has_any(value: &Value) -> bool {
    !find(value).is_empty()
}

/// Whether a found credential is distinctive enough to be scrubbed from
/// every output by the redactor (short or dictionary-like values such as
/// `basic` would mangle ordinary text; they are still masked where they
/// are shown as values).
pub fn worth_scrubbing(s: &str) -> bool {
    let distinctive = s.chars().any(|c| !c.is_ascii_lowercase());
    s.len() >= 12 || (s.len() >= 6 && distinctive)
}

fn mask_all_strings(v: &Value) -> Value {
    match v {
        Value::String(s) if !s.is_empty() => Value::String(SENSITIVE.into()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), mask_all_strings(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(mask_all_strings).collect()),
        other => other.clone(),
    }
}

fn walk(v: &Value, under_key: bool, f: &mut dyn FnMut(&str, bool)) {
    match v {
        Value::String(s) if !s.is_empty() => f(s, under_key),
        Value::Object(m) => {
            for (k, x) in m {
                walk(x, under_key || covers(k, x), f);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| walk(x, under_key, f)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credential_keys_at_any_spelling() {
        for k in [
            "api_token",
            "apiToken",
            "X-Api-Key",
            "x-auth-token",
            "password",
            "pwd",
            "passphrase",
            "Authorization",
            "bearer",
            "client_secret",
            "private_key",
            "credentials",
            "auth",
            "AccessKey",
            "session_id",
            "Cookie",
        ] {
            assert!(is_credential_key(k), "{k}");
        }
        for k in [
            "key",
            "author",
            "max_tokens",
            "tokenizer",
            "keyboard",
            "space_key",
            "url",
            "description",
            "monkey",
            "passenger",
            "secretRef",
            "secret_name",
            "token_url",
            "password_expires_at",
            "tokenType",
        ] {
            assert!(!is_credential_key(k), "{k}");
        }
    }

    #[test]
    fn credential_urls_are_masked_and_their_parts_found() {
        let slack = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX";
        let f = in_string(slack).unwrap();
        assert_eq!(f.shown, "https://hooks.slack.com/(sensitive)");
        assert!(f
            .secrets
            .contains(&"/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX".into()));
        let dsn = "postgres://app:hunter2@db.example.com:5432/app";
        let f = in_string(dsn).unwrap();
        assert_eq!(f.shown, "postgres://(sensitive)@db.example.com:5432/app");
        assert!(f.secrets.contains(&"hunter2".into()));
        let q = "https://api.example.com/hook?team=a&token=abc123secret";
        let f = in_string(q).unwrap();
        assert_eq!(
            f.shown,
            "https://api.example.com/hook?team=a&token=(sensitive)"
        );
        assert!(f.secrets.contains(&"abc123secret".into()));
        let seg = "https://x.example.com/in/a1B2c3D4e5F6g7H8i9J0k1L2";
        assert_eq!(
            in_string(seg).unwrap().shown,
            "https://x.example.com/in/(sensitive)"
        );
        let go_dsn = "app:pw0rd@tcp(db:3306)/app";
        let f = in_string(go_dsn).unwrap();
        assert_eq!(f.shown, "(sensitive)@tcp(db:3306)/app");
        for plain in [
            "https://example.com/webhooks/agent",
            "https://example.com/a/3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e",
            "just some text with a: colon @ sign",
            "mailto:someone@example.com",
            "https://example.com/docs/getting-started-with-agents",
        ] {
            assert_eq!(in_string(plain), None, "{plain}");
        }
    }

    #[test]
    fn credentials_at_any_depth_are_found_and_masked() {
        let v = json!({
            "url": "https://wiki.example.com",
            "auth": {"kind": "token", "api_token": "s3cr3t-value"},
            "connection": {"host": "db", "password": "pw-123456"},
            "headers": {"X-Api-Key": "k-abcdef", "Accept": "json"},
            "list": [{"bearer": "b-xyz123"}],
            "max_tokens": 500
        });
        let found = find(&v);
        for s in ["s3cr3t-value", "pw-123456", "k-abcdef", "b-xyz123"] {
            assert!(found.contains(&s.to_string()), "{s}: {found:?}");
        }
        let m = mask(&v);
        let text = m.to_string();
        for s in ["s3cr3t-value", "pw-123456", "k-abcdef", "b-xyz123"] {
            assert!(!text.contains(s), "{text}");
        }
        assert_eq!(m["headers"]["Accept"], "json");
        assert_eq!(m["max_tokens"], 500);
        assert_eq!(
            m["auth"]["kind"], "token",
            "a structure under `auth` keeps its plain parts"
        );
        assert_eq!(mask(&json!({"auth": "user:pw"}))["auth"], SENSITIVE);
        assert_eq!(m["url"], "https://wiki.example.com");
    }
}

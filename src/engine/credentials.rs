//! What counts as a credential in data twinform did not write itself: live
//! values read from a platform, and literal values in manifests. One
//! definition, used by the HTTP client (every credential in every answer is
//! registered with the run's redactor), by [`crate::engine::plan::Shown`]
//! (a credential in a shown value is masked on both sides of a change) and
//! by exports (never written).
//!
//! A credential is:
//! - a string under a key that names one, at any depth and in any spelling
//!   (`token`, `api_token`, `apiToken`, `APIToken`, `refreshtoken`,
//!   `DBPassword`, `pwd`, `passphrase`, `X-Api-Key`, `X-Auth`,
//!   `Ocp-Apim-Subscription-Key`, `ssh_key`, `authorization`, `cookie`,
//!   `session_id`…); every string below `credentials` or `secrets`; a
//!   secret-looking string under an ambiguous key (`key`, `pass`, `auth`,
//!   `sig`: a memory entry's `key: skills/setup` is a name, not a secret);
//!   the `value` of a `{name: Authorization, value: …}` pair;
//! - in any string: a URL's or DSN's userinfo (`postgres://app:pw@db/x`,
//!   `app:pw@tcp(db)/x`), the path of a URL on a known incoming-webhook host
//!   (`hooks.slack.com/services/…`), a query, fragment or matrix parameter
//!   whose name is a credential (`?token=`, `&sig=`, `?key=`,
//!   `#access_token=`, `;jsessionid=`), an `Authorization` value
//!   (`Bearer …`, `Basic …`), a connection string's `Password=…;`, a JSON
//!   text holding any of these, and any of these inside free text.
//!
//! Ids are not credentials: a long path segment (an article slug, a
//! folder id) is shown as it is.

use serde_json::Value;

use crate::engine::manifest::interpolate::SENSITIVE;

/// Words that make a key a credential's, alone or as the end of a word
/// (`apitoken`, `dbpassword`, `jwtsecret`).
const STRONG: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "passphrase",
    "credential",
    "credentials",
    "apikey",
    "privatekey",
    "accesskey",
    "secretkey",
    "authorization",
    "bearer",
    "cookie",
];

/// Words that do only as a whole word.
const WHOLE_WORDS: &[&str] = &["pwd", "signature", "sessionid", "jsessionid", "xauth"];

/// Adjacent word pairs that do (`api key`, `X-Api-Key`, `private_key`).
const PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("access", "key"),
    ("private", "key"),
    ("secret", "key"),
    ("signing", "key"),
    ("client", "key"),
    ("ssh", "key"),
    ("encryption", "key"),
    ("subscription", "key"),
    ("master", "key"),
    ("license", "key"),
    ("session", "id"),
    ("auth", "header"),
    ("x", "auth"),
    ("basic", "auth"),
];

/// Keys below which every string is secret.
const CONTAINERS: &[&str] = &["credentials", "secrets"];

/// Keys that hold a credential only when their value looks like one.
const AMBIGUOUS: &[&str] = &["key", "pass", "auth", "sig", "code", "hash"];

/// Query and fragment parameter names that carry credentials, besides keys
/// that name one.
const PARAMS: &[&str] = &[
    "key",
    "sig",
    "sv",
    "code",
    "auth",
    "jsessionid",
    "signature",
];

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
    "description",
];

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
    "logic.azure.com",
];

/// The words of a key: split at non-alphanumerics, camelCase humps and the
/// end of an acronym (`APIToken` → `api`, `token`).
fn words(key: &str) -> Vec<String> {
    let chars: Vec<char> = key.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        let hump = c.is_uppercase()
            && prev.is_some_and(|p| {
                p.is_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_uppercase() && next.is_some_and(char::is_lowercase))
            });
        if hump && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether a key (a config key, a header name, a query parameter) names a
/// credential whatever its value.
pub fn is_credential_key(key: &str) -> bool {
    let w = words(key);
    if w.is_empty() {
        return false;
    }
    let last = w.last().map(String::as_str).unwrap_or_default();
    let pair_at_end = w.len() >= 2
        && PAIRS
            .iter()
            .any(|(a, b)| w[w.len() - 2] == *a && w[w.len() - 1] == *b);
    if pair_at_end {
        return true;
    }
    if ABOUT.contains(&last) {
        return false;
    }
    let joined = w.concat();
    w.iter().any(|x| {
        STRONG.iter().any(|s| x == s || x.ends_with(s)) || WHOLE_WORDS.contains(&x.as_str())
    }) || WHOLE_WORDS.contains(&joined.as_str())
        || STRONG.iter().any(|s| joined == *s)
        || w.windows(2)
            .any(|p| PAIRS.iter().any(|(a, b)| p[0] == *a && p[1] == *b))
}

/// Whether a key's value is a credential: always for credential keys, and
/// for ambiguous keys (`key`, `pass`) when the string looks like a secret.
fn covers(key: &str, value: &Value) -> bool {
    if is_credential_key(key) {
        return true;
    }
    let w = words(key);
    let ambiguous = w.len() == 1 && AMBIGUOUS.contains(&w[0].as_str())
        || w.len() > 1 && w.last().is_some_and(|l| l == "key" || l == "auth");
    ambiguous && value.as_str().is_some_and(secret_like)
}

/// A string that could be a secret: no spaces, and letters mixed with
/// digits or symbols (`skills/setup` and `refunds` are names).
fn secret_like(s: &str) -> bool {
    s.len() >= 8
        && !s.contains(char::is_whitespace)
        && s.chars().any(|c| c.is_ascii_digit())
        && s.chars().any(|c| c.is_ascii_alphabetic())
        && !s.contains('/')
}

fn is_container(key: &str) -> bool {
    let w = words(key);
    w.len() == 1 && CONTAINERS.contains(&w[0].as_str())
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
    let t = s.trim();
    if t.len() > 1 << 20 {
        return None;
    }
    if let Some(f) = in_json_text(t) {
        return Some(f);
    }
    if let Some(f) = in_auth_value(t) {
        return Some(f);
    }
    if let Some(f) = in_connection_string(t) {
        return Some(f);
    }
    if !t.contains(char::is_whitespace) {
        return in_url(t).or_else(|| userinfo_in_dsn(t));
    }
    in_free_text(s)
}

/// A JSON text (a value that is itself JSON) holding a credential.
fn in_json_text(t: &str) -> Option<Found> {
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    let v: Value = serde_json::from_str(t).ok()?;
    let secrets = find(&v);
    (!secrets.is_empty()).then(|| Found {
        shown: mask(&v).to_string(),
        secrets,
    })
}

/// `Bearer …`, `Basic …`, `Token …`, `Bot …`: an Authorization value.
fn in_auth_value(t: &str) -> Option<Found> {
    let (scheme, rest) = t.split_once(' ')?;
    let known = ["bearer", "basic", "token", "bot", "digest", "apikey"];
    let rest = rest.trim();
    (known.contains(&scheme.to_ascii_lowercase().as_str())
        && !rest.is_empty()
        && !rest.contains(char::is_whitespace)
        && rest.len() >= 6)
        .then(|| Found {
            shown: format!("{scheme} {SENSITIVE}"),
            secrets: vec![rest.to_string(), t.to_string()],
        })
}

/// Credentials in URLs inside free text (`post to https://hooks.slack.com/…`).
fn in_free_text(s: &str) -> Option<Found> {
    if !s.contains("://") && !s.contains('@') {
        return None;
    }
    let mut shown = s.to_string();
    let mut secrets = Vec::new();
    for token in s.split(char::is_whitespace) {
        let token = token.trim_matches(|c: char| {
            matches!(c, '(' | ')' | '<' | '>' | '"' | '\'' | ',' | '.' | ';')
        });
        if token.len() < 8 {
            continue;
        }
        if let Some(f) = in_url(token).or_else(|| userinfo_in_dsn(token)) {
            shown = shown.replace(token, &f.shown);
            secrets.extend(f.secrets);
        }
    }
    (!secrets.is_empty()).then_some(Found { shown, secrets })
}

fn is_param_credential(name: &str) -> bool {
    is_credential_key(name) || PARAMS.contains(&name.to_ascii_lowercase().as_str())
}

fn in_url(s: &str) -> Option<Found> {
    if !s.contains("://") {
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
        if let Some(q) = url.query() {
            secrets.push(q.to_string());
            secrets.extend(
                mask_params(q, '&')
                    .map(|(_, found)| found)
                    .unwrap_or_default(),
            );
        }
        url.set_path(SENSITIVE);
        url.set_query(None);
    } else if let Some(q) = url.query().map(str::to_string) {
        if let Some((masked, found)) = mask_params(&q, '&') {
            secrets.extend(found);
            url.set_query(Some(&masked));
        }
    }
    if let Some(frag) = url.fragment().map(str::to_string) {
        if let Some((masked, found)) = mask_params(&frag, '&') {
            secrets.extend(found);
            url.set_fragment(Some(&masked));
        }
    }
    // Matrix parameters (`/x;jsessionid=…`).
    let path = url.path().to_string();
    if path.contains(';') {
        let mut changed = false;
        let segments: Vec<String> = path
            .split('/')
            .map(|seg| match seg.split_once(';') {
                Some((head, params)) => match mask_params(params, ';') {
                    Some((masked, found)) => {
                        secrets.extend(found);
                        changed = true;
                        format!("{head};{masked}")
                    }
                    None => seg.to_string(),
                },
                None => seg.to_string(),
            })
            .collect();
        if changed {
            url.set_path(&segments.join("/"));
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

/// `a=1&token=x` with the credential values masked, and those values (raw
/// and decoded); `None` when no parameter is a credential.
fn mask_params(params: &str, sep: char) -> Option<(String, Vec<String>)> {
    let mut secrets = Vec::new();
    let parts: Vec<String> = params
        .split(sep)
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !v.is_empty() && is_param_credential(&decode(k)) => {
                secrets.push(v.to_string());
                let d = decode(v);
                if d != v {
                    secrets.push(d);
                }
                format!("{k}={SENSITIVE}")
            }
            _ => kv.to_string(),
        })
        .collect();
    (!secrets.is_empty()).then(|| (parts.join(&sep.to_string()), secrets))
}

fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

/// `user:password@host` in a DSN that is not a URL (`app:pw@tcp(db)/x`).
fn userinfo_in_dsn(s: &str) -> Option<Found> {
    if s.len() > 2048 {
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

/// `Server=db;User Id=sa;Password=…;`: a connection string.
fn in_connection_string(s: &str) -> Option<Found> {
    // `k=v;k=v`: every part a key and a value (prose with a `;` is not one).
    let parts: Vec<&str> = s.split(';').filter(|p| !p.trim().is_empty()).collect();
    if parts.len() < 2 || !parts.iter().all(|p| p.contains('=') && !p.contains("://")) {
        return None;
    }
    let (masked, secrets) = mask_params(s, ';')?;
    Some(Found {
        shown: masked,
        secrets,
    })
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

/// `value` with every credential masked: credential values become
/// `(sensitive)`, credential-bearing strings their shown form.
pub fn mask(value: &Value) -> Value {
    match value {
        Value::Object(m) => {
            let pair = pair_value_key(m);
            Value::Object(
                m.iter()
                    .map(|(k, v)| {
                        let whole = is_container(k)
                            || pair.as_deref() == Some(k.as_str())
                            || (covers(k, v) && !v.is_object() && !v.is_array());
                        let v = if whole { mask_all_strings(v) } else { mask(v) };
                        (k.clone(), v)
                    })
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(mask).collect()),
        Value::String(s) => Value::String(mask_str(s)),
        other => other.clone(),
    }
}

/// In `{name: Authorization, value: …}` (a header as a pair), the key of
/// the value that is the credential.
fn pair_value_key(m: &serde_json::Map<String, Value>) -> Option<String> {
    let named = ["name", "key", "header"]
        .iter()
        .filter_map(|k| m.get(*k).and_then(Value::as_str))
        .any(is_credential_key);
    if !named {
        return None;
    }
    ["value", "val"]
        .iter()
        .find(|k| m.contains_key(**k))
        .map(|k| (*k).to_string())
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
    (s.len() >= 12 || (s.len() >= 6 && distinctive)) && !s.contains('\n')
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

/// Every non-empty string of `v`, with whether a key above it makes it a
/// credential as a whole.
fn walk(v: &Value, under_key: bool, f: &mut dyn FnMut(&str, bool)) {
    match v {
        Value::String(s) if !s.is_empty() => f(s, under_key),
        Value::Object(m) => {
            let pair = pair_value_key(m);
            // A record in a container (`secrets: [{name, value}]`): its
            // `name` names the secret (`{{ secrets.NAME }}`); the rest of
            // it is secret.
            let record = under_key && m.get("name").is_some_and(Value::is_string);
            for (k, x) in m {
                if record && k == "name" {
                    continue;
                }
                let whole = is_container(k)
                    || pair.as_deref() == Some(k.as_str())
                    || (covers(k, x) && !x.is_object() && !x.is_array());
                walk(x, under_key || whole, f);
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

    /// A secret's name in a container of records is its name, not a
    /// secret (Cadenya's `ToolSetSpec.secrets`, `types.py:4959`); its
    /// value is one.
    #[test]
    fn a_record_in_a_container_keeps_its_name_and_hides_its_value() {
        let found = find(
            &json!({"spec": {"secrets": [{"name": "FORMS_TOKEN", "value": "v4lue-0001"}], "token": "t0ken-0002"}}),
        );
        assert!(!found.contains(&"FORMS_TOKEN".to_string()), "{found:?}");
        assert!(found.contains(&"v4lue-0001".to_string()), "{found:?}");
        assert!(found.contains(&"t0ken-0002".to_string()), "{found:?}");
        let flat = find(&json!({"secrets": ["s3cret-0003"]}));
        assert_eq!(flat, vec!["s3cret-0003".to_string()]);
    }

    #[test]
    fn credential_keys_in_every_spelling() {
        for k in [
            "api_token",
            "apiToken",
            "APIToken",
            "apitoken",
            "clientsecret",
            "refreshtoken",
            "accesstoken",
            "sessionid",
            "DBPassword",
            "JWTSecret",
            "SMTPPassword",
            "auth_header",
            "X-Auth",
            "X-Api-Key",
            "Ocp-Apim-Subscription-Key",
            "ssh_key",
            "encryption_key",
            "password",
            "pwd",
            "passphrase",
            "Authorization",
            "bearer",
            "client_secret",
            "private_key",
            "credentials",
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
    fn credential_strings_are_masked_and_their_parts_found() {
        let cases = [
            (
                "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX",
                "https://hooks.slack.com/(sensitive)",
                "/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX",
            ),
            (
                "postgres://app:hunter2@db.example.com:5432/app",
                "postgres://(sensitive)@db.example.com:5432/app",
                "hunter2",
            ),
            (
                "https://api.example.com/hook?team=a&token=abc123secret",
                "https://api.example.com/hook?team=a&token=(sensitive)",
                "abc123secret",
            ),
            (
                "https://maps.googleapis.com/x?key=AIzaKEY123&sig=SIG456",
                "https://maps.googleapis.com/x?key=(sensitive)&sig=(sensitive)",
                "SIG456",
            ),
            (
                "https://example.com/cb#access_token=tok789&state=1",
                "https://example.com/cb#access_token=(sensitive)&state=1",
                "tok789",
            ),
            (
                "https://example.com/app;jsessionid=SESS123",
                "https://example.com/app;jsessionid=(sensitive)",
                "SESS123",
            ),
            (
                "https://prod-00.westus.logic.azure.com/workflows/abc/triggers?sig=S1",
                "https://prod-00.westus.logic.azure.com/(sensitive)",
                "S1",
            ),
            (
                "app:pw0rd@tcp(db:3306)/app",
                "(sensitive)@tcp(db:3306)/app",
                "pw0rd",
            ),
            (
                "Bearer eyJhbGciOi.xyz",
                "Bearer (sensitive)",
                "eyJhbGciOi.xyz",
            ),
            (
                "Server=db;User Id=sa;Password=Pa55word;",
                "Server=db;User Id=sa;Password=(sensitive);",
                "Pa55word",
            ),
            (
                "{\"api_token\":\"jsonsecret1\"}",
                "{\"api_token\":\"(sensitive)\"}",
                "jsonsecret1",
            ),
            (
                "post to https://hooks.slack.com/services/T1/B1/ZZZ when done",
                "post to https://hooks.slack.com/(sensitive) when done",
                "/services/T1/B1/ZZZ",
            ),
        ];
        for (input, shown, secret) in cases {
            let f = in_string(input).unwrap_or_else(|| panic!("{input}"));
            assert_eq!(f.shown, shown, "{input}");
            assert!(
                f.secrets.contains(&secret.to_string()),
                "{input}: {:?}",
                f.secrets
            );
        }
        for plain in [
            "https://example.com/webhooks/agent",
            "https://example.com/a/3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e",
            "https://support.example.com/hc/articles/360001234567-Getting-Started",
            "https://ci.example.com/deploy-release-2024-11-20",
            "https://drive.example.com/folders/1a2B3c4D5e6F7g8H9i0JkLmNoPqRs",
            "just some text with a: colon @ sign",
            "mailto:someone@example.com",
            "Ask for the confirmation token first.",
        ] {
            assert_eq!(in_string(plain), None, "{plain}");
        }
    }

    #[test]
    fn credentials_at_any_depth_are_found_and_masked() {
        let v = json!({
            "url": "https://wiki.example.com",
            "auth": {"kind": "token", "api_token": "s3cr3t-value", "user": "bob", "pass": "pw-123456"},
            "connection": {"host": "db", "password": "pw-234567"},
            "headers": {"X-Api-Key": "k-abcdef", "Accept": "json"},
            "pairs": [{"name": "Authorization", "value": "opaque-987"}],
            "credentials": {"user": "carol", "other": "c-345678"},
            "list": [{"bearer": "b-xyz123"}],
            "max_tokens": 500,
            "key": "skills/setup",
            "properties": {"token": {"type": "string", "description": "Confirmation token from the email"}}
        });
        let found = find(&v);
        for s in [
            "s3cr3t-value",
            "pw-123456",
            "pw-234567",
            "k-abcdef",
            "opaque-987",
            "c-345678",
            "b-xyz123",
        ] {
            assert!(found.contains(&s.to_string()), "{s}: {found:?}");
        }
        for s in [
            "skills/setup",
            "Confirmation token from the email",
            "string",
            "bob",
        ] {
            assert!(!found.contains(&s.to_string()), "{s}: {found:?}");
        }
        let m = mask(&v);
        let text = m.to_string();
        for s in [
            "s3cr3t-value",
            "pw-123456",
            "k-abcdef",
            "b-xyz123",
            "opaque-987",
            "c-345678",
        ] {
            assert!(!text.contains(s), "{text}");
        }
        assert_eq!(m["headers"]["Accept"], "json");
        assert_eq!(m["max_tokens"], 500);
        assert_eq!(m["url"], "https://wiki.example.com");
        assert_eq!(m["auth"]["kind"], "token");
        assert_eq!(m["key"], "skills/setup");
        assert_eq!(
            m["properties"]["token"]["description"],
            "Confirmation token from the email"
        );
        assert_eq!(mask(&json!({"auth": "user:pw123456"}))["auth"], SENSITIVE);
    }
}

//! Twin's rules for ids, cron expressions and webhook URLs: one definition
//! shared by the manifest validator and the emulator.

use std::str::FromStr;

/// Whether `id` is a valid agent id: `^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`.
pub fn is_valid_agent_id(id: &str) -> bool {
    let mut chars = id.chars();
    id.len() <= 64
        && matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Check a 7-field Twin cron expression; `Err` says why it is not one.
pub fn check_cron(expr: &str) -> Result<(), String> {
    let fields = expr.split_whitespace().count();
    if fields != 7 {
        return Err(format!(
            "cron must have 7 fields (sec min hour day month day-of-week year), found {fields}"
        ));
    }
    let schedule = cron::Schedule::from_str(expr).map_err(|e| {
        // The parser's message repeats the expression with a caret; keep its last line.
        let text = e.to_string();
        let why = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty() && l.trim() != "^")
            .unwrap_or(&text)
            .trim()
            .to_string();
        format!("invalid cron: {why}")
    })?;
    if schedule.upcoming(chrono::Utc).next().is_none() {
        return Err("cron never fires".into());
    }
    Ok(())
}

/// The day-of-week field of a 7-field cron when it uses numbers (Quartz
/// numbering, Sunday = 1, easily misread as POSIX's Monday = 1).
pub fn numeric_day_of_week(expr: &str) -> Option<String> {
    let dow = expr.split_whitespace().nth(5)?;
    dow.bytes()
        .any(|b| b.is_ascii_digit())
        .then(|| dow.to_string())
        // `*/2` style steps over every day are not a day number.
        .filter(|d| !d.starts_with("*/"))
}

/// Check a webhook URL: http or https with a host, and nothing a URL parser
/// would silently drop or reinterpret (whitespace and control characters,
/// which an environment variable can bring in; an empty authority).
pub fn check_url(url: &str) -> Result<(), String> {
    if let Some(c) = url.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "URL contains {}: encode it or remove it",
            match c {
                '\n' => "a line break".to_string(),
                '\t' => "a tab".to_string(),
                ' ' => "a space".to_string(),
                c => format!("the character U+{:04X}", u32::from(c)),
            }
        ));
    }
    if let Some((_, rest)) = url.split_once("://") {
        if rest.is_empty() || rest.starts_with(['/', '?', '#']) {
            return Err("URL has no host".into());
        }
    }
    let parsed = url::Url::parse(url).map_err(|e| format!("invalid URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "URL scheme must be http or https, not `{}`",
            parsed.scheme()
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("URL has no host".into());
    }
    Ok(())
}

/// The form two webhook URLs are compared in: scheme and host lowercased,
/// the scheme's default port dropped (`https://H.EXAMPLE.COM:443/x` is
/// `https://h.example.com/x`). Paths and queries stay case-sensitive.
pub fn url_key(url: &str) -> String {
    url::Url::parse(url).map_or_else(|_| url.to_string(), |u| u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_ids() {
        assert!(is_valid_agent_id("daily-digest"));
        assert!(is_valid_agent_id("A_1"));
        assert!(!is_valid_agent_id("-x"));
        assert!(!is_valid_agent_id("has space"));
        assert!(!is_valid_agent_id(&"a".repeat(65)));
        assert!(is_valid_agent_id(&"a".repeat(64)));
    }

    #[test]
    fn crons() {
        assert!(check_cron("0 0 9 * * * *").is_ok());
        assert!(check_cron("0 0 9 * * *").unwrap_err().contains("7 fields"));
        assert!(check_cron("0 0 25 * * * *")
            .unwrap_err()
            .contains("invalid"));
        assert!(check_cron("0 0 0 31 2 * *").unwrap_err().contains("never"));
    }

    #[test]
    fn urls() {
        assert!(check_url("https://hooks.example.com/x").is_ok());
        assert!(check_url("http://127.0.0.1:9/x").is_ok());
        assert!(check_url("ftp://x.example").is_err());
        assert!(check_url("not a url").is_err());
        for bad in [
            "https:///path",
            "https://",
            "https://h.example/a b",
            "https://h.example/x\ny",
            "https://h.example/\tx",
        ] {
            assert!(check_url(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn url_keys_ignore_host_case_and_default_ports_only() {
        assert_eq!(
            url_key("https://H.EXAMPLE.COM:443/x"),
            url_key("https://h.example.com/x")
        );
        assert_eq!(
            url_key("HTTP://h.example:80/x"),
            url_key("http://h.example/x")
        );
        assert_ne!(
            url_key("https://h.example/X"),
            url_key("https://h.example/x")
        );
        assert_ne!(
            url_key("https://h.example:8443/x"),
            url_key("https://h.example/x")
        );
    }
}

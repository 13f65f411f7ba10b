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

/// Check a webhook URL: http or https with a host.
pub fn check_url(url: &str) -> Result<(), String> {
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
    }
}

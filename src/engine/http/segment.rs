//! Path segments: the one encoder every provider builds request paths with,
//! and the check the client makes before sending any request.

/// Percent-encode one path segment (every byte but letters, digits and
/// `-._~`; a space is `%20`).
pub fn segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
        .replace("%7E", "~")
}

/// The first segment of `path` (before any query) that a URL would treat
/// as `.` or `..`, raw or percent-encoded: an id from live data such as
/// `..` would otherwise address another resource.
pub fn dot_segment(path: &str) -> Option<String> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    path.split('/').find_map(|seg| {
        let decoded = seg.replace("%2E", ".").replace("%2e", ".");
        (decoded == "." || decoded == "..").then(|| seg.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded_and_dot_segments_found() {
        assert_eq!(segment("a b/c?d"), "a%20b%2Fc%3Fd");
        assert_eq!(segment("agent_1.v2~x"), "agent_1.v2~x");
        assert_eq!(dot_segment("/v1/agents/x/webhooks/.."), Some("..".into()));
        assert_eq!(
            dot_segment(&format!("/v1/agents/{}", segment(".."))),
            Some("..".into())
        );
        assert_eq!(dot_segment("/v1/agents/%2E%2e"), Some("%2E%2e".into()));
        assert_eq!(dot_segment("/v1/agents/x?after=.."), None);
        assert_eq!(dot_segment("/v1/agents/a..b"), None);
    }
}

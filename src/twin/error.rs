//! The client's typed error.

use serde::Deserialize;

/// What went wrong talking to the Twin API.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The server answered with an error status. Shown like
    /// `409 Conflict: agent is not deployed (PUT /v1/agents/x/schedule)`.
    #[error("{status} {title}: {detail} ({method} {path})")]
    Status {
        status: u16,
        title: String,
        detail: String,
        method: String,
        path: String,
    },
    /// No usable answer (timeout, refused or dropped connection). `ambiguous`
    /// is true when the request may have reached the server (a write may have happened).
    #[error("{message} ({method} {path})")]
    Transport {
        message: String,
        method: String,
        path: String,
        ambiguous: bool,
    },
    /// A 2xx answer whose body is not what the API documents.
    #[error("unexpected response: {message} ({method} {path})")]
    Decode {
        message: String,
        method: String,
        path: String,
    },
    /// A configuration problem (no key, refused endpoint).
    #[error("{0}")]
    Config(String),
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// 404, or the live service's 403 for an unknown agent: "not there".
    pub fn is_not_found(&self) -> bool {
        matches!(self.status(), Some(403 | 404))
    }

    /// A failure after which a write may or may not have happened.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            Self::Transport { ambiguous, .. } => *ambiguous,
            Self::Status { status, .. } => matches!(status, 502..=504),
            _ => false,
        }
    }
}

#[derive(Deserialize)]
struct ProblemBody {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    /// The pre-RFC 9457 format: `{"error": {"code", "message"}}` or `{"error": "…"}`.
    #[serde(default)]
    error: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
}

/// Build an [`ApiError::Status`] from any error body: problem+json, the old
/// `error` format, plain text (422 serde messages), HTML or nothing.
pub fn from_response(status: u16, method: &str, path: &str, body: &[u8]) -> ApiError {
    let reason = reason_phrase(status);
    let (title, detail) = match serde_json::from_slice::<ProblemBody>(body) {
        Ok(p) => {
            let detail = p
                .detail
                .or(p.message)
                .or_else(|| match p.error {
                    Some(serde_json::Value::String(s)) => Some(s),
                    Some(serde_json::Value::Object(m)) => m
                        .get("message")
                        .and_then(|v| v.as_str())
                        .map(str::to_string),
                    _ => None,
                })
                .unwrap_or_else(|| snippet(body));
            (p.title.unwrap_or_else(|| reason.to_string()), detail)
        }
        Err(_) => (reason.to_string(), snippet(body)),
    };
    ApiError::Status {
        status,
        title,
        detail: if detail.is_empty() {
            "(empty body)".into()
        } else {
            detail
        },
        method: method.to_string(),
        path: path.to_string(),
    }
}

/// The start of a body, on one line, for bodies that are not problem+json.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = one_line.chars().take(200).collect();
    if one_line.chars().count() > 200 {
        out.push('…');
    }
    out
}

fn reason_phrase(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_json() {
        let e = from_response(
            409,
            "PUT",
            "/v1/agents/daily-digest/schedule",
            br#"{"type":"about:blank","title":"Conflict","status":409,"detail":"agent is not deployed"}"#,
        );
        assert_eq!(
            e.to_string(),
            "409 Conflict: agent is not deployed (PUT /v1/agents/daily-digest/schedule)"
        );
    }

    #[test]
    fn other_bodies_still_say_something() {
        let e = from_response(
            422,
            "POST",
            "/v1/agents",
            b"Failed to deserialize the JSON body: missing field `name`",
        );
        assert!(e
            .to_string()
            .starts_with("422 Unprocessable Entity: Failed to deserialize"));
        let e = from_response(
            502,
            "GET",
            "/v1/me",
            b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        );
        assert!(e.to_string().contains("<h1>502 Bad Gateway</h1>"));
        let e = from_response(500, "GET", "/v1/me", b"");
        assert!(e.to_string().contains("(empty body)"));
        let e = from_response(
            400,
            "GET",
            "/v1/me",
            br#"{"error":{"code":"bad","message":"old format"}}"#,
        );
        assert!(e.to_string().contains("old format"));
    }
}

//! The client's typed error, and reading error bodies: RFC 9457 problems,
//! `{"error": {"code", "message"}}` envelopes, flat `{"error": "…"}`,
//! google.rpc Status (`{code, message, details}`), plain text, HTML or
//! nothing. A platform may read its own format first ([`ErrorBody`]).

use serde::Deserialize;
/// How a timed-out request's message starts.
pub(super) const TIMED_OUT: &str = "timed out";

/// What went wrong talking to a platform's API.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The server answered with an error status. Shown like
    /// `409 Conflict: agent is not deployed (PUT /v1/agents/x/schedule)`.
    #[error("{status} {title}: {detail}{} ({method} {path})", details_suffix(.details))]
    Status {
        status: u16,
        title: String,
        detail: String,
        /// Itemized causes (field violations), when the body lists them.
        details: Vec<String>,
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
    /// No usable credentials (no key, an empty one).
    #[error("{0}")]
    Credentials(String),
    /// An endpoint that cannot be used (malformed, plain http to a remote host).
    #[error("{0}")]
    Endpoint(String),
    /// A list that kept changing while it was read in pages: no two reads in
    /// a row agreed, so nothing may be decided from it (see `list.rs`).
    #[error(
        "the list at {path} kept changing while it was read ({reads} reads, no two in a row \
         agreeing; last: {why}): nothing is decided from a partial list; run the command \
         again once the changes settle"
    )]
    Unsettled {
        path: String,
        reads: u32,
        why: String,
    },
    /// A request twinform refuses to send: its path has a `.` or `..`
    /// segment (an id from live data), which the URL would resolve to
    /// another resource (`DELETE …/agents/x/..` is `DELETE …/agents/`).
    #[error(
        "refusing to send {method} {path}: the id `{segment}` is not one a request path can carry"
    )]
    UnsafePath {
        method: String,
        path: String,
        segment: String,
    },
    /// A concurrent read ended without an answer (it panicked or was cancelled).
    #[error("a read stopped without an answer: {0}")]
    Task(String),
    /// An object the command was asked about does not exist (found out by
    /// listing after the server answered with a bare 403 or 404); the
    /// message names it and the closest existing name.
    #[error("{0}")]
    Missing(String),
}

fn details_suffix(details: &[String]) -> String {
    if details.is_empty() {
        String::new()
    } else {
        format!(" [{}]", details.join("; "))
    }
}

/// An error body as a platform describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    pub title: Option<String>,
    pub detail: String,
    pub details: Vec<String>,
}

impl ApiError {
    /// An answer to `method path` that is not what the API promises.
    pub fn decode(method: impl std::fmt::Display, path: &str, message: impl Into<String>) -> Self {
        Self::Decode {
            message: message.into(),
            method: method.to_string(),
            path: path.to_string(),
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// 404, or the live service's 403 for an unknown agent: "not there".
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Missing(_)) || matches!(self.status(), Some(403 | 404))
    }

    /// A failure after which the server may still be working on the request
    /// and commit it later: a timeout, or a gateway that gave up on its
    /// backend (502, 504). A connection dropped while the answer was being
    /// read came after the server finished.
    pub fn may_commit_late(&self) -> bool {
        match self {
            Self::Transport { message, .. } => message.starts_with(TIMED_OUT),
            Self::Status { status, .. } => matches!(status, 502 | 504),
            _ => false,
        }
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
    title: Option<serde_json::Value>,
    #[serde(default)]
    detail: Option<serde_json::Value>,
    /// `{"error": {"code", "message"}}` or `{"error": "…"}`.
    #[serde(default)]
    error: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<serde_json::Value>,
    /// google.rpc Status: `[{"@type": …, "fieldViolations": [{field, description}]}]`.
    #[serde(default)]
    details: Option<serde_json::Value>,
}

/// The generic reading of a JSON error body.
pub fn describe(body: &[u8]) -> Option<ErrorBody> {
    let p: ProblemBody = serde_json::from_slice(body).ok()?;
    let text =
        |v: &Option<serde_json::Value>| v.as_ref().and_then(|v| v.as_str()).map(str::to_string);
    let detail = text(&p.detail)
        .or_else(|| text(&p.message))
        .or_else(|| match &p.error {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Object(m)) => m
                .get("message")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            _ => None,
        })?;
    let mut details = Vec::new();
    if let Some(serde_json::Value::Array(items)) = &p.details {
        for item in items {
            for v in item
                .get("fieldViolations")
                .and_then(|f| f.as_array())
                .into_iter()
                .flatten()
            {
                let field = v.get("field").and_then(|x| x.as_str()).unwrap_or("?");
                let why = v
                    .get("description")
                    .and_then(|x| x.as_str())
                    .unwrap_or("invalid");
                details.push(format!("{field}: {why}"));
            }
            if let Some(reason) = item.get("reason").and_then(|r| r.as_str()) {
                details.push(reason.to_string());
            }
        }
    }
    Some(ErrorBody {
        title: text(&p.title),
        detail,
        details,
    })
}

/// Build an [`ApiError::Status`] from any error body: the platform's own
/// reading if it has one, else [`describe`], else the start of the body.
/// Everything quoted from the server is neutralized (control characters).
pub fn from_response(
    status: u16,
    method: &str,
    path: &str,
    body: &[u8],
    described: Option<ErrorBody>,
) -> ApiError {
    let reason = reason_phrase(status);
    let clean = |s: String| crate::engine::output::neutralize(&s).into_owned();
    let (title, detail, details) = match described.or_else(|| describe(body)) {
        Some(b) => (
            b.title.unwrap_or_else(|| reason.to_string()),
            b.detail,
            b.details,
        ),
        None => (reason.to_string(), snippet(body), Vec::new()),
    };
    ApiError::Status {
        status,
        title: clean(title),
        detail: if detail.is_empty() {
            "(empty body)".into()
        } else {
            clean(detail)
        },
        details: details.into_iter().map(clean).collect(),
        method: method.to_string(),
        path: path.to_string(),
    }
}

/// The start of a body, on one line, for bodies that are not JSON errors.
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
            None,
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
            None,
        );
        assert!(e
            .to_string()
            .starts_with("422 Unprocessable Entity: Failed to deserialize"));
        let e = from_response(
            502,
            "GET",
            "/v1/me",
            b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            None,
        );
        assert!(e.to_string().contains("<h1>502 Bad Gateway</h1>"));
        let e = from_response(500, "GET", "/v1/me", b"", None);
        assert!(e.to_string().contains("(empty body)"));
        let e = from_response(
            400,
            "GET",
            "/v1/me",
            br#"{"error":{"code":"bad","message":"old format"}}"#,
            None,
        );
        assert!(e.to_string().contains("old format"));
        let e = from_response(
            400,
            "POST",
            "/v1/x",
            br#"{"code":3,"message":"invalid agent","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"spec.status","description":"unknown value"}]}]}"#,
            None,
        );
        assert_eq!(
            e.to_string(),
            "400 Bad Request: invalid agent [spec.status: unknown value] (POST /v1/x)"
        );
        let e = from_response(500, "GET", "/v1/me", b"boom\x1b[2J", None);
        assert!(!e.to_string().contains('\x1b'), "{e}");
    }
}

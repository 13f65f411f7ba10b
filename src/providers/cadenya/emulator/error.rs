//! Errors as the API answers them: a google.rpc `Status` (gRPC code,
//! message, `BadRequest` field violations) and its HTTP status.

/// An error as google.rpc Status: HTTP status, gRPC code, message, field violations.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub status: u16,
    pub code: u32,
    pub message: String,
    pub violations: Vec<(String, String)>,
}

pub type Answer = Result<(u16, serde_json::Value), Problem>;

pub fn invalid(message: impl Into<String>) -> Problem {
    Problem {
        status: 400,
        code: 3,
        message: message.into(),
        violations: Vec::new(),
    }
}

/// InvalidArgument with one `google.rpc.BadRequest` field violation.
pub fn violation(field: &str, why: &str) -> Problem {
    Problem {
        status: 400,
        code: 3,
        message: format!("invalid argument: {field}: {why}"),
        violations: vec![(field.into(), why.into())],
    }
}

pub fn precondition(message: impl Into<String>) -> Problem {
    Problem {
        status: 400,
        code: 9,
        message: message.into(),
        violations: Vec::new(),
    }
}

pub fn conflict(message: impl Into<String>) -> Problem {
    Problem {
        status: 409,
        code: 6,
        message: message.into(),
        violations: Vec::new(),
    }
}

pub fn not_found(what: &str) -> Problem {
    Problem {
        status: 404,
        code: 5,
        message: format!("{what} not found"),
        violations: Vec::new(),
    }
}

pub fn unimplemented(message: impl Into<String>) -> Problem {
    Problem {
        status: 501,
        code: 12,
        message: message.into(),
        violations: Vec::new(),
    }
}

pub fn method_not_allowed() -> Problem {
    Problem {
        status: 405,
        code: 12,
        message: "method not allowed on this path".into(),
        violations: Vec::new(),
    }
}

impl Problem {
    /// The same problem answered with another HTTP status and gRPC code.
    pub fn with_status(mut self, status: u16, code: u32) -> Self {
        self.status = status;
        self.code = code;
        self
    }
}

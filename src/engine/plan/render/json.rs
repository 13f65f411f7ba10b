//! `-o json`: the versioned, documented plan document.

use serde_json::{json, Value};

use crate::engine::plan::{Plan, FORMAT_VERSION};

/// The plan as a JSON value (`format_version` "1"; `twinform_version` says
/// which release wrote it).
pub fn to_value(plan: &Plan) -> Value {
    json!({
        "format_version": FORMAT_VERSION,
        "twinform_version": env!("CARGO_PKG_VERSION"),
        "summary": plan.summary(),
        "changes": plan.changes,
        "unmanaged": plan.unmanaged,
        "warnings": plan.warnings,
    })
}

pub fn render(plan: &Plan) -> String {
    format!(
        "{}\n",
        serde_json::to_string_pretty(&to_value(plan)).unwrap_or_default()
    )
}

//! The document policies receive as `input`: the plan document (`plan -o
//! json`, format 1: `summary`, `changes`, `unmanaged`, `warnings`), so rules
//! over changes run in conftest on `plan -o json` too, plus
//!
//! - `command`: `validate`, `plan`, `drift` or `apply`;
//! - `resources`: one entry per declared resource, `{provider, kind,
//!   address, file, line, column, fields, prompts, schedules}` (see
//!   [`Declared`]).
//!
//! In `validate` there is no live state: `changes` is empty. Nothing secret
//! is in it: fields hold what plans would show, and the whole document is
//! scrubbed by the run's redactor before it is evaluated (`schema/policy-
//! input.schema.json` describes it).

use serde_json::Value;

use crate::engine::manifest::declared::Declared;
use crate::engine::plan::render::json;
use crate::engine::plan::Plan;

/// The input document for `command`, with `plan`'s changes (an empty plan
/// in `validate`).
pub fn document(command: &str, plan: &Plan, declared: &[Declared]) -> Value {
    let mut doc = json::to_value(plan);
    if let Value::Object(m) = &mut doc {
        m.insert("command".into(), command.into());
        m.insert(
            "resources".into(),
            Value::Array(declared.iter().map(Declared::to_json).collect()),
        );
    }
    doc
}

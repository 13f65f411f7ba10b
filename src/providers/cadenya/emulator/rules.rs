//! The checks a spec passes beyond its shape, against the workspace:
//! variations (model references, knob ranges, assignment targets and the
//! memory stack), schedules (rules, time zone, ranges, pinned variation)
//! and tools (their tool set's adapter).

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::error::*;
use super::resources::parent_of;
use super::schema::{duration_secs, int};
use super::store::*;

fn num_in(v: Option<&Value>, lo: f64, hi: f64, field: &str) -> Result<(), Problem> {
    match v.and_then(Value::as_f64) {
        Some(x) if !(lo..=hi).contains(&x) => {
            Err(violation(field, &format!("must be between {lo} and {hi}")))
        }
        _ => Ok(()),
    }
}

fn non_negative(v: Option<&Value>, field: &str) -> Result<(), Problem> {
    match v.and_then(int) {
        Some(x) if x < 0 => Err(violation(field, "must not be negative")),
        _ => Ok(()),
    }
}

/// Calendar fields and their bounds.
const CALENDAR_FIELDS: &[(&str, i64, i64)] = &[
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("dayOfMonth", 1, 31),
    ("month", 1, 12),
    ("dayOfWeek", 0, 6),
];

impl Store {
    /// A variation's spec against its workspace; assignment targets and
    /// layers given as `external_id:` are stored as canonical ids.
    pub(super) fn check_variation(
        &self,
        ws: &str,
        agent: &str,
        spec: &mut Map<String, Value>,
    ) -> Result<(), Problem> {
        if let Some(mc) = spec.get("modelConfig").and_then(Value::as_object) {
            let model = mc
                .get("modelId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            self.resolve_model(ws, model)
                .map_err(|e| violation("spec.modelConfig.modelId", &e))?;
            num_in(
                mc.get("temperature"),
                0.0,
                2.0,
                "spec.modelConfig.temperature",
            )?;
            num_in(mc.get("topP"), 0.0, 1.0, "spec.modelConfig.topP")?;
            non_negative(mc.get("topK"), "spec.modelConfig.topK")?;
            non_negative(
                mc.get("maxOutputTokens"),
                "spec.modelConfig.maxOutputTokens",
            )?;
        }
        if let Some(c) = spec.get("constraints").and_then(Value::as_object) {
            non_negative(c.get("maxToolCalls"), "spec.constraints.maxToolCalls")?;
            non_negative(
                c.get("maxSubObjectives"),
                "spec.constraints.maxSubObjectives",
            )?;
            if let Some(t) = c.get("inactivityTimeout").and_then(Value::as_str) {
                if !(60.0..=86400.0).contains(&duration_secs(t)) {
                    return Err(violation(
                        "spec.constraints.inactivityTimeout",
                        "must be between 1 minute and 24 hours (\"60s\" to \"86400s\")",
                    ));
                }
            }
        }
        if let Some(c) = spec.get("compactionConfig").and_then(Value::as_object) {
            num_in(
                c.get("triggerThreshold"),
                0.0,
                1.0,
                "spec.compactionConfig.triggerThreshold",
            )?;
            non_negative(
                c.get("toolResultClearing")
                    .and_then(|t| t.get("preserveRecentResults")),
                "spec.compactionConfig.toolResultClearing.preserveRecentResults",
            )?;
        }
        if let Some(p) = spec.get("progressiveDiscovery").and_then(Value::as_object) {
            non_negative(p.get("maxTools"), "spec.progressiveDiscovery.maxTools")?;
        }
        if let Some(Value::Array(list)) = spec.get_mut("assignments") {
            let mut seen = BTreeSet::new();
            for (i, a) in list.iter_mut().enumerate() {
                let tag = a
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let target = a
                    .get(&tag)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let field = format!("spec.assignments[{i}].{tag}");
                let canonical = self
                    .assignment_target(ws, agent, &tag, &target)
                    .map_err(|why| violation(&field, &why))?;
                if !seen.insert((tag.clone(), canonical.clone())) {
                    return Err(violation(&field, &format!("{canonical} is assigned twice")));
                }
                a[tag.as_str()] = json!(canonical);
            }
        }
        if let Some(Value::Array(list)) = spec.get_mut("memoryLayerAssignments") {
            if list.len() > MAX_LAYERS {
                return Err(precondition(format!(
                    "a variation stacks at most {MAX_LAYERS} memory layers ({} given)",
                    list.len()
                )));
            }
            let (mut layers, mut positions) = (BTreeSet::new(), BTreeSet::new());
            for (i, a) in list.iter_mut().enumerate() {
                let seg = a
                    .get("memoryLayerId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let layer = self.assignable_layer(ws, &seg).map_err(|p| match p.code {
                    3 | 5 => violation(
                        &format!("spec.memoryLayerAssignments[{i}].memoryLayerId"),
                        &p.message,
                    ),
                    _ => p,
                })?;
                let position = a.get("position").and_then(int).unwrap_or(-1);
                if position < 0 {
                    return Err(violation(
                        &format!("spec.memoryLayerAssignments[{i}].position"),
                        "must be 0 or more",
                    ));
                }
                if !layers.insert(layer.clone()) {
                    return Err(violation(
                        &format!("spec.memoryLayerAssignments[{i}].memoryLayerId"),
                        &format!("{layer} is stacked twice"),
                    ));
                }
                if !positions.insert(position) {
                    return Err(violation(
                        &format!("spec.memoryLayerAssignments[{i}].position"),
                        &format!("position {position} is used twice: positions are unique within a variation"),
                    ));
                }
                *a = json!({"memoryLayerId": layer, "position": position});
            }
        }
        Ok(())
    }

    /// The canonical id of an assignment's target, or why it cannot be assigned.
    pub(super) fn assignment_target(
        &self,
        ws: &str,
        agent: &str,
        tag: &str,
        target: &str,
    ) -> Result<String, String> {
        if target.is_empty() {
            return Err("required".into());
        }
        match tag {
            "toolId" => self
                .find_tool(ws, target)
                .map(|(_, t)| id_of(t).to_string())
                .ok_or_else(|| {
                    format!("no tool {target} in this workspace (tools are named by canonical id)")
                }),
            "toolSetId" => self
                .resolve(&format!("{ws}/tool_sets"), target, Kind::ToolSet)
                .map_err(|_| format!("no tool set {target} in this workspace")),
            "subAgentId" => {
                let id = self
                    .resolve(&format!("{ws}/agents"), target, Kind::Agent)
                    .map_err(|_| format!("no agent {target} in this workspace"))?;
                if id == agent {
                    return Err("an agent cannot be its own sub-agent".into());
                }
                Ok(id)
            }
            "agentPoolId" => self
                .resolve(&format!("{ws}/agent_pools"), target, Kind::Pool)
                .map_err(|_| format!("no agent pool {target} in this workspace")),
            _ => Err("unknown assignment type".into()),
        }
    }

    /// A memory layer a variation may stack: its canonical id.
    pub(super) fn assignable_layer(&self, ws: &str, seg: &str) -> Result<String, Problem> {
        let coll = format!("{ws}/memory_layers");
        let id = self
            .resolve(&coll, seg, Kind::Layer)
            .map_err(|_| not_found(&format!("memory layer {seg}")))?;
        let system = self
            .get(&coll, &id)
            .and_then(|l| l.pointer("/spec/systemManaged"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if system {
            return Err(precondition(format!(
                "the memory layer {id} is system-managed and cannot be assigned"
            )));
        }
        Ok(id)
    }

    /// A schedule's spec: at least one rule, a time zone, ranges in bounds,
    /// intervals shorter than their period, a pinned variation of the agent.
    pub(super) fn check_schedule(
        &self,
        ws: &str,
        agent: &str,
        spec: &mut Map<String, Value>,
    ) -> Result<(), Problem> {
        let s = spec
            .get("schedule")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let calendars = s
            .get("calendars")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let intervals = s
            .get("intervals")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if calendars.is_empty() && intervals.is_empty() {
            return Err(violation(
                "spec.schedule",
                "at least one calendar or interval is required",
            ));
        }
        match s
            .get("timezone")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            None => {
                return Err(violation(
                    "spec.schedule.timezone",
                    "required: an IANA time zone",
                ))
            }
            Some(tz) if tz.parse::<chrono_tz::Tz>().is_err() => {
                return Err(violation(
                    "spec.schedule.timezone",
                    &format!("{tz:?} is not an IANA time zone"),
                ))
            }
            Some(_) => {}
        }
        for (i, c) in calendars.iter().enumerate() {
            for (field, lo, hi) in CALENDAR_FIELDS {
                for (j, r) in c
                    .get(*field)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let at = format!("spec.schedule.calendars[{i}].{field}[{j}]");
                    let start = r.get("start").and_then(int);
                    let end = r.get("end").and_then(int);
                    for (name, v) in [("start", start), ("end", end)] {
                        if let Some(v) = v {
                            if v < *lo || v > *hi {
                                return Err(violation(
                                    &format!("{at}.{name}"),
                                    &format!("must be between {lo} and {hi}"),
                                ));
                            }
                        }
                    }
                    if let (Some(a), Some(b)) = (start, end) {
                        if b < a {
                            return Err(violation(
                                &format!("{at}.end"),
                                "must not be before start",
                            ));
                        }
                    }
                    if r.get("step").and_then(int).is_some_and(|s| s < 0) {
                        return Err(violation(&format!("{at}.step"), "must not be negative"));
                    }
                }
            }
        }
        for (i, iv) in intervals.iter().enumerate() {
            let every = iv
                .get("every")
                .and_then(Value::as_str)
                .map(duration_secs)
                .unwrap_or(0.0);
            if every <= 0.0 {
                return Err(violation(
                    &format!("spec.schedule.intervals[{i}].every"),
                    "must be positive",
                ));
            }
            let offset = iv
                .get("offset")
                .and_then(Value::as_str)
                .map(duration_secs)
                .unwrap_or(0.0);
            if offset >= every {
                return Err(violation(
                    &format!("spec.schedule.intervals[{i}].offset"),
                    "must be shorter than every",
                ));
            }
        }
        if let Some(v) = spec
            .get("variationId")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
        {
            let id = self
                .resolve(
                    &format!("{ws}/agents/{agent}/variations"),
                    v,
                    Kind::Variation,
                )
                .map_err(|_| {
                    violation(
                        "spec.variationId",
                        &format!("no variation {v} of this agent"),
                    )
                })?;
            spec.insert("variationId".into(), json!(id));
        }
        Ok(())
    }

    /// A tool is written only under a bare or HTTP tool set, with a config
    /// of its set's adapter type.
    pub(super) fn check_tool(&self, loc: &Loc, spec: &Map<String, Value>) -> Result<(), Problem> {
        let set = parent_of(&loc.coll)
            .and_then(|(c, p)| self.get(c, p))
            .ok_or_else(|| not_found("tool set"))?;
        let adapter = set
            .pointer("/spec/adapter/type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !matches!(adapter, "bare" | "http") {
            return Err(precondition(format!(
                "individual tools require a bare or http tool set: this one's {adapter} adapter syncs its own tools"
            )));
        }
        let config = spec
            .get("config")
            .and_then(|c| c.get("type"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        if config != adapter {
            return Err(violation(
                "spec.config.type",
                &format!("must match the tool set's adapter ({adapter})"),
            ));
        }
        if spec
            .get("config")
            .and_then(|c| c.pointer("/http/requestMethod"))
            .and_then(Value::as_str)
            == Some("HTTP_METHOD_UNSPECIFIED")
        {
            return Err(violation(
                "spec.config.http.requestMethod",
                "required: GET, POST, PUT, PATCH or DELETE",
            ));
        }
        Ok(())
    }
}

//! Custom methods (`POST <resource>:<verb>`): state transitions of agents,
//! schedules, tool sets, tools and models, and a variation's assignment
//! and memory stack edits. Every action answers the whole resource. An
//! action whose resource is already in the state it leads to succeeds and
//! changes nothing; a transition out of an archived state other than by
//! `:unarchive` is a FailedPrecondition.

use serde_json::{json, Value};

use super::error::*;
use super::schema::{self, int};
use super::store::*;

impl Store {
    pub fn action(&mut self, loc: &Loc, verb: &str, body: &Value) -> Answer {
        let kind = loc.kind;
        if !kind.verbs().contains(&verb) {
            return Err(not_found(&format!(
                "the action :{verb} on a {}",
                kind.noun()
            )));
        }
        if self.workspace_archived(&loc.ws) {
            return Err(precondition("the workspace is archived"));
        }
        let id = loc.id.clone().unwrap_or_default();
        let current = self
            .get(&loc.coll, &id)
            .cloned()
            .ok_or_else(|| not_found(kind.noun()))?;
        if kind == Kind::Variation {
            return self.variation_action(loc, &id, current, verb, body);
        }
        // Bodyless actions: nothing but the path's own fields may be sent.
        body_obj(body, &["workspaceId", "id", "agentId", "toolSetId"])?;
        let state = current
            .get("state")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let archived = state == "STATE_ARCHIVED";
        let refuse = |what: &str| {
            Err(precondition(format!(
                "the {} is archived: {what}",
                kind.noun()
            )))
        };
        let next = match (kind, verb) {
            (Kind::Agent, "publish") => {
                if archived {
                    return refuse("unarchive it before publishing it");
                }
                if self
                    .records(&format!("{}/{id}/variations", loc.coll))
                    .is_empty()
                {
                    return Err(precondition(
                        "an agent cannot be published without a variation",
                    ));
                }
                "STATE_PUBLISHED"
            }
            (Kind::Agent, "unpublish") => {
                if archived {
                    return refuse("unarchive it instead");
                }
                "STATE_DRAFT"
            }
            (Kind::Agent, "unarchive") if !archived => state.as_str(),
            (Kind::Agent, "unarchive") => "STATE_DRAFT",
            (Kind::Agent | Kind::Schedule | Kind::ToolSet, "archive") => "STATE_ARCHIVED",
            (Kind::Schedule, "pause") if archived => return refuse("it cannot be paused"),
            (Kind::Schedule, "pause") => "STATE_PAUSED",
            (Kind::Schedule, "resume") if archived => return refuse("it cannot be resumed"),
            (Kind::Schedule, "resume") => "STATE_ACTIVE",
            (Kind::ToolSet, "unarchive") => "STATE_ACTIVE",
            (Kind::Tool, "omit" | "restore") if archived => {
                return refuse("its tool set's sync archived it")
            }
            (Kind::Tool, "omit") => "STATE_OMITTED",
            (Kind::Tool, "restore") => "STATE_AVAILABLE",
            (Kind::Model, "enable") => "STATE_ENABLED",
            (Kind::Model, "disable") => "STATE_DISABLED",
            _ => return Err(not_found(&format!("the action :{verb}"))),
        }
        .to_string();
        let at = now();
        let r = self
            .get_mut(&loc.coll, &id)
            .ok_or_else(|| not_found(kind.noun()))?;
        if next != state {
            r["state"] = json!(next);
            r["metadata"]["updatedAt"] = json!(at);
        }
        let r = r.clone();
        Ok((200, self.render(kind, &loc.coll, &r, true)))
    }

    fn variation_action(
        &mut self,
        loc: &Loc,
        id: &str,
        current: Value,
        verb: &str,
        body: &Value,
    ) -> Answer {
        let ws = loc.ws.clone();
        let agent = loc.parent.clone().unwrap_or_default();
        let mut spec = current
            .get("spec")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let list = |spec: &serde_json::Map<String, Value>, field: &str| -> Vec<Value> {
            spec.get(field)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        match verb {
            "addAssignment" | "removeAssignment" => {
                let b = schema::check(&schema::ASSIGNMENT, body, "", true)?;
                let tag = b["type"].as_str().unwrap_or_default().to_string();
                let target = b[tag.as_str()].as_str().unwrap_or_default().to_string();
                let mut items = list(&spec, "assignments");
                let same = |a: &Value, t: &str| {
                    a.get("type").and_then(Value::as_str) == Some(tag.as_str())
                        && a.get(&tag).and_then(Value::as_str) == Some(t)
                };
                if verb == "addAssignment" {
                    let canonical = self
                        .assignment_target(&ws, &agent, &tag, &target)
                        .map_err(|why| violation(&tag, &why))?;
                    if items.iter().any(|a| same(a, &canonical)) {
                        return Err(conflict(format!(
                            "{canonical} is already assigned to this variation"
                        )));
                    }
                    items.push(json!({"type": tag, tag.clone(): canonical}));
                } else {
                    let canonical = self
                        .assignment_target(&ws, &agent, &tag, &target)
                        .unwrap_or_else(|_| target.clone());
                    let before = items.len();
                    items.retain(|a| !same(a, &canonical));
                    if items.len() == before {
                        return Err(not_found(&format!(
                            "an assignment of {target} on this variation"
                        )));
                    }
                }
                spec.insert("assignments".into(), Value::Array(items));
            }
            "addMemoryLayer" => {
                let b = schema::check(&schema::ADD_LAYER, body, "", true)?;
                let seg = b["memoryLayerId"].as_str().unwrap_or_default();
                let mut items = list(&spec, "memoryLayerAssignments");
                let layer = self
                    .resolve(&format!("{ws}/memory_layers"), seg, Kind::Layer)
                    .map_err(|_| not_found(&format!("memory layer {seg}")))?;
                if items
                    .iter()
                    .any(|a| a.get("memoryLayerId").and_then(Value::as_str) == Some(layer.as_str()))
                {
                    return Err(conflict(format!(
                        "the memory layer {layer} is already assigned to this variation"
                    )));
                }
                self.assignable_layer(&ws, &layer)?;
                if items.len() >= MAX_LAYERS {
                    return Err(precondition(format!(
                        "the variation already stacks {MAX_LAYERS} memory layers, the most it may"
                    )));
                }
                let positions: Vec<i64> = items
                    .iter()
                    .filter_map(|a| a.get("position").and_then(int))
                    .collect();
                let position = match b.get("position").and_then(int) {
                    Some(p) if p < 0 => return Err(violation("position", "must be 0 or more")),
                    Some(p) if positions.contains(&p) => {
                        return Err(violation(
                            "position",
                            &format!("position {p} is in use on this variation"),
                        ))
                    }
                    Some(p) => p,
                    // Omitted: on top of the stack (the most general).
                    None => match positions.iter().max() {
                        None => 0,
                        Some(m) => m.checked_add(1).ok_or_else(|| {
                            violation("position", "no position is free above the stack: give one")
                        })?,
                    },
                };
                items.push(json!({"memoryLayerId": layer, "position": position}));
                spec.insert("memoryLayerAssignments".into(), Value::Array(items));
            }
            "updateMemoryLayer" | "removeMemoryLayer" => {
                let msg = if verb == "updateMemoryLayer" {
                    &schema::MOVE_LAYER
                } else {
                    &schema::REMOVE_LAYER
                };
                let b = schema::check(msg, body, "", true)?;
                let seg = b["memoryLayerId"].as_str().unwrap_or_default();
                let layer = self
                    .resolve(&format!("{ws}/memory_layers"), seg, Kind::Layer)
                    .unwrap_or_else(|_| seg.to_string());
                let mut items = list(&spec, "memoryLayerAssignments");
                let Some(i) = items.iter().position(|a| {
                    a.get("memoryLayerId").and_then(Value::as_str) == Some(layer.as_str())
                }) else {
                    return Err(not_found(&format!(
                        "an assignment of the memory layer {seg} on this variation"
                    )));
                };
                if verb == "removeMemoryLayer" {
                    items.remove(i);
                } else {
                    let p = b.get("position").and_then(int).unwrap_or(-1);
                    if p < 0 {
                        return Err(violation("position", "must be 0 or more"));
                    }
                    if items
                        .iter()
                        .enumerate()
                        .any(|(j, a)| j != i && a.get("position").and_then(int) == Some(p))
                    {
                        return Err(violation(
                            "position",
                            &format!("position {p} is in use on this variation"),
                        ));
                    }
                    items[i]["position"] = json!(p);
                }
                spec.insert("memoryLayerAssignments".into(), Value::Array(items));
            }
            _ => return Err(not_found(&format!("the action :{verb}"))),
        }
        self.check_variation(&ws, &agent, &mut spec)?;
        let at = now();
        let r = self
            .get_mut(&loc.coll, id)
            .ok_or_else(|| not_found("variation"))?;
        r["spec"] = Value::Object(spec);
        r["metadata"]["updatedAt"] = json!(at);
        let r = r.clone();
        Ok((200, self.render(Kind::Variation, &loc.coll, &r, true)))
    }
}

//! What each answer holds ([`Store::render`]): metadata with every field
//! the SDK's decoders require (`types.py:3782`), computed `info`, secrets
//! without their value, the variation's assignment lists always present.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::resources::{assignments, parent_of, str_at};
use super::store::*;

/// Metadata as answered: `externalId` and `labels` always present.
pub(super) fn metadata_out(m: &Value) -> Value {
    let mut o = m.as_object().cloned().unwrap_or_default();
    o.entry("externalId").or_insert(json!(""));
    o.entry("labels").or_insert(json!({}));
    o.entry("accountId").or_insert(json!(ACCOUNT_ID));
    o.entry("profileId").or_insert(json!(PROFILE_ID));
    Value::Object(o)
}

impl Store {
    // ---- answers ----

    /// The answer for record `r` of `kind` in `coll` (`detail`: a memory
    /// entry's content too).
    pub fn render(&self, kind: Kind, coll: &str, r: &Value, detail: bool) -> Value {
        let metadata = metadata_out(&r["metadata"]);
        let mut spec = r
            .get("spec")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let id = id_of(r);
        let state = r
            .get("state")
            .cloned()
            .unwrap_or(json!("STATE_UNSPECIFIED"));
        match kind {
            Kind::Agent => json!({
                "metadata": metadata,
                "spec": spec,
                "info": {"variationCount": self.records(&format!("{coll}/{id}/variations")).len()},
                "state": state,
            }),
            Kind::Variation => {
                spec.entry("assignments").or_insert(json!([]));
                spec.entry("memoryLayerAssignments").or_insert(json!([]));
                let ws = str_at(r, "/metadata/workspaceId");
                let info = self.variation_info(ws, &spec);
                json!({"metadata": metadata, "spec": spec, "info": info})
            }
            Kind::Schedule => json!({
                "metadata": metadata,
                "spec": spec,
                "info": {"totalFires": 0},
                "state": state,
            }),
            Kind::ToolSet => {
                let secrets: Vec<Value> = self
                    .records(&format!("{coll}/{id}/secrets"))
                    .iter()
                    .map(|s| json!({"name": str_at(s, "/metadata/name")}))
                    .collect();
                if !secrets.is_empty() {
                    spec.insert("secrets".into(), Value::Array(secrets));
                }
                let tools = self.records(&format!("{coll}/{id}/tools"));
                let count = |s: &str| {
                    tools
                        .iter()
                        .filter(|t| t.get("state").and_then(Value::as_str) == Some(s))
                        .count()
                };
                let ws = str_at(r, "/metadata/workspaceId");
                json!({
                    "metadata": metadata,
                    "spec": spec,
                    "info": {
                        "toolCount": tools.len(),
                        "agentCount": self.agents_using_set(ws, id, tools),
                        "availableTools": count("STATE_AVAILABLE"),
                        "omittedTools": count("STATE_OMITTED"),
                    },
                    "state": state,
                })
            }
            Kind::Tool => {
                let params: Vec<String> = r
                    .pointer("/spec/parameters/properties")
                    .and_then(Value::as_object)
                    .map(|p| p.keys().cloned().collect())
                    .unwrap_or_default();
                let mut info = json!({"signature": format!("{}({})", str_at(r, "/metadata/name"), params.join(", "))});
                if let Some(set) = parent_of(coll).and_then(|(c, p)| self.get(c, p)) {
                    info["toolSet"] = metadata_out(&set["metadata"]);
                }
                json!({"metadata": metadata, "spec": spec, "info": info, "state": state})
            }
            Kind::SetSecret | Kind::Secret => {
                spec.remove("value");
                json!({"metadata": metadata, "spec": spec, "info": {}})
            }
            Kind::Layer => {
                spec.entry("systemManaged").or_insert(json!(false));
                spec.entry("agentId").or_insert(json!(""));
                spec.entry("episodicKey").or_insert(json!(""));
                let mut info =
                    json!({"entryCount": self.records(&format!("{coll}/{id}/entries")).len()});
                let agent = str_at(r, "/spec/agentId");
                let ws = str_at(r, "/metadata/workspaceId");
                if let Some(a) = (!agent.is_empty())
                    .then(|| self.get(&format!("{ws}/agents"), agent))
                    .flatten()
                {
                    info["agent"] = metadata_out(&a["metadata"]);
                }
                json!({"metadata": metadata, "spec": spec, "info": info})
            }
            Kind::Entry => {
                let mut out_spec = Map::new();
                out_spec.insert("key".into(), spec.get("key").cloned().unwrap_or(json!("")));
                out_spec.insert(
                    "description".into(),
                    spec.get("description").cloned().unwrap_or(json!("")),
                );
                let mut info = json!({});
                if let Some(layer) = parent_of(coll).and_then(|(c, p)| self.get(c, p)) {
                    info["memoryLayer"] = metadata_out(&layer["metadata"]);
                }
                let mut out = json!({"metadata": metadata, "spec": out_spec, "info": info});
                if detail {
                    out["content"] = r.get("content").cloned().unwrap_or(json!(""));
                }
                out
            }
            Kind::Model => {
                let ws = str_at(r, "/metadata/workspaceId");
                let assigned = self
                    .children(ws, "/variations")
                    .filter(|(_, v)| {
                        let m = str_at(v, "/spec/modelConfig/modelId");
                        !m.is_empty()
                            && self
                                .resolve_model(ws, m)
                                .is_ok_and(|found| id_of(found) == id)
                    })
                    .count();
                json!({
                    "metadata": metadata,
                    "spec": spec,
                    "state": state,
                    "provenance": r.get("provenance").cloned().unwrap_or(json!("PROVENANCE_SYNCED_FROM_PROVIDER")),
                    "basePricing": r.get("basePricing").cloned().unwrap_or(json!({
                        "inputPricePerMillionTokens": "0",
                        "outputPricePerMillionTokens": "0",
                        "cachedInputPricePerMillionTokens": "0"})),
                    "info": {"agentVariationCount": assigned},
                })
            }
            Kind::ProviderKey => {
                let ws = str_at(r, "/metadata/workspaceId");
                let models = self.records(&format!("{ws}/models"));
                let mine = |s: &str| {
                    models
                        .iter()
                        .filter(|m| {
                            m.get("aiProviderKeyId").and_then(Value::as_str) == Some(id)
                                && m.get("state").and_then(Value::as_str) == Some(s)
                        })
                        .count()
                };
                json!({
                    "metadata": metadata,
                    "spec": spec,
                    "info": {
                        "enabledModelCount": mine("STATE_ENABLED"),
                        "disabledModelCount": mine("STATE_DISABLED"),
                        "isPromotional": true,
                        "modelManagement": "MODEL_MANAGEMENT_CADENYA",
                    },
                })
            }
            Kind::Pool => {
                json!({"metadata": metadata, "spec": spec, "state": "AGENT_POOL_STATE_ACTIVE"})
            }
        }
    }

    /// How many agents have a variation that assigns the tool set or one of its tools.
    fn agents_using_set(&self, ws: &str, set: &str, tools: &[Value]) -> usize {
        let tool_ids: BTreeSet<&str> = tools.iter().map(id_of).collect();
        let agents: BTreeSet<&str> = self
            .children(ws, "/variations")
            .filter(|(_, v)| {
                assignments(v).any(|(tag, target)| {
                    (tag == "toolSetId" && target == set)
                        || (tag == "toolId" && tool_ids.contains(target))
                })
            })
            .filter_map(|(coll, _)| parent_of(coll).map(|(_, agent)| agent))
            .collect();
        agents.len()
    }

    fn variation_info(&self, ws: &str, spec: &Map<String, Value>) -> Value {
        let list: Vec<(String, String)> = spec
            .get("assignments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| {
                let tag = a.get("type")?.as_str()?;
                Some((tag.to_string(), a.get(tag)?.as_str()?.to_string()))
            })
            .collect();
        let count = |t: &str| list.iter().filter(|(tag, _)| tag == t).count();
        let mut meta = Map::new();
        let mut effective: BTreeSet<String> = BTreeSet::new();
        for (tag, target) in &list {
            let found = match tag.as_str() {
                "toolId" => self.find_tool(ws, target).map(|(_, t)| t),
                "toolSetId" => self.get(&format!("{ws}/tool_sets"), target),
                "subAgentId" => self.get(&format!("{ws}/agents"), target),
                _ => self.get(&format!("{ws}/agent_pools"), target),
            };
            if let Some(f) = found {
                meta.insert(target.clone(), json!({"id": target, "name": name_of(f)}));
            }
            match tag.as_str() {
                "toolId" if found.is_some() => {
                    effective.insert(target.clone());
                }
                "toolSetId" => {
                    for t in self.records(&format!("{ws}/tool_sets/{target}/tools")) {
                        if t.get("state").and_then(Value::as_str) == Some("STATE_AVAILABLE") {
                            effective.insert(id_of(t).to_string());
                        }
                    }
                }
                _ => {}
            }
        }
        let layers = spec
            .get("memoryLayerAssignments")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for l in &layers {
            let lid = l
                .get("memoryLayerId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if let Some(layer) = self.get(&format!("{ws}/memory_layers"), lid) {
                meta.insert(lid.to_string(), json!({"id": lid, "name": name_of(layer)}));
            }
        }
        let mut info = json!({
            "toolCount": count("toolId"),
            "toolSetCount": count("toolSetId"),
            "subAgentCount": count("subAgentId"),
            "agentPoolCount": count("agentPoolId"),
            "memoryLayerCount": layers.len(),
            "effectiveToolCount": effective.len(),
            "score": 0.5,
            "feedbackCount": 0,
            "assignmentMetadata": meta,
        });
        let model = spec
            .get("modelConfig")
            .and_then(|m| m.get("modelId"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Ok(m) = self.resolve_model(ws, model) {
            info["model"] = metadata_out(&m["metadata"]);
        }
        info
    }
}

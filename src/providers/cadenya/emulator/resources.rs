//! Workspace resources: lists and their filters, create, get, update
//! (masks), delete (cascades and refusals). Answers are `render.rs`.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::error::*;
use super::paging::*;
use super::schema;
use super::store::*;

/// `…/agents/agent_1/variations` → (`…/agents`, `agent_1`).
pub fn parent_of(coll: &str) -> Option<(&str, &str)> {
    let (rest, _child) = coll.rsplit_once('/')?;
    let (parent_coll, parent_id) = rest.rsplit_once('/')?;
    parent_coll
        .contains('/')
        .then_some((parent_coll, parent_id))
}

fn states_of(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Agent => &[
            "STATE_UNSPECIFIED",
            "STATE_DRAFT",
            "STATE_PUBLISHED",
            "STATE_ARCHIVED",
        ],
        Kind::ToolSet => &["STATE_UNSPECIFIED", "STATE_ACTIVE", "STATE_ARCHIVED"],
        Kind::Tool => &[
            "STATE_UNSPECIFIED",
            "STATE_AVAILABLE",
            "STATE_OMITTED",
            "STATE_ARCHIVED",
        ],
        Kind::Model => &["STATE_UNSPECIFIED", "STATE_ENABLED", "STATE_DISABLED"],
        _ => &[],
    }
}

fn enum_param<'a>(q: &'a Query, key: &str, values: &[&str]) -> Result<Option<&'a str>, Problem> {
    match q.one(key)? {
        Some(v) if !values.contains(&v) => Err(violation(
            key,
            &format!("must be one of {}", values.join(", ")),
        )),
        other => Ok(other),
    }
}

pub(super) fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

impl Store {
    // ---- lists ----

    pub fn list(&self, loc: &Loc, q: &Query) -> Answer {
        const PAGE: &[&str] = &["sortOrder", "includeInfo"];
        let extra: &[&str] = match loc.kind {
            Kind::Agent => &[
                "prefix",
                "query",
                "state",
                "variationSelectionMode",
                "labels",
            ],
            Kind::Variation => &["labels"],
            Kind::Schedule | Kind::Entry | Kind::Secret => &["prefix", "query", "labels"],
            Kind::ToolSet => &["prefix", "query", "state", "labels"],
            Kind::Tool => &[
                "prefix",
                "query",
                "names",
                "states",
                "requiresApproval",
                "overlays",
                "labels",
            ],
            Kind::SetSecret => &["prefix", "query"],
            Kind::Layer => &[
                "prefix",
                "query",
                "type",
                "agentId",
                "episodicKeyPrefix",
                "labels",
                "tenantId",
                "subjectId",
            ],
            Kind::Model => &[
                "prefix",
                "query",
                "state",
                "aiProviderKeyId",
                "isAssigned",
                "labels",
            ],
            Kind::ProviderKey => &["prefix", "query", "promotional", "labels"],
            Kind::Pool => &[],
        };
        let allowed: Vec<&str> = PAGE.iter().chain(extra).copied().collect();
        q.only(&allowed)?;
        q.flag("includeInfo")?;
        let labels = parse_labels(q)?;
        let prefix = q.one("prefix")?;
        let text = q.one("query")?.map(str::to_lowercase);
        let kind = loc.kind;
        // The states a list shows when it is not asked for one: archived
        // agents and tool sets (and archived tools) are hidden by default.
        let state = enum_param(q, "state", states_of(kind))?.filter(|s| *s != "STATE_UNSPECIFIED");
        let states: Vec<&str> = q.all("states");
        if let Some(bad) = states.iter().find(|s| !states_of(Kind::Tool).contains(s)) {
            return Err(violation("states", &format!("unknown state {bad}")));
        }
        let names = q.all("names");
        let overlays = q.all("overlays");
        let requires_approval = q.flag("requiresApproval")?;
        let is_assigned = q.flag("isAssigned")?;
        let promotional = q.flag("promotional")?;
        let selection = enum_param(q, "variationSelectionMode", schema::SELECTION_MODES)?;
        let layer_type = enum_param(q, "type", schema::LAYER_TYPES)?
            .filter(|t| *t != "MEMORY_LAYER_TYPE_UNSPECIFIED");
        let key_filter = q.one("aiProviderKeyId")?.map(|k| {
            self.resolve(
                &format!("{}/ai_provider_keys", loc.ws),
                k,
                Kind::ProviderKey,
            )
            .unwrap_or_else(|_| k.to_string())
        });
        let (agent_filter, tenant, subject, episodic_prefix) = (
            q.one("agentId")?,
            q.one("tenantId")?,
            q.one("subjectId")?,
            q.one("episodicKeyPrefix")?,
        );
        let items: Vec<&Value> = self
            .records(&loc.coll)
            .iter()
            .filter(|r| labels_match(r, &labels))
            .filter(|r| match prefix {
                None => true,
                Some(p) if kind == Kind::Entry => str_at(r, "/spec/key").starts_with(p),
                Some(p) => name_of(r).starts_with(p),
            })
            .filter(|r| match &text {
                None => true,
                Some(t) => [
                    name_of(r),
                    str_at(r, "/metadata/externalId"),
                    str_at(r, "/spec/description"),
                    str_at(r, "/spec/key"),
                ]
                .iter()
                .any(|f| f.to_lowercase().contains(t.as_str())),
            })
            .filter(|r| {
                let st = r.get("state").and_then(Value::as_str).unwrap_or_default();
                match kind {
                    Kind::Agent | Kind::ToolSet => match state {
                        Some(s) => st == s,
                        None => st != "STATE_ARCHIVED",
                    },
                    Kind::Model => state.is_none_or(|s| st == s),
                    Kind::Tool => {
                        if states.is_empty() {
                            st != "STATE_ARCHIVED"
                        } else {
                            states.contains(&st)
                        }
                    }
                    _ => true,
                }
            })
            .filter(|r| names.is_empty() || names.contains(&name_of(r)))
            .filter(|r| {
                requires_approval.is_none_or(|want| {
                    r.pointer("/spec/requiresApproval")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                        == want
                })
            })
            // The emulator evaluates no overlay selectors: no tool has one applied.
            .filter(|_| overlays.is_empty())
            .filter(|r| {
                selection.is_none_or(|m| {
                    let v = str_at(r, "/spec/variationSelectionMode");
                    v == m || (v.is_empty() && m == "VARIATION_SELECTION_MODE_UNSPECIFIED")
                })
            })
            .filter(|r| layer_type.is_none_or(|t| str_at(r, "/spec/type") == t))
            .filter(|r| agent_filter.is_none_or(|a| str_at(r, "/spec/agentId") == a))
            .filter(|r| tenant.is_none_or(|t| str_at(r, "/spec/tenantId") == t))
            .filter(|r| subject.is_none_or(|t| str_at(r, "/spec/subjectId") == t))
            .filter(|r| {
                episodic_prefix.is_none_or(|p| str_at(r, "/spec/episodicKey").starts_with(p))
            })
            .filter(|r| {
                key_filter
                    .as_deref()
                    .is_none_or(|k| str_at(r, "/aiProviderKeyId") == k)
            })
            .filter(|r| {
                is_assigned.is_none_or(|want| {
                    let id = id_of(r);
                    let used = self.children(&loc.ws, "/variations").any(|(_, v)| {
                        let m = str_at(v, "/spec/modelConfig/modelId");
                        !m.is_empty()
                            && self.resolve_model(&loc.ws, m).is_ok_and(|f| id_of(f) == id)
                    });
                    used == want
                })
            })
            .filter(|_| promotional.is_none_or(|p| p))
            .collect();
        paginate(items, q, &loc.coll, |r| {
            self.render(kind, &loc.coll, r, false)
        })
    }

    /// `GET W/widgets`: the emulator has no widgets.
    pub fn list_widgets(&self, q: &Query) -> Answer {
        q.only(&[
            "agentId",
            "labels",
            "prefix",
            "query",
            "sortOrder",
            "includeInfo",
            "state",
        ])?;
        paginate(Vec::new(), q, "widgets", |v| v.clone())
    }

    pub fn get_item(&self, loc: &Loc) -> Answer {
        let id = loc.id.as_deref().unwrap_or_default();
        let r = self
            .get(&loc.coll, id)
            .ok_or_else(|| not_found(loc.kind.noun()))?;
        Ok((200, self.render(loc.kind, &loc.coll, r, true)))
    }

    // ---- create ----

    pub fn create(&mut self, loc: &Loc, body: &Value) -> Answer {
        let kind = loc.kind;
        let spec_msg = match kind {
            Kind::Agent => &schema::AGENT_SPEC,
            Kind::Variation => &schema::VARIATION_SPEC,
            Kind::Schedule => &schema::SCHEDULE_SPEC,
            Kind::ToolSet => &schema::TOOL_SET_SPEC,
            Kind::Tool => &schema::TOOL_SPEC,
            Kind::SetSecret | Kind::Secret => &schema::SECRET_SPEC,
            Kind::Layer => &schema::LAYER_SPEC,
            Kind::Entry => &schema::ENTRY_CREATE_SPEC,
            Kind::Model | Kind::ProviderKey | Kind::Pool => {
                return Err(unimplemented(format!(
                    "the emulator does not create {}s",
                    kind.noun()
                )))
            }
        };
        if self.workspace_archived(&loc.ws) {
            return Err(precondition("the workspace is archived"));
        }
        let allowed: &[&str] = match kind {
            Kind::Agent => &["metadata", "spec", "defaultVariation"],
            Kind::Layer => &["metadata", "spec", "tenant", "subject"],
            _ => &["metadata", "spec"],
        };
        let b = body_obj(body, allowed)?;
        let meta = check_metadata(b.get("metadata").unwrap_or(&Value::Null), "metadata")?;
        let spec_in = b
            .get("spec")
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or(json!({}));
        let mut spec = schema::check(spec_msg, &spec_in, "spec", true)?
            .as_object()
            .cloned()
            .unwrap_or_default();
        self.unique_ext(loc, &meta, "")?;
        self.unique_name(loc, &meta, "")?;
        let parent = loc.parent.clone().unwrap_or_default();
        let mut record = Map::new();
        let mut secrets: Vec<Value> = Vec::new();
        match kind {
            Kind::Agent => {
                record.insert("state".into(), json!("STATE_DRAFT"));
            }
            Kind::Variation => self.check_variation(&loc.ws, &parent, &mut spec)?,
            Kind::Schedule => {
                self.check_schedule(&loc.ws, &parent, &mut spec)?;
                record.insert("state".into(), json!("STATE_ACTIVE"));
            }
            Kind::ToolSet => {
                secrets = take_secrets(&mut spec)?;
                record.insert("state".into(), json!("STATE_ACTIVE"));
            }
            Kind::Tool => {
                self.check_tool(loc, &spec)?;
                record.insert("state".into(), json!("STATE_AVAILABLE"));
            }
            Kind::Layer => {
                match spec.get("type").and_then(Value::as_str) {
                    Some("MEMORY_LAYER_TYPE_SKILLS") => {}
                    Some("MEMORY_LAYER_TYPE_EPISODIC") => {
                        return Err(violation(
                            "spec.type",
                            "episodic layers are created by the runtime (system-managed), not by clients",
                        ))
                    }
                    _ => return Err(violation("spec.type", "required: MEMORY_LAYER_TYPE_SKILLS")),
                }
                for (field, target) in [("tenant", "tenantId"), ("subject", "subjectId")] {
                    if let Some(a) = b.get(field).filter(|v| !v.is_null()) {
                        let a = schema::check(&schema::ASSERTION, a, field, true)?;
                        spec.insert(target.into(), a["id"].clone());
                    }
                }
                spec.insert("systemManaged".into(), json!(false));
                spec.insert("agentId".into(), json!(""));
                spec.insert("episodicKey".into(), json!(""));
            }
            Kind::Entry => {
                self.writable_layer(loc)?;
                if spec.contains_key("uploadId") {
                    return Err(violation(
                        "spec.uploadId",
                        "the emulator has no uploads: send content",
                    ));
                }
                let key = spec
                    .get("key")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                check_entry_key(&key)?;
                self.unique_key(loc, &key, "")?;
                record.insert(
                    "content".into(),
                    spec.remove("content").unwrap_or(json!("")),
                );
                spec.remove("type");
            }
            Kind::SetSecret | Kind::Secret | Kind::Model | Kind::ProviderKey | Kind::Pool => {}
        }
        // An agent's default variation: validated before anything is written.
        let mut default_variation = None;
        let metadata = self.new_metadata(kind.prefix(), &loc.ws, &meta);
        let id = id_of(&json!({"metadata": metadata.clone()})).to_string();
        if let Some(dv) = b.get("defaultVariation").filter(|v| !v.is_null()) {
            let dvb = body_obj(dv, &["metadata", "spec", "agentId", "workspaceId"])
                .map_err(|p| prefix_problem(p, "defaultVariation"))?;
            let vmeta = check_metadata(
                dvb.get("metadata").unwrap_or(&Value::Null),
                "defaultVariation.metadata",
            )?;
            let mut vspec = schema::check(
                &schema::VARIATION_SPEC,
                dvb.get("spec")
                    .filter(|v| !v.is_null())
                    .unwrap_or(&json!({})),
                "defaultVariation.spec",
                true,
            )?
            .as_object()
            .cloned()
            .unwrap_or_default();
            self.check_variation(&loc.ws, &id, &mut vspec)
                .map_err(|p| prefix_problem(p, "defaultVariation"))?;
            default_variation = Some((vmeta, vspec));
        }
        record.insert("metadata".into(), metadata);
        record.insert("spec".into(), Value::Object(spec));
        let r = Value::Object(record);
        self.items.entry(loc.coll.clone()).or_default().push(r);
        if let Some((vmeta, vspec)) = default_variation {
            let vm = self.new_metadata(Kind::Variation.prefix(), &loc.ws, &vmeta);
            self.items
                .entry(format!("{}/{id}/variations", loc.coll))
                .or_default()
                .push(json!({"metadata": vm, "spec": vspec}));
        }
        if kind == Kind::ToolSet {
            self.sync_set_secrets(
                &loc.ws,
                &format!("{}/{id}/secrets", loc.coll),
                &secrets,
                true,
            );
        }
        let r = self.get(&loc.coll, &id).cloned().unwrap_or_default();
        Ok((200, self.render(kind, &loc.coll, &r, true)))
    }

    /// Entries of a system-managed layer are the runtime's.
    fn writable_layer(&self, loc: &Loc) -> Result<(), Problem> {
        let system = parent_of(&loc.coll)
            .and_then(|(c, p)| self.get(c, p))
            .and_then(|l| l.pointer("/spec/systemManaged"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if system {
            return Err(precondition(
                "the memory layer is system-managed: its lifecycle and entries belong to the runtime",
            ));
        }
        Ok(())
    }

    fn unique_key(&self, loc: &Loc, key: &str, except: &str) -> Result<(), Problem> {
        if self
            .records(&loc.coll)
            .iter()
            .any(|e| str_at(e, "/spec/key") == key && id_of(e) != except)
        {
            return Err(conflict(format!(
                "an entry with key {key} already exists in this layer"
            )));
        }
        Ok(())
    }

    /// A tool set's secrets (its `secrets` collection) set to `wanted`:
    /// others deleted; a listed secret's value written when given.
    pub(super) fn sync_set_secrets(&mut self, ws: &str, coll: &str, wanted: &[Value], fresh: bool) {
        let names: BTreeSet<&str> = wanted
            .iter()
            .filter_map(|s| s.get("name")?.as_str())
            .collect();
        if !fresh {
            if let Some(list) = self.items.get_mut(coll) {
                list.retain(|s| names.contains(name_of(s)));
            }
        }
        for s in wanted {
            let name = s.get("name").and_then(Value::as_str).unwrap_or_default();
            let value = s.get("value").cloned();
            let existing = self.records(coll).iter().position(|r| name_of(r) == name);
            match existing {
                Some(i) => {
                    if let (Some(v), Some(list)) = (value, self.items.get_mut(coll)) {
                        if !list[i].get("spec").is_some_and(Value::is_object) {
                            list[i]["spec"] = json!({});
                        }
                        list[i]["spec"]["value"] = v;
                        list[i]["metadata"]["updatedAt"] = json!(now());
                    }
                }
                None => {
                    let m = self.new_metadata(
                        Kind::SetSecret.prefix(),
                        ws,
                        &obj(&json!({"name": name})),
                    );
                    let mut spec = Map::new();
                    if let Some(v) = value {
                        spec.insert("value".into(), v);
                    }
                    self.items
                        .entry(coll.to_string())
                        .or_default()
                        .push(json!({"metadata": m, "spec": spec}));
                }
            }
        }
    }

    // ---- update ----

    pub fn update(&mut self, loc: &Loc, body: &Value) -> Answer {
        let kind = loc.kind;
        let id = loc.id.clone().unwrap_or_default();
        let spec_msg = match kind {
            Kind::Agent => &schema::AGENT_SPEC,
            Kind::Variation => &schema::VARIATION_SPEC,
            Kind::Schedule => &schema::SCHEDULE_SPEC,
            Kind::ToolSet => &schema::TOOL_SET_SPEC,
            Kind::Tool => &schema::TOOL_SPEC,
            Kind::SetSecret | Kind::Secret => &schema::SECRET_SPEC,
            Kind::Layer => &schema::LAYER_SPEC,
            Kind::Entry => &schema::ENTRY_UPDATE_SPEC,
            Kind::Model | Kind::ProviderKey | Kind::Pool => {
                return Err(unimplemented(format!(
                    "the emulator does not update {}s",
                    kind.noun()
                )))
            }
        };
        if self.workspace_archived(&loc.ws) {
            return Err(precondition("the workspace is archived"));
        }
        let current = self
            .get(&loc.coll, &id)
            .cloned()
            .ok_or_else(|| not_found(kind.noun()))?;
        let b = body_obj(body, &["metadata", "spec", "updateMask"])?;
        let (meta_src, spec_src) = update_sources(b, spec_msg)?;
        let mask = mask_of(b)?;
        let mut meta = obj(&current["metadata"]);
        let mut spec = obj(&current["spec"]);
        match kind {
            Kind::Layer
                if current
                    .pointer("/spec/systemManaged")
                    .and_then(Value::as_bool)
                    == Some(true) =>
            {
                return Err(precondition(
                    "the memory layer is system-managed: clients cannot change it",
                ));
            }
            Kind::Entry => {
                self.writable_layer(loc)?;
                // Metadata is replaced whole on an entry update.
                if let Some(m) = &meta_src {
                    for f in ["name", "externalId", "labels"] {
                        match m.get(f) {
                            Some(v) => meta.insert(f.into(), v.clone()),
                            None => meta.remove(f),
                        };
                    }
                }
                spec.insert(
                    "content".into(),
                    current.get("content").cloned().unwrap_or(json!("")),
                );
            }
            Kind::ToolSet => {
                let names: Vec<Value> = self
                    .records(&format!("{}/{id}/secrets", loc.coll))
                    .iter()
                    .map(|s| json!({"name": name_of(s)}))
                    .collect();
                if !names.is_empty() {
                    spec.insert("secrets".into(), Value::Array(names));
                }
            }
            _ => {}
        }
        apply_mask(
            &mask,
            &mut meta,
            &mut spec,
            meta_src.as_ref(),
            spec_src.as_ref(),
            spec_msg,
            kind == Kind::Entry,
        )?;
        if kind == Kind::Layer {
            // The API ignores spec.type on update: a layer keeps its type.
            if let Some(t) = current.pointer("/spec/type") {
                spec.insert("type".into(), t.clone());
            }
        }
        finish_metadata(&meta, "metadata")?;
        self.unique_ext(loc, &meta, &id)?;
        self.unique_name(loc, &meta, &id)?;
        let mut record = obj(&current);
        let full_msg = match kind {
            Kind::Entry => &schema::ENTRY_STATE,
            _ => spec_msg,
        };
        let mut spec = schema::check(full_msg, &Value::Object(spec), "spec", true)?
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut secrets = None;
        match kind {
            Kind::Variation => {
                let agent = loc.parent.clone().unwrap_or_default();
                self.check_variation(&loc.ws, &agent, &mut spec)?;
            }
            Kind::Schedule => {
                let agent = loc.parent.clone().unwrap_or_default();
                self.check_schedule(&loc.ws, &agent, &mut spec)?;
            }
            Kind::Tool => self.check_tool(loc, &spec)?,
            Kind::ToolSet => {
                let before = tag_of(&current, "/spec/adapter");
                let after = spec
                    .get("adapter")
                    .and_then(|a| a.get("type"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if before != after && !self.records(&format!("{}/{id}/tools", loc.coll)).is_empty()
                {
                    return Err(precondition(format!(
                        "the tool set has tools of its {before} adapter: delete them before changing the adapter to {after}"
                    )));
                }
                let list = take_secrets(&mut spec)?;
                let masked = (mask.is_empty()
                    && spec_src.as_ref().is_some_and(|s| s.contains_key("secrets")))
                    || mask.iter().any(|p| {
                        let p = schema::camel(p);
                        p == "spec.secrets" || p == "spec" || p == "*"
                    });
                if masked {
                    secrets = Some(list);
                }
            }
            Kind::Layer => {
                // Server-set fields stay as they were.
                for f in [
                    "type",
                    "systemManaged",
                    "agentId",
                    "episodicKey",
                    "tenantId",
                    "subjectId",
                ] {
                    match current.pointer(&format!("/spec/{f}")) {
                        Some(v) => spec.insert(f.into(), v.clone()),
                        None => spec.remove(f),
                    };
                }
            }
            Kind::Entry => {
                if spec.contains_key("uploadId") {
                    return Err(violation(
                        "spec.uploadId",
                        "the emulator has no uploads: send content",
                    ));
                }
                let key = spec
                    .get("key")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                check_entry_key(&key)?;
                self.unique_key(loc, &key, &id)?;
                record.insert(
                    "content".into(),
                    spec.remove("content").unwrap_or(json!("")),
                );
            }
            _ => {}
        }
        meta.insert("updatedAt".into(), json!(now()));
        record.insert("metadata".into(), Value::Object(meta));
        record.insert("spec".into(), Value::Object(spec));
        let r = Value::Object(record);
        if let Some(slot) = self.get_mut(&loc.coll, &id) {
            *slot = r.clone();
        }
        if let Some(list) = secrets {
            self.sync_set_secrets(&loc.ws, &format!("{}/{id}/secrets", loc.coll), &list, false);
        }
        Ok((200, self.render(kind, &loc.coll, &r, true)))
    }

    // ---- delete ----

    pub fn delete(&mut self, loc: &Loc) -> Answer {
        let kind = loc.kind;
        let id = loc.id.clone().unwrap_or_default();
        if matches!(kind, Kind::Model | Kind::ProviderKey | Kind::Pool) {
            return Err(unimplemented(format!(
                "the emulator does not delete {}s",
                kind.noun()
            )));
        }
        if self.workspace_archived(&loc.ws) {
            return Err(precondition("the workspace is archived"));
        }
        let r = self
            .get(&loc.coll, &id)
            .cloned()
            .ok_or_else(|| not_found(kind.noun()))?;
        let ws = loc.ws.clone();
        match kind {
            Kind::Agent if state_of(&r) == "STATE_PUBLISHED" => {
                return Err(precondition(
                    "the agent is published: unpublish it first, so its variations can go",
                ));
            }
            Kind::Variation => {
                let agent_id = loc.parent.clone().unwrap_or_default();
                let published = parent_of(&loc.coll)
                    .and_then(|(c, p)| self.get(c, p))
                    .is_some_and(|a| state_of(a) == "STATE_PUBLISHED");
                if published && self.records(&loc.coll).len() <= 1 {
                    return Err(precondition(
                        "the last variation of a published agent cannot be deleted: unpublish the agent first",
                    ));
                }
                let pinned = self
                    .records(&format!("{ws}/agents/{agent_id}/schedules"))
                    .iter()
                    .find(|s| str_at(s, "/spec/variationId") == id)
                    .map(|s| name_of(s).to_string());
                if let Some(schedule) = pinned {
                    return Err(precondition(format!(
                        "the variation is pinned by the schedule {schedule}: change or delete the schedule first"
                    )));
                }
            }
            Kind::Layer => {
                if r.pointer("/spec/systemManaged").and_then(Value::as_bool) == Some(true) {
                    return Err(precondition(
                        "the memory layer is system-managed: its lifecycle belongs to the runtime",
                    ));
                }
                let used = self.children(&ws, "/variations").find(|(_, v)| {
                    v.pointer("/spec/memoryLayerAssignments")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .any(|a| {
                            a.get("memoryLayerId").and_then(Value::as_str) == Some(id.as_str())
                        })
                });
                if let Some((_, v)) = used {
                    return Err(precondition(format!(
                        "the memory layer is assigned to the variation {}: remove it from the variation first",
                        id_of(v)
                    )));
                }
            }
            Kind::Entry => self.writable_layer(loc)?,
            _ => {}
        }
        // Deleted targets drop out of every assignment.
        let mut gone: BTreeSet<(String, String)> = BTreeSet::new();
        match kind {
            Kind::Agent => {
                gone.insert(("subAgentId".into(), id.clone()));
            }
            Kind::ToolSet => {
                gone.insert(("toolSetId".into(), id.clone()));
                for t in self.records(&format!("{}/{id}/tools", loc.coll)) {
                    gone.insert(("toolId".into(), id_of(t).to_string()));
                }
            }
            Kind::Tool => {
                gone.insert(("toolId".into(), id.clone()));
            }
            _ => {}
        }
        if let Some(list) = self.items.get_mut(&loc.coll) {
            list.retain(|x| id_of(x) != id);
        }
        // Children go with their parent.
        let prefix = format!("{}/{id}/", loc.coll);
        self.items.retain(|k, _| !k.starts_with(&prefix));
        if !gone.is_empty() {
            self.drop_assignments(&ws, &gone);
        }
        Ok((204, Value::Null))
    }

    /// Remove assignments to `gone` targets from every variation of `ws`.
    pub(super) fn drop_assignments(&mut self, ws: &str, gone: &BTreeSet<(String, String)>) {
        let at = now();
        for (k, list) in self.items.iter_mut() {
            if !(k.starts_with(&format!("{ws}/")) && k.ends_with("/variations")) {
                continue;
            }
            for v in list.iter_mut() {
                let Some(a) = v
                    .pointer_mut("/spec/assignments")
                    .and_then(Value::as_array_mut)
                else {
                    continue;
                };
                let before = a.len();
                a.retain(|x| {
                    let tag = x.get("type").and_then(Value::as_str).unwrap_or_default();
                    let target = x.get(tag).and_then(Value::as_str).unwrap_or_default();
                    !gone.contains(&(tag.to_string(), target.to_string()))
                });
                if a.len() != before {
                    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
                        m.insert("updatedAt".into(), json!(at.clone()));
                    }
                }
            }
        }
    }

    // ---- emulator-only seeding (tests) ----

    /// A system-managed episodic layer, as the runtime creates when an
    /// objective of `agent` uses the episodic key `key`.
    pub fn seed_episodic_layer(&mut self, ws: &str, agent: &str, key: &str) -> Answer {
        let ws = self.workspace_id(ws)?;
        let agent = self
            .resolve(&format!("{ws}/agents"), agent, Kind::Agent)
            .unwrap_or_else(|_| agent.to_string());
        let coll = format!("{ws}/memory_layers");
        let meta = self.new_metadata(
            Kind::Layer.prefix(),
            &ws,
            &obj(&json!({"name": format!("episodic {agent} {key}")})),
        );
        let r = json!({"metadata": meta, "spec": {
            "type": "MEMORY_LAYER_TYPE_EPISODIC", "systemManaged": true,
            "agentId": agent, "episodicKey": key,
        }});
        self.items.entry(coll.clone()).or_default().push(r.clone());
        Ok((200, self.render(Kind::Layer, &coll, &r, true)))
    }

    /// An agent pool (the emulator serves no agent pool routes; variations
    /// may assign one with `agentPoolId`).
    pub fn seed_agent_pool(&mut self, ws: &str, name: &str, external_id: &str) -> Answer {
        let ws = self.workspace_id(ws)?;
        let coll = format!("{ws}/agent_pools");
        let meta = self.new_metadata(
            Kind::Pool.prefix(),
            &ws,
            &obj(&json!({"name": name, "externalId": external_id})),
        );
        let r = json!({"metadata": meta, "spec": {}});
        self.items.entry(coll.clone()).or_default().push(r.clone());
        Ok((200, self.render(Kind::Pool, &coll, &r, true)))
    }
}

/// The `(type, target)` pairs of a variation's assignments.
pub fn assignments(v: &Value) -> impl Iterator<Item = (&str, &str)> {
    v.pointer("/spec/assignments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let tag = a.get("type")?.as_str()?;
            Some((tag, a.get(tag)?.as_str()?))
        })
}

/// A tool set spec's `secrets`, taken out (they live in the set's secrets
/// collection); names must be unique.
fn take_secrets(spec: &mut Map<String, Value>) -> Result<Vec<Value>, Problem> {
    let list = match spec.remove("secrets") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    let mut seen = BTreeSet::new();
    for (i, s) in list.iter().enumerate() {
        let name = s.get("name").and_then(Value::as_str).unwrap_or_default();
        if name.is_empty() {
            return Err(violation(&format!("spec.secrets[{i}].name"), "required"));
        }
        if !seen.insert(name.to_string()) {
            return Err(violation(&format!("spec.secrets[{i}].name"), "given twice"));
        }
    }
    Ok(list)
}

/// A problem about a nested body, its fields named from `prefix`.
fn prefix_problem(mut p: Problem, prefix: &str) -> Problem {
    for (field, _) in p.violations.iter_mut() {
        if !field.starts_with(prefix) {
            *field = format!("{prefix}.{field}");
        }
    }
    p
}

//! Workspaces (account-scoped: `/v1/account/workspaces`,
//! `workspace_admin.py`), their listing (`/v1/workspaces`) and `whoami`
//! (`GET /v1/whoami`, `profiles.py:17`), and the model catalogue every new
//! workspace is seeded with.

use serde_json::{json, Value};

use super::paging::*;
use super::schema;
use super::store::*;

impl Store {
    // ---- workspaces and identity ----

    /// A workspace's canonical id, from an id or `external_id:x`.
    pub fn workspace_id(&self, seg: &str) -> Result<String, Problem> {
        self.workspaces
            .iter()
            .find(|w| names(w, seg))
            .map(|w| id_of(w).to_string())
            .ok_or_else(|| not_found("workspace"))
    }

    pub(super) fn workspace_index(&self, seg: &str) -> Result<usize, Problem> {
        self.workspaces
            .iter()
            .position(|w| names(w, seg))
            .ok_or_else(|| not_found("workspace"))
    }

    pub fn workspace_archived(&self, ws: &str) -> bool {
        self.workspaces.iter().any(|w| {
            id_of(w) == ws && w.get("status").and_then(Value::as_str) == Some("STATUS_ARCHIVED")
        })
    }

    fn render_workspace(&self, w: &Value) -> Value {
        let ws = id_of(w);
        let count = |suffix: &str| -> usize {
            self.items
                .iter()
                .filter(|(k, _)| k.starts_with(&format!("{ws}/")) && k.ends_with(suffix))
                .map(|(_, v)| v.len())
                .sum()
        };
        let tools: usize = self
            .items
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{ws}/")) && k.ends_with("/tools"))
            .flat_map(|(_, v)| v)
            .filter(|t| state_of(t) == "STATE_AVAILABLE")
            .count();
        json!({
            "metadata": account_meta(&w["metadata"]),
            "spec": w.get("spec").cloned().unwrap_or(json!({})),
            "status": w.get("status").cloned().unwrap_or(json!("STATUS_ENABLED")),
            "info": {
                "totalAvailableTools": tools,
                "totalMemoryEntries": count("/entries"),
                "totalAgents": self.items.get(&format!("{ws}/agents")).map_or(0, Vec::len),
                "totalAgentVariations": count("/variations"),
            },
        })
    }

    /// `GET /v1/workspaces` (`account`: false) or `GET /v1/account/workspaces`.
    pub fn list_workspaces(&self, q: &Query, account: bool) -> Answer {
        let allowed: &[&str] = if account {
            &["includeArchived", "labels"]
        } else {
            &["sortOrder", "includeInfo", "labels"]
        };
        q.only(allowed)?;
        let archived = if account {
            q.flag("includeArchived")?.unwrap_or(false)
        } else {
            q.flag("includeInfo")?;
            false
        };
        let labels = parse_labels(q)?;
        let items: Vec<&Value> = self
            .workspaces
            .iter()
            .filter(|w| {
                archived || w.get("status").and_then(Value::as_str) != Some("STATUS_ARCHIVED")
            })
            .filter(|w| labels_match(w, &labels))
            .collect();
        let route = if account {
            "account/workspaces"
        } else {
            "workspaces"
        };
        paginate(items, q, route, |w| self.render_workspace(w))
    }

    pub fn get_workspace(&self, seg: &str) -> Answer {
        let i = self.workspace_index(seg)?;
        Ok((200, self.render_workspace(&self.workspaces[i])))
    }

    pub fn create_workspace(&mut self, body: &Value) -> Answer {
        let b = body_obj(body, &["metadata", "spec"])?;
        let meta = check_metadata(b.get("metadata").unwrap_or(&Value::Null), "metadata")?;
        let spec = schema::check(
            &schema::WORKSPACE_SPEC,
            b.get("spec").unwrap_or(&json!({})),
            "spec",
            true,
        )?;
        if let Some(ext) = meta
            .get("externalId")
            .and_then(Value::as_str)
            .filter(|e| !e.is_empty())
        {
            if self.workspaces.iter().any(|w| ext_of(w) == Some(ext)) {
                return Err(conflict(format!(
                    "a workspace with externalId {ext} exists"
                )));
            }
        }
        let mut metadata = self.new_metadata("ws", "", &meta);
        let ws = metadata["id"].as_str().unwrap_or_default().to_string();
        if let Some(m) = metadata.as_object_mut() {
            m.remove("workspaceId");
        }
        let w = json!({"metadata": metadata, "spec": spec, "status": "STATUS_ENABLED"});
        self.workspaces.push(w.clone());
        self.seed_models(&ws);
        Ok((200, self.render_workspace(&w)))
    }

    /// Every workspace has the provider key `getting-started-key` and its models.
    fn seed_models(&mut self, ws: &str) {
        let key_meta = self.new_metadata(
            Kind::ProviderKey.prefix(),
            ws,
            &obj(&json!({"name": "Getting started", "externalId": PROVIDER_KEY})),
        );
        let key_id = key_meta["id"].as_str().unwrap_or_default().to_string();
        self.items.insert(
            format!("{ws}/ai_provider_keys"),
            vec![json!({"metadata": key_meta, "spec": {"provider": "AI_PROVIDER_OPENROUTER"}})],
        );
        let mut models = Vec::new();
        for (provider, family, ext, provider_model, enabled, reasoning) in MODELS {
            let meta = self.new_metadata(
                Kind::Model.prefix(),
                ws,
                &obj(&json!({"name": format!("{provider}/{family}"), "externalId": ext})),
            );
            let mut caps = vec![
                json!({"type": "temperature", "temperature": {}}),
                json!({"type": "topP", "topP": {}}),
                json!({"type": "stopSequences", "stopSequences": {"limit": 4}}),
                json!({"type": "maxOutputTokens", "maxOutputTokens": {}}),
                json!({"type": "caching", "caching": {}}),
            ];
            if *provider == "anthropic" {
                caps.push(json!({"type": "topK", "topK": {}}));
            }
            if *reasoning {
                caps.push(json!({"type": "reasoning", "reasoning": {"mode": "MODE_ADAPTIVE"}}));
            }
            models.push(json!({
                "metadata": meta,
                "spec": {
                    "provider": provider,
                    "family": family,
                    "maxInputTokens": 200000,
                    "maxOutputTokens": 32000,
                    "inputPricePerMillionTokens": "300",
                    "outputPricePerMillionTokens": "1500",
                    "cachedInputPricePerMillionTokens": "30",
                    "capabilities": caps,
                    "providerModelId": provider_model,
                },
                "state": if *enabled { "STATE_ENABLED" } else { "STATE_DISABLED" },
                "provenance": "PROVENANCE_SYNCED_FROM_PROVIDER",
                "basePricing": {
                    "inputPricePerMillionTokens": "300",
                    "outputPricePerMillionTokens": "1500",
                    "cachedInputPricePerMillionTokens": "30",
                },
                "aiProviderKeyId": key_id,
            }));
        }
        self.items.insert(format!("{ws}/models"), models);
    }

    pub fn update_workspace(&mut self, seg: &str, body: &Value) -> Answer {
        let i = self.workspace_index(seg)?;
        let mut w = self.workspaces[i].clone();
        let b = body_obj(body, &["metadata", "spec", "updateMask"])?;
        let (meta, spec) = update_sources(b, &schema::WORKSPACE_SPEC)?;
        let mask = mask_of(b)?;
        let mut m = obj(&w["metadata"]);
        let mut s = obj(&w["spec"]);
        apply_mask(
            &mask,
            &mut m,
            &mut s,
            meta.as_ref(),
            spec.as_ref(),
            &schema::WORKSPACE_SPEC,
            false,
        )?;
        finish_metadata(&m, "metadata")?;
        if let Some(ext) = m
            .get("externalId")
            .and_then(Value::as_str)
            .filter(|e| !e.is_empty())
        {
            if self
                .workspaces
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && ext_of(o) == Some(ext))
            {
                return Err(conflict(format!(
                    "a workspace with externalId {ext} exists"
                )));
            }
        }
        m.insert("updatedAt".into(), json!(now()));
        w["metadata"] = Value::Object(m);
        w["spec"] = schema::check(&schema::WORKSPACE_SPEC, &Value::Object(s), "spec", true)?;
        self.workspaces[i] = w.clone();
        Ok((200, self.render_workspace(&w)))
    }

    /// `DELETE /v1/account/workspaces/{id}`: archives it.
    pub fn archive_workspace(&mut self, seg: &str) -> Answer {
        let i = self.workspace_index(seg)?;
        self.workspaces[i]["status"] = json!("STATUS_ARCHIVED");
        Ok((204, Value::Null))
    }

    fn profile(&self) -> Value {
        json!({
            "metadata": {
                "id": PROFILE_ID, "accountId": ACCOUNT_ID, "name": "Emulator",
                "externalId": "", "labels": {}, "profileId": PROFILE_ID,
                "createdAt": "2026-01-01T00:00:00Z",
            },
            "spec": {"email": "emulator@twinform.invalid", "name": "Emulator", "type": "PROFILE_TYPE_API_KEY"},
        })
    }

    /// `GET /v1/whoami`.
    pub fn whoami(&self) -> Answer {
        let mut out = json!({"profile": self.profile()});
        if let Some(w) = self
            .workspaces
            .iter()
            .find(|w| w.get("status").and_then(Value::as_str) != Some("STATUS_ARCHIVED"))
        {
            out["defaultWorkspace"] = account_meta(&w["metadata"]);
        }
        Ok((200, out))
    }
}

//! A tool set: fields by the table; its adapter by hand (a tagged union,
//! `{"type": "http", "http": {…}}`, `types.py:4668`: a write inside a
//! variant carries the tag, each changed leaf is its own mask path, headers
//! merge by name so a live header the manifest does not declare is kept,
//! and another variant replaces the adapter whole); `:unarchive` first when
//! it was archived (`tool_sets.py:138`); its secrets (`tool_set_secrets.py`:
//! write-only, a keyed fingerprint in a label, never `spec.secrets`, whose
//! mask would replace them all) and its tools (`tool.rs`).

use std::collections::BTreeMap;

use super::*;
use crate::engine::manifest::Text;
use crate::providers::cadenya::tables;
use crate::providers::cadenya::wire::FINGERPRINT_LABEL;

fn headers_json(h: &Headers) -> Option<Value> {
    h.as_ref().map(|h| {
        Value::Object(
            h.iter()
                .map(|(k, v)| (k.clone(), json!(v.expose())))
                .collect(),
        )
    })
}

/// An adapter as the wire has it (`types.py:4665-4817`; the OpenAPI source
/// is a nested tagged union, `{"type": "url", "url": …}`, `:6309`).
pub fn adapter_json(a: &Adapter) -> Value {
    let (inner, url_key, url) = match a {
        Adapter::Http { base_url, .. } => (json!({}), "baseUrl", Some(base_url)),
        Adapter::Mcp { url, .. } => (json!({}), "url", Some(url)),
        Adapter::OpenApi { url, base_url, .. } => {
            let mut o = json!({"type": "url"});
            if let Some(b) = base_url {
                o["baseUrl"] = json!(b.expose());
            }
            (o, "url", Some(url))
        }
        Adapter::Bare { content_timeout } => {
            let mut b = json!({});
            if let Some(t) = content_timeout {
                b["contentTimeout"] = json!(t);
            }
            (b, "", None)
        }
    };
    let mut inner = inner;
    if let Some(u) = url {
        inner[url_key] = json!(u.expose());
    }
    let headers = match a {
        Adapter::Http { headers, .. }
        | Adapter::Mcp { headers, .. }
        | Adapter::OpenApi { headers, .. } => headers_json(headers),
        Adapter::Bare { .. } => None,
    };
    if let Some(h) = headers {
        inner["headers"] = h;
    }
    json!({"type": a.tag(), a.tag(): inner})
}

fn adapter_parts(a: &Adapter) -> (Option<&Text>, Option<&BTreeMap<String, Text>>) {
    match a {
        Adapter::Http { base_url, headers } => (Some(base_url), headers.as_ref()),
        Adapter::Mcp { url, headers } => (Some(url), headers.as_ref()),
        Adapter::OpenApi { url, headers, .. } => (Some(url), headers.as_ref()),
        Adapter::Bare { .. } => (None, None),
    }
}

/// An adapter as a plan shows it: header values masked as the manifest's are.
fn adapter_shown(a: &Adapter) -> Shown {
    let (url, headers) = adapter_parts(a);
    let mut entries = vec![("type".to_string(), lit(a.tag()))];
    if let Some(u) = url {
        entries.push(("url".to_string(), Shown::text(u)));
    }
    if let Some(h) = headers {
        entries.push((
            "headers".into(),
            Shown::object(h.iter().map(|(k, v)| (k.clone(), Shown::text(v)))),
        ));
    }
    Shown::object(entries)
}

/// The live adapter beside the manifest's: each header masked as the
/// manifest's header of that name (a header the manifest does not name is
/// masked whole: a live header may be a credential).
fn live_adapter_shown(live: &Value, like: &Adapter) -> Shown {
    let (want_url, want_headers) = adapter_parts(like);
    let Some(kind) = live.get("type").and_then(Value::as_str) else {
        return Shown::none();
    };
    let inner = live.get(kind).cloned().unwrap_or(Value::Null);
    let url_key = if kind == "http" { "baseUrl" } else { "url" };
    let mut entries = vec![("type".to_string(), lit(kind))];
    if let Some(url) = inner.get(url_key).and_then(Value::as_str) {
        let shown = match want_url {
            Some(w) => Shown::live(url, w),
            None => Shown::secret(),
        };
        entries.push(("url".to_string(), shown));
    }
    if let Some(h) = inner.get("headers").and_then(Value::as_object) {
        let shown = h.iter().map(|(k, v)| {
            let value = v.as_str().unwrap_or_default();
            let s = match want_headers.and_then(|w| w.get(k)) {
                Some(t) => Shown::live(value, t),
                None => Shown::secret(),
            };
            (k.clone(), s)
        });
        entries.push(("headers".into(), Shown::object(shown)));
    }
    Shown::object(entries)
}

impl Differ<'_> {
    pub(super) fn tool_set(&mut self, ws: &Ws, spec: &ToolSetSpec) {
        let address = tool_set_address(ws.id(), &spec.id);
        let live = by_ext_in(ws.list(|s| &s.tool_sets), &spec.id);
        let item = |seg: Seg| under(&ws.seg, vec![Seg::Lit("tool_sets".into()), seg]);
        let (target, live_set) = match live {
            None => {
                let mut c = self.change(&address, "tool_set", Action::Create, None);
                let Some(a) = &spec.adapter else {
                    self.errors.push(format!(
                        "{address} needs an `adapter` to be created (Cadenya requires one)"
                    ));
                    return;
                };
                let mut body = create_body(
                    &tables::TOOL_SET,
                    &spec.values,
                    "name",
                    &spec.id,
                    ws.owner(),
                    &mut c,
                );
                body["spec"]["adapter"] = adapter_json(a);
                c.fields
                    .push(FieldChange::after("adapter", adapter_shown(a)));
                c.depends_on = ws.deps();
                let key = format!("tool_set:{}/{}", ws.id(), spec.id);
                let w = create_write(
                    What::ToolSet,
                    under(&ws.seg, lits(&["tool_sets"])),
                    body,
                    &key,
                    &spec.id,
                );
                self.push(c, vec![Op::Write(w)]);
                (Target::new(key, &address), None)
            }
            Some(live) => {
                let Some(adopt) = self.check_owner(ws, live, &address) else {
                    return;
                };
                let mut c = self.change(&address, "tool_set", Action::Update, None);
                c.label = Some(lit(live.id()));
                let mut p = Patch::default();
                table_diff(&tables::TOOL_SET, &spec.values, live, &mut c, &mut p);
                if let Some(a) = &spec.adapter {
                    self.adapter(live, a, &mut c, &mut p);
                }
                let mut ops = Vec::new();
                if live.state() == "STATE_ARCHIVED" {
                    ops.push(action(
                        What::ToolSet,
                        Verb::Unarchive,
                        item(Seg::Id(live.id().into())),
                    ));
                    c.fields
                        .push(FieldChange::new("state", lit("archived"), lit("active")));
                }
                ops.extend(Self::update_op(
                    ws,
                    live,
                    adopt,
                    p,
                    What::ToolSet,
                    item(Seg::Id(live.id().into())),
                    &mut c,
                ));
                if !ops.is_empty() {
                    self.push(c, ops);
                }
                (Target::live(live.id()), Some(live))
            }
        };
        if let Some(secrets) = &spec.secrets {
            self.set_secrets(ws, &address, &target, spec, live_set, secrets);
        }
        if let Some(tools) = &spec.tools {
            self.tools(ws, &address, &target, spec, live_set, tools);
        }
    }

    /// The adapter's changed leaves (same variant), or the whole adapter
    /// (another variant).
    fn adapter(&mut self, live: &Resource, a: &Adapter, c: &mut Change, p: &mut Patch) {
        let have = live.spec("/adapter").cloned().unwrap_or(Value::Null);
        let want = adapter_json(a);
        let tag = a.tag();
        if have.get("type").and_then(Value::as_str) != Some(tag) {
            c.fields.push(FieldChange::new(
                "adapter",
                live_adapter_shown(&have, a),
                adapter_shown(a),
            ));
            p.set("spec.adapter", "spec.adapter", want);
            return;
        }
        let inner_have = have.get(tag).cloned().unwrap_or_else(|| json!({}));
        let mut inner_want = want.get(tag).cloned().unwrap_or_else(|| json!({}));
        // Headers merge by name: a declared header is set, one the manifest
        // does not declare is kept (never dropped).
        if let (Some(Value::Object(live_h)), Some(Value::Object(declared))) = (
            inner_have.get("headers"),
            inner_want.get("headers").cloned(),
        ) {
            let mut merged = live_h.clone();
            merged.extend(declared);
            inner_want["headers"] = Value::Object(merged);
        }
        let mut after = have.clone();
        let mut changed = false;
        for (k, v) in inner_want.as_object().into_iter().flatten() {
            if k == "type" || inner_have.get(k) == Some(v) {
                continue;
            }
            changed = true;
            // (`set_at`, not indexing: the live value may be malformed.)
            resource::set_at(&mut after, &format!("{tag}.{k}"), v.clone());
            let path = format!("spec.adapter.{tag}.{k}");
            p.set(&path, &path, v.clone());
        }
        if !changed {
            return;
        }
        // The union's tags travel with any write inside it (`_decode_X`
        // reads `type`; a body without it is refused).
        resource::set_at(&mut p.body, "spec.adapter.type", json!(tag));
        if let Some(t) = inner_want.get("type") {
            resource::set_at(&mut p.body, &format!("spec.adapter.{tag}.type"), t.clone());
        }
        c.fields.push(FieldChange::new(
            "adapter",
            live_adapter_shown(&have, a),
            live_adapter_shown(&after, a),
        ));
    }

    /// A tool set's secrets: write-only, compared by the keyed fingerprint
    /// in their label; one with no fingerprint yet is unknown (written only
    /// with `--sync-secrets`, so an export plans empty); complete when
    /// declared (others deleted).
    fn set_secrets(
        &mut self,
        ws: &Ws,
        parent: &str,
        set: &Target,
        spec: &ToolSetSpec,
        live_set: Option<&Resource>,
        secrets: &BTreeMap<String, Text>,
    ) {
        let live: &[Resource] = live_set
            .and_then(|s| ws.space?.set_secrets.get(s.id()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let path = |rest: Option<Seg>| {
            let mut p = vec![
                Seg::Lit("tool_sets".into()),
                set.seg.clone(),
                Seg::Lit("secrets".into()),
            ];
            p.extend(rest);
            under(&ws.seg, p)
        };
        for (name, value) in secrets {
            let address = child(parent, "secret", name);
            let digest = self
                .live
                .set_secret_digests
                .get(&(ws.id().to_string(), spec.id.clone(), name.clone()))
                .cloned()
                .unwrap_or_default();
            match live.iter().find(|s| s.metadata.name == *name) {
                None => {
                    let mut c =
                        self.change(&address, "tool_set_secret", Action::Create, Some(parent));
                    c.label = Some(lit(name));
                    c.fields.push(FieldChange::after("value", Shown::secret()));
                    c.depends_on.extend(set.created_by.clone());
                    let labels = labels(ws.owner(), &[(FINGERPRINT_LABEL, &digest)]);
                    let body = json!({"metadata": {"name": name, "labels": labels}, "spec": {"value": value.expose()}});
                    let w = write(
                        What::SetSecret,
                        Verb::Create,
                        "POST",
                        path(None),
                        Some(body),
                    );
                    self.push(c, vec![Op::Write(w)]);
                }
                Some(l) => {
                    let Some(update) = self.secret_value(&address, l, &digest, ws.owner()) else {
                        continue;
                    };
                    let (mut c, labels) = update;
                    c.group = Some(parent.to_string());
                    c.resource = "tool_set_secret";
                    c.label = Some(lit(name));
                    let mut p = Patch::default();
                    p.set("spec.value", "spec.value", json!(value.expose()));
                    let body = patch_body(p, l, Some(&labels), false);
                    let w = write(
                        What::SetSecret,
                        Verb::Update,
                        "PATCH",
                        path(Some(Seg::Id(l.id().into()))),
                        Some(body),
                    );
                    self.push(c, vec![Op::Write(w)]);
                }
            }
        }
        for l in live {
            if secrets.contains_key(&l.metadata.name) {
                continue;
            }
            let address = child(parent, "secret", &l.metadata.name);
            let mut c = self.change(&address, "tool_set_secret", Action::Delete, Some(parent));
            c.label = Some(lit(&l.metadata.name));
            let w = write(
                What::SetSecret,
                Verb::Delete,
                "DELETE",
                path(Some(Seg::Id(l.id().into()))),
                None,
            );
            self.push(c, vec![Op::Write(w)]);
        }
    }
}

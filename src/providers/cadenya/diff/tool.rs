//! A tool set's tools (only under `http` and `bare` adapters: the others
//! sync their own). Fields by the table; by hand: the tool config is a
//! tagged union (`types.py:5013 _decode_ToolSpec_Config`), so a write
//! inside it carries `config.type`, and a create sends the fields the API
//! requires (`ToolSpec`: description, requiresApproval, parameters and
//! config, `types.py:7764`).

use super::*;
use crate::providers::cadenya::tables;

impl Differ<'_> {
    pub(super) fn tools(
        &mut self,
        ws: &Ws,
        parent: &str,
        set: &Target,
        spec: &ToolSetSpec,
        live_set: Option<&Resource>,
        tools: &[ToolSpec],
    ) {
        let live_tools: &[Resource] = live_set
            .and_then(|s| ws.space?.tools.get(s.id()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let adapter = spec.adapter.as_ref().map(Adapter::tag).or_else(|| {
            live_set
                .and_then(|s| s.spec_str("/adapter/type"))
                .and_then(|t| {
                    ["http", "mcp", "openapi", "bare"]
                        .into_iter()
                        .find(|x| *x == t)
                })
        });
        let path = |rest: Option<Seg>| {
            let mut p = vec![
                Seg::Lit("tool_sets".into()),
                set.seg.clone(),
                Seg::Lit("tools".into()),
            ];
            p.extend(rest);
            under(&ws.seg, p)
        };
        for t in tools {
            let address = child(parent, "tool", &t.id);
            match by_ext_in(live_tools, &t.id) {
                None => {
                    let mut c = self.change(&address, "tool", Action::Create, Some(parent));
                    let mut body =
                        create_body(&tables::TOOL, &t.values, "name", &t.id, ws.owner(), &mut c);
                    match adapter {
                        Some("http") if t.values.group("http").is_some() => {
                            resource::set_at(&mut body, "spec.config.type", json!("http"));
                        }
                        Some("http") => {
                            self.errors.push(format!(
                                "{address} needs `http` (method and path) to be created under an `http` tool set"
                            ));
                            continue;
                        }
                        Some("bare") => {
                            body["spec"]["config"] = json!({"type": "bare", "bare": {}});
                        }
                        other => {
                            self.errors.push(format!(
                                "{address}: tools are declared only under an `http` or `bare` tool set; this one's adapter ({}) syncs its own",
                                other.unwrap_or("unknown")
                            ));
                            continue;
                        }
                    }
                    let spec_body = &mut body["spec"];
                    if spec_body.get("parameters").is_none() {
                        spec_body["parameters"] = json!({"type": "object"});
                    }
                    if spec_body.get("requiresApproval").is_none() {
                        spec_body["requiresApproval"] = json!(false);
                    }
                    c.depends_on.extend(set.created_by.clone());
                    let mut w = write(What::Tool, Verb::Create, "POST", path(None), Some(body));
                    w.remember = Some(format!("tool:{}/{}/{}", ws.id(), spec.id, t.id));
                    w.ext = Some(t.id.clone());
                    self.push(c, vec![Op::Write(w)]);
                }
                Some(live) => {
                    let mut c = self.change(&address, "tool", Action::Update, Some(parent));
                    c.label = Some(lit(live.id()));
                    let mut p = Patch::default();
                    table_diff(&tables::TOOL, &t.values, live, &mut c, &mut p);
                    if p.body.pointer("/spec/config").is_some() {
                        // The union's tag travels with a write inside it;
                        // the rest of the live call (its headers, which may
                        // be credentials) is kept by the leaf masks.
                        resource::set_at(&mut p.body, "spec.config.type", json!("http"));
                    }
                    if !p.is_empty() {
                        let body = patch_body(p, live, None, false);
                        let w = write(
                            What::Tool,
                            Verb::Update,
                            "PATCH",
                            path(Some(Seg::Id(live.id().into()))),
                            Some(body),
                        );
                        self.push(c, vec![Op::Write(w)]);
                    }
                }
            }
        }
        for lt in live_tools {
            if lt
                .metadata
                .ext()
                .is_some_and(|e| tools.iter().any(|t| t.id == e))
            {
                continue;
            }
            let a = child(parent, "tool", lt.metadata.ext().unwrap_or(lt.id()));
            let mut c = self.change(&a, "tool", Action::Delete, Some(parent));
            c.label = Some(lit(lt.id()));
            c.fields
                .push(FieldChange::before("name", lit(&lt.metadata.name)).shown_as(Show::Context));
            let w = write(
                What::Tool,
                Verb::Delete,
                "DELETE",
                path(Some(Seg::Id(lt.id().into()))),
                None,
            );
            let i = self.push(c, vec![Op::Write(w)]);
            self.deletes.push((i, lt.id().to_string()));
        }
    }
}

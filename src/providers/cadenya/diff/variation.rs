//! An agent's variations: fields by the table; the assignment set and the
//! memory stack by hand, both inline in the variation's spec, which Cadenya
//! validates and writes atomically (`types.py:695 AgentVariationSpec`: "any
//! invalid target or cascade rejects the entire request"), so a stack is
//! replaced in one write and two layers never share a position meanwhile.
//!
//! - `tools` is a set of (kind, target): written only when it differs; the
//!   write replaces `spec.assignments` whole (a repeated field), so live
//!   agent pool assignments, which a manifest does not name, are kept in it.
//! - `memory` is ordered bottom first: the last layer is on top, the most
//!   specific, consulted first, so it gets position 0 ("a LOWER position is
//!   more specific and is consulted first", TS
//!   `VariationMemoryLayerAssignment.position`); only the order matters.

use std::collections::HashMap;

use super::*;
use crate::providers::cadenya::tables;

/// A wanted assignment or layer whose id a create of this apply fills in.
struct Wanted {
    /// The wire entry (`{"type": "toolSetId", "toolSetId": …}` or
    /// `{"memoryLayerId": …, "position": n}`).
    entry: Value,
    /// Where in the entry the id goes, and what it is.
    slot: &'static str,
    target: Target,
}

impl Differ<'_> {
    /// Canonical id → the manifest's reference (`tool_set:crm`), for plans.
    fn reference_names(&self, ws: &Ws) -> HashMap<String, String> {
        let mut out = HashMap::new();
        for t in ws.list(|s| &s.tool_sets) {
            let Some(x) = t.metadata.ext() else { continue };
            out.insert(t.id().to_string(), format!("tool_set:{x}"));
            for tool in ws
                .space
                .and_then(|s| s.tools.get(t.id()))
                .into_iter()
                .flatten()
            {
                if let Some(y) = tool.metadata.ext() {
                    out.insert(tool.id().to_string(), format!("tool:{x}/{y}"));
                }
            }
        }
        for a in ws.list(|s| &s.agents) {
            if let Some(x) = a.metadata.ext() {
                out.insert(a.id().to_string(), format!("agent:{x}"));
            }
        }
        out
    }

    /// Plan an agent's variations; the addresses of those it creates.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn variations(
        &mut self,
        ws: &Ws,
        agent: &AgentSpec,
        parent: &str,
        target: &Target,
        live_agent: Option<&Resource>,
        vars: &[VariationSpec],
        unpublished_by: Option<String>,
    ) -> Vec<String> {
        let live_vars: &[Resource] = live_agent
            .and_then(|a| ws.space?.variations.get(a.id()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let collection = under(
            &ws.seg,
            vec![
                Seg::Lit("agents".into()),
                target.seg.clone(),
                Seg::Lit("variations".into()),
            ],
        );
        let item = |seg: Seg| {
            let mut p = collection.clone();
            p.push(seg);
            p
        };
        let mut created = Vec::new();
        for v in vars {
            let address = child(parent, "variation", &v.id);
            let live = by_ext_in(live_vars, &v.id);
            let tools = match &v.tools {
                Some(t) => match self.wanted_tools(ws, &address, t) {
                    Some(w) => Some(w),
                    None => continue,
                },
                None => None,
            };
            let memory = match &v.memory {
                Some(m) => match self.wanted_stack(ws, &address, m) {
                    Some(w) => Some(w),
                    None => continue,
                },
                None => None,
            };
            match live {
                None => {
                    let mut c = self.change(&address, "variation", Action::Create, Some(parent));
                    let mut body = create_body(
                        &tables::VARIATION,
                        &v.values,
                        "name",
                        &v.id,
                        ws.owner(),
                        &mut c,
                    );
                    c.tokens_for_model(v.values.str("model"));
                    let mut fill = Vec::new();
                    if let (Some(w), Some(refs)) = (&tools, &v.tools) {
                        let list: Vec<Literal> =
                            refs.iter().map(|r| Literal(r.written())).collect();
                        c.fields
                            .push(FieldChange::after("tools", Shown::plain(&list)));
                        body["spec"]["assignments"] =
                            Self::entries(w, "/spec/assignments", &mut fill, &mut c);
                    }
                    if let (Some(w), Some(names)) = (&memory, &v.memory) {
                        let list: Vec<Literal> = names.iter().map(Literal::from).collect();
                        c.fields
                            .push(FieldChange::after("memory", Shown::plain(&list)));
                        body["spec"]["memoryLayerAssignments"] =
                            Self::entries(w, "/spec/memoryLayerAssignments", &mut fill, &mut c);
                    }
                    c.depends_on.extend(target.created_by.clone());
                    let key = format!("variation:{}/{}/{}", ws.id(), agent.id, v.id);
                    let mut w = write(
                        What::Variation,
                        Verb::Create,
                        "POST",
                        collection.clone(),
                        Some(body),
                    );
                    w.fill = fill;
                    w.remember = Some(key);
                    w.ext = Some(v.id.clone());
                    created.push(address.clone());
                    self.push(c, vec![Op::Write(w)]);
                }
                Some(live) => {
                    // Children are managed through their agent (its owner
                    // check and adoption), as every child here.
                    let mut c = self.change(&address, "variation", Action::Update, Some(parent));
                    c.label = Some(lit(live.id()));
                    let mut p = Patch::default();
                    table_diff(&tables::VARIATION, &v.values, live, &mut c, &mut p);
                    c.tokens_for_model(v.values.str("model"));
                    let mut fill = Vec::new();
                    if let (Some(w), Some(refs)) = (tools, &v.tools) {
                        self.assignments(ws, &address, live, w, refs, &mut c, &mut p, &mut fill);
                    }
                    if let (Some(w), Some(names)) = (memory, &v.memory) {
                        self.stack(ws, &address, live, w, names, &mut c, &mut p, &mut fill);
                    }
                    if !p.is_empty() {
                        let body = patch_body(p, live, None, false);
                        let mut w = write(
                            What::Variation,
                            Verb::Update,
                            "PATCH",
                            item(Seg::Id(live.id().into())),
                            Some(body),
                        );
                        w.fill = fill;
                        self.push(c, vec![Op::Write(w)]);
                    }
                }
            }
        }
        // Variations no manifest declares: deleted after the new ones exist
        // (a published agent never loses its last variation first).
        for lv in live_vars {
            if lv
                .metadata
                .ext()
                .is_some_and(|e| vars.iter().any(|v| v.id == e))
            {
                continue;
            }
            let a = child(parent, "variation", lv.metadata.ext().unwrap_or(lv.id()));
            let mut c = self.change(&a, "variation", Action::Delete, Some(parent));
            c.label = Some(lit(lv.id()));
            c.fields
                .push(FieldChange::before("name", lit(&lv.metadata.name)).shown_as(Show::Context));
            c.depends_on = created.clone();
            // An agent turned draft is unpublished before it can lose its
            // last variation (a published agent must keep one).
            c.depends_on.extend(unpublished_by.clone());
            self.gone_with(lv, &a);
            let w = write(
                What::Variation,
                Verb::Delete,
                "DELETE",
                item(Seg::Id(lv.id().into())),
                None,
            );
            // It waits for a schedule that unpins it (the API refuses to
            // delete a pinned variation).
            let i = self.push(c, vec![Op::Write(w)]);
            self.deletes.push((i, lv.id().to_string()));
        }
        created
    }

    /// The wire entries of `wanted` (ids of objects this apply creates left
    /// to fill at `pointer/<i>/<slot>`); `c` waits for their creation.
    fn entries(
        wanted: &[Wanted],
        pointer: &str,
        fill: &mut Vec<(String, Seg)>,
        c: &mut Change,
    ) -> Value {
        let mut list = Vec::new();
        for (i, w) in wanted.iter().enumerate() {
            let mut e = w.entry.clone();
            if let Seg::Id(id) = &w.target.seg {
                e[w.slot] = json!(id);
            } else {
                e[w.slot] = json!("");
                fill.push((format!("{pointer}/{i}/{}", w.slot), w.target.seg.clone()));
            }
            c.depends_on.extend(w.target.created_by.clone());
            list.push(e);
        }
        Value::Array(list)
    }

    /// A variation's `tools`, resolved.
    fn wanted_tools(&mut self, ws: &Ws, address: &str, refs: &[ToolRef]) -> Option<Vec<Wanted>> {
        let mut out = Vec::new();
        let mut ok = true;
        for r in refs {
            match self.resolve(ws, r, address) {
                Some((tag, target)) => out.push(Wanted {
                    entry: json!({"type": tag}),
                    slot: tag,
                    target,
                }),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// A variation's `memory` (bottom first), resolved, with positions:
    /// the last layer at 0.
    fn wanted_stack(&mut self, ws: &Ws, address: &str, names: &[String]) -> Option<Vec<Wanted>> {
        let mut out = Vec::new();
        let n = names.len();
        for (i, ext) in names.iter().enumerate() {
            let target = self.resolve_layer(ws, ext, address)?;
            out.push(Wanted {
                entry: json!({"position": n - 1 - i}),
                slot: "memoryLayerId",
                target,
            });
        }
        Some(out)
    }

    /// The assignment set: written (`spec.assignments`, whole) when it
    /// differs; live agent pool assignments are kept in the write.
    #[allow(clippy::too_many_arguments)]
    fn assignments(
        &mut self,
        ws: &Ws,
        address: &str,
        live: &Resource,
        wanted: Vec<Wanted>,
        refs: &[ToolRef],
        c: &mut Change,
        p: &mut Patch,
        fill: &mut Vec<(String, Seg)>,
    ) {
        let have = wire::assignments(live);
        let managed = |tag: &str| matches!(tag, "toolId" | "toolSetId" | "subAgentId");
        let same = wanted.len() == have.iter().filter(|a| managed(&a.tag)).count()
            && wanted.iter().all(|w| match &w.target.seg {
                Seg::Id(id) => have.iter().any(|a| a.tag == w.slot && a.target == *id),
                _ => false,
            });
        if same {
            return;
        }
        let kept: Vec<&wire::Assignment> = have.iter().filter(|a| !managed(&a.tag)).collect();
        let mut list: Vec<Value> = kept.iter().map(|a| a.json()).collect();
        let offset = list.len();
        let Value::Array(new) = Self::entries(&wanted, "/spec/assignments", &mut Vec::new(), c)
        else {
            return;
        };
        for (i, w) in wanted.iter().enumerate() {
            if !matches!(w.target.seg, Seg::Id(_)) {
                fill.push((
                    format!("/spec/assignments/{}/{}", offset + i, w.slot),
                    w.target.seg.clone(),
                ));
            }
        }
        list.extend(new);
        for a in have.iter().filter(|a| managed(&a.tag)) {
            let stays = wanted
                .iter()
                .any(|w| w.slot == a.tag && w.target.seg == Seg::Id(a.target.clone()));
            if !stays {
                self.removals
                    .entry(a.target.clone())
                    .or_default()
                    .push(address.to_string());
            }
        }
        let names = self.reference_names(ws);
        let before: Vec<Literal> = have
            .iter()
            .filter(|a| managed(&a.tag))
            .map(|a| {
                Literal(
                    names
                        .get(&a.target)
                        .cloned()
                        .unwrap_or_else(|| format!("{}:{}", a.kind(), a.target)),
                )
            })
            .collect();
        let after: Vec<Literal> = refs.iter().map(|r| Literal(r.written())).collect();
        c.fields.push(FieldChange::new(
            "tools",
            Shown::plain(&before),
            Shown::plain(&after),
        ));
        if !kept.is_empty() {
            c.notes.push(format!(
                "{} agent pool assignment(s) made elsewhere are kept",
                kept.len()
            ));
        }
        p.set("spec.assignments", "spec.assignments", Value::Array(list));
    }

    /// The memory stack: written (`spec.memoryLayerAssignments`, whole and
    /// atomic) when its order differs; positions alone are no change.
    #[allow(clippy::too_many_arguments)]
    fn stack(
        &mut self,
        ws: &Ws,
        address: &str,
        live: &Resource,
        wanted: Vec<Wanted>,
        names: &[String],
        c: &mut Change,
        p: &mut Patch,
        fill: &mut Vec<(String, Seg)>,
    ) {
        // Consulted first = lowest position = the manifest's last.
        let have: Vec<String> = wire::stack(live).into_iter().rev().collect();
        let want: Vec<Option<&str>> = wanted
            .iter()
            .map(|w| match &w.target.seg {
                Seg::Id(id) => Some(id.as_str()),
                _ => None,
            })
            .collect();
        if want.iter().all(Option::is_some)
            && have
                .iter()
                .map(String::as_str)
                .eq(want.iter().flatten().copied())
        {
            return;
        }
        for layer in &have {
            if !want.contains(&Some(layer.as_str())) {
                self.removals
                    .entry(layer.clone())
                    .or_default()
                    .push(address.to_string());
            }
        }
        let list = Self::entries(&wanted, "/spec/memoryLayerAssignments", fill, c);
        let before: Vec<Literal> = have
            .iter()
            .map(|l| Literal(self.layer_name(ws, l)))
            .collect();
        let after: Vec<Literal> = names.iter().map(Literal::from).collect();
        c.fields.push(FieldChange::new(
            "memory",
            Shown::plain(&before),
            Shown::plain(&after),
        ));
        p.set(
            "spec.memoryLayerAssignments",
            "spec.memoryLayerAssignments",
            list,
        );
    }
}

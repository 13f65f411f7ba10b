//! Memory layers and their entries. A layer's type is set at creation only
//! (the API ignores `spec.type` on update); a system-managed layer is the
//! runtime's (`types.py:2599 systemManaged`): never changed. An entry is
//! created with the tagged create spec (`{"type": "content", …}`,
//! `types.py:2476`) and updated with the flat update spec and bare mask
//! paths (`key,content`); its metadata is replaced whole on update (the
//! loader's `updateMask`), so every metadata field is sent with it.

use super::*;
use crate::providers::cadenya::tables;

/// An entry's values with its `key` made explicit when the manifest leaves
/// it to the id (the key it was created with): compared like a declared
/// one, pulled back into the entry's own mapping.
pub(crate) fn entry_values(e: &EntrySpec) -> Values {
    e.values.clone().with_default("key", json!(e.key))
}

impl Differ<'_> {
    pub(super) fn layer(&mut self, ws: &Ws, spec: &LayerSpec) {
        let address = layer_address(ws.id(), &spec.id);
        let live = by_ext_in(ws.list(|s| &s.layers), &spec.id);
        let item = |seg: Seg| under(&ws.seg, vec![Seg::Lit("memory_layers".into()), seg]);
        let (target, entries_live) = match live {
            None => {
                let mut c = self.change(&address, "memory_layer", Action::Create, None);
                let mut body = create_body(
                    &tables::LAYER,
                    &spec.values,
                    "name",
                    &spec.id,
                    ws.owner(),
                    &mut c,
                );
                if body.pointer("/spec/type").is_none() {
                    body["spec"]["type"] = json!("MEMORY_LAYER_TYPE_SKILLS");
                }
                c.depends_on = ws.deps();
                let key = format!("layer:{}/{}", ws.id(), spec.id);
                let w = create_write(
                    What::Layer,
                    under(&ws.seg, lits(&["memory_layers"])),
                    body,
                    &key,
                    &spec.id,
                );
                self.push(c, vec![Op::Write(w)]);
                (Target::new(key, &address), None)
            }
            Some(live) => {
                if live.system_managed() {
                    self.errors.push(format!(
                        "{address} ({}) is system-managed live (the runtime's episodic layer): it cannot be declared; give the layer another id",
                        live.id()
                    ));
                    return;
                }
                let Some(adopt) = self.check_owner(ws, live, &address) else {
                    return;
                };
                let mut c = self.change(&address, "memory_layer", Action::Update, None);
                c.label = Some(lit(live.id()));
                let mut p = Patch::default();
                let found = table_diff(&tables::LAYER, &spec.values, live, &mut c, &mut p);
                if !found.replace.is_empty() {
                    self.errors.push(format!(
                        "{address}: its type is {} live and {} in the manifest; the type is set at creation only: give the layer a new id to create another",
                        live.spec_str("/type").unwrap_or("unknown"),
                        spec.values.str("type").unwrap_or_default()
                    ));
                    return;
                }
                let path = item(Seg::Id(live.id().into()));
                if let Some(op) = Self::update_op(ws, live, adopt, p, What::Layer, path, &mut c) {
                    self.push(c, vec![op]);
                }
                (Target::live(live.id()), Some(live.id().to_string()))
            }
        };
        let Some(entries) = &spec.entries else {
            return;
        };
        let live_entries: &[Resource] = entries_live
            .as_ref()
            .and_then(|id| ws.space?.entries.get(id))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let path = |rest: Option<Seg>| {
            let mut p = vec![
                Seg::Lit("memory_layers".into()),
                target.seg.clone(),
                Seg::Lit("entries".into()),
            ];
            p.extend(rest);
            under(&ws.seg, p)
        };
        for e in entries {
            let a = child(&address, "entry", &e.id);
            let values = entry_values(e);
            match by_ext_in(live_entries, &e.id) {
                None => {
                    let mut c = self.change(&a, "memory_entry", Action::Create, Some(&address));
                    let mut body =
                        create_body(&tables::ENTRY, &values, "title", &e.id, ws.owner(), &mut c);
                    body["spec"]["type"] = json!("content");
                    c.depends_on.extend(target.created_by.clone());
                    let mut w = write(What::Entry, Verb::Create, "POST", path(None), Some(body));
                    w.ext = Some(e.id.clone());
                    self.push(c, vec![Op::Write(w)]);
                }
                Some(live) => {
                    let mut c = self.change(&a, "memory_entry", Action::Update, Some(&address));
                    c.label = Some(lit(live.id()));
                    let mut p = Patch::default();
                    table_diff(&tables::ENTRY, &values, live, &mut c, &mut p);
                    if !p.is_empty() {
                        let body = patch_body(p, live, None, true);
                        let w = write(
                            What::Entry,
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
        for le in live_entries {
            if le
                .metadata
                .ext()
                .is_some_and(|x| entries.iter().any(|e| e.id == x))
            {
                continue;
            }
            let a = child(&address, "entry", le.metadata.ext().unwrap_or(le.id()));
            let mut c = self.change(&a, "memory_entry", Action::Delete, Some(&address));
            c.label = Some(lit(le.id()));
            c.fields.push(
                FieldChange::before("key", le.spec_str("/key").map_or_else(Shown::none, lit))
                    .shown_as(Show::Context),
            );
            let w = write(
                What::Entry,
                Verb::Delete,
                "DELETE",
                path(Some(Seg::Id(le.id().into()))),
                None,
            );
            self.push(c, vec![Op::Write(w)]);
        }
    }
}

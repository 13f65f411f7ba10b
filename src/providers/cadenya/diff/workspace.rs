//! A workspace (account-scoped: `POST`/`PATCH /v1/account/workspaces`,
//! `workspace_admin.py:69,110`) and the models it enables (`:enable` /
//! `:disable`, `models.py:114-138`), then everything declared in it.

use std::collections::BTreeSet;

use super::*;
use crate::providers::cadenya::ops::{model_enabled, model_key};
use crate::providers::cadenya::tables;

impl Differ<'_> {
    pub(super) fn workspace(&mut self, spec: &WorkspaceSpec) {
        let space = self.live.spaces.get(&spec.id);
        let address = workspace_address(&spec.id);
        let ws = match space {
            None => {
                let mut c = self.change(&address, "workspace", Action::Create, None);
                let body = create_body(
                    &tables::WORKSPACE,
                    &spec.values,
                    "name",
                    &spec.id,
                    spec.owner.as_deref(),
                    &mut c,
                );
                let mut w = write(
                    What::Workspace,
                    Verb::Create,
                    "POST",
                    lits(&["v1", "account", "workspaces"]),
                    Some(body),
                );
                w.remember = Some(format!("ws:{}", spec.id));
                w.ext = Some(spec.id.clone());
                self.push(c, vec![Op::Write(w)]);
                Ws {
                    spec,
                    space: None,
                    seg: Seg::New(format!("ws:{}", spec.id)),
                    created_by: Some(address.clone()),
                    foreign: None,
                }
            }
            Some(s) => {
                let live = &s.workspace;
                let mut c = self.change(&address, "workspace", Action::Update, None);
                c.label = Some(lit(live.id()));
                let mut p = Patch::default();
                table_diff(&tables::WORKSPACE, &spec.values, live, &mut c, &mut p);
                // Trust II item 2 (the workspace itself): another owner's
                // workspace keeps its settings unless adopted.
                let foreign = live
                    .metadata
                    .owner()
                    .filter(|o| spec.owner.as_deref() != Some(*o))
                    .map(str::to_string);
                let mut labels = None;
                if let (Some(theirs), false) = (&foreign, p.is_empty()) {
                    match (&spec.owner, self.local.adopt) {
                        (Some(o), true) => {
                            labels = Some(Self::adopted_labels(live, o));
                            c.notes.push("adopted: it gets the owner's label".into());
                        }
                        _ => {
                            self.errors.push(format!(
                                "{address} ({}) is owned by `{theirs}`: its name and description are not changed{}",
                                live.id(),
                                if spec.owner.is_some() { " without --adopt" } else { "; set `owner:` and pass --adopt to take it over" }
                            ));
                            p = Patch::default();
                        }
                    }
                }
                if !p.is_empty() {
                    let path = vec![
                        Seg::Lit("v1".into()),
                        Seg::Lit("account".into()),
                        Seg::Lit("workspaces".into()),
                        Seg::Id(live.id().into()),
                    ];
                    let body = patch_body(p, live, labels.as_ref(), false);
                    let w = write(What::Workspace, Verb::Update, "PATCH", path, Some(body));
                    self.push(c, vec![Op::Write(w)]);
                }
                Ws {
                    spec,
                    space: Some(s),
                    seg: Seg::Id(live.id().to_string()),
                    created_by: None,
                    foreign: foreign.filter(|_| !(self.local.adopt && spec.owner.is_some())),
                }
            }
        };
        self.models(&ws);
        let d = self.desired;
        for t in d.tool_sets.iter().filter(|t| t.workspace == spec.id) {
            self.tool_set(&ws, t);
        }
        for l in d.layers.iter().filter(|l| l.workspace == spec.id) {
            self.layer(&ws, l);
        }
        for s in d.secrets.iter().filter(|s| s.workspace == spec.id) {
            self.secret(&ws, s);
        }
        for a in d.agents.iter().filter(|a| a.workspace == spec.id) {
            self.agent(&ws, a);
        }
        self.prune(&ws);
    }

    fn models(&mut self, ws: &Ws) {
        let Some(want) = &ws.spec.models else {
            return;
        };
        let want: BTreeSet<String> = want.iter().cloned().collect();
        let live = ws.list(|s| &s.models);
        let have: BTreeSet<String> = live
            .iter()
            .filter(|m| model_enabled(m))
            .map(model_key)
            .collect();
        if ws.space.is_some() {
            let offered: BTreeSet<String> = live.iter().map(model_key).collect();
            let missing: Vec<&String> = want.iter().filter(|m| !offered.contains(*m)).collect();
            if !missing.is_empty() {
                self.errors.push(format!(
                    "{}: no model {} is offered (offered: {})",
                    workspace_address(ws.id()),
                    missing
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    offered.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
                return;
            }
            if have == want {
                return;
            }
        }
        if let Some(theirs) = &ws.foreign {
            self.errors.push(format!(
                "{} is owned by `{theirs}`: its models are not changed without `owner:` and --adopt",
                workspace_address(ws.id())
            ));
            return;
        }
        let address = format!("{}.models", workspace_address(ws.id()));
        let action = if ws.space.is_some() {
            Action::Update
        } else {
            Action::Create
        };
        let mut c = self.change(&address, "models", action, None);
        let to_lits = |s: &BTreeSet<String>| s.iter().map(Literal::from).collect::<Vec<_>>();
        let before = if ws.space.is_some() {
            Shown::plain(&to_lits(&have))
        } else {
            Shown::absent()
        };
        c.fields.push(FieldChange::new(
            "enabled",
            before,
            Shown::plain(&to_lits(&want)),
        ));
        c.depends_on = ws.deps();
        self.push(
            c,
            vec![Op::SetModels {
                workspace: ws.seg.clone(),
                enabled: want,
            }],
        );
    }
}

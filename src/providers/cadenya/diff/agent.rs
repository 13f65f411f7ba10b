//! An agent: its fields (the table), its state by actions (`:publish` once
//! its variations exist, `:unpublish` before a variation that must not be
//! the last one goes, `:unarchive` first when it was archived: `state` is
//! output only, `types.py:403`, `agents.py:199-249`), then its variations
//! and schedules.

use super::*;
use crate::providers::cadenya::tables;

/// A state as the manifest says it (`STATE_PUBLISHED` → `published`).
fn short(state: &str) -> String {
    state
        .strip_prefix("STATE_")
        .unwrap_or(state)
        .to_ascii_lowercase()
}

impl Differ<'_> {
    pub(super) fn agent(&mut self, ws: &Ws, spec: &AgentSpec) {
        let address = agent_address(ws.id(), &spec.id);
        let live = by_ext_in(ws.list(|s| &s.agents), &spec.id);
        let key = format!("agent:{}/{}", ws.id(), spec.id);
        let publish = spec.status == Some(Status::Published);
        // Publication waits for variations created by this plan.
        let mut publish_later = false;
        // The change of the agent itself, when it changes (an unarchive
        // or an unpublish precedes what depends on it).
        let mut changed_by: Option<String> = None;
        let mut unpublishing = false;
        let path = |seg: Seg| under(&ws.seg, vec![Seg::Lit("agents".into()), seg]);
        let (target, live_agent) = match live {
            None => {
                if publish && spec.variations.as_ref().is_none_or(Vec::is_empty) {
                    self.errors.push(format!(
                        "{address} ({}) is to be published but declares no variations: a new agent has none, and Cadenya publishes only agents with one",
                        spec.source
                    ));
                    return;
                }
                let mut c = self.change(&address, "agent", Action::Create, None);
                let body = create_body(
                    &tables::AGENT,
                    &spec.values,
                    "name",
                    &spec.id,
                    ws.owner(),
                    &mut c,
                );
                c.depends_on = ws.deps();
                let w = create_write(
                    What::Agent,
                    under(&ws.seg, lits(&["agents"])),
                    body,
                    &key,
                    &spec.id,
                );
                if publish {
                    c.notes.push(
                        "created as a draft (Cadenya creates every agent so), published once its variations exist"
                            .into(),
                    );
                    publish_later = true;
                }
                self.push(c, vec![Op::Write(w)]);
                (Target::new(key, &address), None)
            }
            Some(live) => {
                let Some(adopt) = self.check_owner(ws, live, &address) else {
                    return;
                };
                let mut c = self.change(&address, "agent", Action::Update, None);
                c.label = Some(lit(live.id()));
                let mut p = Patch::default();
                let found = table_diff(&tables::AGENT, &spec.values, live, &mut c, &mut p);
                let here = path(Seg::Id(live.id().into()));
                let mut ops = Vec::new();
                let archived = live.state() == "STATE_ARCHIVED";
                if archived {
                    // `:unarchive` leads to a draft (the loader's transitions).
                    ops.push(action(What::Agent, Verb::Unarchive, here.clone()));
                    c.notes
                        .push("archived live: unarchived first (it becomes a draft)".into());
                    if !found.changed.contains(&"status") {
                        c.fields
                            .push(FieldChange::new("status", lit("archived"), lit("draft")));
                    }
                }
                if found.changed.contains(&"status") {
                    if publish {
                        // Shown on the publication, after any variation this plan creates.
                        c.fields.retain(|f| f.name != "status");
                        publish_later = true;
                    } else if !archived {
                        unpublishing = true;
                    }
                }
                ops.extend(Self::update_op(
                    ws,
                    live,
                    adopt,
                    p,
                    What::Agent,
                    here.clone(),
                    &mut c,
                ));
                if unpublishing {
                    ops.push(action(What::Agent, Verb::Unpublish, here));
                }
                if !ops.is_empty() {
                    changed_by = Some(address.clone());
                    self.push(c, ops);
                }
                (Target::live(live.id()), Some(live))
            }
        };
        let created_variations = match &spec.variations {
            Some(vars) => {
                let unpublished_by = unpublishing.then(|| address.clone());
                self.variations(
                    ws,
                    spec,
                    &address,
                    &target,
                    live_agent,
                    vars,
                    unpublished_by,
                )
            }
            None => Vec::new(),
        };
        if let Some(scheds) = &spec.schedules {
            self.schedules(ws, spec, &address, &target, live_agent, scheds);
        }
        if publish_later {
            let a = format!("{address}.publish");
            let mut c = self.change(&a, "publication", Action::Update, Some(&address));
            let before = live_agent
                .map(|l| short(l.state()))
                .filter(|s| s != "archived")
                .unwrap_or_else(|| "draft".into());
            c.fields
                .push(FieldChange::new("status", lit(&before), lit("published")));
            c.reason = Some("published once its variations exist".into());
            c.depends_on = created_variations;
            c.depends_on.extend(target.created_by.clone());
            c.depends_on.extend(changed_by);
            self.push(
                c,
                vec![action(What::Agent, Verb::Publish, path(target.seg.clone()))],
            );
        }
    }
}

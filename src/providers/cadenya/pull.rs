//! `twinform pull` for Cadenya: every managed field that drifted live,
//! written back into the manifests by the tables (`resource::pull`):
//! workspaces, agents with their variations and schedules, tool sets with
//! their tools, memory layers with their entries, secrets' names. Matching
//! follows the diff: by externalId. Structure (assignment sets, memory
//! stacks, schedule rules, adapters) and write-only values are not pulled.
//! With `--agent`, only those agents are written back.

use super::diff::workspace_address;
use super::diff::{agent_address, child, layer_address, secret_address, tool_set_address};
use super::model::Desired;
use super::read::{by_ext_in, Live, Space};
use super::tables;
use super::wire::Resource;
use crate::engine::manifest::edit::Origin;
use crate::engine::provider::{ExportFilter, Pulled};
use crate::engine::resource::{self, Table, Values};

struct Puller<'a> {
    out: Vec<Pulled>,
    origin: &'a Origin,
}

impl Puller<'_> {
    fn missing(&mut self, address: String) {
        self.out.push(Pulled::Leave {
            address,
            why: "does not exist live (apply creates it)".into(),
        });
    }

    fn fields(&mut self, table: &Table, values: &Values, live: &Resource, address: &str) {
        self.out.extend(resource::pull(
            table,
            values,
            &live.json(),
            self.origin,
            address,
        ));
    }
}

pub fn pull(desired: &Desired, live: &Live, filter: &ExportFilter) -> Vec<Pulled> {
    let mut out = Vec::new();
    let in_scope =
        |ws: &str| filter.workspaces.is_empty() || filter.workspaces.iter().any(|w| w == ws);
    let everything = filter.agents.is_empty();
    for w in desired
        .workspaces
        .iter()
        .filter(|w| everything && in_scope(&w.id))
    {
        let mut p = Puller {
            out: Vec::new(),
            origin: &w.origin,
        };
        match live.spaces.get(&w.id) {
            Some(s) => p.fields(
                &tables::WORKSPACE,
                &w.values,
                &s.workspace,
                &workspace_address(&w.id),
            ),
            None => p.missing(workspace_address(&w.id)),
        }
        out.extend(p.out);
    }
    for a in &desired.agents {
        let named = everything || filter.agents.contains(&a.id);
        if !named || !in_scope(&a.workspace) {
            continue;
        }
        let mut p = Puller {
            out: Vec::new(),
            origin: &a.origin,
        };
        agent(&mut p, a, live.spaces.get(&a.workspace));
        out.extend(p.out);
    }
    if !everything {
        return out;
    }
    for t in desired.tool_sets.iter().filter(|t| in_scope(&t.workspace)) {
        let mut p = Puller {
            out: Vec::new(),
            origin: &t.origin,
        };
        let address = tool_set_address(&t.workspace, &t.id);
        let space = live.spaces.get(&t.workspace);
        let found = space
            .and_then(|s| s.tool_sets.as_deref())
            .and_then(|all| by_ext_in(all, &t.id));
        match (space, found) {
            (Some(s), Some(l)) => {
                p.fields(&tables::TOOL_SET, &t.values, l, &address);
                let tools = s.tools.get(l.id()).map(Vec::as_slice).unwrap_or_default();
                for tool in t.tools.iter().flatten() {
                    let a = child(&address, "tool", &tool.id);
                    match by_ext_in(tools, &tool.id) {
                        Some(lt) => p.fields(&tables::TOOL, &tool.values, lt, &a),
                        None => p.missing(a),
                    }
                }
            }
            _ => p.missing(address),
        }
        out.extend(p.out);
    }
    for l in desired.layers.iter().filter(|l| in_scope(&l.workspace)) {
        let mut p = Puller {
            out: Vec::new(),
            origin: &l.origin,
        };
        let address = layer_address(&l.workspace, &l.id);
        let space = live.spaces.get(&l.workspace);
        let found = space
            .and_then(|s| s.layers.as_deref())
            .and_then(|all| by_ext_in(all, &l.id));
        match (space, found) {
            (Some(s), Some(ll)) => {
                p.fields(&tables::LAYER, &l.values, ll, &address);
                let entries = s
                    .entries
                    .get(ll.id())
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                for e in l.entries.iter().flatten() {
                    let a = child(&address, "entry", &e.id);
                    match by_ext_in(entries, &e.id) {
                        Some(le) => p.fields(&tables::ENTRY, &super::diff::entry_values(e), le, &a),
                        None => p.missing(a),
                    }
                }
            }
            _ => p.missing(address),
        }
        out.extend(p.out);
    }
    for s in desired.secrets.iter().filter(|s| in_scope(&s.workspace)) {
        let mut p = Puller {
            out: Vec::new(),
            origin: &s.origin,
        };
        let address = secret_address(&s.workspace, &s.id);
        let found = live
            .spaces
            .get(&s.workspace)
            .and_then(|sp| sp.secrets.as_deref())
            .and_then(|all| by_ext_in(all, &s.id));
        match found {
            Some(ls) => {
                let values = s
                    .values
                    .clone()
                    .with_default("name", serde_json::json!(s.name));
                p.fields(&tables::SECRET, &values, ls, &address);
            }
            None => p.missing(address),
        }
        out.extend(p.out);
    }
    out
}

fn agent(p: &mut Puller, a: &super::model::AgentSpec, space: Option<&Space>) {
    let address = agent_address(&a.workspace, &a.id);
    let agents = space.and_then(|s| s.agents.as_deref()).unwrap_or_default();
    let (Some(space), Some(la)) = (space, by_ext_in(agents, &a.id)) else {
        return p.missing(address);
    };
    p.fields(&tables::AGENT, &a.values, la, &address);
    let live_vars = space
        .variations
        .get(la.id())
        .map(Vec::as_slice)
        .unwrap_or_default();
    for v in a.variations.iter().flatten() {
        let va = child(&address, "variation", &v.id);
        match by_ext_in(live_vars, &v.id) {
            Some(lv) => p.fields(&tables::VARIATION, &v.values, lv, &va),
            None => p.missing(va),
        }
    }
    let live_s = space
        .schedules
        .get(la.id())
        .map(Vec::as_slice)
        .unwrap_or_default();
    for s in a.schedules.iter().flatten() {
        let sa = child(&address, "schedule", &s.id);
        match by_ext_in(live_s, &s.id) {
            Some(ls) => p.fields(&tables::SCHEDULE, &s.values, ls, &sa),
            None => p.missing(sa),
        }
    }
}

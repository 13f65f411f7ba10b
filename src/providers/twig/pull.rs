//! `twinform pull` for Twig: agents' drifted values written back into the
//! manifests (data sources and users have no update endpoint: their live
//! values are not pulled). Matching follows the diff: pinned id, else name.

use super::diff::agent_address;
use super::model::{AgentSpec, Desired};
use super::read::Live;
use super::tables;
use crate::engine::manifest::edit::{key, NewValue, Request};
use crate::engine::provider::{ExportFilter, Pulled};
use crate::engine::resource;

pub fn pull(desired: &Desired, live: &Live, filter: &ExportFilter) -> Vec<Pulled> {
    let mut out = Vec::new();
    for a in &desired.agents {
        let named = filter.agents.is_empty()
            || filter
                .agents
                .iter()
                .any(|f| *f == a.name || a.id.as_ref() == Some(f));
        if named {
            agent(a, live, &mut out);
        }
    }
    out
}

fn agent(a: &AgentSpec, live: &Live, out: &mut Vec<Pulled>) {
    let address = agent_address(&a.name);
    let found: Vec<_> = live
        .agents
        .iter()
        .filter(|l| match &a.id {
            Some(id) => &l.id == id,
            None => l.name == a.name,
        })
        .collect();
    let leave = |why: &str| Pulled::Leave {
        address: address.clone(),
        why: why.into(),
    };
    let l = match found.as_slice() {
        [one] => *one,
        [] => return out.push(leave("does not exist live (apply creates it)")),
        _ => {
            return out.push(leave(
                "several live agents have this name; pin one with `id:`",
            ))
        }
    };
    let mut write = |field: &str, value: NewValue| {
        out.push(Pulled::Write(Request {
            origin: a.origin.clone(),
            path: vec![key(field)],
            value,
            address: address.clone(),
            field: field.into(),
        }));
    };
    if a.id.is_some() && l.name != a.name {
        write("name", NewValue::Text(l.name.clone()));
    }
    if let (Some(wanted), Some(sources)) = (&a.data_sources, &live.data_sources) {
        // Declared by name or id; written back by name where the name is
        // unambiguous, else by id.
        let name_of = |id: &str| {
            let named: Vec<_> = sources.iter().filter(|d| d.id == id).collect();
            match named.as_slice() {
                [d] if sources.iter().filter(|x| x.name == d.name).count() == 1 => d.name.clone(),
                _ => id.to_string(),
            }
        };
        let id_of = |r: &str| {
            sources
                .iter()
                .find(|d| d.id == r || d.name == r)
                .map_or_else(|| r.to_string(), |d| d.id.clone())
        };
        let mut want: Vec<String> = wanted.iter().map(|r| id_of(r)).collect();
        let mut have = l.data_source_ids.clone();
        want.sort();
        have.sort();
        if want != have {
            write(
                "data_sources",
                NewValue::List(l.data_source_ids.iter().map(|i| name_of(i)).collect()),
            );
        }
    }
    // Every field the table describes, from one declaration.
    let live_json = serde_json::to_value(l).unwrap_or_default();
    out.extend(resource::pull(
        &tables::AGENT,
        &a.values,
        &live_json,
        &a.origin,
        &address,
    ));
}

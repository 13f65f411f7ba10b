//! `twinform pull` for Twig: drifted values written back into the
//! manifests, every field by its table. Data sources and users have no
//! update endpoint, so pulling is the one way to make a manifest agree with
//! a change made in Twig. Matching follows the diff: pinned id, else name
//! (email for users).

use super::diff::{
    agent_address, agent_json, data_source_address, data_source_json, user_address, user_json,
};
use super::model::{AgentSpec, DataSourceSpec, Desired, UserSpec};
use super::read::Live;
use super::tables;
use super::wire::{Agent, DataSource};
use crate::engine::manifest::edit::{key, NewValue, Request};
use crate::engine::provider::{ExportFilter, Pulled};
use crate::engine::resource;

pub fn pull(desired: &Desired, live: &Live, filter: &ExportFilter) -> Vec<Pulled> {
    let mut out = Vec::new();
    // `--agent` narrows to agents.
    if filter.agents.is_empty() {
        for d in &desired.data_sources {
            data_source(d, live, &mut out);
        }
        for u in &desired.users {
            user(u, live, &mut out);
        }
    }
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
    let Some(l) = one_live(
        &live.agents,
        |l: &Agent| (&l.id, &l.name),
        a.id.as_deref(),
        &a.name,
        "agents",
        &address,
        out,
    ) else {
        return;
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
        // A name written as a manifest reads it back (`${var.` escaped);
        // a name holding another `${` is left as it is.
        if let Some(name) = crate::engine::resource::identity_text(&l.name) {
            write("name", NewValue::Text(name));
        }
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
    out.extend(resource::pull(
        &tables::AGENT,
        &a.values,
        &agent_json(l),
        &a.origin,
        &address,
    ));
}

/// The one live object a document manages: by its pinned `id`, else by
/// `name`; none or several is said (left for a person) and `None`.
fn one_live<'a, T>(
    items: &'a [T],
    pick: fn(&T) -> (&str, &str),
    id: Option<&str>,
    name: &str,
    what: &str,
    address: &str,
    out: &mut Vec<Pulled>,
) -> Option<&'a T> {
    let found: Vec<&T> = items
        .iter()
        .filter(|l| {
            let (live_id, live_name) = pick(l);
            match id {
                Some(id) => live_id == id,
                None => live_name == name,
            }
        })
        .collect();
    let why = match found.as_slice() {
        [one] => return Some(one),
        [] => "does not exist live (apply creates it)".to_string(),
        _ => format!("several live {what} have this name; pin one with `id:`"),
    };
    out.push(Pulled::Leave {
        address: address.to_string(),
        why,
    });
    None
}

fn data_source(d: &DataSourceSpec, live: &Live, out: &mut Vec<Pulled>) {
    let address = data_source_address(&d.name);
    let Some(sources) = &live.data_sources else {
        return;
    };
    let Some(l) = one_live(
        sources,
        |l: &DataSource| (&l.id, &l.name),
        d.id.as_deref(),
        &d.name,
        "data sources",
        &address,
        out,
    ) else {
        return;
    };
    let name = crate::engine::resource::identity_text(&l.name);
    if let (true, Some(name)) = (d.id.is_some() && l.name != d.name, name) {
        out.push(Pulled::Write(Request {
            origin: d.origin.clone(),
            path: vec![key("name")],
            value: NewValue::Text(name),
            address: address.clone(),
            field: "name".into(),
        }));
    }
    out.extend(resource::pull(
        &tables::DATA_SOURCE,
        &d.values,
        &data_source_json(l),
        &d.origin,
        &address,
    ));
}

fn user(u: &UserSpec, live: &Live, out: &mut Vec<Pulled>) {
    let address = user_address(&u.email);
    let Some(users) = &live.users else {
        return;
    };
    let Some(l) = users
        .iter()
        .find(|l| l.email.eq_ignore_ascii_case(&u.email))
    else {
        return out.push(Pulled::Leave {
            address,
            why: "does not exist live (apply invites them)".into(),
        });
    };
    out.extend(resource::pull(
        &tables::USER,
        &u.values,
        &user_json(l),
        &u.origin,
        &address,
    ));
}

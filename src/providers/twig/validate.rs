//! Twig's rules for its documents, producing the [`Desired`] model.

use std::collections::HashMap;

use serde_saphyr::{Location, Spanned};

use super::model::{AgentSpec, DataSourceSpec, Desired, UserSpec};
use super::tables;
use crate::engine::manifest::{Document, LoadContext};
use crate::engine::resource::{self, Values};

/// Parse and check every Twig document.
pub fn load(docs: &[Document], ctx: &mut LoadContext) -> Desired {
    let mut desired = Desired::default();
    let mut sources: Vec<(&Document, Values)> = Vec::new();
    let mut agents: Vec<(&Document, Values)> = Vec::new();
    let mut users: Vec<(&Document, Values)> = Vec::new();
    let mut orgs: Vec<(&Document, Values)> = Vec::new();
    for d in docs {
        let (table, into) = match d.kind.value.as_str() {
            "TwigDataSource" => (&tables::DATA_SOURCE, &mut sources),
            "TwigAgent" => (&tables::AGENT, &mut agents),
            "TwigUser" => (&tables::USER, &mut users),
            _ => (&tables::ORGANIZATION, &mut orgs),
        };
        into.extend(resource::read(ctx, d, &d.node.clone(), table, Vec::new()).map(|x| (d, x)));
    }
    if let [(first_doc, first), rest @ ..] = orgs.as_slice() {
        desired.prune = first.bool("prune").unwrap_or(false);
        let first_at = ctx.files[first_doc.file].name.clone();
        for (d, _) in rest {
            ctx.document_error(d, "only one TwigOrganization document is allowed")
                .set_help(format!("the first is in {first_at}"));
        }
    }
    desired.data_sources = sources
        .iter()
        .filter_map(|(d, s)| data_source(ctx, d, s))
        .collect();
    let names = spanned(docs, "TwigDataSource", &sources, "name");
    duplicates(ctx, names.iter().map(|(d, n)| (*d, n)), "data source");
    let known: Vec<&str> = sources.iter().filter_map(|(_, s)| s.str("name")).collect();
    desired.agents = agents
        .iter()
        .filter_map(|(d, a)| agent(ctx, d, a, &known))
        .collect();
    let names = spanned(docs, "TwigAgent", &agents, "name");
    duplicates(ctx, names.iter().map(|(d, n)| (*d, n)), "agent");
    desired.users = users.iter().filter_map(|(d, u)| user(ctx, d, u)).collect();
    let emails = spanned(docs, "TwigUser", &users, "email");
    duplicates(ctx, emails.iter().map(|(d, n)| (*d, n)), "user");
    desired
}

/// Each `kind` document's `key` (a plain string), where it was written:
/// as read, or as written when the document could not be read (it still
/// declares its name, so a duplicate is reported in the same pass as its
/// other problems).
fn spanned<'d>(
    docs: &'d [Document],
    kind: &str,
    read: &[(&'d Document, Values)],
    key: &str,
) -> Vec<(&'d Document, Spanned<String>)> {
    docs.iter()
        .filter(|d| d.kind.value == kind)
        .filter_map(|d| match read.iter().find(|(r, _)| std::ptr::eq(*r, d)) {
            Some((_, v)) => {
                let got = v.get(key)?;
                Some((d, Spanned::new(v.str(key)?.to_string(), got.at, got.at)))
            }
            None => Some((d, d.top_str(key)?)),
        })
        .collect()
}

/// Report a name declared twice.
fn duplicates<'a>(
    ctx: &mut LoadContext,
    names: impl Iterator<Item = (&'a Document, &'a Spanned<String>)>,
    what: &str,
) {
    let mut seen: HashMap<String, (&Document, Location)> = HashMap::new();
    for (d, n) in names {
        let key = n.value.to_lowercase();
        if let Some((fd, floc)) = seen.get(&key) {
            let first = ctx.location(fd, floc);
            ctx.error(
                d,
                &n.referenced,
                format!("{what} `{}` is declared twice", n.value),
            )
            .set_help(format!("first declared at {first}"));
        } else {
            seen.insert(key, (d, n.referenced));
        }
    }
}

fn data_source(ctx: &mut LoadContext, d: &Document, s: &Values) -> Option<DataSourceSpec> {
    let name = s.str("name")?.to_string();
    if name.trim().is_empty() {
        let at = s.get("name").map(|g| g.at)?;
        ctx.error(d, &at, "the name is empty");
        return None;
    }
    Some(DataSourceSpec {
        name,
        id: s.str("id").map(str::to_string),
        values: s.clone(),
        sync_on_create: s.bool("sync_on_create").unwrap_or(true),
        origin: ctx.origin(d),
    })
}

fn agent(
    ctx: &mut LoadContext,
    d: &Document,
    a: &Values,
    known_sources: &[&str],
) -> Option<AgentSpec> {
    let mut ok = true;
    let name = a.str("name").unwrap_or_default().to_string();
    let name_at = a.get("name").map(|g| g.at)?;
    if name.trim().is_empty() {
        ctx.error(d, &name_at, "the name is empty");
        ok = false;
    }
    let data_sources = a.get("data_sources").and_then(|got| {
        let list = got.val_json()?.as_array()?.clone();
        let mut seen: Vec<String> = Vec::new();
        for s in list.iter().filter_map(|v| v.as_str()) {
            if seen.iter().any(|x| x == s) {
                ctx.error(d, &got.at, format!("data source `{s}` is listed twice"));
                ok = false;
            }
            // Undeclared names may exist live: the plan checks them.
            if !known_sources.contains(&s) && !s.starts_with("ds_") {
                ctx.warning(
                    d,
                    &got.at,
                    format!("data source `{s}` is not declared in any manifest"),
                )
                .set_help("fine if it exists live; plan fails if it does not");
            }
            seen.push(s.to_string());
        }
        Some(seen)
    });
    let source = ctx.source(d, &name_at);
    ok.then(|| AgentSpec {
        name,
        id: a.str("id").map(str::to_string),
        values: a.clone(),
        data_sources,
        source,
        origin: ctx.origin(d),
    })
}

fn user(ctx: &mut LoadContext, d: &Document, u: &Values) -> Option<UserSpec> {
    let got = u.get("email")?;
    let email = u.str("email")?.trim();
    let valid = email.split_once('@').is_some_and(|(local, host)| {
        !local.is_empty() && host.contains('.') && !email.contains(char::is_whitespace)
    });
    if !valid {
        ctx.error(d, &got.at, format!("`{email}` is not an email address"));
        return None;
    }
    Some(UserSpec {
        email: email.to_lowercase(),
        values: u.clone(),
        origin: ctx.origin(d),
    })
}

//! Twig's rules for its documents, producing the [`Desired`] model.

use std::collections::{BTreeMap, HashMap};

use serde_saphyr::{Location, Spanned};

use super::manifest::{
    DataSourceDoc, OrganizationDoc, UserDoc, ROLES, SOURCE_TYPES, SYNC_FREQUENCIES,
};
use super::model::{AgentSpec, ConfigValue, DataSourceSpec, Desired, UserSpec};
use super::tables;
use crate::engine::manifest::diagnostic::did_you_mean;
use crate::engine::manifest::{Document, LoadContext};
use crate::engine::resource::{self, Values};

/// Parse and check every Twig document.
pub fn load(docs: &[Document], ctx: &mut LoadContext) -> Desired {
    let mut desired = Desired::default();
    let mut sources: Vec<(&Document, DataSourceDoc)> = Vec::new();
    let mut agents: Vec<(&Document, Values)> = Vec::new();
    let mut users: Vec<(&Document, UserDoc)> = Vec::new();
    let mut orgs: Vec<(&Document, OrganizationDoc)> = Vec::new();
    for d in docs {
        match d.kind.value.as_str() {
            "TwigDataSource" => sources.extend(ctx.parse(d).map(|x| (d, x))),
            "TwigAgent" => agents.extend(
                resource::read(ctx, d, &d.node.clone(), &tables::AGENT, Vec::new()).map(|x| (d, x)),
            ),
            "TwigUser" => users.extend(ctx.parse(d).map(|x| (d, x))),
            _ => orgs.extend(ctx.parse(d).map(|x| (d, x))),
        }
    }
    if let [(first_doc, first), rest @ ..] = orgs.as_slice() {
        desired.prune = first.prune;
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
    duplicates(
        ctx,
        sources.iter().map(|(d, s)| (*d, &s.name)),
        "data source",
    );
    let known: Vec<&str> = sources.iter().map(|(_, s)| s.name.value.as_str()).collect();
    desired.agents = agents
        .iter()
        .filter_map(|(d, a)| agent(ctx, d, a, &known))
        .collect();
    let names: Vec<(&Document, Spanned<String>)> = agents
        .iter()
        .filter_map(|(d, a)| {
            let got = a.get("name")?;
            Some((*d, Spanned::new(a.str("name")?.to_string(), got.at, got.at)))
        })
        .collect();
    duplicates(ctx, names.iter().map(|(d, n)| (*d, n)), "agent");
    desired.users = users.iter().filter_map(|(d, u)| user(ctx, d, u)).collect();
    duplicates(ctx, users.iter().map(|(d, u)| (*d, &u.email)), "user");
    desired
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

/// `value` must be one of `allowed`; records a problem otherwise.
fn one_of(
    ctx: &mut LoadContext,
    d: &Document,
    value: &Spanned<String>,
    allowed: &[&str],
    what: &str,
) -> bool {
    if allowed.contains(&value.value.as_str()) {
        return true;
    }
    let help = match did_you_mean(&value.value, allowed) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("{what} is one of {}", allowed.join(", ")),
    };
    ctx.error(
        d,
        &value.referenced,
        format!("unknown {what} `{}`", value.value),
    )
    .set_help(help);
    false
}

fn data_source(ctx: &mut LoadContext, d: &Document, s: &DataSourceDoc) -> Option<DataSourceSpec> {
    let mut ok = one_of(ctx, d, &s.source_type, SOURCE_TYPES, "data source type");
    if let Some(f) = &s.sync_frequency {
        ok &= one_of(ctx, d, f, SYNC_FREQUENCIES, "sync frequency");
    }
    let config = match &s.config {
        Some(map) => {
            let mut out = BTreeMap::new();
            for (k, spanned_value) in &map.value {
                let v = &spanned_value.value;
                let value = match v {
                    serde_json::Value::String(text) => {
                        let spanned = Spanned::new(
                            text.clone(),
                            spanned_value.referenced,
                            spanned_value.defined,
                        );
                        match ctx.text(d, &spanned) {
                            Some(t) => ConfigValue::Text(t),
                            None => {
                                ok = false;
                                continue;
                            }
                        }
                    }
                    other if has_interpolation(other) => {
                        ctx.error(
                            d,
                            &spanned_value.referenced,
                            format!("config `{k}`: `${{…}}` works only in top-level config values"),
                        )
                        .set_help("move the value to a top-level key of `config`");
                        ok = false;
                        continue;
                    }
                    other => ConfigValue::Json(other.clone()),
                };
                out.insert(k.clone(), value);
            }
            Some(out)
        }
        None => None,
    };
    if s.name.value.trim().is_empty() {
        ctx.error(d, &s.name.referenced, "the name is empty");
        ok = false;
    }
    ok.then(|| DataSourceSpec {
        name: s.name.value.clone(),
        id: s.id.as_ref().map(|i| i.value.clone()),
        source_type: s.source_type.value.clone(),
        config,
        sync_frequency: s.sync_frequency.as_ref().map(|f| f.value.clone()),
        sync_on_create: s.sync_on_create.unwrap_or(true),
    })
}

/// Whether a string nested in `v` asks for interpolation.
fn has_interpolation(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains("${"),
        serde_json::Value::Array(a) => a.iter().any(has_interpolation),
        serde_json::Value::Object(m) => m.values().any(has_interpolation),
        _ => false,
    }
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

fn user(ctx: &mut LoadContext, d: &Document, u: &UserDoc) -> Option<UserSpec> {
    let mut ok = one_of(ctx, d, &u.role, ROLES, "role");
    let email = u.email.value.trim();
    let valid = email.split_once('@').is_some_and(|(local, host)| {
        !local.is_empty() && host.contains('.') && !email.contains(char::is_whitespace)
    });
    if !valid {
        ctx.error(
            d,
            &u.email.referenced,
            format!("`{email}` is not an email address"),
        );
        ok = false;
    }
    ok.then(|| UserSpec {
        email: email.to_lowercase(),
        name: u.name.value.clone(),
        role: u.role.value.clone(),
    })
}

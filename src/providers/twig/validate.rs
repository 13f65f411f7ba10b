//! Twig's rules for its documents, producing the [`Desired`] model.

use std::collections::{BTreeMap, HashMap};

use serde_saphyr::{Location, Spanned};

use super::manifest::{
    AgentDoc, DataSourceDoc, OrganizationDoc, UserDoc, RAG_STRATEGIES, ROLES, SOURCE_TYPES,
    SYNC_FREQUENCIES,
};
use super::model::{AgentSpec, ConfigValue, DataSourceSpec, Desired, UserSpec};
use crate::engine::manifest::diagnostic::did_you_mean;
use crate::engine::manifest::{Document, LoadContext};

/// Parse and check every Twig document.
pub fn load(docs: &[Document], ctx: &mut LoadContext) -> Desired {
    let mut desired = Desired::default();
    let mut sources: Vec<(&Document, DataSourceDoc)> = Vec::new();
    let mut agents: Vec<(&Document, AgentDoc)> = Vec::new();
    let mut users: Vec<(&Document, UserDoc)> = Vec::new();
    let mut orgs: Vec<(&Document, OrganizationDoc)> = Vec::new();
    for d in docs {
        match d.kind.value.as_str() {
            "TwigDataSource" => sources.extend(ctx.parse(d).map(|x| (d, x))),
            "TwigAgent" => agents.extend(ctx.parse(d).map(|x| (d, x))),
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
    duplicates(ctx, agents.iter().map(|(d, a)| (*d, &a.name)), "agent");
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
    a: &AgentDoc,
    known_sources: &[&str],
) -> Option<AgentSpec> {
    let mut ok = true;
    if a.name.value.trim().is_empty() {
        ctx.error(d, &a.name.referenced, "the name is empty");
        ok = false;
    }
    if let Some(r) = &a.rag_strategy {
        ok &= one_of(ctx, d, r, RAG_STRATEGIES, "RAG strategy");
    }
    if let Some(t) = &a.temperature {
        if !(0.0..=2.0).contains(&t.value) {
            ctx.error(
                d,
                &t.referenced,
                format!("temperature {} is outside 0 to 2", t.value),
            );
            ok = false;
        }
    }
    if let Some(m) = &a.max_tokens {
        if m.value == 0 {
            ctx.error(d, &m.referenced, "max_tokens must be at least 1");
            ok = false;
        }
    }
    let system_prompt = match &a.system_prompt {
        Some(sp) => {
            let t = ctx.text_source(d, &sp.referenced, &sp.value, "system prompt file");
            ok &= t.is_some();
            t
        }
        None => None,
    };
    let data_sources = a.data_sources.as_ref().map(|list| {
        let mut seen = Vec::new();
        for s in &list.value {
            if seen.contains(&s.value) {
                ctx.error(
                    d,
                    &s.referenced,
                    format!("data source `{}` is listed twice", s.value),
                );
                ok = false;
            }
            // Undeclared names may exist live: the plan checks them.
            if !known_sources.contains(&s.value.as_str()) && !s.value.starts_with("ds_") {
                ctx.warning(
                    d,
                    &s.referenced,
                    format!("data source `{}` is not declared in any manifest", s.value),
                )
                .set_help("fine if it exists live; plan fails if it does not");
            }
            seen.push(s.value.clone());
        }
        seen
    });
    let source = ctx.source(d, &a.name.referenced);
    ok.then(|| AgentSpec {
        name: a.name.value.clone(),
        id: a.id.as_ref().map(|i| i.value.clone()),
        system_prompt,
        model: a.model.as_ref().map(|m| m.value.clone()),
        rag_strategy: a.rag_strategy.as_ref().map(|r| r.value.clone()),
        temperature: a.temperature.as_ref().map(|t| t.value),
        max_tokens: a.max_tokens.as_ref().map(|m| m.value),
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

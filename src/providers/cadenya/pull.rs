//! `twinform pull` for Cadenya: agents' drifted values (name, description,
//! and each variation's name, description, model, temperature, weight and
//! prompt; each schedule's message and paused state) written back into the
//! manifests. Matching follows the diff: by the `twinform` externalId.

use serde_json::Value;

use super::diff::agent_address;
use super::model::{AgentSpec, Desired};
use super::read::{by_ext_in, Live};
use super::wire::{self, Resource};
use crate::engine::manifest::edit::{key, NewValue, Request, Seg};
use crate::engine::manifest::Text;
use crate::engine::plan::textdiff::same_text;
use crate::engine::provider::{ExportFilter, Pulled};

pub fn pull(desired: &Desired, live: &Live, filter: &ExportFilter) -> Vec<Pulled> {
    let mut out = Vec::new();
    for a in &desired.agents {
        let wanted = (filter.workspaces.is_empty() || filter.workspaces.contains(&a.workspace))
            && (filter.agents.is_empty() || filter.agents.contains(&a.id));
        if wanted {
            agent(a, live, &mut out);
        }
    }
    out
}

/// Writes for one document, under a path prefix.
struct Writer<'a> {
    a: &'a AgentSpec,
    address: String,
    prefix: Vec<Seg>,
    out: &'a mut Vec<Pulled>,
}

impl Writer<'_> {
    fn write(&mut self, field: &str, value: NewValue) {
        let mut path = self.prefix.clone();
        path.push(key(field));
        self.out.push(Pulled::Write(Request {
            origin: self.a.origin.clone(),
            path,
            value,
            address: self.address.clone(),
            field: field.into(),
        }));
    }

    fn leave(&mut self, why: impl Into<String>) {
        self.out.push(Pulled::Leave {
            address: self.address.clone(),
            why: why.into(),
        });
    }

    /// A text field: written back unless it is interpolated.
    fn text(&mut self, field: &str, want: &Text, have: Option<&str>) {
        let Some(have) = have else { return };
        if same_text(have, want.expose()) {
            return;
        }
        if want.is_sensitive() {
            self.leave(format!(
                "{field} drifted, but it is interpolated from the environment; change it by hand"
            ));
        } else {
            self.write(field, NewValue::Text(have.to_string()));
        }
    }

    /// Name and description, which every resource here has.
    fn named(&mut self, name: Option<&String>, description: Option<&String>, live: &Resource) {
        if name.is_some_and(|n| *n != live.metadata.name) {
            self.write("name", NewValue::Text(live.metadata.name.clone()));
        }
        let have = live.spec_str("/description");
        if let (Some(want), Some(have)) = (description, have) {
            if want != have {
                self.write("description", NewValue::Text(have.to_string()));
            }
        }
    }
}

fn agent(a: &AgentSpec, live: &Live, out: &mut Vec<Pulled>) {
    let address = agent_address(&a.workspace, &a.id);
    let space = live.spaces.get(&a.workspace);
    let agents = space.and_then(|s| s.agents.as_deref()).unwrap_or_default();
    let Some(la) = by_ext_in(agents, &a.id) else {
        out.push(Pulled::Leave {
            address,
            why: "does not exist live (apply creates it)".into(),
        });
        return;
    };
    let mut w = Writer {
        a,
        address: address.clone(),
        prefix: Vec::new(),
        out,
    };
    w.named(a.name.as_ref(), a.description.as_ref(), la);
    let Some(space) = space else { return };
    if let Some(vars) = &a.variations {
        let live_vars = space
            .variations
            .get(la.id())
            .map(Vec::as_slice)
            .unwrap_or_default();
        for v in vars {
            let mut w = Writer {
                a,
                address: format!("{address}.variation[{}]", crate::engine::plan::quote(&v.id)),
                prefix: vec![key("variations"), key(&v.id)],
                out: &mut *w.out,
            };
            let Some(lv) = by_ext_in(live_vars, &v.id) else {
                w.leave("does not exist live (apply creates it)");
                continue;
            };
            w.named(v.name.as_ref(), v.description.as_ref(), lv);
            let have_model = lv.spec_str("/modelConfig/modelId");
            if let (Some(m), Some(h)) = (&v.model, have_model) {
                if m != h {
                    w.write("model", NewValue::Text(h.to_string()));
                }
            }
            let have_temp = lv.spec("/modelConfig/temperature").and_then(Value::as_f64);
            if let (Some(t), Some(h)) = (v.temperature, have_temp) {
                if (t - h).abs() > 1e-9 {
                    w.write("temperature", NewValue::Number(h.to_string()));
                }
            }
            let have_weight = lv.spec("/weight").and_then(Value::as_u64);
            if let (Some(want), Some(h)) = (v.weight, have_weight) {
                if want != h {
                    w.write("weight", NewValue::Number(h.to_string()));
                }
            }
            if let Some(p) = &v.prompt {
                w.text("prompt", p, lv.spec_str("/prompt"));
            }
        }
    }
    if let Some(scheds) = &a.schedules {
        let live_s = space
            .schedules
            .get(la.id())
            .map(Vec::as_slice)
            .unwrap_or_default();
        for s in scheds {
            let mut w = Writer {
                a,
                address: format!("{address}.schedule[{}]", crate::engine::plan::quote(&s.id)),
                prefix: vec![key("schedules"), key(&s.id)],
                out: &mut *w.out,
            };
            let Some(ls) = by_ext_in(live_s, &s.id) else {
                w.leave("does not exist live (apply creates it)");
                continue;
            };
            w.text("message", &s.message, ls.spec_str("/initialMessage"));
            if let Some(paused) = s.paused {
                let have = ls
                    .spec_str("/status")
                    .is_some_and(|x| wire::short(x, "AGENT_SCHEDULE_STATUS_") == "paused");
                if have != paused {
                    w.write("paused", NewValue::Bool(have));
                }
            }
        }
    }
}

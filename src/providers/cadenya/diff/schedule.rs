//! An agent's schedules: fields by the table; the rule by hand (a cron
//! compiles to calendars, `every` to an interval: `types.py:599`, `:3927`,
//! `:3952`; each of calendars, intervals and the time zone written at its
//! own mask path); the pinned variation (an id this apply may create);
//! pauses by actions (created active, `:pause` right after; `:resume`:
//! `agent_schedules.py:137,151`, `state` output only, `types.py:526`).

use super::*;
use crate::providers::cadenya::cron;
use crate::providers::cadenya::tables;

/// The wire's calendars and intervals of a rule.
fn rule_lists(r: &Rule) -> (Value, Value) {
    match r {
        Rule::Cron { calendars, .. } => (json!(calendars), json!([])),
        Rule::Every { seconds, .. } => (json!([]), json!([{"every": format!("{seconds}s")}])),
    }
}

/// The field a schedule's rule is shown as, and its text: `cron` (the
/// engine adds the next fire times of a `cron` field, in `timezone` too) or
/// `every`.
fn rule_field(r: &Rule) -> (&'static str, &str) {
    match r {
        Rule::Cron { text, .. } => ("cron", text),
        Rule::Every { text, .. } => ("every", text),
    }
}

/// A live rule, said briefly.
fn live_rule_text(v: &Value) -> String {
    if let Some(i) = v
        .get("intervals")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        if let Some(secs) = i.get("every").and_then(cron::wire_seconds) {
            return format!("every {secs}s");
        }
    }
    match v.get("calendars").and_then(Value::as_array) {
        Some(c) if !c.is_empty() => format!("calendars {}", Value::Array(c.clone())),
        _ => "none".into(),
    }
}

fn same_calendars(live: Option<&Value>, want: &Value) -> bool {
    let norm = |v: Option<&Value>| -> Vec<Value> {
        v.and_then(Value::as_array)
            .map(|a| a.iter().map(cron::normalize).collect())
            .unwrap_or_default()
    };
    norm(live) == norm(Some(want))
}

fn same_intervals(live: Option<&Value>, want: &Value) -> bool {
    let secs = |v: Option<&Value>| -> Vec<(Option<f64>, f64)> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|i| {
                        (
                            i.get("every").and_then(cron::wire_seconds),
                            i.get("offset").and_then(cron::wire_seconds).unwrap_or(0.0),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    secs(live) == secs(Some(want))
}

impl Differ<'_> {
    pub(super) fn schedules(
        &mut self,
        ws: &Ws,
        agent: &AgentSpec,
        parent: &str,
        target: &Target,
        live_agent: Option<&Resource>,
        scheds: &[ScheduleSpec],
    ) {
        let live_s: &[Resource] = live_agent
            .and_then(|a| ws.space?.schedules.get(a.id()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let live_vars: &[Resource] = live_agent
            .and_then(|a| ws.space?.variations.get(a.id()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let spath = |rest: Vec<Seg>| {
            let mut p = vec![
                Seg::Lit("agents".into()),
                target.seg.clone(),
                Seg::Lit("schedules".into()),
            ];
            p.extend(rest);
            under(&ws.seg, p)
        };
        for s in scheds {
            let address = child(parent, "schedule", &s.id);
            let (calendars, intervals) = rule_lists(&s.rule);
            let variation = s.variation.as_ref().map(|v| match by_ext_in(live_vars, v) {
                Some(lv) => Target::live(lv.id()),
                None => Target::new(
                    format!("variation:{}/{}/{v}", ws.id(), agent.id),
                    &child(parent, "variation", v),
                ),
            });
            let (field, text) = rule_field(&s.rule);
            match by_ext_in(live_s, &s.id) {
                None => {
                    let mut c = self.change(&address, "schedule", Action::Create, Some(parent));
                    c.fields.push(FieldChange::after(field, lit(text)));
                    c.fields
                        .push(FieldChange::after("timezone", lit(&s.timezone)));
                    let mut body = create_body(
                        &tables::SCHEDULE,
                        &s.values,
                        "name",
                        &s.id,
                        ws.owner(),
                        &mut c,
                    );
                    let mut rule = json!({"timezone": s.timezone});
                    match &s.rule {
                        Rule::Cron { .. } => rule["calendars"] = calendars,
                        Rule::Every { .. } => rule["intervals"] = intervals,
                    }
                    body["spec"]["schedule"] = rule;
                    let key = format!("schedule:{}/{}/{}", ws.id(), agent.id, s.id);
                    let mut w = write(What::Schedule, Verb::Create, "POST", spath(vec![]), None);
                    if let Some(v) = &variation {
                        body["spec"]["variationId"] = json!("");
                        w.fill.push(("/spec/variationId".into(), v.seg.clone()));
                        c.depends_on.extend(v.created_by.clone());
                    }
                    c.depends_on.extend(target.created_by.clone());
                    w.body = Some(body);
                    w.ext = Some(s.id.clone());
                    w.remember = Some(key.clone());
                    let mut ops = vec![Op::Write(w)];
                    if s.paused() {
                        c.notes.push(
                            "created active (Cadenya creates every schedule so), then paused"
                                .into(),
                        );
                        ops.push(action(
                            What::Schedule,
                            Verb::Pause,
                            spath(vec![Seg::New(key)]),
                        ));
                    }
                    self.push(c, ops);
                }
                Some(live) => {
                    if live.state() == "STATE_ARCHIVED" {
                        self.errors.push(format!(
                            "{address} ({}) is archived live, and Cadenya has no way back for a schedule: delete it in Cadenya, or give the schedule a new id",
                            live.id()
                        ));
                        continue;
                    }
                    let mut c = self.change(&address, "schedule", Action::Update, Some(parent));
                    c.label = Some(lit(live.id()));
                    let mut p = Patch::default();
                    let have_rule = live.spec("/schedule").cloned().unwrap_or(Value::Null);
                    let rule_changed = !same_calendars(have_rule.get("calendars"), &calendars)
                        || !same_intervals(have_rule.get("intervals"), &intervals);
                    if !same_calendars(have_rule.get("calendars"), &calendars) {
                        p.set(
                            "spec.schedule.calendars",
                            "spec.schedule.calendars",
                            calendars,
                        );
                    }
                    if !same_intervals(have_rule.get("intervals"), &intervals) {
                        p.set(
                            "spec.schedule.intervals",
                            "spec.schedule.intervals",
                            intervals,
                        );
                    }
                    let have_tz = have_rule
                        .get("timezone")
                        .and_then(Value::as_str)
                        .filter(|t| !t.is_empty())
                        .unwrap_or("UTC");
                    if rule_changed || have_tz != s.timezone {
                        c.fields.push(FieldChange::new(
                            field,
                            lit(&live_rule_text(&have_rule)),
                            lit(text),
                        ));
                    }
                    if have_tz != s.timezone {
                        c.fields
                            .push(FieldChange::new("timezone", lit(have_tz), lit(&s.timezone)));
                        p.set(
                            "spec.schedule.timezone",
                            "spec.schedule.timezone",
                            json!(s.timezone),
                        );
                    }
                    let found = table_diff(&tables::SCHEDULE, &s.values, live, &mut c, &mut p);
                    let mut fill = Vec::new();
                    if let Some(v) = &variation {
                        let have = live.spec_str("/variationId");
                        let same = matches!(&v.seg, Seg::Id(id) if have == Some(id.as_str()));
                        if !same {
                            let name = |id: &str| {
                                live_vars
                                    .iter()
                                    .find(|x| x.id() == id)
                                    .and_then(|x| x.metadata.ext())
                                    .unwrap_or(id)
                                    .to_string()
                            };
                            // The variation it pinned may be deleted once unpinned.
                            if let Some(h) = have.filter(|h| !h.is_empty()) {
                                self.removals
                                    .entry(h.to_string())
                                    .or_default()
                                    .push(address.clone());
                            }
                            c.fields.push(FieldChange::new(
                                "variation",
                                have.map_or_else(Shown::none, |h| lit(&name(h))),
                                lit(s.variation.as_deref().unwrap_or_default()),
                            ));
                            p.set("spec.variationId", "spec.variationId", json!(""));
                            fill.push(("/spec/variationId".to_string(), v.seg.clone()));
                            c.depends_on.extend(v.created_by.clone());
                        }
                    }
                    let here = spath(vec![Seg::Id(live.id().into())]);
                    let mut ops = Vec::new();
                    if !p.is_empty() {
                        let mut w = write(
                            What::Schedule,
                            Verb::Update,
                            "PATCH",
                            here.clone(),
                            Some(patch_body(p, live, None, false)),
                        );
                        w.fill = fill;
                        ops.push(Op::Write(w));
                    }
                    if found.changed.contains(&"paused") {
                        let verb = if s.paused() {
                            Verb::Pause
                        } else {
                            Verb::Resume
                        };
                        ops.push(action(What::Schedule, verb, here));
                    }
                    if !ops.is_empty() {
                        self.push(c, ops);
                    }
                }
            }
        }
        for ls in live_s {
            if ls
                .metadata
                .ext()
                .is_some_and(|e| scheds.iter().any(|s| s.id == e))
            {
                continue;
            }
            let a = child(parent, "schedule", ls.metadata.ext().unwrap_or(ls.id()));
            let mut c = self.change(&a, "schedule", Action::Delete, Some(parent));
            c.label = Some(lit(ls.id()));
            c.fields
                .push(FieldChange::before("name", lit(&ls.metadata.name)).shown_as(Show::Context));
            // A variation it pins can be deleted only once it is gone.
            if let Some(v) = ls.spec_str("/variationId").filter(|v| !v.is_empty()) {
                self.removals
                    .entry(v.to_string())
                    .or_default()
                    .push(a.clone());
            }
            let w = write(
                What::Schedule,
                Verb::Delete,
                "DELETE",
                spath(vec![Seg::Id(ls.id().into())]),
                None,
            );
            self.push(c, vec![Op::Write(w)]);
        }
    }
}

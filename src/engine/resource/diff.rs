//! Comparing a table's fields with a live resource: the field changes (named
//! by manifest key, masked as their nature says), the update's body and its
//! narrowest mask (one leaf path per changed field, never a parent that
//! would reset siblings the manifest does not manage), and create bodies.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{at, from_wire, number, set_at, to_wire, wire_seconds, Field, Table, Ty, Val, Values};
use crate::engine::plan::textdiff::{describe_change, same_text};
use crate::engine::plan::{Change, FieldChange, Shown};

/// An update's body under construction: the changed values at their write
/// paths, and the mask naming them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Patch {
    pub body: Value,
    pub mask: Vec<String>,
}

impl Patch {
    /// Write `value` at `path`, masked as `mask`.
    pub fn set(&mut self, path: &str, mask: &str, value: Value) {
        if self.body.is_null() {
            self.body = Value::Object(Map::new());
        }
        set_at(&mut self.body, path, value);
        if !self.mask.iter().any(|m| m == mask) {
            self.mask.push(mask.to_string());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.mask.is_empty()
    }

    /// The mask as the API takes it (comma-separated).
    pub fn mask_string(&self) -> String {
        self.mask.join(",")
    }
}

/// What a diff found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    /// Keys of fields that differ (in table order).
    pub changed: Vec<&'static str>,
    /// Of those, the create-only ones: the resource must be replaced.
    pub replace: Vec<&'static str>,
}

/// Compare every field the table manages and `values` declares with `live`
/// (a field absent from the manifest is never compared), its groups'
/// fields included: each difference is a field of `change` and (unless an
/// action changes it) a write in `patch`. Found names fields by
/// [`Field::name`].
pub fn diff(
    table: &Table,
    values: &Values,
    live: &Value,
    change: &mut Change,
    patch: &mut Patch,
) -> Found {
    let mut found = Found::default();
    let mut described = false;
    diff_into(
        table,
        values,
        live,
        change,
        patch,
        &mut found,
        &mut described,
    );
    found
}

fn diff_into(
    table: &Table,
    values: &Values,
    live: &Value,
    change: &mut Change,
    patch: &mut Patch,
    found: &mut Found,
    described: &mut bool,
) {
    for f in table.fields {
        if let Some(g) = f.group() {
            if let Some(inner) = values.group(f.key) {
                diff_into(g, inner, live, change, patch, found, described);
            }
            continue;
        }
        if !f.managed_here() || f.nature.write_only {
            continue;
        }
        let Some(got) = values.get(f.key) else {
            continue;
        };
        if unanswered(f, live) {
            continue;
        }
        let want = to_wire(f, &got.val);
        let have = live_value(f, live);
        if same(f, &want, have.as_ref()) {
            continue;
        }
        found.changed.push(f.name());
        if f.nature.create_only {
            found.replace.push(f.name());
        }
        show(f, &got.val, Side::Live(have.as_ref()), change, described);
        if !f.nature.action {
            patch.set(f.wire.write, f.wire.mask_path(), want);
        }
    }
}

/// Every field `values` declares (its groups' too), at its write path in
/// `body`, and shown on `change` (a create). A field an action changes is
/// shown, not written.
pub fn create(table: &Table, values: &Values, change: &mut Change, body: &mut Value) {
    let mut described = false;
    create_into(table, values, change, body, &mut described);
}

fn create_into(
    table: &Table,
    values: &Values,
    change: &mut Change,
    body: &mut Value,
    described: &mut bool,
) {
    for f in table.fields {
        if let Some(g) = f.group() {
            if let Some(inner) = values.group(f.key) {
                create_into(g, inner, change, body, described);
            }
            continue;
        }
        if !f.managed_here() {
            continue;
        }
        let Some(got) = values.get(f.key) else {
            continue;
        };
        let want = to_wire(f, &got.val);
        if want.is_null() {
            continue;
        }
        if !f.nature.action {
            set_at(body, f.wire.write, want);
        }
        if f.nature.write_only {
            change
                .fields
                .push(FieldChange::after(f.name(), Shown::secret()));
            continue;
        }
        show(f, &got.val, Side::Creating, change, described);
    }
}

/// The live side of a shown change.
#[derive(Clone, Copy)]
enum Side<'a> {
    /// The resource is being created: there is no before.
    Creating,
    /// The live value (`None`: the live resource has none).
    Live(Option<&'a Value>),
}

/// The live value of a field: at its read path, else its server default.
pub fn live_value(f: &Field, live: &Value) -> Option<Value> {
    at(live, f.wire.read)
        .filter(|v| !v.is_null())
        .cloned()
        .or_else(|| f.default_value())
}

/// Whether `live` leaves out a field answers may omit ([`super::Wire::optional`]):
/// then it is not compared.
pub fn unanswered(f: &Field, live: &Value) -> bool {
    f.wire.optional && at(live, f.wire.read).is_none_or(Value::is_null)
}

/// The names of a [`Ty::Map`] whose wire values `want` differ live (a name
/// the live map lacks differs; one the manifest leaves out is not managed).
pub fn map_changes(want: &Value, have: Option<&Value>) -> Vec<String> {
    let Some(want) = want.as_object() else {
        return Vec::new();
    };
    want.iter()
        .filter(|(k, w)| {
            !have
                .and_then(|h| h.get(k.as_str()))
                .is_some_and(|h| same_entry(w, h))
        })
        .map(|(k, _)| k.clone())
        .collect()
}

/// One value of a [`Ty::Map`]: numbers by value, and a number the answer
/// writes as a string (`"100"`) is the same number.
fn same_entry(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Number(a), Value::String(b)) => b.trim().parse::<f64>().ok() == a.as_f64(),
        _ => want == have,
    }
}

/// Whether the wire value `want` and the live value are the same for `f`.
pub fn same(f: &Field, want: &Value, have: Option<&Value>) -> bool {
    let null = Value::Null;
    let have = have.unwrap_or(&null);
    match f.ty {
        // `map: null` names nothing to manage.
        Ty::Map => map_changes(want, Some(have)).is_empty(),
        _ if want.is_null() => have.is_null() || is_empty(have),
        Ty::Str | Ty::Text if f.nature.json_text => {
            let doc = |v: &Value| serde_json::from_str::<Value>(v.as_str()?).ok();
            match (doc(want), doc(have)) {
                (Some(a), Some(b)) => same_json(&a, &b),
                _ => want == have,
            }
        }
        Ty::LongText => match (want.as_str(), have.as_str()) {
            (Some(a), Some(b)) => same_text(a, b),
            _ => false,
        },
        Ty::Float { .. } | Ty::Int { .. } => match (number(want), number(have)) {
            (Some(a), Some(b)) => (a - b).abs() <= f64::EPSILON * a.abs().max(b.abs()).max(1.0),
            _ => false,
        },
        Ty::Duration => wire_seconds(want).is_some() && wire_seconds(want) == wire_seconds(have),
        Ty::List { set: true } => {
            let set = |v: &Value| -> Option<BTreeSet<String>> {
                v.as_array()?
                    .iter()
                    .map(|x| x.as_str().map(str::to_string))
                    .collect()
            };
            set(want).is_some() && set(want) == set(have)
        }
        Ty::Json => same_json(want, have),
        _ => want == have,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// JSON equality where numbers compare by value.
pub fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// Show one field's change on `change`.
fn show(f: &Field, val: &Val, side: Side, change: &mut Change, described: &mut bool) {
    let have = match side {
        Side::Creating => None,
        Side::Live(h) => h,
    };
    let before = |shown: &dyn Fn(&Value) -> Shown| match side {
        Side::Creating => Shown::absent(),
        Side::Live(None) => Shown::none(),
        Side::Live(Some(h)) => shown(h),
    };
    let name = f.name();
    if f.nature.sensitive {
        let b = before(&|_| Shown::secret());
        change
            .fields
            .push(FieldChange::new(name, b, Shown::secret()));
        return;
    }
    match val {
        Val::Text(t) if matches!(f.ty, Ty::LongText) => {
            let sensitive = t.is_sensitive();
            let b = before(&|h| Shown::long_text(h.as_str().unwrap_or_default(), sensitive));
            change.fields.push(FieldChange::new(
                name,
                b,
                Shown::long_text(t.expose(), sensitive),
            ));
            // The first long text of a change gets the line diff.
            if !*described {
                *described = true;
                describe_change(change, have.and_then(Value::as_str), t);
            }
        }
        Val::Text(t) => {
            let live = have.map(|h| match h {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            let mut c = FieldChange::text(name, live.as_deref(), t);
            c.before = match side {
                Side::Creating => Shown::absent(),
                Side::Live(None) => Shown::none(),
                Side::Live(Some(_)) => c.before,
            };
            change.fields.push(c);
        }
        Val::Json(v) => {
            let b =
                before(&|h| Shown::manifest_literal(&from_wire(f, h).unwrap_or_else(|| h.clone())));
            let after = if v.is_null() {
                Shown::none()
            } else {
                Shown::manifest_literal(v)
            };
            change.fields.push(FieldChange::new(name, b, after));
        }
        Val::Map(m) => {
            // Only the names that differ (all of them on a create), each
            // masked as the manifest's value of that name.
            let names: Vec<String> = match side {
                Side::Creating => m.keys().cloned().collect(),
                Side::Live(h) => map_changes(&to_wire(f, val), h),
            };
            let b = before(&|h| {
                Shown::object(names.iter().map(|k| {
                    let shown = match (h.get(k), m.get(k)) {
                        (None, _) => Shown::none(),
                        (Some(Value::String(s)), Some(Val::Text(t))) => Shown::live(s, t),
                        (Some(other), Some(Val::Text(t))) => Shown::live(&other.to_string(), t),
                        (Some(other), _) => Shown::manifest_literal(other),
                    };
                    (k.clone(), shown)
                }))
            });
            let after = Shown::object(names.iter().filter_map(|k| {
                let shown = match m.get(k)? {
                    Val::Text(t) => Shown::text(t),
                    Val::Json(j) => Shown::manifest_literal(j),
                    _ => Shown::secret(),
                };
                Some((k.clone(), shown))
            }));
            change.fields.push(FieldChange::new(name, b, after));
        }
        Val::Texts(m) => {
            // Each value masked as the manifest's of that name; a live one
            // the manifest does not name is masked whole.
            let b = before(&|h| {
                Shown::object(h.as_object().into_iter().flatten().map(|(k, v)| {
                    let s = v.as_str().unwrap_or_default();
                    let shown = match m.get(k) {
                        Some(t) => Shown::live(s, t),
                        None => Shown::secret(),
                    };
                    (k.clone(), shown)
                }))
            });
            let after = Shown::object(m.iter().map(|(k, t)| (k.clone(), Shown::text(t))));
            change.fields.push(FieldChange::new(name, b, after));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::manifest::Text;
    use crate::engine::plan::Action;
    use crate::engine::resource::{Got, Nature, Wire};
    use serde_json::json;

    static FIELDS: &[Field] = &[
        Field::new("name", Ty::Str, Wire::at("metadata.name"), "Name.").nature(Nature::IDENTITY),
        Field::new(
            "temperature",
            Ty::Float { min: 0.0, max: 2.0 },
            Wire::at("spec.modelConfig.temperature"),
            "Temperature.",
        ),
        Field::new(
            "overlap",
            Ty::Enum(&[
                ("skip", "OVERLAP_POLICY_SKIP"),
                ("allow", "OVERLAP_POLICY_ALLOW"),
            ]),
            Wire::at("spec.overlapPolicy"),
            "Overlap.",
        )
        .default("\"OVERLAP_POLICY_SKIP\""),
        Field::new(
            "content",
            Ty::LongText,
            Wire::split("content", "spec.content").mask("content"),
            "Content.",
        ),
        Field::new(
            "tools",
            Ty::List { set: true },
            Wire::at("spec.tools"),
            "Tools.",
        ),
    ];
    static TABLE: Table = Table {
        name: "T",
        doc: "A test resource.",
        fields: FIELDS,
    };

    fn values(pairs: Vec<(&'static str, Val)>) -> Values {
        let mut v = Values::default();
        for (k, val) in pairs {
            v.fields.insert(
                k,
                Got {
                    val,
                    at: serde_saphyr::Location::UNKNOWN,
                    path: Vec::new(),
                    literal: true,
                },
            );
        }
        v
    }

    #[test]
    fn only_differing_fields_are_written_each_at_its_leaf() {
        let want = values(vec![
            ("name", Val::Json(json!("renamed"))),
            ("temperature", Val::Json(json!(0.3))),
            ("overlap", Val::Json(json!("skip"))),
            ("content", Val::Text(Text::plain("New text\n"))),
            ("tools", Val::Json(json!(["b", "a"]))),
        ]);
        // Overlap absent live == its default; tools are a set; content at
        // the top level of the answer (not under spec).
        let live = json!({"metadata": {"name": "x"}, "spec": {"modelConfig": {"modelId": "m", "temperature": 0.2}, "tools": ["a", "b"]}, "content": "Old text"});
        let mut c = Change::new("p", "t[\"x\"]", "t", Action::Update);
        let mut p = Patch::default();
        let found = diff(&TABLE, &want, &live, &mut c, &mut p);
        assert_eq!(found.changed, vec!["temperature", "content"]);
        assert_eq!(p.mask, vec!["spec.modelConfig.temperature", "content"]);
        assert_eq!(
            p.body,
            json!({"spec": {"modelConfig": {"temperature": 0.3}, "content": "New text\n"}})
        );
        assert!(c.diff.is_some(), "a long text gets a line diff");
        // The live content the same: nothing to do.
        let live = json!({"spec": {"modelConfig": {"temperature": 0.3}, "tools": ["a", "b"]}, "content": "New text"});
        let mut p = Patch::default();
        let found = diff(
            &TABLE,
            &want,
            &live,
            &mut Change::new("p", "a", "t", Action::Update),
            &mut p,
        );
        assert!(found.changed.is_empty() && p.is_empty(), "{found:?} {p:?}");
    }

    #[test]
    fn enum_values_travel_in_the_wire_form_and_show_in_the_manifest_form() {
        let want = values(vec![("overlap", Val::Json(json!("allow")))]);
        let mut c = Change::new("p", "a", "t", Action::Update);
        let mut p = Patch::default();
        diff(&TABLE, &want, &json!({}), &mut c, &mut p);
        assert_eq!(
            p.body,
            json!({"spec": {"overlapPolicy": "OVERLAP_POLICY_ALLOW"}})
        );
        assert_eq!(c.fields[0].before.display(), "\"skip\"");
        assert_eq!(c.fields[0].after.display(), "\"allow\"");
    }
}

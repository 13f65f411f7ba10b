//! Resource tables: a provider declares each resource's fields once, and
//! everything a field needs is derived from that one declaration:
//!
//! - strict reading of a manifest document ([`read`]): every field checked
//!   against its type and range at its line and column, removed keys refused
//!   with why, aliases accepted;
//! - the JSON Schema of the document ([`schema`]), which is also what the
//!   loader's unknown-field walk checks against (so a typo at any depth is
//!   found by the same description that reads the field);
//! - the field diff with the manifest's key as the field's name, the patch
//!   body and the narrowest update mask ([`diff`]);
//! - the create body ([`diff::create`]);
//! - export of live state as manifest values ([`export`]);
//! - pull write-back of drifted values ([`pull`]);
//! - staleness fingerprints ([`fingerprint`]).
//!
//! Hand-written code remains for structure a table cannot say (ordered
//! stacks, assignment sets, webhooks, tagged unions); a field with
//! [`Nature::structural`] is read and described here but compared by its
//! provider. A [`Ty::Group`] is a nested object whose fields have their own
//! wire places (a variation's `constraints: {max_tool_calls, …}`): every
//! derivation recurses into it, so its fields are fields like any other.

pub mod diff;
pub mod export;
pub mod read;
pub mod schema;

use std::collections::BTreeMap;

use serde_json::Value;
use serde_saphyr::{Location, Spanned};

pub use diff::{create, diff, Patch};
pub use export::{export, identity_text, pull, Exported};
pub use read::read;
pub use schema::schema;

use super::credentials;
use super::manifest::edit::Seg;
use super::manifest::Text;

/// One resource's fields.
#[derive(Debug)]
pub struct Table {
    /// Its definition's name in the editor schema (`TwigAgentDoc`).
    pub name: &'static str,
    /// What it is, for the schema.
    pub doc: &'static str,
    pub fields: &'static [Field],
}

impl Table {
    /// The field a manifest key (or one of its aliases) names.
    pub fn field(&self, key: &str) -> Option<&'static Field> {
        self.fields
            .iter()
            .find(|f| f.key == key || f.aliases.contains(&key))
    }
}

/// One field of a resource.
#[derive(Debug)]
pub struct Field {
    /// The manifest key (also the field's name in plans).
    pub key: &'static str,
    /// What it is, for the schema and `twinform schema`.
    pub doc: &'static str,
    pub ty: Ty,
    /// Where the value lives on the wire.
    pub wire: Wire,
    pub nature: Nature,
    /// The server's value when the field is absent (JSON), if it has one:
    /// a live resource without the field holds this value.
    pub default: Option<&'static str>,
    /// Other names a manifest may use for it (an older or a newer name).
    pub aliases: &'static [&'static str],
    /// Its name in plans and notes when that is not its key (a field of a
    /// group: `constraints.max_tool_calls`).
    pub label: Option<&'static str>,
}

impl Field {
    /// A field with no wire place, nature, default or alias yet.
    pub const fn new(key: &'static str, ty: Ty, wire: Wire, doc: &'static str) -> Field {
        Field {
            key,
            doc,
            ty,
            wire,
            nature: Nature::NONE,
            default: None,
            aliases: &[],
            label: None,
        }
    }

    /// Named `label` in plans (see [`Field::label`]).
    pub const fn label(mut self, label: &'static str) -> Field {
        self.label = Some(label);
        self
    }

    /// Its name in plans: its label, else its key.
    pub fn name(&self) -> &'static str {
        self.label.unwrap_or(self.key)
    }

    pub const fn nature(mut self, nature: Nature) -> Field {
        self.nature = nature;
        self
    }

    pub const fn default(mut self, json: &'static str) -> Field {
        self.default = Some(json);
        self
    }

    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> Field {
        self.aliases = aliases;
        self
    }

    /// The default as JSON.
    pub fn default_value(&self) -> Option<Value> {
        self.default.and_then(|d| serde_json::from_str(d).ok())
    }

    /// Whether the table compares, writes, exports and pulls it (rather
    /// than its provider's hand-written code).
    pub fn managed_here(&self) -> bool {
        !self.nature.structural
            && !self.nature.identity
            && !matches!(
                self.ty,
                Ty::Removed { .. } | Ty::Children(_) | Ty::Group(_) | Ty::TextMap
            )
            && !self.wire.read.is_empty()
    }

    /// A group the table recurses into (not one its provider reads itself).
    pub fn group(&self) -> Option<&'static Table> {
        match self.ty {
            Ty::Group(t) if !self.nature.structural => Some(t),
            _ => None,
        }
    }
}

/// Where a field lives on the wire: dotted paths into the resource as read
/// and into a request body as written (they differ when the API answers a
/// value somewhere other than where it takes it), and the update mask path
/// when it is neither.
#[derive(Debug, Clone, Copy)]
pub struct Wire {
    pub read: &'static str,
    pub write: &'static str,
    pub mask: Option<&'static str>,
    /// Whether list answers carry it (otherwise reading it takes a `GET`
    /// of the resource).
    pub listed: bool,
    /// Answers may leave it out (a shape the API's reference does not
    /// give): a live resource without it is not compared or pulled for it.
    pub optional: bool,
}

impl Wire {
    /// Read and written at the same path, present in list answers.
    pub const fn at(path: &'static str) -> Wire {
        Wire {
            read: path,
            write: path,
            mask: None,
            listed: true,
            optional: false,
        }
    }

    /// Read at `read`, written at `write`.
    pub const fn split(read: &'static str, write: &'static str) -> Wire {
        Wire {
            read,
            write,
            mask: None,
            listed: true,
            optional: false,
        }
    }

    /// No wire place of its own (a manifest-only or structural field).
    pub const NONE: Wire = Wire {
        read: "",
        write: "",
        mask: None,
        listed: true,
        optional: false,
    };

    pub const fn mask(mut self, mask: &'static str) -> Wire {
        self.mask = Some(mask);
        self
    }

    /// Not in list answers: reading it takes a `GET`.
    pub const fn unlisted(mut self) -> Wire {
        self.listed = false;
        self
    }

    /// Answers may leave it out (see [`Wire::optional`]).
    pub const fn optional(mut self) -> Wire {
        self.optional = true;
        self
    }

    /// The update mask path.
    pub fn mask_path(&self) -> &'static str {
        self.mask.unwrap_or(self.write)
    }
}

/// What a field is, beyond its type.
#[derive(Debug, Clone, Copy, Default)]
pub struct Nature {
    /// A document without it is refused.
    pub required: bool,
    /// It names the resource (an id, a name that identifies it): not
    /// compared as a field; takes `${var.NAME}`.
    pub identity: bool,
    /// Set only at creation: a change replaces the resource.
    pub create_only: bool,
    /// Never read back: compared by a keyed fingerprint by its provider.
    pub write_only: bool,
    /// Masked on both sides of every change, whatever its value.
    pub sensitive: bool,
    /// Compared by its provider's code (structure a table cannot say).
    pub structural: bool,
    /// A plain string that takes `${var.NAME}` (a display name), without
    /// being an identity: compared like any field.
    pub vars: bool,
    /// Changed by an action (a custom method such as `:publish`), not by
    /// the update body: compared, shown, exported and pulled here; never
    /// in a patch or a create body. Its provider writes it when
    /// [`diff::Found::changed`] names it.
    pub action: bool,
    /// A string holding a JSON document (an icon's `icon_config`):
    /// compared as the JSON it holds, written as the manifest has it.
    pub json_text: bool,
}

impl Nature {
    pub const NONE: Nature = Nature {
        required: false,
        identity: false,
        create_only: false,
        write_only: false,
        sensitive: false,
        structural: false,
        vars: false,
        action: false,
        json_text: false,
    };
    pub const REQUIRED: Nature = Nature {
        required: true,
        ..Nature::NONE
    };
    pub const IDENTITY: Nature = Nature {
        required: true,
        identity: true,
        ..Nature::NONE
    };
    pub const STRUCTURAL: Nature = Nature {
        structural: true,
        ..Nature::NONE
    };
    pub const CREATE_ONLY: Nature = Nature {
        create_only: true,
        ..Nature::NONE
    };
    pub const WRITE_ONLY: Nature = Nature {
        write_only: true,
        sensitive: true,
        ..Nature::NONE
    };
    pub const VARS: Nature = Nature {
        vars: true,
        ..Nature::NONE
    };
    pub const ACTION: Nature = Nature {
        action: true,
        ..Nature::NONE
    };
}

/// A field's type, as the manifest writes it (the wire form is derived).
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// A plain string, taken as written.
    Str,
    /// A string that takes `${VAR}` (may be sensitive).
    Text,
    /// A long text: inline (takes `${VAR}`), `{file: …}` or `{template: …}`;
    /// compared line by line.
    LongText,
    Int {
        min: i64,
        max: i64,
    },
    Float {
        min: f64,
        max: f64,
    },
    Bool,
    /// One of the manifest's names, each with its wire value.
    Enum(&'static [(&'static str, &'static str)]),
    /// A duration written `90s`, `15m`, `2h` or `1d`; `"<seconds>s"` on the
    /// wire (protobuf JSON's form).
    Duration,
    /// A free-form mapping (a JSON Schema, an output definition).
    Json,
    /// A list of strings: a set (order is not a change) or an ordered list.
    List {
        set: bool,
    },
    /// A map of children keyed by id, each described by a table.
    Children(&'static Table),
    /// A nested object whose fields (their wire paths absolute) are
    /// described by a table.
    Group(&'static Table),
    /// `true`/`false` in the manifest; on the wire one of two enum values
    /// (`paused` ↔ `STATE_PAUSED`/`STATE_ACTIVE`).
    Flag {
        on: &'static str,
        off: &'static str,
    },
    /// A map of names to texts, each taking `${VAR}` (headers, secrets):
    /// always read for its provider, which compares it.
    TextMap,
    /// A map of names to values (a data source's `config`), managed name
    /// by name: only the names the manifest writes are compared, shown
    /// (`config.max_pages`), exported and pulled; a live name it leaves out
    /// is not managed. A string value takes `${VAR}` (masked when
    /// interpolated); any other value is JSON as written, where `${` is
    /// refused (only top-level strings are interpolated). An entry holding
    /// a credential is never exported, pulled or fingerprinted.
    Map,
    /// A key the API no longer has: refused with why.
    Removed {
        why: &'static str,
    },
}

/// A value read from a manifest.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// A text (interpolated, read from a file or rendered): may be sensitive.
    Text(Text),
    /// Anything else, in the manifest's form (enums by manifest name,
    /// durations as written).
    Json(Value),
    /// A [`Ty::TextMap`]: names to texts.
    Texts(BTreeMap<String, Text>),
    /// A [`Ty::Map`]: names to values, each a `Text` (a string) or `Json`.
    Map(BTreeMap<String, Val>),
}

/// A field's value and where it was written.
#[derive(Debug, Clone)]
pub struct Got {
    pub val: Val,
    pub at: Location,
    /// Its path in the document (for `pull`).
    pub path: Vec<Seg>,
    /// Written as a plain value in the manifest (not interpolated, not a
    /// file or template): `pull` may rewrite it in place.
    pub literal: bool,
}

impl Got {
    /// The value when it is plain (not a text).
    pub fn val_json(&self) -> Option<&Value> {
        match &self.val {
            Val::Json(v) => Some(v),
            Val::Text(_) | Val::Texts(_) | Val::Map(_) => None,
        }
    }
}

/// A document's (or a child's) values, by field key.
#[derive(Debug, Clone, Default)]
pub struct Values {
    pub fields: BTreeMap<&'static str, Got>,
    /// Children by field key: `(id, values)` in document order.
    pub children: BTreeMap<&'static str, Vec<(Spanned<String>, Values)>>,
    /// Groups by field key (present when the manifest writes the group).
    pub groups: BTreeMap<&'static str, Values>,
    /// The document path of this object (for `pull` of added keys).
    pub path: Vec<Seg>,
}

impl Values {
    pub fn get(&self, key: &str) -> Option<&Got> {
        self.fields.get(key)
    }

    /// A text field's value.
    pub fn text(&self, key: &str) -> Option<&Text> {
        match &self.fields.get(key)?.val {
            Val::Text(t) => Some(t),
            _ => None,
        }
    }

    /// A plain field's value (as the manifest wrote it).
    pub fn json(&self, key: &str) -> Option<&Value> {
        match &self.fields.get(key)?.val {
            Val::Json(v) => Some(v).filter(|v| !v.is_null()),
            _ => None,
        }
    }

    /// A text map's value.
    pub fn texts(&self, key: &str) -> Option<&BTreeMap<String, Text>> {
        match &self.fields.get(key)?.val {
            Val::Texts(m) => Some(m),
            _ => None,
        }
    }

    /// A [`Ty::Map`]'s value.
    pub fn map(&self, key: &str) -> Option<&BTreeMap<String, Val>> {
        match &self.fields.get(key)?.val {
            Val::Map(m) => Some(m),
            _ => None,
        }
    }

    /// A group's values, when the manifest writes it.
    pub fn group(&self, key: &str) -> Option<&Values> {
        self.groups.get(key)
    }

    /// The children of a map field, when the manifest writes it.
    pub fn children(&self, key: &str) -> Option<&[(Spanned<String>, Values)]> {
        self.children.get(key).map(Vec::as_slice)
    }

    /// A plain boolean field's value.
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.json(key)?.as_bool()
    }

    /// A plain string field's value.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.json(key)?.as_str()
    }

    pub fn is_present(&self, key: &str) -> bool {
        self.fields.contains_key(key)
    }

    /// Set a field as if the manifest wrote it at the top of its document
    /// (values built in code: tests, defaults).
    pub fn set(&mut self, key: &'static str, val: Val) {
        self.fields.insert(
            key,
            Got {
                val,
                at: Location::UNKNOWN,
                path: vec![Seg::Key(key.to_string())],
                literal: true,
            },
        );
    }

    /// These values with `key` set (see [`Values::set`]).
    pub fn with(mut self, key: &'static str, val: Val) -> Self {
        self.set(key, val);
        self
    }

    pub fn remove(&mut self, key: &str) {
        self.fields.remove(key);
    }

    /// These values with `key` set to `value` when the manifest leaves it
    /// out: a default its provider compares like a declared value (a name
    /// that defaults to the id), at the key's place in this object (where
    /// `pull` would add it).
    pub fn with_default(mut self, key: &'static str, value: Value) -> Self {
        if !self.fields.contains_key(key) {
            let mut path = self.path.clone();
            path.push(Seg::Key(key.to_string()));
            self.fields.insert(
                key,
                Got {
                    val: Val::Json(value),
                    at: Location::UNKNOWN,
                    path,
                    literal: true,
                },
            );
        }
        self
    }
}

/// The value at a dotted path of a JSON value.
pub fn at<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    if path.is_empty() {
        return None;
    }
    path.split('.').try_fold(v, |v, k| v.get(k))
}

/// Set the value at a dotted path, creating objects on the way.
pub fn set_at(v: &mut Value, path: &str, value: Value) {
    let mut cur = v;
    let mut parts = path.split('.').peekable();
    while let Some(k) = parts.next() {
        if !cur.is_object() {
            *cur = Value::Object(serde_json::Map::new());
        }
        let Some(m) = cur.as_object_mut() else {
            return;
        };
        if parts.peek().is_none() {
            m.insert(k.to_string(), value);
            return;
        }
        cur = m.entry(k.to_string()).or_insert(Value::Null);
    }
}

/// A manifest value in the wire's form (an enum's wire value, a duration in
/// seconds); texts are exposed (requests carry real values).
pub fn to_wire(field: &Field, val: &Val) -> Value {
    match (val, field.ty) {
        (Val::Text(t), _) => Value::String(t.expose().to_string()),
        (Val::Json(Value::String(s)), Ty::Enum(values)) => {
            values.iter().find(|(m, _)| m == s).map_or_else(
                || Value::String(s.clone()),
                |(_, w)| Value::String((*w).into()),
            )
        }
        (Val::Json(Value::String(s)), Ty::Duration) => parse_duration(s).map_or_else(
            || Value::String(s.clone()),
            |secs| Value::String(format!("{secs}s")),
        ),
        (Val::Json(Value::Number(n)), Ty::Duration) => Value::String(format!("{n}s")),
        (Val::Json(Value::Bool(b)), Ty::Flag { on, off }) => {
            Value::String(if *b { on } else { off }.to_string())
        }
        (Val::Json(v), _) => v.clone(),
        (Val::Texts(m), _) => Value::Object(
            m.iter()
                .map(|(k, t)| (k.clone(), Value::String(t.expose().to_string())))
                .collect(),
        ),
        (Val::Map(m), _) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Val::Text(t) => Value::String(t.expose().to_string()),
                        Val::Json(j) => j.clone(),
                        other => to_wire(field, other),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
    }
}

/// A number on the wire: a JSON number, or a string holding one (protobuf
/// JSON writes 64-bit integers as strings).
pub fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A wire value in the manifest's form (for export and pull), when it has one.
pub fn from_wire(field: &Field, wire: &Value) -> Option<Value> {
    Some(match field.ty {
        Ty::Enum(values) => {
            let w = wire.as_str()?;
            Value::String(values.iter().find(|(_, x)| *x == w)?.0.to_string())
        }
        Ty::Duration => Value::String(duration_text(wire_seconds(wire)?)),
        Ty::Flag { on, off } => match wire.as_str()? {
            w if w == on => Value::Bool(true),
            w if w == off => Value::Bool(false),
            _ => return None,
        },
        Ty::Int { .. } => match wire {
            Value::String(s) => Value::from(s.trim().parse::<i64>().ok()?),
            other => other.clone(),
        },
        _ => wire.clone(),
    })
}

/// `90s`, `15m`, `2h`, `1d`, `7200s` or a number of seconds → seconds.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u64>() {
        return Some(n);
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = num.parse().ok()?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// Seconds of a wire duration (`"7200s"`, `"1.5s"`, or a number).
pub fn wire_seconds(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => {
            let secs: f64 = s.strip_suffix('s')?.parse().ok()?;
            (secs >= 0.0 && secs.fract() == 0.0 && secs < 1e15).then_some(secs as u64)
        }
        _ => None,
    }
}

/// The shortest manifest text for a number of seconds.
pub fn duration_text(secs: u64) -> String {
    for (unit, n) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if secs > 0 && secs.is_multiple_of(n) {
            return format!("{}{unit}", secs / n);
        }
    }
    format!("{secs}s")
}

/// A fingerprint of what a table manages of a live resource: its managed
/// fields' wire values (write-only ones excluded), for saved plans.
pub fn fingerprint(table: &'static Table, live: &Value) -> String {
    let mut parts = serde_json::Map::new();
    for f in leaves(table) {
        if f.nature.write_only {
            continue;
        }
        if let Some(v) = at(live, f.wire.read) {
            let v = match (f.ty, v) {
                // A credential is not hashed (an unkeyed hash of it could be guessed).
                (Ty::Map, Value::Object(m)) => Value::Object(
                    m.iter()
                        .filter(|(k, x)| !credentials::has_any(&serde_json::json!({ *k: x })))
                        .map(|(k, x)| (k.clone(), x.clone()))
                        .collect(),
                ),
                _ => v.clone(),
            };
            parts.insert(f.name().to_string(), v);
        }
    }
    super::sha256_hex(Value::Object(parts).to_string().as_bytes())
}

/// Every field the table manages itself, its groups' fields included.
pub fn leaves(table: &'static Table) -> Vec<&'static Field> {
    let mut out = Vec::new();
    for f in table.fields {
        if let Some(g) = f.group() {
            out.extend(leaves(g));
        } else if f.managed_here() {
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_are_read_and_written_at_any_depth() {
        let mut v = json!({"spec": {"a": 1}});
        set_at(&mut v, "spec.modelConfig.temperature", json!(0.2));
        assert_eq!(at(&v, "spec.modelConfig.temperature"), Some(&json!(0.2)));
        assert_eq!(at(&v, "spec.a"), Some(&json!(1)));
        assert_eq!(at(&v, "spec.missing.x"), None);
        assert_eq!(at(&v, ""), None);
    }

    #[test]
    fn durations_read_and_print_both_ways() {
        assert_eq!(parse_duration("90s"), Some(90));
        assert_eq!(parse_duration("2h"), Some(7200));
        assert_eq!(parse_duration("1d"), Some(86_400));
        assert_eq!(parse_duration("15"), Some(15));
        assert_eq!(parse_duration("2w"), None);
        assert_eq!(parse_duration("99999999999999999999h"), None);
        assert_eq!(wire_seconds(&json!("7200s")), Some(7200));
        assert_eq!(wire_seconds(&json!("1.5s")), None);
        assert_eq!(duration_text(7200), "2h");
        assert_eq!(duration_text(90), "90s");
        assert_eq!(duration_text(0), "0s");
    }
}

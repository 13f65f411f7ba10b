//! What each document declares, with its final values and their places:
//! the `resources` a policy judges ([`crate::engine::policy`]).
//!
//! A document is read again, as a tree of values that know where they are,
//! once every provider has loaded its documents, so each value is what the
//! providers made of it: `${var.NAME}` substituted, an interpolated value in
//! its shown form (`(sensitive)` where it is secret), a long text (a prompt,
//! inline, from a file or rendered from a template) as an object with its
//! `text` and `tokens`. Credentials written literally are masked as plans
//! mask them, and every known secret is scrubbed from every string, so the
//! document holds nothing a plan would not show.

use std::collections::HashMap;
use std::str::FromStr;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use super::diagnostic::SourceFile;
use super::interpolate::{substitute_vars, SENSITIVE};
use super::load::{options, span_in};
use super::node::{expressions, Key};
use super::{Document, LoadContext, Text};
use crate::engine::credentials;

/// How many fire times of a cron are looked at for its shortest interval:
/// enough for any schedule that is frequent in some hour of a week.
const FIRES: usize = 64;

/// One declared resource: what its document says, where, and where each
/// of its values is.
#[derive(Debug, Clone)]
pub struct Declared {
    /// The provider that owns its kind (set by the session).
    pub provider: &'static str,
    /// Its kind's canonical name (set by the session).
    pub kind: String,
    /// Its address in plans (set by the session; `None` when plans give it none).
    pub address: Option<String>,
    pub source: SourceFile,
    /// Byte span of its first key: where a problem about it as a whole points.
    pub span: (usize, usize),
    /// Its keys and values (without `kind`), as described above.
    pub fields: Value,
    /// Every long text: `{path, text}` (with `file`, `template`, `fragments`
    /// when it has them); [`Declared::to_json`] adds `tokens`.
    pub prompts: Vec<Value>,
    /// Every mapping with a `cron` or an `every`: `{path, cron|every,
    /// min_interval_seconds}`.
    pub schedules: Vec<Value>,
    /// Where each value is, by path (map keys and list indices).
    places: Vec<(Vec<String>, (usize, usize))>,
    /// Each prompt's text (same order as `prompts`), counted only when the
    /// input is built: a plan reads live state meanwhile, and the encoder
    /// gets built (see [`crate::engine::tokens::warm_up`]).
    texts: Vec<(Vec<String>, Text)>,
}

impl Declared {
    /// 1-based line and column of the resource.
    pub fn line_col(&self) -> (usize, usize) {
        self.source.line_col(self.span.0)
    }

    /// The byte span of the value at `path` (`["webhooks", "0", "url"]`),
    /// if the document has one there.
    pub fn place(&self, path: &[String]) -> Option<(usize, usize)> {
        self.places
            .iter()
            .find(|(p, _)| p.as_slice() == path)
            .map(|(_, s)| *s)
    }

    /// The path a dotted name (`webhooks.0.url`) names; keys holding dots
    /// are found too (the whole name is compared with each path joined).
    pub fn path_of(&self, dotted: &str) -> Option<Vec<String>> {
        self.places
            .iter()
            .find(|(p, _)| p.join(".") == dotted)
            .map(|(p, _)| p.clone())
    }

    /// The resource as a policy's input has it: every prompt with its
    /// `tokens` (of its real text, in `fields` and in `prompts`).
    pub fn to_json(&self) -> Value {
        let (line, column) = self.line_col();
        let mut fields = self.fields.clone();
        let mut prompts = self.prompts.clone();
        for ((path, text), prompt) in self.texts.iter().zip(prompts.iter_mut()) {
            let tokens = Value::from(crate::engine::tokens::count(text.expose()));
            if let Some(Value::Object(m)) = get_mut(&mut fields, path) {
                m.insert("tokens".into(), tokens.clone());
            }
            if let Value::Object(m) = prompt {
                m.insert("tokens".into(), tokens);
            }
        }
        serde_json::json!({
            "provider": self.provider,
            "kind": self.kind,
            "address": self.address,
            "file": self.source.name,
            "line": line,
            "column": column,
            "fields": fields,
            "prompts": prompts,
            "schedules": self.schedules,
        })
    }
}

impl LoadContext<'_> {
    /// What each of `docs` declares (`None` for a document that is not a
    /// mapping; its problems were reported when it was loaded). Call after
    /// every provider loaded (and [`LoadContext::record_texts`] before).
    pub fn declared(&self, docs: &[Document]) -> Vec<Option<Declared>> {
        let mut texts: HashMap<(usize, usize), (&Text, bool)> = HashMap::new();
        for r in self.recorded.iter().flatten() {
            let entry = texts.entry((r.file, r.offset)).or_insert((&r.text, r.long));
            if r.long {
                *entry = (&r.text, true);
            }
        }
        let mut secrets: Vec<&str> = self
            .secrets
            .iter()
            .map(String::as_str)
            .filter(|s| s.len() >= crate::engine::redact::MIN_SECRET_LEN)
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let reader = Reader {
            ctx: self,
            texts,
            secrets,
        };
        docs.iter().map(|d| reader.read(d)).collect()
    }
}

struct Reader<'a> {
    ctx: &'a LoadContext<'a>,
    texts: HashMap<(usize, usize), (&'a Text, bool)>,
    /// Longest first, so a secret holding another is replaced whole.
    secrets: Vec<&'a str>,
}

/// What a walk of one document found besides its values.
#[derive(Default)]
struct Walk<'a> {
    places: Vec<(Vec<String>, (usize, usize))>,
    prompts: Vec<(Vec<String>, &'a Text)>,
}

impl<'a> Reader<'a> {
    fn read(&self, doc: &Document) -> Option<Declared> {
        let tree: Spanned<Tree> = serde_saphyr::from_str_with_options(&doc.text, options()).ok()?;
        let Tree::Map(entries) = &tree.value else {
            return None;
        };
        let file = &self.ctx.files[doc.file];
        let span = entries
            .first()
            .map(|(k, _)| span_in(file, doc.base, &k.referenced))
            .unwrap_or((doc.base, 0));
        let mut walk = Walk::default();
        let fields = self.value(doc, &tree, &mut Vec::new(), &mut walk);
        let mut fields = credentials::mask(&self.scrubbed(fields));
        let mut prompts = Vec::new();
        for (path, text) in &walk.prompts {
            let mut prompt = match get(&fields, path) {
                Some(Value::Object(m)) => m.clone(),
                _ => Map::new(),
            };
            prompt.insert("text".into(), self.scrub(text.shown()).into());
            if let Some(r) = text.rendered_from() {
                let names: Vec<Value> = r.fragments.iter().map(|(n, _)| n.clone().into()).collect();
                prompt.insert("fragments".into(), names.into());
            }
            set(&mut fields, path, Value::Object(prompt.clone()));
            prompt.insert("path".into(), path.join(".").into());
            prompts.push(Value::Object(prompt));
        }
        let prompt_paths: Vec<&Vec<String>> = walk.prompts.iter().map(|(p, _)| p).collect();
        let mut schedules = Vec::new();
        collect_schedules(&fields, &mut Vec::new(), &prompt_paths, &mut schedules);
        Some(Declared {
            provider: "",
            kind: doc.kind.value.clone(),
            address: None,
            source: file.clone(),
            span,
            fields,
            prompts,
            schedules,
            places: walk.places,
            texts: walk
                .prompts
                .iter()
                .map(|(path, text)| (path.clone(), (*text).clone()))
                .collect(),
        })
    }

    /// The value of `node` at `path`, recording places and long texts.
    fn value(
        &self,
        doc: &Document,
        node: &Spanned<Tree>,
        path: &mut Vec<String>,
        walk: &mut Walk<'a>,
    ) -> Value {
        let (offset, len) = span_in(&self.ctx.files[doc.file], doc.base, &node.referenced);
        walk.places.push((path.clone(), (offset, len)));
        let recorded = self.texts.get(&(doc.file, offset)).copied();
        if let Some((text, true)) = recorded {
            walk.prompts.push((path.clone(), text));
        }
        match &node.value {
            Tree::Map(entries) => {
                let mut m = Map::new();
                for (k, v) in entries {
                    if path.is_empty() && k.value == "kind" {
                        continue;
                    }
                    path.push(k.value.clone());
                    let value = self.value(doc, v, path, walk);
                    path.pop();
                    m.insert(k.value.clone(), value);
                }
                Value::Object(m)
            }
            Tree::Seq(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        path.push(i.to_string());
                        let value = self.value(doc, item, path, walk);
                        path.pop();
                        value
                    })
                    .collect(),
            ),
            Tree::Leaf(Value::String(s)) => match recorded {
                Some((text, _)) => Value::String(text.shown().to_string()),
                None => Value::String(self.uninterpolated(s)),
            },
            Tree::Leaf(v) => v.clone(),
        }
    }

    /// A string no provider interpolated: `${var.NAME}` substituted, and
    /// `(sensitive)` when it names the environment (its value is unknown
    /// here, and would be secret).
    fn uninterpolated(&self, s: &str) -> String {
        if !s.contains("${") {
            return s.to_string();
        }
        if expressions(s).iter().any(|e| !e.starts_with("var.")) {
            return SENSITIVE.into();
        }
        substitute_vars(s, &self.ctx.vars).unwrap_or_else(|_| SENSITIVE.into())
    }

    /// `s` without any known secret: a secret URL (a webhook marked
    /// `sensitive`, one with a credential in it) keeps its scheme and host,
    /// as plans show it, so a rule can still check them.
    fn scrub(&self, s: &str) -> String {
        let mut out = s.to_string();
        for secret in &self.secrets {
            if out.contains(secret) {
                let shown = match url::Url::parse(secret) {
                    Ok(u) if u.host_str().is_some() => super::text::host_only(secret),
                    _ => SENSITIVE.to_string(),
                };
                out = out.replace(secret, &shown);
            }
        }
        out
    }

    fn scrubbed(&self, v: Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.scrub(&s)),
            Value::Array(a) => Value::Array(a.into_iter().map(|x| self.scrubbed(x)).collect()),
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .map(|(k, x)| (self.scrub(&k), self.scrubbed(x)))
                    .collect(),
            ),
            other => other,
        }
    }
}

fn get<'v>(v: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, key| match v {
        Value::Object(m) => m.get(key),
        Value::Array(a) => a.get(key.parse::<usize>().ok()?),
        _ => None,
    })
}

fn get_mut<'v>(v: &'v mut Value, path: &[String]) -> Option<&'v mut Value> {
    path.iter().try_fold(v, |v, key| match v {
        Value::Object(m) => m.get_mut(key),
        Value::Array(a) => a.get_mut(key.parse::<usize>().ok()?),
        _ => None,
    })
}

fn set(v: &mut Value, path: &[String], new: Value) {
    let Some((last, parents)) = path.split_last() else {
        *v = new;
        return;
    };
    let mut at = v;
    for key in parents {
        let next = match at {
            Value::Object(m) => m.get_mut(key),
            Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        };
        match next {
            Some(n) => at = n,
            None => return,
        }
    }
    match at {
        Value::Object(m) => {
            m.insert(last.clone(), new);
        }
        Value::Array(a) => {
            if let Some(slot) = last.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                *slot = new;
            }
        }
        _ => {}
    }
}

/// Every mapping (outside prompts) with a string `cron` or `every`.
fn collect_schedules(
    v: &Value,
    path: &mut Vec<String>,
    prompts: &[&Vec<String>],
    out: &mut Vec<Value>,
) {
    if prompts.iter().any(|p| p.as_slice() == path.as_slice()) {
        return;
    }
    match v {
        Value::Object(m) => {
            let cron = m.get("cron").and_then(Value::as_str);
            let every = m.get("every").and_then(Value::as_str);
            if cron.is_some() || every.is_some() {
                let mut s = Map::new();
                s.insert("path".into(), path.join(".").into());
                let interval = match (cron, every) {
                    (Some(c), _) => {
                        s.insert("cron".into(), c.into());
                        cron_interval(c)
                    }
                    (None, Some(e)) => {
                        s.insert("every".into(), e.into());
                        duration_seconds(e)
                    }
                    (None, None) => None,
                };
                s.insert("min_interval_seconds".into(), interval.into());
                out.push(Value::Object(s));
            }
            for (k, x) in m {
                path.push(k.clone());
                collect_schedules(x, path, prompts, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(i.to_string());
                collect_schedules(x, path, prompts, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// The shortest time between two of the next [`FIRES`] fire times of a
/// 7-field cron, in seconds (`None`: not a cron this reads, masked, or
/// firing fewer than twice).
pub fn cron_interval(cron: &str) -> Option<u64> {
    if cron.contains(SENSITIVE) {
        return None;
    }
    let schedule = cron::Schedule::from_str(cron).ok()?;
    let times: Vec<_> = schedule.upcoming(chrono::Utc).take(FIRES).collect();
    times
        .windows(2)
        .filter_map(|w| u64::try_from((w[1] - w[0]).num_seconds()).ok())
        .min()
}

/// `15m`, `1h30m`, `90s`, `1d` in seconds (`None` when it is not one).
pub fn duration_seconds(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => return None,
        };
        let n: u64 = std::mem::take(&mut digits).parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    (digits.is_empty() && total > 0).then_some(total)
}

/// One YAML node with every value kept (numbers and booleans too).
enum Tree {
    Map(Vec<(Spanned<String>, Spanned<Tree>)>),
    Seq(Vec<Spanned<Tree>>),
    Leaf(Value),
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TreeVisitor)
    }
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Tree;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Tree, E> {
        Ok(Tree::Leaf(v.into()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Tree, E> {
        Ok(Tree::Leaf(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Tree, E> {
        Ok(Tree::Leaf(v.into()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Tree, E> {
        Ok(Tree::Leaf(v.to_string().into()))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Tree, E> {
        Ok(Tree::Leaf(v.to_string().into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Tree, E> {
        // `.nan` and `.inf` have no JSON form.
        Ok(Tree::Leaf(
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Tree, E> {
        Ok(Tree::Leaf(v.into()))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Tree, E> {
        Ok(Tree::Leaf(Value::Null))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Tree, E> {
        Ok(Tree::Leaf(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Tree, E> {
        Ok(Tree::Leaf(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Tree, D::Error> {
        Tree::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Tree>>()? {
            items.push(item);
        }
        Ok(Tree::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Key>>()? {
            let value = map.next_value::<Spanned<Tree>>()?;
            entries.push((
                Spanned::new(key.value.0, key.referenced, key.defined),
                value,
            ));
        }
        Ok(Tree::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::manifest::load::{load, KindTable};
    use crate::engine::manifest::{Identities, TextSource};

    /// A provider's document, as a provider would read it.
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Thing {
        kind: String,
        name: Spanned<String>,
        url: Spanned<String>,
        prompt: Spanned<TextSource>,
        schedule: serde_json::Value,
        temperature: f64,
    }
    impl Identities for Thing {}

    #[test]
    fn documents_are_read_back_with_the_values_providers_made_of_them() {
        let dir = tempfile::tempdir().unwrap();
        let doc = "kind: Thing\nname: ${var.env}-agent\nurl: https://h.example/${TOKEN}\nprompt: {file: p.md}\nschedule: {cron: \"0 */5 * * * * *\"}\ntemperature: 0.9\n";
        std::fs::write(dir.path().join("a.yaml"), doc).unwrap();
        std::fs::write(dir.path().join("p.md"), "Hello world").unwrap();
        std::fs::write(dir.path().join("v.yaml"), "env: prod\n").unwrap();
        let kinds = KindTable::new(vec![("Thing", serde_json::json!({"type": "object"}))]);
        let env = |k: &str| (k == "TOKEN").then(|| "secret-token-value".to_string());
        let (mut ctx, docs) = load(dir.path(), &kinds, &env);
        crate::engine::manifest::variables::collect(&mut ctx, &docs, &[dir.path().join("v.yaml")]);
        ctx.record_texts();
        let thing: Thing = ctx.parse(&docs[0]).unwrap();
        ctx.text(&docs[0], &thing.url).unwrap();
        ctx.text_source(
            &docs[0],
            &thing.prompt.referenced,
            &thing.prompt.value,
            "prompt",
        )
        .unwrap();
        let d = ctx.declared(&docs).remove(0).unwrap();
        let json = d.to_json();
        assert_eq!(
            json["fields"],
            serde_json::json!({
                "name": "prod-agent",
                "url": "https://h.example/(sensitive)",
                "prompt": {"file": "p.md", "text": "Hello world", "tokens": 2},
                "schedule": {"cron": "0 */5 * * * * *"},
                "temperature": 0.9,
            })
        );
        assert!(!json.to_string().contains("secret-token-value"));
        assert!(!format!("{d:?}").contains("secret-token-value"));
        assert_eq!(
            json["prompts"],
            serde_json::json!([{"path": "prompt", "file": "p.md", "text": "Hello world", "tokens": 2}])
        );
        assert_eq!(
            d.schedules,
            [
                serde_json::json!({"path": "schedule", "cron": "0 */5 * * * * *", "min_interval_seconds": 300})
            ]
        );
        assert_eq!(d.line_col(), (1, 1));
        let path = d.path_of("schedule.cron").unwrap();
        let (offset, _) = d.place(&path).unwrap();
        assert_eq!(d.source.line_col(offset), (5, 18));
        assert_eq!(d.path_of("nope"), None);
    }

    #[test]
    fn durations_and_cron_intervals() {
        assert_eq!(duration_seconds("15m"), Some(900));
        assert_eq!(duration_seconds("1h30m"), Some(5_400));
        assert_eq!(duration_seconds("1d"), Some(86_400));
        for bad in ["", "15", "m", "15x", "-1m", "99999999999999999999d"] {
            assert_eq!(duration_seconds(bad), None, "{bad}");
        }
        assert_eq!(cron_interval("0 */5 * * * * *"), Some(300));
        assert_eq!(cron_interval("0 0 9 * * * *"), Some(86_400));
        // Frequent only in one hour of the day: the shortest gap counts.
        assert_eq!(cron_interval("0 0,5 9 * * * *"), Some(300));
        assert_eq!(cron_interval("not a cron"), None);
        assert_eq!(cron_interval("(sensitive)"), None);
    }
}

//! Label filters (`labels=k=v,…`, AND), cursor paging (opaque cursors
//! bound to the first page's parameters) and update masks (leaf paths,
//! camelCase or snake_case), shared by every collection.

use serde_json::{json, Map, Value};

use super::error::*;
use super::schema::{self, Msg};
use super::store::*;

// ---- labels filter and paging ----

/// `labels=k=v,k2=v2`: every pair must match (AND).
pub(super) fn parse_labels(q: &Query) -> Result<Vec<(String, String)>, Problem> {
    let Some(raw) = q.one("labels")? else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(violation(
                "labels",
                "must be comma-separated key=value pairs",
            )),
        })
        .collect()
}

pub(super) fn labels_match(r: &Value, want: &[(String, String)]) -> bool {
    want.iter().all(|(k, v)| {
        r.pointer("/metadata/labels")
            .and_then(|l| l.get(k))
            .and_then(Value::as_str)
            == Some(v.as_str())
    })
}

/// One page of `items` (already filtered, in order) for `q`, each rendered.
pub(super) fn paginate<'a>(
    mut items: Vec<&'a Value>,
    q: &Query,
    route: &str,
    render: impl Fn(&'a Value) -> Value,
) -> Answer {
    let limit = match q.one("limit")? {
        None => DEFAULT_LIMIT,
        Some(l) => match l.parse::<i64>() {
            Ok(0) => DEFAULT_LIMIT,
            Ok(n) if (1..=MAX_LIMIT as i64).contains(&n) => n as usize,
            _ => {
                return Err(violation(
                    "limit",
                    &format!("must be between 1 and {MAX_LIMIT}"),
                ))
            }
        },
    };
    match q.one("sortOrder")?.map(str::to_ascii_lowercase).as_deref() {
        None | Some("asc") => {}
        Some("desc") => items.reverse(),
        Some(_) => return Err(violation("sortOrder", "must be asc or desc")),
    }
    let fingerprint = q.fingerprint(route);
    let start = match q.one("cursor")? {
        None => 0,
        Some(c) => {
            let cur: Value = hex::decode(c)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .ok_or_else(|| violation("cursor", "not a cursor this server issued"))?;
            if cur.get("q").and_then(Value::as_str) != Some(fingerprint.as_str()) {
                return Err(violation(
                    "cursor",
                    "a next page must be asked with the same parameters as the first",
                ));
            }
            let after = cur.get("after").and_then(Value::as_str).unwrap_or_default();
            let at = cur.get("at").and_then(Value::as_u64).unwrap_or(0) as usize;
            // After the last item seen; where it was, if it is gone.
            match items.iter().position(|r| id_of(r) == after) {
                Some(i) => i + 1,
                None => at.min(items.len()),
            }
        }
    };
    let page: Vec<&Value> = items.iter().skip(start).take(limit).copied().collect();
    let end = start + page.len();
    let next = match page.last() {
        Some(last) if end < items.len() => {
            hex::encode(json!({"after": id_of(last), "at": end, "q": fingerprint}).to_string())
        }
        _ => String::new(),
    };
    let rendered: Vec<Value> = page.into_iter().map(render).collect();
    Ok((
        200,
        json!({"items": rendered, "pagination": {"nextCursor": next}}),
    ))
}

// ---- update masks ----

/// A JSON object's fields.
pub type Fields = Map<String, Value>;

/// `metadata` and `spec` of an update body, normalised (not yet merged).
pub(super) fn update_sources(
    b: &Map<String, Value>,
    spec_msg: &Msg,
) -> Result<(Option<Fields>, Option<Fields>), Problem> {
    let meta = match b.get("metadata").filter(|v| !v.is_null()) {
        Some(m) => Some(check_metadata(m, "metadata")?),
        None => None,
    };
    let spec = match b.get("spec").filter(|v| !v.is_null()) {
        Some(s) => Some(obj(&schema::check(spec_msg, s, "spec", false)?)),
        None => None,
    };
    Ok((meta, spec))
}

/// The mask's paths (trimmed, empty ones dropped).
pub(super) fn mask_of(b: &Map<String, Value>) -> Result<Vec<String>, Problem> {
    match b.get("updateMask") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect()),
        Some(Value::Object(o)) => match o.get("paths").and_then(Value::as_array) {
            Some(paths) => Ok(paths
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()),
            None => Err(violation(
                "updateMask",
                "must be a comma-separated string of paths",
            )),
        },
        Some(_) => Err(violation(
            "updateMask",
            "must be a comma-separated string of paths",
        )),
    }
}

/// Apply an update mask. Paths: `metadata.<field>`, `spec.<field>[.<leaf>…]`
/// (camelCase or snake_case), `metadata`, `spec`, `*`; memory entries take
/// bare spec names (`key,content`). A masked field absent from the body is
/// cleared; lists and maps are replaced whole. Without a mask, every field
/// present in the body is replaced.
#[allow(clippy::too_many_arguments)]
pub(super) fn apply_mask(
    mask: &[String],
    meta: &mut Map<String, Value>,
    spec: &mut Map<String, Value>,
    meta_src: Option<&Map<String, Value>>,
    spec_src: Option<&Map<String, Value>>,
    spec_msg: &Msg,
    bare: bool,
) -> Result<(), Problem> {
    let mut paths: Vec<String> = mask.to_vec();
    if paths.is_empty() {
        paths.extend(
            meta_src
                .into_iter()
                .flat_map(|m| m.keys().map(|k| format!("metadata.{k}"))),
        );
        paths.extend(
            spec_src
                .into_iter()
                .flat_map(|s| s.keys().map(|k| format!("spec.{k}"))),
        );
    }
    let unknown = |p: &str| violation("updateMask", &format!("unknown path {p:?}"));
    for path in &paths {
        let segs: Vec<&str> = path.split('.').collect();
        match segs.as_slice() {
            ["*"] => {
                for f in ["name", "externalId", "labels"] {
                    set_or_clear(meta, meta_src, f);
                }
                *spec = spec_src.cloned().unwrap_or_default();
            }
            ["metadata"] => {
                for f in ["name", "externalId", "labels"] {
                    set_or_clear(meta, meta_src, f);
                }
            }
            ["spec"] => *spec = spec_src.cloned().unwrap_or_default(),
            ["metadata", rest @ ..] => {
                let resolved =
                    schema::mask_path(&schema::METADATA, rest).ok_or_else(|| unknown(path))?;
                schema::apply_path(&schema::METADATA, meta, meta_src, &resolved);
            }
            ["spec", rest @ ..] => {
                let resolved = schema::mask_path(spec_msg, rest).ok_or_else(|| unknown(path))?;
                schema::apply_path(spec_msg, spec, spec_src, &resolved);
            }
            _ if bare => {
                let resolved = schema::mask_path(spec_msg, &segs).ok_or_else(|| unknown(path))?;
                schema::apply_path(spec_msg, spec, spec_src, &resolved);
            }
            _ => return Err(unknown(path)),
        }
    }
    Ok(())
}

fn set_or_clear(target: &mut Map<String, Value>, source: Option<&Map<String, Value>>, field: &str) {
    match source.and_then(|s| s.get(field)) {
        Some(v) => {
            target.insert(field.into(), v.clone());
        }
        None => {
            target.remove(field);
        }
    }
}

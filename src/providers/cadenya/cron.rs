//! Schedules on Cadenya's wire are calendars and intervals. A manifest's
//! 7-field cron (`sec min hour day-of-month month day-of-week year`, as for
//! Twin) compiles to one calendar whose fields are lists of ranges
//! `{start, end, step}`; `every: 15m` compiles to an interval. What a
//! calendar cannot express (`L`, `W`, `#`, a year other than `*`) is an
//! error, never an approximation.
//!
//! Day of week: the cron takes Quartz numbers (1 = Sunday … 7 = Saturday)
//! or names (SUN…SAT); calendars count from 0 = Sunday.
//! Empty time fields mean 0 on the wire and empty date fields mean "any",
//! so `*` in a time field is written as the full range.

use serde_json::{json, Value};

/// One field's bounds and names.
struct Field {
    name: &'static str,
    wire: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// Added to a value after parsing (Quartz day of week → calendar).
    shift: i32,
    time: bool,
}

const FIELDS: [Field; 6] = [
    Field {
        name: "second",
        wire: "second",
        min: 0,
        max: 59,
        names: &[],
        shift: 0,
        time: true,
    },
    Field {
        name: "minute",
        wire: "minute",
        min: 0,
        max: 59,
        names: &[],
        shift: 0,
        time: true,
    },
    Field {
        name: "hour",
        wire: "hour",
        min: 0,
        max: 23,
        names: &[],
        shift: 0,
        time: true,
    },
    Field {
        name: "day of month",
        wire: "dayOfMonth",
        min: 1,
        max: 31,
        names: &[],
        shift: 0,
        time: false,
    },
    Field {
        name: "month",
        wire: "month",
        min: 1,
        max: 12,
        names: &[
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ],
        shift: 0,
        time: false,
    },
    Field {
        name: "day of week",
        wire: "dayOfWeek",
        min: 1,
        max: 7,
        names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
        shift: -1,
        time: false,
    },
];

fn value(f: &Field, s: &str) -> Result<u32, String> {
    let upper = s.to_ascii_uppercase();
    if let Some(i) = f.names.iter().position(|n| *n == upper) {
        return Ok(f.min + i as u32);
    }
    let v: u32 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a {} value", f.name))?;
    if v < f.min || v > f.max {
        return Err(format!("{} {v} is outside {}-{}", f.name, f.min, f.max));
    }
    Ok(v)
}

/// One range, as the wire writes it (end and step only when they say something).
fn range(f: &Field, start: u32, end: u32, step: u32) -> Value {
    let s = (start as i32 + f.shift) as u32;
    let e = (end as i32 + f.shift) as u32;
    let mut r = json!({"start": s});
    if e != s {
        r["end"] = json!(e);
    }
    if step != 1 {
        r["step"] = json!(step);
    }
    r
}

fn field(f: &Field, text: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for part in text.split(',') {
        // `L`, `W` and `#` (outside month and day names like JUL, WED).
        let bare = f
            .names
            .iter()
            .fold(part.to_ascii_uppercase(), |p, n| p.replace(n, ""));
        if let Some(c) = ['L', 'W', '#'].iter().find(|c| bare.contains(**c)) {
            return Err(format!(
                "`{part}` in the {} field: `{c}` has no equivalent in Cadenya's calendars; list the values instead",
                f.name
            ));
        }
        let (spec, step) = match part.split_once('/') {
            Some((s, st)) => {
                let step: u32 = st
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("`{part}`: the step must be a positive number"))?;
                (s, step)
            }
            None => (part, 1),
        };
        let (start, end) = match spec {
            "*" | "?" => {
                if step == 1 && !f.time {
                    // Any: an empty list on the wire.
                    continue;
                }
                (f.min, f.max)
            }
            s => match s.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (value(f, a)?, value(f, b)?);
                    if a > b {
                        return Err(format!("`{part}`: a range must go upwards"));
                    }
                    (a, b)
                }
                // `5/15` means from 5 to the end, every 15.
                None if step > 1 => (value(f, s)?, f.max),
                None => {
                    let v = value(f, s)?;
                    (v, v)
                }
            },
        };
        out.push(range(f, start, end, step));
    }
    Ok(out)
}

/// A 7-field cron as one calendar (wire JSON), or why it cannot be one.
pub fn calendar(cron: &str) -> Result<Value, String> {
    let parts: Vec<&str> = cron.split_whitespace().collect();
    if parts.len() != 7 {
        return Err(format!(
            "cron must have 7 fields (sec min hour day month day-of-week year), found {}",
            parts.len()
        ));
    }
    if !matches!(parts[6], "*" | "?") {
        return Err(format!(
            "year `{}`: Cadenya's calendars have no year; use `*`",
            parts[6]
        ));
    }
    let mut cal = serde_json::Map::new();
    for (f, text) in FIELDS.iter().zip(&parts) {
        let ranges = field(f, text)?;
        if !ranges.is_empty() {
            cal.insert(f.wire.into(), Value::Array(ranges));
        }
    }
    Ok(Value::Object(cal))
}

/// `15m`, `2h`, `1h30m`, `1d`, `45s` as seconds.
pub fn every(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let mut total: u64 = 0;
    let mut num = String::new();
    let mut any = false;
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => {
                return Err(format!(
                    "`{text}`: use a number and a unit (s, m, h, d), like `15m` or `1h30m`"
                ))
            }
        };
        let n: u64 = num
            .parse()
            .map_err(|_| format!("`{text}`: a unit without a number"))?;
        total = total.saturating_add(n.saturating_mul(unit));
        num.clear();
        any = true;
    }
    if !num.is_empty() || !any {
        return Err(format!(
            "`{text}`: use a number and a unit (s, m, h, d), like `15m`"
        ));
    }
    if total == 0 {
        return Err(format!("`{text}` is no time at all"));
    }
    Ok(total)
}

/// A wire duration (`"900s"`, `"1.5s"`, or a number of seconds) as seconds.
pub fn wire_seconds(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().strip_suffix('s').unwrap_or(s).parse().ok(),
        _ => None,
    }
}

/// A calendar with every range written fully (`end` defaults to `start`,
/// `step` to 1) and empty lists left out, for comparison.
pub fn normalize(cal: &Value) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(m) = cal.as_object() {
        for f in &FIELDS {
            let Some(list) = m.get(f.wire).and_then(Value::as_array) else {
                continue;
            };
            if list.is_empty() {
                continue;
            }
            let ranges: Vec<Value> = list
                .iter()
                .map(|r| {
                    let start = r.get("start").and_then(Value::as_u64).unwrap_or(0);
                    let end = r.get("end").and_then(Value::as_u64).unwrap_or(start);
                    let step = r
                        .get("step")
                        .and_then(Value::as_u64)
                        .filter(|s| *s > 0)
                        .unwrap_or(1);
                    json!({"start": start, "end": end, "step": step})
                })
                .collect();
            out.insert(f.wire.into(), Value::Array(ranges));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cron_compiles_to_one_calendar() {
        let c = calendar("0 0 2 * * * *").unwrap();
        assert_eq!(
            c,
            json!({"second": [{"start": 0}], "minute": [{"start": 0}], "hour": [{"start": 2}]})
        );
        let c = calendar("0 */15 9-17 * * MON-FRI *").unwrap();
        assert_eq!(c["minute"], json!([{"start": 0, "end": 59, "step": 15}]));
        assert_eq!(c["dayOfWeek"], json!([{"start": 1, "end": 5}]));
        // Quartz numbers: 1 = Sunday → 0 on the wire.
        assert_eq!(
            calendar("0 0 9 ? * 1,7 *").unwrap()["dayOfWeek"],
            json!([{"start": 0}, {"start": 6}])
        );
        assert_eq!(
            calendar("0 0 0 1 JAN,JUL * *").unwrap()["month"],
            json!([{"start": 1}, {"start": 7}])
        );
    }

    #[test]
    fn what_calendars_cannot_say_is_an_error() {
        for bad in [
            "0 0 0 L * * *",
            "0 0 0 ? * 6#3 *",
            "0 0 0 15W * * *",
            "0 0 0 * * * 2027",
            "0 0 25 * * * *",
            "0 0 0 * *",
            "0 5-1 * * * * *",
        ] {
            assert!(calendar(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_takes_units() {
        assert_eq!(every("15m"), Ok(900));
        assert_eq!(every("1h30m"), Ok(5400));
        assert_eq!(every("1d"), Ok(86_400));
        for bad in ["15", "m", "0s", "1w", ""] {
            assert!(every(bad).is_err(), "{bad}");
        }
        assert_eq!(wire_seconds(&json!("900s")), Some(900.0));
    }

    #[test]
    fn normalized_calendars_compare_equal_however_written() {
        let a = json!({"hour": [{"start": 2}], "minute": [{"start": 0}], "second": [{"start": 0}], "month": []});
        let b = json!({"second": [{"start": 0, "end": 0, "step": 1}], "minute": [{"start": 0}], "hour": [{"start": 2, "step": 1}]});
        assert_eq!(normalize(&a), normalize(&b));
    }
}

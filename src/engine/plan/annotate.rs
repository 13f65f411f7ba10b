//! Facts added to a plan after the diff, where the clock is allowed: the
//! next fire times of every schedule a plan adds or changes.

use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::{Action, Plan};

/// How many fire times a plan shows per schedule.
pub const FIRES: usize = 3;

/// For every created, changed or replaced change whose `cron` field (a
/// 7-field cron, shown plainly) is set after, a note with the next fire
/// times in UTC, and in the change's `timezone` field when it has one.
pub fn fire_times(plan: &mut Plan, now: DateTime<Utc>) {
    for c in &mut plan.changes {
        if !matches!(c.action, Action::Create | Action::Update | Action::Replace) {
            continue;
        }
        let Some(cron) = c.field("cron").and_then(|f| f.after.as_plain_str()) else {
            continue;
        };
        let Ok(schedule) = cron::Schedule::from_str(cron) else {
            continue;
        };
        let tz: Option<chrono_tz::Tz> = c
            .field("timezone")
            .and_then(|f| f.after.as_plain_str())
            .and_then(|t| t.parse().ok());
        let times: Vec<String> = match tz {
            Some(tz) => schedule
                .after(&now.with_timezone(&tz))
                .take(FIRES)
                .map(|t| {
                    format!(
                        "{} ({} UTC)",
                        t.format("%Y-%m-%d %H:%M:%S %Z"),
                        t.with_timezone(&Utc).format("%H:%M")
                    )
                })
                .collect(),
            None => schedule
                .after(&now)
                .take(FIRES)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .collect(),
        };
        if !times.is_empty() {
            c.notes.push(format!("next: {}", times.join(", ")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::plan::{Change, FieldChange, Literal, Shown};

    #[test]
    fn schedules_show_their_next_fire_times() {
        let mut plan = Plan::default();
        let mut c = Change::new("p", "agent[\"a\"].schedule", "schedule", Action::Create);
        c.fields.push(FieldChange::after(
            "cron",
            Shown::plain(&Literal::from("0 0 9 * * MON-FRI *")),
        ));
        plan.changes.push(c);
        let now = DateTime::parse_from_rfc3339("2026-11-27T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        fire_times(&mut plan, now);
        assert_eq!(
            plan.changes[0].notes,
            ["next: 2026-11-30 09:00:00 UTC, 2026-12-01 09:00:00 UTC, 2026-12-02 09:00:00 UTC"]
        );
    }
}

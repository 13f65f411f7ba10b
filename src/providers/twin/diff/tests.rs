//! The diff's rules, one by one, as a pure function of desired and live state.

use std::path::PathBuf;

use super::*;
use crate::engine::manifest::Text;
use crate::engine::model::CreateOnly;
use crate::providers::twin::model::WorkspaceSpec;
use crate::providers::twin::wire::{Agent, Instructions, Workspace};

/// The diff with its operations stored in the changes (as the engine does).
fn diff(d: &Desired, l: &Live) -> Result<Plan, PlanError> {
    let (mut plan, ops) = super::diff(d, l, &Local::default())?;
    for (c, o) in plan.changes.iter_mut().zip(ops) {
        c.ops = o.iter().map(|x| serde_json::to_value(x).unwrap()).collect();
    }
    Ok(plan)
}

/// The typed operations of a change.
fn ops(c: &Change) -> Vec<Op> {
    c.ops
        .iter()
        .map(|v| serde_json::from_value(v.clone()).unwrap())
        .collect()
}

fn ws(id: &str, name: &str) -> Workspace {
    Workspace {
        workspace_id: id.into(),
        name: name.into(),
        icon_config: None,
        position: None,
        agent_count: None,
        created_at: None,
        updated_at: None,
    }
}

fn spec(id: &str, workspace: &str) -> AgentSpec {
    AgentSpec {
        id: id.into(),
        workspace: workspace.into(),
        subagent: CreateOnly(None),
        derived_from: CreateOnly(None),
        derived_from_literal: true,
        instructions: None,
        schedule: None,
        webhooks: None,
        source: "m.yaml:1".into(),
        origin: Default::default(),
    }
}

fn live_agent(id: &str, ws: &str) -> Agent {
    Agent {
        agent_id: id.into(),
        workspace_id: Some(ws.into()),
        ..Agent::default()
    }
}

fn desired(workspaces: &[&str], agents: Vec<AgentSpec>) -> Desired {
    Desired {
        root: PathBuf::from("."),
        workspaces: workspaces
            .iter()
            .map(|n| WorkspaceSpec {
                name: n.to_string(),
                id: None,
                icon: None,
                prune: false,
                origin: Default::default(),
            })
            .collect(),
        agents,
    }
}

fn live(workspaces: &[(&str, &str)], agents: &[(&str, &str)]) -> Live {
    let mut l = Live {
        workspaces: workspaces.iter().map(|(i, n)| ws(i, n)).collect(),
        ..Live::default()
    };
    for (id, w) in agents {
        l.agents.insert(id.to_string(), live_agent(id, w));
    }
    l
}

fn addresses(plan: &Plan) -> Vec<(String, Action)> {
    plan.changes
        .iter()
        .map(|c| (c.address.clone(), c.action))
        .collect()
}

#[test]
fn identical_states_make_an_empty_plan() {
    let d = desired(&["A"], vec![spec("x", "A")]);
    let l = live(&[("w1", "A")], &[("x", "w1")]);
    assert!(diff(&d, &l).unwrap().is_empty());
}

#[test]
fn an_agent_in_another_workspace_is_moved_not_recreated() {
    let d = desired(&["A", "B"], vec![spec("x", "B")]);
    let l = live(&[("w1", "A"), ("w2", "B")], &[("x", "w1")]);
    let p = diff(&d, &l).unwrap();
    assert_eq!(addresses(&p), vec![("agent[\"x\"]".into(), Action::Move)]);
    assert_eq!(
        ops(&p.changes[0]),
        vec![Op::MoveAgent {
            agent_id: "x".into(),
            workspace: WorkspaceRef::Id("w2".into())
        }]
    );
}

#[test]
fn a_move_into_a_new_workspace_depends_on_its_creation() {
    let d = desired(&["New"], vec![spec("x", "New")]);
    let l = live(&[("w1", "Old")], &[("x", "w1")]);
    let p = diff(&d, &l).unwrap();
    let mv = p.changes.iter().find(|c| c.action == Action::Move).unwrap();
    assert_eq!(mv.depends_on, vec!["workspace[\"New\"]".to_string()]);
}

#[test]
fn create_only_fields_replace_and_are_destructive() {
    let mut s = spec("x", "A");
    s.subagent = CreateOnly(Some(true));
    s.instructions = Some(Text::plain("hi"));
    let d = desired(&["A"], vec![s]);
    let mut l = live(&[("w1", "A")], &[("x", "w1")]);
    l.agents.get_mut("x").unwrap().is_subagent = Some(false);
    l.instructions.insert(
        "x".into(),
        Some(Instructions {
            content: "hi".into(),
            ..Instructions::default()
        }),
    );
    let p = diff(&d, &l).unwrap();
    let r = &p.changes[0];
    assert_eq!((r.action, r.destructive), (Action::Replace, true));
    assert!(r
        .reason
        .as_deref()
        .unwrap()
        .contains("subagent false → true"));
    // The new agent has no instructions yet: they are set again after the replace.
    assert_eq!(p.changes[1].address, "agent[\"x\"].instructions");
    assert_eq!(p.changes[1].depends_on, vec!["agent[\"x\"]".to_string()]);
    assert_eq!(
        p.summary(),
        crate::engine::plan::Summary {
            add: 2,
            change: 0,
            destroy: 1,
            manual: 0
        }
    );
}

#[test]
fn unknown_create_only_fields_are_not_a_replace() {
    let mut s = spec("x", "A");
    s.subagent = CreateOnly(Some(true));
    let d = desired(&["A"], vec![s]);
    let l = live(&[("w1", "A")], &[("x", "w1")]); // the API did not say
    assert!(diff(&d, &l).unwrap().is_empty());
}

#[test]
fn instructions_ignore_one_trailing_newline_only() {
    assert!(same_instructions("a\n", "a"));
    assert!(same_instructions("a", "a\n"));
    assert!(!same_instructions("a\n\n", "a"));
    assert!(!same_instructions("a ", "a"));
}

#[test]
fn schedule_transitions() {
    let cron = |c: &str| Text::plain(c);
    let case = |want: Option<Option<ScheduleSpec>>, have: Option<Schedule>| {
        let mut s = spec("x", "A");
        s.schedule = want;
        let d = desired(&["A"], vec![s]);
        let mut l = live(&[("w1", "A")], &[("x", "w1")]);
        if let Some(h) = have {
            l.schedules.insert("x".into(), h);
        }
        diff(&d, &l)
            .unwrap()
            .changes
            .into_iter()
            .flat_map(|c| ops(&c))
            .collect::<Vec<_>>()
    };
    let live_s = |c: &str, paused: bool| Schedule {
        agent_id: Some("x".into()),
        cron: c.into(),
        paused,
        ..Schedule::default()
    };
    let id = || "x".to_string();
    assert_eq!(
        case(
            Some(Some(ScheduleSpec {
                cron: cron("0 0 9 * * * *"),
                paused: Some(true)
            })),
            None
        ),
        vec![
            Op::PutSchedule {
                agent_id: id(),
                cron: "0 0 9 * * * *".into()
            },
            Op::PauseSchedule { agent_id: id() }
        ]
    );
    assert_eq!(
        case(
            Some(Some(ScheduleSpec {
                cron: cron("0 0 9 * * * *"),
                paused: None
            })),
            Some(live_s("0 0 8 * * * *", true))
        ),
        vec![Op::PutSchedule {
            agent_id: id(),
            cron: "0 0 9 * * * *".into()
        }]
    );
    assert_eq!(
        case(
            Some(Some(ScheduleSpec {
                cron: cron("0 0 9 * * * *"),
                paused: Some(false)
            })),
            Some(live_s("0 0 9 * * * *", true))
        ),
        vec![Op::ResumeSchedule { agent_id: id() }]
    );
    assert_eq!(
        case(Some(None), Some(live_s("0 0 9 * * * *", false))),
        vec![Op::DeleteSchedule { agent_id: id() }]
    );
    assert_eq!(case(Some(None), None), vec![]);
    assert_eq!(
        case(None, Some(live_s("0 0 9 * * * *", false))),
        vec![],
        "absent means not managed"
    );
}

#[test]
fn webhooks_patch_only_changed_fields() {
    let mut s = spec("x", "A");
    s.webhooks = Some(vec![WebhookSpec {
        url: Text::plain("https://h/1"),
        events: vec!["run.failed".into()],
        enabled: false,
    }]);
    let d = desired(&["A"], vec![s]);
    let mut l = live(&[("w1", "A")], &[("x", "w1")]);
    l.webhooks.insert(
        "x".into(),
        vec![Webhook {
            webhook_id: "h1".into(),
            url: "https://h/1".into(),
            events: vec!["run.failed".into()],
            status: "active".into(),
            ..Webhook::default()
        }],
    );
    let p = diff(&d, &l).unwrap();
    assert_eq!(p.changes.len(), 1);
    match &ops(&p.changes[0])[..] {
        [Op::PatchWebhook {
            patch, webhook_id, ..
        }] => {
            assert_eq!(webhook_id.as_deref(), Some("h1"));
            assert_eq!(patch.events, None, "unchanged events sent");
            assert_eq!(patch.status.as_deref(), Some("disabled"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn prune_deletes_only_in_declared_pruning_workspaces() {
    let mut d = desired(&["A", "B"], vec![spec("keep", "A")]);
    d.workspaces[0].prune = true;
    let l = live(
        &[("w1", "A"), ("w2", "B"), ("w3", "C")],
        &[
            ("keep", "w1"),
            ("old", "w1"),
            ("other", "w2"),
            ("elsewhere", "w3"),
        ],
    );
    let p = diff(&d, &l).unwrap();
    assert_eq!(
        addresses(&p),
        vec![("agent[\"old\"]".into(), Action::Delete)]
    );
    assert!(p.changes[0].destructive);
    assert_eq!(
        p.unmanaged,
        vec!["agent[\"other\"]".to_string()],
        "undeclared workspaces are never looked at"
    );
}

#[test]
fn workspace_errors_are_all_reported() {
    let mut d = desired(&["Dup", "Pinned"], vec![spec("x", "Nowhere")]);
    d.workspaces[1].id = Some("ws_gone".into());
    let l = live(&[("w1", "Dup"), ("w2", "Dup")], &[]);
    let e = diff(&d, &l).unwrap_err();
    assert_eq!(e.problems.len(), 3, "{e}");
    assert!(e.to_string().contains("w1, w2"));
    assert!(e.to_string().contains("ws_gone"));
    assert!(e.to_string().contains("Nowhere"));
}

#[test]
fn a_pinned_workspace_is_renamed() {
    let mut d = desired(&["New Name"], vec![]);
    d.workspaces[0].id = Some("w1".into());
    let l = live(&[("w1", "Old Name")], &[]);
    let p = diff(&d, &l).unwrap();
    assert_eq!(
        ops(&p.changes[0]),
        vec![Op::UpdateWorkspace {
            workspace: WorkspaceRef::Id("w1".into()),
            name: "New Name".into(),
            icon: None
        }]
    );
}

#[test]
fn renames_that_would_break_the_next_plan_are_refused() {
    // A pinned workspace renamed onto the name another live workspace has.
    let mut d = desired(&["Taken"], vec![]);
    d.workspaces[0].id = Some("w1".into());
    let l = live(&[("w1", "Mine"), ("w2", "Taken")], &[]);
    let err = diff(&d, &l).unwrap_err();
    assert!(
        err.problems[0]
            .contains("renames `Mine` (w1) to `Taken`, the name live workspace w2 already has"),
        "{err}"
    );
    // An agent left on the old name of a workspace the manifests rename.
    let mut d = desired(&["New"], vec![spec("a", "Old")]);
    d.workspaces[0].id = Some("w1".into());
    let l = live(&[("w1", "Old")], &[("a", "w1")]);
    let err = diff(&d, &l).unwrap_err();
    assert!(
        err.problems[0].contains("names workspace `Old`, which the manifests rename to `New` (id w1): write `workspace: New`"),
        "{err}"
    );
    // The same rename with the agent updated is fine.
    let d2 = {
        let mut d = desired(&["New"], vec![spec("a", "New")]);
        d.workspaces[0].id = Some("w1".into());
        d
    };
    assert_eq!(
        addresses(&diff(&d2, &l).unwrap()),
        vec![("workspace[\"New\"]".to_string(), Action::Update)]
    );
}

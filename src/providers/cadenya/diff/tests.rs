use super::*;
use crate::providers::cadenya::read::Space;

fn ws() -> WorkspaceSpec {
    WorkspaceSpec {
        id: "dev".into(),
        name: None,
        description: None,
        owner: Some("team".into()),
        prune: false,
        models: None,
    }
}

fn res(v: Value) -> Resource {
    serde_json::from_value(v).unwrap()
}

fn agent(variations: Option<Vec<VariationSpec>>) -> AgentSpec {
    AgentSpec {
        workspace: "dev".into(),
        id: "ask".into(),
        name: None,
        description: None,
        status: None,
        selection: None,
        webhook_url: None,
        input_schema: None,
        output_definition: None,
        variations,
        schedules: None,
        source: "c.yaml:1".into(),
        origin: Default::default(),
    }
}

fn variation(memory: Option<Vec<&str>>) -> VariationSpec {
    VariationSpec {
        id: "v".into(),
        name: None,
        description: None,
        prompt: None,
        model: None,
        temperature: None,
        weight: None,
        tools: None,
        memory: memory.map(|m| m.into_iter().map(str::to_string).collect()),
    }
}

fn live_with(agent_spec: Value, variations: Vec<Value>, layers: Vec<Value>) -> Live {
    let mut space = Space {
        workspace: res(json!({"metadata": {"id": "ws_1", "externalId": "dev"}})),
        agents: Some(vec![res(agent_spec)]),
        layers: Some(layers.into_iter().map(res).collect()),
        ..Space::default()
    };
    space
        .variations
        .insert("agent_1".into(), variations.into_iter().map(res).collect());
    let mut live = Live::default();
    live.spaces.insert("dev".into(), space);
    live
}

fn owned_agent(spec: Value) -> Value {
    json!({"metadata": {"id": "agent_1", "name": "ask", "externalId": "ask", "labels": {OWNER_LABEL: "team"}}, "spec": spec})
}

fn writes(ops: &[Vec<Op>]) -> Vec<Write> {
    ops.iter()
        .flatten()
        .filter_map(|o| match o {
            Op::Write(w) => Some(w.clone()),
            Op::SetModels { .. } => None,
        })
        .collect()
}

#[test]
fn an_output_definition_change_is_one_patch_of_that_path() {
    let mut a = agent(None);
    a.output_definition = Some(json!({"format": "markdown"}));
    let desired = Desired {
        workspaces: vec![ws()],
        agents: vec![a],
        ..Desired::default()
    };
    let live = live_with(
        owned_agent(json!({"outputDefinition": {"format": "text"}, "description": "kept"})),
        vec![],
        vec![],
    );
    let (plan, ops) = diff(&desired, &live, &Local::default()).unwrap();
    assert_eq!(plan.changes.len(), 1);
    let w = &writes(&ops)[0];
    assert_eq!(w.method, "PATCH");
    let body = w.body.as_ref().unwrap();
    assert_eq!(body["updateMask"], "spec.outputDefinition");
    assert_eq!(
        body["spec"],
        json!({"outputDefinition": {"format": "markdown"}})
    );
}

/// Replay a stack's writes on positions: no two layers ever share one.
fn replay(start: &[(&str, &str, i64)], ws: &[Write]) -> Vec<(String, i64)> {
    let mut rows: Vec<(String, String, i64)> = start
        .iter()
        .map(|(r, l, p)| (r.to_string(), l.to_string(), *p))
        .collect();
    for w in ws.iter().filter(|w| w.what == What::LayerAssignment) {
        match w.verb {
            Verb::Delete => {
                let Some(Seg::Id(row)) = w.path.last() else {
                    panic!()
                };
                rows.retain(|r| r.0 != *row);
            }
            Verb::Update => {
                let Some(Seg::Id(row)) = w.path.last() else {
                    panic!()
                };
                let pos = w.body.as_ref().unwrap()["position"].as_i64().unwrap();
                assert!(
                    !rows.iter().any(|r| r.2 == pos && r.0 != *row),
                    "position {pos} collides"
                );
                rows.iter_mut().find(|r| r.0 == *row).unwrap().2 = pos;
            }
            Verb::Create => {
                let pos = w.body.as_ref().unwrap()["position"].as_i64().unwrap();
                assert!(!rows.iter().any(|r| r.2 == pos), "position {pos} collides");
                let layer = match &w.fill[0].1 {
                    Seg::Id(id) => id.clone(),
                    Seg::New(k) => k.clone(),
                    Seg::Lit(l) => l.clone(),
                };
                rows.push((format!("new-{layer}"), layer, pos));
            }
        }
    }
    rows.sort_by_key(|r| r.2);
    rows.into_iter().map(|r| (r.1, r.2)).collect()
}

#[test]
fn a_stack_is_reordered_without_any_collision() {
    let layers: Vec<Value> = ["a", "b", "c", "d"]
        .iter()
        .map(|x| json!({"metadata": {"id": format!("memlyr_{x}"), "externalId": x, "labels": {OWNER_LABEL: "team"}}, "spec": {"type": "MEMORY_LAYER_TYPE_SKILLS"}}))
        .collect();
    let start = [
        ("r1", "memlyr_a", 1),
        ("r2", "memlyr_b", 2),
        ("r3", "memlyr_c", 3),
    ];
    let var = json!({"metadata": {"id": "av_1", "externalId": "v"}, "spec": {}, "info": {
        "memoryLayerAssignments": start.iter().map(|(r, l, p)| json!({"id": r, "memoryLayerId": l, "position": p})).collect::<Vec<_>>()
    }});
    let desired = Desired {
        workspaces: vec![ws()],
        agents: vec![agent(Some(vec![variation(Some(vec!["d", "c", "a"]))]))],
        ..Desired::default()
    };
    let live = live_with(owned_agent(json!({})), vec![var], layers);
    let (_, ops) = diff(&desired, &live, &Local::default()).unwrap();
    let end = replay(&start, &writes(&ops));
    assert_eq!(
        end,
        vec![
            ("memlyr_d".to_string(), 1),
            ("memlyr_c".to_string(), 2),
            ("memlyr_a".to_string(), 3)
        ]
    );
}

#[test]
fn the_same_order_at_other_positions_is_no_change() {
    let layers = vec![
        json!({"metadata": {"id": "memlyr_a", "externalId": "a"}, "spec": {}}),
        json!({"metadata": {"id": "memlyr_b", "externalId": "b"}, "spec": {}}),
    ];
    let var = json!({"metadata": {"id": "av_1", "externalId": "v"}, "spec": {}, "info": {
        "memoryLayerAssignments": [{"id": "r1", "memoryLayerId": "memlyr_a", "position": 4}, {"id": "r2", "memoryLayerId": "memlyr_b", "position": 9}]
    }});
    let desired = Desired {
        workspaces: vec![ws()],
        agents: vec![agent(Some(vec![variation(Some(vec!["a", "b"]))]))],
        ..Desired::default()
    };
    let live = live_with(owned_agent(json!({})), vec![var], layers);
    let (plan, _) = diff(&desired, &live, &Local::default()).unwrap();
    assert!(
        plan.changes.is_empty(),
        "{:?}",
        plan.changes.iter().map(|c| &c.address).collect::<Vec<_>>()
    );
}

#[test]
fn an_unowned_resource_stops_the_plan_unless_adopted() {
    let desired = Desired {
        workspaces: vec![ws()],
        agents: vec![agent(None)],
        ..Desired::default()
    };
    let mut a = owned_agent(json!({}));
    a["metadata"]["labels"] = json!({OWNER_LABEL: "other"});
    let live = live_with(a, vec![], vec![]);
    let e = diff(&desired, &live, &Local::default()).unwrap_err();
    assert!(
        e.problems[0].contains("--adopt") && e.problems[0].contains("owned by `other`"),
        "{e}"
    );
    let local = Local {
        adopt: true,
        ..Local::default()
    };
    let (_, ops) = diff(&desired, &live, &local).unwrap();
    let body = writes(&ops)[0].body.clone().unwrap();
    assert_eq!(body["updateMask"], "metadata.labels");
    assert_eq!(body["metadata"]["labels"][OWNER_LABEL], "team");
}

/// Trust II item 2: a workspace without `owner` does not turn ownership
/// off. Another team's agent (by label or by bundleKey) is refused, with or
/// without --adopt (which needs an owner to stamp); an unmarked one is
/// managed as before.
#[test]
fn a_workspace_without_owner_never_takes_another_teams_resource() {
    let mut w = ws();
    w.owner = None;
    let mut a = agent(Some(vec![]));
    a.name = Some("renamed".into());
    let desired = Desired {
        workspaces: vec![w],
        agents: vec![a],
        ..Desired::default()
    };
    let theirs_by_label = owned_agent(json!({}));
    let mut theirs_by_bundle = owned_agent(json!({}));
    theirs_by_bundle["metadata"]["labels"] = json!({});
    theirs_by_bundle["metadata"]["bundleKey"] = json!("team");
    for (live_agent, adopt) in [
        (theirs_by_label.clone(), false),
        (theirs_by_label, true),
        (theirs_by_bundle, false),
    ] {
        let live = live_with(
            live_agent,
            vec![json!({"metadata": {"id": "av_1", "externalId": "v"}, "spec": {}})],
            vec![],
        );
        let local = Local {
            adopt,
            ..Local::default()
        };
        let e = diff(&desired, &live, &local).unwrap_err();
        assert!(
            e.problems[0].contains("owned by `team`")
                && e.problems[0].contains("declares no owner"),
            "{e}"
        );
    }
    let mut unmarked = owned_agent(json!({}));
    unmarked["metadata"]["labels"] = json!({});
    let live = live_with(unmarked, vec![], vec![]);
    let (plan, _) = diff(&desired, &live, &Local::default()).unwrap();
    assert_eq!(plan.changes.len(), 1, "{:?}", plan.changes);
}

fn depends(plan: &Plan, address: &str) -> Vec<String> {
    plan.changes
        .iter()
        .find(|c| c.address == address)
        .unwrap_or_else(|| {
            panic!(
                "no change {address}: {:?}",
                plan.changes.iter().map(|c| &c.address).collect::<Vec<_>>()
            )
        })
        .depends_on
        .clone()
}

/// Trust II item 4: replacing a variation and pruning the memory layer it
/// used deletes the layer only after the variation (still assigned, it
/// would be refused); pruning an agent does the same for its variations'
/// layers, and a pruned tool set waits for the variations using its tools.
#[test]
fn a_delete_waits_for_whatever_still_points_at_its_target() {
    let mut w = ws();
    w.prune = true;
    let old_layer = json!({"metadata": {"id": "memlyr_old", "externalId": "old", "labels": {OWNER_LABEL: "team"}}, "spec": {"type": "MEMORY_LAYER_TYPE_SKILLS"}});
    let live_var = json!({"metadata": {"id": "av_1", "externalId": "v"}, "spec": {}, "info": {
        "memoryLayerAssignments": [{"id": "r1", "memoryLayerId": "memlyr_old", "position": 1}],
        "assignments": [{"id": "as1", "toolId": "tool_1"}]
    }});
    let mut replacement = variation(None);
    replacement.id = "w".into();
    let desired = Desired {
        workspaces: vec![w.clone()],
        agents: vec![agent(Some(vec![replacement]))],
        ..Desired::default()
    };
    let mut live = live_with(
        owned_agent(json!({})),
        vec![live_var.clone()],
        vec![old_layer.clone()],
    );
    let space = live.spaces.get_mut("dev").unwrap();
    space.tool_sets = Some(vec![res(
        json!({"metadata": {"id": "ts_1", "externalId": "crm", "labels": {OWNER_LABEL: "team"}}, "spec": {}}),
    )]);
    space.tools.insert(
        "ts_1".into(),
        vec![res(
            json!({"metadata": {"id": "tool_1", "externalId": "lookup"}, "spec": {}}),
        )],
    );
    let (plan, _) = diff(&desired, &live, &Local::default()).unwrap();
    let var_delete = "cadenya.agent[\"dev/ask\"].variation[\"v\"]".to_string();
    assert!(depends(&plan, "cadenya.memory_layer[\"dev/old\"]").contains(&var_delete));
    assert!(depends(&plan, "cadenya.tool_set[\"dev/crm\"]").contains(&var_delete));
    // The agent itself pruned: its variations' layers wait for it.
    let desired = Desired {
        workspaces: vec![w],
        ..Desired::default()
    };
    let (plan, _) = diff(&desired, &live, &Local::default()).unwrap();
    let agent_delete = "cadenya.agent[\"dev/ask\"]".to_string();
    assert!(depends(&plan, "cadenya.memory_layer[\"dev/old\"]").contains(&agent_delete));
}

/// Trust II item 4: `status: draft` with no variations unpublishes the
/// agent before its last variation is deleted.
#[test]
fn an_unpublish_precedes_the_removal_of_the_last_variation() {
    let mut a = agent(Some(vec![]));
    a.status = Some(Status::Draft);
    let desired = Desired {
        workspaces: vec![ws()],
        agents: vec![a],
        ..Desired::default()
    };
    let live = live_with(
        owned_agent(json!({"status": "AGENT_STATUS_PUBLISHED"})),
        vec![json!({"metadata": {"id": "av_1", "externalId": "v"}, "spec": {}})],
        vec![],
    );
    let (plan, _) = diff(&desired, &live, &Local::default()).unwrap();
    let deps = depends(&plan, "cadenya.agent[\"dev/ask\"].variation[\"v\"]");
    assert!(
        deps.contains(&"cadenya.agent[\"dev/ask\"]".to_string()),
        "{deps:?}"
    );
}

/// Trust II item 2, for the workspace itself (found by the attack review):
/// another owner's workspace is not renamed (nor its models changed)
/// whatever the tree declares, unless adopted with an owner to stamp.
#[test]
fn another_owners_workspace_keeps_its_settings_without_adopt() {
    let mut w = ws();
    w.name = Some("Team B took this".into());
    let desired = Desired {
        workspaces: vec![w.clone()],
        ..Desired::default()
    };
    let mut live = live_with(owned_agent(json!({})), vec![], vec![]);
    live.spaces.get_mut("dev").unwrap().workspace = res(
        json!({"metadata": {"id": "ws_1", "externalId": "dev", "name": "Dev", "labels": {OWNER_LABEL: "support-tools"}}}),
    );
    let e = diff(&desired, &live, &Local::default()).unwrap_err();
    assert!(
        e.problems
            .iter()
            .any(|p| p.contains("owned by `support-tools`")),
        "{e}"
    );
    let mut unowned = w.clone();
    unowned.owner = None;
    let desired = Desired {
        workspaces: vec![unowned],
        ..Desired::default()
    };
    let adopt = Local {
        adopt: true,
        ..Local::default()
    };
    assert!(diff(&desired, &live, &adopt).is_err(), "no owner to stamp");
    let desired = Desired {
        workspaces: vec![w],
        ..Desired::default()
    };
    let (plan, ops) = diff(&desired, &live, &adopt).unwrap();
    assert_eq!(plan.changes.len(), 1);
    let body = writes(&ops)[0].body.clone().unwrap();
    assert_eq!(body["metadata"]["labels"][OWNER_LABEL], "team");
}

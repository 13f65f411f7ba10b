use super::*;
use crate::engine::manifest::Text;
use crate::engine::resource::Val;
use crate::providers::cadenya::read::Space;
use crate::providers::cadenya::wire::FINGERPRINT_LABEL;

fn ws() -> WorkspaceSpec {
    WorkspaceSpec {
        id: "dev".into(),
        values: Values::default(),
        owner: Some("team".into()),
        prune: false,
        models: None,
        origin: Default::default(),
    }
}

fn res(v: Value) -> Resource {
    serde_json::from_value(v).unwrap()
}

fn agent(variations: Option<Vec<VariationSpec>>) -> AgentSpec {
    AgentSpec {
        workspace: "dev".into(),
        id: "ask".into(),
        values: Values::default(),
        status: None,
        variations,
        schedules: None,
        source: "c.yaml:1".into(),
        origin: Default::default(),
    }
}

fn variation(memory: Option<Vec<&str>>) -> VariationSpec {
    VariationSpec {
        id: "v".into(),
        values: Values::default(),
        tools: None,
        memory: memory.map(|m| m.into_iter().map(str::to_string).collect()),
    }
}

fn live_with(agent_json: Value, variations: Vec<Value>, layers: Vec<Value>) -> Live {
    let mut space = Space {
        workspace: res(json!({"metadata": {"id": "ws_1", "externalId": "dev"}})),
        agents: Some(vec![res(agent_json)]),
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
    json!({"metadata": {"id": "agent_1", "name": "ask", "externalId": "ask", "labels": {OWNER_LABEL: "team"}}, "spec": spec, "state": "STATE_DRAFT"})
}

fn layer(x: &str, owner: &str) -> Value {
    json!({"metadata": {"id": format!("memlyr_{x}"), "externalId": x, "labels": {OWNER_LABEL: owner}}, "spec": {"type": "MEMORY_LAYER_TYPE_SKILLS", "systemManaged": false}})
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

fn one(desired: &Desired, live: &Live) -> (Plan, Vec<Write>) {
    let (plan, ops) = diff(desired, live, &Local::default()).unwrap();
    (plan, writes(&ops))
}

#[test]
fn an_output_definition_change_is_one_patch_of_that_path() {
    let mut a = agent(None);
    a.values.set(
        "output_definition",
        Val::Json(json!({"format": "markdown"})),
    );
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
    let (plan, w) = one(&desired, &live);
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(w[0].method, "PATCH");
    let body = w[0].body.as_ref().unwrap();
    assert_eq!(body["updateMask"], "spec.outputDefinition");
    assert_eq!(
        body["spec"],
        json!({"outputDefinition": {"format": "markdown"}})
    );
    assert!(body.get("metadata").is_none(), "no metadata, no name");
}

/// `types.py:758 ModelConfig`: a knob changed is its leaf
/// (`spec.modelConfig.temperature`), never `spec.modelConfig`, which would
/// reset the model and every knob the manifest does not manage.
#[test]
fn a_model_knob_is_written_at_its_leaf_and_siblings_are_left_alone() {
    let mut v = variation(None);
    v.values.set(
        "model",
        Val::Json(json!("getting-started-key.openai-gpt-5")),
    );
    v.values.set("temperature", Val::Json(json!(0.3)));
    v.values.set("reasoning_effort", Val::Json(json!("high")));
    let desired = Desired {
        workspaces: vec![ws()],
        agents: vec![agent(Some(vec![v]))],
        ..Desired::default()
    };
    let live_var = json!({"metadata": {"id": "agentvar_1", "externalId": "v", "name": "v"}, "spec": {
        "modelConfig": {"modelId": "getting-started-key.openai-gpt-5", "temperature": 0.2, "topP": 0.9},
        "assignments": [], "memoryLayerAssignments": []}});
    let live = live_with(owned_agent(json!({})), vec![live_var], vec![]);
    let (plan, w) = one(&desired, &live);
    assert_eq!(plan.changes.len(), 1);
    let body = w[0].body.as_ref().unwrap();
    assert_eq!(
        body["updateMask"],
        "spec.modelConfig.temperature,spec.modelConfig.reasoningEffort"
    );
    assert_eq!(
        body["spec"],
        json!({"modelConfig": {"temperature": 0.3, "reasoningEffort": "REASONING_EFFORT_HIGH"}})
    );
    let names: Vec<&str> = plan.changes[0].fields.iter().map(|f| f.name).collect();
    assert_eq!(names, vec!["temperature", "reasoning_effort"]);
}

/// `types.py:5588`: the stack is written whole and atomically; the last
/// layer of the manifest (the top) is consulted first, at position 0.
#[test]
fn a_stack_is_one_atomic_write_with_the_top_at_position_zero() {
    let layers: Vec<Value> = ["a", "b", "c", "d"]
        .iter()
        .map(|x| layer(x, "team"))
        .collect();
    let var = json!({"metadata": {"id": "agentvar_1", "externalId": "v"}, "spec": {
    "memoryLayerAssignments": [
        {"memoryLayerId": "memlyr_a", "position": 2},
        {"memoryLayerId": "memlyr_b", "position": 1},
        {"memoryLayerId": "memlyr_c", "position": 0}
    ]}});
    let desired = Desired {
        workspaces: vec![ws()],
        agents: vec![agent(Some(vec![variation(Some(vec!["d", "c", "a"]))]))],
        ..Desired::default()
    };
    let live = live_with(owned_agent(json!({})), vec![var], layers);
    let (plan, w) = one(&desired, &live);
    assert_eq!(w.len(), 1, "one request");
    let body = w[0].body.as_ref().unwrap();
    assert_eq!(body["updateMask"], "spec.memoryLayerAssignments");
    assert_eq!(
        body["spec"]["memoryLayerAssignments"],
        json!([
            {"memoryLayerId": "memlyr_d", "position": 2},
            {"memoryLayerId": "memlyr_c", "position": 1},
            {"memoryLayerId": "memlyr_a", "position": 0}
        ])
    );
    let memory = plan.changes[0]
        .fields
        .iter()
        .find(|f| f.name == "memory")
        .unwrap();
    assert_eq!(memory.before.display(), "[a, b, c]");
}

#[test]
fn the_same_order_at_other_positions_is_no_change() {
    let layers = vec![layer("a", "team"), layer("b", "team")];
    let var = json!({"metadata": {"id": "agentvar_1", "externalId": "v"}, "spec": {
        "memoryLayerAssignments": [{"memoryLayerId": "memlyr_a", "position": 9}, {"memoryLayerId": "memlyr_b", "position": 4}]
    }});
    let desired = Desired {
        workspaces: vec![ws()],
        agents: vec![agent(Some(vec![variation(Some(vec!["a", "b"]))]))],
        ..Desired::default()
    };
    let live = live_with(owned_agent(json!({})), vec![var], layers);
    let (plan, _) = one(&desired, &live);
    assert!(
        plan.changes.is_empty(),
        "{:?}",
        plan.changes.iter().map(|c| &c.address).collect::<Vec<_>>()
    );
}

/// `types.py:695`: replacing `spec.assignments` drops what the list omits,
/// so an agent pool assignment made elsewhere is written back with it.
#[test]
fn an_assignment_set_change_keeps_agent_pool_assignments() {
    let mut v = variation(None);
    v.tools = Some(vec![ToolRef::Agent("helper".into())]);
    let desired = Desired {
        workspaces: vec![ws()],
        agents: vec![agent(Some(vec![v]))],
        ..Desired::default()
    };
    let var = json!({"metadata": {"id": "agentvar_1", "externalId": "v"}, "spec": {"assignments": [
        {"type": "toolSetId", "toolSetId": "ts_1"},
        {"type": "agentPoolId", "agentPoolId": "agentpool_1"}
    ]}});
    let mut live = live_with(owned_agent(json!({})), vec![var], vec![]);
    live.spaces.get_mut("dev").unwrap().agents.as_mut().unwrap().push(res(
        json!({"metadata": {"id": "agent_2", "externalId": "helper"}, "spec": {}, "state": "STATE_DRAFT"}),
    ));
    let (plan, w) = one(&desired, &live);
    let body = w[0].body.as_ref().unwrap();
    assert_eq!(body["updateMask"], "spec.assignments");
    assert_eq!(
        body["spec"]["assignments"],
        json!([
            {"type": "agentPoolId", "agentPoolId": "agentpool_1"},
            {"type": "subAgentId", "subAgentId": "agent_2"}
        ])
    );
    let tools = plan.changes[0]
        .fields
        .iter()
        .find(|f| f.name == "tools")
        .unwrap();
    assert_eq!(tools.after.display(), "[agent:helper]");
    // The same set again: nothing to write.
    let var = json!({"metadata": {"id": "agentvar_1", "externalId": "v"}, "spec": {"assignments": [
        {"type": "agentPoolId", "agentPoolId": "agentpool_1"},
        {"type": "subAgentId", "subAgentId": "agent_2"}
    ]}});
    live.spaces
        .get_mut("dev")
        .unwrap()
        .variations
        .insert("agent_1".into(), vec![res(var)]);
    let (plan, _) = one(&desired, &live);
    assert!(plan.changes.is_empty());
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
    assert_eq!(
        body["metadata"]["name"], "ask",
        "`name` goes whenever metadata does (types.py:7780)"
    );
}

/// Trust II item 2: a workspace without `owner` does not turn ownership
/// off. Another team's agent is refused, with or without --adopt (which
/// needs an owner to stamp); an unmarked one is managed as before.
#[test]
fn a_workspace_without_owner_never_takes_another_teams_resource() {
    let mut w = ws();
    w.owner = None;
    let mut a = agent(Some(vec![]));
    a.values.set("name", Val::Json(json!("renamed")));
    let desired = Desired {
        workspaces: vec![w],
        agents: vec![a],
        ..Desired::default()
    };
    for adopt in [false, true] {
        let live = live_with(owned_agent(json!({})), vec![], vec![]);
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
    let (plan, _) = one(&desired, &live);
    assert_eq!(plan.changes.len(), 1, "{:?}", plan.changes);
}

/// Trust II item 4: replacing a variation and pruning the memory layer it
/// used deletes the layer only after the variation (still assigned, it
/// would be refused); pruning an agent does the same for its variations'
/// layers, and a pruned tool set waits for the variations using its tools.
#[test]
fn a_delete_waits_for_whatever_still_points_at_its_target() {
    let mut w = ws();
    w.prune = true;
    let live_var = json!({"metadata": {"id": "agentvar_1", "externalId": "v"}, "spec": {
        "memoryLayerAssignments": [{"memoryLayerId": "memlyr_old", "position": 0}],
        "assignments": [{"type": "toolId", "toolId": "tool_1"}]
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
        vec![live_var],
        vec![layer("old", "team")],
    );
    let space = live.spaces.get_mut("dev").unwrap();
    space.tool_sets = Some(vec![res(
        json!({"metadata": {"id": "ts_1", "externalId": "crm", "labels": {OWNER_LABEL: "team"}}, "spec": {}, "state": "STATE_ACTIVE"}),
    )]);
    space.tools.insert(
        "ts_1".into(),
        vec![res(
            json!({"metadata": {"id": "tool_1", "externalId": "lookup"}, "spec": {}}),
        )],
    );
    let (plan, _) = one(&desired, &live);
    let var_delete = "cadenya.agent[\"dev/ask\"].variation[\"v\"]".to_string();
    assert!(depends(&plan, "cadenya.memory_layer[\"dev/old\"]").contains(&var_delete));
    assert!(depends(&plan, "cadenya.tool_set[\"dev/crm\"]").contains(&var_delete));
    // The agent itself pruned: its variations' layers wait for it.
    let desired = Desired {
        workspaces: vec![w],
        ..Desired::default()
    };
    let (plan, _) = one(&desired, &live);
    let agent_delete = "cadenya.agent[\"dev/ask\"]".to_string();
    assert!(depends(&plan, "cadenya.memory_layer[\"dev/old\"]").contains(&agent_delete));
}

/// `status: draft` with no variations unpublishes the agent (an action)
/// before its last variation is deleted; pruning a published agent
/// unpublishes it first (the API refuses to delete it).
#[test]
fn an_unpublish_precedes_the_removal_of_the_last_variation() {
    let mut a = agent(Some(vec![]));
    a.status = Some(Status::Draft);
    a.values.set("status", Val::Json(json!("draft")));
    let desired = Desired {
        workspaces: vec![ws()],
        agents: vec![a],
        ..Desired::default()
    };
    let mut published = owned_agent(json!({}));
    published["state"] = json!("STATE_PUBLISHED");
    let live = live_with(
        published.clone(),
        vec![json!({"metadata": {"id": "agentvar_1", "externalId": "v"}, "spec": {}})],
        vec![],
    );
    let (plan, w) = one(&desired, &live);
    let deps = depends(&plan, "cadenya.agent[\"dev/ask\"].variation[\"v\"]");
    assert!(
        deps.contains(&"cadenya.agent[\"dev/ask\"]".to_string()),
        "{deps:?}"
    );
    assert_eq!(w[0].verb, Verb::Unpublish);
    assert!(w[0].body.is_none(), "an action has no body");
    let mut pruning = ws();
    pruning.prune = true;
    let desired = Desired {
        workspaces: vec![pruning],
        ..Desired::default()
    };
    let live = live_with(published, vec![], vec![]);
    let (_, w) = one(&desired, &live);
    let verbs: Vec<Verb> = w.iter().map(|w| w.verb).collect();
    assert_eq!(verbs, vec![Verb::Unpublish, Verb::Delete]);
}

/// `agents.py:212`: a new published agent is created (a draft), then
/// `:publish`ed once its variations exist; an archived one is unarchived
/// first.
#[test]
fn publication_is_an_action_after_the_variations_and_an_unarchive() {
    let mut a = agent(Some(vec![variation(None)]));
    a.status = Some(Status::Published);
    a.values.set("status", Val::Json(json!("published")));
    let desired = Desired {
        workspaces: vec![ws()],
        agents: vec![a],
        ..Desired::default()
    };
    let mut live = Live::default();
    live.spaces.insert(
        "dev".into(),
        Space {
            workspace: res(json!({"metadata": {"id": "ws_1", "externalId": "dev"}})),
            agents: Some(vec![]),
            ..Space::default()
        },
    );
    let (plan, w) = one(&desired, &live);
    let publish = "cadenya.agent[\"dev/ask\"].publish";
    let deps = depends(&plan, publish);
    assert!(deps.contains(&"cadenya.agent[\"dev/ask\"].variation[\"v\"]".to_string()));
    assert!(deps.contains(&"cadenya.agent[\"dev/ask\"]".to_string()));
    let last = w.last().unwrap();
    assert_eq!(
        (last.verb, last.path.last()),
        (Verb::Publish, Some(&Seg::New("agent:dev/ask".into())))
    );
    assert!(
        w[0].body.as_ref().unwrap()["spec"].get("status").is_none(),
        "state is output only"
    );
    let mut archived = owned_agent(json!({}));
    archived["state"] = json!("STATE_ARCHIVED");
    let live = live_with(
        archived,
        vec![json!({"metadata": {"id": "agentvar_1", "externalId": "v"}, "spec": {}})],
        vec![],
    );
    let (plan, w) = one(&desired, &live);
    let verbs: Vec<Verb> = w.iter().map(|w| w.verb).collect();
    assert_eq!(verbs, vec![Verb::Unarchive, Verb::Publish]);
    assert!(depends(&plan, publish).contains(&"cadenya.agent[\"dev/ask\"]".to_string()));
}

/// Trust II item 2, for the workspace itself: another owner's workspace is
/// not renamed whatever the tree declares, unless adopted with an owner to
/// stamp.
#[test]
fn another_owners_workspace_keeps_its_settings_without_adopt() {
    let mut w = ws();
    w.values.set("name", Val::Json(json!("Team B took this")));
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
    assert_eq!(body["updateMask"], "metadata.name,metadata.labels");
}

/// Prune deletes only owned resources and names the ones it leaves.
#[test]
fn prune_names_what_another_owner_holds() {
    let mut w = ws();
    w.prune = true;
    let desired = Desired {
        workspaces: vec![w],
        agents: vec![agent(None)],
        ..Desired::default()
    };
    let live = live_with(
        owned_agent(json!({})),
        vec![],
        vec![layer("ours", "team"), layer("theirs", "web")],
    );
    let (plan, _) = one(&desired, &live);
    let deleted: Vec<&str> = plan.changes.iter().map(|c| c.address.as_str()).collect();
    assert_eq!(deleted, vec!["cadenya.memory_layer[\"dev/ours\"]"]);
    assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
    assert!(
        plan.warnings[0].contains("cadenya.memory_layer[\"dev/theirs\"] (owner `web`)"),
        "{:?}",
        plan.warnings
    );
}

/// A secret made elsewhere has no fingerprint: its value is unknown, so
/// only `--sync-secrets` writes it (an export, whose values are
/// placeholders, plans empty).
#[test]
fn a_secret_without_a_fingerprint_is_written_only_with_sync_secrets() {
    let spec = SecretSpec {
        workspace: "dev".into(),
        id: "crm".into(),
        values: Values::default(),
        name: "crm".into(),
        value: Text::secret("v"),
        origin: Default::default(),
    };
    let desired = Desired {
        workspaces: vec![ws()],
        secrets: vec![spec],
        ..Desired::default()
    };
    let mut live = live_with(owned_agent(json!({})), vec![], vec![]);
    live.secret_digests
        .insert(("dev".into(), "crm".into()), "d1".into());
    let space = live.spaces.get_mut("dev").unwrap();
    space.secrets = Some(vec![res(
        json!({"metadata": {"id": "wssec_1", "name": "crm", "externalId": "crm", "labels": {OWNER_LABEL: "team"}}, "spec": {}}),
    )]);
    let (plan, _) = one(&desired, &live);
    assert!(plan.changes.is_empty());
    assert!(
        plan.warnings[0].contains("unknown to twinform"),
        "{:?}",
        plan.warnings
    );
    let sync = Local {
        sync_secrets: true,
        ..Local::default()
    };
    let (_, ops) = diff(&desired, &live, &sync).unwrap();
    let body = writes(&ops)[0].body.clone().unwrap();
    assert_eq!(body["updateMask"], "spec.value,metadata.labels");
    assert_eq!(body["metadata"]["labels"][FINGERPRINT_LABEL], "d1");
    // A known fingerprint that differs: written without the flag.
    live.spaces
        .get_mut("dev")
        .unwrap()
        .secrets
        .as_mut()
        .unwrap()[0]
        .metadata
        .labels
        .insert(FINGERPRINT_LABEL.into(), "d0".into());
    let (plan, _) = one(&desired, &live);
    assert_eq!(plan.changes.len(), 1);
}

/// `agent_schedules.py:137`: schedules are created active; a paused one is
/// paused right after, in the same change.
#[test]
fn a_paused_schedule_is_created_then_paused() {
    let mut a = agent(None);
    let values = Values::default().with("paused", Val::Json(json!(true)));
    a.schedules = Some(vec![ScheduleSpec {
        id: "nightly".into(),
        values,
        rule: Rule::Every {
            text: "1h".into(),
            seconds: 3600,
        },
        timezone: "UTC".into(),
        variation: None,
    }]);
    let desired = Desired {
        workspaces: vec![ws()],
        agents: vec![a],
        ..Desired::default()
    };
    let mut live = live_with(owned_agent(json!({})), vec![], vec![]);
    live.spaces
        .get_mut("dev")
        .unwrap()
        .schedules
        .insert("agent_1".into(), vec![]);
    let (_, w) = one(&desired, &live);
    assert_eq!(w.len(), 2);
    let body = w[0].body.as_ref().unwrap();
    assert_eq!(
        body["spec"]["schedule"],
        json!({"timezone": "UTC", "intervals": [{"every": "3600s"}]})
    );
    assert!(body["spec"].get("status").is_none() && body.get("state").is_none());
    assert_eq!(w[1].verb, Verb::Pause);
    assert_eq!(
        w[1].path.last(),
        Some(&Seg::New("schedule:dev/ask/nightly".into()))
    );
}

/// `types.py:1163 HTTPConfig`: a tool's request body template is a leaf of
/// its tagged config (`spec.config.http.requestBodyTemplate`, the tag
/// beside it); the rest of the live call (its headers) is left alone.
#[test]
fn a_tool_body_template_is_written_at_its_leaf_with_the_union_tag() {
    let http = Values::default()
        .with("method", Val::Json(json!("POST")))
        .with(
            "body_template",
            Val::Text(Text::plain("{\"q\": \"{{ q }}\"}")),
        );
    let mut values = Values::default().with("description", Val::Json(json!("Search")));
    values.groups.insert("http", http);
    let set = ToolSetSpec {
        workspace: "dev".into(),
        id: "crm".into(),
        values: Values::default(),
        adapter: None,
        secrets: None,
        tools: Some(vec![ToolSpec {
            id: "search".into(),
            values,
        }]),
        origin: Default::default(),
    };
    let desired = Desired {
        workspaces: vec![ws()],
        tool_sets: vec![set],
        ..Desired::default()
    };
    let mut live = live_with(owned_agent(json!({})), vec![], vec![]);
    let space = live.spaces.get_mut("dev").unwrap();
    space.tool_sets = Some(vec![res(
        json!({"metadata": {"id": "ts_1", "externalId": "crm", "labels": {OWNER_LABEL: "team"}}, "spec": {"adapter": {"type": "http", "http": {}}}, "state": "STATE_ACTIVE"}),
    )]);
    space.tools.insert(
        "ts_1".into(),
        vec![res(json!({"metadata": {"id": "tool_1", "externalId": "search"}, "spec": {
            "description": "Search", "requiresApproval": false, "parameters": {},
            "config": {"type": "http", "http": {"requestMethod": "POST", "headers": {"X-Api-Key": "k"}}}}}))],
    );
    let (plan, w) = one(&desired, &live);
    assert_eq!(plan.changes.len(), 1);
    // (A long text also says its size and digest.)
    let names: Vec<&str> = plan.changes[0]
        .fields
        .iter()
        .map(|f| f.name)
        .filter(|n| !["lines", "content_sha256"].contains(n))
        .collect();
    assert_eq!(names, vec!["http.body_template"]);
    let body = w[0].body.as_ref().unwrap();
    assert_eq!(body["updateMask"], "spec.config.http.requestBodyTemplate");
    assert_eq!(
        body["spec"],
        json!({"config": {"type": "http", "http": {"requestBodyTemplate": "{\"q\": \"{{ q }}\"}"}}})
    );
}

use super::*;
use crate::engine::manifest::interpolate::interpolate;
use crate::engine::manifest::Text;
use crate::engine::resource::{Val, Values};
use crate::providers::twig::wire::User;
use serde_json::json;

fn source(name: &str) -> DataSourceSpec {
    DataSourceSpec {
        name: name.into(),
        id: None,
        values: Values::default()
            .with("name", Val::Json(json!(name)))
            .with("type", Val::Json(json!("website")))
            .with(
                "config",
                Val::Map(BTreeMap::from([(
                    "url".to_string(),
                    Val::Text(Text::plain("https://docs.example.com")),
                )])),
            )
            .with("sync_frequency", Val::Json(json!("daily"))),
        sync_on_create: true,
        origin: Default::default(),
    }
}

fn user(email: &str, name: &str, role: &str) -> UserSpec {
    UserSpec {
        email: email.into(),
        values: Values::default()
            .with("email", Val::Json(json!(email)))
            .with("name", Val::Json(json!(name)))
            .with("role", Val::Json(json!(role))),
        origin: Default::default(),
    }
}

fn agent(name: &str) -> AgentSpec {
    AgentSpec {
        name: name.into(),
        id: None,
        values: Values::default()
            .with("name", Val::Json(json!(name)))
            .with("system_prompt", Val::Text(Text::plain("Be helpful.\n")))
            .with("model", Val::Json(json!("gpt-4")))
            .with("rag_strategy", Val::Json(json!("cedar")))
            .with("temperature", Val::Json(json!(0.7)))
            .with("max_tokens", Val::Json(json!(500))),
        data_sources: Some(vec!["Docs".into()]),
        source: "twig.yaml:1".into(),
        origin: Default::default(),
    }
}

fn live_agent(id: &str, name: &str, sources: &[&str]) -> Agent {
    Agent {
        id: id.into(),
        name: name.into(),
        system_prompt: Some("Be helpful.".into()),
        rag_strategy: Some("cedar".into()),
        model: Some("gpt-4".into()),
        temperature: Some(0.7),
        max_tokens: Some(500),
        status: Some("active".into()),
        data_source_ids: sources.iter().map(|s| s.to_string()).collect(),
        created_at: None,
        other: Default::default(),
    }
}

fn live_source(id: &str, name: &str) -> DataSource {
    DataSource {
        id: id.into(),
        name: name.into(),
        source_type: Some("website".into()),
        config: serde_json::from_value(
            serde_json::json!({"url": "https://docs.example.com", "max_pages": 100}),
        )
        .ok(),
        sync_frequency: Some("daily".into()),
        status: Some("active".into()),
        created_at: None,
        other: Default::default(),
    }
}

fn ops_of(plan: &Plan, ops: &[Vec<Op>], address: &str) -> Vec<Op> {
    let i = plan
        .changes
        .iter()
        .position(|c| c.address == address)
        .expect(address);
    ops[i].clone()
}

#[test]
fn from_empty_data_sources_come_first_and_agents_wait_for_them() {
    let desired = Desired {
        data_sources: vec![source("Docs")],
        agents: vec![agent("Support")],
        ..Desired::default()
    };
    let live = Live {
        data_sources: Some(Vec::new()),
        ..Live::default()
    };
    let (plan, ops) = diff(&desired, &live).unwrap();
    let agent_change = plan
        .changes
        .iter()
        .find(|c| c.address == agent_address("Support"))
        .unwrap();
    assert_eq!(agent_change.depends_on, vec![data_source_address("Docs")]);
    let Op::CreateAgent { fields } = &ops_of(&plan, &ops, &agent_address("Support"))[0] else {
        panic!("not a create");
    };
    assert_eq!(
        fields.data_sources,
        Some(vec![SourceRef::New("Docs".into())])
    );
    let source_ops = ops_of(&plan, &ops, &data_source_address("Docs"));
    assert_eq!(source_ops.len(), 2, "create, then the first sync");
    assert!(matches!(source_ops[1], Op::SyncDataSource { .. }));
}

#[test]
fn an_update_sends_only_what_differs_and_equal_sets_are_equal() {
    let mut spec = agent("Support");
    spec.data_sources = Some(vec!["Docs".into(), "ds_2".into()]);
    spec.values.set("temperature", Val::Json(json!(0.2)));
    let desired = Desired {
        agents: vec![spec],
        ..Desired::default()
    };
    let live = Live {
        agents: vec![live_agent("agent_1", "Support", &["ds_2", "ds_1"])],
        data_sources: Some(vec![
            live_source("ds_1", "Docs"),
            live_source("ds_2", "Blog"),
        ]),
        ..Live::default()
    };
    let (plan, ops) = diff(&desired, &live).unwrap();
    assert_eq!(plan.changes.len(), 1);
    let c = &plan.changes[0];
    assert_eq!(c.action, Action::Update);
    assert_eq!(
        c.changed_fields().map(|f| f.name).collect::<Vec<_>>(),
        vec!["temperature"]
    );
    assert_eq!(
        ops[0],
        vec![Op::UpdateAgent {
            id: "agent_1".into(),
            fields: AgentFields {
                table: json!({"temperature": 0.2}).as_object().cloned().unwrap(),
                ..AgentFields::default()
            }
        }]
    );
}

#[test]
fn a_pinned_agent_with_a_new_name_is_renamed() {
    let mut spec = agent("Support v2");
    spec.id = Some("agent_1".into());
    spec.data_sources = None;
    let desired = Desired {
        agents: vec![spec],
        ..Desired::default()
    };
    let live = Live {
        agents: vec![live_agent("agent_1", "Support", &[])],
        ..Live::default()
    };
    let (plan, ops) = diff(&desired, &live).unwrap();
    let Op::UpdateAgent { fields, .. } = &ops[0][0] else {
        panic!("not an update");
    };
    assert_eq!(fields.name.as_deref(), Some("Support v2"));
    assert_eq!(
        plan.changes[0].field("name").unwrap().transition(),
        "name: \"Support\" → \"Support v2\""
    );
}

#[test]
fn two_live_agents_with_the_manifest_name_stop_the_plan_naming_both() {
    let desired = Desired {
        agents: vec![AgentSpec {
            data_sources: None,
            ..agent("Support")
        }],
        ..Desired::default()
    };
    let live = Live {
        agents: vec![
            live_agent("agent_1", "Support", &[]),
            live_agent("agent_2", "Support", &[]),
        ],
        ..Live::default()
    };
    let e = diff(&desired, &live).unwrap_err();
    assert!(e.problems[0].contains("agent_1, agent_2"), "{e}");
}

#[test]
fn a_data_source_difference_is_manual_and_masks_interpolated_config() {
    let token = interpolate("${WIKI_TOKEN}", &|_| Some("s3cr3t-new".into())).unwrap();
    let mut spec = source("Wiki");
    spec.values.set("type", Val::Json(json!("confluence")));
    spec.values.set(
        "config",
        Val::Map(BTreeMap::from([("token".to_string(), Val::Text(token))])),
    );
    spec.values
        .set("sync_frequency", Val::Json(json!("hourly")));
    let mut live = live_source("ds_1", "Wiki");
    live.source_type = Some("confluence".into());
    live.config = serde_json::from_value(serde_json::json!({"token": "s3cr3t-old"})).ok();
    let desired = Desired {
        data_sources: vec![spec],
        ..Desired::default()
    };
    let live = Live {
        data_sources: Some(vec![live]),
        ..Live::default()
    };
    let (plan, ops) = diff(&desired, &live).unwrap();
    let c = &plan.changes[0];
    assert_eq!(c.action, Action::Manual);
    assert!(ops[0].is_empty(), "nothing to send");
    assert!(c.reason.as_deref().unwrap().contains("Twig's settings"));
    let shown = serde_json::to_string(c).unwrap();
    assert!(!shown.contains("s3cr3t"), "{shown}");
    // Both sides masked alike: the field is listed, its values are not.
    assert_eq!(
        c.field("config").unwrap().after.display(),
        r#"{"token":"(sensitive)"}"#
    );
    assert!(c.reason.as_deref().unwrap().contains("config"));
    assert_eq!(plan.summary().manual, 1);
}

#[test]
fn users_are_invited_once_and_a_role_change_is_manual() {
    let desired = Desired {
        users: vec![
            user("ana@example.com", "Ana", "admin"),
            user("ben@example.com", "Ben", "train"),
        ],
        ..Desired::default()
    };
    let live = Live {
        users: Some(vec![User {
            id: Some("user_1".into()),
            email: "Ana@Example.com".into(),
            name: "Ana".into(),
            role: "train".into(),
            status: None,
            other: Default::default(),
        }]),
        ..Live::default()
    };
    let (plan, _) = diff(&desired, &live).unwrap();
    let actions: Vec<(String, Action)> = plan
        .changes
        .iter()
        .map(|c| (c.address.clone(), c.action))
        .collect();
    assert_eq!(
        actions,
        vec![
            (user_address("ana@example.com"), Action::Manual),
            (user_address("ben@example.com"), Action::Create)
        ]
    );
    assert_eq!(
        plan.changes[0].field("role").unwrap().transition(),
        "role: \"train\" → \"admin\""
    );
}

#[test]
fn undeclared_agents_are_deleted_only_with_prune() {
    let live = Live {
        agents: vec![live_agent("agent_9", "Old", &[])],
        ..Live::default()
    };
    let mut desired = Desired::default();
    let (plan, _) = diff(&desired, &live).unwrap();
    assert!(plan.changes.is_empty());
    assert_eq!(plan.unmanaged, vec![agent_address("Old")]);
    desired.prune = true;
    let (plan, ops) = diff(&desired, &live).unwrap();
    assert_eq!(plan.changes[0].action, Action::Delete);
    assert_eq!(
        ops[0],
        vec![Op::DeleteAgent {
            id: "agent_9".into()
        }]
    );
}

#[test]
fn an_unknown_data_source_is_an_error_naming_the_manifest() {
    let desired = Desired {
        agents: vec![AgentSpec {
            data_sources: Some(vec!["Nowhere".into()]),
            ..agent("Support")
        }],
        ..Desired::default()
    };
    let live = Live {
        data_sources: Some(Vec::new()),
        ..Live::default()
    };
    let e = diff(&desired, &live).unwrap_err();
    assert!(
        e.problems[0].contains("`Nowhere`") && e.problems[0].contains("twig.yaml:1"),
        "{e}"
    );
}

#[test]
fn a_prompt_differing_only_in_line_endings_is_the_same() {
    let desired = Desired {
        agents: vec![AgentSpec {
            values: agent("Support")
                .values
                .with("system_prompt", Val::Text(Text::plain("Be\nhelpful.\n"))),
            data_sources: None,
            ..agent("Support")
        }],
        ..Desired::default()
    };
    let mut a = live_agent("agent_1", "Support", &[]);
    a.system_prompt = Some("Be\r\nhelpful.".into());
    let live = Live {
        agents: vec![a],
        ..Live::default()
    };
    let (plan, _) = diff(&desired, &live).unwrap();
    assert!(plan.changes.is_empty());
}

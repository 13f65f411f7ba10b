//! The emulator's rules over HTTP: unique external ids, refused old fields, write-only secrets, entries, models, hostile input, faults and persistence.

use super::*;

#[test]
fn external_ids_are_unique_per_parent_and_labels_are_checked() {
    let e = Emu::start();
    let (a, _) = e.agent("one", json!({}));
    let (b, _) = e.agent("two", json!({}));
    let (s, v) = e.call(
        "POST",
        &format!("{W}/agents"),
        Some(json!({"metadata": {"name": "x", "externalId": "one"}, "spec": {}})),
    );
    assert_eq!((s, v["code"].as_u64()), (409, Some(6)));
    // Another parent: free.
    e.ok(
        "POST",
        &format!("{W}/agents/{b}/variations"),
        json!({"metadata": {"name": "d", "externalId": "other"}, "spec": {}}),
    );
    let (s, _) = e.call(
        "POST",
        &format!("{W}/agents/{a}/variations"),
        Some(json!({"metadata": {"name": "d", "externalId": "default"}, "spec": {}})),
    );
    assert_eq!(s, 409);
    let (s, _) = e.call("PATCH", &format!("{W}/agents/{b}"), Some(json!({"metadata": {"name": "two", "externalId": "one"}, "updateMask": "metadata.externalId"})));
    assert_eq!(s, 409, "an update may not take another's externalId");
    for labels in [
        json!({"bad key": "v"}),
        json!({"k": "-bad"}),
        json!({"Upper.Case/k": "v"}),
        json!({"k": "x".repeat(64)}),
    ] {
        let f = e.refused(
            "POST",
            &format!("{W}/agents"),
            json!({"metadata": {"name": "l", "labels": labels}, "spec": {}}),
            400,
        );
        assert_eq!(f, vec!["metadata.labels".to_string()]);
    }
    e.ok(
        "POST",
        &format!("{W}/agents"),
        json!({"metadata": {"name": "l", "labels": {"twinform.io/owner": "ci-1", "twinform.io/value-hmac": "0123456789abcdef0123456789abcdef", "empty": ""}}, "spec": {}}),
    );
    e.stop();
}

#[test]
fn old_fields_and_routes_are_refused_by_name() {
    let e = Emu::start();
    let (a, v) = e.agent("ask", json!({}));
    let ts = e.tool_set("crm");
    let cases = [
        (
            format!("{W}/agents"),
            json!({"metadata": {"name": "x", "bundleKey": "b"}, "spec": {}}),
            "metadata.bundleKey",
        ),
        (
            format!("{W}/agents"),
            json!({"metadata": {"name": "x"}, "spec": {"status": "AGENT_STATUS_DRAFT"}}),
            "spec.status",
        ),
        (
            format!("{W}/agents"),
            json!({"metadata": {"name": "x"}, "spec": {"inputDataSchema": {}}}),
            "spec.inputDataSchema",
        ),
        (
            format!("{W}/agents/{a}/variations"),
            json!({"metadata": {"name": "x"}, "spec": {"prompt": "p"}}),
            "spec.prompt",
        ),
        (
            format!("{W}/agents/{a}/variations"),
            json!({"metadata": {"name": "x"}, "spec": {"weight": 1}}),
            "spec.weight",
        ),
        (
            format!("{W}/agents/{a}/variations"),
            json!({"metadata": {"name": "x"}, "spec": {"enableEpisodicMemory": true}}),
            "spec.enableEpisodicMemory",
        ),
        (
            format!("{W}/agents/{a}/variations"),
            json!({"metadata": {"name": "x"}, "spec": {"progressiveDiscovery": {"rerankThreshold": 0.5}}}),
            "spec.progressiveDiscovery.rerankThreshold",
        ),
        (
            format!("{W}/agents/{a}/schedules"),
            json!({"metadata": {"name": "x"}, "spec": {"initialMessage": "m", "schedule": {"timezone": "UTC", "intervals": [{"every": "60s"}]}}}),
            "spec.initialMessage",
        ),
        (
            format!("{W}/agents/{a}/schedules"),
            json!({"metadata": {"name": "x"}, "spec": {"data": {}, "schedule": {"timezone": "UTC", "intervals": [{"every": "60s"}]}}}),
            "spec.data",
        ),
        (
            format!("{W}/tool_sets/{ts}/tools"),
            json!({"metadata": {"name": "x"}, "spec": {"status": "TOOL_STATUS_AVAILABLE", "description": "d", "requiresApproval": false, "parameters": {}, "config": {"type": "http", "http": {"requestMethod": "GET"}}}}),
            "spec.status",
        ),
        (
            format!("{W}/tool_sets"),
            json!({"metadata": {"name": "x"}, "spec": {"adapter": {"http": {}}}}),
            "spec.adapter.type",
        ),
        (
            format!("{W}/tool_sets"),
            json!({"metadata": {"name": "x"}, "spec": {"adapter": {"type": "http"}}}),
            "spec.adapter.http",
        ),
        (
            format!("{W}/tool_sets"),
            json!({"metadata": {"name": "x"}, "spec": {"adapter": {"type": "ftp", "ftp": {}}}}),
            "spec.adapter.type",
        ),
        (
            format!("{W}/agents/{a}/variations"),
            json!({"metadata": {"name": "x"}, "spec": {"constraints": {"inactivityTimeout": "2h"}}}),
            "spec.constraints.inactivityTimeout",
        ),
        (
            format!("{W}/agents/{a}/variations"),
            json!({"metadata": {"name": "x"}, "spec": {"modelConfig": {"modelId": "openai.gpt-4.1"}}}),
            "spec.modelConfig.modelId",
        ),
    ];
    for (path, body, field) in cases {
        let f = e.refused("POST", &path, body, 400);
        assert_eq!(f, vec![field.to_string()], "{path}");
    }
    let f = e.refused(
        "PATCH",
        &format!("{W}/agents/{a}/variations/{v}"),
        json!({"spec": {"weight": 3}, "updateMask": "spec.weight"}),
        400,
    );
    assert_eq!(f, vec!["spec.weight".to_string()]);
    let (s, body) = e.call(
        "PATCH",
        &format!("{W}/agents/{a}/variations/{v}"),
        Some(json!({"spec": {"weight": 3}})),
    );
    assert!(
        s == 400 && body["message"].as_str().unwrap().contains("info.score"),
        "{body}"
    );
    for (method, path) in [
        ("PUT", format!("{W}/tool_sets/{ts}")),
        ("PUT", format!("{W}/models/external_id:openai-gpt-5/status")),
        ("POST", format!("{W}/agents/{a}/variations/{v}/assignments")),
        (
            "POST",
            format!("{W}/agents/{a}/variations/{v}/memory_layer_assignments"),
        ),
        ("GET", "/v1/workspaces/current".to_string()),
        ("POST", format!("{W}/bulk_workspace_applies")),
    ] {
        let (s, _) = e.call(method, &path, Some(json!({})));
        assert!(s == 404 || s == 405, "{method} {path}: {s}");
    }
    e.stop();
}

#[test]
fn secrets_are_write_only() {
    let e = Emu::start();
    let set = e.ok(
        "POST",
        &format!("{W}/tool_sets"),
        json!({"metadata": {"name": "s"}, "spec": {"adapter": {"type": "bare", "bare": {}}, "secrets": [{"name": "A", "value": "va"}, {"name": "B", "value": "vb"}]}}),
    );
    let ts = id(&set);
    assert_eq!(
        set["spec"]["secrets"],
        json!([{"name": "A"}, {"name": "B"}])
    );
    let listed = e.get(&format!("{W}/tool_sets/{ts}/secrets"));
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    assert!(!listed.to_string().contains("va"), "{listed}");
    // Masking spec.secrets replaces the set: B goes, C comes, A keeps its value.
    let out = e.ok(
        "PATCH",
        &format!("{W}/tool_sets/{ts}"),
        json!({"spec": {"adapter": {"type": "bare", "bare": {}}, "secrets": [{"name": "A"}, {"name": "C", "value": "vc"}]}, "updateMask": "spec.secrets"}),
    );
    assert_eq!(
        out["spec"]["secrets"],
        json!([{"name": "A"}, {"name": "C"}])
    );
    let a_value = e.shared.with_store(false, |s| {
        s.records(&format!(
            "{}/tool_sets/{ts}/secrets",
            s.workspaces[0]["metadata"]["id"].as_str().unwrap()
        ))
        .iter()
        .find(|r| r["metadata"]["name"] == "A")
        .map(|r| r["spec"]["value"].clone())
    });
    assert_eq!(a_value, Some(json!("va")));
    // Another mask leaves them alone.
    let out = e.ok(
        "PATCH",
        &format!("{W}/tool_sets/{ts}"),
        json!({"spec": {"description": "d"}, "updateMask": "spec.description"}),
    );
    assert_eq!(
        out["spec"]["secrets"],
        json!([{"name": "A"}, {"name": "C"}])
    );
    let (s, _) = e.call(
        "POST",
        &format!("{W}/tool_sets/{ts}/secrets"),
        Some(json!({"metadata": {"name": "A"}, "spec": {"value": "x"}})),
    );
    assert_eq!(s, 409, "secret names are unique in their set");
    let w = e.ok(
        "POST",
        &format!("{W}/workspace_secrets"),
        json!({"metadata": {"name": "TOKEN", "externalId": "token"}, "spec": {"value": "hunter2"}}),
    );
    assert_eq!(w["spec"], json!({}));
    let w = e.ok(
        "PATCH",
        &format!("{W}/workspace_secrets/external_id:token"),
        json!({"spec": {"value": "hunter3"}, "updateMask": "spec.value"}),
    );
    assert_eq!(w["spec"], json!({}));
    let all = e.get(&format!("{W}/workspace_secrets"));
    assert!(!all.to_string().contains("hunter"), "{all}");
    e.stop();
}

#[test]
fn memory_entries_keep_content_out_of_lists() {
    let e = Emu::start();
    let l = e.layer("kb");
    let path = format!("{W}/memory_layers/{l}/entries");
    let created = e.ok(
        "POST",
        &path,
        json!({"metadata": {"name": "Setup", "externalId": "setup", "labels": {"k": "v"}}, "spec": {"type": "content", "key": "skills/setup", "content": "body"}}),
    );
    assert_eq!(created["content"], "body");
    assert_eq!(
        created["spec"],
        json!({"key": "skills/setup", "description": ""})
    );
    let listed = e.get(&path);
    assert!(listed["items"][0].get("content").is_none());
    let updated = e.ok(
        "PATCH",
        &format!("{path}/external_id:setup"),
        json!({"metadata": {"name": "Setup 2"}, "spec": {"content": "body 2", "description": "when"}, "updateMask": "content,description"}),
    );
    assert_eq!(updated["content"], "body 2");
    assert_eq!(
        updated["spec"],
        json!({"key": "skills/setup", "description": "when"})
    );
    assert_eq!(
        updated["metadata"]["externalId"], "",
        "entry metadata is replaced whole"
    );
    assert_eq!(updated["metadata"]["labels"], json!({}));
    for key in ["/a", "a/", "a//b", "cadenya/x", "system/x", "sp ace"] {
        let f = e.refused("POST", &path, json!({"metadata": {"name": "k"}, "spec": {"type": "content", "key": key, "content": "c"}}), 400);
        assert_eq!(f, vec!["spec.key".to_string()], "{key}");
    }
    let f = e.refused(
        "PATCH",
        &format!("{path}/{}", id(&created)),
        json!({"spec": {"type": "content"}, "updateMask": "content"}),
        400,
    );
    assert_eq!(f, vec!["spec.type".to_string()], "the update spec is flat");
    let (_, epi) = e
        .shared
        .with_store(true, |s| {
            s.seed_episodic_layer("external_id:default", "agent_x", "k")
        })
        .unwrap();
    let (s, v) = e.call(
        "POST",
        &format!("{W}/memory_layers/{}/entries", id(&epi)),
        Some(json!({"metadata": {"name": "x"}, "spec": {"type": "content", "key": "k", "content": "c"}})),
    );
    assert_eq!(
        (s, v["code"].as_u64()),
        (400, Some(9)),
        "a system-managed layer's entries are the runtime's"
    );
    let kept = e.ok(
        "PATCH",
        &format!("{W}/memory_layers/{l}"),
        json!({"spec": {"type": "MEMORY_LAYER_TYPE_EPISODIC", "description": "x"}, "updateMask": "spec.type,spec.description"}),
    );
    assert_eq!(
        kept["spec"]["type"], "MEMORY_LAYER_TYPE_SKILLS",
        "spec.type is ignored on update"
    );
    assert_eq!(kept["spec"]["description"], "x");
    let whole = e.ok(
        "PATCH",
        &format!("{W}/memory_layers/{l}"),
        json!({"spec": {}, "updateMask": "spec"}),
    );
    assert_eq!(whole["spec"]["type"], "MEMORY_LAYER_TYPE_SKILLS");
    let layers = e.get(&format!("{W}/memory_layers?type=MEMORY_LAYER_TYPE_SKILLS"));
    assert_eq!(
        layers["items"].as_array().unwrap().len(),
        1,
        "the type filter leaves episodic layers out"
    );
    e.stop();
}

#[test]
fn models_are_referenced_by_provider_key_and_toggled_by_actions() {
    let e = Emu::start();
    let m = e.ok(
        "POST",
        &format!("{W}/models/external_id:openai-gpt-5:disable"),
        json!({}),
    );
    assert_eq!(m["state"], "STATE_DISABLED");
    let disabled = e.get(&format!("{W}/models?state=STATE_DISABLED"));
    assert!(disabled["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["metadata"]["externalId"] == "openai-gpt-5"));
    let m = e.ok("POST", &format!("{W}/models/{}:enable", id(&m)), json!({}));
    assert_eq!(m["state"], "STATE_ENABLED");
    let keys = e.get(&format!("{W}/ai_provider_keys"));
    assert_eq!(
        keys["items"][0]["metadata"]["externalId"],
        "getting-started-key"
    );
    let canonical = id(&e.get(&format!(
        "{W}/models/external_id:anthropic-claude-sonnet-4-6"
    )));
    for reference in [MODEL, canonical.as_str()] {
        e.agent(
            &format!("a-{}", reference.len()),
            json!({"modelConfig": {"modelId": reference}}),
        );
    }
    let assigned = e.get(&format!("{W}/models?isAssigned=true"));
    assert_eq!(assigned["items"].as_array().unwrap().len(), 2);
    for bad in [
        "anthropic/claude-sonnet-4.6",
        "getting-started-key.nope",
        "other-key.openai-gpt-4-1",
        "a.b.c",
    ] {
        let f = e.refused(
            "POST",
            &format!("{W}/agents"),
            json!({"metadata": {"name": "x"}, "spec": {}, "defaultVariation": {"metadata": {"name": "d"}, "spec": {"modelConfig": {"modelId": bad}}}}),
            400,
        );
        assert_eq!(
            f,
            vec!["defaultVariation.spec.modelConfig.modelId".to_string()],
            "{bad}"
        );
    }
    e.stop();
}

#[test]
fn hostile_input_is_answered_not_crashed_on() {
    let e = Emu::start();
    let (a, v) = e.agent("ask", json!({}));
    let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    let bodies = [
        "not json",
        "[]",
        "\"s\"",
        "null",
        "{\"metadata\": []}",
        "{\"metadata\": {\"name\": 5}}",
        "{\"metadata\": {\"name\": \"x\"}, \"spec\": {\"modelConfig\": {\"modelId\": \"m\", \"topK\": 1e400}}}",
        "{\"metadata\": {\"name\": \"x\"}, \"spec\": {\"memoryLayerAssignments\": [{\"memoryLayerId\": \"x\", \"position\": 9223372036854775807}]}}",
        "{\"updateMask\": 5}",
        "{\"updateMask\": \"...,spec..x,\"}",
        "{\"type\": \"toolId\"}",
        "{\"memoryLayerId\": {}}",
        deep.as_str(),
    ];
    let paths = [
        format!("{W}/agents"),
        format!("{W}/agents/{a}"),
        format!("{W}/agents/{a}/variations"),
        format!("{W}/agents/{a}/variations/{v}"),
        format!("{W}/agents/{a}/variations/{v}:addAssignment"),
        format!("{W}/agents/{a}/variations/{v}:addMemoryLayer"),
        format!("{W}/agents/{a}/variations/{v}:updateMemoryLayer"),
        format!("{W}/tool_sets"),
        format!("{W}/memory_layers"),
        "/v1/account/workspaces".to_string(),
        format!("{W}/agents/%ZZ"),
        format!("{W}/agents/%FF%FE"),
        format!("{W}/agents/{a}/variations/{v}/x/y/z"),
        format!("{W}//agents"),
        format!("{W}/agents/:publish"),
        format!("{W}/agents?limit=99999999999999999999999"),
        format!("{W}/agents?cursor=%00"),
    ];
    for p in &paths {
        for m in ["GET", "POST", "PATCH", "PUT", "DELETE"] {
            for b in bodies {
                let (s, _) = e.raw(m, p, b);
                assert!(s < 500, "{m} {p} {}: {s}", &b[..b.len().min(40)]);
            }
        }
    }
    // The emulator still answers (the DELETEs took the agent).
    e.get(&format!("{W}/agents"));
    e.stop();
}

#[test]
fn faults_and_persistence_still_work_through_the_engine() {
    let e = Emu::with(
        FaultConfig {
            rate_503: 1.0,
            ..FaultConfig::default()
        },
        None,
    );
    let (s, v) = e.call("GET", &format!("{W}/agents"), None);
    assert_eq!((s, v["code"].as_u64()), (503, Some(14)), "{v}");
    assert!(e.shared.stats.with_status(503) >= 1);
    e.stop();

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("cadenya.json");
    let e = Emu::with(FaultConfig::default(), Some(&state));
    let (a, _) = e.agent("kept", json!({"modelConfig": {"modelId": MODEL}}));
    e.ok("POST", &format!("{W}/agents/{a}:publish"), json!({}));
    e.stop();
    let e = Emu::with(FaultConfig::default(), Some(&state));
    let got = e.get(&format!("{W}/agents/external_id:kept"));
    assert_eq!(
        (id(&got), got["state"].as_str()),
        (a, Some("STATE_PUBLISHED"))
    );
    assert_eq!(e.shared.stats.reads(), 1);
    e.stop();
}

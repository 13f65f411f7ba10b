//! The Cadenya emulator over HTTP, without the provider: the answers the SDK
//! (`cadenya` 1.8.0) needs, paging, masks, ids in paths, the API's rules,
//! write-only secrets, hostile input, faults and persistence.
//! (`.ci/cadenya-conformance` drives the same emulator with the SDK itself.)

use std::sync::Arc;

use serde_json::{json, Value};
use tokio::runtime::Runtime;
use twinform::engine::emulation::{FaultConfig, Shared};
use twinform::providers::cadenya::emulator::{self, Emulator, Store};
mod rules;

const W: &str = "/v1/workspaces/external_id:default";
const MODEL: &str = "getting-started-key.openai-gpt-4-1";

struct Emu {
    rt: Runtime,
    base: String,
    http: reqwest::Client,
    shared: Arc<Shared<Store>>,
    emulator: Option<Emulator>,
}

impl Emu {
    fn with(faults: FaultConfig, state: Option<&std::path::Path>) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let emulator = rt
            .block_on(emulator::start("127.0.0.1:0", state, &faults))
            .unwrap();
        Emu {
            base: emulator.endpoint(),
            shared: emulator.shared.clone(),
            emulator: Some(emulator),
            http: reqwest::Client::new(),
            rt,
        }
    }

    fn start() -> Self {
        Self::with(FaultConfig::default(), None)
    }

    fn stop(mut self) {
        if let Some(e) = self.emulator.take() {
            self.rt.block_on(e.stop()).unwrap();
        }
    }

    /// `(status, body)`; an empty body is `null`.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth("test-key");
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.rt.block_on(async {
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        })
    }

    fn raw(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth("test-key")
            .body(body.to_string());
        self.rt.block_on(async {
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        })
    }

    fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let (s, v) = self.call(method, path, Some(body));
        assert!((200..300).contains(&s), "{method} {path}: {s} {v}");
        v
    }

    fn get(&self, path: &str) -> Value {
        let (s, v) = self.call("GET", path, None);
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }

    /// The call fails with `status`; its google.rpc field violations.
    fn refused(&self, method: &str, path: &str, body: Value, status: u16) -> Vec<String> {
        let (s, v) = self.call(method, path, Some(body));
        assert_eq!(s, status, "{method} {path}: {v}");
        assert!(
            v["code"].is_u64() && v["message"].is_string(),
            "a google.rpc Status: {v}"
        );
        fields(&v)
    }

    fn tool_set(&self, ext: &str) -> String {
        let v = self.ok(
            "POST",
            &format!("{W}/tool_sets"),
            json!({"metadata": {"name": ext, "externalId": ext},
                   "spec": {"adapter": {"type": "http", "http": {"baseUrl": "https://x.example", "headers": {"A": "1"}}}}}),
        );
        id(&v)
    }

    fn tool(&self, set: &str, name: &str) -> String {
        let v = self.ok(
            "POST",
            &format!("{W}/tool_sets/{set}/tools"),
            json!({"metadata": {"name": name, "externalId": name},
                   "spec": {"description": "d", "requiresApproval": false, "parameters": {},
                            "config": {"type": "http", "http": {"requestMethod": "GET", "path": "/x"}}}}),
        );
        id(&v)
    }

    fn layer(&self, ext: &str) -> String {
        let v = self.ok(
            "POST",
            &format!("{W}/memory_layers"),
            json!({"metadata": {"name": ext, "externalId": ext}, "spec": {"type": "MEMORY_LAYER_TYPE_SKILLS"}}),
        );
        id(&v)
    }

    /// An agent with one variation (`default`), returned as (agent, variation).
    fn agent(&self, ext: &str, vspec: Value) -> (String, String) {
        let a = self.ok(
            "POST",
            &format!("{W}/agents"),
            json!({"metadata": {"name": ext, "externalId": ext, "labels": {"twinform.io/owner": "t"}}, "spec": {},
                   "defaultVariation": {"metadata": {"name": "default", "externalId": "default"}, "spec": vspec}}),
        );
        let a = id(&a);
        let v = self.get(&format!("{W}/agents/{a}/variations"));
        (
            a,
            v["items"][0]["metadata"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        )
    }
}

fn id(v: &Value) -> String {
    v["metadata"]["id"].as_str().unwrap().to_string()
}

fn fields(v: &Value) -> Vec<String> {
    v["details"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|d| d["fieldViolations"].as_array().cloned().unwrap_or_default())
        .map(|f| f["field"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn answers_carry_every_field_the_sdk_requires() {
    let e = Emu::start();
    let ts = e.tool_set("crm");
    let tool = e.tool(&ts, "get");
    let layer = e.layer("facts");
    let (a, _) = e.agent(
        "ask",
        json!({"modelConfig": {"modelId": MODEL},
               "assignments": [{"type": "toolSetId", "toolSetId": ts}, {"type": "toolId", "toolId": tool}],
               "memoryLayerAssignments": [{"memoryLayerId": layer, "position": 0}]}),
    );
    let agent = e.get(&format!("{W}/agents/{a}"));
    for f in [
        "id",
        "accountId",
        "workspaceId",
        "name",
        "externalId",
        "labels",
        "profileId",
        "createdAt",
    ] {
        assert!(!agent["metadata"][f].is_null(), "metadata.{f}: {agent}");
    }
    assert_eq!(agent["state"], "STATE_DRAFT");
    assert_eq!(agent["info"]["variationCount"], 1);
    // Millisecond timestamps.
    let at = agent["metadata"]["createdAt"].as_str().unwrap();
    assert!(
        at.ends_with('Z') && at.len() == "2026-01-01T00:00:00.000Z".len(),
        "{at}"
    );
    // info on lists without includeInfo; assignment lists always there.
    let list = e.get(&format!("{W}/agents/{a}/variations"));
    let var = &list["items"][0];
    for f in [
        "toolCount",
        "toolSetCount",
        "subAgentCount",
        "score",
        "feedbackCount",
        "memoryLayerCount",
        "effectiveToolCount",
        "assignmentMetadata",
        "agentPoolCount",
    ] {
        assert!(!var["info"][f].is_null(), "info.{f}: {var}");
    }
    assert_eq!(var["spec"]["assignments"][0]["type"], "toolSetId");
    assert_eq!(var["info"]["effectiveToolCount"], 1);
    assert_eq!(var["info"]["model"]["externalId"], "openai-gpt-4-1");
    let (_, bare) = e.agent("bare", json!({}));
    let bare = e.get(&format!("{W}/agents/external_id:bare/variations/{bare}"));
    assert_eq!(bare["spec"]["assignments"], json!([]));
    assert_eq!(bare["spec"]["memoryLayerAssignments"], json!([]));
    // Unions keep their tags; tools and tool sets their state.
    let t = e.get(&format!("{W}/tool_sets/{ts}/tools/{tool}"));
    assert_eq!(t["spec"]["config"]["type"], "http");
    assert_eq!(t["state"], "STATE_AVAILABLE");
    assert_eq!(t["spec"]["requiresApproval"], false);
    let s = e.get(&format!("{W}/tool_sets/{ts}"));
    assert_eq!(s["spec"]["adapter"]["type"], "http");
    assert_eq!(s["state"], "STATE_ACTIVE");
    let l = e.get(&format!("{W}/memory_layers/{layer}"));
    assert_eq!(l["spec"]["systemManaged"], false);
    assert_eq!(l["spec"]["agentId"], "");
    assert_eq!(l["spec"]["episodicKey"], "");
    assert_eq!(l["info"]["entryCount"], 0);
    let m = e.get(&format!("{W}/models/external_id:openai-gpt-4-1"));
    for f in ["state", "provenance", "basePricing"] {
        assert!(!m[f].is_null(), "{f}: {m}");
    }
    assert!(m["spec"]["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["type"].is_string()));
    let who = e.get("/v1/whoami");
    assert_eq!(who["profile"]["spec"]["type"], "PROFILE_TYPE_API_KEY");
    assert_eq!(who["defaultWorkspace"]["externalId"], "default");
    let (s, _) = e.call("GET", "/v1/workspaces/current", None);
    assert_eq!(s, 404, "the old current-workspace endpoint is gone");
    e.stop();
}

#[test]
fn paging_walks_every_page_with_the_same_parameters() {
    let e = Emu::start();
    let mut made = Vec::new();
    for i in 0..5 {
        let v = e.ok(
            "POST",
            &format!("{W}/agents"),
            json!({"metadata": {"name": format!("a{i}"), "labels": {"team": "x", "n": if i % 2 == 0 { "even" } else { "odd" }}}, "spec": {}}),
        );
        made.push(id(&v));
    }
    e.ok(
        "POST",
        &format!("{W}/agents"),
        json!({"metadata": {"name": "other", "labels": {"team": "y"}}, "spec": {}}),
    );
    let q = "limit=2&labels=team%3Dx";
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let path = if cursor.is_empty() {
            format!("{W}/agents?{q}")
        } else {
            format!("{W}/agents?{q}&cursor={cursor}")
        };
        let page = e.get(&path);
        pages += 1;
        seen.extend(page["items"].as_array().unwrap().iter().map(id));
        cursor = page["pagination"]["nextCursor"]
            .as_str()
            .unwrap()
            .to_string();
        if cursor.is_empty() {
            break;
        }
        // A next page asked with other parameters is refused.
        let (s, _) = e.call(
            "GET",
            &format!("{W}/agents?limit=3&labels=team%3Dx&cursor={cursor}"),
            None,
        );
        assert_eq!(s, 400);
    }
    assert_eq!((pages, seen), (3, made.clone()));
    let even = e.get(&format!("{W}/agents?labels=team%3Dx%2Cn%3Deven"));
    let even: Vec<String> = even["items"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(
        even,
        vec![made[0].clone(), made[2].clone(), made[4].clone()]
    );
    for bad in [
        "limit=101",
        "limit=-1",
        "limit=x",
        "cursor=zz",
        "cursor=00",
        "labels=novalue",
        "bundleKey=b",
        "state=STATE_NOPE",
    ] {
        let (s, v) = e.call("GET", &format!("{W}/agents?{bad}"), None);
        assert_eq!(s, 400, "{bad}: {v}");
        assert_eq!(v["code"], 3);
    }
    let all = e.get(&format!("{W}/agents?limit=100"));
    assert_eq!(all["items"].as_array().unwrap().len(), 6);
    assert_eq!(all["pagination"]["nextCursor"], "");
    e.stop();
}

#[test]
fn masks_apply_at_the_leaf() {
    let e = Emu::start();
    let ts = e.tool_set("crm");
    let tool = e.tool(&ts, "get");
    let (a, v) = e.agent(
        "ask",
        json!({"systemPromptTemplate": "p", "modelConfig": {"modelId": MODEL, "temperature": 0.1, "topP": 0.9},
               "assignments": [{"type": "toolId", "toolId": tool}]}),
    );
    let path = format!("{W}/agents/{a}/variations/{v}");
    let out = e.ok(
        "PATCH",
        &path,
        json!({"spec": {"modelConfig": {"modelId": MODEL, "temperature": 0.7}}, "updateMask": "spec.modelConfig.temperature"}),
    );
    assert_eq!(
        out["spec"]["modelConfig"],
        json!({"modelId": MODEL, "temperature": 0.7, "topP": 0.9})
    );
    assert_eq!(out["spec"]["systemPromptTemplate"], "p");
    assert_eq!(out["spec"]["assignments"].as_array().unwrap().len(), 1);
    // snake_case paths; a masked field absent from the body is cleared.
    let out = e.ok(
        "PATCH",
        &path,
        json!({"spec": {}, "updateMask": "spec.model_config.top_p, spec.system_prompt_template"}),
    );
    assert_eq!(
        out["spec"]["modelConfig"],
        json!({"modelId": MODEL, "temperature": 0.7})
    );
    assert!(out["spec"].get("systemPromptTemplate").is_none());
    // Repeated fields are replaced whole.
    let out = e.ok(
        "PATCH",
        &path,
        json!({"spec": {"assignments": [{"type": "toolSetId", "toolSetId": ts}]}, "updateMask": "spec.assignments"}),
    );
    assert_eq!(
        out["spec"]["assignments"],
        json!([{"type": "toolSetId", "toolSetId": ts}])
    );
    // Unknown paths, paths into lists or maps, output-only fields: 400.
    for mask in [
        "spec.weight",
        "spec.assignments.toolId",
        "metadata.labels.x",
        "state",
        "info.score",
        "spec.modelConfig.nope",
    ] {
        let f = e.refused("PATCH", &path, json!({"spec": {}, "updateMask": mask}), 400);
        assert_eq!(f, vec!["updateMask".to_string()], "{mask}");
    }
    // Clearing modelId (required in modelConfig) is refused, naming it.
    let f = e.refused(
        "PATCH",
        &path,
        json!({"spec": {}, "updateMask": "spec.modelConfig.modelId"}),
        400,
    );
    assert_eq!(f, vec!["spec.modelConfig.modelId".to_string()]);
    // A leaf inside a union selects its variant; siblings stay.
    let set = e.ok(
        "PATCH",
        &format!("{W}/tool_sets/{ts}"),
        json!({"spec": {"adapter": {"type": "http", "http": {"baseUrl": "https://y.example"}}}, "updateMask": "spec.adapter.http.baseUrl"}),
    );
    assert_eq!(
        set["spec"]["adapter"],
        json!({"type": "http", "http": {"baseUrl": "https://y.example", "headers": {"A": "1"}}})
    );
    // Without a mask, the fields present are replaced.
    let set = e.ok(
        "PATCH",
        &format!("{W}/tool_sets/{ts}"),
        json!({"spec": {"description": "d"}}),
    );
    assert_eq!(set["spec"]["description"], "d");
    assert_eq!(
        set["spec"]["adapter"]["http"]["baseUrl"],
        "https://y.example"
    );
    // Metadata: name is required whenever metadata is sent.
    e.refused(
        "PATCH",
        &path,
        json!({"metadata": {"labels": {}}, "updateMask": "metadata.labels"}),
        400,
    );
    let out = e.ok(
        "PATCH",
        &path,
        json!({"metadata": {"name": "renamed", "labels": {"k": "v"}}, "updateMask": "metadata.name"}),
    );
    assert_eq!(out["metadata"]["name"], "renamed");
    assert_eq!(
        out["metadata"]["externalId"], "default",
        "unmasked metadata stays"
    );
    assert_eq!(out["metadata"]["labels"], json!({}));
    e.stop();
}

#[test]
fn ids_in_paths_are_canonical_or_external_ids_encoded_or_not() {
    let e = Emu::start();
    let (a, _) = e.agent("my agent/1", json!({"modelConfig": {"modelId": MODEL}}));
    for p in [
        format!("{W}/agents/{a}"),
        format!("{W}/agents/external_id%3Amy%20agent%2F1"),
        "/v1/workspaces/external_id%3Adefault/agents/external_id%3Amy%20agent%2F1".to_string(),
    ] {
        assert_eq!(id(&e.get(&p)), a, "{p}");
    }
    // Actions after the encoded id, or after a raw external_id:.
    let out = e.ok(
        "POST",
        &format!("{W}/agents/external_id%3Amy%20agent%2F1:publish"),
        json!({}),
    );
    assert_eq!(out["state"], "STATE_PUBLISHED");
    e.agent("plain", json!({}));
    let (s, out) = e.raw("POST", &format!("{W}/agents/external_id:plain:archive"), "");
    assert_eq!((s, out["state"].as_str()), (200, Some("STATE_ARCHIVED")));
    // An empty body is no body; a bodyless action refuses fields.
    let (s, _) = e.raw(
        "POST",
        &format!("{W}/agents/external_id:plain:unarchive"),
        "",
    );
    assert_eq!(s, 200);
    e.refused(
        "POST",
        &format!("{W}/agents/{a}:unpublish"),
        json!({"force": true}),
        400,
    );
    let (s, _) = e.call(
        "POST",
        &format!("{W}/agents/{a}:frobnicate"),
        Some(json!({})),
    );
    assert_eq!(s, 404);
    let (s, _) = e.call("GET", &format!("{W}/agents/external_id%3Anope"), None);
    assert_eq!(s, 404);
    e.stop();
}

#[test]
fn agents_publish_only_with_a_variation_and_keep_their_last_one() {
    let e = Emu::start();
    let empty = e.ok(
        "POST",
        &format!("{W}/agents"),
        json!({"metadata": {"name": "e"}, "spec": {}}),
    );
    let (s, v) = e.call("POST", &format!("{W}/agents/{}:publish", id(&empty)), None);
    assert_eq!((s, v["code"].as_u64()), (400, Some(9)), "{v}");
    let (a, v) = e.agent("ask", json!({}));
    let pub_ = e.ok("POST", &format!("{W}/agents/{a}:publish"), json!({}));
    assert_eq!(pub_["state"], "STATE_PUBLISHED");
    let again = e.ok("POST", &format!("{W}/agents/{a}:publish"), json!({}));
    assert_eq!(
        again["state"], "STATE_PUBLISHED",
        "publishing a published agent changes nothing"
    );
    let (s, _) = e.call("DELETE", &format!("{W}/agents/{a}/variations/{v}"), None);
    assert_eq!(s, 400, "the last variation of a published agent");
    let (s, _) = e.call("DELETE", &format!("{W}/agents/{a}"), None);
    assert_eq!(s, 400, "a published agent is unpublished first");
    let v2 = e.ok(
        "POST",
        &format!("{W}/agents/{a}/variations"),
        json!({"metadata": {"name": "b"}, "spec": {}}),
    );
    let (s, _) = e.call("DELETE", &format!("{W}/agents/{a}/variations/{v}"), None);
    assert_eq!(s, 204, "not the last one");
    let sched = e.ok(
        "POST",
        &format!("{W}/agents/{a}/schedules"),
        json!({"metadata": {"name": "s"}, "spec": {"schedule": {"timezone": "UTC", "intervals": [{"every": "3600s"}]}, "variationId": id(&v2)}}),
    );
    assert_eq!(sched["state"], "STATE_ACTIVE");
    assert_eq!(
        e.ok(
            "POST",
            &format!("{W}/agents/{a}/schedules/{}:pause", id(&sched)),
            json!({})
        )["state"],
        "STATE_PAUSED"
    );
    e.ok("POST", &format!("{W}/agents/{a}:unpublish"), json!({}));
    let (s, _) = e.call(
        "DELETE",
        &format!("{W}/agents/{a}/variations/{}", id(&v2)),
        None,
    );
    assert_eq!(s, 400, "a variation a schedule pins");
    assert_eq!(
        e.ok("POST", &format!("{W}/agents/{a}:archive"), json!({}))["state"],
        "STATE_ARCHIVED"
    );
    let listed = e.get(&format!("{W}/agents"));
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| id(x) != a),
        "archived agents are hidden by default"
    );
    let (s, _) = e.call("POST", &format!("{W}/agents/{a}:publish"), None);
    assert_eq!(s, 400, "an archived agent is unarchived first");
    assert_eq!(
        e.ok("POST", &format!("{W}/agents/{a}:unarchive"), json!({}))["state"],
        "STATE_DRAFT"
    );
    let (s, _) = e.call("DELETE", &format!("{W}/agents/{a}"), None);
    assert_eq!(s, 204);
    let (s, _) = e.call(
        "GET",
        &format!("{W}/agents/{a}/schedules/{}", id(&sched)),
        None,
    );
    assert_eq!(s, 404, "children go with their agent");
    e.stop();
}

#[test]
fn assignments_and_memory_stacks() {
    let e = Emu::start();
    let ts = e.tool_set("crm");
    let tool = e.tool(&ts, "get");
    let layers: Vec<String> = (0..11).map(|i| e.layer(&format!("l{i}"))).collect();
    let (a, v) = e.agent(
        "ask",
        json!({"assignments": [{"type": "toolId", "toolId": tool}, {"type": "toolSetId", "toolSetId": "external_id:crm"}],
               "memoryLayerAssignments": [{"memoryLayerId": "external_id:l0", "position": 0}]}),
    );
    let path = format!("{W}/agents/{a}/variations/{v}");
    let got = e.get(&path);
    assert_eq!(
        got["spec"]["assignments"][1]["toolSetId"],
        ts.as_str(),
        "external ids are stored canonical"
    );
    assert_eq!(
        got["spec"]["memoryLayerAssignments"][0]["memoryLayerId"],
        layers[0].as_str()
    );
    // Actions answer the whole variation.
    let pos = |v: &Value| -> Vec<(String, i64)> {
        v["spec"]["memoryLayerAssignments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["memoryLayerId"].as_str().unwrap().to_string(),
                    m["position"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let out = e.ok(
        "POST",
        &format!("{path}:addMemoryLayer"),
        json!({"memoryLayerId": layers[1]}),
    );
    assert_eq!(
        pos(&out)[1],
        (layers[1].clone(), 1),
        "an omitted position is max+1"
    );
    let (s, _) = e.call(
        "POST",
        &format!("{path}:addMemoryLayer"),
        Some(json!({"memoryLayerId": layers[1]})),
    );
    assert_eq!(s, 409);
    let f = e.refused(
        "POST",
        &format!("{path}:addMemoryLayer"),
        json!({"memoryLayerId": layers[2], "position": 0}),
        400,
    );
    assert_eq!(f, vec!["position".to_string()]);
    for (i, l) in layers.iter().enumerate().take(10).skip(2) {
        e.ok(
            "POST",
            &format!("{path}:addMemoryLayer"),
            json!({"memoryLayerId": l, "position": i * 10}),
        );
    }
    let (s, v10) = e.call(
        "POST",
        &format!("{path}:addMemoryLayer"),
        Some(json!({"memoryLayerId": layers[10]})),
    );
    assert_eq!(
        (s, v10["code"].as_u64()),
        (400, Some(9)),
        "at most 10 layers: {v10}"
    );
    let (s, _) = e.call(
        "POST",
        &format!("{path}:updateMemoryLayer"),
        Some(json!({"memoryLayerId": layers[10], "position": 3})),
    );
    assert_eq!(s, 404, "an unassigned layer");
    let out = e.ok(
        "POST",
        &format!("{path}:updateMemoryLayer"),
        json!({"memoryLayerId": layers[1], "position": 500}),
    );
    assert!(pos(&out).contains(&(layers[1].clone(), 500)));
    // An assigned layer cannot be deleted; once removed it can.
    let (s, _) = e.call("DELETE", &format!("{W}/memory_layers/{}", layers[1]), None);
    assert_eq!(s, 400);
    e.ok(
        "POST",
        &format!("{path}:removeMemoryLayer"),
        json!({"memoryLayerId": layers[1]}),
    );
    let (s, _) = e.call("DELETE", &format!("{W}/memory_layers/{}", layers[1]), None);
    assert_eq!(s, 204);
    // System-managed layers are never assigned.
    let (_, epi) = e
        .shared
        .with_store(true, |s| {
            s.seed_episodic_layer("external_id:default", &a, "k1")
        })
        .unwrap();
    let (s, v) = e.call(
        "POST",
        &format!("{path}:addMemoryLayer"),
        Some(json!({"memoryLayerId": id(&epi)})),
    );
    assert_eq!((s, v["code"].as_u64()), (400, Some(9)), "{v}");
    let f = e.refused(
        "PATCH",
        &path,
        json!({"spec": {"memoryLayerAssignments": [{"memoryLayerId": id(&epi), "position": 0}]}, "updateMask": "spec.memoryLayerAssignments"}),
        400,
    );
    assert!(f.is_empty(), "a FailedPrecondition: {f:?}");
    // Inline stacks: unique positions, replaced atomically.
    let f = e.refused(
        "PATCH",
        &path,
        json!({"spec": {"memoryLayerAssignments": [{"memoryLayerId": layers[0], "position": 1}, {"memoryLayerId": layers[2], "position": 1}]}, "updateMask": "spec.memoryLayerAssignments"}),
        400,
    );
    assert_eq!(
        f,
        vec!["spec.memoryLayerAssignments[1].position".to_string()]
    );
    // Assignment actions address targets by id; duplicates are 409, absent ones 404.
    let (s, _) = e.call(
        "POST",
        &format!("{path}:addAssignment"),
        Some(json!({"type": "toolId", "toolId": tool})),
    );
    assert_eq!(s, 409);
    let (s, _) = e.call(
        "POST",
        &format!("{path}:addAssignment"),
        Some(json!({"toolId": tool})),
    );
    assert_eq!(s, 400, "the body is a tagged union");
    let f = e.refused(
        "POST",
        &format!("{path}:addAssignment"),
        json!({"type": "subAgentId", "subAgentId": a}),
        400,
    );
    assert_eq!(f, vec!["subAgentId".to_string()], "not its own sub-agent");
    let (_, pool) = e
        .shared
        .with_store(true, |s| {
            s.seed_agent_pool("external_id:default", "pool", "pool")
        })
        .unwrap();
    let out = e.ok(
        "POST",
        &format!("{path}:addAssignment"),
        json!({"type": "agentPoolId", "agentPoolId": id(&pool)}),
    );
    assert_eq!(out["info"]["agentPoolCount"], 1);
    // Deleting an assigned tool is allowed: it drops out of the assignments.
    let (s, _) = e.call("DELETE", &format!("{W}/tool_sets/{ts}/tools/{tool}"), None);
    assert_eq!(s, 204);
    let got = e.get(&path);
    let tags: Vec<&str> = got["spec"]["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["type"].as_str().unwrap())
        .collect();
    assert_eq!(tags, vec!["toolSetId", "agentPoolId"]);
    let (s, _) = e.call(
        "POST",
        &format!("{path}:removeAssignment"),
        Some(json!({"type": "toolId", "toolId": tool})),
    );
    assert_eq!(s, 404);
    e.ok(
        "POST",
        &format!("{path}:removeAssignment"),
        json!({"type": "toolSetId", "toolSetId": ts}),
    );
    e.stop();
}

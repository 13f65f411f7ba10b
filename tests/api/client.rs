//! The client against the emulator: retries, lost answers, restarts, credentials never shown, and tolerance of other valid answer shapes.

use super::*;

#[tokio::test]
async fn retries_503_and_429_then_succeeds_counting_attempts() {
    let (emu, c) = start(FaultArgs {
        rate_503: 0.3,
        rate_429: 0.1,
        seed: 7,
        ..FaultArgs::default()
    })
    .await;
    for _ in 0..60 {
        c.list_workspaces().await.unwrap();
    }
    let answered_503 = emu.shared.stats.with_status(503);
    let answered_429 = emu.shared.stats.with_status(429);
    assert!(
        answered_503 > 0 && answered_429 > 0,
        "faults were not injected"
    );
    let retries = c.stats.retries.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        retries,
        answered_503 + answered_429,
        "every fault answer is retried exactly once"
    );
    assert_eq!(
        emu.shared
            .stats
            .total
            .load(std::sync::atomic::Ordering::Relaxed),
        60 + retries
    );
}

#[tokio::test]
async fn client_errors_are_never_retried() {
    let (emu, c) = start(FaultArgs::default()).await;
    for _ in 0..3 {
        let _ = c.get_schedule("nope").await;
        let _ = c.put_schedule("nope", "bad").await;
    }
    assert_eq!(
        c.stats.retries.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    assert_eq!(
        emu.shared
            .stats
            .total
            .load(std::sync::atomic::Ordering::Relaxed),
        6
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (_emu, c) = start(FaultArgs {
        rpm: 3,
        ..FaultArgs::default()
    })
    .await;
    for _ in 0..3 {
        c.me().await.unwrap();
    }
    // The 4th request in the window must wait for the reset, not fail.
    let started = std::time::Instant::now();
    let fut = c.me();
    let r = tokio::time::timeout(Duration::from_millis(500), fut).await;
    assert!(
        r.is_err(),
        "the 4th request did not wait for the window (took {:?})",
        started.elapsed()
    );
}

#[tokio::test]
async fn creates_are_never_duplicated_after_a_reset_after_commit() {
    let (emu, c) = start(FaultArgs {
        rate_reset: 1.0,
        ..FaultArgs::default()
    })
    .await;
    // Every write commits, then the connection drops: the client must read back.
    let (a, created) = c.ensure_agent(&agent("once", None)).await.unwrap();
    assert_eq!(a.agent_id, "once");
    assert!(created);
    let ws = c
        .ensure_workspace(
            "Once",
            &c.list_workspaces()
                .await
                .unwrap()
                .iter()
                .map(|w| w.workspace_id.clone())
                .collect(),
        )
        .await
        .unwrap();
    assert_eq!(ws.name, "Once");
    let names: Vec<String> = c
        .list_workspaces()
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.name)
        .collect();
    assert_eq!(
        names.iter().filter(|n| *n == "Once").count(),
        1,
        "workspace created twice: {names:?}"
    );
    c.set_instructions(
        "once",
        &PutInstructions {
            content: "hello".into(),
            source_type: None,
            source_id: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        c.instructions_history("once", None).await.unwrap().len(),
        1,
        "instructions PUT twice"
    );
    assert_eq!(emu.shared.stats.count("POST", "/v1/agents"), 1);
}

#[tokio::test]
async fn a_lost_webhook_answer_is_replaced_so_its_secret_is_known() {
    for seed in 0..5 {
        let (emu, c) = start(FaultArgs {
            rate_reset: 0.5,
            seed,
            ..FaultArgs::default()
        })
        .await;
        c.ensure_agent(&agent("hooked", None)).await.unwrap();
        let hook = c
            .create_webhook_once(
                "hooked",
                "https://h.example/x",
                &["run.failed".into()],
                &HashSet::new(),
            )
            .await
            .unwrap()
            .webhook;
        let hooks = c.list_webhooks("hooked").await.unwrap();
        assert_eq!(
            hooks.len(),
            1,
            "seed {seed}: {} webhooks left behind",
            hooks.len()
        );
        assert_eq!(hooks[0].webhook_id, hook.webhook_id);
        let stored = emu.shared.with_store(false, |s| {
            s.webhooks
                .get(&hook.webhook_id)
                .and_then(|w| w.signing_secret.clone())
        });
        assert_eq!(
            stored, hook.signing_secret,
            "seed {seed}: the secret we hold is not the webhook's"
        );
    }
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("twin.json");
    let emu = emulator::start("127.0.0.1:0", Some(&state), &FaultArgs::default().config())
        .await
        .unwrap();
    let c = client_for(&emu.endpoint(), Duration::from_secs(5));
    let ws = c.create_workspace("Kept").await.unwrap();
    c.create_agent(&agent("kept", Some(&ws.workspace_id)))
        .await
        .unwrap();
    c.put_instructions(
        "kept",
        &PutInstructions {
            content: "remember me".into(),
            source_type: None,
            source_id: None,
        },
    )
    .await
    .unwrap();
    emu.stop().await.unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let emu = emulator::start("127.0.0.1:0", Some(&state), &FaultArgs::default().config())
        .await
        .unwrap();
    let c = client_for(&emu.endpoint(), Duration::from_secs(5));
    assert_eq!(
        c.get_agent("kept").await.unwrap().unwrap().workspace_id,
        Some(ws.workspace_id.clone())
    );
    assert_eq!(
        c.get_instructions("kept").await.unwrap().unwrap().content,
        "remember me"
    );
    // Ids keep counting: nothing collides with what existed before.
    let next = c.create_workspace("New").await.unwrap();
    assert_ne!(next.workspace_id, ws.workspace_id);
    emu.stop().await.unwrap();
}

#[test]
fn whoami_with_verbose_never_shows_the_key() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    let out = twin
        .cmd(dir.path())
        .args(["whoami", "-v"])
        .assert()
        .success();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.get_output().stdout),
        String::from_utf8_lossy(&out.get_output().stderr)
    );
    assert!(all.contains("GET /v1/me → 200"), "no trace: {all}");
    assert!(all.contains("user_local"));
    assert!(!all.contains(KEY), "the API key leaked: {all}");
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("twinform")
        .unwrap()
        .current_dir(dir.path())
        .args(["whoami", "--endpoint", "http://build.twin.so"])
        .env("TWIN_API_KEY", KEY)
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("refusing plain http"), "{err}");
    assert!(!err.contains(KEY));
}

#[tokio::test]
async fn the_client_accepts_other_valid_answer_shapes() {
    use axum::http::StatusCode;
    use axum::routing::{get, patch, post, put};
    use axum::{Json, Router};
    // Another implementation: bare 2xx answers, 404 for "none", a create answer without the agent.
    let app = Router::new()
        .route("/v1/agents", post(|| async { (StatusCode::CREATED, Json(serde_json::json!({}))) }))
        .route("/v1/agents/a1", get(|| async { Json(serde_json::json!({"agent": {"agent_id": "a1", "deployment_state": "something-new"}})) }))
        .route("/v1/agents/a1/instructions", get(|| async { StatusCode::NOT_FOUND }))
        .route("/v1/agents/a1/schedule", get(|| async { (StatusCode::OK, Json(serde_json::json!({"schedule": null}))) }))
        .route("/v1/agents/a1/webhooks/w1", patch(|| async { StatusCode::NO_CONTENT }))
        .route("/v1/workspaces/w1", put(|| async { StatusCode::OK }))
        .route("/v1/workspaces", get(|| async { Json(serde_json::json!({"workspaces": [{"workspace_id": "w1", "name": "A", "icon_config": {"emoji": "x"}, "new_field": [1, 2]}]})) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let c = client_for(&endpoint, Duration::from_secs(5));
    let (a, created) = c.ensure_agent(&agent("a1", None)).await.unwrap();
    assert_eq!(
        (a.agent_id.as_str(), created),
        ("a1", true),
        "a 2xx without the agent is read back"
    );
    assert!(c.get_instructions("a1").await.unwrap().is_none());
    assert!(c.get_schedule("a1").await.unwrap().is_none());
    assert!(c
        .patch_webhook("a1", "w1", &PatchWebhook::default())
        .await
        .unwrap()
        .is_none());
    assert!(c.update_workspace("w1", "A", None).await.unwrap().is_none());
    let ws = c.list_workspaces().await.unwrap();
    assert_eq!(ws[0].icon_config.as_deref(), Some(r#"{"emoji":"x"}"#));
}

/// A Twin server whose agent list refuses a page size and whose schedule
/// list names no agent (each agent's schedule is at `/v1/agents/a1/schedule`).
fn anonymous_schedules() -> axum::Router {
    use axum::extract::Query;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use axum::routing::get;
    use axum::{Json, Router};
    use std::collections::HashMap;
    Router::new()
        .route(
            "/v1/agents",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                if q.contains_key("limit") {
                    return (StatusCode::UNPROCESSABLE_ENTITY, "limit must be at most 50")
                        .into_response();
                }
                Json(serde_json::json!({"agents": [{"agent_id": "a1", "workspace_id": "w1"}]}))
                    .into_response()
            }),
        )
        .route(
            "/v1/workspaces",
            get(|| async {
                Json(serde_json::json!({"workspaces": [{"workspace_id": "w1", "name": "A"}]}))
            }),
        )
        .route(
            "/v1/schedules",
            get(|| async {
                Json(serde_json::json!({"schedules": [{"cron": "0 0 9 * * * *", "paused": false}]}))
            }),
        )
        .route(
            "/v1/agents/a1/schedule",
            get(|| async {
                Json(serde_json::json!({"schedule": {"cron": "0 0 9 * * * *", "paused": true}}))
            }),
        )
}

#[tokio::test]
async fn the_reader_copes_with_a_refused_page_size_and_anonymous_schedules() {
    let app = anonymous_schedules();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let c = client_for(&endpoint, Duration::from_secs(5));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.yaml"), "kind: Workspace\nname: A\n---\nkind: Agent\nid: a1\nworkspace: A\nschedule:\n  cron: \"0 0 9 * * * *\"\n  paused: true\n").unwrap();
    let desired = common::desired(dir.path(), &[]);
    let live = read::read(&c, &desired, 4, &Scope::default())
        .await
        .unwrap();
    assert_eq!(
        live.agents.len(),
        1,
        "the default page size was not used after the refusal"
    );
    assert!(
        live.schedules["a1"].paused,
        "the agent's own schedule was not read"
    );
    assert!(common::diff(&desired, &live).is_empty());
}

/// Export is the plan's read asked for everything: a server whose schedule
/// list names no agent has each agent's schedule read on its own, so the
/// export holds it (export listed on its own before and dropped it).
#[tokio::test]
async fn export_reads_as_a_plan_does_anonymous_schedules_included() {
    use axum::routing::get;
    use axum::Json;
    let app = anonymous_schedules()
        .route(
            "/v1/agents/a1/instructions",
            get(|| async { Json(serde_json::json!({"instructions": {"content": "Be brief.\n"}})) }),
        )
        .route(
            "/v1/agents/a1/webhooks",
            get(|| async { Json(serde_json::json!({"webhooks": []})) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let c = client_for(&endpoint, Duration::from_secs(5));
    let filter = twinform::engine::provider::ExportFilter::default();
    let export = Twin.export(&c, &filter, 4).await.unwrap();
    let all: String = export.files.values().cloned().collect();
    assert!(all.contains("cron: 0 0 9 * * * *"), "{all}");
    assert!(all.contains("paused: true"), "{all}");
    assert!(
        export.files.values().any(|f| f.contains("Be brief.")),
        "{all}"
    );
}

type Answer = Box<dyn Fn(&str, &HashMap<String, String>) -> serde_json::Value + Send + Sync>;

/// A server whose `/v1/agents` and webhook lists answer `answer(path, query)`.
async fn hostile(
    answer: impl Fn(&str, &HashMap<String, String>) -> serde_json::Value + Clone + Send + Sync + 'static,
) -> (String, Arc<AtomicU64>) {
    use axum::extract::{Query, Request};
    use axum::routing::any;
    use axum::{Json, Router};
    let writes = Arc::new(AtomicU64::new(0));
    let w = writes.clone();
    let app = Router::new().fallback(any(
        move |Query(q): Query<HashMap<String, String>>, req: Request| {
            let (answer, w) = (answer.clone(), w.clone());
            async move {
                if req.method() != axum::http::Method::GET {
                    w.fetch_add(1, Ordering::SeqCst);
                }
                Json(answer(req.uri().path(), &q))
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (endpoint, writes)
}

#[tokio::test]
async fn a_malformed_list_or_a_looping_cursor_is_an_error_not_an_empty_account() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "kind: Workspace\nname: A\n---\nkind: Agent\nid: a1\nworkspace: A\nwebhooks: []\n",
    )
    .unwrap();
    let desired = common::desired(dir.path(), &[]);
    let workspaces = json!({"workspaces": [{"workspace_id": "w1", "name": "A"}]});
    let agent = json!({"agent_id": "a1", "workspace_id": "w1"});
    let cases: Vec<(&str, Answer)> = vec![
        (
            "agents {}",
            Box::new({
                let workspaces = workspaces.clone();
                move |p, _| {
                    if p == "/v1/workspaces" {
                        workspaces.clone()
                    } else {
                        json!({})
                    }
                }
            }),
        ),
        (
            "webhooks {}",
            Box::new({
                let (workspaces, agent) = (workspaces.clone(), agent.clone());
                move |p, _| match p {
                    "/v1/workspaces" => workspaces.clone(),
                    "/v1/agents" => json!({"agents": [agent]}),
                    _ => json!({}),
                }
            }),
        ),
        (
            "repeated cursor",
            Box::new({
                let (workspaces, agent) = (workspaces.clone(), agent.clone());
                move |p, q| match p {
                    "/v1/workspaces" => workspaces.clone(),
                    "/v1/agents" if q.contains_key("cursor") => {
                        json!({"agents": [], "next_cursor": "c1"})
                    }
                    "/v1/agents" => json!({"agents": [agent], "next_cursor": "c1"}),
                    _ => json!({"webhooks": []}),
                }
            }),
        ),
    ];
    for (what, answer) in cases {
        let answer = Arc::new(answer);
        let (endpoint, writes) = hostile(move |p, q| answer(p, q)).await;
        let c = client_for(&endpoint, Duration::from_secs(5));
        let read = read::read(&c, &desired, 4, &Scope::default()).await;
        let err = read
            .err()
            .unwrap_or_else(|| panic!("{what}: read as a valid state"));
        assert!(matches!(err, ApiError::Decode { .. }), "{what}: {err}");
        assert_eq!(writes.load(Ordering::SeqCst), 0, "{what}");
    }
}

#[tokio::test]
async fn an_opaque_cursor_over_a_list_that_moves_skips_no_agent() {
    // A server whose cursor is an offset in disguise: after the first page,
    // someone deletes an agent before the cursor and creates one, so the
    // second page starts one agent later. Twin's cursor names the last agent
    // of its page (one read is enough); this one does not, so the list is
    // read until two reads agree.
    let list = Arc::new(std::sync::Mutex::new((
        (0..210).map(|i| format!("a{i:03}")).collect::<Vec<_>>(),
        0u32,
    )));
    let state = list.clone();
    let (endpoint, _) = hostile(move |path, q| {
        if path != "/v1/agents" {
            return json!({});
        }
        let mut s = state.lock().unwrap();
        let start: usize = q
            .get("cursor")
            .and_then(|c| c.strip_prefix("c")?.parse().ok())
            .unwrap_or(0);
        let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(10);
        let agents: Vec<_> =
            s.0.iter()
                .skip(start)
                .take(limit)
                .map(|id| json!({"agent_id": id}))
                .collect();
        let end = start + agents.len();
        let mut page = json!({"agents": agents});
        if end < s.0.len() {
            page["next_cursor"] = json!(format!("c{end}"));
        }
        s.1 += 1;
        if s.1 == 1 {
            s.0.remove(5);
            s.0.push("z999".into());
        }
        page
    })
    .await;
    let c = client_for(&endpoint, Duration::from_secs(5));
    let ids: HashSet<String> = c
        .list_agents(None)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.agent_id)
        .collect();
    assert!(ids.contains("a200"), "a200 was skipped");
    let now: HashSet<String> = list.lock().unwrap().0.iter().cloned().collect();
    assert_eq!(ids, now);
}

//! Contract tests: the client against the emulator, endpoint by endpoint,
//! with each error status; the retry policy under injected faults; pagination;
//! persistence across a restart; and the API key never in `-v` output.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use common::{client_for, TestTwin, KEY};
use twinform::cli::FaultArgs;
use twinform::engine::http::{ApiError, ApiKey, Client, ClientConfig, RetryPolicy};
use twinform::engine::provider::{Provider, Scope};
use twinform::providers::twin::emulator::{self, Emulator, Store};
use twinform::providers::twin::wire::{
    CreateAgent, PatchWebhook, PutInstructions, RunQuery, StartRun,
};
use twinform::providers::twin::{read, Twin, TwinApi};

async fn start(faults: FaultArgs) -> (Emulator, TwinApi) {
    let emu = emulator::start_with("127.0.0.1:0", None, &faults.config(), Store::default())
        .await
        .unwrap();
    let client = client_for(&emu.endpoint(), Duration::from_secs(5));
    (emu, client)
}

fn status(e: ApiError) -> u16 {
    e.status()
        .unwrap_or_else(|| panic!("not a status error: {e}"))
}

fn agent(id: &str, ws: Option<&str>) -> CreateAgent {
    CreateAgent {
        agent_id: Some(id.into()),
        workspace_id: ws.map(str::to_string),
        ..CreateAgent::default()
    }
}

#[tokio::test]
async fn identity_and_api_keys() {
    let (_emu, c) = start(FaultArgs::default()).await;
    assert_eq!(c.me().await.unwrap().user_id, "user_local");
    assert!(c.list_api_keys().await.unwrap().is_empty());
    let created = c.create_api_key("ci").await.unwrap();
    assert!(created.api_key.starts_with("tw_live_"));
    assert!(
        !format!("{created:?}").contains(&created.api_key),
        "Debug shows the key"
    );
    let keys = c.list_api_keys().await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].name, "ci");
    // The new key works until it is revoked.
    let other = TwinApi {
        client: Client::new(
            ClientConfig {
                endpoint: c.endpoint().into(),
                timeout: Duration::from_secs(5),
                connect_timeout: Duration::from_secs(1),
                retry: RetryPolicy::default(),
            },
            ApiKey::new(created.api_key.clone()).unwrap(),
            Twin.profile(),
        )
        .unwrap(),
    };
    other.me().await.unwrap();
    c.revoke_api_key(&created.key_id).await.unwrap();
    assert_eq!(status(other.me().await.unwrap_err()), 401);
    assert_eq!(
        status(c.revoke_api_key(&created.key_id).await.unwrap_err()),
        404
    );
    assert_eq!(status(c.create_api_key("").await.unwrap_err()), 422);
}

#[tokio::test]
async fn missing_or_bearer_credentials_are_refused() {
    let (emu, _c) = start(FaultArgs::default()).await;
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{}/v1/me", emu.endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = http
        .get(format!("{}/v1/me", emu.endpoint()))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Bearer tokens are not supported"));
}

#[tokio::test]
async fn agents_lifecycle_and_errors() {
    let (_emu, c) = start(FaultArgs::default()).await;
    let ws = c.create_workspace("Team").await.unwrap();
    let a = c
        .create_agent(&agent("helper", Some(&ws.workspace_id)))
        .await
        .unwrap();
    assert_eq!(a.workspace_id.as_deref(), Some(ws.workspace_id.as_str()));
    assert_eq!(a.deployment_state.as_deref(), Some("draft"));
    assert_eq!(
        status(c.create_agent(&agent("helper", None)).await.unwrap_err()),
        409
    );
    assert_eq!(
        status(c.create_agent(&agent("-bad id", None)).await.unwrap_err()),
        422
    );
    assert_eq!(
        status(
            c.create_agent(&agent("x", Some("ws_nope")))
                .await
                .unwrap_err()
        ),
        404
    );
    let generated = c.create_agent(&CreateAgent::default()).await.unwrap();
    assert!(!generated.agent_id.is_empty());
    assert_eq!(
        c.get_agent("helper").await.unwrap().unwrap().agent_id,
        "helper"
    );
    assert!(
        c.get_agent("nope").await.unwrap().is_none(),
        "unknown agent (403) reads as absent"
    );
    // move
    let other = c.create_workspace("Other").await.unwrap();
    c.move_agent("helper", &other.workspace_id).await.unwrap();
    assert_eq!(
        c.get_agent("helper").await.unwrap().unwrap().workspace_id,
        Some(other.workspace_id.clone())
    );
    assert_eq!(
        status(c.move_agent("helper", "ws_nope").await.unwrap_err()),
        404
    );
    assert_eq!(
        status(c.move_agent("nope", &other.workspace_id).await.unwrap_err()),
        403
    );
    let in_other = c.list_agents(Some(&other.workspace_id)).await.unwrap();
    assert_eq!(
        in_other
            .iter()
            .map(|a| a.agent_id.as_str())
            .collect::<Vec<_>>(),
        vec!["helper"]
    );
    // delete cascades
    c.put_schedule("helper", "0 0 9 * * * *").await.unwrap();
    c.create_webhook("helper", "https://h.example/x", &["run.failed".into()])
        .await
        .unwrap();
    c.delete_agent("helper").await.unwrap();
    assert_eq!(status(c.delete_agent("helper").await.unwrap_err()), 404);
    assert!(
        c.list_schedules().await.unwrap().is_empty(),
        "schedule survived its agent"
    );
    assert_eq!(status(c.list_webhooks("helper").await.unwrap_err()), 403);
}

#[tokio::test]
async fn runs_and_events() {
    let (_emu, c) = start(FaultArgs::default()).await;
    c.create_agent(&agent("runner", None)).await.unwrap();
    let no_mode = StartRun {
        run_mode: "RUN".into(),
        user_message: None,
        skip_deploy_check: None,
    };
    assert_eq!(
        status(c.start_run("runner", &no_mode).await.unwrap_err()),
        400
    );
    let run = c
        .start_run(
            "runner",
            &StartRun {
                run_mode: "run".into(),
                user_message: Some("go".into()),
                skip_deploy_check: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(run.policy_type.as_deref(), Some("runner_v2"));
    let build = c
        .start_run(
            "runner",
            &StartRun {
                run_mode: "build".into(),
                user_message: None,
                skip_deploy_check: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(build.policy_type.as_deref(), Some("builder_v3"));
    assert_eq!(
        c.get_agent("runner")
            .await
            .unwrap()
            .unwrap()
            .deployment_state
            .as_deref(),
        Some("deployed")
    );
    let page = c
        .list_runs(
            "runner",
            &RunQuery {
                page_size: Some(1),
                ..RunQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((page.total_runs, page.runs.len()), (2, 1));
    let one = c
        .list_runs(
            "runner",
            &RunQuery {
                filter_run_id: Some(run.run_id.clone()),
                ..RunQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(one.runs[0].run_id, run.run_id);
    let events = c
        .list_run_events("runner", &run.run_id, None, None)
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    let after = c
        .list_run_events("runner", &run.run_id, Some(10), Some(0))
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(
        c.cancel_run("runner", &run.run_id, Some("done"))
            .await
            .unwrap(),
        "run already completed"
    );
    c.delete_run("runner", &run.run_id).await.unwrap();
    assert_eq!(
        status(c.delete_run("runner", &run.run_id).await.unwrap_err()),
        404
    );
    assert_eq!(
        status(c.cancel_run("runner", "run_nope", None).await.unwrap_err()),
        404
    );
    assert_eq!(
        status(c.list_runs("nope", &RunQuery::default()).await.unwrap_err()),
        403
    );
}

#[tokio::test]
async fn webhooks_and_signed_deliveries() {
    use axum::{routing::post, Router};
    let (_emu, c) = start(FaultArgs::default()).await;
    c.create_agent(&agent("hooked", None)).await.unwrap();
    // A receiver on loopback that records what it gets.
    let got = std::sync::Arc::new(tokio::sync::Mutex::new(
        Vec::<(String, String, String)>::new(),
    ));
    let sink = got.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let sink = sink.clone();
            async move {
                let h = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string()
                };
                sink.lock()
                    .await
                    .push((h("x-cobb-event"), h("x-cobb-signature"), body));
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let hook = c
        .create_webhook("hooked", &url, &["run.completed".into()])
        .await
        .unwrap();
    let secret = hook.signing_secret.clone().expect("secret on create");
    let listed = c.list_webhooks("hooked").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].signing_secret.is_none(), "secret listed again");
    assert!(c
        .get_webhook("hooked", &hook.webhook_id)
        .await
        .unwrap()
        .signing_secret
        .is_none());
    let patched = c
        .patch_webhook(
            "hooked",
            &hook.webhook_id,
            &PatchWebhook {
                events: Some(vec!["run.completed".into(), "run.failed".into()]),
                ..PatchWebhook::default()
            },
        )
        .await
        .unwrap();
    let patched = patched.expect("the emulator answers with the webhook");
    assert_eq!(patched.events.len(), 2);
    assert_eq!(
        patched.status, "active",
        "PATCH changed a field it was not sent"
    );
    assert_eq!(
        status(
            c.create_webhook("hooked", "ftp://x", &["run.failed".into()])
                .await
                .unwrap_err()
        ),
        422
    );
    assert_eq!(
        status(c.create_webhook("hooked", &url, &[]).await.unwrap_err()),
        422
    );
    assert_eq!(
        status(
            c.create_webhook("hooked", &url, &["run.nope".into()])
                .await
                .unwrap_err()
        ),
        422
    );
    let bad_status = PatchWebhook {
        status: Some("paused".into()),
        ..PatchWebhook::default()
    };
    assert_eq!(
        status(
            c.patch_webhook("hooked", &hook.webhook_id, &bad_status)
                .await
                .unwrap_err()
        ),
        422
    );
    assert_eq!(
        status(c.get_webhook("hooked", "wh_nope").await.unwrap_err()),
        404
    );

    c.start_run(
        "hooked",
        &StartRun {
            run_mode: "run".into(),
            user_message: None,
            skip_deploy_check: None,
        },
    )
    .await
    .unwrap();
    let mut delivered = Vec::new();
    for _ in 0..100 {
        delivered = got.lock().await.clone();
        if !delivered.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(delivered.len(), 1, "only the subscribed event is delivered");
    let (event, signature, body) = &delivered[0];
    assert_eq!(event, "run.completed");
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(signature, &expected, "signature does not verify");
    assert!(body.contains("\"outcome\":\"success\""));
    c.delete_webhook("hooked", &hook.webhook_id).await.unwrap();
    assert_eq!(
        status(
            c.delete_webhook("hooked", &hook.webhook_id)
                .await
                .unwrap_err()
        ),
        404
    );
}

#[tokio::test]
async fn schedules() {
    let (_emu, c) = start(FaultArgs::default()).await;
    c.create_agent(&agent("timed", None)).await.unwrap();
    assert!(c.get_schedule("timed").await.unwrap().is_none());
    assert_eq!(status(c.pause_schedule("timed").await.unwrap_err()), 404);
    assert_eq!(
        status(c.put_schedule("timed", "0 0 9 * * *").await.unwrap_err()),
        422
    );
    c.put_schedule("timed", "0 0 9 * * * *").await.unwrap();
    c.pause_schedule("timed").await.unwrap();
    c.put_schedule("timed", "0 30 9 * * * *").await.unwrap();
    let s = c.get_schedule("timed").await.unwrap().unwrap();
    assert_eq!(
        (s.cron.as_str(), s.paused),
        ("0 30 9 * * * *", true),
        "PUT must keep paused"
    );
    c.resume_schedule("timed").await.unwrap();
    assert!(!c.get_schedule("timed").await.unwrap().unwrap().paused);
    assert_eq!(c.list_schedules().await.unwrap().len(), 1);
    c.delete_schedule("timed").await.unwrap();
    assert_eq!(status(c.delete_schedule("timed").await.unwrap_err()), 404);
    assert_eq!(status(c.get_schedule("nope").await.unwrap_err()), 403);
}

#[tokio::test]
async fn strict_deploy_refuses_schedules_on_draft_agents() {
    let (_emu, c) = start(FaultArgs {
        strict: true,
        ..FaultArgs::default()
    })
    .await;
    c.create_agent(&agent("draft", None)).await.unwrap();
    let e = c.put_schedule("draft", "0 0 9 * * * *").await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "409 Conflict: agent is not deployed (PUT /v1/agents/draft/schedule)"
    );
}

#[tokio::test]
async fn instructions_and_history() {
    let (_emu, c) = start(FaultArgs::default()).await;
    c.create_agent(&agent("writer", None)).await.unwrap();
    assert!(
        c.get_instructions("writer").await.unwrap().is_none(),
        "{{}} means none"
    );
    let put = |content: &str| PutInstructions {
        content: content.into(),
        source_type: Some("twinform".into()),
        source_id: Some("abc".into()),
    };
    c.put_instructions("writer", &put("one")).await.unwrap();
    c.put_instructions("writer", &put("two ✓")).await.unwrap();
    let now = c.get_instructions("writer").await.unwrap().unwrap();
    assert_eq!(now.content, "two ✓");
    assert_eq!(
        now.content_hash.as_deref(),
        Some(twinform::engine::sha256_hex("two ✓".as_bytes()).as_str())
    );
    let history = c.instructions_history("writer", None).await.unwrap();
    assert_eq!(
        history
            .iter()
            .map(|v| v.content.as_str())
            .collect::<Vec<_>>(),
        vec!["two ✓", "one"]
    );
    assert_eq!(history[0].source_type.as_deref(), Some("twinform"));
    assert_eq!(
        c.instructions_history("writer", Some(1))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        status(c.put_instructions("nope", &put("x")).await.unwrap_err()),
        403
    );
}

#[tokio::test]
async fn workspaces() {
    let (_emu, c) = start(FaultArgs::default()).await;
    let first = c.list_workspaces().await.unwrap();
    assert_eq!(first.len(), 1, "an account starts with a default workspace");
    assert_eq!(
        status(
            c.delete_workspace(&first[0].workspace_id)
                .await
                .unwrap_err()
        ),
        409
    );
    let b = c.create_workspace("B").await.unwrap();
    let renamed = c
        .update_workspace(&b.workspace_id, "B2", Some(r#"{"emoji":"x"}"#))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.icon_config.as_deref()),
        ("B2", Some(r#"{"emoji":"x"}"#))
    );
    let ids = vec![b.workspace_id.clone(), first[0].workspace_id.clone()];
    c.reorder_workspaces(&ids).await.unwrap();
    assert_eq!(
        c.list_workspaces().await.unwrap()[0].workspace_id,
        b.workspace_id
    );
    assert_eq!(
        status(c.reorder_workspaces(&ids[..1]).await.unwrap_err()),
        422
    );
    c.create_agent(&agent("inside", Some(&b.workspace_id)))
        .await
        .unwrap();
    c.delete_workspace(&b.workspace_id).await.unwrap();
    assert!(
        c.get_agent("inside").await.unwrap().is_none(),
        "workspace delete keeps its agents"
    );
    assert_eq!(
        status(c.update_workspace("ws_nope", "x", None).await.unwrap_err()),
        404
    );
    assert_eq!(status(c.create_workspace("").await.unwrap_err()), 422);
}

#[tokio::test]
async fn unparseable_bodies_get_422_text() {
    let (emu, _c) = start(FaultArgs::default()).await;
    let r = reqwest::Client::new()
        .post(format!("{}/v1/workspaces", emu.endpoint()))
        .header("x-api-key", KEY)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
}

#[tokio::test]
async fn pagination_follows_the_cursor_across_pages() {
    let (emu, c) = start(FaultArgs::default()).await;
    for i in 0..450 {
        c.create_agent(&agent(&format!("a{i:04}"), None))
            .await
            .unwrap();
    }
    emu.shared.stats.reset();
    let all = c.list_agents(None).await.unwrap();
    assert_eq!(all.len(), 450);
    assert_eq!(
        all.iter()
            .map(|a| &a.agent_id)
            .collect::<HashSet<_>>()
            .len(),
        450,
        "duplicates across pages"
    );
    assert_eq!(
        emu.shared.stats.count("GET", "/v1/agents"),
        3,
        "200 + 200 + 50"
    );
    // The server's default page is 10 and omits next_cursor on the last page.
    let first = c.list_agents_page(None, None, None).await.unwrap();
    assert_eq!(first.agents.len(), 10);
    assert!(first.next_cursor.is_some());
    let last = c
        .list_agents_page(None, Some("a0440"), Some(200))
        .await
        .unwrap();
    assert_eq!(last.agents.len(), 9);
    assert!(last.next_cursor.is_none());
}

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

#[tokio::test]
async fn the_reader_copes_with_a_refused_page_size_and_anonymous_schedules() {
    use axum::extract::Query;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use axum::routing::get;
    use axum::{Json, Router};
    use std::collections::HashMap;
    let app = Router::new()
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
        );
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

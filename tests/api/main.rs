//! Contract tests: the client against the emulator, endpoint by endpoint,
//! with each error status; the retry policy under injected faults; pagination;
//! persistence across a restart; and the API key never in `-v` output.

#[path = "../common/mod.rs"]
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
mod client;

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

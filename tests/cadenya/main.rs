//! Cadenya end to end: the binary against the Cadenya emulator (the API of
//! the official SDK `cadenya` 1.8.0, which it enforces): convergence, the
//! read formula, minimal writes at leaf masks, assignment sets, memory
//! stacks, publication and pauses by actions, ownership and adoption,
//! prune, secrets by keyed fingerprint, faults, export round trip, pull,
//! and the keys the API no longer has.

use std::path::Path;
use std::sync::Arc;

use axum::http::Method;
use serde_json::{json, Value};
use tokio::runtime::Runtime;
use twinform::cli::FaultArgs;
use twinform::engine::emulation::{Hook, Shared};
use twinform::providers::cadenya::emulator::{self, Emulator, Store};
mod export_pull;

const KEY: &str = "cadenya_test_key_0123456789";

struct TestCadenya {
    rt: Runtime,
    endpoint: String,
    shared: Arc<Shared<Store>>,
    emulator: Option<Emulator>,
}

impl TestCadenya {
    fn with(faults: FaultArgs) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let emulator = rt
            .block_on(emulator::start_with(
                "127.0.0.1:0",
                None,
                &faults.config(),
                Store::seeded(),
            ))
            .unwrap();
        TestCadenya {
            endpoint: emulator.endpoint(),
            shared: emulator.shared.clone(),
            emulator: Some(emulator),
            rt,
        }
    }

    fn start() -> Self {
        Self::with(FaultArgs::default())
    }

    fn cmd(&self, dir: &Path) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("twinform").unwrap();
        c.current_dir(dir)
            .env("CADENYA_ENDPOINT", &self.endpoint)
            .env("CADENYA_API_KEY", KEY)
            .env("NO_COLOR", "1")
            .env("CRM_TOKEN", "crm-secret-value-0001")
            .env_remove("TWIN_API_KEY");
        c
    }

    fn run(&self, dir: &Path, args: &[&str]) -> std::process::Output {
        self.cmd(dir).args(args).output().unwrap()
    }

    fn apply(&self, dir: &Path) -> std::process::Output {
        self.run(dir, &["apply", "--auto-approve", "."])
    }

    fn plan_code(&self, dir: &Path) -> i32 {
        self.run(dir, &["plan", "--detailed-exitcode", "."])
            .status
            .code()
            .unwrap_or(-1)
    }

    fn store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        self.shared.with_store(true, f)
    }

    fn reset_stats(&self) {
        self.shared.stats.reset();
    }

    /// Every resource in collections whose path ends with `suffix`.
    fn all(&self, suffix: &str) -> Vec<Value> {
        self.store(|s| {
            s.items
                .iter()
                .filter(|(k, _)| k.ends_with(suffix))
                .flat_map(|(_, v)| v.clone())
                .collect()
        })
    }
}

impl Drop for TestCadenya {
    fn drop(&mut self) {
        if let Some(e) = self.emulator.take() {
            let _ = self.rt.block_on(e.stop());
        }
    }
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cadenya");
    copy(&src, dir.path());
    dir
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

fn edit(dir: &Path, from: &str, to: &str) {
    let p = dir.join("cadenya.yaml");
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains(from), "{from} not in the manifest");
    std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
}

fn ext(v: &Value) -> &str {
    v.pointer("/metadata/externalId")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

#[test]
fn the_example_converges_and_a_no_op_reads_exactly_the_formula() {
    let t = TestCadenya::start();
    let dir = example();
    let out = t.apply(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let agents = t.all("/agents");
    assert_eq!(agents.len(), 1);
    // `state` is output only, set by `:publish` (types.py:403).
    assert_eq!(agents[0].pointer("/state"), Some(&json!("STATE_PUBLISHED")));
    let default = t
        .all("/variations")
        .into_iter()
        .find(|v| ext(v) == "default")
        .unwrap();
    // Inline in the spec (types.py:695), tagged (types.py:5567).
    let assignments = default
        .pointer("/spec/assignments")
        .unwrap()
        .as_array()
        .unwrap();
    assert_eq!(assignments.len(), 2);
    assert!(assignments.iter().all(|a| a.get("type").is_some()));
    assert_eq!(
        default.pointer("/spec/memoryLayerAssignments/0/position"),
        Some(&json!(0))
    );
    assert_eq!(
        default.pointer("/spec/modelConfig"),
        Some(
            &json!({"modelId": "getting-started-key.anthropic-claude-sonnet-4-6", "temperature": 0.2, "reasoningEffort": "REASONING_EFFORT_MEDIUM"})
        )
    );
    assert_eq!(
        default.pointer("/spec/constraints/inactivityTimeout"),
        Some(&json!("7200s")),
        "a duration in protobuf JSON's form"
    );
    let schedule = &t.all("/schedules")[0];
    assert_eq!(
        schedule.pointer("/spec/schedule/calendars/0/hour"),
        Some(&json!([{"start": 2}])),
        "the cron compiled to a calendar"
    );

    t.reset_stats();
    assert_eq!(t.plan_code(dir.path()), 0);
    // The formula of read.rs: workspaces + agents, tool sets, layers,
    // secrets, models (one page each) + archived agents and tool sets (the
    // workspace prunes) + variations and schedules of the agent + tools and
    // secrets of the tool set + entries of the layer and one GET for its
    // declared entry.
    assert_eq!(t.shared.stats.reads(), 1 + 5 + 2 + 2 + 2 + 1 + 1);
    t.reset_stats();
    let out = t.apply(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(t.shared.stats.writes(), 0, "a no-op apply writes nothing");
}

#[test]
fn a_changed_prompt_is_one_patch_of_that_path() {
    let t = TestCadenya::start();
    let dir = example();
    assert!(t.apply(dir.path()).status.success());
    edit(
        dir.path(),
        "prompt: Answer in one sentence.",
        "prompt: Answer in two sentences.",
    );
    let plan = t.run(dir.path(), &["plan", "-o", "json", "."]);
    let v: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let changes = v["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{v:#}");
    assert_eq!(
        changes[0]["address"],
        "cadenya.agent[\"development/ask\"].variation[\"concise\"]"
    );
    t.reset_stats();
    assert!(t.apply(dir.path()).status.success());
    assert_eq!(t.shared.stats.writes(), 1);
    let concise = t
        .all("/variations")
        .into_iter()
        .find(|v| ext(v) == "concise")
        .unwrap();
    assert_eq!(
        concise.pointer("/spec/systemPromptTemplate"),
        Some(&json!("Answer in two sentences."))
    );
    assert_eq!(
        concise.pointer("/spec/modelConfig/modelId"),
        Some(&json!("getting-started-key.openai-gpt-5")),
        "unmasked fields kept"
    );
    assert_eq!(t.plan_code(dir.path()), 0);
}

#[test]
fn variation_prompts_and_memory_entries_render_from_templates() {
    let t = TestCadenya::start();
    let dir = example();
    std::fs::create_dir_all(dir.path().join("fragments")).unwrap();
    std::fs::write(dir.path().join("fragments/tone.md"), "Be brief.\n").unwrap();
    std::fs::write(
        dir.path().join("prompts/concise.md.j2"),
        "Answer in {{ n }} sentence{{ 's' if n > 1 }}.\n{% include \"fragments/tone.md\" %}",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("memory/refunds.md.j2"),
        "{% include \"memory/refunds.md\" %}{% include \"fragments/tone.md\" %}",
    )
    .unwrap();
    edit(
        dir.path(),
        "prompt: Answer in one sentence.",
        "prompt: {template: prompts/concise.md.j2, vars: {n: 2}}",
    );
    edit(
        dir.path(),
        "{file: memory/refunds.md}",
        "{template: memory/refunds.md.j2}",
    );
    assert!(t.apply(dir.path()).status.success());
    let concise = t
        .all("/variations")
        .into_iter()
        .find(|v| ext(v) == "concise")
        .unwrap();
    assert_eq!(
        concise.pointer("/spec/systemPromptTemplate"),
        Some(&json!("Answer in 2 sentences.\nBe brief.\n"))
    );
    let refunds = std::fs::read_to_string(dir.path().join("memory/refunds.md")).unwrap();
    let rendered = json!(format!("{refunds}Be brief.\n")).to_string();
    let entries = t.all("/entries");
    assert!(
        entries.iter().any(|e| e.to_string().contains(&rendered)),
        "{entries:#?}"
    );
    assert_eq!(t.plan_code(dir.path()), 0);
    // The shared fragment changes: both resources change, and the plan names it.
    std::fs::write(dir.path().join("fragments/tone.md"), "Be brief and kind.\n").unwrap();
    let out = text(&t.run(dir.path(), &["plan", "."]));
    assert_eq!(
        out.matches("from fragment fragments/tone.md").count(),
        2,
        "{out}"
    );
}

#[test]
fn a_schedule_shows_its_next_fire_times_in_its_timezone_and_utc() {
    let t = TestCadenya::start();
    let dir = example();
    let out = text(&t.run(dir.path(), &["plan", "."]));
    let line = out
        .lines()
        .skip_while(|l| !l.contains("+ schedule"))
        .nth(1)
        .unwrap_or_default();
    // 02:00 in Paris is 01:00 UTC in winter and 00:00 UTC in summer.
    assert!(line.trim_start().starts_with("next: "), "{out}");
    assert_eq!(line.matches(" 02:00:00 CE").count(), 3, "{line}");
    assert_eq!(line.matches(":00 UTC)").count(), 3, "{line}");
    let json = t.run(dir.path(), &["plan", "-o", "json", "."]);
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    let sched = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["resource"] == "schedule")
        .unwrap();
    assert_eq!(sched["after"]["cron"], "0 0 2 * * * *");
    assert_eq!(sched["notes"].as_array().map(Vec::len), Some(1));
}

#[test]
fn assignments_are_a_set_and_removals_come_before_deletes() {
    let t = TestCadenya::start();
    let dir = example();
    assert!(t.apply(dir.path()).status.success());
    // Stop using the tool set and its tool, and delete the tool set (prune).
    edit(
        dir.path(),
        "tools: [tool_set:frontend, tool:frontend/fetch-form]",
        "tools: [agent:helper]",
    );
    std::fs::write(
        dir.path().join("helper.yaml"),
        "kind: CadenyaAgent\nworkspace: development\nid: helper\n",
    )
    .unwrap();
    let text_now = std::fs::read_to_string(dir.path().join("cadenya.yaml")).unwrap();
    let start = text_now.find("kind: CadenyaToolSet").unwrap();
    let end = text_now[start..].find("---").unwrap() + start + 4;
    std::fs::write(
        dir.path().join("cadenya.yaml"),
        format!("{}{}", &text_now[..start], &text_now[end..]),
    )
    .unwrap();
    let out = t.run(
        dir.path(),
        &["apply", "--auto-approve", "--max-destroy", "9", "."],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(t.all("/tool_sets").is_empty());
    let default = t
        .all("/variations")
        .into_iter()
        .find(|v| ext(v) == "default")
        .unwrap();
    let rows = default
        .pointer("/spec/assignments")
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["type"], "subAgentId");
    assert_eq!(t.plan_code(dir.path()), 0);
}

#[test]
fn a_memory_stack_is_reordered_without_collisions() {
    let t = TestCadenya::start();
    let dir = example();
    let layers = "---
kind: CadenyaMemoryLayer
workspace: development
id: a
type: skills
---
kind: CadenyaMemoryLayer
workspace: development
id: b
type: skills
";
    std::fs::write(dir.path().join("more.yaml"), layers).unwrap();
    edit(
        dir.path(),
        "memory: [playbooks]",
        "memory: [playbooks, a, b]",
    );
    assert!(t.apply(dir.path()).status.success());
    edit(
        dir.path(),
        "memory: [playbooks, a, b]",
        "memory: [b, playbooks]",
    );
    let out = t.apply(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let default = t
        .all("/variations")
        .into_iter()
        .find(|v| ext(v) == "default")
        .unwrap();
    let mut rows: Vec<(i64, String)> = default
        .pointer("/spec/memoryLayerAssignments")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["position"].as_i64().unwrap(),
                a["memoryLayerId"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    rows.sort();
    let layer_ext = |id: &str| {
        t.all("/memory_layers")
            .into_iter()
            .find(|l| l["metadata"]["id"] == id)
            .map(|l| ext(&l).to_string())
            .unwrap()
    };
    // Consulted first = lowest position = the manifest's last (its top).
    let order: Vec<String> = rows.iter().map(|(_, id)| layer_ext(id)).collect();
    assert_eq!(order, vec!["playbooks", "b"]);
    assert_eq!(t.plan_code(dir.path()), 0);
}

#[test]
fn replacing_every_variation_of_a_published_agent_works() {
    let t = TestCadenya::start();
    let dir = example();
    assert!(t.apply(dir.path()).status.success());
    edit(dir.path(), "  default:\n", "  main:\n");
    edit(dir.path(), "  concise:", "  brief:");
    let out = t.run(dir.path(), &["apply", "--auto-approve", "."]);
    assert!(out.status.success(), "{}", text(&out));
    let mut names: Vec<String> = t
        .all("/variations")
        .iter()
        .map(|v| ext(v).to_string())
        .collect();
    names.sort();
    assert_eq!(names, vec!["brief", "main"]);
    assert_eq!(t.plan_code(dir.path()), 0);
}

#[test]
fn a_live_resource_without_the_owners_mark_needs_adopt() {
    let t = TestCadenya::start();
    let dir = example();
    assert!(t.apply(dir.path()).status.success());
    // Someone else's tool set with the declared id.
    t.store(|s| {
        for (k, v) in s.items.iter_mut() {
            if k.ends_with("/tool_sets") {
                for r in v {
                    r["metadata"]["labels"] = json!({"team": "web"});
                }
            }
        }
    });
    let out = t.run(dir.path(), &["plan", "."]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("--adopt"), "{}", text(&out));
    let out = t.run(dir.path(), &["apply", "--auto-approve", "--adopt", "."]);
    assert!(out.status.success(), "{}", text(&out));
    let ts = &t.all("/tool_sets")[0];
    assert_eq!(
        ts["metadata"]["labels"]["twinform.io/owner"],
        "support-tools"
    );
    assert_eq!(
        ts["metadata"]["labels"]["team"], "web",
        "its own labels are kept"
    );
    assert_eq!(t.plan_code(dir.path()), 0);
}

#[test]
fn prune_deletes_only_what_the_owner_wrote() {
    let t = TestCadenya::start();
    let dir = example();
    assert!(t.apply(dir.path()).status.success());
    // Another team's secret in the same workspace, and one of ours nobody declares any more.
    t.store(|s| {
        let key = s.items.keys().find(|k| k.ends_with("/workspace_secrets")).unwrap().clone();
        let list = s.items.get_mut(&key).unwrap();
        list.push(json!({"metadata": {"id": "sec_OTHER", "name": "theirs", "externalId": "theirs", "labels": {"twinform.io/owner": "web"}}, "spec": {}, "info": {}}));
        list.push(json!({"metadata": {"id": "sec_OLD", "name": "old", "externalId": "old", "labels": {"twinform.io/owner": "support-tools"}}, "spec": {}, "info": {}}));
    });
    let plan = text(&t.run(dir.path(), &["plan", "."]));
    assert!(
        plan.contains("prune leaves 1 live resource in workspace `development` alone: not owned by `support-tools`: cadenya.secret[\"development/theirs\"] (owner `web`)"),
        "{plan}"
    );
    let out = t.apply(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let mut left: Vec<String> = t
        .all("/workspace_secrets")
        .iter()
        .map(|s| ext(s).to_string())
        .collect();
    left.sort();
    assert_eq!(left, vec!["crm-token", "theirs"]);
}

#[test]
fn secrets_are_compared_by_keyed_fingerprint_and_never_shown() {
    let t = TestCadenya::start();
    let dir = example();
    edit(
        dir.path(),
        "value: ${CRM_TOKEN:-local-example-token}",
        "value: ${CRM_TOKEN}",
    );
    edit(dir.path(), "adapter: {http: {base_url: https://api.example.com}}", "adapter: {http: {base_url: https://api.example.com, headers: {Authorization: \"Bearer ${FRONTEND_TOKEN}\"}}}");
    edit(
        dir.path(),
        "${FORMS_TOKEN:-local-forms-token}",
        "${FORMS_TOKEN}",
    );
    let first = "crm-secret-value-0001";
    let header = "frontend-header-token-77";
    let forms = "forms-set-secret-0099";
    let run = |args: &[&str], crm: &str, front: &str| {
        let out = t
            .cmd(dir.path())
            .env("CRM_TOKEN", crm)
            .env("FRONTEND_TOKEN", front)
            .env("FORMS_TOKEN", forms)
            .args(args)
            .output()
            .unwrap();
        text(&out)
    };
    let mut all = String::new();
    for f in ["text", "json", "markdown"] {
        all += &run(&["plan", "-v", "-o", f, "."], first, header);
    }
    all += &run(&["plan", "--out", "saved.json", "."], first, header);
    all += &std::fs::read_to_string(dir.path().join("saved.json")).unwrap();
    all += &run(
        &["apply", "-v", "--auto-approve", "-o", "json", "."],
        first,
        header,
    );
    let stored = t.all("/workspace_secrets")[0].clone();
    assert_eq!(stored["spec"]["value"], first, "the real value was sent");
    let label = stored["metadata"]["labels"]["twinform.io/value-hmac"]
        .as_str()
        .unwrap()
        .to_string();
    let unsalted = twinform::engine::sha256_hex(first.as_bytes());
    assert!(
        !unsalted.starts_with(&label) && !label.is_empty(),
        "the label is keyed, not a plain hash"
    );

    // Unchanged: nothing to do, nothing read back.
    t.reset_stats();
    all += &run(&["apply", "--auto-approve", "."], first, header);
    assert_eq!(t.shared.stats.writes(), 0);
    // Rotated: detected and written, masked on both sides.
    let second = "crm-secret-value-0002";
    let rotated_header = "frontend-header-token-88";
    let plan = run(&["plan", "-o", "json", "."], second, rotated_header);
    assert!(
        plan.contains("crm-token") && plan.contains("\"action\": \"update\""),
        "{plan}"
    );
    all += &plan;
    all += &run(&["plan", "."], second, rotated_header);
    all += &run(
        &["apply", "--auto-approve", "-o", "markdown", "."],
        second,
        rotated_header,
    );
    assert_eq!(t.all("/workspace_secrets")[0]["spec"]["value"], second);
    // --sync-secrets rewrites even an unchanged value: the workspace
    // secret and the tool set's.
    t.reset_stats();
    all += &run(
        &["apply", "--auto-approve", "--sync-secrets", "."],
        second,
        rotated_header,
    );
    assert_eq!(t.shared.stats.writes(), 2);
    let set_secret = &t.all("/secrets")[0];
    assert_eq!(set_secret["spec"]["value"], forms);
    assert!(set_secret["metadata"]["labels"]["twinform.io/value-hmac"].is_string());
    for leak in [first, second, header, rotated_header, forms, KEY] {
        assert!(!all.contains(leak), "`{leak}` leaked:\n{all}");
    }
}

#[test]
fn faults_converge_in_three_applies_without_duplicates_or_orphans() {
    let t = TestCadenya::with(FaultArgs {
        rate_503: 0.1,
        rate_429: 0.1,
        rate_reset: 0.2,
        seed: 11,
        ..FaultArgs::default()
    });
    let dir = example();
    let mut ok = false;
    for _ in 0..3 {
        if t.apply(dir.path()).status.success() {
            ok = true;
            break;
        }
    }
    assert!(ok, "did not converge in 3 applies");
    for (suffix, n) in [
        ("/agents", 1),
        ("/variations", 2),
        ("/schedules", 1),
        ("/tool_sets", 1),
        ("/tools", 1),
        ("/secrets", 1),
        ("/memory_layers", 1),
        ("/entries", 1),
        ("/workspace_secrets", 1),
    ] {
        assert_eq!(t.all(suffix).len(), n, "{suffix}");
    }
    assert_eq!(
        t.store(|s| s
            .workspaces
            .iter()
            .filter(|w| ext(w) == "development")
            .count()),
        1
    );
    let default = t
        .all("/variations")
        .into_iter()
        .find(|v| ext(v) == "default")
        .unwrap();
    assert_eq!(
        default
            .pointer("/spec/assignments")
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let quiet = TestCadenya::start();
    let state = t.store(std::mem::take);
    quiet.store(|s| *s = state);
    assert_eq!(quiet.plan_code(dir.path()), 0);
}

#[test]
fn a_refused_request_names_the_field() {
    use twinform::engine::http::{ApiKey, Client, ClientConfig, RetryPolicy};
    use twinform::engine::provider::Provider;
    use twinform::providers::cadenya::{Cadenya, CadenyaApi};
    let t = TestCadenya::start();
    let config = ClientConfig {
        endpoint: t.endpoint.clone(),
        timeout: std::time::Duration::from_secs(5),
        connect_timeout: std::time::Duration::from_secs(2),
        retry: RetryPolicy::default(),
    };
    let api = CadenyaApi {
        client: Client::new(config, ApiKey::new(KEY).unwrap(), Cadenya.profile()).unwrap(),
    };
    let body = json!({"metadata": {"name": "x", "externalId": "x"}, "spec": {"variationSelectionMode": "VARIATION_SELECTION_MODE_RANDOM", "colour": "red"}});
    let e =
        t.rt.block_on(api.create(
            "/v1/workspaces/external_id%3Adefault/agents",
            &body,
            Some("x"),
        ))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("400") && e.contains("spec.colour: unknown field"),
        "{e}"
    );
    assert_eq!(t.all("/agents").len(), 0);
}

#[test]
fn crons_a_calendar_cannot_express_are_located_errors() {
    let t = TestCadenya::start();
    let dir = example();
    edit(
        dir.path(),
        "cron: \"0 0 2 * * * *\"",
        "cron: \"0 0 2 L * * *\"",
    );
    let manifest = std::fs::read_to_string(dir.path().join("cadenya.yaml")).unwrap();
    let line = manifest.lines().position(|l| l.contains("cron:")).unwrap() + 1;
    let out = t.run(dir.path(), &["validate", "."]);
    assert_eq!(out.status.code(), Some(1));
    let shown = text(&out);
    assert!(
        shown.contains(&format!("cadenya.yaml:{line}:")) && shown.contains("`L` has no equivalent"),
        "{shown}"
    );
}

#[test]
fn a_create_and_a_delete_between_two_pages_skip_no_agent() {
    // The declared agent is the first of the second page (pages of 100).
    // While the first page is read, someone deletes an agent before it and
    // creates one: the emulator's cursor is an offset in disguise, so the
    // second page starts one agent later.
    let t = TestCadenya::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cadenya.yaml"),
        "kind: CadenyaWorkspace\nid: development\nname: Development\nowner: support-tools\n---\n\
         kind: CadenyaAgent\nworkspace: development\nid: ask\nname: Ask\n",
    )
    .unwrap();
    let out = t.apply(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let other = |i: usize, template: &Value| {
        let mut a = template.clone();
        a["metadata"]["id"] = json!(format!("agent_other{i:03}"));
        a["metadata"]["externalId"] = json!(format!("other-{i:03}"));
        a["metadata"]["name"] = json!(format!("Other {i}"));
        a
    };
    t.store(|s| {
        let (_, agents) = s
            .items
            .iter_mut()
            .find(|(k, _)| k.ends_with("/agents"))
            .unwrap();
        let ask = agents[0].clone();
        let mut all: Vec<Value> = (0..100).map(|i| other(i, &ask)).collect();
        all.push(ask.clone());
        all.extend((100..110).map(|i| other(i, &ask)));
        *agents = all;
    });
    let fired = std::sync::atomic::AtomicBool::new(false);
    t.shared.hook(Hook::new(
        Method::GET,
        "/v1/{*rest}",
        u32::MAX,
        move |uri: &str, s: &mut Store| {
            let first_page = uri
                .split('?')
                .next()
                .is_some_and(|p| p.ends_with("/agents"))
                && !uri.contains("cursor=");
            if first_page && !fired.swap(true, std::sync::atomic::Ordering::SeqCst) {
                let (_, agents) = s
                    .items
                    .iter_mut()
                    .find(|(k, _)| k.ends_with("/agents"))
                    .unwrap();
                agents.remove(5);
                let new = other(999, &agents[0]);
                agents.push(new);
            }
            None
        },
    ));
    let plan = t.run(dir.path(), &["plan", "--detailed-exitcode", "."]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
}

/// A schedule is created active and paused right after (`:pause`,
/// `agent_schedules.py:137`); `paused: false` resumes it; both plan empty
/// once applied.
#[test]
fn a_paused_schedule_is_paused_and_resumed_by_actions() {
    let t = TestCadenya::start();
    let dir = example();
    edit(
        dir.path(),
        "    overlap: skip\n",
        "    overlap: skip\n    paused: true\n",
    );
    let out = t.apply(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(t.all("/schedules")[0]["state"], "STATE_PAUSED");
    assert_eq!(t.plan_code(dir.path()), 0);
    edit(dir.path(), "paused: true", "paused: false");
    t.reset_stats();
    let out = t.apply(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(t.shared.stats.writes(), 1, "one `:resume`");
    assert_eq!(t.all("/schedules")[0]["state"], "STATE_ACTIVE");
    assert_eq!(t.plan_code(dir.path()), 0);
}

/// Keys the API no longer has are validate errors that say what replaced
/// them; the older `family/model` form is refused with the form to write.
#[test]
fn keys_the_api_no_longer_has_are_located_errors_that_say_why() {
    let t = TestCadenya::start();
    let dir = example();
    edit(
        dir.path(),
        "    model: getting-started-key.openai-gpt-5\n",
        "    model: getting-started-key.openai-gpt-5\n    weight: 2\n",
    );
    let out = t.run(dir.path(), &["validate", "."]);
    assert_eq!(out.status.code(), Some(1));
    let shown = text(&out);
    assert!(
        shown.contains("`weight` is no longer part of the API"),
        "{shown}"
    );
    assert!(shown.contains("feedback scores"), "{shown}");
    edit(
        dir.path(),
        "    model: getting-started-key.openai-gpt-5\n    weight: 2\n",
        "    model: openai/gpt-5\n",
    );
    let out = t.run(dir.path(), &["validate", "."]);
    assert_eq!(out.status.code(), Some(1));
    let shown = text(&out);
    assert!(
        shown.contains("older `family/model` form")
            && shown.contains("getting-started-key.openai-gpt-5"),
        "{shown}"
    );
}

/// An archived agent that a manifest declares is unarchived (a draft),
/// then published: the default list hides it, so it is read from the
/// archived list (read.rs), never created twice.
#[test]
fn an_archived_agent_is_unarchived_and_published_again() {
    let t = TestCadenya::start();
    let dir = example();
    assert!(t.apply(dir.path()).status.success());
    t.store(|s| {
        for (k, v) in s.items.iter_mut() {
            if k.ends_with("/agents") {
                for r in v {
                    r["state"] = json!("STATE_ARCHIVED");
                }
            }
        }
    });
    let out = t.apply(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let agents = t.all("/agents");
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0]["state"], "STATE_PUBLISHED");
    assert_eq!(t.plan_code(dir.path()), 0);
}

/// `types.py:2599 systemManaged`: the runtime's episodic layers are never
/// pruned, exported or stacked; live agent pool assignments (which a
/// manifest does not name) survive a change of the variation's tools.
#[test]
fn system_managed_layers_and_agent_pools_are_left_to_cadenya() {
    let t = TestCadenya::start();
    let dir = example();
    assert!(t.apply(dir.path()).status.success());
    let (layer, pool) = t.store(|s| {
        let ws = s
            .workspaces
            .iter()
            .find(|w| ext(w) == "development")
            .unwrap()["metadata"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let layer = s
            .seed_episodic_layer(&ws, "external_id:ask", "user-1")
            .unwrap()
            .1;
        let pool = s.seed_agent_pool(&ws, "Pool", "pool").unwrap().1;
        // The pool assigned to the default variation, as Cadenya's UI would.
        for (k, v) in s.items.iter_mut() {
            if k.ends_with("/variations") {
                for r in v.iter_mut().filter(|r| ext(r) == "default") {
                    r["spec"]["assignments"].as_array_mut().unwrap().push(
                        json!({"type": "agentPoolId", "agentPoolId": pool["metadata"]["id"]}),
                    );
                }
            }
        }
        (layer, pool)
    });
    // Prune is on: the episodic layer is not the owner's to delete, nor named.
    assert_eq!(t.plan_code(dir.path()), 0);
    // A tools change keeps the pool in the written set.
    edit(
        dir.path(),
        "tools: [tool_set:frontend, tool:frontend/fetch-form]",
        "tools: [tool_set:frontend]",
    );
    let out = t.apply(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let default = t
        .all("/variations")
        .into_iter()
        .find(|v| ext(v) == "default")
        .unwrap();
    let tags: Vec<&str> = default["spec"]["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert_eq!(tags, vec!["agentPoolId", "toolSetId"], "{default:#}");
    assert_eq!(
        default["spec"]["assignments"][0]["agentPoolId"],
        pool["metadata"]["id"]
    );
    let layer_id = layer["metadata"]["id"].as_str().unwrap().to_string();
    assert!(
        t.all("/memory_layers")
            .iter()
            .any(|l| l["metadata"]["id"] == layer_id.as_str()),
        "not pruned"
    );
    // Export leaves it out.
    let out_dir = tempfile::tempdir().unwrap();
    let out = t
        .cmd(dir.path())
        .args(["export", "--provider", "cadenya", "--out"])
        .arg(out_dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let memory = std::fs::read_dir(out_dir.path().join("cadenya/development/memory"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "yaml")
        })
        .count();
    assert_eq!(memory, 1, "only the declared playbooks layer");
}

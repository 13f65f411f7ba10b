//! Trust II items 5 and 9: credentials found in live data, at any depth and
//! on every platform, never reach an output (text, JSON, Markdown, a saved
//! plan, `show`, an export), and a write that does not manage them keeps
//! them. One harness over the three emulators.

mod emu;

use emu::{assert_never, files, write, Emu};
use serde_json::json;

/// Twig: a live data source's `config.auth.api_token` (nested, not declared)
/// and a DSN's password are masked in a manual change and never exported.
#[test]
fn a_twig_credential_nested_in_live_config_never_shows() {
    use twinform::providers::twig::emulator::{start_with, Store};
    use twinform::providers::twig::wire::DataSource;
    let secret = "live-nested-api-token-77";
    let password = "dsn-password-99";
    let mut store = Store::default();
    store.data_sources.push(DataSource {
        id: "ds_1".into(),
        name: "Wiki".into(),
        source_type: Some("confluence".into()),
        config: serde_json::from_value(json!({
            "url": "https://wiki.example.com",
            "auth": {"kind": "token", "api_token": secret},
            "dsn": format!("postgres://app:{password}@db.example.com/wiki"),
        }))
        .ok(),
        sync_frequency: Some("daily".into()),
        ..DataSource::default()
    });
    let t = Emu::start(
        |l, s, f, st| async move { start_with(l, s, &f, st).await },
        store,
        "TWIG",
    );
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "twig.yaml",
        "kind: TwigDataSource\nname: Wiki\ntype: confluence\nconfig:\n  url: https://wiki.example.com\n  auth: {kind: token}\n  dsn: postgres://app@db.example.com/wiki\n",
    );
    let all = t.every_output(dir.path(), "twig", &[]);
    assert!(all.contains("(sensitive)"), "{all}");
    assert!(
        all.contains("Wiki"),
        "the data source is still named:\n{all}"
    );
    assert_never(&all, &[secret, password]);
}

/// Cadenya: a live tool's `config.http.headers` (`X-Api-Key`) is never
/// shown or exported, and apply's update of the tool's path keeps it.
#[test]
fn a_cadenya_tool_header_never_shows_and_survives_an_update() {
    use twinform::providers::cadenya::emulator::{start_with, Store};
    let secret = "x-api-key-live-value-42";
    let t = Emu::start(
        |l, s, f, st| async move { start_with(l, s, &f, st).await },
        Store::seeded(),
        "CADENYA",
    );
    let dir = tempfile::tempdir().unwrap();
    let tree = "kind: CadenyaWorkspace\nid: dev\nowner: team\n---\nkind: CadenyaToolSet\nworkspace: dev\nid: crm\nadapter: {http: {base_url: https://crm.example.com}}\ntools:\n  lookup:\n    description: Look up\n    parameters: {type: object}\n    http: {method: GET, path: /contacts}\n";
    write(dir.path(), "c.yaml", tree);
    let (code, out) = t.run(dir.path(), &["apply", "--auto-approve", "."], &[]);
    assert_eq!(code, Some(0), "{out}");
    // Someone adds a credential header to the tool and to the adapter.
    t.store(|s| {
        for (k, list) in s.items.iter_mut() {
            for r in list.iter_mut() {
                if k.ends_with("/tools") {
                    r["spec"]["config"]["http"]["headers"] = json!({"X-Api-Key": secret});
                } else if k.ends_with("/tool_sets") {
                    r["spec"]["adapter"]["http"]["headers"] =
                        json!({"Authorization": format!("Bearer {secret}")});
                }
            }
        }
    });
    // The manifest manages neither header: no change at all.
    let (code, out) = t.run(dir.path(), &["plan", "--detailed-exitcode", "."], &[]);
    assert_eq!(
        code,
        Some(0),
        "headers the manifest does not declare are not compared:\n{out}"
    );
    // The path changes: the update shows method and path, never the header.
    write(
        dir.path(),
        "c.yaml",
        &tree.replace("/contacts", "/contacts/v2"),
    );
    let all = t.every_output(dir.path(), "cadenya", &[]);
    assert!(all.contains("/contacts/v2"), "{all}");
    assert_never(&all, &[secret]);
    let (code, out) = t.run(dir.path(), &["apply", "--auto-approve", "."], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert_never(&out, &[secret]);
    let (headers, path) = t.store(|s| {
        let tool = s
            .items
            .iter()
            .find(|(k, _)| k.ends_with("/tools"))
            .map(|(_, v)| v[0].clone())
            .unwrap();
        (
            tool["spec"]["config"]["http"]["headers"].clone(),
            tool["spec"]["config"]["http"]["path"].clone(),
        )
    });
    assert_eq!(path, "/contacts/v2");
    assert_eq!(
        headers,
        json!({"X-Api-Key": secret}),
        "the header the write did not manage is kept"
    );
    // Declaring one adapter header sets that one and keeps the others.
    let declared = tree.replace("/contacts", "/contacts/v2").replace(
        "base_url: https://crm.example.com}",
        "base_url: https://crm.example.com, headers: {X-Trace: abc}}",
    );
    write(dir.path(), "c.yaml", &declared);
    let (code, out) = t.run(dir.path(), &["apply", "--auto-approve", "."], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert_never(&out, &[secret]);
    let adapter_headers = t.store(|s| {
        s.items
            .iter()
            .find(|(k, _)| k.ends_with("/tool_sets"))
            .map(|(_, v)| v[0]["spec"]["adapter"]["http"]["headers"].clone())
            .unwrap()
    });
    assert_eq!(
        adapter_headers,
        json!({"Authorization": format!("Bearer {secret}"), "X-Trace": "abc"}),
        "an undeclared live header survives a write that declares another"
    );
    let (code, out) = t.run(dir.path(), &["plan", "--detailed-exitcode", "."], &[]);
    assert_eq!(code, Some(0), "converged:\n{out}");
}

/// Twin (item 9): a live webhook URL carrying a token (Slack's) is masked
/// when its deletion is planned, and exported as a placeholder variable.
#[test]
fn a_twin_webhook_url_with_a_token_never_shows() {
    use twinform::providers::twin::emulator::{start_with, Store};
    let token = "T0AAAA/B0BBBB/XyZ123abcDEF456ghiJKL789";
    let url = format!("https://hooks.slack.com/services/{token}");
    let mut store = Store::default();
    let (_, ws) = store.create_workspace(&json!({"name": "Ops"})).unwrap();
    let ws = ws["workspace"]["workspace_id"]
        .as_str()
        .unwrap()
        .to_string();
    store
        .create_agent(&json!({"agent_id": "notifier", "workspace_id": ws}))
        .unwrap();
    store
        .create_webhook(
            "notifier",
            &json!({"url": url, "events": ["run.completed"]}),
        )
        .unwrap();
    let t = Emu::start(
        |l, s, f, st| async move { start_with(l, s, &f, st).await },
        store,
        "TWIN",
    );
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.yaml",
        "kind: Workspace\nname: Ops\n---\nkind: Agent\nid: notifier\nworkspace: Ops\nwebhooks: []\n",
    );
    let all = t.every_output(dir.path(), "twin", &[]);
    assert!(all.contains("hooks.slack.com/(sensitive)"), "{all}");
    assert_never(&all, &["XyZ123abcDEF456ghiJKL789", "B0BBBB"]);
    // The export names a variable for it and round-trips once it is set.
    let out = tempfile::tempdir().unwrap();
    let out_arg = out.path().display().to_string();
    let (code, text) = t.run(
        dir.path(),
        &["export", "--provider", "twin", "--out", &out_arg],
        &[],
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("TWIN_WEBHOOK_URL_NOTIFIER"), "{text}");
    let (code, text) = t.run(
        out.path(),
        &["plan", "--detailed-exitcode", "."],
        &[("TWIN_WEBHOOK_URL_NOTIFIER", &url)],
    );
    assert_eq!(code, Some(0), "{text}");
}

/// Trust II item 3: names an export derives from live names are unique.
/// Secrets `crm-token` and `crm_token` get two variables, and prompt files
/// of `a.b`/`c` and `a`/`b.c` two files; the export plans empty.
#[test]
fn names_an_export_derives_never_collide() {
    use twinform::providers::cadenya::emulator::{start_with, Store};
    let t = Emu::start(
        |l, s, f, st| async move { start_with(l, s, &f, st).await },
        Store::seeded(),
        "CADENYA",
    );
    let dir = tempfile::tempdir().unwrap();
    let agent = |id: &str, var: &str, prompt: &str| {
        format!("kind: CadenyaAgent\nworkspace: dev\nid: {id}\nvariations:\n  {var}:\n    prompt: {prompt}\n    model: getting-started-key.anthropic-claude-sonnet-4-6\n")
    };
    let tree = [
        "kind: CadenyaWorkspace\nid: dev\nowner: team\nmodels: [anthropic/claude-sonnet-4.6]\n"
            .to_string(),
        "kind: CadenyaSecret\nworkspace: dev\nid: crm-token\nvalue: ${ONE}\n".to_string(),
        "kind: CadenyaSecret\nworkspace: dev\nid: crm_token\nvalue: ${TWO}\n".to_string(),
        agent("a.b", "c", "First prompt."),
        agent("a", "b.c", "Second prompt."),
    ]
    .join("---\n");
    write(dir.path(), "c.yaml", &tree);
    let vals = [
        ("ONE", "first-secret-value"),
        ("TWO", "second-secret-value"),
    ];
    let (code, out) = t.run(dir.path(), &["apply", "--auto-approve", "."], &vals);
    assert_eq!(code, Some(0), "{out}");
    let out_dir = tempfile::tempdir().unwrap();
    let out_arg = out_dir.path().display().to_string();
    let (code, text) = t.run(
        dir.path(),
        &["export", "--provider", "cadenya", "--out", &out_arg],
        &[],
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("CADENYA_SECRET_CRM_TOKEN_2"), "{text}");
    let all: Vec<String> = files(out_dir.path())
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    let prompts: Vec<&String> = all.iter().filter(|f| f.ends_with(".md")).collect();
    assert_eq!(prompts.len(), 2, "{all:?}");
    let secrets = std::fs::read_to_string(out_dir.path().join("cadenya/dev/secrets.yaml")).unwrap();
    // Which variable sets which secret is in the export itself.
    let one = secrets.find("${CADENYA_SECRET_CRM_TOKEN}").unwrap();
    let two = secrets.find("${CADENYA_SECRET_CRM_TOKEN_2}").unwrap();
    assert_ne!(one, two);
    let first_is_dash = secrets[..one].rfind("crm-token") > secrets[..one].rfind("crm_token");
    let (dash, under) = if first_is_dash {
        ("CADENYA_SECRET_CRM_TOKEN", "CADENYA_SECRET_CRM_TOKEN_2")
    } else {
        ("CADENYA_SECRET_CRM_TOKEN_2", "CADENYA_SECRET_CRM_TOKEN")
    };
    // Each variable, set to its secret's value, plans empty: none was swapped.
    let (code, text) = t.run(
        out_dir.path(),
        &["plan", "--detailed-exitcode", "."],
        &[(dash, "first-secret-value"), (under, "second-secret-value")],
    );
    assert_eq!(code, Some(0), "{text}");
}

/// A literal credential in a manifest's webhook URL is warned about at its
/// place, without printing the line that holds it (policy review).
#[test]
fn a_literal_credential_url_is_warned_about_without_its_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.yaml",
        "kind: Workspace\nname: Ops\n---\nkind: Agent\nid: a\nworkspace: Ops\nwebhooks:\n  - url: https://hooks.slack.com/services/T0/B0/LITERALSECRET123\n    events: [run.completed]\n",
    );
    for args in [
        &["validate", "."][..],
        &["validate", "-o", "json", "."],
        &["validate", "--annotations", "github", "."],
    ] {
        let out = assert_cmd::Command::cargo_bin("twinform")
            .unwrap()
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .args(args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(text.contains("holds a credential"), "{text}");
        assert!(text.contains("a.yaml:8:"), "located: {text}");
        assert!(!text.contains("LITERALSECRET123"), "{text}");
    }
}
